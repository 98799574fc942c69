//! Journal entries: one per alarm transition or operator action.

use plantwatch_core::{Priority, Timestamp};

use crate::catalog::AlarmKind;

/// The ISA-18.2 alarm state (the operator-set conditions shelved and out of service are kept apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmState {
    Normal,
    /// Active, not yet acknowledged.
    ActiveUnacked,
    /// Active and acknowledged.
    ActiveAcked,
    /// Back to normal, but not yet acknowledged.
    ReturnedUnacked,
}

impl AlarmState {
    pub const ALL: [AlarmState; 4] = [
        AlarmState::Normal,
        AlarmState::ActiveUnacked,
        AlarmState::ActiveAcked,
        AlarmState::ReturnedUnacked,
    ];

    /// `normal`, `active_unacked`, `active_acked`, `returned_unacked`.
    pub fn name(self) -> &'static str {
        match self {
            AlarmState::Normal => "normal",
            AlarmState::ActiveUnacked => "active_unacked",
            AlarmState::ActiveAcked => "active_acked",
            AlarmState::ReturnedUnacked => "returned_unacked",
        }
    }

    pub fn from_name(name: &str) -> Option<AlarmState> {
        AlarmState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The condition is in effect.
    pub fn is_active(self) -> bool {
        matches!(self, AlarmState::ActiveUnacked | AlarmState::ActiveAcked)
    }

    /// Waiting for the operator's acknowledgement.
    pub fn is_unacked(self) -> bool {
        matches!(
            self,
            AlarmState::ActiveUnacked | AlarmState::ReturnedUnacked
        )
    }
}

/// What a journal entry records: a transition of the alarm or an operator action (the journal's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    Active,
    Cleared,
    Acknowledged,
    Shelved,
    Unshelved,
    ShelveExpired,
    OutOfService,
    InService,
}

impl Transition {
    pub const ALL: [Transition; 8] = [
        Transition::Active,
        Transition::Cleared,
        Transition::Acknowledged,
        Transition::Shelved,
        Transition::Unshelved,
        Transition::ShelveExpired,
        Transition::OutOfService,
        Transition::InService,
    ];

    /// `active`, `cleared`, `acknowledged`, `shelved`, `unshelved`, `shelve_expired`, `out_of_service`,
    /// `in_service`.
    pub fn name(self) -> &'static str {
        match self {
            Transition::Active => "active",
            Transition::Cleared => "cleared",
            Transition::Acknowledged => "acknowledged",
            Transition::Shelved => "shelved",
            Transition::Unshelved => "unshelved",
            Transition::ShelveExpired => "shelve_expired",
            Transition::OutOfService => "out_of_service",
            Transition::InService => "in_service",
        }
    }

    pub fn from_name(name: &str) -> Option<Transition> {
        Transition::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One row of the alarm journal.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub time: Timestamp,
    /// The tag's full id (`"plc/level"`), or the device id for a comm alarm.
    pub tag: String,
    pub kind: AlarmKind,
    pub priority: Priority,
    pub state: Transition,
    /// The value at the transition (booleans as 0/1); none for comm alarms and operator actions on them.
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub message: String,
    /// Who did it, for operator actions.
    pub user: Option<String>,
    /// The operator's comment (the reason, for a shelve).
    pub comment: Option<String>,
    /// For `shelved`: when the shelve runs out.
    pub shelved_until: Option<Timestamp>,
}
