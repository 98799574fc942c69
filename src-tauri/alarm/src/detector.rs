//! Turns readings into an alarm condition: limits with deadband, boolean states, on- and off-delays.
//!
//! The detector knows nothing of acknowledgement or shelving; it only answers "is the condition in
//! effect, and since when". Time is always passed in.

use std::time::Duration;

use plantwatch_core::{Quality, Timestamp, Value};

use crate::catalog::{AlarmDef, Trigger};

/// What one reading says about an alarm's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    /// The condition holds.
    Alarm,
    /// The condition does not hold (for a limit alarm in effect: the value is back inside by the deadband).
    Normal,
    /// The reading cannot be trusted or has no usable value: stale data is not evidence either way.
    Unknown,
}

/// Judges one reading against an alarm. `in_effect` selects the side of the deadband: a limit alarm
/// trips past its limit but clears only once the value is back inside by the deadband.
pub(crate) fn judge(
    def: &AlarmDef,
    value: Option<&Value>,
    quality: Quality,
    in_effect: bool,
) -> Evidence {
    if !quality.is_good() {
        return Evidence::Unknown;
    }
    match (def.trigger, value) {
        (Trigger::Limit { high, limit }, Some(Value::Number(v))) => {
            let v = *v;
            if v.is_nan() {
                return Evidence::Unknown;
            }
            let past = match (high, in_effect) {
                (true, false) => v > limit,
                (true, true) => v > limit - def.deadband,
                (false, false) => v < limit,
                (false, true) => v < limit + def.deadband,
            };
            if past {
                Evidence::Alarm
            } else {
                Evidence::Normal
            }
        }
        (Trigger::State { value: wanted }, Some(value)) => {
            let actual = match value {
                Value::Bool(b) => *b,
                Value::Number(n) => *n != 0.0,
                Value::Text(_) => return Evidence::Unknown,
            };
            if actual == wanted {
                Evidence::Alarm
            } else {
                Evidence::Normal
            }
        }
        _ => Evidence::Unknown,
    }
}

/// A change of the condition, and when it took effect (the moment its delay ran out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flip {
    pub in_effect: bool,
    pub at: Timestamp,
}

/// The debounced condition of one alarm.
#[derive(Debug, Clone, Default)]
pub(crate) struct Detector {
    /// Whether the condition is in effect (after its delays).
    pub in_effect: bool,
    /// Since when the evidence has pointed the other way, while a delay runs.
    pending_since: Option<Timestamp>,
}

impl Detector {
    /// A detector that starts in the given condition (used when restoring from the journal).
    pub fn starting(in_effect: bool) -> Detector {
        Detector {
            in_effect,
            pending_since: None,
        }
    }

    fn delay(&self, def: &AlarmDef) -> Duration {
        if self.in_effect {
            def.off_delay
        } else {
            def.on_delay
        }
    }

    /// Lets time pass: a pending change whose delay has run out by `now` takes effect.
    pub fn advance(&mut self, def: &AlarmDef, now: Timestamp) -> Option<Flip> {
        let since = self.pending_since?;
        let due = since.add_millis(self.delay(def).as_millis() as i64);
        if now < due {
            return None;
        }
        self.in_effect = !self.in_effect;
        self.pending_since = None;
        Some(Flip {
            in_effect: self.in_effect,
            at: due,
        })
    }

    /// Takes a reading's evidence at `at`. Call [`Detector::advance`] first so that a delay that ran out
    /// before this reading counts.
    pub fn observe(&mut self, def: &AlarmDef, evidence: Evidence, at: Timestamp) -> Option<Flip> {
        let wants = match evidence {
            // Neither trip nor clear on untrusted data, and forget a running delay: the condition must be
            // seen to hold again on good data.
            Evidence::Unknown => {
                self.pending_since = None;
                return None;
            }
            Evidence::Alarm => true,
            Evidence::Normal => false,
        };
        if wants == self.in_effect {
            self.pending_since = None;
            return None;
        }
        if self.pending_since.is_none() {
            self.pending_since = Some(at);
        }
        self.advance(def, at)
    }

    /// When the running delay, if any, will run out.
    pub fn due(&self, def: &AlarmDef) -> Option<Timestamp> {
        self.pending_since
            .map(|since| since.add_millis(self.delay(def).as_millis() as i64))
    }
}
