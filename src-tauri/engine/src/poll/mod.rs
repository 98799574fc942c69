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
//! alarm service, samples admitted by the history filter to the history writer's sink. None of these
//! blocks the poll loop.

pub mod device;
pub mod link_task;
pub mod schedule;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use plantwatch_core::{Link, Plant, Sample, Timestamp};
use plantwatch_history::{SampleSink, StoreFilter};
use tokio::sync::broadcast;

use crate::event::EngineEvent;
use crate::status::{DeviceStatus, TagLive};
use device::{DevicePoll, Outcome};

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

/// What one device shows the outside: its status and the live readings of its tags.
#[derive(Debug)]
pub struct DeviceShared {
    pub status: DeviceStatus,
    pub live: Vec<TagLive>,
}

/// Hands an event to the alarm service. A closure, so polling does not depend on the alarm service's type.
pub type AlarmFeed = Box<dyn Fn(&EngineEvent) + Send + Sync>;

/// Where samples and status go. Shared by every link task and the engine handle.
pub struct Outputs {
    pub events: broadcast::Sender<EngineEvent>,
    pub sink: Option<SampleSink>,
    pub filter: Mutex<StoreFilter>,
    /// Feeds the alarm service (never blocks), when the engine runs one.
    pub alarms: Option<AlarmFeed>,
    /// Per device, so link tasks never contend with each other.
    pub devices: Vec<Mutex<DeviceShared>>,
}

impl Outputs {
    /// Delivers a device's outcome; returns the samples history admitted.
    pub fn deliver(&self, _device: usize, outcome: Outcome) -> Vec<Sample> {
        if !outcome.changed.is_empty() {
            let event = EngineEvent::Samples(Arc::from(outcome.changed));
            if let Some(alarms) = &self.alarms {
                alarms(&event);
            }
            // No receiver is fine: nobody is listening right now.
            let _ = self.events.send(event);
        }
        if outcome.candidates.is_empty() {
            return Vec::new();
        }
        let admitted: Vec<Sample> = {
            let mut filter = lock(&self.filter);
            outcome
                .candidates
                .into_iter()
                .filter(|s| filter.admit(s))
                .collect()
        };
        if let Some(sink) = &self.sink {
            if !admitted.is_empty() {
                sink.send(admitted.clone());
            }
        }
        admitted
    }

    /// Copies a device's state, counters and live readings to where the handle reads them, and tells
    /// listeners when its state changed.
    pub fn update_status(&self, poll: &DevicePoll) {
        let Some(slot) = self.devices.get(poll.index) else {
            return;
        };
        let state_changed = {
            let mut shared = lock(slot);
            let changed = shared.status.state != poll.state;
            shared.status.state = poll.state;
            shared.status.counters.clone_from(&poll.counters);
            shared.status.last_poll = poll.last_poll;
            shared.status.last_errors.clone_from(&poll.last_errors);
            poll.write_live(&mut shared.live);
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

/// Locks a mutex, going on with the data if a panicking thread poisoned it (the data is plain state
/// that stays consistent between statements).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
