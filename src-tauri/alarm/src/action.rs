//! What an operator can do to alarms. Alarms are named by their keys (`"plc/level:hi"`, `"plc:comm"`),
//! which stay the same across restarts.

use std::time::Duration;

/// One operator action: who, why, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorAction {
    /// The operator's name; required.
    pub user: String,
    /// Optional, except for a shelve, where it is the reason and required.
    pub comment: Option<String>,
    pub command: AlarmCommand,
}

/// The operator's commands on alarms.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmCommand {
    /// Acknowledge the named alarms (already acknowledged ones are left alone).
    Acknowledge(Vec<String>),
    /// Acknowledge every unacknowledged alarm in the main list (not shelved, not out of service).
    AcknowledgeAllVisible,
    /// Hide the alarms for `duration` (capped by the plant's maximum shelve time); they are still evaluated.
    Shelve {
        alarms: Vec<String>,
        duration: Duration,
    },
    /// End a shelve early.
    Unshelve(Vec<String>),
    /// Take alarms out of service (for maintenance); they are still evaluated and journaled.
    RemoveFromService(Vec<String>),
    /// Put alarms back in service.
    ReturnToService(Vec<String>),
}
