//! The running edge node: sessions with the brokers in failover order, births, live data from the
//! engine's stored samples, the replay of the gap from the history, device deaths and births,
//! rebirths, commands, the primary host's STATE, and the durable cursor.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::HashSet;

use plantwatch_core::{BrokerAddress, Plant, Sample, SparkplugSettings, TagIndex, Timestamp};
use plantwatch_engine::{Actor, DeviceState, Engine, EngineEvent};
use plantwatch_history::SweepResume;
use prost::Message;
use rumqttc::{LastWill, QoS};
use tokio::sync::{broadcast, mpsc, watch};

use crate::connection::{Connection, Connector, Happening};
use crate::cursor::{cursor_path, BandProgress, BatchId, CursorFile, Ledger};
use crate::metric::value_of_command;
use crate::payload::{self, Current, Stored};
use crate::proto::{DataType, Payload};
use crate::replay::{spawn_reader, ReplayBatch, Replayed, SpareBatches};
use crate::seq::{BdSeq, Seq};
use crate::status::{LinkState, NorthboundStatus};
use crate::topic::{Incoming, Topics};
use crate::NodeError;

/// A replay batch (part of a band of time, tag by tag) is sized at about this many samples a device of
/// the plant.
pub const REPLAY_METRICS_PER_DEVICE: usize = 1000;
/// Replayed samples per DDATA, at most (about 100 kB): large messages keep the message rate, and so the
/// broker's and the consumers' work per sample, low.
pub const REPLAY_METRICS_PER_MESSAGE: usize = 4000;
/// A replay batch holds at least this many samples (small plants)...
pub const REPLAY_BATCH_MIN: usize = 2_000;
/// ...and at most this many (memory: a batch in flight is about 50 bytes a sample).
pub const REPLAY_BATCH_MAX: usize = 1_000_000;
/// Replay batches in flight at once: one being acknowledged while the next is published. Live messages
/// are published as they come, ahead of the next replay batch, so the replay never starves them.
pub const REPLAY_WINDOW: usize = 1;

/// The samples a replay batch aims at for `plant`: a batch never splits a tag's samples of a band, so a
/// batch may hold more.
pub fn replay_batch(plant: &Plant) -> usize {
    (plant.devices.len() * REPLAY_METRICS_PER_DEVICE).clamp(REPLAY_BATCH_MIN, REPLAY_BATCH_MAX)
}

/// The replay reads the history only this long after its span ends, so the samples of the span's last
/// moments are committed (the writer commits within about half a second).
const REPLAY_SETTLE: Duration = Duration::from_secs(3);
/// The cursor is written at most this often.
const CURSOR_EVERY: Duration = Duration::from_secs(1);
/// The pause after every broker failed, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The actor named in the audit trail for writes that come as Sparkplug commands.
pub const COMMAND_ACTOR: &str = "sparkplug";

/// The northbound edge node, running on the caller's Tokio runtime.
pub struct Northbound {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    status: Arc<Mutex<NorthboundStatus>>,
}

impl Northbound {
    /// Reads the password and TLS files and the cursor file, and starts the node for `engine`'s plant.
    pub fn start(
        engine: Arc<Engine>,
        settings: SparkplugSettings,
    ) -> Result<Northbound, NodeError> {
        let connector = Connector::load(&settings, "")?;
        let cursor = CursorFile::open(
            cursor_path(engine.history_path()),
            &settings.brokers,
            Timestamp::now(),
        )?;
        cursor.save()?;
        let status = Arc::new(Mutex::new(NorthboundStatus::default()));
        let (stop, stop_rx) = watch::channel(false);
        let node = Node {
            topics: Topics::new(&settings.group, &settings.node),
            plant: engine.plant().clone(),
            engine,
            settings,
            connector,
            cursor,
            status: status.clone(),
            stop: stop_rx,
            rate: Rate::default(),
            acked_live: AckedLive::default(),
            spare: SpareBatches::default(),
        };
        let task = tokio::spawn(node.run());
        Ok(Northbound { stop, task, status })
    }

    /// A snapshot of the link.
    pub fn status(&self) -> NorthboundStatus {
        lock(&self.status).clone()
    }

