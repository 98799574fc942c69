//! What the engine knows about one device between polls: its read plan, the ranges it refused, the
//! last raw registers of each block, the latest reading of each tag, its state and its counters.
//!
//! No I/O here: the link task does the reads and reports each outcome (registers, an exception, a
//! link failure); this module turns outcomes into samples and decides which of them changed. That keeps
//! the rules of quality, staleness and change detection testable without a peer.
//!
//! The hot path is cheap by construction: a reply is compared with the block's previous reply register
//! by register, and only tags whose own registers changed (or whose quality was not good) are decoded;
//! the others only get their read time moved. Staleness is tracked per block (every tag of a block is
//! refreshed by the same reply), and heartbeats are looked for only when the earliest one can be due.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plantwatch_core::{
    Cause, Device, Plant, Quality, Sample, Tag, TagIndex, Timestamp, Value, ValueType,
};
use plantwatch_modbus::decode::{decode_bit, decode_registers};
use plantwatch_modbus::link::Payload;
use plantwatch_modbus::plan::{plan_device, BadRanges, Block};
use tokio::time::Instant;

use crate::poll::schedule::{Backoff, Schedule};
use crate::poll::tags::{Offer, TagTable, NEVER};
use crate::poll::{lock, DeviceShared};
use crate::status::{DeviceCounters, DeviceState};

/// A good value not refreshed for this many poll periods becomes `Uncertain(Stale)`.
pub const STALE_AFTER_PERIODS: u32 = 3;

/// Where one tag lies in its block's payload (the tag's position is the block's `tags` entry at the
/// same index).
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// First item (register or bit) of the tag in the payload.
    offset: u16,
    /// Items the tag spans; 0 when the tag is not inside the block (a configuration problem).
    width: u16,
    /// How to decode it without looking into its `Tag`, when it is that simple.
    plain: Plain,
}

/// Register tags the poll loop decodes itself: a bare 16-bit integer (scale 1, offset 0) is its
/// register's number. The most common tag of all; decoding it from the slot keeps the hot path out of
/// the plant's `Tag`s (a cache miss each, with a million tags). Everything else goes through
/// `plantwatch_modbus::decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plain {
    No,
    U16,
    I16,
}

impl Slot {
    fn of(block: &Block, tag: &Tag) -> Slot {
        let Some(range) = block.slot(tag) else {
            return Slot {
                offset: 0,
                width: 0,
                plain: Plain::No,
            };
        };
        let unscaled = tag.is_unscaled() && !tag.table.is_bits();
        let plain = match tag.value_type {
            ValueType::U16 if unscaled => Plain::U16,
            ValueType::I16 if unscaled => Plain::I16,
            _ => Plain::No,
        };
        Slot {
            offset: range.start as u16,
            width: range.len() as u16,
            plain,
        }
    }

    fn items(self) -> std::ops::Range<usize> {
        usize::from(self.offset)..usize::from(self.offset) + usize::from(self.width)
    }
}

/// A read of the plan, with what it returned last time.
#[derive(Debug)]
struct PlannedBlock {
    block: Block,
    /// The block's tags, with their place in the payload worked out once (the hot path never looks
    /// into the `Tag` of a tag whose registers did not change).
    slots: Vec<Slot>,
    /// The last registers (or bits) the block returned.
    raw: Option<Payload>,
    /// When the block was last read (its good tags go stale from then on).
    refreshed: Option<Instant>,
}

impl PlannedBlock {
    fn new(block: Block, device: &Device) -> PlannedBlock {
        let slots = block
            .tags
            .iter()
            .map(|&pos| Slot::of(&block, &device.tags[pos as usize]))
            .collect();
        PlannedBlock {
            block,
            slots,
            raw: None,
            refreshed: None,
        }
    }
}

/// The samples polls (and staleness checks) of a device produced since they were last taken.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Samples whose value or quality changed: what listeners get.
    pub changed: Vec<Sample>,
    /// The samples history's rule found worth storing, changes and due heartbeats: what the history
    /// writer gets.
    pub stored: Vec<Sample>,
}

/// Samples gathered between two [`DevicePoll::take_outcome`] calls, before history judges them.
#[derive(Debug, Default)]
struct Pending {
    changed: Vec<Sample>,
    /// Unchanged samples whose heartbeat is due.
    heartbeats: Vec<Sample>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.heartbeats.is_empty()
    }
}

