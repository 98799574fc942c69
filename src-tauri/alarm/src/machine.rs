//! The alarm state machine: evidence in, ISA-18.2 transitions and operator actions out, as journal entries.
//!
//! Pure and single-threaded: no clock (every call takes the time), no I/O. The engine's alarm service
//! runs it on its own thread behind the journal ([`crate::AlarmManager`]).

use std::time::Duration;

use plantwatch_core::{Plant, Priority, Sample, Timestamp, Value};

use crate::action::{AlarmCommand, OperatorAction};
use crate::catalog::{AlarmDef, AlarmId, AlarmSource, Catalog, SystemAlarm};
use crate::detector::{judge, Detector, Evidence, Flip};
use crate::entry::{AlarmState, JournalEntry, Transition};
use crate::error::AlarmError;
use crate::status::{Acknowledgement, AlarmSnapshot, AlarmStatus, OutOfService, Shelve};

/// Something that happened to one alarm: its journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmEvent {
    pub alarm: AlarmId,
    /// The alarm's key (`"plc/level:hi"`).
    pub key: String,
    pub entry: JournalEntry,
}

/// Live state of one alarm.
#[derive(Debug, Clone)]
struct Record {
    detector: Detector,
    state: AlarmState,
    /// The latest trusted value of the tag (booleans as 0/1).
    value: Option<f64>,
    /// The value at the last activation or clearing.
    transition_value: Option<f64>,
    activated: Option<Timestamp>,
    cleared: Option<Timestamp>,
    acknowledged: Option<Acknowledgement>,
    shelve: Option<Shelve>,
    out_of_service: Option<OutOfService>,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            detector: Detector::default(),
            state: AlarmState::Normal,
            value: None,
            transition_value: None,
            activated: None,
            cleared: None,
            acknowledged: None,
            shelve: None,
            out_of_service: None,
        }
    }
}

/// The states an operator action changed, as they were before it: [`AlarmMachine::undo`] puts them back
/// when the action could not be journaled (an action that is not on record did not happen).
#[derive(Debug, Clone, Default)]
pub struct Undo(Vec<(AlarmId, Record)>);

/// Every alarm of a plant and its state.
#[derive(Debug, Clone)]
pub struct AlarmMachine {
    catalog: Catalog,
    records: Vec<Record>,
    max_shelve: Duration,
}

impl AlarmMachine {
    /// All alarms of the plant, in normal state.
    pub fn new(plant: &Plant) -> AlarmMachine {
        let catalog = Catalog::new(plant);
        let records = vec![Record::default(); catalog.len()];
        AlarmMachine {
            catalog,
            records,
            max_shelve: plant.alarm_settings.max_shelve,
        }
    }

    /// The plant's alarms.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The longest shelve an operator may ask for.
    pub fn max_shelve(&self) -> Duration {
        self.max_shelve
    }

    /// Takes back states saved before a restart. Statuses of alarms the plant no longer has are skipped;
    /// returns how many were restored. The condition is taken as still in effect for active alarms until
    /// new readings say otherwise.
    pub fn restore(&mut self, saved: &[AlarmStatus]) -> usize {
        let mut restored = 0;
        for status in saved {
            let Some(id) = self.catalog.find(&status.key) else {
                tracing::info!(alarm = %status.key, "saved alarm state skipped: the plant no longer has this alarm");
                continue;
            };
            self.records[id.0 as usize] = Record {
                detector: Detector::starting(status.state.is_active()),
                state: status.state,
                value: status.value,
                transition_value: status.value,
                activated: status.activated,
                cleared: status.cleared,
                acknowledged: status.acknowledged.clone(),
                shelve: status.shelve.clone(),
                out_of_service: status.out_of_service.clone(),
            };
            restored += 1;
        }
        restored
    }