    /// Publishes NDEATH, disconnects and writes the cursor; returns the last status.
    pub async fn stop(self) -> NorthboundStatus {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let mut status = lock(&self.status).clone();
        status.state = LinkState::Stopped;
        status
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a publish was for, remembered until its PUBACK.
#[derive(Debug, Clone)]
enum Sent {
    Control,
    /// Live data: its oldest sample's time, and every sample (so the replay after an outage can skip
    /// what the broker already acknowledged).
    Live {
        oldest: Timestamp,
        samples: Box<[(TagIndex, Timestamp)]>,
    },
    Replay(BatchId),
}

/// How a session ended.
enum End {
    Stop,
    Lost(String),
    /// The primary host went offline: the node left (NDEATH) and reconnects to wait for it.
    HostOffline,
}

#[derive(Default)]
struct Rate {
    since: Option<Instant>,
    messages_then: u64,
    metrics_then: u64,
}

struct Node {
    engine: Arc<Engine>,
    plant: Arc<Plant>,
    settings: SparkplugSettings,
    connector: Connector,
    topics: Topics,
    cursor: CursorFile,
    status: Arc<Mutex<NorthboundStatus>>,
    stop: watch::Receiver<bool>,
    rate: Rate,
    /// Live samples the current broker acknowledged after its cursor (the cursor trails the live
    /// stream): the replay after a lost connection skips them, so a broker outage sends nothing twice.
    /// Pruned as the cursor moves.
    acked_live: AckedLive,
    /// Replay batches' vectors, back to the reader once published.
    spare: SpareBatches,
}

/// Live samples a broker acknowledged beyond its cursor.
#[derive(Default)]
struct AckedLive {
    broker: Option<BrokerAddress>,
    samples: HashSet<(TagIndex, Timestamp)>,
    /// The oldest sample time in `samples`: replayed samples before it need no look-up, and a cursor
    /// before it prunes nothing (while a replay runs, the cursor stays behind every live sample).
    oldest: Option<Timestamp>,
}

/// [`AckedLive`] remembers at most this many samples (about 50 MB): a longer replay with a busy live
/// plant stops remembering, and a broker outage during it may send those samples twice (never lose them).
const ACKED_LIVE_MAX: usize = 1_000_000;

impl AckedLive {
    /// Starts a session with `broker`: what another broker acknowledged says nothing about this one.
    fn session(&mut self, broker: &BrokerAddress) {
        if self.broker.as_ref() != Some(broker) {
            self.broker = Some(broker.clone());
            self.samples.clear();
            self.oldest = None;
        }
    }

    /// The broker acknowledged these live samples; those after `cursor` are remembered.
    fn acked(&mut self, samples: &[(TagIndex, Timestamp)], cursor: Timestamp) {
        for &(tag, time) in samples.iter().filter(|(_, time)| *time > cursor) {
            if self.samples.len() >= ACKED_LIVE_MAX {
                return;
            }
            self.samples.insert((tag, time));
            self.oldest = Some(self.oldest.map_or(time, |t| t.min(time)));
        }
    }

    fn contains(&self, tag: TagIndex, time: Timestamp) -> bool {
        self.oldest.is_some_and(|oldest| time >= oldest) && self.samples.contains(&(tag, time))
    }

    /// The cursor moved to `cursor`: what it covers need not be remembered.
    fn prune(&mut self, cursor: Timestamp) {
        if self.oldest.is_some_and(|oldest| oldest <= cursor) {
            self.samples.retain(|&(_, time)| time > cursor);
            self.oldest = self.samples.iter().map(|&(_, time)| time).min();
        }
    }
}

impl Node {
    async fn run(mut self) {
        let mut backoff = FIRST_BACKOFF;
        let brokers = self.settings.brokers.clone();
        'outer: loop {
            let mut index = 0;
            while index < brokers.len() {
                if *self.stop.borrow() {
                    break 'outer;
                }
                let broker = &brokers[index];
                self.set(|s| {
                    s.state = LinkState::Connecting;
                    s.broker = Some(broker.to_string());
                });
                let bd_seq = self.cursor.next_bd_seq();
                if let Err(e) = self.cursor.save() {
                    self.error(e.to_string());
                }
                let will = LastWill::new(
                    self.topics.ndeath(),
                    payload::encode(&payload::node_death(bd_seq, Timestamp::now())),
                    QoS::AtLeastOnce,
                    false,
                );
                let opened = tokio::select! {
                    opened = Connection::<Sent>::open(&self.connector, broker, will) => opened,
                    _ = self.stop.changed() => break 'outer,
                };
                match opened {
                    Err(e) => {
                        self.error(e.to_string());
                        index += 1;
                    }
                    Ok(connection) => {
                        backoff = FIRST_BACKOFF;
                        match self.session(connection, bd_seq).await {
                            End::Stop => break 'outer,
                            End::HostOffline => continue 'outer,
                            End::Lost(why) => {
                                self.error(format!("broker {broker}: {why}"));
                                // Back to the first (preferred) broker after a short pause.
                                index = 0;
                                if self.pause(FIRST_BACKOFF).await {
                                    break 'outer;
                                }
                            }
                        }
                    }
                }
            }
            let behind = brokers
                .first()
                .and_then(|b| self.cursor.acked(b))
                .map(|acked| Timestamp::now().millis_since(acked).max(0) as f64 / 1000.0);
            self.set(|s| {
                s.state = LinkState::Offline;
                s.backlog_s = behind.unwrap_or(0.0);
            });
            if self.pause(backoff).await {
                break;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        let _ = self.cursor.save();
        self.set(|s| s.state = LinkState::Stopped);
    }

    /// Waits `d` unless told to stop; true when told to stop.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => *self.stop.borrow(),
            _ = self.stop.changed() => true,
        }
    }

    fn set(&self, change: impl FnOnce(&mut NorthboundStatus)) {
        change(&mut lock(&self.status));
    }

    /// Records the last error; logs it when it differs from the one before (a broker that stays down
    /// is said once, not at every retry).
    fn error(&self, message: String) {
        let mut status = lock(&self.status);
        if status.last_error.as_ref().map(|(_, m)| m) != Some(&message) {
            tracing::warn!("sparkplug: {message}");
        }
        status.last_error = Some((Timestamp::now(), message));
    }

    /// One session with one broker, from CONNACK to its end.
    async fn session(&mut self, connection: Connection<Sent>, bd_seq: BdSeq) -> End {
        let mut session = Session {
            connection,
            seq: Seq::start(),
            bd_seq,
            ledger: None,
            born: vec![false; self.plant.devices.len()],
            reader: None,
            read_to: Timestamp(0),
            resume: None,
            host_online: self.settings.primary_host.is_none(),
        };
        if let Err(e) = self.subscribe(&session).await {
            return End::Lost(e);
        }
        let mut stored = self.engine.subscribe_stored();
        let mut events = self.engine.subscribe();
        if session.host_online {
            if let Err(e) = self.begin_publishing(&mut session).await {
                return End::Lost(e);
            }
        } else {
            self.set(|s| s.state = LinkState::WaitingForPrimaryHost);
        }
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut last_save = Instant::now();
        loop {
            let window_open = session
                .ledger
                .as_ref()
                .is_some_and(|l| l.batches_in_flight() < REPLAY_WINDOW);
            let result: Result<Option<End>, String> = tokio::select! {
                biased;
                _ = self.stop.changed() => {
                    self.leave(session).await;
                    return End::Stop;
                }
                happening = session.connection.next() => self.on_happening(&mut session, happening).await,
                batch = stored.recv() => self.on_stored(&mut session, batch).await.map(|()| None),
                event = events.recv() => self.on_event(&mut session, event).await.map(|()| None),
                batch = recv_batch(&mut session.reader), if window_open => {
                    self.on_replay_batch(&mut session, batch).await.map(|()| None)
                }
                _ = tick.tick() => {
                    self.on_tick(&mut session, &mut last_save);
                    Ok(None)
                }
            };
            match result {
                Ok(None) => {}
                Ok(Some(end)) => {
                    self.settle_cursor(&mut session);
                    return end;
                }
                Err(why) => {
                    self.settle_cursor(&mut session);
                    return End::Lost(why);
                }
            }
        }
    }

    async fn subscribe(&self, session: &Session) -> Result<(), String> {
        session.connection.subscribe(self.topics.ncmd()).await?;
        session
            .connection
            .subscribe(self.topics.dcmd_filter())
            .await?;
        if let Some(host) = &self.settings.primary_host {
            session.connection.subscribe(Topics::state(host)).await?;
        }
        Ok(())
    }

    /// Births with the live state, then the replay of the gap since the broker's cursor.
    async fn begin_publishing(&mut self, session: &mut Session) -> Result<(), String> {
        let broker = session.connection.broker.clone();
        let acked = self.cursor.acked(&broker).unwrap_or_else(Timestamp::now);
        self.acked_live.session(&broker);
        let now = Timestamp::now();
        let ledger = Ledger::resuming(
            acked,
            now,
            self.cursor.live_span(&broker),
            self.cursor.band(&broker),
        );
        session.resume = ledger.band();
        session.ledger = Some(ledger);
        session.read_to = acked;
        self.births(session).await?;
        self.set(|s| {
            s.state = LinkState::Online;
            s.acked_through = Some(acked);
        });
        Ok(())
    }

    /// NBIRTH and a DBIRTH per device that is not offline, with seq from 0.
    async fn births(&mut self, session: &mut Session) -> Result<(), String> {
        let now = Timestamp::now();
        session.seq = Seq::start();
        let nbirth = payload::node_birth(session.bd_seq, now);
        let _ = session.seq.take();
        self.publish(
            session,
            self.topics.nbirth(),
            payload::encode(&nbirth),
            Sent::Control,
            0,
        )
        .await?;
        let live = self.engine.live();
        let states: Vec<DeviceState> = self.engine.devices().iter().map(|d| d.state).collect();
        for d in 0..self.plant.devices.len() {
            if states.get(d) == Some(&DeviceState::Offline) {
                session.born[d] = false;
                continue;
            }
            self.device_birth(session, d, &live, now).await?;
        }
        Ok(())
    }

    async fn device_birth(
        &mut self,
        session: &mut Session,
        device: usize,
        live: &[plantwatch_engine::TagLive],
        now: Timestamp,
    ) -> Result<(), String> {
        let first = self.plant.first_tag_of(device).0 as usize;
        let count = self.plant.devices[device].tags.len();
        let current: Vec<Current> = live
            .get(first..first + count)
            .unwrap_or(&[])
            .iter()
            .map(|t| Current {
                value: t.value.clone(),
                quality: t.quality,
                time: t.time,
            })
            .collect();
        let seq = session.seq.take();
        let birth = payload::device_birth(&self.plant, device, &current, now, seq);
        let topic = self.topics.dbirth(&self.plant.devices[device].id);
        self.publish(
            session,
            topic,
            payload::encode(&birth),
            Sent::Control,
            count as u64,
        )
        .await?;
        session.born[device] = true;
        Ok(())
    }

    async fn publish(
        &mut self,
        session: &mut Session,
        topic: String,
        payload: Vec<u8>,
        sent: Sent,
        metrics: u64,
    ) -> Result<(), String> {
        let replayed = matches!(sent, Sent::Replay(_));
        session.connection.publish(topic, payload, sent).await?;
        self.set(|s| {
            s.messages_published += 1;
            s.metrics_published += metrics;
            if replayed {
                s.metrics_replayed += metrics;
            }
        });
        Ok(())
    }

    async fn on_happening(
        &mut self,
        session: &mut Session,
        happening: Happening<Sent>,
    ) -> Result<Option<End>, String> {
        match happening {
            Happening::Lost(why) => Err(why),
            Happening::Acked(sent) => {
                self.acked(session, sent);
                Ok(None)
            }
            Happening::Message { topic, payload } => match self.topics.incoming(&topic) {
                Some(Incoming::State(host)) => self.on_state(session, &host, &payload).await,
                Some(Incoming::NodeCommand) => {
                    self.on_node_command(session, &payload).await?;
                    Ok(None)
                }
                Some(Incoming::DeviceCommand(device)) => {
                    self.on_device_command(&device, &payload);
                    Ok(None)
                }
                None => Ok(None),
            },
        }
    }

    /// A PUBACK: the ledger moves, and live samples are remembered beyond the cursor.
    fn acked(&mut self, session: &mut Session, sent: Sent) {
        let Some(ledger) = session.ledger.as_mut() else {
            return;
        };
        match sent {
            Sent::Control => {}
            Sent::Live { oldest, samples } => {
                ledger.live_acked(oldest);
                let cursor = ledger.acked();
                self.acked_live.acked(&samples, cursor);
            }
            Sent::Replay(id) => {
                let before = (ledger.acked(), ledger.band());
                ledger.batch_acked(id);
                if (ledger.acked(), ledger.band()) != before {
                    // A replay batch is acknowledged in full (the cursor or its band's progress moved):
                    // keep it at once, so a `kill -9` during the replay sends again at most the batches
                    // in flight, not a second's worth.
                    self.settle_cursor(session);
                }
            }
        }
    }

    /// The primary host's STATE (`{"online": bool, "timestamp": ms}`): publish while it is online.
    async fn on_state(
        &mut self,
        session: &mut Session,
        host: &str,
        payload: &[u8],
    ) -> Result<Option<End>, String> {
        let Some(primary) = &self.settings.primary_host else {
            return Ok(None);
        };
        if primary.as_str() != host {
            return Ok(None);
        }
        let online = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("online").and_then(serde_json::Value::as_bool))
            .unwrap_or(false);
        match (session.host_online, online) {
            (false, true) => {
                session.host_online = true;
                self.begin_publishing(session).await?;
                Ok(None)
            }
            (true, false) if session.ledger.is_some() => {
                // Sparkplug: an edge node leaves when its primary host does, and waits for it to
                // return; the history keeps everything meanwhile.
                self.settle_cursor(session);
                Ok(Some(End::HostOffline))
            }
            _ => {
                session.host_online = online;
                Ok(None)
            }
        }
    }

