//! The alarm state machine behind its journal: every event is journaled before it is handed on, and the
//! states saved in the journal are restored on open.

use std::path::Path;

use plantwatch_core::{Plant, Sample, Timestamp};

use crate::action::OperatorAction;
use crate::error::AlarmError;
use crate::journal::Journal;
use crate::machine::{AlarmEvent, AlarmMachine};
use crate::status::{AlarmSnapshot, AlarmStatus};

/// An [`AlarmMachine`] that journals what it does to the plant's database.
pub struct AlarmManager {
    machine: AlarmMachine,
    journal: Journal,
}

impl AlarmManager {
    /// Opens the journal in `db` (creating the alarm tables if needed) and restores the alarm states it
    /// holds for this plant's alarms.
    pub fn open(plant: &Plant, db: &Path) -> Result<AlarmManager, AlarmError> {
        let journal = Journal::open(db)?;
        let mut machine = AlarmMachine::new(plant);
        let saved = journal.current()?;
        let restored = machine.restore(&saved);
        tracing::debug!(restored, db = %db.display(), "alarm states restored from the journal");
        Ok(AlarmManager { machine, journal })
    }

    /// The state machine (read only: changes go through the manager so they are journaled).
    pub fn machine(&self) -> &AlarmMachine {
        &self.machine
    }

    /// Evaluates readings; returns the journaled events.
    pub fn samples(&mut self, samples: &[Sample]) -> Result<Vec<AlarmEvent>, AlarmError> {
        let mut out = Vec::new();
        for sample in samples {
            self.machine.sample(sample, &mut out);
        }
        self.commit(out)
    }

    /// Evaluates a device's communication alarm.
    pub fn device(
        &mut self,
        device: usize,
        offline: bool,
        at: Timestamp,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        let mut out = Vec::new();
        self.machine.device(device, offline, at, &mut out);
        self.commit(out)
    }

    /// Lets time pass (delays, shelve expiry).
    pub fn tick(&mut self, now: Timestamp) -> Result<Vec<AlarmEvent>, AlarmError> {
        let mut out = Vec::new();
        self.machine.tick(now, &mut out);
        self.commit(out)
    }

    /// Applies an operator action.
    pub fn act(
        &mut self,
        action: &OperatorAction,
        now: Timestamp,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        let mut out = Vec::new();
        self.machine.act(action, now, &mut out)?;
        self.commit(out)
    }

    /// What the operator sees.
    pub fn snapshot(&self, now: Timestamp) -> AlarmSnapshot {
        self.machine.snapshot(now)
    }

    fn commit(&mut self, events: Vec<AlarmEvent>) -> Result<Vec<AlarmEvent>, AlarmError> {
        if events.is_empty() {
            return Ok(events);
        }
        let mut touched: Vec<_> = events.iter().map(|e| e.alarm).collect();
        touched.sort_unstable();
        touched.dedup();
        let current: Vec<AlarmStatus> = touched
            .into_iter()
            .filter_map(|id| self.machine.status(id))
            .collect();
        self.journal
            .write(events.iter().map(|e| &e.entry), &current)?;
        Ok(events)
    }
}
