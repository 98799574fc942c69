//! The latest reading of every tag of one device, and the last sample history stored of it, kept
//! compact: one array per field (struct of arrays) instead of a struct per tag, about 45 bytes a tag,
//! so a plant of a million tags keeps its live state in tens of megabytes and the poll loop walks
//! dense memory.
//!
//! A value is a number or a boolean in an `f64` plus a kind (two bits of the tag's flags byte); the
//! rare text values sit in side maps. Times are UTC milliseconds with [`NEVER`] for "not yet". This is
//! the one copy of the live state: the poll task writes it and [`crate::Engine::live`] reads it, under
//! the device's lock. Keeping the last stored sample here too lets each poll task judge its own samples
//! for history (per device, no plant-wide lock), with history's [`worth_storing`] as the rule.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Cause, Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_history::{layout, worth_storing, LastStored};

use crate::status::TagLive;

/// A time that has not happened yet.
pub const NEVER: i64 = i64::MIN;

/// Kind of the value held (low bits of a tag's flags).
const KIND_MASK: u8 = 0b0011;
const KIND_NONE: u8 = 0;
const KIND_BOOL: u8 = 1;
const KIND_NUMBER: u8 = 2;
const KIND_TEXT: u8 = 3;
/// The tag's first sample went out (the first outcome always counts as a change).
const REPORTED: u8 = 0b0100;
/// Kind of the value history last stored: a `KIND_*` shifted by this.
const STORED_SHIFT: u32 = 3;
const STORED_MASK: u8 = KIND_MASK << STORED_SHIFT;

/// A [`Quality`] in two bytes instead of three (a million tags keep two of them each): history's stored
/// quality code, which fits a `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QualityCode(u16);

impl QualityCode {
    fn of(quality: Quality) -> QualityCode {
        QualityCode(layout::quality_code(quality) as u16)
    }

    fn quality(self) -> Quality {
        // Only `of` makes codes, and every code it makes reads back.
        layout::quality_from_code(i64::from(self.0))
            .unwrap_or(Quality::Uncertain(Cause::Configuration))
    }
}

/// The live state of one device's tags, by position in `device.tags`.
#[derive(Debug)]
pub struct TagTable {
    /// Numbers, and booleans as 0 or 1.
    numbers: Vec<f64>,
    /// Value kind, the reported bit and the kind of the last stored value.
    flags: Vec<u8>,
    /// Text values, for the few string tags.
    texts: HashMap<u32, Arc<str>>,
    quality: Vec<QualityCode>,
    /// When the tag was last read or failed to be.
    time: Vec<i64>,
    /// When its value or quality last changed.
    changed: Vec<i64>,
    /// When history last admitted a sample of it ([`NEVER`]: none yet).
    stored: Vec<i64>,
    /// The value of that sample, as `numbers` holds values.
    stored_numbers: Vec<f64>,
    /// Its quality.
    stored_quality: Vec<QualityCode>,
    /// Its text, for string tags.
    stored_texts: HashMap<u32, Arc<str>>,
}

