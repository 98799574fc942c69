//! The latest reading of every tag of one device, kept compact: one array per field (struct of
//! arrays) instead of a struct per tag, about 40 bytes a tag, so a plant of a million tags keeps its
//! live state in tens of megabytes and the poll loop walks dense memory.
//!
//! A value is a number or a boolean in an `f64` plus a kind byte; the rare text values sit in a side
//! map. Times are UTC milliseconds with [`NEVER`] for "not yet". This is the one copy of the live
//! state: the poll task writes it and [`crate::Engine::live`] reads it, under the device's lock.

use std::collections::HashMap;
use std::sync::Arc;

use plantwatch_core::{Cause, Quality, Sample, TagIndex, Timestamp, Value};

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

/// The live state of one device's tags, by position in `device.tags`.
#[derive(Debug)]
pub struct TagTable {
    /// Numbers, and booleans as 0 or 1.
    numbers: Vec<f64>,
    /// Value kind and the reported bit.
    flags: Vec<u8>,
    /// Text values, for the few string tags.
    texts: HashMap<u32, Arc<str>>,
    quality: Vec<Quality>,
    /// When the tag was last read or failed to be.
    time: Vec<i64>,
    /// When its value or quality last changed.
    changed: Vec<i64>,
    /// When history last admitted a sample of it.
    stored: Vec<i64>,
}

impl TagTable {
    /// `count` tags nobody has heard from: no value, `Bad(NoConnectionYet)`, nothing reported.
    pub fn new(count: usize) -> TagTable {
        TagTable {
            numbers: vec![0.0; count],
            flags: vec![KIND_NONE; count],
            texts: HashMap::new(),
            quality: vec![Quality::Bad(Cause::NoConnectionYet); count],
            time: vec![NEVER; count],
            changed: vec![NEVER; count],
            stored: vec![NEVER; count],
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

    pub fn quality(&self, pos: u32) -> Quality {
        self.quality[pos as usize]
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
        let changed =
            self.flags[p] & REPORTED == 0 || self.quality[p] != quality || !self.holds(pos, &value);
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
        let changed = self.flags[p] & REPORTED == 0 || self.quality[p] != quality;
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
        let changed = self.flags[p] & REPORTED == 0 || self.quality[p] != quality || had_value;
        if changed {
            if self.flags[p] & KIND_MASK == KIND_TEXT {
                self.texts.remove(&pos);
            }
            self.flags[p] &= !KIND_MASK;
            self.mark_changed(p, quality, at);
        }
        changed
    }

    /// History admitted a sample of the tag taken at `at`.
    pub fn mark_stored(&mut self, pos: u32, at: Timestamp) {
        if let Some(stored) = self.stored.get_mut(pos as usize) {
            *stored = (*stored).max(at.0);
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
            quality: self.quality[p],
            time: when(self.time[p]),
            changed: when(self.changed[p]),
        }
    }

    fn mark_changed(&mut self, p: usize, quality: Quality, at: Timestamp) {
        self.flags[p] |= REPORTED;
        self.quality[p] = quality;
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
    fn live_shows_never_as_none_and_stored_only_moves_forward() {
        let mut t = TagTable::new(1);
        assert_eq!(
            t.live(0),
            TagLive {
                value: None,
                quality: Quality::Bad(Cause::NoConnectionYet),
                time: None,
                changed: None
            }
        );
        t.mark_stored(0, Timestamp(10));
        t.mark_stored(0, Timestamp(7));
        assert_eq!(t.stored_at(0), 10);
    }
}
