//! The journal backlog: alarm changes already shown to the operator but not yet in the journal.
//!
//! The alarm machine changes first and the disk follows: a change goes to the operator at once and waits
//! here, in order and with its own time, until the journal takes it. A database that is locked or a
//! disk that is full only delays the journal; the backlog is bounded (a plant in a flood for days
//! against a dead disk must not eat the memory), and what it ever had to give up is counted.

use std::collections::{BTreeSet, VecDeque};

use plantwatch_core::Timestamp;

use crate::catalog::AlarmId;
use crate::entry::JournalEntry;

/// How many entries wait at most. An entry is about 200 bytes, so this is some 20 MB, hours of an
/// alarm flood; beyond it the oldest entries give way (counted in [`JournalBacklog::dropped`]).
pub const CAPACITY: usize = 100_000;

/// What the operator and the collector are told about the journal: how far behind it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalBacklog {
    /// Entries shown to the operator but not yet journaled.
    pub pending: usize,
    /// Entries given up because the backlog was full (never journaled).
    pub dropped: u64,
    /// Why the last journal write failed, while entries still wait (none once the journal caught up).
    pub last_error: Option<String>,
    /// When the journal started refusing writes, while it still does.
    pub failing_since: Option<Timestamp>,
}

impl JournalBacklog {
    /// True when every change is in the journal and none was ever given up.
    pub fn is_clear(&self) -> bool {
        self.pending == 0 && self.dropped == 0
    }
}

/// The entries waiting for the journal, oldest first, and the alarms whose saved state they change.
#[derive(Debug)]
pub(crate) struct Backlog {
    entries: VecDeque<JournalEntry>,
    touched: BTreeSet<AlarmId>,
    capacity: usize,
    dropped: u64,
    last_error: Option<String>,
    failing_since: Option<Timestamp>,
}

impl Backlog {
    pub(crate) fn new(capacity: usize) -> Backlog {
        Backlog {
            entries: VecDeque::new(),
            touched: BTreeSet::new(),
            capacity: capacity.max(1),
            dropped: 0,
            last_error: None,
            failing_since: None,
        }
    }

    /// Queues an entry for the journal; when full, the oldest entry gives way and is counted.
    pub(crate) fn push(&mut self, alarm: AlarmId, entry: JournalEntry) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::error!(
                    dropped = self.dropped,
                    "alarm journal backlog full: the oldest unjournaled alarm changes are given up"
                );
            }
        }
        self.entries.push_back(entry);
        self.touched.insert(alarm);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes back the newest entries down to `len` (an operator action that could not be journaled).
    /// The alarms they touched stay marked: writing their (restored) state again is harmless.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &JournalEntry> {
        self.entries.iter()
    }

    pub(crate) fn touched(&self) -> impl Iterator<Item = AlarmId> + '_ {
        self.touched.iter().copied()
    }

    /// Everything waiting is journaled.
    pub(crate) fn written(&mut self) {
        self.entries.clear();
        self.touched.clear();
        self.last_error = None;
        self.failing_since = None;
    }

    /// The journal refused a write at `now`.
    pub(crate) fn failed(&mut self, error: String, now: Timestamp) {
        self.last_error = Some(error);
        self.failing_since.get_or_insert(now);
    }

    pub(crate) fn report(&self) -> JournalBacklog {
        JournalBacklog {
            pending: self.entries.len(),
            dropped: self.dropped,
            last_error: self.last_error.clone(),
            failing_since: self.failing_since,
        }
    }
}

#[cfg(test)]
mod tests {
    use plantwatch_core::Priority;

    use super::*;
    use crate::catalog::AlarmKind;
    use crate::entry::Transition;

    fn entry(ms: i64) -> JournalEntry {
        JournalEntry {
            time: Timestamp(ms),
            tag: "plc/level".into(),
            kind: AlarmKind::Hi,
            priority: Priority::High,
            state: Transition::Active,
            value: Some(3.5),
            limit: Some(3.2),
            message: "level high".into(),
            user: None,
            comment: None,
            shelved_until: None,
        }
    }

    #[test]
    fn a_full_backlog_gives_up_its_oldest_entries_and_counts_them() {
        let mut backlog = Backlog::new(3);
        for ms in 0..5 {
            backlog.push(AlarmId(0), entry(ms));
        }
        let times: Vec<i64> = backlog.entries().map(|e| e.time.0).collect();
        assert_eq!(times, [2, 3, 4], "the newest three are kept, in order");
        let report = backlog.report();
        assert_eq!((report.pending, report.dropped), (3, 2));
        backlog.written();
        assert_eq!(
            backlog.report().dropped,
            2,
            "what was given up stays counted"
        );
        assert!(!backlog.report().is_clear());
    }

    #[test]
    fn a_failure_is_reported_from_its_first_time_until_the_journal_catches_up() {
        let mut backlog = Backlog::new(10);
        backlog.push(AlarmId(0), entry(0));
        backlog.failed("database is locked".into(), Timestamp(100));
        backlog.failed("database or disk is full".into(), Timestamp(200));
        let report = backlog.report();
        assert_eq!(report.failing_since, Some(Timestamp(100)));
        assert_eq!(
            report.last_error.as_deref(),
            Some("database or disk is full")
        );
        backlog.written();
        assert_eq!(backlog.report(), JournalBacklog::default());
    }
}
