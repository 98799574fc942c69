//! The latest reading of every tag of one device, and what history's rule needs of the last sample it
//! stored, kept compact: one array per field (struct of arrays) instead of a struct per tag, 23 bytes
//! a tag (33 when the device has a deadband), so a plant of a million tags keeps its live state in
//! a few tens of megabytes and the poll loop walks dense memory.
//!
//! A value is a number or a boolean in an `f64` plus a kind (two bits of the tag's flags byte); the
//! rare text values sit in side maps. Times are UTC milliseconds, kept as 32-bit offsets from an epoch
//! of the table (see [`Times`]), with [`NEVER`] for "not yet". This is the one copy of the live state:
//! the poll task writes it and [`crate::Engine::live`] reads it, under the device's lock. Keeping the
//! last stored sample here too lets each poll task judge its own samples for history (per device, no
//! plant-wide lock), with history's [`worth_storing`] as the rule.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Cause, Device, Quality, Sample, TagIndex, Timestamp, Value};
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

/// A [`Quality`] in two bytes instead of three (a million tags keep one or two of them each):
/// history's stored quality code, which fits a `u16`.
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

/// How a sample comes to be offered to history's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The tag's value or quality changed.
    Change,
    /// Nothing changed, and the tag's heartbeat may be due.
    Heartbeat,
}

/// The table's times: UTC milliseconds as `u32` offsets from `epoch` (half the bytes of an `i64`; a
/// million tags keep three times each). 0 is [`NEVER`]; `v` is `epoch + v - 1`, so about 49 days fit.
/// The epoch starts 24.8 days before the first time seen and moves when a time falls outside (the
/// clock ran on, or was set back by weeks): every time is then re-based, and the few that no longer fit
/// are clamped to the nearest end. A clamped time is at least 24.8 days old (or ahead): the live view
/// would show a tag unchanged that long as changed 24.8 days ago, and a heartbeat longer than that can
/// come early once. Nothing else changes.
#[derive(Debug)]
struct Times {
    epoch: i64,
}

/// Where a new epoch is put before the time that needed it: half the range, so the clock can go
/// either way by as much.
const EPOCH_LEAD: i64 = 1 << 31;

impl Times {
    fn decode(&self, v: u32) -> i64 {
        if v == 0 {
            NEVER
        } else {
            self.epoch + i64::from(v) - 1
        }
    }

    /// The offset of `t`, if it fits.
    fn encode(&self, t: i64) -> Option<u32> {
        let v = t.checked_sub(self.epoch)?.checked_add(1)?;
        u32::try_from(v).ok().filter(|&v| v != 0)
    }

    /// The offset `v` re-based on `new_epoch`, clamped into range (`NEVER` stays).
    fn rebased(&self, v: u32, new_epoch: i64) -> u32 {
        if v == 0 {
            return 0;
        }
        let t = self.decode(v);
        (t.saturating_sub(new_epoch).saturating_add(1)).clamp(1, i64::from(u32::MAX)) as u32
    }
}

/// A time encoded for one table ([`TagTable::stamp`]), so touching many tags read at once encodes it
/// once.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    code: u32,
    epoch: i64,
    at: i64,
}

/// What history's rule compares a tag's next samples against: the value and quality of the last
/// sample it stored. Only a device with a deadband keeps them (10 bytes a tag). Without a deadband
/// every change is stored, so the last stored sample holds the tag's current value and quality until
/// its next change: a change is always worth storing, and a heartbeat is judged on time alone.
#[derive(Debug, Default)]
struct Reference {
    /// The value of that sample, as `TagTable::numbers` holds values.
    numbers: Vec<f64>,
    quality: Vec<QualityCode>,
    /// Its text, for string tags.
    texts: HashMap<u32, Arc<str>>,
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
    times: Times,
    /// When the tag was last read or failed to be.
    time: Vec<u32>,
    /// When its value or quality last changed.
    changed: Vec<u32>,
    /// When history last admitted a sample of it (never: none yet).
    stored: Vec<u32>,
    /// The last stored sample's value and quality, for a device with a deadband.
    reference: Option<Reference>,
}

