//! The engine: polls every device of a plant, feeds history and alarms, and offers one handle
//! ([`Engine`]) to the headless CLI and the desktop shell.
//!
//! Invariants: the engine never imports Tauri and knows nothing of JSON for the UI or of the terminal;
//! history writes happen on the history writer's thread, never in a poll task; one request is in flight
//! per link.

pub mod alarm_service;
pub mod audit;
pub mod event;
pub mod poll;
pub mod status;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use plantwatch_core::{Plant, TagIndex, Value};
use plantwatch_history::{HistoryError, HistoryWriter};
use plantwatch_modbus::TrafficMonitor;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use event::EngineEvent;
pub use status::{DeviceCounters, DeviceState, DeviceStatus, TagLive};
pub use write::{write_once, Actor, WriteAudit, WriteOutcome, WriteReport};

use alarm_service::AlarmService;
use poll::device::DevicePoll;
use poll::link_task::{LinkSender, LinkTask, WriteRequest};
use poll::runtime::PollThreads;
use poll::tags::TagTable;
use poll::{lock, DeviceShared, Outputs};

/// How the engine runs beyond what the plant says.
#[derive(Clone)]
pub struct EngineOptions {
    /// The history file; overrides `plant.history` when set.
    pub history: Option<PathBuf>,
    /// Run the alarm service (evaluate rules, keep the journal).
    pub alarms: bool,
    /// Where every write attempt is recorded ([`Engine::write_tag`]); none: the audit trail in the
    /// plant's history file (there is no way to write unaudited).
    pub audit: Option<Arc<dyn WriteAudit>>,
    /// The traffic monitor every link attaches to; none: one of the engine's own. A window brings its
    /// own so that the capture (and whether it is on) outlives a reload of the plant.
    pub traffic: Option<TrafficMonitor>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            history: None,
            alarms: true,
            audit: None,
            traffic: None,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("history", &self.history)
            .field("alarms", &self.alarms)
            .field("audit", &self.audit.is_some())
            .field("traffic", &self.traffic)
            .finish()
    }
}

/// Totals for a status line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Samples the history writer committed so far.
    pub samples_stored: u64,
    /// Samples handed to the writer and not committed yet.
    pub samples_pending: u64,
    /// Samples the history writer could not store (its queue overflowed while the file refused commits,
    /// or a stop ran out of time): lost, so `collect` exits 1.
    pub samples_dropped: u64,
    /// Failed history commits (each retried).
    pub history_errors: u64,
    /// The last history error, as text.
    pub history_last_error: Option<String>,
    /// The history file refuses commits right now (samples wait, and drop once the queue is full).
    pub history_failing: bool,
    /// The history's filesystem is below `[history] min_free` (the system alarm "history disk low").
    pub history_disk_low: bool,
    /// Free bytes on the history's filesystem at the writer's last look.
    pub history_disk_free: Option<u64>,
    /// Raw samples the disk guard dropped, oldest first, because free space fell below half of
    /// `min_free` (their summaries stay); not counted in `samples_dropped`, which counts samples never
    /// stored.
    pub samples_shed: u64,
    /// Raw samples up to this time were dropped for disk space.
    pub shed_until: Option<plantwatch_core::Timestamp>,
    /// Devices whose last cycle read (online or degraded).
    pub devices_online: usize,
    pub devices_total: usize,
    /// Timeouts, link failures and exception responses, summed over devices.
    pub errors: u64,
    /// Poll deadlines devices could not keep, summed over devices.
    pub missed_cycles: u64,
    /// Alarm changes shown to the operator but not in the journal yet (it refuses writes: a locked or
    /// full disk), plus any the journal's backlog had to give up. At stop: what never reached it.
    pub alarm_changes_unjournaled: u64,
    /// Why the alarm journal refuses writes, while it does.
    pub alarm_journal_error: Option<String>,
}

/// Why an operator's alarm action was not done, or not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlarmActionError {
    /// The alarm service refused it (unknown alarm, missing reason, not journaled, ...).
    #[error("{0}")]
    Refused(String),
    #[error("this engine runs without the alarm service")]
    NoService,
    #[error("the action was done, but the audit trail could not record it: {0}")]
    NotAudited(String),
}

/// What can go wrong starting, stopping or commanding the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot open the history {path}: {source}")]
    History { path: PathBuf, source: HistoryError },
    #[error("history: {0}")]
    HistoryClose(HistoryError),
    #[error("cannot open the audit trail: {0}")]
    Audit(String),
    #[error("cannot start the alarm service: {0}")]
    Alarms(String),
    #[error("no tag with index {0}")]
    NoSuchTag(u32),
    #[error("the engine is stopping")]
    Stopped,
    #[error("cannot start the polling threads: {0}")]
    PollThread(std::io::Error),
}