    /// NCMD: `Node Control/Rebirth` = true republishes the births.
    async fn on_node_command(
        &mut self,
        session: &mut Session,
        payload: &[u8],
    ) -> Result<(), String> {
        let Ok(command) = Payload::decode(payload) else {
            self.set(|s| s.commands_ignored += 1);
            return Ok(());
        };
        let rebirth = command.metrics.iter().any(|m| {
            m.name.as_deref() == Some(payload::REBIRTH)
                && m.value == Some(crate::proto::payload::metric::Value::BooleanValue(true))
        });
        if rebirth && session.ledger.is_some() {
            self.births(session).await?;
        } else {
            self.set(|s| s.commands_ignored += 1);
        }
        Ok(())
    }

    /// DCMD: metric writes through the engine's one write path (checked, audited), when enabled.
    fn on_device_command(&mut self, device: &str, payload: &[u8]) {
        let Some(d) = self.plant.devices.iter().position(|x| x.id == device) else {
            self.set(|s| s.commands_ignored += 1);
            return;
        };
        let Ok(command) = Payload::decode(payload) else {
            self.set(|s| s.commands_ignored += 1);
            return;
        };
        let first = self.plant.first_tag_of(d).0;
        let tags = &self.plant.devices[d].tags;
        for metric in command.metrics {
            let position = match (&metric.name, metric.alias) {
                (Some(name), _) => tags.iter().position(|t| t.id() == name),
                (None, Some(alias)) => u32::try_from(alias)
                    .ok()
                    .and_then(|a| a.checked_sub(first))
                    .map(|p| p as usize)
                    .filter(|&p| p < tags.len()),
                (None, None) => None,
            };
            let Some(position) = position else {
                self.set(|s| s.commands_ignored += 1);
                continue;
            };
            if !self.settings.commands {
                tracing::info!(
                    "sparkplug: a DCMD for {device}/{} ignored (commands = false)",
                    tags[position].id()
                );
                self.set(|s| s.commands_ignored += 1);
                continue;
            }
            let datatype = metric
                .datatype
                .and_then(|d| DataType::try_from(d as i32).ok())
                .unwrap_or_else(|| crate::metric::datatype(&tags[position]));
            let Some(value) = metric
                .value
                .as_ref()
                .and_then(|v| value_of_command(v, datatype))
            else {
                self.set(|s| s.commands_ignored += 1);
                continue;
            };
            let engine = self.engine.clone();
            let status = self.status.clone();
            let actor = Actor {
                user: COMMAND_ACTOR.to_string(),
                role: self.settings.command_role,
            };
            let tag = TagIndex(first + position as u32);
            tokio::spawn(async move {
                let report = engine
                    .write_tag(tag, value, &actor, Some("Sparkplug DCMD"))
                    .await;
                let message = report.message();
                let mut s = lock(&status);
                if report.audit_error.is_some() {
                    // The write stands, but its audit entry is missing: said loudly, and shown on the
                    // Devices screen and the status line, never only in an info log.
                    tracing::warn!("sparkplug command: {message}");
                    s.last_error = Some((Timestamp::now(), format!("command: {message}")));
                } else {
                    tracing::info!("sparkplug command: {message}");
                }
                if report.outcome == plantwatch_engine::WriteOutcome::Done {
                    s.commands_done += 1;
                } else {
                    s.commands_ignored += 1;
                }
            });
        }
    }

