//! Observable state of devices and tags.

use std::collections::BTreeMap;

use plantwatch_core::{Quality, Timestamp, Value};

/// A device's communication state, as the UI and the communication alarm see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceState {
    /// No answer yet since start (or since the link was re-opened).
    Connecting,
    /// The last poll cycle read every block.
    Online,
    /// The device answers, but a configured tag cannot be read (an exception, or an address the device
    /// refuses). Unused addresses inside a coalesced read that the device refuses are learned and read
    /// around; they do not make a device degraded.
    Degraded,
    /// The link is down or the device does not answer; reconnecting with back-off.
    Offline,
}

impl DeviceState {
    pub fn name(self) -> &'static str {
        match self {
            DeviceState::Connecting => "connecting",
            DeviceState::Online => "online",
            DeviceState::Degraded => "degraded",
            DeviceState::Offline => "offline",
        }
    }
}

/// Counters of one device since the engine started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceCounters {
    pub requests: u64,
    pub responses: u64,
    pub timeouts: u64,
    /// Modbus exception responses by code that left a configured tag unread (errors).
    pub exceptions: BTreeMap<u8, u64>,
    /// Exceptions 02/03 to a coalesced read that the poller answered by splitting it, learning which
    /// unused addresses the device lacks. Normal on a first start, read around afterwards: not errors.
    pub learned_refusals: u64,
    /// Link failures other than timeouts (refused, reset, bad frame).
    pub link_errors: u64,
    pub reconnects: u64,
    /// Poll cycles that started later than their period allowed (the cycle before overran).
    pub missed_cycles: u64,
    pub latency_last_us: u64,
    pub latency_avg_us: u64,
    pub latency_max_us: u64,
}

/// A device's state, counters and recent errors.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStatus {
    /// Index into `Plant::devices`.
    pub device: usize,
    pub state: DeviceState,
    pub counters: DeviceCounters,
    /// When the last poll cycle finished.
    pub last_poll: Option<Timestamp>,
    /// The most recent errors, newest last (a handful, not a log).
    pub last_errors: Vec<(Timestamp, String)>,
}

/// The latest reading of one tag.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagLive {
    pub value: Option<Value>,
    pub quality: Quality,
    /// When the tag was last read (or failed to be).
    pub time: Option<Timestamp>,
    /// When its value or quality last changed.
    pub changed: Option<Timestamp>,
}
