//! Polling: one task per link, one request in flight per link.
//!
//! Which devices share a link task:
//! - RTU devices on one serial port share it (one RS-485 line carries one request at a time).
//! - RTU-over-TCP devices behind one gateway (same host and port) share it: raw RTU frames carry no
//!   transaction id, so only one request may be in flight on the socket.
//! - Each Modbus TCP device gets a task and connection of its own, even when several unit ids sit on
//!   one TCP server. MBAP framing keeps requests apart, real TCP servers and gateways serve concurrent
//!   connections, and this way a slow or dead unit never delays the other units of that server.
//!
//! Samples leave a link task through [`Outputs`]: changed samples to listeners (broadcast) and the
//! alarm service, samples worth storing to the history writer's sink. None of these blocks the poll
//! loop. Each device judges its own samples for history (see [`device::DevicePoll::take_outcome`]), so
//! link tasks share nothing but the batch the admitted samples wait in: they are gathered from every
//! link and handed to the writer in batches (at least every [`HISTORY_HAND_OFF_EVERY`]), so a device
//! polled back to back does not wake the writer thread once per reply.

pub mod device;
pub mod link_task;
pub mod runtime;
pub mod schedule;
pub mod tags;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use plantwatch_core::{Link, Plant, Sample, Timestamp};
use plantwatch_history::SampleSink;
use tokio::sync::{broadcast, watch};

use crate::event::EngineEvent;
use crate::status::DeviceStatus;
use device::DevicePoll;
use tags::TagTable;

/// Which link task a device belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkKey {
    /// A link shared by every device that names it (serial port, RTU-over-TCP gateway).
    Shared(Link),
    /// A Modbus TCP device's own connection (index into `Plant::devices`).
    Own(usize),
}

/// Groups the devices of a plant by link task, in config order of each group's first device.
pub fn group_devices(plant: &Plant) -> Vec<(Link, Vec<usize>)> {
    let mut groups: Vec<(Link, Vec<usize>)> = Vec::new();
    let mut seen: HashMap<LinkKey, usize> = HashMap::new();
    for (i, device) in plant.devices.iter().enumerate() {
        let key = match device.link {
            Link::Tcp(_) => LinkKey::Own(i),
            Link::Rtu(_) | Link::RtuOverTcp(_) => LinkKey::Shared(device.link.clone()),
        };
        match seen.get(&key) {
            Some(&g) => groups[g].1.push(i),
            None => {
                seen.insert(key, groups.len());
                groups.push((device.link.clone(), vec![i]));
            }
        }
    }
    groups
}

/// What one device shows the outside: its status and the latest readings of its tags (the one copy:
/// the device's link task writes them under this lock, the engine handle reads them).
#[derive(Debug)]
pub struct DeviceShared {
    pub status: DeviceStatus,
    pub tags: TagTable,
}

/// Hands an event to the alarm service. A closure, so polling does not depend on the alarm service's type.
pub type AlarmFeed = Box<dyn Fn(&EngineEvent) + Send + Sync>;

/// Admitted samples wait at most this long before they go to the history writer (which commits at
/// most half a second after the oldest arrived, so this adds little to what a `kill -9` can lose).
pub const HISTORY_HAND_OFF_EVERY: Duration = Duration::from_millis(50);
/// A batch this large goes to the writer at once.
const HAND_OFF_SAMPLES: usize = 50_000;

/// Where samples and status go. Shared by every link task and the engine handle.
pub struct Outputs {
    pub events: broadcast::Sender<EngineEvent>,
    pub sink: Option<SampleSink>,
    /// The batches handed to the history writer, for listeners of what is stored (the northbound).
    /// Copied only while someone listens.
    pub stored: broadcast::Sender<Arc<[Sample]>>,
    /// Samples worth storing that wait for the writer (held only to append or take the batch).
    pub history: Mutex<Vec<Sample>>,
    /// Feeds the alarm service (never blocks), when the engine runs one.
    pub alarms: Option<AlarmFeed>,
    /// Per device, so link tasks never contend with each other.
    pub devices: Vec<Arc<Mutex<DeviceShared>>>,
}

