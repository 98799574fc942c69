//! One MQTT connection to one broker over rumqttc: options (will, credentials, TLS), the event loop on
//! a task of its own, and the bookkeeping that pairs each QoS 1 publish with its PUBACK.
//!
//! rumqttc hands out a packet id for each publish only inside its event loop; it reports them, in the
//! order the publishes were asked for, as `Outgoing::Publish(pkid)`. So each publish's purpose is
//! queued here when it is asked for, paired with its packet id when that event arrives, and handed
//! back when the PUBACK with that id arrives.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use plantwatch_core::{BrokerAddress, SparkplugSettings};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions,
    Outgoing, Packet, QoS, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;

use crate::NodeError;

/// The system's trusted roots (Debian's ca-certificates), for an mqtts:// broker without `ca_file`.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// How long a broker may take to accept a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message either way: a birth of a device with thousands of tags fits easily.
const MAX_PACKET: usize = 64 * 1024 * 1024;
/// QoS 1 messages in flight at once (rumqttc holds further publishes until PUBACKs free a slot).
const INFLIGHT: u16 = 1000;

/// What the node needs to connect: the settings with the secrets and TLS files read once, at start.
#[derive(Clone)]
pub struct Connector {
    client_id: String,
    username: Option<String>,
    /// Read from the environment variable named by `password_env`; never printed (no `Debug`).
    password: Option<String>,
    tls: Option<TlsMaterial>,
}

#[derive(Clone)]
struct TlsMaterial {
    ca: Vec<u8>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Connector {
    /// Reads the password from its environment variable and the TLS files. `suffix` tells this
    /// client apart from the collector's (`--check` uses its own client id, so it never takes the
    /// running node's connection over).
    pub fn load(settings: &SparkplugSettings, suffix: &str) -> Result<Connector, NodeError> {
        // rumqttc builds its TLS configuration with the process's default crypto provider; name ours
        // (ring), so a second provider linked in by another crate can never leave it ambiguous.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let password = match &settings.password_env {
            None => None,
            Some(name) => {
                Some(std::env::var(name).map_err(|_| NodeError::PasswordNotSet(name.clone()))?)
            }
        };
        let tls = if settings.brokers.iter().any(|b| b.tls) {
            let read = |path: &std::path::Path| {
                std::fs::read(path).map_err(|source| NodeError::TlsFile {
                    path: path.to_path_buf(),
                    source,
                })
            };
            let ca = match &settings.tls.ca {
                Some(path) => read(path)?,
                None => read(std::path::Path::new(SYSTEM_ROOTS))?,
            };
            let client = match &settings.tls.client {
                Some((cert, key)) => Some((read(cert)?, read(key)?)),
                None => None,
            };
            Some(TlsMaterial { ca, client })
        } else {
            None
        };
        let id: String = format!("plantwatch-{}-{}{suffix}", settings.group, settings.node)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Ok(Connector {
            client_id: id,
            username: settings.username.clone(),
            password,
            tls,
        })
    }

    fn options(&self, broker: &BrokerAddress, will: LastWill) -> MqttOptions {
        let mut options = MqttOptions::new(&self.client_id, &broker.host, broker.port);
        options
            .set_keep_alive(Duration::from_secs(30))
            // Sparkplug edge nodes start every session clean: births restate everything.
            .set_clean_session(true)
            .set_last_will(will)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_inflight(INFLIGHT)
            .set_request_channel_capacity(10_000);
        if self.username.is_some() || self.password.is_some() {
            options.set_credentials(
                self.username.clone().unwrap_or_default(),
                self.password.clone().unwrap_or_default(),
            );
        }
        if broker.tls {
            if let Some(tls) = &self.tls {
                options.set_transport(Transport::Tls(TlsConfiguration::Simple {
                    ca: tls.ca.clone(),
                    alpn: None,
                    client_auth: tls.client.clone(),
                }));
            }
        }
        options
    }
}

/// What happened on a connection, as the session needs it.
#[derive(Debug)]
pub enum Happening<T> {
    /// The broker acknowledged a publish.
    Acked(T),
    /// A message arrived on a subscribed topic.
    Message { topic: String, payload: Vec<u8> },
    /// The connection is gone.
    Lost(String),
}

/// A live connection; `T` is what the caller remembers about each publish until it is acknowledged.
pub struct Connection<T> {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Event, ConnectionError>>,
    task: tokio::task::JoinHandle<()>,
    /// Publishes asked for whose packet id is not known yet, in order.
    asked: VecDeque<T>,
    /// Publishes sent, by packet id, waiting for their PUBACK.
    sent: HashMap<u16, T>,
    pub broker: BrokerAddress,
}

