//! Alarm health from the journal (after EEMUA 191 and ISA-18.2): how many alarms the operator got per
//! 10 minutes, floods, chattering alarms, and the alarms that trip most often.
//!
//! Only activations count (journal entries with state `active`): that is what reaches the operator.

use std::collections::HashMap;

use plantwatch_core::{Priority, Timestamp};

use crate::catalog::AlarmKind;
use crate::entry::{JournalEntry, Transition};

/// Length of the rate window and of the flood window.
pub const TEN_MINUTES_MS: i64 = 10 * 60 * 1000;
/// A flood: this many activations or more within ten minutes.
pub const FLOOD_ALARMS: usize = 10;
/// Chattering: one alarm activated this many times or more within a minute.
pub const CHATTER_TRIPS: usize = 3;
const MINUTE_MS: i64 = 60 * 1000;
/// How many of the most frequent alarms the report lists.
pub const TOP: usize = 10;

/// Activations in one 10-minute period (aligned to the clock: 14:00, 14:10, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: Timestamp,
    pub alarms: u32,
}

/// A flood: activations that came at 10 or more within ten minutes, merged into one stretch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// The first and last activation of the stretch.
    pub start: Timestamp,
    pub end: Timestamp,
    /// Activations from start to end.
    pub alarms: u32,
    /// The most activations in any ten minutes within it.
    pub peak: u32,
}

/// One alarm, as the journal names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlarmName {
    pub tag: String,
    pub kind: AlarmKind,
}

impl AlarmName {
    /// `plc/level:hi`, `plc:comm`: the alarm's key.
    pub fn key(&self) -> String {
        format!("{}:{}", self.tag, self.kind.name())
    }
}

/// An alarm that chattered: 3 or more activations within a minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chatter {
    pub alarm: AlarmName,
    /// Most activations within any one minute.
    pub most_per_minute: u32,
    /// Activations in the whole report.
    pub activations: u32,
    /// Start of the first minute it chattered in.
    pub first: Timestamp,
}

/// How often one alarm was activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frequent {
    pub alarm: AlarmName,
    pub priority: Priority,
    pub activations: u32,
}

/// The alarm health of a stretch of the journal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthReport {
    /// The stretch looked at (from the query, or the first and last activation).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub activations: u32,
    /// The first and last activation seen.
    pub first_activation: Option<Timestamp>,
    pub last_activation: Option<Timestamp>,
    /// Activations per 10-minute period, for every period from the first to the last activation
    /// (periods without alarms included, so the list reads as a time series).
    pub per_10_minutes: Vec<Period>,
    /// Mean activations per 10 minutes over the stretch (the target in steady operation is about 1).
    pub average_per_10_minutes: f64,
    /// The busiest 10-minute period.
    pub busiest: Option<Period>,
    pub floods: Vec<Flood>,
    pub chattering: Vec<Chatter>,
    /// The most frequently activated alarms, most first (at most [`TOP`]).
    pub most_frequent: Vec<Frequent>,
}