/// One device's poll state. Owned by its link task; the tag readings live in the shared slot the
/// engine handle reads.
pub struct DevicePoll {
    plant: Arc<Plant>,
    /// Index into `plant.devices`.
    pub index: usize,
    first_tag: u32,
    shared: Arc<Mutex<DeviceShared>>,
    bad: BadRanges,
    blocks: Vec<PlannedBlock>,
    pending: Pending,
    /// Set when a block was split or refused this cycle: the plan is rebuilt after the cycle.
    replan: bool,
    /// True once the device ever answered (bad quality becomes comm lost instead of no connection).
    answered: bool,
    /// True once a refused range held configured tags: they are `bad:config` for good, and the device is
    /// degraded (a refused gap between tags is not).
    unreadable_tags: bool,
    /// Exceptions or refused ranges in the current cycle.
    cycle_troubles: bool,
    /// When the current cycle began (UTC ms): tags changed since then already went out as changes.
    cycle_at: i64,
    /// Each tag's heartbeat in ms, dense so the heartbeat sweep never looks into the plant's `Tag`s.
    heartbeat_ms: PerTag<u32>,
    /// Each tag's deadband, for judging its samples for history.
    deadband: PerTag<f64>,
    /// No heartbeat can be due before this (UTC ms).
    next_heartbeat: i64,
    pub schedule: Schedule,
    pub backoff: Backoff,
    pub state: DeviceState,
    pub counters: DeviceCounters,
    latency_total_us: u64,
    pub last_poll: Option<Timestamp>,
    pub last_errors: Vec<(Timestamp, String)>,
}

/// A setting of every tag of a device, kept once when all tags have the same (the usual case: a
/// plant-wide default), which saves a dense array per setting and a memory read per sample.
#[derive(Debug)]
enum PerTag<T> {
    Same(T),
    Each(Box<[T]>),
}

impl<T: Copy + PartialEq> PerTag<T> {
    fn of(values: impl Iterator<Item = T>) -> PerTag<T> {
        let values: Vec<T> = values.collect();
        match values.first() {
            Some(&first) if values.iter().all(|&v| v == first) => PerTag::Same(first),
            _ => PerTag::Each(values.into_boxed_slice()),
        }
    }

    /// The setting of the tag at `pos` (a position of the device's tags).
    fn get(&self, pos: u32) -> T {
        match self {
            PerTag::Same(value) => *value,
            PerTag::Each(values) => values[pos as usize],
        }
    }
}

/// How many recent errors a device keeps for the UI.
const KEPT_ERRORS: usize = 8;

impl DevicePoll {
    /// A device nobody has heard from yet (its tags `Bad(NoConnectionYet)`, not yet reported); its
    /// readings go to `shared`.
    pub fn new(
        plant: Arc<Plant>,
        index: usize,
        start: Instant,
        shared: Arc<Mutex<DeviceShared>>,
    ) -> DevicePoll {
        let device = &plant.devices[index];
        let bad = BadRanges::new();
        let blocks = plan_device(device, &bad)
            .into_iter()
            .map(|b| PlannedBlock::new(b, device))
            .collect();
        let heartbeat_ms = PerTag::of(device.tags.iter().map(Tag::heartbeat_ms));
        let deadband = PerTag::of(device.tags.iter().map(Tag::deadband));
        let first_tag = plant.first_tag_of(index).0;
        let schedule = Schedule::new(device.poll_period, start);
        DevicePoll {
            plant,
            index,
            first_tag,
            shared,
            bad,
            blocks,
            pending: Pending::default(),
            replan: false,
            answered: false,
            unreadable_tags: false,
            cycle_troubles: false,
            cycle_at: NEVER,
            heartbeat_ms,
            deadband,
            next_heartbeat: NEVER,
            schedule,
            backoff: Backoff::standard(),
            state: DeviceState::Connecting,
            counters: DeviceCounters::default(),
            latency_total_us: 0,
            last_poll: None,
            last_errors: Vec::new(),
        }
    }

    /// The device's configuration.
    pub fn device(&self) -> &Device {
        &self.plant.devices[self.index]
    }

    /// Number of reads in one cycle.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The `b`-th read of the cycle.
    pub fn block(&self, b: usize) -> &Block {
        &self.blocks[b].block
    }

