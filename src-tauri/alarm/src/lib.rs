//! Alarms after ISA-18.2 / IEC 62682: rule evaluation, the alarm state machine, the journal, alarm health.
//!
//! - [`Catalog`]: the plant's alarms (rules on tags, one comm alarm per device, Plantwatch's own system
//!   alarms such as "history disk low"), built once from the plant.
//! - [`AlarmMachine`]: pure state machine. Readings, device states and operator actions go in with their
//!   time; journal entries come out. It never reads the clock and does no I/O, so tests drive time.
//! - [`Journal`]: the SQLite journal in the plant's history file (tables `alarm_journal`, `alarm_current`),
//!   and [`AlarmManager`], the machine in front of its journal: changes wait in a bounded backlog
//!   ([`JournalBacklog`]) until the journal takes them, operator actions are journaled before they count,
//!   and the states are restored after a restart.
//! - [`health`]: alarm rates, floods, chattering and the most frequent alarms, from journal entries.

pub mod action;
mod backlog;
pub mod catalog;
mod detector;
pub mod entry;
pub mod error;
pub mod health;
pub mod journal;
pub mod machine;
mod manager;
pub mod status;

pub use action::{AlarmCommand, OperatorAction};
pub use backlog::JournalBacklog;
pub use catalog::{AlarmDef, AlarmId, AlarmKind, AlarmSource, Catalog, SystemAlarm, Trigger};
pub use entry::{AlarmState, JournalEntry, Transition};
pub use error::AlarmError;
pub use journal::{Journal, JournalQuery, JournalReader};
pub use machine::{AlarmEvent, AlarmMachine, Undo};
pub use manager::{AlarmManager, ACT_PATIENCE, FLUSH_PATIENCE};
pub use status::{
    Acknowledgement, AlarmSnapshot, AlarmStatus, OutOfService, PriorityCounts, Shelve,
};