    /// A batch of stored samples: DDATA per device for those after the replayed span.
    async fn on_stored(
        &mut self,
        session: &mut Session,
        batch: Result<Arc<[Sample]>, broadcast::error::RecvError>,
    ) -> Result<(), String> {
        let batch = match batch {
            Ok(batch) => batch,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Batches were lost to this listener: their span is replayed from the history.
                if let Some(ledger) = session.ledger.as_mut() {
                    ledger.extend_replay(Timestamp::now());
                }
                self.set(|s| s.live_lags += 1);
                return Ok(());
            }
            Err(broadcast::error::RecvError::Closed) => {
                return Err("the engine stopped".into());
            }
        };
        let Some(ledger) = session.ledger.as_mut() else {
            return Ok(());
        };
        let mut live: Vec<&Sample> = Vec::with_capacity(batch.len());
        for s in batch.iter() {
            ledger.live_seen(s.time);
            if ledger.is_live(s.time) {
                live.push(s);
            }
        }
        // Device by device, each device's samples in time order (samples of one time in tag order).
        let plant = self.plant.clone();
        live.sort_by_cached_key(|s| (device_of(&plant, s.tag), s.time, s.tag));
        for group in live.chunk_by(|a, b| device_of(&plant, a.tag) == device_of(&plant, b.tag)) {
            let device = device_of(&plant, group[0].tag);
            if !session.born.get(device).copied().unwrap_or(false) {
                // A dead device publishes nothing until its DBIRTH (Sparkplug); its DDEATH said its
                // values are stale, and the history keeps the samples.
                continue;
            }
            let oldest = group[0].time;
            let seq = session.seq.take();
            let count = group.len() as u64;
            let data = payload::device_data(
                &self.plant,
                device,
                group.iter().map(|s| Stored {
                    tag: s.tag,
                    value: s.value.as_ref(),
                    quality: s.quality,
                    time: s.time,
                }),
                false,
                Timestamp::now(),
                seq,
            );
            if let Some(ledger) = session.ledger.as_mut() {
                ledger.live_sent(oldest);
            }
            let topic = self.topics.ddata(&self.plant.devices[device].id);
            let samples = group.iter().map(|s| (s.tag, s.time)).collect();
            self.publish(session, topic, data, Sent::Live { oldest, samples }, count)
                .await?;
        }
        Ok(())
    }

    /// A device went offline (DDEATH) or came back (DBIRTH).
    async fn on_event(
        &mut self,
        session: &mut Session,
        event: Result<EngineEvent, broadcast::error::RecvError>,
    ) -> Result<(), String> {
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Device states may have changed unseen: bring each device's birth or death in line
                // with its state now.
                return self.reconcile_devices(session).await;
            }
            Err(broadcast::error::RecvError::Closed) => return Err("the engine stopped".into()),
        };
        let EngineEvent::DeviceState { device, state, .. } = event else {
            return Ok(());
        };
        if session.ledger.is_none() || device >= self.plant.devices.len() {
            return Ok(());
        }
        let now = Timestamp::now();
        match (state, session.born[device]) {
            (DeviceState::Offline, true) => {
                let seq = session.seq.take();
                let topic = self.topics.ddeath(&self.plant.devices[device].id);
                self.publish(
                    session,
                    topic,
                    payload::encode(&payload::device_death(now, seq)),
                    Sent::Control,
                    0,
                )
                .await?;
                session.born[device] = false;
            }
            (DeviceState::Online | DeviceState::Degraded, false) => {
                let live = self.engine.live();
                self.device_birth(session, device, &live, now).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// DDEATH for each born device that is offline now, DBIRTH for each unborn one that is not.
    async fn reconcile_devices(&mut self, session: &mut Session) -> Result<(), String> {
        if session.ledger.is_none() {
            return Ok(());
        }
        let states: Vec<DeviceState> = self.engine.devices().iter().map(|d| d.state).collect();
        let now = Timestamp::now();
        let mut live: Option<Vec<plantwatch_engine::TagLive>> = None;
        for (device, state) in states.into_iter().enumerate() {
            let offline = state == DeviceState::Offline;
            match (offline, session.born.get(device).copied().unwrap_or(false)) {
                (true, true) => {
                    let seq = session.seq.take();
                    let topic = self.topics.ddeath(&self.plant.devices[device].id);
                    let death = payload::device_death(now, seq);
                    self.publish(session, topic, payload::encode(&death), Sent::Control, 0)
                        .await?;
                    session.born[device] = false;
                }
                (false, false) => {
                    if live.is_none() {
                        live = Some(self.engine.live());
                    }
                    let readings = live.as_deref().unwrap_or(&[]);
                    self.device_birth(session, device, readings, now).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A replay batch read back from the history: DDATA per device, historical.
    async fn on_replay_batch(
        &mut self,
        session: &mut Session,
        batch: Option<Result<ReplayBatch, String>>,
    ) -> Result<(), String> {
        let batch = match batch {
            None => {
                session.reader = None;
                self.spare.clear();
                return Ok(());
            }
            Some(Err(e)) => {
                // The history could not be read: say so and try again later from the cursor.
                self.error(format!("replay: {e}"));
                session.reader = None;
                if let Some(ledger) = session.ledger.as_ref() {
                    session.read_to = ledger.acked();
                    session.resume = ledger.band();
                }
                return Ok(());
            }
            Some(Ok(batch)) => batch,
        };
        let Some(ledger) = session.ledger.as_mut() else {
            return Ok(());
        };
        let id = ledger.open_batch(batch.mark.through, batch.mark.tags_through);
        let skip = ledger.skip();
        let mut samples = batch.samples;
        // What the broker acknowledged live already is not sent again: before a restart (the span of
        // the cursor file) or before the connection was lost (the samples remembered).
        // Usually there is nothing to look up: no span of the cursor file to leave out, and every live
        // sample remembered is newer than the batch (a replay runs behind the live stream).
        let may_skip = skip.is_some()
            || self
                .acked_live
                .oldest
                .is_some_and(|oldest| oldest <= batch.mark.through);
        if may_skip {
            samples.retain(|s| {
                !skip.is_some_and(|span| span.holds(s.time))
                    && !self.acked_live.contains(s.tag, s.time)
            });
        }
        // Each sample's device, once. The sweep groups a batch by tag id, which follows the plant's
        // order unless the plant file was edited since; then a stable sort groups it by device (each
        // tag's samples stay in time order).
        let plant = self.plant.clone();
        let mut walk = DeviceWalk::new(&plant);
        let mut devices: Vec<usize> = samples.iter().map(|s| walk.device_of(s.tag)).collect();
        if !devices.is_sorted() {
            let mut by_device: Vec<(usize, Replayed)> = devices.into_iter().zip(samples).collect();
            by_device.sort_by_key(|(device, _)| *device);
            (devices, samples) = by_device.into_iter().unzip();
        }
        let mut messages: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        let mut start = 0;
        for run in devices.chunk_by(|a, b| a == b) {
            let end = start + run.len();
            // A device's samples of a band can be many (minutes of each tag).
            for first in (start..end).step_by(REPLAY_METRICS_PER_MESSAGE) {
                messages.push((run[0], first..(first + REPLAY_METRICS_PER_MESSAGE).min(end)));
            }
            start = end;
        }
        for (device, range) in messages {
            let group = &samples[range];
            let seq = session.seq.take();
            let data = payload::device_data(
                &self.plant,
                device,
                group.iter().map(|s| Stored {
                    tag: s.tag,
                    value: s.value.as_ref(),
                    quality: s.quality,
                    time: s.time,
                }),
                true,
                Timestamp::now(),
                seq,
            );
            if let Some(ledger) = session.ledger.as_mut() {
                ledger.batch_message(id);
            }
            let topic = self.topics.ddata(&self.plant.devices[device].id);
            let count = group.len() as u64;
            self.publish(session, topic, data, Sent::Replay(id), count)
                .await?;
        }
        if let Some(ledger) = session.ledger.as_mut() {
            ledger.seal_batch(id);
        }
        self.spare.give(samples);
        Ok(())
    }

    /// Starts the replay reader when there is more to replay, moves the cursor, writes it about once a
    /// second, and updates the status.
    fn on_tick(&mut self, session: &mut Session, last_save: &mut Instant) {
        let now = Timestamp::now();
        if let Some(ledger) = session.ledger.as_ref() {
            let to = ledger.replay_to();
            let settled = now.millis_since(to) >= REPLAY_SETTLE.as_millis() as i64;
            if session.reader.is_none() && session.read_to < to && settled {
                let (tx, rx) = mpsc::channel(1);
                let resume = session.resume.take().map(|band| SweepResume {
                    through: Timestamp(band.through_ms),
                    tags_through: band.tags_through,
                });
                spawn_reader(
                    self.engine.history_path().to_path_buf(),
                    self.plant.clone(),
                    (session.read_to, to),
                    resume,
                    replay_batch(&self.plant),
                    (tx, self.spare.clone()),
                );
                session.reader = Some(rx);
                session.read_to = to;
            }
        }
        if last_save.elapsed() >= CURSOR_EVERY {
            *last_save = Instant::now();
            self.settle_cursor(session);
        }
        let acked = self.cursor.acked(&session.connection.broker);
        let replaying = session.ledger.as_ref().is_some_and(Ledger::replaying);
        let (messages, metrics) = {
            let s = lock(&self.status);
            (s.messages_published, s.metrics_published)
        };
        let rate = match self.rate.since.map(|t| t.elapsed()) {
            Some(e) if e >= Duration::from_secs(1) => {
                let per_s = |now: u64, then: u64| (now - then) as f64 / e.as_secs_f64();
                let r = (
                    per_s(messages, self.rate.messages_then),
                    per_s(metrics, self.rate.metrics_then),
                );
                self.rate = Rate {
                    since: Some(Instant::now()),
                    messages_then: messages,
                    metrics_then: metrics,
                };
                Some(r)
            }
            Some(_) => None,
            None => {
                self.rate = Rate {
                    since: Some(Instant::now()),
                    messages_then: messages,
                    metrics_then: metrics,
                };
                None
            }
        };
        self.set(|s| {
            if let Some((messages, metrics)) = rate {
                s.messages_per_s = messages;
                s.metrics_per_s = metrics;
            }
            s.acked_through = acked;
            s.backlog_s = match (replaying || session.ledger.is_none(), acked) {
                (true, Some(a)) => now.millis_since(a).max(0) as f64 / 1000.0,
                _ => 0.0,
            };
        });
    }

    /// Moves the broker's cursor to what the ledger allows, and writes it when it moved.
    fn settle_cursor(&mut self, session: &mut Session) {
        let Some(ledger) = session.ledger.as_mut() else {
            return;
        };
        let to = ledger.settle_live();
        let span = ledger.durable_span();
        let band = ledger.band();
        let broker = session.connection.broker.clone();
        if self.cursor.advance(&broker, to, span, band) {
            self.acked_live.prune(to);
            if let Err(e) = self.cursor.save() {
                self.error(e.to_string());
            }
        }
    }

    /// A clean stop: NDEATH, then DISCONNECT; the cursor keeps what was acknowledged.
    async fn leave(&mut self, mut session: Session) {
        if session.ledger.is_some() {
            let death = payload::node_death(session.bd_seq, Timestamp::now());
            let _ = self
                .publish(
                    &mut session,
                    self.topics.ndeath(),
                    payload::encode(&death),
                    Sent::Control,
                    0,
                )
                .await;
            // Take the acknowledgements still coming for a moment, so the cursor holds them.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while session.connection.in_flight() > 0 {
                let next = tokio::time::timeout_at(deadline, session.connection.next()).await;
                match next {
                    Ok(Happening::Acked(sent)) => self.acked(&mut session, sent),
                    Ok(Happening::Message { .. }) => {}
                    Ok(Happening::Lost(_)) | Err(_) => break,
                }
            }
        }
        self.settle_cursor(&mut session);
        session.connection.close().await;
    }
}

/// One MQTT session's state.
struct Session {
    connection: Connection<Sent>,
    seq: Seq,
    bd_seq: BdSeq,
    /// Present while publishing (connected, and the primary host online when there is one).
    ledger: Option<Ledger>,
    /// Devices with a DBIRTH and no DDEATH since.
    born: Vec<bool>,
    /// The replay reader's batches, while one runs.
    reader: Option<mpsc::Receiver<Result<ReplayBatch, String>>>,
    /// How far readers have been started.
    read_to: Timestamp,
    /// Where the next reader starts inside its first band (a replay stopped inside one).
    resume: Option<BandProgress>,
    host_online: bool,
}

async fn recv_batch(
    reader: &mut Option<mpsc::Receiver<Result<ReplayBatch, String>>>,
) -> Option<Result<ReplayBatch, String>> {
    match reader {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The index of the device a tag belongs to (core's `Plant::device_of`). Every tag the node sees comes
/// from the engine or from `Plant::find_tag`, so it is in range; past the end it would be the last device.
fn device_of(plant: &Plant, tag: TagIndex) -> usize {
    plant
        .device_of(tag)
        .unwrap_or(plant.devices.len().saturating_sub(1))
}

/// [`device_of`] for tags that come grouped by device (a replay batch): the device of the tag before
/// is checked first, so a batch of a million samples searches the plant once per device, not per sample.
struct DeviceWalk<'a> {
    plant: &'a Plant,
    device: usize,
    /// The tags of `device`: `[first, end)`.
    tags: std::ops::Range<u32>,
}

impl<'a> DeviceWalk<'a> {
    fn new(plant: &'a Plant) -> Self {
        DeviceWalk {
            plant,
            device: 0,
            tags: 0..0,
        }
    }

    fn device_of(&mut self, tag: TagIndex) -> usize {
        if !self.tags.contains(&tag.0) {
            self.device = device_of(self.plant, tag);
            self.tags = self.plant.tags_of(self.device);
        }
        self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::testing;
    use plantwatch_core::{Table, Tag, ValueType};

    #[test]
    fn each_tag_belongs_to_its_device_even_after_a_device_without_tags() {
        let tag = |id| Tag::new(id, Table::Holding, 0, ValueType::U16);
        let plant = testing::plant(
            "p",
            std::path::Path::new("p.db"),
            vec![
                ("a", vec![tag("x"), tag("y")]),
                ("empty", vec![]),
                ("b", vec![tag("z")]),
            ],
        );
        let devices: Vec<usize> = (0..3).map(|t| device_of(&plant, TagIndex(t))).collect();
        assert_eq!(devices, [0, 0, 2]);
        // The walk of a replay batch gives the same in any order, a tag past the last included.
        let mut walk = DeviceWalk::new(&plant);
        for t in [0, 1, 2, 1, 0, 2, 2, 9, 0] {
            assert_eq!(
                walk.device_of(TagIndex(t)),
                device_of(&plant, TagIndex(t)),
                "tag {t}"
            );
        }
    }
}