    /// The ranges the device refused so far.
    pub fn bad_ranges(&self) -> &BadRanges {
        &self.bad
    }

    /// The slot the engine handle reads this device's status and tags from.
    pub fn shared(&self) -> &Arc<Mutex<DeviceShared>> {
        &self.shared
    }

    /// Starts a poll cycle at `at`.
    pub fn begin_cycle(&mut self, at: Timestamp) {
        self.cycle_troubles = false;
        self.cycle_at = at.0;
    }

    /// Counts one request sent and its latency once answered (`None` for no answer).
    pub fn count_request(&mut self, latency: Option<Duration>) {
        self.counters.requests += 1;
        if let Some(latency) = latency {
            // u64 microseconds: 584,000 years of latency, and a division as cheap as the rest
            // (a u128 one costs more than the whole bookkeeping, 8,000 times a second).
            let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
            self.counters.responses += 1;
            self.latency_total_us = self.latency_total_us.saturating_add(us);
            self.counters.latency_last_us = us;
            self.counters.latency_max_us = self.counters.latency_max_us.max(us);
            self.counters.latency_avg_us = self.latency_total_us / self.counters.responses;
        }
    }

    /// The `b`-th planned block returned data at `at`: tags whose registers did not change and whose
    /// quality is good keep their value (only their read time moves); the others are decoded.
    pub fn on_planned_data(&mut self, b: usize, payload: Payload, at: Timestamp, now: Instant) {
        self.answered = true;
        let device = &self.plant.devices[self.index];
        let Some(planned) = self.blocks.get_mut(b) else {
            return;
        };
        let mut errors = Vec::new();
        {
            let mut shared = lock(&self.shared);
            let tags = &mut shared.tags;
            let unchanged = Unchanged::between(planned.raw.as_ref(), &payload);
            let read_at = tags.stamp(at);
            for (slot, &pos) in planned.slots.iter().zip(&planned.block.tags) {
                if unchanged.covers(*slot) && tags.is_good(pos) {
                    tags.touch(pos, read_at);
                    continue;
                }
                let changed = match decode_plain(&payload, *slot) {
                    Some(value) => tags.set(pos, value, Quality::Good, at),
                    None => {
                        let decoded = decode_slot(&device.tags[pos as usize], &payload, *slot);
                        store_decoded(tags, pos, decoded, at, &mut errors)
                    }
                };
                if changed {
                    let index = TagIndex(self.first_tag + pos);
                    self.pending.changed.push(tags.sample(pos, index, at));
                }
            }
        }
        planned.raw = Some(payload);
        planned.refreshed = Some(now);
        for message in errors {
            self.note_error(at, message);
        }
    }

    /// Half of a split block returned data at `at`: every tag in it is decoded (the plan is rebuilt
    /// after the cycle, so nothing is remembered about the half).
    pub fn on_split_data(&mut self, block: &Block, payload: Payload, at: Timestamp) {
        self.answered = true;
        let device = &self.plant.devices[self.index];
        let mut errors = Vec::new();
        {
            let mut shared = lock(&self.shared);
            let tags = &mut shared.tags;
            for &pos in &block.tags {
                let tag = &device.tags[pos as usize];
                let slot = Slot::of(block, tag);
                let changed =
                    store_decoded(tags, pos, decode_slot(tag, &payload, slot), at, &mut errors);
                if changed {
                    let index = TagIndex(self.first_tag + pos);
                    self.pending.changed.push(tags.sample(pos, index, at));
                }
            }
        }
        for message in errors {
            self.note_error(at, message);
        }
    }

    /// The device answered a block with an exception the poller does not split for (04, 06, 0B, ...).
    pub fn on_exception(&mut self, block: &Block, code: u8, at: Timestamp) {
        self.answered = true;
        self.cycle_troubles = true;
        *self.counters.exceptions.entry(code).or_default() += 1;
        self.note_error(
            at,
            format!(
                "{} {}+{}: exception {code:02X}",
                block.table.name(),
                block.start,
                block.count
            ),
        );
        self.set_qualities(
            block.tags.iter().copied(),
            Quality::Bad(Cause::Exception(code)),
            at,
        );
    }

