//! The alarm service: runs the alarm state machine (`plantwatch-alarm`) on its own thread, fed by
//! engine events, and answers the operator's actions and queries.
//!
//! The poll loop only ever calls [`AlarmService::feed`], which queues the event and returns at once.
//! The service's thread evaluates, publishes a fresh [`AlarmSnapshot`] and the changes at once, then
//! writes them to the journal (its own connection; it shares the file with the history writer). The
//! operator sees an alarm whatever the disk does: when the journal cannot be written (database locked,
//! disk full) the changes wait in the manager's bounded backlog, in order and with their own times,
//! and the service retries with a growing pause (100 ms to 5 s) until the journal takes them. The
//! snapshot's `journal` says how far behind the journal is and why. An operator action is different:
//! it counts only once journaled, so [`AlarmService::act`] answers after the journal took it, or with
//! [`AlarmError::NotJournaled`] after taking it back. On stop the service keeps trying for a bounded
//! time ([`STOP_DRAIN`]); what is still unjournaled is logged and counted, never dropped silently.
//! It ticks about four times a second for delays and shelve expiry, and then also looks at the system
//! conditions it watches (the history disk, through the writer's [`DiskWatch`]: one atomic load), so
//! "history disk low" is raised and cleared within a tick of the writer seeing it.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plantwatch_alarm::{
    AlarmError, AlarmEvent, AlarmManager, AlarmSnapshot, Catalog, JournalBacklog, JournalEntry,
    OperatorAction, SystemAlarm,
};
use plantwatch_core::{Plant, Timestamp};
use plantwatch_history::DiskWatch;
use tokio::sync::broadcast;

use crate::event::EngineEvent;
use crate::status::DeviceState;

/// How often the service lets time pass when nothing else happens (on-/off-delays, shelve expiry).
const TICK: Duration = Duration::from_millis(250);

/// How many alarm changes a slow UI may fall behind before it sees `Lagged` (and should re-read the
/// snapshot).
const CHANGE_CAPACITY: usize = 1024;

/// The most messages handled in one burst, so a busy plant still gets its changes journaled and its
/// delays ticked between bursts.
const BURST: usize = 1024;

/// The first pause after the journal refused a write; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);

/// The longest pause between two tries of a refusing journal.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// How long a stopping service keeps trying to journal its backlog.
pub const STOP_DRAIN: Duration = Duration::from_secs(3);

/// One alarm change, for the UI, published as soon as the machine made it (the journal follows).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    /// The alarm's key (`"plc/level:hi"`, `"plc:comm"`); operator actions name alarms by it.
    pub key: String,
    /// The journal entry for the change (written, or waiting in the backlog).
    pub entry: JournalEntry,
    /// True when the operator should be told now (desktop notification, sound): the alarm machine's
    /// one rule, [`plantwatch_alarm::AlarmMachine::is_urgent`].
    pub notify: bool,
}

enum Message {
    Event(EngineEvent),
    Act(OperatorAction, SyncSender<Result<(), AlarmError>>),
    /// A system alarm's condition, reported by another part of Plantwatch ([`SystemAlarmSwitch`]).
    System(SystemAlarm, bool),
    Stop,
}

/// Raises and clears one of Plantwatch's system alarms from outside the engine (the report scheduler
/// says whether a scheduled report is failing). Cheap to clone; a service that has stopped ignores it.
#[derive(Debug, Clone)]
pub struct SystemAlarmSwitch {
    queue: Sender<Message>,
    alarm: SystemAlarm,
}

impl SystemAlarmSwitch {
    /// The alarm's condition now: active or not (the same condition again changes nothing).
    pub fn set(&self, active: bool) {
        let _ = self.queue.send(Message::System(self.alarm, active));
    }
}

/// What the service thread shares with the handle.
struct Shared {
    snapshot: RwLock<AlarmSnapshot>,
    changes: broadcast::Sender<AlarmChange>,
}

/// The running alarm service. `Send + Sync`: the engine shares it between its polling tasks.
pub struct AlarmService {
    queue: Sender<Message>,
    shared: Arc<Shared>,
    catalog: Arc<Catalog>,
    db: PathBuf,
    thread: Option<JoinHandle<JournalBacklog>>,
}

impl AlarmService {
    /// Opens the alarm journal in the plant's database `db` (creating its tables if needed), restores the
    /// alarm states saved there, and starts the service thread.
    pub fn spawn(plant: Arc<Plant>, db: &Path) -> Result<AlarmService, AlarmError> {
        AlarmService::start(AlarmManager::open(&plant, db)?, db)
    }

