//! The engine: polls every device of a plant, feeds history and alarms, and offers one handle
//! ([`Engine`]) to the headless CLI and the desktop shell.
//!
//! Invariants: the engine never imports Tauri and knows nothing of JSON for the UI or of the terminal;
//! history writes happen on the history writer's thread, never in a poll task; one request is in flight
//! per link.

pub mod alarm_service;
pub mod event;
pub mod status;

pub use event::EngineEvent;
pub use status::{DeviceCounters, DeviceState, DeviceStatus, TagLive};
