//! What the engine knows about one device between polls: its read plan, the ranges it refused, the
//! last raw registers of each block, the last sample of each tag, its state and its counters.
//!
//! No I/O here: the link task does the reads and reports each outcome (registers, an exception, a
//! link failure); this module turns outcomes into samples and decides which of them changed. That keeps
//! the rules of quality, staleness and change detection testable without a peer.

use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Cause, Device, Plant, Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_modbus::decode::{decode_bit, decode_registers};
use plantwatch_modbus::link::Payload;
use plantwatch_modbus::plan::{plan_device, BadRanges, Block};
use tokio::time::Instant;

use crate::poll::schedule::{Backoff, Schedule};
use crate::status::{DeviceCounters, DeviceState, TagLive};

/// A good value not refreshed for this many poll periods becomes `Uncertain(Stale)`.
pub const STALE_AFTER_PERIODS: u32 = 3;

/// The last sample of one tag, as the poll loop sees it.
#[derive(Debug, Clone)]
struct TagMemory {
    value: Option<Value>,
    quality: Quality,
    /// False until the tag's first sample went out (the first outcome always counts as a change).
    reported: bool,
    /// When a good value was last read (monotonic clock), for staleness.
    refreshed: Option<Instant>,
    /// When the tag was last read or failed to be (UTC).
    time: Option<Timestamp>,
    /// When its value or quality last changed (UTC).
    changed: Option<Timestamp>,
    /// When history last admitted a sample of this tag: the heartbeat is only worth asking about after
    /// `heartbeat` has passed since then.
    stored: Option<Timestamp>,
}

/// The samples one poll (or one staleness check) of a device produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Samples whose value or quality changed: what listeners get.
    pub changed: Vec<Sample>,
    /// Samples history should judge (changed ones, plus unchanged ones whose heartbeat may be due).
    pub candidates: Vec<Sample>,
}

/// One device's poll state. Owned by its link task.
pub struct DevicePoll {
    plant: Arc<Plant>,
    /// Index into `plant.devices`.
    pub index: usize,
    first_tag: u32,
    bad: BadRanges,
    blocks: Vec<Block>,
    /// The last registers (or bits) each planned block returned, to skip decoding what did not change.
    raw: Vec<Option<Payload>>,
    tags: Vec<TagMemory>,
    pending: Outcome,
    /// Set when a block was split or refused this cycle: the plan is rebuilt after the cycle.
    replan: bool,
    /// True once the device ever answered (bad quality becomes comm lost instead of no connection).
    answered: bool,
    /// Exceptions or refused ranges in the current cycle.
    cycle_troubles: bool,
    pub schedule: Schedule,
    pub backoff: Backoff,
    pub state: DeviceState,
    pub counters: DeviceCounters,
    latency_total_us: u128,
    pub last_poll: Option<Timestamp>,
    pub last_errors: Vec<(Timestamp, String)>,
}

/// How many recent errors a device keeps for the UI.
const KEPT_ERRORS: usize = 8;

