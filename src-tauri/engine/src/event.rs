//! What the engine tells its listeners (the alarm service, the desktop, the collector's status line).

use std::sync::Arc;

use plantwatch_core::{Sample, Timestamp};

use crate::status::DeviceState;

/// One thing that happened in the plant.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// Samples of one device whose value or quality changed in one poll (every tag on the first poll).
    Samples(Arc<[Sample]>),
    /// A device's communication state changed. `device` indexes `Plant::devices`.
    DeviceState {
        device: usize,
        state: DeviceState,
        at: Timestamp,
    },
}