struct LinkHandle {
    writes: mpsc::Sender<WriteRequest>,
    task: JoinHandle<()>,
}

/// The running engine: polling tasks, the history writer and the alarm service.
pub struct Engine {
    plant: Arc<Plant>,
    history_path: PathBuf,
    outputs: Arc<Outputs>,
    writer: HistoryWriter,
    alarms: Option<Arc<AlarmService>>,
    links: Vec<LinkHandle>,
    /// Hands admitted samples to the history writer in batches.
    hand_off: JoinHandle<()>,
    /// The threads the link tasks run on (see [`poll::runtime`]).
    poll_threads: PollThreads,
    /// Device index -> index into `links`.
    device_link: Vec<usize>,
    /// Where write attempts are recorded.
    audit: Arc<dyn WriteAudit>,
    /// The plant's audit trail, where alarm actions go.
    trail: Arc<plantwatch_access::AuditTrail>,
    stop: watch::Sender<bool>,
    /// Records the frames of every link (off until the desktop switches it on).
    traffic: TrafficMonitor,
}

/// Devices start polling at this many phases of their period. Not all at once, so a thousand devices
/// polled every second do not all ask in the same instant; not each at its own phase either, because
/// devices polled together let one wake-up of a polling thread serve many replies (with a phase per
/// device, every reply costs a sleep and a wake-up of its own, the larger part of the poll side's CPU).
const START_PHASES: u32 = 8;

/// How many events a slow listener may fall behind before it sees `Lagged`.
const EVENT_CAPACITY: usize = 4096;

/// How many batches of stored samples a slow listener may fall behind before it sees `Lagged`: batches
/// go every 50 ms, so about 50 seconds.
const STORED_CAPACITY: usize = 1024;