impl<T> Connection<T> {
    /// Connects to `broker` with `will` as the last will, and waits for its CONNACK.
    pub async fn open(
        connector: &Connector,
        broker: &BrokerAddress,
        will: LastWill,
    ) -> Result<Connection<T>, NodeError> {
        let (client, eventloop) = AsyncClient::new(connector.options(broker, will), 10_000);
        let (tx, mut events) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(eventloop, tx));
        let first = tokio::time::timeout(CONNECT_TIMEOUT, events.recv()).await;
        let failed = |reason: String| NodeError::Connect {
            broker: broker.to_string(),
            reason,
        };
        let result = match first {
            Err(_) => Err(failed(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ))),
            Ok(None) => Err(failed("the connection closed".into())),
            Ok(Some(Err(e))) => Err(failed(describe(&e))),
            Ok(Some(Ok(Event::Incoming(Packet::ConnAck(ack))))) => match ack.code {
                ConnectReturnCode::Success => Ok(()),
                code => Err(failed(refusal(code))),
            },
            Ok(Some(Ok(other))) => Err(failed(format!("unexpected first packet {other:?}"))),
        };
        match result {
            Ok(()) => Ok(Connection {
                client,
                events,
                task,
                asked: VecDeque::new(),
                sent: HashMap::new(),
                broker: broker.clone(),
            }),
            Err(e) => {
                task.abort();
                Err(e)
            }
        }
    }

    /// Publishes at QoS 1, not retained (births and deaths included, as Sparkplug asks); `what` comes
    /// back with the PUBACK.
    pub async fn publish(
        &mut self,
        topic: String,
        payload: Vec<u8>,
        what: T,
    ) -> Result<(), String> {
        self.asked.push_back(what);
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .map_err(|e| format!("publish: {e}"))
    }

    /// Subscribes at QoS 1.
    pub async fn subscribe(&self, filter: String) -> Result<(), String> {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .map_err(|e| format!("subscribe: {e}"))
    }

    /// Publishes not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.asked.len() + self.sent.len()
    }

    /// The next thing that happens (skipping what the caller need not see).
    pub async fn next(&mut self) -> Happening<T> {
        loop {
            let event = match self.events.recv().await {
                None => return Happening::Lost("the connection closed".into()),
                Some(Err(e)) => return Happening::Lost(describe(&e)),
                Some(Ok(event)) => event,
            };
            match event {
                Event::Outgoing(Outgoing::Publish(pkid)) => {
                    if let Some(what) = self.asked.pop_front() {
                        self.sent.insert(pkid, what);
                    }
                }
                Event::Incoming(Packet::PubAck(ack)) => {
                    if let Some(what) = self.sent.remove(&ack.pkid) {
                        return Happening::Acked(what);
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    return Happening::Message {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                    }
                }
                Event::Incoming(Packet::Disconnect) => {
                    return Happening::Lost("the broker disconnected".into())
                }
                _ => {}
            }
        }
    }

    /// Sends DISCONNECT (the broker then drops the will) and ends the event loop after it went out.
    pub async fn close(mut self) {
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(event)) = self.events.recv().await {
                if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                    break;
                }
            }
        })
        .await;
        self.task.abort();
    }
}

impl<T> Drop for Connection<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Drives the event loop, forwarding every event; ends at the first error (the session reconnects with
/// a new connection, so rumqttc's own reconnect is not used).
async fn run(
    mut eventloop: EventLoop,
    events: mpsc::UnboundedSender<Result<Event, ConnectionError>>,
) {
    loop {
        let event = eventloop.poll().await;
        let failed = event.is_err();
        if events.send(event).is_err() || failed {
            return;
        }
    }
}

fn refusal(code: ConnectReturnCode) -> String {
    match code {
        ConnectReturnCode::BadUserNamePassword => {
            "the broker refused the username or password".into()
        }
        // Mosquitto 2 answers a wrong password with this code too.
        ConnectReturnCode::NotAuthorized => {
            "the broker refused the connection as not authorized (check username and password)"
                .into()
        }
        ConnectReturnCode::BadClientId => "the broker refused the client id".into(),
        ConnectReturnCode::ServiceUnavailable => "the broker is unavailable".into(),
        ConnectReturnCode::RefusedProtocolVersion => "the broker does not speak MQTT 3.1.1".into(),
        ConnectReturnCode::Success => "accepted".into(),
    }
}

/// A connection error in words, naming the refusal when the broker gave one.
fn describe(error: &ConnectionError) -> String {
    match error {
        ConnectionError::ConnectionRefused(code) => refusal(*code),
        other => other.to_string(),
    }
}