impl Outputs {
    /// Delivers what a device's poll produced: changed samples to listeners and the alarm service (one
    /// event per cycle), the samples worth storing (the device judged them) into the batch for the
    /// writer.
    pub fn deliver(&self, poll: &mut DevicePoll) {
        if !poll.has_outcome() {
            return;
        }
        let outcome = poll.take_outcome();
        let full = if outcome.stored.is_empty() {
            None
        } else {
            let mut batch = lock(&self.history);
            batch.extend(outcome.stored);
            (batch.len() >= HAND_OFF_SAMPLES).then(|| std::mem::take(&mut *batch))
        };
        if let Some(batch) = full {
            self.hand_off(batch);
        }
        if !outcome.changed.is_empty() {
            let event = EngineEvent::Samples(Arc::from(outcome.changed));
            if let Some(alarms) = &self.alarms {
                alarms(&event);
            }
            // No receiver is fine: nobody is listening right now.
            let _ = self.events.send(event);
        }
    }

    /// Hands the waiting admitted samples to the history writer.
    pub fn flush_history(&self) {
        let batch = std::mem::take(&mut *lock(&self.history));
        self.hand_off(batch);
    }

    /// Gives a batch to the listeners of stored samples and to the history writer.
    fn hand_off(&self, batch: Vec<Sample>) {
        self.tap(&batch);
        if let Some(sink) = &self.sink {
            sink.send(batch);
        }
    }

    /// Offers a batch on its way to the history writer to the listeners of stored samples, if any.
    fn tap(&self, batch: &[Sample]) {
        if !batch.is_empty() && self.stored.receiver_count() > 0 {
            // No receiver left by now is fine: it unsubscribed in between.
            let _ = self.stored.send(Arc::from(batch));
        }
    }

    /// Copies a device's state and counters to where the handle reads them, and tells
    /// listeners when its state changed.
    pub fn update_status(&self, poll: &DevicePoll) {
        let state_changed = {
            let mut shared = lock(poll.shared());
            let status = &mut shared.status;
            let changed = status.state != poll.state;
            status.state = poll.state;
            status.counters.clone_from(&poll.counters);
            status.last_poll = poll.last_poll;
            if status.last_errors != poll.last_errors {
                status.last_errors.clone_from(&poll.last_errors);
            }
            changed
        };
        if state_changed {
            let event = EngineEvent::DeviceState {
                device: poll.index,
                state: poll.state,
                at: Timestamp::now(),
            };
            if let Some(alarms) = &self.alarms {
                alarms(&event);
            }
            let _ = self.events.send(event);
        }
    }
}

/// Hands admitted samples to the history writer every [`HISTORY_HAND_OFF_EVERY`] until told to stop,
/// then once more.
pub async fn hand_off_history(outputs: Arc<Outputs>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(HISTORY_HAND_OFF_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            _ = tick.tick() => outputs.flush_history(),
        }
    }
    outputs.flush_history();
}

/// Locks a mutex, going on with the data if a panicking thread poisoned it (the data is plain state
/// that stays consistent between statements).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::{Quality, TagIndex, Value};

    fn outputs() -> Outputs {
        Outputs {
            events: broadcast::channel(4).0,
            sink: None,
            stored: broadcast::channel(2).0,
            history: Mutex::new(Vec::new()),
            alarms: None,
            devices: Vec::new(),
        }
    }

    fn sample(tag: u32, ms: i64) -> Sample {
        Sample {
            tag: TagIndex(tag),
            time: Timestamp::from_millis(ms),
            value: Some(Value::Number(1.0)),
            quality: Quality::Good,
        }
    }

    #[test]
    fn the_batches_for_the_history_reach_listeners_of_stored_samples() {
        let outputs = outputs();
        let mut listener = outputs.stored.subscribe();
        lock(&outputs.history).extend([sample(0, 10), sample(1, 11)]);
        outputs.flush_history();
        outputs.flush_history();
        let batch = listener.try_recv().expect("the flushed batch");
        assert_eq!(&*batch, &[sample(0, 10), sample(1, 11)]);
        assert!(
            listener.try_recv().is_err(),
            "an empty flush offers nothing to listeners"
        );
    }

    #[test]
    fn a_listener_that_falls_behind_is_told_how_many_batches_it_lost() {
        let outputs = outputs();
        let mut listener = outputs.stored.subscribe();
        for ms in 0..5 {
            lock(&outputs.history).push(sample(0, ms));
            outputs.flush_history();
        }
        assert!(matches!(
            listener.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(3))
        ));
    }
}
