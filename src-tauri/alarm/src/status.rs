//! The state of alarms as the operator sees them: one alarm's status, and the snapshot behind the banner
//! and the alarm summary.

use plantwatch_core::{Priority, Timestamp};

use crate::backlog::JournalBacklog;
use crate::catalog::AlarmKind;
use crate::entry::AlarmState;

/// Who acknowledged an alarm, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Acknowledgement {
    pub at: Timestamp,
    pub by: String,
    pub comment: Option<String>,
}

/// A timed shelve.
#[derive(Debug, Clone, PartialEq)]
pub struct Shelve {
    pub since: Timestamp,
    /// When it runs out by itself (already capped by the plant's maximum).
    pub until: Timestamp,
    pub by: String,
    pub reason: String,
}

/// An alarm taken out of service.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfService {
    pub since: Timestamp,
    pub by: String,
    pub comment: Option<String>,
}

/// One alarm's state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmStatus {
    /// The alarm's key: `"plc/level:hi"`, `"plc:comm"`; operator actions name alarms by it.
    pub key: String,
    /// The tag's full id, or the device id for a comm alarm.
    pub source: String,
    pub kind: AlarmKind,
    pub priority: Priority,
    pub message: String,
    pub limit: Option<f64>,
    pub state: AlarmState,
    /// The value when the alarm last became active or cleared.
    pub value: Option<f64>,
    /// The latest trusted value of the tag.
    pub current_value: Option<f64>,
    /// When it last became active.
    pub activated: Option<Timestamp>,
    /// When it last returned to normal (none while active).
    pub cleared: Option<Timestamp>,
    pub acknowledged: Option<Acknowledgement>,
    pub shelve: Option<Shelve>,
    pub out_of_service: Option<OutOfService>,
}

/// Counts per priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PriorityCounts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl PriorityCounts {
    pub fn get(&self, priority: Priority) -> u32 {
        match priority {
            Priority::Critical => self.critical,
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }

    pub fn add(&mut self, priority: Priority) {
        match priority {
            Priority::Critical => self.critical += 1,
            Priority::High => self.high += 1,
            Priority::Medium => self.medium += 1,
            Priority::Low => self.low += 1,
        }
    }

    pub fn total(&self) -> u32 {
        self.critical + self.high + self.medium + self.low
    }
}

/// Every alarm that is not quietly normal, sorted for the operator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmSnapshot {
    /// When the snapshot was taken.
    pub taken: Timestamp,
    /// The main list: active or unacknowledged alarms that are neither shelved nor out of service, by
    /// priority (critical first), then newest first.
    pub alarms: Vec<AlarmStatus>,
    /// Shelved alarms (in any state), by priority then newest first.
    pub shelved: Vec<AlarmStatus>,
    /// Out-of-service alarms (in any state, shelved or not), by priority then newest first.
    pub out_of_service: Vec<AlarmStatus>,
    /// Alarms in the main list, by priority.
    pub counts: PriorityCounts,
    /// Unacknowledged alarms in the main list, by priority.
    pub unacked: PriorityCounts,
    /// The newest unacknowledged alarm of the main list, for the banner.
    pub newest_unacked: Option<AlarmStatus>,
    /// Alarm changes shown here but not yet in the journal (the database is locked or the disk full).
    pub journal: JournalBacklog,
}

impl AlarmSnapshot {
    /// Sorts and counts statuses into a snapshot.
    pub fn build(
        taken: Timestamp,
        statuses: impl IntoIterator<Item = AlarmStatus>,
    ) -> AlarmSnapshot {
        let mut snap = AlarmSnapshot {
            taken,
            ..AlarmSnapshot::default()
        };
        for status in statuses {
            if status.out_of_service.is_some() {
                snap.out_of_service.push(status);
            } else if status.shelve.is_some() {
                snap.shelved.push(status);
            } else if status.state != AlarmState::Normal {
                snap.counts.add(status.priority);
                if status.state.is_unacked() {
                    snap.unacked.add(status.priority);
                }
                snap.alarms.push(status);
            }
        }
        for list in [
            &mut snap.alarms,
            &mut snap.shelved,
            &mut snap.out_of_service,
        ] {
            list.sort_by(|a, b| {
                a.priority
                    .cmp(&b.priority)
                    .then(b.activated.cmp(&a.activated))
                    .then(a.key.cmp(&b.key))
            });
        }
        snap.newest_unacked = snap
            .alarms
            .iter()
            .filter(|s| s.state.is_unacked())
            .max_by_key(|s| s.activated)
            .cloned();
        snap
    }
}