    /// [`AlarmService::spawn`], raising and clearing the system alarm "history disk low" as `disk` says.
    pub fn spawn_watching(
        plant: Arc<Plant>,
        db: &Path,
        disk: DiskWatch,
    ) -> Result<AlarmService, AlarmError> {
        AlarmService::start_with(AlarmManager::open(&plant, db)?, db, Some(disk))
    }

    /// Starts the service thread on an opened manager (tests give one with a small backlog).
    pub fn start(manager: AlarmManager, db: &Path) -> Result<AlarmService, AlarmError> {
        AlarmService::start_with(manager, db, None)
    }

    fn start_with(
        manager: AlarmManager,
        db: &Path,
        disk: Option<DiskWatch>,
    ) -> Result<AlarmService, AlarmError> {
        let catalog = Arc::new(manager.machine().catalog().clone());
        let (changes, _) = broadcast::channel(CHANGE_CAPACITY);
        let shared = Arc::new(Shared {
            snapshot: RwLock::new(manager.snapshot(Timestamp::now())),
            changes,
        });
        let (queue, inbox) = mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("alarm-service".into())
            .spawn(move || run(manager, inbox, &thread_shared, disk))
            .map_err(AlarmError::Spawn)?;
        Ok(AlarmService {
            queue,
            shared,
            catalog,
            db: db.to_path_buf(),
            thread: Some(thread),
        })
    }

    /// A switch for the system alarm `alarm`, whose condition a part of Plantwatch outside the engine
    /// knows.
    pub fn system_switch(&self, alarm: SystemAlarm) -> SystemAlarmSwitch {
        SystemAlarmSwitch {
            queue: self.queue.clone(),
            alarm,
        }
    }

    /// Hands an engine event to the service. Never blocks (the queue is unbounded; the service keeps up
    /// easily, as it only evaluates changed samples).
    pub fn feed(&self, event: &EngineEvent) {
        // A stopped service has nothing to evaluate; dropping the event is right.
        let _ = self.queue.send(Message::Event(event.clone()));
    }

    /// Every alarm the operator needs to see: the main list, shelved and out-of-service alarms apart,
    /// counts by priority, the newest unacknowledged alarm, and the journal's backlog.
    pub fn snapshot(&self) -> AlarmSnapshot {
        match self.shared.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Applies an operator action (acknowledge, shelve, unshelve, out of service, return to service) and
    /// waits until it is journaled and the snapshot shows it (milliseconds; at most about
    /// [`plantwatch_alarm::ACT_PATIENCE`] while the database is locked). Operator mistakes (unknown
    /// alarm, missing user or reason) come back as errors and change nothing; so does a journal that
    /// cannot take the action ([`AlarmError::NotJournaled`]: the action is taken back, try again).
    pub fn act(&self, action: OperatorAction) -> Result<(), AlarmError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue
            .send(Message::Act(action, reply))
            .map_err(|_| AlarmError::ServiceStopped)?;
        answer.recv().map_err(|_| AlarmError::ServiceStopped)?
    }

    /// Alarm changes as they happen, for the UI (refresh the summary, notify on `notify`).
    pub fn subscribe(&self) -> broadcast::Receiver<AlarmChange> {
        self.shared.changes.subscribe()
    }

    /// The plant's alarms (keys, kinds, limits, priorities), e.g. to draw limits on trends.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The database holding the journal (open it with `plantwatch_alarm::JournalReader` to browse it).
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// Stops the thread after it has handled every event queued before this call and tried for up to
    /// [`STOP_DRAIN`] to journal its backlog. What could not be journaled is logged as an error.
    pub fn stop(self) {
        self.close();
    }

    /// [`AlarmService::stop`], returning what the journal still lacked at the end (none pending when
    /// everything was journaled).
    pub fn close(mut self) -> JournalBacklog {
        self.shut_down()
    }

    fn shut_down(&mut self) -> JournalBacklog {
        let _ = self.queue.send(Message::Stop);
        let Some(thread) = self.thread.take() else {
            return JournalBacklog::default();
        };
        match thread.join() {
            Ok(left) => {
                if !left.is_clear() {
                    tracing::error!(
                        pending = left.pending,
                        dropped = left.dropped,
                        last_error = left.last_error.as_deref().unwrap_or(""),
                        "alarm changes were shown but never journaled"
                    );
                }
                left
            }
            Err(_) => {
                tracing::error!("the alarm service thread panicked");
                JournalBacklog::default()
            }
        }
    }
}

impl Drop for AlarmService {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// When the service next tries the journal: at once while it takes writes, after a doubling pause
/// while it refuses.
struct Retry {
    pause: Duration,
    next: Instant,
}

impl Retry {
    fn new() -> Retry {
        Retry {
            pause: Duration::ZERO,
            next: Instant::now(),
        }
    }

    fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    fn succeeded(&mut self) {
        self.pause = Duration::ZERO;
    }

    fn failed(&mut self, now: Instant) {
        self.pause = (self.pause * 2).clamp(RETRY_FIRST, RETRY_MAX);
        self.next = now + self.pause;
    }
}

/// The service thread: evaluate, publish, journal; tick when idle. Returns the backlog left at stop.
fn run(
    mut manager: AlarmManager,
    inbox: Receiver<Message>,
    shared: &Shared,
    disk: Option<DiskWatch>,
) -> JournalBacklog {
    let mut next_tick = Instant::now() + TICK;
    let mut retry = Retry::new();
    loop {
        let mut wake = next_tick;
        if manager.backlog().pending > 0 {
            wake = wake.min(retry.next);
        }
        let wait = wake.saturating_duration_since(Instant::now());
        let first = match inbox.recv_timeout(wait) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut events = Vec::new();
        let mut stop = false;
        // Handle a burst in one go, so the snapshot is published once per burst.
        let mut message = first;
        let mut handled = 0;
        while let Some(m) = message.take() {
            handled += 1;
            match m {
                Message::Event(EngineEvent::Samples(samples)) => {
                    events.extend(manager.samples(&samples));
                }
                Message::Event(EngineEvent::DeviceState { device, state, at }) => {
                    events.extend(manager.device(device, state == DeviceState::Offline, at));
                }
                Message::Act(action, reply) => {
                    // The changes before the action reach the operator first, then the action, which
                    // journals everything before it (the journal keeps their order).
                    publish(&manager, shared, std::mem::take(&mut events));
                    let answer = match manager.act(&action, Timestamp::now()) {
                        Ok(done) => {
                            retry.succeeded();
                            events.extend(done);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    };
                    // The operator's action must show in the snapshot before the caller returns.
                    publish(&manager, shared, std::mem::take(&mut events));
                    let _ = reply.send(answer);
                }
                Message::System(alarm, active) => {
                    events.extend(manager.system(alarm, active, Timestamp::now()));
                }
                Message::Stop => {
                    stop = true;
                    break;
                }
            }
            if handled < BURST {
                message = inbox.try_recv().ok();
            }
        }
        if Instant::now() >= next_tick {
            let now = Timestamp::now();
            events.extend(manager.tick(now));
            if let Some(disk) = &disk {
                events.extend(manager.system(SystemAlarm::HistoryDiskLow, disk.low(), now));
            }
            next_tick = Instant::now() + TICK;
        }
        if !events.is_empty() {
            publish(&manager, shared, events);
        }
        if stop {
            break;
        }
        if manager.backlog().pending > 0 && retry.due(Instant::now()) {
            journal(&mut manager, &mut retry);
            show_backlog(&manager, shared);
        }
    }
    drain(&mut manager, &mut retry, shared)
}

/// One try to journal the backlog.
fn journal(manager: &mut AlarmManager, retry: &mut Retry) {
    let was_failing = manager.backlog().last_error.is_some();
    match manager.flush(Timestamp::now()) {
        Ok(written) => {
            if was_failing {
                tracing::info!(written, "alarm journal caught up");
            }
            retry.succeeded();
        }
        Err(e) => {
            // A lock held for a moment by the history writer is routine; a journal refusing writes
            // for several seconds is worth a warning, once.
            let was_patient = retry.pause < RETRY_MAX;
            retry.failed(Instant::now());
            if was_patient && retry.pause == RETRY_MAX {
                tracing::warn!(
                    pending = manager.backlog().pending,
                    "alarm journal refuses writes, retrying every {RETRY_MAX:?}: {e}"
                );
            } else {
                tracing::debug!("alarm journal refused a write, retrying: {e}");
            }
        }
    }
}

/// At stop: keeps trying the journal for [`STOP_DRAIN`]; returns what is left.
fn drain(manager: &mut AlarmManager, retry: &mut Retry, shared: &Shared) -> JournalBacklog {
    let deadline = Instant::now() + STOP_DRAIN;
    while manager.backlog().pending > 0 && Instant::now() < deadline {
        let now = Instant::now();
        if retry.due(now) {
            journal(manager, retry);
        } else {
            std::thread::sleep(retry.next.min(deadline).saturating_duration_since(now));
        }
    }
    show_backlog(manager, shared);
    manager.backlog()
}

/// Puts the journal's backlog in the published snapshot (the alarms in it did not change).
fn show_backlog(manager: &AlarmManager, shared: &Shared) {
    let backlog = manager.backlog();
    match shared.snapshot.write() {
        Ok(mut s) => s.journal = backlog,
        Err(poisoned) => poisoned.into_inner().journal = backlog,
    }
}

fn publish(manager: &AlarmManager, shared: &Shared, events: Vec<AlarmEvent>) {
    let snapshot = manager.snapshot(Timestamp::now());
    match shared.snapshot.write() {
        Ok(mut s) => *s = snapshot,
        Err(poisoned) => *poisoned.into_inner() = snapshot,
    }
    for event in events {
        let notify = manager.machine().is_urgent(&event);
        // No receiver is fine: no UI is open.
        let _ = shared.changes.send(AlarmChange {
            key: event.key,
            entry: event.entry,
            notify,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use plantwatch_alarm::{AlarmCommand, AlarmState, Transition};
    use plantwatch_core::{Quality, Sample, Value};

    use super::*;

    const PLANT: &str = r#"
[plant]
name = "service test"
[history]
path = "plant.db"
[[devices]]
id = "plc"
transport = "tcp"
host = "127.0.0.1"
port = 5020
unit = 1
[[devices.tags]]
id = "level"
table = "input"
address = 0
type = "u16"
alarms = [
  { kind = "hihi", limit = 3.6, priority = "critical" },
  { kind = "hi", limit = 3.2, priority = "high", on_delay_s = 1 },
]
"#;

    fn plant(dir: &Path) -> Arc<Plant> {
        let path = dir.join("plant.toml");
        Arc::new(plantwatch_config::parse(PLANT, &path).expect("the test plant is valid"))
    }

    fn level(plant: &Plant, value: f64, time: Timestamp) -> EngineEvent {
        let tag = plant.find_tag("plc/level").expect("tag");
        EngineEvent::Samples(Arc::from(vec![Sample {
            tag,
            time,
            value: Some(Value::Number(value)),
            quality: Quality::Good,
        }]))
    }

    /// Waits (bounded) for the next change on a subscription.
    fn next_change(rx: &mut broadcast::Receiver<AlarmChange>) -> AlarmChange {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match rx.try_recv() {
                Ok(change) => return change,
                Err(broadcast::error::TryRecvError::Empty) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("no alarm change within 5 s: {e:?}"),
            }
        }
    }

    #[test]
    fn feeds_ticks_acts_notifies_and_restores_after_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("plant.db");
        let plant = plant(dir.path());

        let service = AlarmService::spawn(plant.clone(), &db).expect("spawn");
        let mut changes = service.subscribe();
        service.feed(&level(&plant, 3.7, Timestamp::now()));

        // HIHI trips at once and asks for a notification; HI waits for its one-second on-delay, which
        // only the service's own ticking can end.
        let first = next_change(&mut changes);
        assert_eq!(
            (first.key.as_str(), first.entry.state, first.notify),
            ("plc/level:hihi", Transition::Active, true)
        );
        let second = next_change(&mut changes);
        assert_eq!(
            (second.key.as_str(), second.entry.state),
            ("plc/level:hi", Transition::Active)
        );

        let snap = service.snapshot();
        assert_eq!(snap.unacked.critical, 1);
        assert_eq!(snap.unacked.high, 1);
        assert_eq!(snap.alarms[0].key, "plc/level:hihi", "critical first");

        let ack = OperatorAction {
            user: "anna".into(),
            comment: Some("crew on the way".into()),
            command: AlarmCommand::Acknowledge(vec!["plc/level:hihi".into()]),
        };
        service.act(ack).expect("acknowledge");
        // The action shows in the snapshot as soon as act returns.
        assert_eq!(service.snapshot().alarms[0].state, AlarmState::ActiveAcked);
        let acked = next_change(&mut changes);
        assert_eq!(acked.entry.user.as_deref(), Some("anna"));

        let mistake = OperatorAction {
            user: "".into(),
            comment: None,
            command: AlarmCommand::AcknowledgeAllVisible,
        };
        assert!(matches!(service.act(mistake), Err(AlarmError::MissingUser)));
        service.stop();

        // A new service on the same database takes the states back.
        let again = AlarmService::spawn(plant, &db).expect("respawn");
        let snap = again.snapshot();
        let states: Vec<(&str, AlarmState)> = snap
            .alarms
            .iter()
            .map(|s| (s.key.as_str(), s.state))
            .collect();
        assert_eq!(
            states,
            [
                ("plc/level:hihi", AlarmState::ActiveAcked),
                ("plc/level:hi", AlarmState::ActiveUnacked)
            ]
        );
        again.stop();
    }
}