    /// Evaluates the alarms of a sample's tag.
    pub fn sample(&mut self, sample: &Sample, out: &mut Vec<AlarmEvent>) {
        let trusted = if sample.quality.is_good() {
            sample.value.as_ref().and_then(Value::as_f64)
        } else {
            None
        };
        for &id in self.catalog.for_tag(sample.tag) {
            let i = id.0 as usize;
            let def = &self.catalog.defs_slice()[i];
            let record = &mut self.records[i];
            // A delay that ran out before this reading counts first, with the value that caused it.
            if let Some(flip) = record.detector.advance(def, sample.time) {
                apply_flip(def, record, flip, out);
            }
            if trusted.is_some() {
                record.value = trusted;
            }
            let evidence = judge(
                def,
                sample.value.as_ref(),
                sample.quality,
                record.detector.in_effect,
            );
            if let Some(flip) = record.detector.observe(def, evidence, sample.time) {
                apply_flip(def, record, flip, out);
            }
        }
    }

    /// Evaluates a device's communication alarm: in effect while the device is offline.
    pub fn device(
        &mut self,
        device: usize,
        offline: bool,
        at: Timestamp,
        out: &mut Vec<AlarmEvent>,
    ) {
        if let Some(id) = self.catalog.for_device(device) {
            self.condition(id, offline, at, out);
        }
    }

    /// Evaluates a system alarm: in effect while Plantwatch reports its condition (`active`).
    pub fn system(
        &mut self,
        alarm: SystemAlarm,
        active: bool,
        at: Timestamp,
        out: &mut Vec<AlarmEvent>,
    ) {
        if let Some(id) = self.catalog.for_system(alarm) {
            self.condition(id, active, at, out);
        }
    }

    /// Evaluates an alarm whose condition is a plain yes or no (a device offline, a system condition),
    /// through its delays like any other.
    fn condition(&mut self, id: AlarmId, active: bool, at: Timestamp, out: &mut Vec<AlarmEvent>) {
        let i = id.0 as usize;
        let def = &self.catalog.defs_slice()[i];
        let record = &mut self.records[i];
        if let Some(flip) = record.detector.advance(def, at) {
            apply_flip(def, record, flip, out);
        }
        let evidence = if active {
            Evidence::Alarm
        } else {
            Evidence::Normal
        };
        if let Some(flip) = record.detector.observe(def, evidence, at) {
            apply_flip(def, record, flip, out);
        }
    }

    /// Lets time pass: on- and off-delays that ran out take effect, shelves that ran out end.
    pub fn tick(&mut self, now: Timestamp, out: &mut Vec<AlarmEvent>) {
        for (def, record) in self
            .catalog
            .defs_slice()
            .iter()
            .zip(self.records.iter_mut())
        {
            if let Some(flip) = record.detector.advance(def, now) {
                apply_flip(def, record, flip, out);
            }
            if let Some(shelve) = &record.shelve {
                if shelve.until <= now {
                    let until = shelve.until;
                    record.shelve = None;
                    out.push(event(
                        def,
                        record,
                        Transition::ShelveExpired,
                        until,
                        None,
                        None,
                    ));
                }
            }
        }
    }