impl DevicePoll {
    /// A device nobody has heard from yet: every tag `Bad(NoConnectionYet)` (not yet reported).
    pub fn new(plant: Arc<Plant>, index: usize, start: Instant) -> DevicePoll {
        let device = &plant.devices[index];
        let bad = BadRanges::new();
        let blocks = plan_device(device, &bad);
        let tags = vec![
            TagMemory {
                value: None,
                quality: Quality::Bad(Cause::NoConnectionYet),
                reported: false,
                refreshed: None,
                time: None,
                changed: None,
                stored: None,
            };
            device.tags.len()
        ];
        let first_tag = plant.first_tag_of(index).0;
        let schedule = Schedule::new(device.poll_period, start);
        DevicePoll {
            raw: vec![None; blocks.len()],
            plant,
            index,
            first_tag,
            bad,
            blocks,
            tags,
            pending: Outcome::default(),
            replan: false,
            answered: false,
            cycle_troubles: false,
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

    /// The reads of one cycle.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The ranges the device refused so far.
    pub fn bad_ranges(&self) -> &BadRanges {
        &self.bad
    }

    /// Starts a poll cycle.
    pub fn begin_cycle(&mut self) {
        self.cycle_troubles = false;
    }

    /// Counts one request sent and its latency once answered (`None` for no answer).
    pub fn count_request(&mut self, latency: Option<Duration>) {
        self.counters.requests += 1;
        if let Some(latency) = latency {
            let us = latency.as_micros();
            self.counters.responses += 1;
            self.latency_total_us += us;
            self.counters.latency_last_us = us as u64;
            self.counters.latency_max_us = self.counters.latency_max_us.max(us as u64);
            self.counters.latency_avg_us =
                (self.latency_total_us / u128::from(self.counters.responses)) as u64;
        }
    }

    /// A block read returned data at `at`. `planned` is the block's position in [`Self::blocks`] when it
    /// is a planned block (its raw data is remembered), `None` for a half of a split block.
    pub fn on_data(
        &mut self,
        block: &Block,
        planned: Option<usize>,
        payload: Payload,
        at: Timestamp,
        now: Instant,
    ) {
        self.answered = true;
        let unchanged =
            planned.is_some_and(|i| self.raw.get(i).and_then(Option::as_ref) == Some(&payload));
        if unchanged {
            // Same registers as last time: the values are the same unless a tag's quality was not good
            // (for example stale, or bad after a link failure). Refresh the good ones without decoding.
            for &pos in &block.tags {
                let heartbeat = self.plant.devices[self.index].tags[pos as usize].heartbeat;
                let mem = &mut self.tags[pos as usize];
                if mem.quality.is_good() {
                    mem.refreshed = Some(now);
                    mem.time = Some(at);
                    if heartbeat_may_be_due(mem, heartbeat, at) {
                        let sample = Sample {
                            tag: TagIndex(self.first_tag + pos),
                            time: at,
                            value: mem.value.clone(),
                            quality: Quality::Good,
                        };
                        self.pending.candidates.push(sample);
                    }
                } else {
                    self.decode_into(block, pos, &payload, at, now);
                }
            }
        } else {
            for &pos in &block.tags {
                self.decode_into(block, pos, &payload, at, now);
            }
        }
        if let Some(i) = planned {
            if let Some(slot) = self.raw.get_mut(i) {
                *slot = Some(payload);
            }
        }
    }

    fn decode_into(
        &mut self,
        block: &Block,
        pos: u32,
        payload: &Payload,
        at: Timestamp,
        now: Instant,
    ) {
        let device = &self.plant.devices[self.index];
        let tag = &device.tags[pos as usize];
        let decoded = match (payload, block.slot(tag)) {
            (Payload::Registers(regs), Some(slot)) if slot.end <= regs.len() => {
                decode_registers(tag, &regs[slot]).map_err(|e| e.to_string())
            }
            (Payload::Bits(bits), Some(slot)) if slot.end <= bits.len() => {
                Ok(decode_bit(tag, bits[slot.start]))
            }
            _ => Err(format!(
                "tag '{}' is not inside the block read for it",
                tag.id
            )),
        };
        match decoded {
            Ok(value) => {
                self.tags[pos as usize].refreshed = Some(now);
                self.set(pos, Some(value), Quality::Good, at);
            }
            Err(message) => {
                // The data arrived but cannot be this tag's value: a configuration problem.
                self.note_error(at, message);
                let last = self.tags[pos as usize].value.clone();
                self.set(pos, last, Quality::Bad(Cause::Configuration), at);
            }
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
        for &pos in &block.tags {
            let last = self.tags[pos as usize].value.clone();
            self.set(pos, last, Quality::Bad(Cause::Exception(code)), at);
        }
    }

    /// Counts an exception 02/03 that will be handled by splitting the block.
    pub fn count_refusal(&mut self, code: u8) {
        self.answered = true;
        *self.counters.exceptions.entry(code).or_default() += 1;
    }

    /// A block the device refused (02/03) that cannot be split further: its range is remembered and its
    /// tags are bad for good (cause configuration); the plan is rebuilt without them.
    pub fn on_refused(&mut self, block: &Block, code: u8, at: Timestamp) {
        self.cycle_troubles = true;
        self.replan = true;
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
        for &pos in &block.tags {
            self.set(pos, None, Quality::Bad(Cause::Configuration), at);
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
        for pos in 0..self.tags.len() as u32 {
            if self.tags[pos as usize].quality == Quality::Bad(Cause::Configuration) {
                continue;
            }
            let last = self.tags[pos as usize].value.clone();
            self.set(pos, last, Quality::Bad(cause), at);
        }
        self.state = DeviceState::Offline;
        self.raw.iter_mut().for_each(|r| *r = None);
    }

    /// Ends a cycle that read every block (possibly with exceptions): sets the state and rebuilds the
    /// plan if the device refused something.
    pub fn finish_cycle(&mut self, at: Timestamp) {
        self.last_poll = Some(at);
        if self.replan {
            self.replan = false;
            self.blocks = plan_device(&self.plant.devices[self.index], &self.bad);
            self.raw = vec![None; self.blocks.len()];
        }
        let refused = !self.bad.is_empty();
        self.state = if self.cycle_troubles || refused {
            DeviceState::Degraded
        } else {
            DeviceState::Online
        };
    }

    /// Marks good values not refreshed for [`STALE_AFTER_PERIODS`] poll periods `Uncertain(Stale)`.
    /// Returns when the next value would go stale, if any is good.
    pub fn check_stale(&mut self, now: Instant, at: Timestamp) -> Option<Instant> {
        let limit = self.stale_after();
        let mut next: Option<Instant> = None;
        for pos in 0..self.tags.len() as u32 {
            let mem = &self.tags[pos as usize];
            let (true, Some(refreshed)) = (mem.quality.is_good(), mem.refreshed) else {
                continue;
            };
            let deadline = refreshed + limit;
            if deadline <= now {
                let last = mem.value.clone();
                self.set(pos, last, Quality::Uncertain(Cause::Stale), at);
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        next
    }

    /// How long a good value lasts without a refresh.
    pub fn stale_after(&self) -> Duration {
        // A zero period (poll as fast as possible) still gets a floor, or every value would be stale.
        (self.device().poll_period * STALE_AFTER_PERIODS).max(Duration::from_millis(10))
    }

    /// Takes the samples gathered since the last call.
    pub fn take_outcome(&mut self) -> Outcome {
        std::mem::take(&mut self.pending)
    }

    /// History admitted these samples (so the heartbeat counts from them).
    pub fn mark_stored(&mut self, stored: &[Sample]) {
        for sample in stored {
            if let Some(pos) = sample.tag.0.checked_sub(self.first_tag) {
                if let Some(mem) = self.tags.get_mut(pos as usize) {
                    mem.stored = Some(mem.stored.map_or(sample.time, |t| t.max(sample.time)));
                }
            }
        }
    }

    /// Copies the tags' latest readings into the live table slice of this device.
    pub fn write_live(&self, live: &mut [TagLive]) {
        for (mem, out) in self.tags.iter().zip(live.iter_mut()) {
            if out.changed != mem.changed {
                out.value = mem.value.clone();
                out.quality = mem.quality;
                out.changed = mem.changed;
            }
            out.time = mem.time;
        }
    }

    /// Number of tags of the device.
    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }

    /// Records an error message for the UI (a handful, newest last).
    pub fn note_error(&mut self, at: Timestamp, message: String) {
        if self.last_errors.len() >= KEPT_ERRORS {
            self.last_errors.remove(0);
        }
        self.last_errors.push((at, message));
    }

    /// Sets a tag's reading; a change of value or quality (or the first reading) becomes a sample.
    fn set(&mut self, pos: u32, value: Option<Value>, quality: Quality, at: Timestamp) {
        let heartbeat = self.plant.devices[self.index].tags[pos as usize].heartbeat;
        let mem = &mut self.tags[pos as usize];
        mem.time = Some(at);
        let changed = !mem.reported || mem.quality != quality || !same_value(&mem.value, &value);
        if changed {
            mem.reported = true;
            mem.quality = quality;
            mem.value = value;
            mem.changed = Some(at);
            let sample = Sample {
                tag: TagIndex(self.first_tag + pos),
                time: at,
                value: mem.value.clone(),
                quality,
            };
            self.pending.changed.push(sample.clone());
            self.pending.candidates.push(sample);
        } else if heartbeat_may_be_due(mem, heartbeat, at) {
            let sample = Sample {
                tag: TagIndex(self.first_tag + pos),
                time: at,
                value: mem.value.clone(),
                quality,
            };
            self.pending.candidates.push(sample);
        }
    }
}

fn heartbeat_may_be_due(mem: &TagMemory, heartbeat: Duration, at: Timestamp) -> bool {
    mem.stored
        .is_none_or(|stored| at.millis_since(stored) >= heartbeat.as_millis() as i64)
}

/// Equal values, with NaN equal to NaN (a device that reports NaN every poll has not changed).
fn same_value(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}