impl TagTable {
    /// The table of `device`'s tags, keeping the last stored values only when a tag has a deadband.
    pub fn for_device(device: &Device) -> TagTable {
        let with_deadband = device.tags.iter().any(|t| t.deadband() != 0.0);
        TagTable::new(device.tags.len(), with_deadband)
    }

    /// `count` tags nobody has heard from: no value, `Bad(NoConnectionYet)`, nothing reported.
    /// `reference`: keep the last stored sample's value and quality (needed when a tag has a deadband).
    pub fn new(count: usize, reference: bool) -> TagTable {
        TagTable {
            numbers: vec![0.0; count],
            flags: vec![KIND_NONE; count],
            texts: HashMap::new(),
            quality: vec![QualityCode::of(Quality::Bad(Cause::NoConnectionYet)); count],
            times: Times { epoch: 0 },
            time: vec![0; count],
            changed: vec![0; count],
            stored: vec![0; count],
            reference: reference.then(|| Reference {
                numbers: vec![0.0; count],
                quality: vec![QualityCode::of(Quality::Good); count],
                texts: HashMap::new(),
            }),
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
        read_value(self.flags[p] & KIND_MASK, self.numbers[p], &self.texts, pos)
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
        self.times.decode(self.changed[pos as usize])
    }

    /// When history last admitted a sample of the tag ([`NEVER`] if never).
    pub fn stored_at(&self, pos: u32) -> i64 {
        self.times.decode(self.stored[pos as usize])
    }

    /// When the tag was last read or failed to be ([`NEVER`] if never).
    fn read_at(&self, pos: u32) -> i64 {
        self.times.decode(self.time[pos as usize])
    }

    /// `at` as the table keeps times, moving the epoch first if it does not fit.
    fn encode(&mut self, at: i64) -> u32 {
        if let Some(v) = self.times.encode(at) {
            return v;
        }
        let new_epoch = at.saturating_sub(EPOCH_LEAD);
        for column in [&mut self.time, &mut self.changed, &mut self.stored] {
            for v in column.iter_mut() {
                *v = self.times.rebased(*v, new_epoch);
            }
        }
        self.times.epoch = new_epoch;
        // `at` is half the range after the new epoch (or the clamped end, for times near i64's ends).
        self.times.encode(at).unwrap_or(u32::MAX)
    }

    /// `at` as this table keeps it, for [`TagTable::touch`]ing many tags read at the same time.
    pub fn stamp(&mut self, at: Timestamp) -> Stamp {
        Stamp {
            code: self.encode(at.0),
            epoch: self.times.epoch,
            at: at.0,
        }
    }

    /// The tag was read again and still holds the same value and quality: only its time moves.
    pub fn touch(&mut self, pos: u32, at: Stamp) {
        let code = if at.epoch == self.times.epoch {
            at.code
        } else {
            // The epoch moved since the stamp was made.
            self.encode(at.at)
        };
        self.time[pos as usize] = code;
    }

    /// Sets a reading; true when the value or quality changed (or it is the tag's first sample).
    ///
    /// Every reading passes here, so this is where a number that is not one (NaN, or infinite) stops
    /// being good: it becomes `bad:not_a_number`, a sensor fault the operator sees and alarms ignore,
    /// and the value is kept as it came so history stores it exactly.
    pub fn set(&mut self, pos: u32, value: Value, quality: Quality, at: Timestamp) -> bool {
        let quality = match value {
            Value::Number(n) if !n.is_finite() && quality.is_good() => {
                Quality::Bad(Cause::NotANumber)
            }
            _ => quality,
        };
        let p = pos as usize;
        let at_code = self.encode(at.0);
        self.time[p] = at_code;
        let changed = self.flags[p] & REPORTED == 0
            || self.quality[p] != QualityCode::of(quality)
            || !self.holds(pos, &value);
        if changed {
            self.store_value(pos, &value);
            self.mark_changed(p, quality, at_code);
        }
        changed
    }

    /// Sets the quality and keeps the last value (a failed read); true when the quality changed or
    /// it is the tag's first sample.
    pub fn set_quality(&mut self, pos: u32, quality: Quality, at: Timestamp) -> bool {
        let p = pos as usize;
        let at_code = self.encode(at.0);
        self.time[p] = at_code;
        let changed = self.flags[p] & REPORTED == 0 || self.quality[p] != QualityCode::of(quality);
        if changed {
            self.mark_changed(p, quality, at_code);
        }
        changed
    }

    /// Drops the value and sets the quality (a tag the device cannot give); true when anything changed.
    pub fn clear(&mut self, pos: u32, quality: Quality, at: Timestamp) -> bool {
        let p = pos as usize;
        let at_code = self.encode(at.0);
        self.time[p] = at_code;
        let had_value = self.flags[p] & KIND_MASK != KIND_NONE;
        let changed = self.flags[p] & REPORTED == 0
            || self.quality[p] != QualityCode::of(quality)
            || had_value;
        if changed {
            if self.flags[p] & KIND_MASK == KIND_TEXT {
                self.texts.remove(&pos);
            }
            self.flags[p] &= !KIND_MASK;
            self.mark_changed(p, quality, at_code);
        }
        changed
    }

    /// Asks history's rule ([`worth_storing`]) whether `sample` of the tag at `pos` is worth storing,
    /// against the last sample admitted for it; an admitted sample becomes the new reference (its time
    /// only moves forward). Without a [`Reference`] (no deadband on the device) a change is admitted
    /// and a heartbeat is judged against the current reading, which is then the last stored one.
    pub fn admit(
        &mut self,
        pos: u32,
        sample: &Sample,
        offer: Offer,
        deadband: f64,
        heartbeat: Duration,
    ) -> bool {
        let p = pos as usize;
        let stored_at = self.stored_at(pos);
        let admit = if self.reference.is_none() && offer == Offer::Change {
            debug_assert!(deadband == 0.0, "a deadband needs the reference kept");
            true
        } else {
            let (value, quality) = match &self.reference {
                Some(reference) => (
                    self.stored_value(reference, pos),
                    reference.quality[p].quality(),
                ),
                // No deadband: between changes the last stored sample holds the current reading.
                None => (sample.value.clone(), sample.quality),
            };
            let last = (stored_at != NEVER).then_some(LastStored {
                time: Timestamp(stored_at),
                value: value.as_ref(),
                quality,
            });
            worth_storing(last, sample, deadband, heartbeat)
        };
        if admit {
            let at = self.encode(sample.time.0);
            self.stored[p] = self.stored[p].max(at);
            if let Some(reference) = &mut self.reference {
                reference.quality[p] = QualityCode::of(sample.quality);
                let kind = write_value(
                    (self.flags[p] & STORED_MASK) >> STORED_SHIFT,
                    sample.value.as_ref(),
                    &mut reference.numbers[p],
                    &mut reference.texts,
                    pos,
                );
                self.flags[p] = (self.flags[p] & !STORED_MASK) | (kind << STORED_SHIFT);
            }
        }
        admit
    }

    /// The value of the last sample history admitted, if it had one.
    fn stored_value(&self, reference: &Reference, pos: u32) -> Option<Value> {
        let p = pos as usize;
        let kind = (self.flags[p] & STORED_MASK) >> STORED_SHIFT;
        read_value(kind, reference.numbers[p], &reference.texts, pos)
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
        self.sample(pos, tag, Timestamp(self.read_at(pos)))
    }

    /// The live view of one tag.
    pub fn live(&self, pos: u32) -> TagLive {
        let when = |t: i64| (t != NEVER).then_some(Timestamp(t));
        TagLive {
            value: self.value(pos),
            quality: self.quality(pos),
            time: when(self.read_at(pos)),
            changed: when(self.changed_at(pos)),
        }
    }

    fn mark_changed(&mut self, p: usize, quality: Quality, at: u32) {
        self.flags[p] |= REPORTED;
        self.quality[p] = QualityCode::of(quality);
        self.changed[p] = at;
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

    fn store_value(&mut self, pos: u32, value: &Value) {
        let p = pos as usize;
        let old = self.flags[p] & KIND_MASK;
        let kind = write_value(old, Some(value), &mut self.numbers[p], &mut self.texts, pos);
        self.flags[p] = (self.flags[p] & !KIND_MASK) | kind;
    }
}

/// A value as the table keeps it (the current one and the last stored one alike): a `KIND_*`, a
/// number (booleans as 0 or 1), and texts in a side map by position.
fn read_value(kind: u8, number: f64, texts: &HashMap<u32, Arc<str>>, pos: u32) -> Option<Value> {
    match kind {
        KIND_BOOL => Some(Value::Bool(number != 0.0)),
        KIND_NUMBER => Some(Value::Number(number)),
        KIND_TEXT => texts.get(&pos).cloned().map(Value::Text),
        _ => None,
    }
}

/// Puts `value` where [`read_value`] finds it, replacing a value of kind `old`; returns its kind.
fn write_value(
    old: u8,
    value: Option<&Value>,
    number: &mut f64,
    texts: &mut HashMap<u32, Arc<str>>,
    pos: u32,
) -> u8 {
    if old == KIND_TEXT {
        texts.remove(&pos);
    }
    match value {
        None => KIND_NONE,
        Some(Value::Bool(b)) => {
            *number = if *b { 1.0 } else { 0.0 };
            KIND_BOOL
        }
        Some(Value::Number(n)) => {
            *number = *n;
            KIND_NUMBER
        }
        Some(Value::Text(t)) => {
            texts.insert(pos, t.clone());
            KIND_TEXT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: Quality = Quality::Good;

    #[test]
    fn the_first_reading_is_a_change_even_when_it_is_the_initial_quality() {
        let mut t = TagTable::new(1, true);
        assert!(t.set_quality(0, Quality::Bad(Cause::NoConnectionYet), Timestamp(5)));
        assert!(!t.set_quality(0, Quality::Bad(Cause::NoConnectionYet), Timestamp(6)));
        assert_eq!(t.live(0).time, Some(Timestamp(6)));
        assert_eq!(t.live(0).changed, Some(Timestamp(5)));
    }

    #[test]
    fn same_value_and_quality_is_no_change_and_nan_equals_nan() {
        let mut t = TagTable::new(2, true);
        assert!(t.set(0, Value::Number(1.5), GOOD, Timestamp(1)));
        assert!(!t.set(0, Value::Number(1.5), GOOD, Timestamp(2)));
        assert!(t.set(0, Value::Number(2.0), GOOD, Timestamp(3)));
        assert!(t.set(1, Value::Number(f64::NAN), GOOD, Timestamp(1)));
        assert!(!t.set(1, Value::Number(f64::NAN), GOOD, Timestamp(2)));
    }

    #[test]
    fn a_reading_that_is_not_a_number_is_a_sensor_fault_that_keeps_its_value() {
        let mut t = TagTable::new(4, true);
        let not_a_number = Quality::Bad(Cause::NotANumber);
        for (pos, n) in [(0, f64::NAN), (1, f64::INFINITY), (2, f64::NEG_INFINITY)] {
            assert!(t.set(pos, Value::Number(n), GOOD, Timestamp(1)));
            let live = t.live(pos);
            assert_eq!(live.quality, not_a_number, "{n}");
            assert!(
                matches!(live.value, Some(Value::Number(v)) if v.to_bits() == n.to_bits()),
                "{n} is kept as it came: {:?}",
                live.value
            );
        }
        assert!(
            t.set(0, Value::Number(2.5), GOOD, Timestamp(2)),
            "a number again is good again"
        );
        assert_eq!(t.quality(0), GOOD);
        // A reading that is already not good keeps its own cause.
        t.set(
            3,
            Value::Number(f64::NAN),
            Quality::Uncertain(Cause::Stale),
            Timestamp(1),
        );
        assert_eq!(t.quality(3), Quality::Uncertain(Cause::Stale));
    }

    #[test]
    fn a_boolean_and_the_number_one_are_different_values() {
        let mut t = TagTable::new(1, true);
        assert!(t.set(0, Value::Bool(true), GOOD, Timestamp(1)));
        assert!(t.set(0, Value::Number(1.0), GOOD, Timestamp(2)));
        assert_eq!(t.value(0), Some(Value::Number(1.0)));
    }

    #[test]
    fn a_failed_read_keeps_the_value_and_a_refused_tag_loses_it() {
        let mut t = TagTable::new(1, true);
        t.set(0, Value::Text(Arc::from("P-101")), GOOD, Timestamp(1));
        assert!(t.set_quality(0, Quality::Bad(Cause::CommLost), Timestamp(2)));
        assert_eq!(t.value(0), Some(Value::Text(Arc::from("P-101"))));
        assert!(t.clear(0, Quality::Bad(Cause::Configuration), Timestamp(3)));
        assert_eq!(t.value(0), None);
        assert!(!t.clear(0, Quality::Bad(Cause::Configuration), Timestamp(4)));
    }

    #[test]
    fn live_shows_never_as_none() {
        let t = TagTable::new(1, true);
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
        let mut t = TagTable::new(2, true);
        let n = |v: f64| Some(Value::Number(v));
        assert!(
            t.admit(0, &sample(0, 0, n(1.0), GOOD), Offer::Change, 0.5, MINUTE),
            "a tag's first sample"
        );
        assert!(
            !t.admit(
                0,
                &sample(0, 1_000, n(1.2), GOOD),
                Offer::Change,
                0.5,
                MINUTE
            ),
            "within the deadband"
        );
        assert!(
            t.admit(
                1,
                &sample(1, 1_000, n(1.2), GOOD),
                Offer::Change,
                0.5,
                MINUTE
            ),
            "the other tag's first"
        );
        assert!(
            t.admit(
                0,
                &sample(0, 2_000, n(1.6), GOOD),
                Offer::Change,
                0.5,
                MINUTE
            ),
            "0.6 from the stored 1.0"
        );
        assert_eq!((t.stored_at(0), t.stored_at(1)), (2_000, 1_000));
        assert!(
            !t.admit(
                0,
                &sample(0, 61_000, n(1.6), GOOD),
                Offer::Heartbeat,
                0.5,
                MINUTE
            ),
            "heartbeat not yet due"
        );
        assert!(
            t.admit(
                0,
                &sample(0, 62_000, n(1.6), GOOD),
                Offer::Heartbeat,
                0.5,
                MINUTE
            ),
            "heartbeat due"
        );
    }

    #[test]
    fn the_stored_reference_keeps_text_booleans_missing_values_and_quality() {
        let mut t = TagTable::new(1, true);
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
            assert_eq!(
                t.admit(0, &s, Offer::Change, 0.0, MINUTE),
                expected,
                "step {i}: {s:?}"
            );
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
        let mut t = TagTable::new(1, true);
        assert!(t.admit(
            0,
            &sample(0, 10, Some(Value::Number(1.0)), GOOD),
            Offer::Change,
            0.0,
            MINUTE
        ));
        assert!(t.admit(
            0,
            &sample(0, 7, Some(Value::Number(2.0)), GOOD),
            Offer::Change,
            0.0,
            MINUTE
        ));
        assert_eq!(t.stored_at(0), 10);
    }

    /// Reads `steps` (ms, value, quality) into a table the way a device's poll does (a change is
    /// offered as one, an unchanged reading as a heartbeat, here every time so the rule has to judge
    /// the time) and returns the times of the samples history's rule admitted.
    fn admitted(
        t: &mut TagTable,
        steps: &[(i64, Value, Quality)],
        heartbeat: Duration,
    ) -> Vec<i64> {
        let mut out = Vec::new();
        for (at, value, quality) in steps {
            let at = Timestamp(*at);
            let offer = if t.set(0, value.clone(), *quality, at) {
                Offer::Change
            } else {
                Offer::Heartbeat
            };
            let s = t.current_sample(0, TagIndex(0));
            if t.admit(0, &s, offer, 0.0, heartbeat) {
                out.push(at.0);
            }
        }
        out
    }

    #[test]
    fn without_a_deadband_no_reference_is_kept_and_history_stores_the_same_samples() {
        // A noisy walk over numbers, NaN, booleans, text and qualities, read every 700 ms.
        let mut seed: u64 = 0x5eed;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let steps: Vec<(i64, Value, Quality)> = (0..20_000)
            .map(|i| {
                let value = match next() % 10 {
                    0 => Value::Number(f64::NAN),
                    1 => Value::Bool(next() % 2 == 0),
                    2 => Value::Text(Arc::from(["RUN", "STOP"][(next() % 2) as usize])),
                    _ => Value::Number(f64::from(next() % 4)),
                };
                let quality = match next() % 20 {
                    0 => Quality::Bad(Cause::CommLost),
                    1 => Quality::Uncertain(Cause::Stale),
                    _ => GOOD,
                };
                (1_000 + i * 700, value, quality)
            })
            .collect();
        for heartbeat in [Duration::from_secs(2), MINUTE] {
            let with = admitted(&mut TagTable::new(1, true), &steps, heartbeat);
            let without = admitted(&mut TagTable::new(1, false), &steps, heartbeat);
            assert!(with.len() > 1_000, "the walk changes often");
            assert_eq!(with, without, "heartbeat {heartbeat:?}");
        }
    }

    #[test]
    fn times_keep_their_millisecond_across_weeks_and_the_clock_set_back() {
        const DAY: i64 = 86_400_000;
        let t0 = 1_764_000_000_123; // 2025-11-24
        let mut t = TagTable::new(3, false);
        t.set(0, Value::Number(1.0), GOOD, Timestamp(t0));
        t.set(1, Value::Number(1.0), GOOD, Timestamp(t0));
        assert_eq!(t.changed_at(0), t0);
        // Readings every day for 80 days: the epoch moves on more than once.
        for day in 1..=80 {
            t.set(
                1,
                Value::Number(day as f64),
                GOOD,
                Timestamp(t0 + day * DAY + 7),
            );
        }
        assert_eq!(
            t.changed_at(1),
            t0 + 80 * DAY + 7,
            "the latest time is exact"
        );
        assert_eq!(t.live(1).time, Some(Timestamp(t0 + 80 * DAY + 7)));
        let old = t.changed_at(0);
        assert!(
            old >= t0 && old <= t0 + 80 * DAY - 24 * DAY,
            "a time weeks older than the range is clamped to the oldest kept, never later: {old}"
        );
        assert_eq!(t.stored_at(2), NEVER, "never stays never");
        assert_eq!(t.live(2).time, None);
        // The clock set back by 40 days: new times are exact, later ones are clamped, never lost.
        let back = t0 + 40 * DAY;
        t.set(2, Value::Number(5.0), GOOD, Timestamp(back));
        assert_eq!(t.changed_at(2), back);
        assert!(
            t.changed_at(1) >= back,
            "a time ahead of the clock stays ahead"
        );
    }

    #[test]
    fn a_stamp_made_before_the_epoch_moved_still_touches_the_right_time() {
        const DAY: i64 = 86_400_000;
        let t0 = 1_764_000_000_000;
        let mut t = TagTable::new(2, false);
        t.set(0, Value::Number(1.0), GOOD, Timestamp(t0));
        let stamp = t.stamp(Timestamp(t0 + 20 * DAY));
        t.set(1, Value::Number(1.0), GOOD, Timestamp(t0 + 30 * DAY));
        t.touch(0, stamp);
        assert_eq!(t.live(0).time, Some(Timestamp(t0 + 20 * DAY)));
        let later = t.stamp(Timestamp(t0 + 30 * DAY + 1));
        t.touch(1, later);
        assert_eq!(t.live(1).time, Some(Timestamp(t0 + 30 * DAY + 1)));
    }
}