impl Engine {
    /// Opens the history (creating or migrating it), starts the alarm service when asked, and starts
    /// one polling task per link, on the engine's own polling thread. Must be called inside a Tokio
    /// runtime (any flavour).
    pub async fn start(plant: Arc<Plant>, options: EngineOptions) -> Result<Engine, EngineError> {
        let history_path = options
            .history
            .clone()
            .unwrap_or_else(|| plant.history.clone());
        let writer =
            HistoryWriter::open(&history_path, &plant).map_err(|source| EngineError::History {
                path: history_path.clone(),
                source,
            })?;

        // The one place the engine starts the alarm service; it shares the plant's history file.
        // Every write and alarm action is audited: in the plant's own trail (writes in the caller's,
        // when it brings one).
        let trail = Arc::new(
            plantwatch_access::AuditTrail::open(&history_path)
                .map_err(|e| EngineError::Audit(e.to_string()))?,
        );
        let audit: Arc<dyn WriteAudit> = match options.audit {
            Some(audit) => audit,
            None => trail.clone(),
        };
        let alarms = if options.alarms {
            let service =
                AlarmService::spawn_watching(plant.clone(), &history_path, writer.disk_watch())
                    .map_err(|e| EngineError::Alarms(e.to_string()))?;
            Some(Arc::new(service))
        } else {
            None
        };
        let alarm_feed = alarms.clone().map(|service| -> poll::AlarmFeed {
            Box::new(move |event: &EngineEvent| service.feed(event))
        });

        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let devices: Vec<Arc<Mutex<DeviceShared>>> = plant
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Arc::new(Mutex::new(DeviceShared {
                    status: DeviceStatus {
                        device: i,
                        state: DeviceState::Connecting,
                        counters: DeviceCounters::default(),
                        last_poll: None,
                        last_errors: Vec::new(),
                    },
                    tags: TagTable::for_device(d),
                }))
            })
            .collect();
        let (stored, _) = broadcast::channel(STORED_CAPACITY);
        let outputs = Arc::new(Outputs {
            events,
            sink: Some(writer.sink()),
            stored,
            history: Mutex::new(Vec::new()),
            alarms: alarm_feed,
            devices: devices.clone(),
        });

        let groups = poll::group_devices(&plant);
        let mut poll_threads = PollThreads::start(groups.len()).map_err(EngineError::PollThread)?;
        let (stop, stop_rx) = watch::channel(false);
        let start = Instant::now();
        let mut links = Vec::new();
        let mut device_link = vec![0; plant.devices.len()];
        let traffic = options.traffic.clone().unwrap_or_default();
        for (link, members) in groups {
            for &d in &members {
                device_link[d] = links.len();
            }
            // Devices start in a few groups spread over their period (see START_PHASES).
            let polls = members
                .iter()
                .map(|&d| {
                    let group = d as u32 % START_PHASES;
                    let phase = plant.devices[d].poll_period / START_PHASES * group;
                    DevicePoll::new(plant.clone(), d, start + phase, devices[d].clone())
                })
                .collect();
            let (writes_tx, writes_rx) = mpsc::channel(16);
            let task = LinkTask::new(
                link,
                polls,
                outputs.clone(),
                writes_rx,
                stop_rx.clone(),
                traffic.clone(),
            );
            links.push(LinkHandle {
                writes: writes_tx,
                task: poll_threads.spawn(task.run()),
            });
        }
        let hand_off = poll_threads.spawn(poll::hand_off_history(outputs.clone(), stop_rx));

        Ok(Engine {
            plant,
            history_path,
            outputs,
            writer,
            alarms,
            links,
            hand_off,
            poll_threads,
            device_link,
            audit,
            trail,
            stop,
            traffic,
        })
    }

    /// The plant being polled.
    pub fn plant(&self) -> &Arc<Plant> {
        &self.plant
    }

    /// Live events: changed samples and device state changes. A listener that falls more than a few
    /// thousand events behind gets `RecvError::Lagged` and should re-read [`Engine::live`].
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.outputs.events.subscribe()
    }

    /// The samples the history stores, in the batches handed to its writer (deadband and heartbeat already
    /// applied), from now on. Batches are copied only while someone listens. A listener more than
    /// [`STORED_CAPACITY`] batches (about 50 s) behind gets `RecvError::Lagged`: those batches are lost
    /// to it, and it must read that span back from the history (the northbound replays it).
    pub fn subscribe_stored(&self) -> broadcast::Receiver<Arc<[plantwatch_core::Sample]>> {
        self.outputs.stored.subscribe()
    }

    /// The latest reading of every tag, indexed by `TagIndex`.
    pub fn live(&self) -> Vec<TagLive> {
        let mut all = Vec::with_capacity(self.plant.tag_count());
        for slot in &self.outputs.devices {
            let shared = lock(slot);
            all.extend((0..shared.tags.len() as u32).map(|pos| shared.tags.live(pos)));
        }
        all
    }

    /// The state and counters of every device, in config order.
    pub fn devices(&self) -> Vec<DeviceStatus> {
        self.outputs
            .devices
            .iter()
            .map(|slot| lock(slot).status.clone())
            .collect()
    }

    /// Totals for a status line.
    pub fn stats(&self) -> EngineStats {
        let writer = self.writer.stats();
        let mut stats = EngineStats {
            samples_stored: writer.stored,
            samples_pending: writer.pending,
            samples_dropped: writer.dropped,
            history_errors: writer.errors,
            history_last_error: writer.last_error,
            history_failing: writer.failing,
            history_disk_low: writer.disk_low,
            history_disk_free: writer.disk_free,
            samples_shed: writer.shed_samples,
            shed_until: writer.shed_until.map(plantwatch_core::Timestamp),
            devices_total: self.plant.devices.len(),
            ..EngineStats::default()
        };
        for status in self.devices() {
            if matches!(status.state, DeviceState::Online | DeviceState::Degraded) {
                stats.devices_online += 1;
            }
            let c = &status.counters;
            stats.errors += c.timeouts + c.link_errors + c.exceptions.values().sum::<u64>();
            stats.missed_cycles += c.missed_cycles;
        }
        if let Some(alarms) = self.alarms() {
            let journal = alarms.snapshot().journal;
            stats.alarm_changes_unjournaled = journal.pending as u64 + journal.dropped;
            stats.alarm_journal_error = journal.last_error;
        }
        stats
    }

    /// The traffic monitor every link of this engine is attached to, off until switched on: turn it on,
    /// poll its frames and turn it off while the plant runs (see `plantwatch_modbus::traffic`).
    pub fn traffic(&self) -> &TrafficMonitor {
        &self.traffic
    }

    /// The history file this engine writes.
    pub fn history_path(&self) -> &Path {
        &self.history_path
    }

    /// The alarm service, when the engine runs one.
    pub fn alarms(&self) -> Option<&AlarmService> {
        self.alarms.as_deref()
    }

    /// Writes `requested` to a tag on behalf of `actor`: checks it (writable, role, kind, range,
    /// type), sends it through the tag's link task ahead of queued polls with the link's one request in
    /// flight, reads the tag back and compares, records the attempt through the audit hook (every
    /// attempt, refused ones too) and returns the report. Never waits without bound: a link busy past
    /// [`poll::link_task::WRITE_QUEUE_WAIT`] reports `failed` without sending.
    pub async fn write_tag(
        &self,
        tag: TagIndex,
        requested: Value,
        actor: &Actor,
        comment: Option<&str>,
    ) -> WriteReport {
        let audit = Some(self.audit.as_ref());
        let Some((device, t)) = self.plant.tag(tag) else {
            return write::no_such_tag(tag, requested, actor, comment, audit);
        };
        let full_id = format!("{}/{}", device.id, t.id());
        let device_index = self
            .plant
            .devices
            .iter()
            .position(|d| std::ptr::eq(d, device))
            .unwrap_or_default();
        let position = tag.0 - self.plant.first_tag_of(device_index).0;
        let writes = &self.links[self.device_link[device_index]].writes;
        let open = || async {
            Ok(LinkSender {
                writes: writes.clone(),
                device: device_index,
                tag: position,
                timeout: device.timeout,
            })
        };
        write::perform(t, full_id, requested, actor, comment, audit, open).await
    }

    /// Applies an operator's alarm action (acknowledge, shelve, out of service, ...) as `role`, and
    /// records it in the audit trail, refused or not. The caller has decided who acts: a signed-in user
    /// and their role, or, on a plant without users, a typed name (`role` viewer; today's behaviour).
    /// Returns once the action is journaled (see [`AlarmService::act`]).
    pub fn act_on_alarms(
        &self,
        action: plantwatch_alarm::OperatorAction,
        role: plantwatch_core::Role,
    ) -> Result<(), AlarmActionError> {
        let result = match self.alarms() {
            Some(service) => service
                .act(action.clone())
                .map_err(|e| AlarmActionError::Refused(e.to_string())),
            None => Err(AlarmActionError::NoService),
        };
        let outcome = match &result {
            Ok(()) => "ok",
            Err(_) => "refused",
        };
        let entry = audit::entry_of_alarm_action(
            &action,
            role,
            outcome,
            result.as_ref().err().map(ToString::to_string),
            plantwatch_core::Timestamp::now(),
        );
        if let Err(e) = self.trail.append(&entry) {
            // The action stands (it is journaled); the trail's failure is told, not hidden.
            tracing::error!("the audit trail could not record an alarm action: {e}");
            return result.and(Err(AlarmActionError::NotAudited(e.to_string())));
        }
        result
    }

    /// The engine back from an `Arc` it was shared through (the northbound node holds one for its
    /// commands), once the other holders have let go, waiting at most `within`; `None` when they did not,
    /// so that [`Engine::stop`] can run.
    pub async fn reclaim(mut shared: Arc<Engine>, within: std::time::Duration) -> Option<Engine> {
        let deadline = Instant::now() + within;
        loop {
            match Arc::try_unwrap(shared) {
                Ok(engine) => return Some(engine),
                Err(again) if Instant::now() < deadline => {
                    shared = again;
                    // A holder lets go when its last command (a write in progress) ends: poll for it.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(_) => return None,
            }
        }
    }

    /// Stops polling, flushes the history and stops the alarm service. Returns the final totals. Ends in
    /// bounded time even when the history file refuses commits (see `HistoryWriter::close`): what could
    /// not be stored is in `samples_dropped`.
    pub async fn stop(self) -> Result<EngineStats, EngineError> {
        let _ = self.stop.send(true);
        for link in self.links {
            drop(link.writes);
            // A task that panicked has nothing left to flush; the others finish their current read.
            let _ = link.task.await;
        }
        let _ = self.hand_off.await;
        // What the link tasks delivered after the hand-off task's last batch.
        self.outputs.flush_history();
        let mut stats = EngineStats {
            devices_total: self.plant.devices.len(),
            ..EngineStats::default()
        };
        for slot in &self.outputs.devices {
            let status = lock(slot).status.clone();
            if matches!(status.state, DeviceState::Online | DeviceState::Degraded) {
                stats.devices_online += 1;
            }
            let c = &status.counters;
            stats.errors += c.timeouts + c.link_errors + c.exceptions.values().sum::<u64>();
            stats.missed_cycles += c.missed_cycles;
        }
        // Every poll task is gone; the outputs hold the last sink and alarm handles.
        drop(self.outputs);
        if let Some(alarms) = self.alarms {
            match Arc::try_unwrap(alarms) {
                Ok(service) => {
                    let journal = service.close();
                    stats.alarm_changes_unjournaled = journal.pending as u64 + journal.dropped;
                    stats.alarm_journal_error = journal.last_error;
                }
                Err(_) => tracing::warn!("alarm service still referenced at stop; not flushed"),
            }
        }
        let poll_threads = self.poll_threads;
        // Joining the poll threads and flushing the history both block: off the caller's runtime.
        let writer = tokio::task::spawn_blocking(move || {
            poll_threads.shut_down();
            self.writer.close()
        })
        .await
        .map_err(|_| EngineError::Stopped)?
        .map_err(EngineError::HistoryClose)?;
        stats.samples_stored = writer.stored;
        stats.samples_pending = writer.pending;
        stats.samples_dropped = writer.dropped;
        stats.history_errors = writer.errors;
        stats.history_last_error = writer.last_error;
        stats.history_failing = writer.failing;
        stats.history_disk_low = writer.disk_low;
        stats.history_disk_free = writer.disk_free;
        stats.samples_shed = writer.shed_samples;
        stats.shed_until = writer.shed_until.map(plantwatch_core::Timestamp);
        Ok(stats)
    }
}