    /// The earliest moment a delay or a shelve runs out, so a driver knows when to tick.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.catalog
            .defs_slice()
            .iter()
            .zip(&self.records)
            .flat_map(|(def, r)| [r.detector.due(def), r.shelve.as_ref().map(|s| s.until)])
            .flatten()
            .min()
    }

    /// Applies an operator action at `now`. Checks everything first, so an action either applies to every
    /// alarm it names or to none. Returns what [`AlarmMachine::undo`] needs to take it back.
    pub fn act(
        &mut self,
        action: &OperatorAction,
        now: Timestamp,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<Undo, AlarmError> {
        let user = action.user.trim();
        if user.is_empty() {
            return Err(AlarmError::MissingUser);
        }
        let comment = action
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let undo;
        match &action.command {
            AlarmCommand::Acknowledge(keys) => {
                let ids = self.resolve(keys)?;
                undo = self.save(&ids);
                self.acknowledge(&ids, user, comment, now, out);
            }
            AlarmCommand::AcknowledgeAllVisible => {
                let ids: Vec<AlarmId> = (0..self.records.len())
                    .filter(|&i| {
                        let r = &self.records[i];
                        r.state.is_unacked() && r.shelve.is_none() && r.out_of_service.is_none()
                    })
                    .map(|i| AlarmId(i as u32))
                    .collect();
                undo = self.save(&ids);
                self.acknowledge(&ids, user, comment, now, out);
            }
            AlarmCommand::Shelve { alarms, duration } => {
                let ids = self.resolve(alarms)?;
                for &id in &ids {
                    let key = || self.key(id);
                    if comment.is_none() {
                        return Err(AlarmError::ShelveWithoutReason(key()));
                    }
                    if duration.is_zero() {
                        return Err(AlarmError::ShelveWithoutDuration(key()));
                    }
                }
                // The configured maximum caps every shelve, so a forgotten shelve cannot hide an alarm for long.
                let lasts = (*duration).min(self.max_shelve);
                let until = now.add_millis(lasts.as_millis() as i64);
                undo = self.save(&ids);
                for id in ids {
                    let (def, record) = self.pair(id);
                    record.shelve = Some(Shelve {
                        since: now,
                        until,
                        by: user.to_string(),
                        reason: comment.unwrap_or_default().to_string(),
                    });
                    let mut e = event(def, record, Transition::Shelved, now, Some(user), comment);
                    e.entry.shelved_until = Some(until);
                    out.push(e);
                }
            }
            AlarmCommand::Unshelve(keys) => {
                let ids = self.resolve(keys)?;
                if let Some(&id) = ids
                    .iter()
                    .find(|id| self.records[id.0 as usize].shelve.is_none())
                {
                    return Err(AlarmError::NotShelved(self.key(id)));
                }
                undo = self.save(&ids);
                for id in ids {
                    let (def, record) = self.pair(id);
                    record.shelve = None;
                    out.push(event(
                        def,
                        record,
                        Transition::Unshelved,
                        now,
                        Some(user),
                        comment,
                    ));
                }
            }
            AlarmCommand::RemoveFromService(keys) => {
                let ids = self.resolve(keys)?;
                if let Some(&id) = ids
                    .iter()
                    .find(|id| self.records[id.0 as usize].out_of_service.is_some())
                {
                    return Err(AlarmError::AlreadyOutOfService(self.key(id)));
                }
                undo = self.save(&ids);
                for id in ids {
                    let (def, record) = self.pair(id);
                    record.out_of_service = Some(OutOfService {
                        since: now,
                        by: user.to_string(),
                        comment: comment.map(str::to_string),
                    });
                    out.push(event(
                        def,
                        record,
                        Transition::OutOfService,
                        now,
                        Some(user),
                        comment,
                    ));
                }
            }
            AlarmCommand::ReturnToService(keys) => {
                let ids = self.resolve(keys)?;
                if let Some(&id) = ids
                    .iter()
                    .find(|id| self.records[id.0 as usize].out_of_service.is_none())
                {
                    return Err(AlarmError::NotOutOfService(self.key(id)));
                }
                undo = self.save(&ids);
                for id in ids {
                    let (def, record) = self.pair(id);
                    record.out_of_service = None;
                    out.push(event(
                        def,
                        record,
                        Transition::InService,
                        now,
                        Some(user),
                        comment,
                    ));
                }
            }
        }
        Ok(undo)
    }

    /// Puts back the states an action changed (the action could not be journaled).
    pub fn undo(&mut self, undo: Undo) {
        for (id, record) in undo.0 {
            self.records[id.0 as usize] = record;
        }
    }

    fn save(&self, ids: &[AlarmId]) -> Undo {
        Undo(
            ids.iter()
                .map(|&id| (id, self.records[id.0 as usize].clone()))
                .collect(),
        )
    }

    fn acknowledge(
        &mut self,
        ids: &[AlarmId],
        user: &str,
        comment: Option<&str>,
        now: Timestamp,
        out: &mut Vec<AlarmEvent>,
    ) {
        for &id in ids {
            let (def, record) = self.pair(id);
            // Acknowledging an acknowledged or normal alarm is harmless (two operators, one click late).
            let next = match record.state {
                AlarmState::ActiveUnacked => AlarmState::ActiveAcked,
                AlarmState::ReturnedUnacked => AlarmState::Normal,
                AlarmState::ActiveAcked | AlarmState::Normal => continue,
            };
            record.state = next;
            record.acknowledged = Some(Acknowledgement {
                at: now,
                by: user.to_string(),
                comment: comment.map(str::to_string),
            });
            out.push(event(
                def,
                record,
                Transition::Acknowledged,
                now,
                Some(user),
                comment,
            ));
        }
    }

    fn resolve(&self, keys: &[String]) -> Result<Vec<AlarmId>, AlarmError> {
        keys.iter()
            .map(|k| {
                self.catalog
                    .find(k)
                    .ok_or_else(|| AlarmError::UnknownAlarm(k.clone()))
            })
            .collect()
    }

    fn key(&self, id: AlarmId) -> String {
        self.catalog.defs_slice()[id.0 as usize].key.clone()
    }

    fn pair(&mut self, id: AlarmId) -> (&AlarmDef, &mut Record) {
        let i = id.0 as usize;
        (&self.catalog.defs_slice()[i], &mut self.records[i])
    }

    /// The state of one alarm.
    pub fn status(&self, id: AlarmId) -> Option<AlarmStatus> {
        let def = self.catalog.get(id)?;
        Some(status_of(def, &self.records[id.0 as usize]))
    }

    /// Every alarm an operator needs to see, sorted and counted for the banner and the summary.
    pub fn snapshot(&self, now: Timestamp) -> AlarmSnapshot {
        let statuses = self
            .catalog
            .defs_slice()
            .iter()
            .zip(&self.records)
            .filter(|(_, r)| {
                r.state != AlarmState::Normal || r.shelve.is_some() || r.out_of_service.is_some()
            })
            .map(|(def, r)| status_of(def, r));
        AlarmSnapshot::build(now, statuses)
    }

    /// The priority of an alarm (for notifications).
    pub fn priority(&self, id: AlarmId) -> Option<Priority> {
        self.catalog.get(id).map(|d| d.priority)
    }

    /// Whether an event deserves to interrupt the operator (a desktop notification, the tone): a critical
    /// or high alarm became active and the operator has not hidden it (shelved or out of service). The
    /// one place this rule is decided; the desktop and the UI act on the verdict it gives.
    pub fn is_urgent(&self, event: &AlarmEvent) -> bool {
        event.entry.state == Transition::Active
            && matches!(event.entry.priority, Priority::Critical | Priority::High)
            && !self.is_hidden(event.alarm)
    }

    /// True when the operator has hidden the alarm (shelved or out of service).
    pub fn is_hidden(&self, id: AlarmId) -> bool {
        self.records
            .get(id.0 as usize)
            .is_some_and(|r| r.shelve.is_some() || r.out_of_service.is_some())
    }
}