    /// Counts an exception 02/03 that will be handled by splitting the block: learning the device's
    /// map, not an error (a tag the device truly refuses is counted by [`Self::on_refused`]).
    pub fn count_refusal(&mut self) {
        self.answered = true;
        self.counters.learned_refusals += 1;
    }

    /// A block the device refused (02/03) that cannot be split further: its range is remembered and its
    /// tags are bad for good (cause configuration); the plan is rebuilt without them.
    pub fn on_refused(&mut self, block: &Block, code: u8, at: Timestamp) {
        self.cycle_troubles = true;
        self.replan = true;
        *self.counters.exceptions.entry(code).or_default() += 1;
        if !block.tags.is_empty() {
            self.unreadable_tags = true;
        }
        self.bad.mark(block.table, block.start, block.count);
        self.note_error(
            at,
            format!(
                "{} {}+{}: exception {code:02X}, tags marked bad (configuration)",
                block.table.name(),
                block.start,
                block.count
            ),
        );
        let mut shared = lock(&self.shared);
        let tags = &mut shared.tags;
        for &pos in &block.tags {
            if tags.clear(pos, Quality::Bad(Cause::Configuration), at) {
                let index = TagIndex(self.first_tag + pos);
                self.pending.changed.push(tags.sample(pos, index, at));
            }
        }
    }

    /// Both halves of a refused block were read: learn which addresses (or which size) the device refuses.
    pub fn on_split_read(&mut self, whole: &Block, left: &Block, right: &Block) {
        self.replan = true;
        self.bad.learn_from_split(whole, left, right);
    }

    /// The device did not answer (timeout) or its link failed: every tag is bad, keeping its last value.
    pub fn on_comm_failure(&mut self, at: Timestamp, message: String) {
        self.note_error(at, message);
        let cause = if self.answered {
            Cause::CommLost
        } else {
            Cause::NoConnectionYet
        };
        let count = self.device().tags.len() as u32;
        {
            let mut shared = lock(&self.shared);
            let tags = &mut shared.tags;
            for pos in 0..count {
                if tags.quality(pos) == Quality::Bad(Cause::Configuration) {
                    continue;
                }
                if tags.set_quality(pos, Quality::Bad(cause), at) {
                    let index = TagIndex(self.first_tag + pos);
                    self.pending.changed.push(tags.sample(pos, index, at));
                }
            }
        }
        self.state = DeviceState::Offline;
        for planned in &mut self.blocks {
            planned.raw = None;
            planned.refreshed = None;
        }
    }

    /// Ends a cycle that read every block (possibly with exceptions): sets the state and rebuilds the
    /// plan if the device refused something.
    pub fn finish_cycle(&mut self, at: Timestamp, now: Instant) {
        self.last_poll = Some(at);
        if self.replan {
            self.replan = false;
            let device = &self.plant.devices[self.index];
            self.blocks = plan_device(device, &self.bad)
                .into_iter()
                .map(|b| {
                    let mut planned = PlannedBlock::new(b, device);
                    // Every good tag of the new plan was read in this cycle (whole or in halves).
                    planned.refreshed = Some(now);
                    planned
                })
                .collect();
        }
        self.state = if self.cycle_troubles || self.unreadable_tags {
            DeviceState::Degraded
        } else {
            DeviceState::Online
        };
    }

    /// Offers history the unchanged tags whose heartbeat has passed since their last stored sample
    /// (history's rule has the last word). Only walks the tags when the earliest can be due.
    pub fn sweep_heartbeats(&mut self, at: Timestamp) {
        if at.0 < self.next_heartbeat {
            return;
        }
        let mut next = i64::MAX;
        let shared = lock(&self.shared);
        let tags = &shared.tags;
        for pos in 0..tags.len() as u32 {
            if !tags.reported(pos) {
                continue;
            }
            let heartbeat = i64::from(self.heartbeat_ms.get(pos));
            if tags.changed_at(pos) >= self.cycle_at {
                // Changed in this cycle: it went out as a change.
                next = next.min(at.0.saturating_add(heartbeat));
                continue;
            }
            let stored = tags.stored_at(pos);
            let due = if stored == NEVER {
                NEVER
            } else {
                stored.saturating_add(heartbeat)
            };
            if due <= at.0 {
                let index = TagIndex(self.first_tag + pos);
                let mut sample = tags.current_sample(pos, index);
                if sample.time.0 < self.cycle_at {
                    // Not read in this cycle (a refused tag): the heartbeat sample is of now.
                    sample.time = at;
                }
                self.pending.heartbeats.push(sample);
                next = next.min(at.0.saturating_add(heartbeat));
            } else {
                next = next.min(due);
            }
        }
        self.next_heartbeat = next;
    }

