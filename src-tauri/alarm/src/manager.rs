//! The alarm state machine in front of its journal: the machine changes first and every change is
//! queued in a backlog that [`AlarmManager::flush`] writes to the journal in order, so a journal that
//! cannot be written (database locked, disk full) delays the record but never loses the alarm. The
//! states saved in the journal are restored on open.
//!
//! Operator actions are the exception: an action is on record or it did not happen. [`AlarmManager::act`]
//! journals the backlog and the action at once and, when the journal refuses, takes the action back and
//! says so ([`AlarmError::NotJournaled`]).

use std::path::Path;
use std::time::Duration;

use plantwatch_core::{Plant, Sample, Timestamp};

use crate::action::OperatorAction;
use crate::backlog::{Backlog, JournalBacklog, CAPACITY};
use crate::error::AlarmError;
use crate::journal::Journal;
use crate::machine::{AlarmEvent, AlarmMachine};
use crate::status::{AlarmSnapshot, AlarmStatus};

/// How long a flush waits for a database another connection holds (the history writer's commits take
/// milliseconds). Short, so a locked file does not hold up the evaluation of alarms: the backlog waits
/// instead, and the caller tries again later.
pub const FLUSH_PATIENCE: Duration = Duration::from_millis(100);

/// How long an operator action waits for the journal before it is refused.
pub const ACT_PATIENCE: Duration = Duration::from_secs(2);

/// An [`AlarmMachine`] that journals what it does to the plant's database.
pub struct AlarmManager {
    machine: AlarmMachine,
    journal: Journal,
    backlog: Backlog,
}

impl AlarmManager {
    /// Opens the journal in `db` (creating the alarm tables if needed) and restores the alarm states it
    /// holds for this plant's alarms.
    pub fn open(plant: &Plant, db: &Path) -> Result<AlarmManager, AlarmError> {
        AlarmManager::open_with_capacity(plant, db, CAPACITY)
    }

    /// [`AlarmManager::open`] with a backlog of at most `capacity` entries (tests use a small one).
    pub fn open_with_capacity(
        plant: &Plant,
        db: &Path,
        capacity: usize,
    ) -> Result<AlarmManager, AlarmError> {
        let journal = Journal::open(db)?;
        let mut machine = AlarmMachine::new(plant);
        let saved = journal.current()?;
        let restored = machine.restore(&saved);
        tracing::debug!(restored, db = %db.display(), "alarm states restored from the journal");
        Ok(AlarmManager {
            machine,
            journal,
            backlog: Backlog::new(capacity),
        })
    }

    /// The state machine (read only: changes go through the manager so they are journaled).
    pub fn machine(&self) -> &AlarmMachine {
        &self.machine
    }

    /// Evaluates readings; returns the events, queued for the journal.
    pub fn samples(&mut self, samples: &[Sample]) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        for sample in samples {
            self.machine.sample(sample, &mut out);
        }
        self.queue(out)
    }

    /// Evaluates a device's communication alarm; returns the events, queued for the journal.
    pub fn device(&mut self, device: usize, offline: bool, at: Timestamp) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        self.machine.device(device, offline, at, &mut out);
        self.queue(out)
    }

    /// Evaluates a system alarm; returns the events, queued for the journal.
    pub fn system(
        &mut self,
        alarm: crate::SystemAlarm,
        active: bool,
        at: Timestamp,
    ) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        self.machine.system(alarm, active, at, &mut out);
        self.queue(out)
    }

    /// Lets time pass (delays, shelve expiry); returns the events, queued for the journal.
    pub fn tick(&mut self, now: Timestamp) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        self.machine.tick(now, &mut out);
        self.queue(out)
    }

    /// Applies an operator action and journals it, with everything queued before it, before returning.
    /// When the journal cannot take it within [`ACT_PATIENCE`], the action is taken back (the alarms
    /// are as before) and the error says so; the backlog keeps waiting.
    pub fn act(
        &mut self,
        action: &OperatorAction,
        now: Timestamp,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        let mut out = Vec::new();
        let undo = self.machine.act(action, now, &mut out)?;
        if out.is_empty() {
            // Nothing changed (acknowledging what is already acknowledged): nothing to put on record.
            return Ok(out);
        }
        let before = self.backlog.len();
        let out = self.queue(out);
        if let Err(source) = self.write(ACT_PATIENCE, now) {
            self.backlog.truncate(before);
            self.machine.undo(undo);
            return Err(AlarmError::NotJournaled(Box::new(source)));
        }
        Ok(out)
    }

    /// Writes the backlog to the journal in one transaction, waiting at most [`FLUSH_PATIENCE`] for a
    /// locked database. Returns how many entries were written; on failure they keep waiting and the
    /// error is kept for [`AlarmManager::backlog`].
    pub fn flush(&mut self, now: Timestamp) -> Result<usize, AlarmError> {
        self.write(FLUSH_PATIENCE, now)
    }

    /// How far the journal is behind the alarms the operator sees.
    pub fn backlog(&self) -> JournalBacklog {
        self.backlog.report()
    }

    /// What the operator sees, with the journal's backlog.
    pub fn snapshot(&self, now: Timestamp) -> AlarmSnapshot {
        let mut snapshot = self.machine.snapshot(now);
        snapshot.journal = self.backlog.report();
        snapshot
    }

    fn queue(&mut self, events: Vec<AlarmEvent>) -> Vec<AlarmEvent> {
        for e in &events {
            self.backlog.push(e.alarm, e.entry.clone());
        }
        events
    }

    fn write(&mut self, patience: Duration, now: Timestamp) -> Result<usize, AlarmError> {
        if self.backlog.is_empty() {
            return Ok(0);
        }
        let current: Vec<AlarmStatus> = self
            .backlog
            .touched()
            .filter_map(|id| self.machine.status(id))
            .collect();
        let written = self.backlog.len();
        match self
            .journal
            .write_within(patience, self.backlog.entries(), &current)
        {
            Ok(()) => {
                self.backlog.written();
                Ok(written)
            }
            Err(e) => {
                self.backlog.failed(e.to_string(), now);
                Err(e)
            }
        }
    }
}