impl TagTable {
    /// `count` tags nobody has heard from: no value, `Bad(NoConnectionYet)`, nothing reported.
    pub fn new(count: usize) -> TagTable {
        TagTable {
            numbers: vec![0.0; count],
            flags: vec![KIND_NONE; count],
            texts: HashMap::new(),
            quality: vec![QualityCode::of(Quality::Bad(Cause::NoConnectionYet)); count],
            time: vec![NEVER; count],
            changed: vec![NEVER; count],
            stored: vec![NEVER; count],
            stored_numbers: vec![0.0; count],
            stored_quality: vec![QualityCode::of(Quality::Good); count],
            stored_texts: HashMap::new(),
        }
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// True for a device without tags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// The tag's value, if it ever had one.
    pub fn value(&self, pos: u32) -> Option<Value> {
        let p = pos as usize;
        match self.flags[p] & KIND_MASK {
            KIND_BOOL => Some(Value::Bool(self.numbers[p] != 0.0)),
            KIND_NUMBER => Some(Value::Number(self.numbers[p])),
            KIND_TEXT => self.texts.get(&pos).cloned().map(Value::Text),
            _ => None,
        }
    }

    /// True when the tag's quality is good (the poll loop's check, without decoding the quality).
    pub fn is_good(&self, pos: u32) -> bool {
        self.quality[pos as usize] == QualityCode(0)
    }

    pub fn quality(&self, pos: u32) -> Quality {
        self.quality[pos as usize].quality()
    }

    /// True once the tag's first sample went out.
    pub fn reported(&self, pos: u32) -> bool {
        self.flags[pos as usize] & REPORTED != 0
    }

    /// When the value or quality last changed ([`NEVER`] before the first sample).
    pub fn changed_at(&self, pos: u32) -> i64 {
        self.changed[pos as usize]
    }

    /// When history last admitted a sample of the tag ([`NEVER`] if never).
    pub fn stored_at(&self, pos: u32) -> i64 {
        self.stored[pos as usize]
    }

    /// The tag was read again and still holds the same value and quality: only its time moves.
    pub fn touch(&mut self, pos: u32, at: Timestamp) {
        self.time[pos as usize] = at.0;
    }

    /// Sets a reading; true when the value or quality changed (or it is the tag's first sample).
    pub fn set(&mut self, pos: u32, value: Value, quality: Quality, at: Timestamp) -> bool {
        let p = pos as usize;
        self.time[p] = at.0;
        let changed = self.flags[p] & REPORTED == 0
            || self.quality[p] != QualityCode::of(quality)
            || !self.holds(pos, &value);
        if changed {
            self.store_value(pos, value);
            self.mark_changed(p, quality, at);
        }
        changed
    }

    /// Sets the quality and keeps the last value (a failed read); true when the quality changed or
    /// it is the tag's first sample.
    pub fn set_quality(&mut self, pos: u32, quality: Quality, at: Timestamp) -> bool {
        let p = pos as usize;
        self.time[p] = at.0;
        let changed = self.flags[p] & REPORTED == 0 || self.quality[p] != QualityCode::of(quality);
        if changed {
            self.mark_changed(p, quality, at);
        }
        changed
    }

    /// Drops the value and sets the quality (a tag the device cannot give); true when anything changed.
    pub fn clear(&mut self, pos: u32, quality: Quality, at: Timestamp) -> bool {
        let p = pos as usize;
        self.time[p] = at.0;
        let had_value = self.flags[p] & KIND_MASK != KIND_NONE;
        let changed = self.flags[p] & REPORTED == 0
            || self.quality[p] != QualityCode::of(quality)
            || had_value;
        if changed {
            if self.flags[p] & KIND_MASK == KIND_TEXT {
                self.texts.remove(&pos);
            }
            self.flags[p] &= !KIND_MASK;
            self.mark_changed(p, quality, at);
        }
        changed
    }

    /// Asks history's rule ([`worth_storing`]) whether `sample` of the tag at `pos` is worth storing,
    /// against the last sample admitted for it; an admitted sample becomes the new reference (its time
    /// only moves forward).
    pub fn admit(&mut self, pos: u32, sample: &Sample, deadband: f64, heartbeat: Duration) -> bool {
        let p = pos as usize;
        let admit = {
            let value = self.stored_value(pos);
            let last = (self.stored[p] != NEVER).then(|| LastStored {
                time: Timestamp(self.stored[p]),
                value: value.as_ref(),
                quality: self.stored_quality[p].quality(),
            });
            worth_storing(last, sample, deadband, heartbeat)
        };
        if admit {
            self.stored[p] = self.stored[p].max(sample.time.0);
            self.stored_quality[p] = QualityCode::of(sample.quality);
            if (self.flags[p] & STORED_MASK) >> STORED_SHIFT == KIND_TEXT {
                self.stored_texts.remove(&pos);
            }
            let kind = match &sample.value {
                None => KIND_NONE,
                Some(Value::Bool(b)) => {
                    self.stored_numbers[p] = if *b { 1.0 } else { 0.0 };
                    KIND_BOOL
                }
                Some(Value::Number(n)) => {
                    self.stored_numbers[p] = *n;
                    KIND_NUMBER
                }
                Some(Value::Text(t)) => {
                    self.stored_texts.insert(pos, t.clone());
                    KIND_TEXT
                }
            };
            self.flags[p] = (self.flags[p] & !STORED_MASK) | (kind << STORED_SHIFT);
        }
        admit
    }

    /// The value of the last sample history admitted, if it had one.
    fn stored_value(&self, pos: u32) -> Option<Value> {
        let p = pos as usize;
        match (self.flags[p] & STORED_MASK) >> STORED_SHIFT {
            KIND_BOOL => Some(Value::Bool(self.stored_numbers[p] != 0.0)),
            KIND_NUMBER => Some(Value::Number(self.stored_numbers[p])),
            KIND_TEXT => self.stored_texts.get(&pos).cloned().map(Value::Text),
            _ => None,
        }
    }

    /// The tag's current reading as a sample stamped `at`.
    pub fn sample(&self, pos: u32, tag: TagIndex, at: Timestamp) -> Sample {
        Sample {
            tag,
            time: at,
            value: self.value(pos),
            quality: self.quality(pos),
        }
    }

    /// The tag's current reading as a sample stamped with the time it was last read.
    pub fn current_sample(&self, pos: u32, tag: TagIndex) -> Sample {
        self.sample(pos, tag, Timestamp(self.time[pos as usize]))
    }

    /// The live view of one tag.
    pub fn live(&self, pos: u32) -> TagLive {
        let p = pos as usize;
        let when = |t: i64| (t != NEVER).then_some(Timestamp(t));
        TagLive {
            value: self.value(pos),
            quality: self.quality[p].quality(),
            time: when(self.time[p]),
            changed: when(self.changed[p]),
        }
    }

    fn mark_changed(&mut self, p: usize, quality: Quality, at: Timestamp) {
        self.flags[p] |= REPORTED;
        self.quality[p] = QualityCode::of(quality);
        self.changed[p] = at.0;
    }

    /// True when the tag holds this value (NaN equals NaN: a device that reports NaN every poll has
    /// not changed).
    fn holds(&self, pos: u32, value: &Value) -> bool {
        let p = pos as usize;
        match (self.flags[p] & KIND_MASK, value) {
            (KIND_NUMBER, Value::Number(n)) => {
                let old = self.numbers[p];
                old == *n || (old.is_nan() && n.is_nan())
            }
            (KIND_BOOL, Value::Bool(b)) => (self.numbers[p] != 0.0) == *b,
            (KIND_TEXT, Value::Text(t)) => self.texts.get(&pos).is_some_and(|old| old == t),
            _ => false,
        }
    }

    fn store_value(&mut self, pos: u32, value: Value) {
        let p = pos as usize;
        if self.flags[p] & KIND_MASK == KIND_TEXT {
            self.texts.remove(&pos);
        }
        let kind = match value {
            Value::Bool(b) => {
                self.numbers[p] = if b { 1.0 } else { 0.0 };
                KIND_BOOL
            }
            Value::Number(n) => {
                self.numbers[p] = n;
                KIND_NUMBER
            }
            Value::Text(t) => {
                self.texts.insert(pos, t);
                KIND_TEXT
            }
        };
        self.flags[p] = (self.flags[p] & !KIND_MASK) | kind;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: Quality = Quality::Good;

    #[test]
    fn the_first_reading_is_a_change_even_when_it_is_the_initial_quality() {
        let mut t = TagTable::new(1);
        assert!(t.set_quality(0, Quality::Bad(Cause::NoConnectionYet), Timestamp(5)));
        assert!(!t.set_quality(0, Quality::Bad(Cause::NoConnectionYet), Timestamp(6)));
        assert_eq!(t.live(0).time, Some(Timestamp(6)));
        assert_eq!(t.live(0).changed, Some(Timestamp(5)));
    }

    #[test]
    fn same_value_and_quality_is_no_change_and_nan_equals_nan() {
        let mut t = TagTable::new(2);
        assert!(t.set(0, Value::Number(1.5), GOOD, Timestamp(1)));
        assert!(!t.set(0, Value::Number(1.5), GOOD, Timestamp(2)));
        assert!(t.set(0, Value::Number(2.0), GOOD, Timestamp(3)));
        assert!(t.set(1, Value::Number(f64::NAN), GOOD, Timestamp(1)));
        assert!(!t.set(1, Value::Number(f64::NAN), GOOD, Timestamp(2)));
    }

    #[test]
    fn a_boolean_and_the_number_one_are_different_values() {
        let mut t = TagTable::new(1);
        assert!(t.set(0, Value::Bool(true), GOOD, Timestamp(1)));
        assert!(t.set(0, Value::Number(1.0), GOOD, Timestamp(2)));
        assert_eq!(t.value(0), Some(Value::Number(1.0)));
    }

    #[test]
    fn a_failed_read_keeps_the_value_and_a_refused_tag_loses_it() {
        let mut t = TagTable::new(1);
        t.set(0, Value::Text(Arc::from("P-101")), GOOD, Timestamp(1));
        assert!(t.set_quality(0, Quality::Bad(Cause::CommLost), Timestamp(2)));
        assert_eq!(t.value(0), Some(Value::Text(Arc::from("P-101"))));
        assert!(t.clear(0, Quality::Bad(Cause::Configuration), Timestamp(3)));
        assert_eq!(t.value(0), None);
        assert!(!t.clear(0, Quality::Bad(Cause::Configuration), Timestamp(4)));
    }

    #[test]
    fn live_shows_never_as_none() {
        let t = TagTable::new(1);
        assert_eq!(
            t.live(0),
            TagLive {
                value: None,
                quality: Quality::Bad(Cause::NoConnectionYet),
                time: None,
                changed: None
            }
        );
        assert_eq!(t.stored_at(0), NEVER);
    }

    fn sample(tag: u32, ms: i64, value: Option<Value>, quality: Quality) -> Sample {
        Sample {
            tag: TagIndex(tag),
            time: Timestamp(ms),
            value,
            quality,
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn each_tag_is_judged_against_its_own_last_stored_sample() {
        let mut t = TagTable::new(2);
        let n = |v: f64| Some(Value::Number(v));
        assert!(
            t.admit(0, &sample(0, 0, n(1.0), GOOD), 0.5, MINUTE),
            "a tag's first sample"
        );
        assert!(
            !t.admit(0, &sample(0, 1_000, n(1.2), GOOD), 0.5, MINUTE),
            "within the deadband"
        );
        assert!(
            t.admit(1, &sample(1, 1_000, n(1.2), GOOD), 0.5, MINUTE),
            "the other tag's first"
        );
        assert!(
            t.admit(0, &sample(0, 2_000, n(1.6), GOOD), 0.5, MINUTE),
            "0.6 from the stored 1.0"
        );
        assert_eq!((t.stored_at(0), t.stored_at(1)), (2_000, 1_000));
        assert!(
            !t.admit(0, &sample(0, 61_000, n(1.6), GOOD), 0.5, MINUTE),
            "heartbeat not yet due"
        );
        assert!(
            t.admit(0, &sample(0, 62_000, n(1.6), GOOD), 0.5, MINUTE),
            "heartbeat due"
        );
    }

    #[test]
    fn the_stored_reference_keeps_text_booleans_missing_values_and_quality() {
        let mut t = TagTable::new(1);
        let text = |s: &str| Some(Value::Text(Arc::from(s)));
        let lost = Quality::Bad(Cause::CommLost);
        let steps = [
            (None, Quality::Bad(Cause::NoConnectionYet), true),
            (None, Quality::Bad(Cause::NoConnectionYet), false),
            (text("RUN"), GOOD, true),
            (text("RUN"), GOOD, false),
            (text("RUN"), lost, true),
            (text("STOP"), lost, true),
            (Some(Value::Bool(true)), lost, true),
            (Some(Value::Bool(true)), lost, false),
            (Some(Value::Number(1.0)), lost, true),
            (None, lost, true),
        ];
        for (i, (value, quality, expected)) in steps.into_iter().enumerate() {
            let s = sample(0, i as i64, value, quality);
            assert_eq!(t.admit(0, &s, 0.0, MINUTE), expected, "step {i}: {s:?}");
        }
    }

    #[test]
    fn every_quality_survives_its_two_byte_code() {
        let mut qualities = vec![Quality::Good];
        let mut causes = vec![
            Cause::NoConnectionYet,
            Cause::CommLost,
            Cause::Configuration,
            Cause::Stale,
        ];
        causes.extend((0..=255).map(Cause::Exception));
        for cause in causes {
            qualities.push(Quality::Bad(cause));
            qualities.push(Quality::Uncertain(cause));
        }
        let codes: std::collections::HashSet<u16> =
            qualities.iter().map(|&q| QualityCode::of(q).0).collect();
        assert_eq!(
            codes.len(),
            qualities.len(),
            "each quality has a code of its own"
        );
        for q in qualities {
            assert_eq!(QualityCode::of(q).quality(), q);
        }
        assert_eq!(std::mem::size_of::<QualityCode>(), 2);
    }

    #[test]
    fn the_stored_time_only_moves_forward() {
        let mut t = TagTable::new(1);
        assert!(t.admit(
            0,
            &sample(0, 10, Some(Value::Number(1.0)), GOOD),
            0.0,
            MINUTE
        ));
        assert!(t.admit(
            0,
            &sample(0, 7, Some(Value::Number(2.0)), GOOD),
            0.0,
            MINUTE
        ));
        assert_eq!(t.stored_at(0), 10);
    }
}