    /// Marks good values not refreshed for [`STALE_AFTER_PERIODS`] poll periods `Uncertain(Stale)`.
    /// Returns when the next block would go stale, if any was read.
    pub fn check_stale(&mut self, now: Instant, at: Timestamp) -> Option<Instant> {
        let limit = self.stale_after();
        let mut next: Option<Instant> = None;
        for planned in &mut self.blocks {
            let Some(refreshed) = planned.refreshed else {
                continue;
            };
            let deadline = refreshed + limit;
            if deadline > now {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
                continue;
            }
            planned.refreshed = None;
            let mut shared = lock(&self.shared);
            let tags = &mut shared.tags;
            for &pos in &planned.block.tags {
                if tags.is_good(pos) && tags.set_quality(pos, Quality::Uncertain(Cause::Stale), at)
                {
                    let index = TagIndex(self.first_tag + pos);
                    self.pending.changed.push(tags.sample(pos, index, at));
                }
            }
        }
        next
    }

    /// How long a good value lasts without a refresh.
    pub fn stale_after(&self) -> Duration {
        // A zero period (poll as fast as possible) still gets a floor, or every value would be stale.
        (self.device().poll_period * STALE_AFTER_PERIODS).max(Duration::from_millis(10))
    }

    /// Takes the samples gathered since the last call, with the ones worth storing picked out by
    /// history's rule against each tag's last stored sample (which they then become).
    pub fn take_outcome(&mut self) -> Outcome {
        let Pending {
            changed,
            heartbeats,
        } = std::mem::take(&mut self.pending);
        let mut stored = Vec::with_capacity(changed.len() + heartbeats.len());
        {
            let mut shared = lock(&self.shared);
            let tags = &mut shared.tags;
            let first_tag = self.first_tag;
            let (heartbeat_ms, deadband) = (&self.heartbeat_ms, &self.deadband);
            let mut admit = |sample: &Sample, offer: Offer| {
                let Some(pos) = sample.tag.0.checked_sub(first_tag) else {
                    return false;
                };
                let heartbeat = Duration::from_millis(u64::from(heartbeat_ms.get(pos)));
                tags.admit(pos, sample, offer, deadband.get(pos), heartbeat)
            };
            stored.extend(changed.iter().filter(|&s| admit(s, Offer::Change)).cloned());
            stored.extend(
                heartbeats
                    .into_iter()
                    .filter(|s| admit(s, Offer::Heartbeat)),
            );
        }
        Outcome { changed, stored }
    }

    /// True when samples wait to be delivered.
    pub fn has_outcome(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Number of tags of the device.
    pub fn tag_count(&self) -> usize {
        self.device().tags.len()
    }

    /// Records an error message for the UI (a handful, newest last).
    pub fn note_error(&mut self, at: Timestamp, message: String) {
        if self.last_errors.len() >= KEPT_ERRORS {
            self.last_errors.remove(0);
        }
        self.last_errors.push((at, message));
    }

    /// Sets the quality of some tags, keeping their values; changes become samples.
    fn set_qualities(
        &mut self,
        positions: impl Iterator<Item = u32>,
        quality: Quality,
        at: Timestamp,
    ) {
        let mut shared = lock(&self.shared);
        let tags = &mut shared.tags;
        for pos in positions {
            if tags.set_quality(pos, quality, at) {
                let index = TagIndex(self.first_tag + pos);
                self.pending.changed.push(tags.sample(pos, index, at));
            }
        }
    }
}

/// A block's payload next to the one it returned last time, to tell which tags' items are the same.
enum Unchanged<'a> {
    Registers(&'a [u16], &'a [u16]),
    Bits(&'a [bool], &'a [bool]),
    /// No earlier payload of the same kind: nothing is known to be unchanged.
    Unknown,
}