/// Analyses journal entries (in any order). `from` and `to`, when given, set the stretch the average is
/// taken over; otherwise it runs from the first to the last activation.
pub fn analyse<'a>(
    entries: impl IntoIterator<Item = &'a JournalEntry>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> HealthReport {
    let mut activations: Vec<(Timestamp, AlarmName, Priority)> = entries
        .into_iter()
        .filter(|e| e.state == Transition::Active)
        .map(|e| {
            (
                e.time,
                AlarmName {
                    tag: e.tag.clone(),
                    kind: e.kind,
                },
                e.priority,
            )
        })
        .collect();
    activations.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let times: Vec<Timestamp> = activations.iter().map(|a| a.0).collect();

    let mut report = HealthReport {
        from,
        to,
        activations: times.len() as u32,
        ..HealthReport::default()
    };
    report.first_activation = times.first().copied();
    report.last_activation = times.last().copied();
    report.per_10_minutes = periods(&times);
    report.busiest = report
        .per_10_minutes
        .iter()
        .max_by_key(|p| (p.alarms, -p.start.0))
        .cloned();
    let span_from = from.or(times.first().copied());
    let span_to = to.or(times.last().map(|t| t.add_millis(1)));
    if let (Some(a), Some(b)) = (span_from, span_to) {
        let tens = (b.millis_since(a).max(1) as f64 / TEN_MINUTES_MS as f64).max(1.0);
        report.average_per_10_minutes = times.len() as f64 / tens;
    }
    report.floods = floods(&times);

    let mut per_alarm: HashMap<AlarmName, (Priority, Vec<Timestamp>)> = HashMap::new();
    for (time, name, priority) in &activations {
        per_alarm
            .entry(name.clone())
            .or_insert_with(|| (*priority, Vec::new()))
            .1
            .push(*time);
    }
    for (name, (_, times)) in &per_alarm {
        let (most, first) = densest(times, MINUTE_MS);
        if most >= CHATTER_TRIPS {
            report.chattering.push(Chatter {
                alarm: name.clone(),
                most_per_minute: most as u32,
                activations: times.len() as u32,
                first,
            });
        }
    }
    report.chattering.sort_by(|a, b| {
        b.most_per_minute
            .cmp(&a.most_per_minute)
            .then_with(|| a.alarm.cmp(&b.alarm))
    });

    let mut frequent: Vec<Frequent> = per_alarm
        .into_iter()
        .map(|(alarm, (priority, times))| Frequent {
            alarm,
            priority,
            activations: times.len() as u32,
        })
        .collect();
    frequent.sort_by(|a, b| {
        b.activations
            .cmp(&a.activations)
            .then_with(|| a.alarm.cmp(&b.alarm))
    });
    frequent.truncate(TOP);
    report.most_frequent = frequent;
    report
}

/// Counts per clock-aligned 10-minute period from the first activation's period to the last's.
fn periods(times: &[Timestamp]) -> Vec<Period> {
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return Vec::new();
    };
    let start = first.0.div_euclid(TEN_MINUTES_MS);
    let end = last.0.div_euclid(TEN_MINUTES_MS);
    let mut out: Vec<Period> = (start..=end)
        .map(|p| Period {
            start: Timestamp(p * TEN_MINUTES_MS),
            alarms: 0,
        })
        .collect();
    for t in times {
        out[(t.0.div_euclid(TEN_MINUTES_MS) - start) as usize].alarms += 1;
    }
    out
}

/// The most times within any window of `width` milliseconds (sorted input), and where the first such
/// densest window starts.
fn densest(times: &[Timestamp], width: i64) -> (usize, Timestamp) {
    let mut best = (0, Timestamp(0));
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi].millis_since(times[lo]) >= width {
            lo += 1;
        }
        if hi + 1 - lo > best.0 {
            best = (hi + 1 - lo, times[lo]);
        }
    }
    best
}

/// Stretches where every activation lies in some ten-minute window holding [`FLOOD_ALARMS`] or more.
fn floods(times: &[Timestamp]) -> Vec<Flood> {
    let mut out: Vec<Flood> = Vec::new();
    // For each activation i, the window [t_i, t_i + 10 min) holds activations i..j.
    let mut j = 0;
    let mut current: Option<(usize, usize, usize)> = None; // (first, last, peak)
    for i in 0..times.len() {
        if j < i {
            j = i;
        }
        while j < times.len() && times[j].millis_since(times[i]) < TEN_MINUTES_MS {
            j += 1;
        }
        let count = j - i;
        if count < FLOOD_ALARMS {
            continue;
        }
        current = match current {
            Some((first, last, peak)) if i <= last => {
                Some((first, last.max(j - 1), peak.max(count)))
            }
            Some(done) => {
                out.push(flood(times, done));
                Some((i, j - 1, count))
            }
            None => Some((i, j - 1, count)),
        };
    }
    if let Some(done) = current {
        out.push(flood(times, done));
    }
    out
}

fn flood(times: &[Timestamp], (first, last, peak): (usize, usize, usize)) -> Flood {
    Flood {
        start: times[first],
        end: times[last],
        alarms: (last - first + 1) as u32,
        peak: peak as u32,
    }
}
