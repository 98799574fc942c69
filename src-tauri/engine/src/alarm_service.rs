//! The alarm service: runs the alarm state machine (`plantwatch-alarm`) on its own thread, fed by
//! engine events, and answers the operator's actions and queries.
//!
//! The poll loop only ever calls [`AlarmService::feed`], which queues the event and returns at once.
//! The service's thread evaluates, journals every transition to the plant's database (its own
//! connection; SQLite's busy timeout lets it share the file with the history writer), ticks about four
//! times a second for delays and shelve expiry, and publishes a fresh [`AlarmSnapshot`] after every change.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plantwatch_alarm::{
    AlarmError, AlarmEvent, AlarmManager, AlarmSnapshot, Catalog, JournalEntry, OperatorAction,
    Transition,
};
use plantwatch_core::{Plant, Priority, Timestamp};
use tokio::sync::broadcast;

use crate::event::EngineEvent;
use crate::status::DeviceState;

/// How often the service lets time pass when nothing else happens (on-/off-delays, shelve expiry).
const TICK: Duration = Duration::from_millis(250);

/// How many alarm changes a slow UI may fall behind before it sees `Lagged` (and should re-read the
/// snapshot).
const CHANGE_CAPACITY: usize = 1024;

/// One journaled change, for the UI.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    /// The alarm's key (`"plc/level:hi"`, `"plc:comm"`); operator actions name alarms by it.
    pub key: String,
    /// The journal entry written for the change.
    pub entry: JournalEntry,
    /// True when the operator should be told now (desktop notification, sound): a critical or high
    /// alarm became active and is neither shelved nor out of service.
    pub notify: bool,
}

enum Message {
    Event(EngineEvent),
    Act(OperatorAction, SyncSender<Result<(), AlarmError>>),
    Stop,
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
    thread: Option<JoinHandle<()>>,
}

impl AlarmService {
    /// Opens the alarm journal in the plant's database `db` (creating its tables if needed), restores the
    /// alarm states saved there, and starts the service thread.
    pub fn spawn(plant: Arc<Plant>, db: &Path) -> Result<AlarmService, AlarmError> {
        let manager = AlarmManager::open(&plant, db)?;
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
            .spawn(move || run(manager, inbox, &thread_shared))
            .map_err(AlarmError::Spawn)?;
        Ok(AlarmService {
            queue,
            shared,
            catalog,
            db: db.to_path_buf(),
            thread: Some(thread),
        })
    }

    /// Hands an engine event to the service. Never blocks (the queue is unbounded; the service keeps up
    /// easily, as it only evaluates changed samples).
    pub fn feed(&self, event: &EngineEvent) {
        // A stopped service has nothing to evaluate; dropping the event is right.
        let _ = self.queue.send(Message::Event(event.clone()));
    }

    /// Every alarm the operator needs to see: the main list, shelved and out-of-service alarms apart,
    /// counts by priority and the newest unacknowledged alarm.
    pub fn snapshot(&self) -> AlarmSnapshot {
        match self.shared.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Applies an operator action (acknowledge, shelve, unshelve, out of service, return to service) and
    /// waits until it is journaled and the snapshot shows it (milliseconds). Operator mistakes (unknown
    /// alarm, missing user or reason) come back as errors and change nothing.
    pub fn act(&self, action: OperatorAction) -> Result<(), AlarmError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue
            .send(Message::Act(action, reply))
            .map_err(|_| AlarmError::ServiceStopped)?;
        answer.recv().map_err(|_| AlarmError::ServiceStopped)?
    }

    /// Journaled changes as they happen, for the UI (refresh the summary, notify on `notify`).
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

    /// Stops the thread after it has handled every event queued before this call.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.queue.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the alarm service thread panicked");
            }
        }
    }
}

impl Drop for AlarmService {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The service thread: evaluate, journal, publish; tick when idle.
fn run(mut manager: AlarmManager, inbox: Receiver<Message>, shared: &Shared) {
    let mut next_tick = Instant::now() + TICK;
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        let first = match inbox.recv_timeout(wait) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut events = Vec::new();
        let mut stop = false;
        // Handle a burst in one go, so the snapshot is published once per burst.
        let mut message = first;
        while let Some(m) = message.take() {
            match m {
                Message::Event(EngineEvent::Samples(samples)) => {
                    keep(&mut events, manager.samples(&samples));
                }
                Message::Event(EngineEvent::DeviceState { device, state, at }) => {
                    keep(
                        &mut events,
                        manager.device(device, state == DeviceState::Offline, at),
                    );
                }
                Message::Act(action, reply) => {
                    let result = manager.act(&action, Timestamp::now());
                    let answer = match result {
                        Ok(done) => {
                            events.extend(done);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    };
                    // The operator's action must show in the snapshot before the caller returns.
                    publish(&manager, shared, std::mem::take(&mut events));
                    let _ = reply.send(answer);
                }
                Message::Stop => {
                    stop = true;
                    break;
                }
            }
            message = inbox.try_recv().ok();
        }
        if Instant::now() >= next_tick {
            keep(&mut events, manager.tick(Timestamp::now()));
            next_tick = Instant::now() + TICK;
        }
        if !events.is_empty() {
            publish(&manager, shared, events);
        }
        if stop {
            break;
        }
    }
}

/// Keeps the events of a step; a journal failure is logged and the service goes on (the states in
/// memory stay right, and the next write may succeed).
fn keep(events: &mut Vec<AlarmEvent>, result: Result<Vec<AlarmEvent>, AlarmError>) {
    match result {
        Ok(done) => events.extend(done),
        Err(e) => tracing::error!("alarm journal: {e}"),
    }
}

fn publish(manager: &AlarmManager, shared: &Shared, events: Vec<AlarmEvent>) {
    let snapshot = manager.snapshot(Timestamp::now());
    match shared.snapshot.write() {
        Ok(mut s) => *s = snapshot,
        Err(poisoned) => *poisoned.into_inner() = snapshot,
    }
    for event in events {
        let machine = manager.machine();
        let notify = event.entry.state == Transition::Active
            && matches!(event.entry.priority, Priority::Critical | Priority::High)
            && !machine.is_hidden(event.alarm);
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

    use plantwatch_alarm::{AlarmCommand, AlarmState};
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