impl<'a> Unchanged<'a> {
    fn between(previous: Option<&'a Payload>, new: &'a Payload) -> Unchanged<'a> {
        match (previous, new) {
            (Some(Payload::Registers(old)), Payload::Registers(new)) => {
                Unchanged::Registers(old, new)
            }
            (Some(Payload::Bits(old)), Payload::Bits(new)) => Unchanged::Bits(old, new),
            _ => Unchanged::Unknown,
        }
    }

    /// True when the slot's items are the same in both payloads (false for a tag outside the block).
    fn covers(&self, slot: Slot) -> bool {
        if slot.width == 0 {
            return false;
        }
        let range = slot.items();
        match self {
            // One register, the usual tag: compared in place, not as a slice (a call to memcmp).
            Unchanged::Registers(old, new) if slot.width == 1 => {
                let i = range.start;
                i < old.len() && i < new.len() && old[i] == new[i]
            }
            Unchanged::Registers(old, new) => same_in(old, new, range),
            Unchanged::Bits(old, new) => same_in(old, new, range),
            Unchanged::Unknown => false,
        }
    }
}

/// True when both slices hold `range` and the same items in it.
fn same_in<T: PartialEq>(old: &[T], new: &[T], range: std::ops::Range<usize>) -> bool {
    matches!((old.get(range.clone()), new.get(range)), (Some(a), Some(b)) if a == b)
}

/// Decodes a [`Plain`] tag from its slot; `None` for every other tag.
fn decode_plain(payload: &Payload, slot: Slot) -> Option<Value> {
    let Payload::Registers(regs) = payload else {
        return None;
    };
    let reg = *regs.get(usize::from(slot.offset))?;
    match slot.plain {
        Plain::U16 => Some(Value::Number(f64::from(reg))),
        Plain::I16 => Some(Value::Number(f64::from(reg as i16))),
        Plain::No => None,
    }
}

/// Decodes one tag from its slot of a block's payload.
/// Stores a decoded reading of the tag at `pos`; whether it changed. Data that arrived but cannot be
/// this tag's value is a configuration problem: the tag goes bad (cause config) and the message is kept.
fn store_decoded(
    tags: &mut TagTable,
    pos: u32,
    decoded: Result<Value, String>,
    at: Timestamp,
    errors: &mut Vec<String>,
) -> bool {
    match decoded {
        Ok(value) => tags.set(pos, value, Quality::Good, at),
        Err(message) => {
            errors.push(message);
            tags.set_quality(pos, Quality::Bad(Cause::Configuration), at)
        }
    }
}