fn apply_flip(def: &AlarmDef, record: &mut Record, flip: Flip, out: &mut Vec<AlarmEvent>) {
    record.transition_value = record.value;
    if flip.in_effect {
        record.state = AlarmState::ActiveUnacked;
        record.activated = Some(flip.at);
        record.cleared = None;
        record.acknowledged = None;
        out.push(event(def, record, Transition::Active, flip.at, None, None));
    } else {
        record.state = match record.state {
            AlarmState::ActiveUnacked => AlarmState::ReturnedUnacked,
            _ => AlarmState::Normal,
        };
        record.cleared = Some(flip.at);
        out.push(event(def, record, Transition::Cleared, flip.at, None, None));
    }
}

fn event(
    def: &AlarmDef,
    record: &Record,
    state: Transition,
    time: Timestamp,
    user: Option<&str>,
    comment: Option<&str>,
) -> AlarmEvent {
    let value = match def.source {
        AlarmSource::Tag(_) => record.value,
        AlarmSource::Device(_) | AlarmSource::System(_) => None,
    };
    AlarmEvent {
        alarm: def.id,
        key: def.key.clone(),
        entry: JournalEntry {
            time,
            tag: def.source_name.clone(),
            kind: def.kind,
            priority: def.priority,
            state,
            value,
            limit: def.limit(),
            message: def.message.clone(),
            user: user.map(str::to_string),
            comment: comment.map(str::to_string),
            shelved_until: None,
        },
    }
}