fn decode_slot(tag: &Tag, payload: &Payload, slot: Slot) -> Result<Value, String> {
    let range = slot.items();
    match payload {
        Payload::Registers(regs) if slot.width > 0 && range.end <= regs.len() => {
            decode_registers(tag, &regs[range]).map_err(|e| e.to_string())
        }
        Payload::Bits(bits) if slot.width > 0 && range.end <= bits.len() => {
            Ok(decode_bit(tag, bits[range.start]))
        }
        _ => Err(format!(
            "tag '{}' is not inside the block read for it",
            tag.id()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::DeviceStatus;
    use plantwatch_core::{testing, Table, ValueType};
    use std::path::Path;

    const PERIOD: Duration = Duration::from_secs(1);

    /// One device polled every second: u16 at 0 and 1, f32 (ABCD) at 2-3, u16 at 10; heartbeat 60 s.
    fn device_poll() -> DevicePoll {
        device_poll_with(|_| {})
    }

    /// [`device_poll`] with its tags changed by `change` first.
    fn device_poll_with(change: impl FnOnce(&mut [plantwatch_core::Tag])) -> DevicePoll {
        let tag = |id: &str, address: u16, value_type: ValueType| {
            let mut tag = testing::tag(id, value_type);
            tag.address = address;
            tag
        };
        let tags = vec![
            tag("a", 0, ValueType::U16),
            tag("b", 1, ValueType::U16),
            tag("flow", 2, ValueType::F32),
            tag("c", 10, ValueType::U16),
        ];
        let mut tags = tags;
        change(&mut tags);
        // testing::device polls every second, which is PERIOD.
        let plant = testing::plant("t", Path::new("t.db"), vec![("plc", tags)]);
        let shared = Arc::new(Mutex::new(DeviceShared {
            status: DeviceStatus {
                device: 0,
                state: DeviceState::Connecting,
                counters: DeviceCounters::default(),
                last_poll: None,
                last_errors: Vec::new(),
            },
            tags: TagTable::for_device(&plant.devices[0]),
        }));
        DevicePoll::new(Arc::new(plant), 0, Instant::now(), shared)
    }

    /// Registers 0..11 with a, b, flow = 1.5 (0x3FC0_0000) and c.
    fn registers(a: u16, b: u16, flow_low: u16, c: u16) -> Payload {
        let mut regs = vec![0u16; 11];
        regs[0] = a;
        regs[1] = b;
        regs[2] = 0x3FC0;
        regs[3] = flow_low;
        regs[10] = c;
        Payload::Registers(regs)
    }

    /// One whole cycle reading `payload` at `at` (ms); returns the changed tags and the tags whose
    /// samples history's rule admitted (changes first, then due heartbeats).
    fn cycle(
        poll: &mut DevicePoll,
        payload: Payload,
        at: i64,
        now: Instant,
    ) -> (Vec<u32>, Vec<u32>) {
        poll.begin_cycle(Timestamp(at));
        poll.on_planned_data(0, payload, Timestamp(at), now);
        poll.finish_cycle(Timestamp(at), now);
        poll.sweep_heartbeats(Timestamp(at));
        let outcome = poll.take_outcome();
        let tags = |samples: &[Sample]| samples.iter().map(|s| s.tag.0).collect();
        (tags(&outcome.changed), tags(&outcome.stored))
    }

    fn live(poll: &DevicePoll, pos: u32) -> crate::TagLive {
        lock(poll.shared()).tags.live(pos)
    }

    #[test]
    fn plain_16_bit_tags_decode_exactly_as_the_modbus_decoder_does() {
        let poll = device_poll();
        let device = poll.device();
        for value_type in [ValueType::U16, ValueType::I16] {
            let mut tag = device.tags[0].clone();
            tag.value_type = value_type;
            let block = Block {
                table: Table::Holding,
                start: 0,
                count: 1,
                tags: vec![0],
            };
            let slot = Slot::of(&block, &tag);
            assert_ne!(slot.plain, Plain::No);
            for reg in [0u16, 1, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 12345] {
                let payload = Payload::Registers(vec![reg]);
                assert_eq!(
                    decode_plain(&payload, slot),
                    decode_registers(&tag, &[reg]).ok(),
                    "{value_type:?} {reg}"
                );
            }
            let scaled = tag.clone().with_scale(0.1);
            assert_eq!(
                Slot::of(&block, &scaled).plain,
                Plain::No,
                "a scaled tag goes to the decoder"
            );
        }
    }

    #[test]
    fn a_setting_shared_by_every_tag_is_kept_once() {
        assert!(matches!(
            PerTag::of([60_000u32; 3].into_iter()),
            PerTag::Same(60_000)
        ));
        let mixed = PerTag::of([0.0, 5.0, 0.0].into_iter());
        assert!(matches!(mixed, PerTag::Each(_)));
        assert_eq!((mixed.get(0), mixed.get(1), mixed.get(2)), (0.0, 5.0, 0.0));
        assert!(matches!(
            PerTag::<f64>::of(std::iter::empty()),
            PerTag::Each(_)
        ));
    }

    #[test]
    fn the_plan_is_one_block_covering_every_tag() {
        let poll = device_poll();
        assert_eq!(poll.block_count(), 1);
        assert_eq!((poll.block(0).start, poll.block(0).count), (0, 11));
    }

    #[test]
    fn only_tags_whose_own_registers_changed_become_samples() {
        let mut poll = device_poll();
        let t0 = Instant::now();
        assert_eq!(
            cycle(&mut poll, registers(1, 2, 0, 3), 1_000, t0).0,
            vec![0, 1, 2, 3],
            "first read: every tag"
        );
        // b changed, and the low word of flow: only those two.
        let (changed, _) = cycle(&mut poll, registers(1, 7, 1, 3), 2_000, t0 + PERIOD);
        assert_eq!(changed, vec![1, 2]);
        assert_eq!(live(&poll, 1).value, Some(Value::Number(7.0)));
        // Unchanged tags were read again: their time moves, their change time does not.
        let a = live(&poll, 0);
        assert_eq!(
            (a.time, a.changed),
            (Some(Timestamp(2_000)), Some(Timestamp(1_000)))
        );
        assert_eq!(
            cycle(&mut poll, registers(1, 7, 1, 3), 3_000, t0 + PERIOD * 2).0,
            Vec::<u32>::new()
        );
    }

    #[test]
    fn a_block_not_read_for_three_periods_goes_stale_and_the_next_read_makes_it_good() {
        let mut poll = device_poll();
        let t0 = Instant::now();
        cycle(&mut poll, registers(1, 2, 0, 3), 1_000, t0);
        assert!(
            poll.check_stale(t0 + PERIOD * 2, Timestamp(3_000))
                .is_some(),
            "not stale yet"
        );
        assert!(!poll.has_outcome());
        assert_eq!(poll.check_stale(t0 + PERIOD * 3, Timestamp(4_000)), None);
        let stale = poll.take_outcome().changed;
        assert_eq!(stale.len(), 4);
        assert!(stale
            .iter()
            .all(|s| s.quality == Quality::Uncertain(Cause::Stale)));
        // Same registers as before the gap, yet every tag is good again.
        let (changed, _) = cycle(&mut poll, registers(1, 2, 0, 3), 5_000, t0 + PERIOD * 4);
        assert_eq!(changed, vec![0, 1, 2, 3]);
        assert_eq!(live(&poll, 2).quality, Quality::Good);
    }

    #[test]
    fn unchanged_tags_are_offered_to_history_once_their_heartbeat_passed() {
        let mut poll = device_poll();
        let t0 = Instant::now();
        cycle(&mut poll, registers(1, 2, 0, 3), 0, t0);
        assert_eq!(
            cycle(&mut poll, registers(1, 2, 0, 3), 30_000, t0).1,
            Vec::<u32>::new()
        );
        // At 60 s: b changed (stored as a change, not a heartbeat); a, flow and c are due.
        let (changed, stored) = cycle(&mut poll, registers(1, 9, 0, 3), 60_000, t0);
        assert_eq!((changed, stored), (vec![1], vec![1, 0, 2, 3]));
        assert_eq!(
            cycle(&mut poll, registers(1, 9, 0, 3), 61_000, t0).1,
            Vec::<u32>::new(),
            "stored again at 60 s"
        );
    }

    #[test]
    fn changes_within_a_tags_deadband_reach_listeners_but_not_history() {
        // Tag b with a deadband of 5: listeners see every change, history only moves beyond 5 from
        // the last stored value (and every quality change).
        let mut poll = device_poll_with(|tags| tags[1] = tags[1].clone().with_deadband(5.0));
        let t0 = Instant::now();
        assert_eq!(
            cycle(&mut poll, registers(1, 10, 0, 3), 1_000, t0),
            (vec![0, 1, 2, 3], vec![0, 1, 2, 3])
        );
        assert_eq!(
            cycle(&mut poll, registers(1, 14, 0, 3), 2_000, t0),
            (vec![1], vec![])
        );
        assert_eq!(
            cycle(&mut poll, registers(1, 16, 0, 3), 3_000, t0),
            (vec![1], vec![1])
        );
        poll.on_comm_failure(Timestamp(4_000), "no reply".into());
        let lost = poll.take_outcome();
        assert_eq!(lost.stored.len(), 4, "every quality change is stored");
    }

    #[test]
    fn a_comm_failure_keeps_the_values_as_comm_lost_and_the_next_reply_is_decoded_again() {
        let mut poll = device_poll();
        let t0 = Instant::now();
        cycle(&mut poll, registers(1, 2, 0, 3), 1_000, t0);
        poll.on_comm_failure(Timestamp(2_000), "no reply".into());
        let lost = poll.take_outcome().changed;
        assert_eq!(lost.len(), 4);
        assert!(lost
            .iter()
            .all(|s| s.quality == Quality::Bad(Cause::CommLost) && s.value.is_some()));
        assert_eq!(poll.state, DeviceState::Offline);
        let (changed, _) = cycle(&mut poll, registers(1, 2, 0, 3), 3_000, t0 + PERIOD * 2);
        assert_eq!(changed, vec![0, 1, 2, 3]);
        assert_eq!(live(&poll, 2).value, Some(Value::Number(1.5)));
        assert_eq!(poll.state, DeviceState::Online);
    }
}