fn status_of(def: &AlarmDef, r: &Record) -> AlarmStatus {
    AlarmStatus {
        key: def.key.clone(),
        source: def.source_name.clone(),
        kind: def.kind,
        priority: def.priority,
        message: def.message.clone(),
        limit: def.limit(),
        state: r.state,
        value: r.transition_value,
        current_value: r.value,
        activated: r.activated,
        cleared: r.cleared,
        acknowledged: r.acknowledged.clone(),
        shelve: r.shelve.clone(),
        out_of_service: r.out_of_service.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use plantwatch_core::{testing, AlarmCondition, AlarmRule, LimitKind, Quality, ValueType};

    use super::*;

    /// One level tag with a high alarm, already tripped at t = 0.
    fn tripped() -> AlarmMachine {
        let level = testing::tag("level", ValueType::F32).with_alarms(vec![AlarmRule {
            condition: AlarmCondition::Limit {
                kind: LimitKind::Hi,
                limit: 3.2,
            },
            priority: Priority::High,
            deadband: 0.0,
            on_delay: Duration::ZERO,
            off_delay: Duration::ZERO,
            message: None,
            message_zh: None,
        }]);
        let plant = testing::plant("shelve", Path::new("plant.db"), vec![("plc", vec![level])]);
        let mut machine = AlarmMachine::new(&plant);
        let mut out = Vec::new();
        let tag = plant.find_tag("plc/level").expect("the tag exists");
        machine.sample(
            &Sample {
                tag,
                time: Timestamp(0),
                value: Some(Value::Number(3.5)),
                quality: Quality::Good,
            },
            &mut out,
        );
        assert_eq!(out.len(), 1, "the high alarm trips");
        machine
    }

    fn shelve(reason: Option<&str>) -> OperatorAction {
        OperatorAction {
            user: "anna".into(),
            comment: reason.map(str::to_string),
            command: AlarmCommand::Shelve {
                alarms: vec!["plc/level:hi".into()],
                duration: Duration::from_secs(600),
            },
        }
    }

    #[test]
    fn a_shelve_with_a_missing_or_blank_reason_is_refused_and_changes_nothing() {
        let mut machine = tripped();
        for reason in [None, Some(""), Some("  \t ")] {
            let mut out = Vec::new();
            let result = machine.act(&shelve(reason), Timestamp(1000), &mut out);
            assert!(
                matches!(&result, Err(AlarmError::ShelveWithoutReason(key)) if key == "plc/level:hi"),
                "reason {reason:?}: {result:?}"
            );
            assert!(out.is_empty(), "nothing journaled for reason {reason:?}");
            let id = machine.catalog().find("plc/level:hi").expect("alarm");
            assert!(
                !machine.is_hidden(id),
                "still visible for reason {reason:?}"
            );
        }
    }

    #[test]
    fn the_history_disk_alarm_is_raised_once_while_reported_and_clears_when_no_longer() {
        let mut machine = tripped();
        let key = SystemAlarm::HistoryDiskLow.key();
        assert_eq!(key, "plantwatch:history_disk_low");
        let id = machine
            .catalog()
            .find(&key)
            .expect("every plant has the system alarm");
        let entries = |machine: &mut AlarmMachine, reports: &[(bool, i64)]| {
            let mut out = Vec::new();
            for &(active, at) in reports {
                machine.system(SystemAlarm::HistoryDiskLow, active, Timestamp(at), &mut out);
            }
            out.into_iter()
                .map(|e| {
                    (
                        e.alarm,
                        e.entry.tag,
                        e.entry.kind.name(),
                        e.entry.priority,
                        e.entry.state,
                        e.entry.time.0,
                    )
                })
                .collect::<Vec<_>>()
        };
        let raised = entries(
            &mut machine,
            &[(false, 500), (true, 1000), (true, 1250), (true, 1500)],
        );
        assert_eq!(
            raised,
            [(
                id,
                "plantwatch".to_string(),
                "history_disk_low",
                Priority::High,
                Transition::Active,
                1000
            )],
            "raised at the first report, once"
        );
        let cleared = entries(&mut machine, &[(false, 2000), (false, 2250)]);
        assert_eq!(
            cleared,
            [(
                id,
                "plantwatch".to_string(),
                "history_disk_low",
                Priority::High,
                Transition::Cleared,
                2000
            )]
        );
    }

    /// A plant with one level tag and an alarm of each priority on it, at limits 1, 2, 3 and 4.
    fn every_priority() -> (AlarmMachine, plantwatch_core::TagIndex) {
        let rule = |limit: f64, priority: Priority| AlarmRule {
            condition: AlarmCondition::Limit {
                kind: if limit < 2.5 {
                    LimitKind::Lo
                } else {
                    LimitKind::Hi
                },
                limit,
            },
            priority,
            deadband: 0.0,
            on_delay: Duration::ZERO,
            off_delay: Duration::ZERO,
            message: None,
            message_zh: None,
        };
        let level = testing::tag("level", ValueType::F32).with_alarms(vec![
            rule(1.0, Priority::Low),
            rule(2.0, Priority::Medium),
            rule(3.0, Priority::High),
            rule(4.0, Priority::Critical),
        ]);
        let plant = testing::plant("urgent", Path::new("plant.db"), vec![("plc", vec![level])]);
        let tag = plant.find_tag("plc/level").expect("the tag exists");
        (AlarmMachine::new(&plant), tag)
    }

    fn reading(
        machine: &mut AlarmMachine,
        tag: plantwatch_core::TagIndex,
        v: f64,
        ms: i64,
    ) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        let sample = Sample {
            tag,
            time: Timestamp(ms),
            value: Some(Value::Number(v)),
            quality: Quality::Good,
        };
        machine.sample(&sample, &mut out);
        out
    }

    /// Each event's priority, transition and whether it is urgent.
    fn verdicts(
        machine: &AlarmMachine,
        events: &[AlarmEvent],
    ) -> Vec<(Priority, Transition, bool)> {
        events
            .iter()
            .map(|e| (e.entry.priority, e.entry.state, machine.is_urgent(e)))
            .collect()
    }

    #[test]
    fn only_a_critical_or_high_alarm_becoming_active_in_the_main_list_is_urgent() {
        let (mut machine, tag) = every_priority();
        let low_and_medium = reading(&mut machine, tag, 0.5, 0);
        assert_eq!(
            verdicts(&machine, &low_and_medium),
            [
                (Priority::Low, Transition::Active, false),
                (Priority::Medium, Transition::Active, false),
            ],
            "low and medium activations are not urgent"
        );
        let high_and_critical = reading(&mut machine, tag, 4.5, 1000);
        assert_eq!(
            verdicts(&machine, &high_and_critical),
            [
                (Priority::Low, Transition::Cleared, false),
                (Priority::Medium, Transition::Cleared, false),
                (Priority::High, Transition::Active, true),
                (Priority::Critical, Transition::Active, true),
            ],
            "clearings are not urgent, high and critical activations are"
        );

        // Acknowledging is not urgent; an alarm the operator hid is not urgent when it trips again.
        let mut acked = Vec::new();
        let ack = OperatorAction {
            user: "anna".into(),
            comment: None,
            command: AlarmCommand::AcknowledgeAllVisible,
        };
        machine.act(&ack, Timestamp(2000), &mut acked).expect("ack");
        assert!(acked.iter().all(|e| !machine.is_urgent(e)));
        let mut hidden = Vec::new();
        let shelve = OperatorAction {
            user: "anna".into(),
            comment: Some("transmitter being replaced".into()),
            command: AlarmCommand::Shelve {
                alarms: vec![high_and_critical[3].key.clone()],
                duration: Duration::from_secs(600),
            },
        };
        machine
            .act(&shelve, Timestamp(3000), &mut hidden)
            .expect("shelve");
        reading(&mut machine, tag, 2.5, 4000);
        let again = reading(&mut machine, tag, 4.5, 5000);
        assert_eq!(
            verdicts(&machine, &again),
            [
                (Priority::High, Transition::Active, true),
                (Priority::Critical, Transition::Active, false)
            ],
            "the shelved critical alarm trips without interrupting"
        );
    }

    #[test]
    fn a_shelve_keeps_its_reason_trimmed() {
        let mut machine = tripped();
        let mut out = Vec::new();
        machine
            .act(
                &shelve(Some("  float stuck, fitter called ")),
                Timestamp(1000),
                &mut out,
            )
            .expect("a reason was given");
        let id = machine.catalog().find("plc/level:hi").expect("alarm");
        let status = machine.status(id).expect("status");
        assert_eq!(
            status.shelve.map(|s| s.reason).as_deref(),
            Some("float stuck, fitter called")
        );
        assert_eq!(
            out[0].entry.comment.as_deref(),
            Some("float stuck, fitter called")
        );
    }
}
