//! Support for the Sparkplug B system tests and the publish benchmark (`tests/tests/sparkplug.rs`,
//! `tests/benches/sparkplug_publish.rs`): a real Mosquitto broker from Debian's packages, the independent
//! consumer (`tests/peers/sparkplug_consumer.py`, pysparkplug's protobuf) and what it wrote, and
//! `plantwatch collect` as a process the tests can stop, kill and start again.
//!
//! ```no_run
//! use plantwatch_system_tests::mqtt_support::{Broker, BrokerAuth, Consumer};
//! let broker = Broker::start(BrokerAuth::Anonymous);
//! let consumer = Consumer::start(&broker, "test-consumer");
//! println!("{} messages so far", consumer.messages().len());
//! ```

use std::cell::Cell;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::peers::compile_libmodbus_peer;
use crate::peers::Peer;
use crate::{peer, plantwatch_bin, python};

/// How long Mosquitto may take to accept connections after it starts.
const BROKER_READY_WITHIN: Duration = Duration::from_secs(10);

/// The one user of a broker that asks for a password.
pub const MQTT_USER: &str = "lift4";
/// That user's password (handed to Plantwatch through `PLANTWATCH_MQTT_PASSWORD`).
pub const MQTT_PASSWORD: &str = "pump-down-4";

/// How clients prove who they are to a [`Broker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerAuth {
    /// Plain MQTT, anyone may connect.
    Anonymous,
    /// Plain MQTT, [`MQTT_USER`] with [`MQTT_PASSWORD`] only (a `password_file` made by
    /// `mosquitto_passwd -b`).
    Password,
    /// MQTT over TLS with a server certificate of a private CA made by `openssl` (for `127.0.0.1` and
    /// `localhost`), and [`MQTT_USER`] with [`MQTT_PASSWORD`] only.
    TlsPassword,
}

/// A Mosquitto broker on 127.0.0.1 with its own config, persistence and (for TLS) CA in a temp dir.
/// It can be stopped and started again on the same port (a broker outage); it is killed on drop.
///
/// Persistence is on and the queue of a disconnected client is unbounded, so the test consumer's
/// persistent session and its queued QoS 1 messages survive a stop (SIGTERM saves them) and a restart.
pub struct Broker {
    dir: tempfile::TempDir,
    auth: BrokerAuth,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    /// Writes the config (and the password file, the CA and the server certificate when `auth` asks for
    /// them), starts Mosquitto on a free port and waits until it accepts connections.
    pub fn start(auth: BrokerAuth) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir for the broker");
        if auth != BrokerAuth::Anonymous {
            make_password_file(dir.path());
        }
        if auth == BrokerAuth::TlsPassword {
            make_certificates(dir.path());
        }
        let mut broker = Broker {
            dir,
            auth,
            port: 0,
            child: None,
        };
        // A port found free can be taken by someone else before Mosquitto binds it: try a few.
        for _ in 0..5 {
            broker.port = free_port();
            if broker.launch() {
                return broker;
            }
        }
        panic!(
            "mosquitto did not start on any of 5 free ports; its log:\n{}",
            broker.log()
        );
    }

    /// Mosquitto's process id, while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The `mqtt://` or `mqtts://` URL of the broker, as a plant config names it.
    pub fn url(&self) -> String {
        match self.auth {
            BrokerAuth::TlsPassword => format!("mqtts://localhost:{}", self.port),
            _ => format!("mqtt://127.0.0.1:{}", self.port),
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How clients authenticate.
    pub fn auth(&self) -> BrokerAuth {
        self.auth
    }

    /// The private CA's certificate (TLS brokers only).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Mosquitto's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Stops the broker as a service manager would (SIGTERM: it saves its persistent sessions) and
    /// waits until it has exited. Its port stays reserved for [`Broker::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port with the same config (and its saved sessions).
    pub fn restart(&mut self) {
        self.stop();
        // The old socket can linger for a moment: retry within the deadline.
        let deadline = Instant::now() + BROKER_READY_WITHIN;
        while !self.launch() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start again on port {}; its log:\n{}",
                self.port,
                self.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts Mosquitto on `self.port`; false when it exited (the port was taken).
    fn launch(&mut self) -> bool {
        let config = self.write_config();
        let mut child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto (apt-get install mosquitto): {e}"));
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + BROKER_READY_WITHIN;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                self.child = Some(child);
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto accepted no connection on {address} within {BROKER_READY_WITHIN:?}; its log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn write_config(&self) -> PathBuf {
        let dir = self.dir.path();
        let mut text = format!(
            "# Written by Plantwatch's system tests.\n\
             listener {port} 127.0.0.1\n\
             log_dest file {log}\n\
             log_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
             connection_messages true\n\
             # Run as the user who started it (as root it would switch to `mosquitto`, who cannot read\n\
             # this temp dir).\n\
             user {user}\n\
             persistence true\n\
             persistence_location {dir}/\n\
             max_queued_messages 0\n\
             max_inflight_messages 0\n",
            port = self.port,
            log = dir.join("mosquitto.log").display(),
            user = std::env::var("USER").unwrap_or_else(|_| "root".to_string()),
            dir = dir.display(),
        );
        match self.auth {
            BrokerAuth::Anonymous => text.push_str("allow_anonymous true\n"),
            BrokerAuth::Password | BrokerAuth::TlsPassword => {
                text.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    dir.join("passwords").display()
                ));
            }
        }
        if self.auth == BrokerAuth::TlsPassword {
            text.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\n",
                dir.join("ca.pem").display(),
                dir.join("server.pem").display(),
                dir.join("server.key").display()
            ));
        }
        let path = dir.join("mosquitto.conf");
        std::fs::write(&path, text).expect("write mosquitto.conf");
        path
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn run(what: &str, command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn make_password_file(dir: &Path) {
    let file = dir.join("passwords");
    run(
        "mosquitto_passwd",
        Command::new("mosquitto_passwd")
            .arg("-c")
            .arg("-b")
            .arg(&file)
            .args([MQTT_USER, MQTT_PASSWORD]),
    );
}

/// A private CA (`ca.pem`) and a server certificate it signed (`server.pem`, `server.key`) for
/// `localhost` and `127.0.0.1`, with the extensions a strict TLS client (webpki) asks for.
fn make_certificates(dir: &Path) {
    let at = |name: &str| dir.join(name);
    run(
        "openssl (CA)",
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=Plantwatch test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(at("ca.key"))
            .arg("-out")
            .arg(at("ca.pem")),
    );
    run(
        "openssl (server key and request)",
        Command::new("openssl")
            .args(["req", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-subj", "/CN=localhost"])
            .arg("-keyout")
            .arg(at("server.key"))
            .arg("-out")
            .arg(at("server.csr")),
    );
    std::fs::write(
        at("server.ext"),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyAgreement\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write server.ext");
    run(
        "openssl (server certificate)",
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(at("server.csr"))
            .arg("-CA")
            .arg(at("ca.pem"))
            .arg("-CAkey")
            .arg(at("ca.key"))
            .arg("-extfile")
            .arg(at("server.ext"))
            .arg("-out")
            .arg(at("server.pem")),
    );
}

/// One metric of a message as the consumer decoded it.
#[derive(Debug, Clone, Deserialize)]
pub struct SpMetric {
    /// The name as sent (births carry it; data messages carry the alias only).
    pub name: Option<String>,
    pub alias: Option<u64>,
    /// The name of the alias in the last birth of the same node or device.
    pub resolved_name: Option<String>,
    /// The Sparkplug datatype number (Boolean 11, UInt16 6, Double 10, ...).
    pub datatype: Option<u32>,
    pub value: serde_json::Value,
    pub timestamp: Option<i64>,
    pub is_historical: bool,
    pub is_null: bool,
    /// Property name -> `{"type": datatype, "value": ...}`.
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl SpMetric {
    /// The value of property `key`, if the metric has it.
    pub fn property(&self, key: &str) -> Option<&serde_json::Value> {
        self.properties.get(key).map(|p| &p["value"])
    }

    /// The metric's name, sent or resolved through its alias.
    pub fn tag(&self) -> Option<&str> {
        self.name.as_deref().or(self.resolved_name.as_deref())
    }
}

/// One MQTT message as the consumer decoded it (one JSON line of its output).
#[derive(Debug, Clone, Deserialize)]
pub struct SpMessage {
    pub topic: String,
    /// `NBIRTH`, `DBIRTH`, `NDATA`, `DDATA`, `NDEATH`, `DDEATH`, `NCMD`, `DCMD` or `STATE`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub node: String,
    pub device: Option<String>,
    pub seq: Option<u64>,
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub metrics: Vec<SpMetric>,
    /// Set when the message could not be decoded.
    pub error: Option<String>,
    /// When the consumer received it (wall clock, ms).
    pub recv_ms: i64,
}

impl SpMessage {
    /// True for births, data and deaths of the edge node (what `seq` numbers), not commands or STATE.
    pub fn is_sequenced(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "NBIRTH" | "DBIRTH" | "NDATA" | "DDATA" | "DDEATH"
        )
    }
}

/// The independent consumer (`tests/peers/sparkplug_consumer.py`) subscribed to `spBv1.0/#` at QoS 1 on a
/// persistent session; killed on drop.
pub struct Consumer {
    peer: Peer,
    out: PathBuf,
    /// How far [`Consumer::count_new`] has read the output.
    read_to: Cell<u64>,
    _dir: tempfile::TempDir,
}

impl Consumer {
    /// The consumer's process id (benchmarks read its CPU time).
    pub fn pid(&self) -> u32 {
        self.peer.pid()
    }

    /// Starts the consumer as client `client_id` (with the broker's CA and credentials when it asks for
    /// them) and waits until its subscription is granted.
    pub fn start(broker: &Broker, client_id: &str) -> Consumer {
        Consumer::launch(broker, client_id, false)
    }

    /// A consumer that only counts messages and metrics (for the benchmark).
    pub fn counting(broker: &Broker, client_id: &str) -> Consumer {
        Consumer::launch(broker, client_id, true)
    }

    fn launch(broker: &Broker, client_id: &str, count_only: bool) -> Consumer {
        let dir = tempfile::tempdir().expect("temp dir for the consumer");
        let out = dir.path().join("messages.jsonl");
        let mut command = Command::new(python());
        command
            .arg(peer("sparkplug_consumer.py"))
            .args(["--port", &broker.port().to_string()])
            .args(["--client-id", client_id]);
        if count_only {
            command.arg("--count-only");
        } else {
            command.arg("--out").arg(&out);
        }
        if broker.auth() == BrokerAuth::TlsPassword {
            command
                .args(["--host", "localhost", "--ca-file"])
                .arg(broker.ca_file());
        }
        if broker.auth() != BrokerAuth::Anonymous {
            command
                .args([
                    "--username",
                    MQTT_USER,
                    "--password-env",
                    "CONSUMER_PASSWORD",
                ])
                .env("CONSUMER_PASSWORD", MQTT_PASSWORD);
        }
        let mut peer = Peer::spawn("sparkplug_consumer.py", command);
        let line = peer.next_line();
        assert_eq!(line, "READY", "the consumer could not subscribe");
        Consumer {
            peer,
            out,
            read_to: Cell::new(0),
            _dir: dir,
        }
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<SpMessage> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        // The last line may be half written.
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// How often `needle` occurs in the complete lines written since the last call: a cheap watch
    /// for a tight loop (for example `"is_historical": true` to catch a replay as it starts).
    pub fn count_new(&self, needle: &str) -> usize {
        let Ok(mut file) = std::fs::File::open(&self.out) else {
            return 0;
        };
        let mut text = String::new();
        if file.seek(SeekFrom::Start(self.read_to.get())).is_err()
            || file.read_to_string(&mut text).is_err()
        {
            return 0;
        }
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        self.read_to.set(self.read_to.get() + complete as u64);
        text[..complete].matches(needle).count()
    }

    /// `(messages, metrics, historical metrics, first and last arrival in ms)` counted so far.
    pub fn counts(&mut self) -> ConsumerCounts {
        let line = self.peer.ask("count");
        let words: Vec<&str> = line.split_whitespace().collect();
        let field = |name: &str| -> u64 {
            words
                .iter()
                .position(|w| *w == name)
                .and_then(|i| words.get(i + 1))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("the consumer answered {line:?} to `count`"))
        };
        ConsumerCounts {
            messages: field("messages"),
            metrics: field("metrics"),
            historical: field("historical"),
            first_ms: field("first_ms"),
            last_ms: field("last_ms"),
        }
    }

    /// Publishes the primary host's Sparkplug 3.0 STATE (retained) and waits for the broker's ack.
    pub fn publish_state(&mut self, host: &str, online: bool) {
        let word = if online { "online" } else { "offline" };
        let answer = self.peer.ask(&format!("state {host} {word}"));
        assert_eq!(answer, "ok", "publishing STATE {host} {word}");
    }

    /// Publishes a DCMD writing `tag` of `device` (`datatype` a pysparkplug DataType name such as
    /// `BOOLEAN`, `value` JSON) and waits for the broker's ack.
    pub fn publish_dcmd(
        &mut self,
        group: &str,
        node: &str,
        device: &str,
        tag: &str,
        datatype: &str,
        value: &str,
    ) {
        let line = format!("dcmd {group} {node} {device} {tag} {datatype} {value}");
        let answer = self.peer.ask(&line);
        assert_eq!(answer, "ok", "publishing `{line}`");
    }

    /// Publishes an NCMD writing one node metric (a space in `metric` is sent as the consumer's `%20`:
    /// `Node Control/Rebirth` works).
    pub fn publish_ncmd(
        &mut self,
        group: &str,
        node: &str,
        metric: &str,
        datatype: &str,
        value: &str,
    ) {
        let metric = metric.replace(' ', "%20");
        let line = format!("ncmd {group} {node} {metric} {datatype} {value}");
        let answer = self.peer.ask(&line);
        assert_eq!(answer, "ok", "publishing `{line}`");
    }
}

/// What a [`Consumer`] counted.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerCounts {
    pub messages: u64,
    pub metrics: u64,
    pub historical: u64,
    pub first_ms: u64,
    pub last_ms: u64,
}

/// A TCP relay on 127.0.0.1 that delivers every byte `delay` late in each direction: a long link to
/// the broker (a WAN, a satellite), so that a node that keeps a few batches in flight replays slowly
/// enough to be interrupted. Each accepted connection gets its own connection to `target`; when either
/// side closes, both do. The threads end with the connections (the listener's when the relay drops).
pub struct DelayProxy {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl DelayProxy {
    /// Listens on a free port and relays to 127.0.0.1:`target`.
    pub fn start(target: u16, delay: Duration) -> DelayProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue; // the broker is down: the client sees its connection closed
                };
                for (from, to) in [
                    (client.try_clone(), upstream.try_clone()),
                    (upstream.try_clone(), client.try_clone()),
                ] {
                    if let (Ok(from), Ok(to)) = (from, to) {
                        relay_late(from, to, delay);
                    }
                }
            }
        });
        DelayProxy { port, stop }
    }

    /// The port to connect to instead of the broker's.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Copies `from` to `to`, each chunk written `delay` after it was read (a reader and a writer thread
/// joined by a channel, so the delay does not slow the reading).
fn relay_late(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    let closer = from.try_clone();
    thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    thread::spawn(move || {
        for (due, bytes) in rx {
            thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        // The reading side closed (or the writing failed): close both ends.
        let _ = to.shutdown(std::net::Shutdown::Both);
        if let Ok(closer) = closer {
            let _ = closer.shutdown(std::net::Shutdown::Both);
        }
    });
}

/// The engine benchmarks' libmodbus server (`tests/peers/engine_bench_server.c`): holding registers
/// `0..registers`, `fraction` of them given a new random value each second, one map for every unit id and
/// connection. A plant of many devices on it stores thousands of samples a second: a backlog big enough
/// to interrupt its replay.
pub struct ChangingServer {
    _peer: Peer,
    _binary: crate::peers::CompiledPeer,
    port: u16,
}

impl ChangingServer {
    /// Compiles and starts the server on a free port.
    pub fn start(registers: u16, fraction: f64) -> ChangingServer {
        let binary = compile_libmodbus_peer("engine_bench_server");
        let mut command = Command::new(&binary.path);
        command.args([registers.to_string(), fraction.to_string(), "0".to_string()]);
        let mut peer = Peer::spawn("engine_bench_server", command);
        let port = peer.port();
        ChangingServer {
            _peer: peer,
            _binary: binary,
            port,
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A plant file's text: `devices` devices `dev0`.. on this server, each with u16 tags `r0`.. for
    /// holding registers `0..registers`, polled every `poll_ms`, no deadband; history `plant.db`.
    pub fn plant_toml(&self, devices: usize, registers: u16, poll_ms: u32) -> String {
        let mut text = String::from(
            "[plant]\nname = \"Changing registers\"\n\n[history]\npath = \"plant.db\"\n\n",
        );
        for d in 0..devices {
            text.push_str(&format!(
                "[[devices]]\nid = \"dev{d}\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\n\
                 port = {}\nunit = 1\npoll_ms = {poll_ms}\ntimeout_ms = 1000\nmax_block = 125\n\
                 max_gap = 16\ntags = [\n",
                self.port
            ));
            for r in 0..registers {
                text.push_str(&format!(
                    "  {{ id = \"r{r}\", table = \"holding\", address = {r}, type = \"u16\" }},\n"
                ));
            }
            text.push_str("]\n\n");
        }
        text
    }
}

/// A running `plantwatch collect CONFIG --db DB --status-every 1s` with its stderr in a file; killed on
/// drop.
pub struct Collector {
    child: Option<Child>,
    stderr: PathBuf,
    config: PathBuf,
    db: PathBuf,
    env: Vec<(String, String)>,
}

impl Collector {
    /// Starts collect with `env` added to its environment.
    pub fn start(config: &Path, db: &Path, env: &[(&str, &str)]) -> Collector {
        let mut collector = Collector {
            child: None,
            stderr: db.with_extension("collect.log"),
            config: config.to_path_buf(),
            db: db.to_path_buf(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        collector.launch();
        collector
    }

    fn launch(&mut self) {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)
            .expect("open the collect log");
        writeln!(log, "--- plantwatch collect starts").expect("write the collect log");
        let child = Command::new(plantwatch_bin())
            .arg("collect")
            .arg(&self.config)
            .arg("--db")
            .arg(&self.db)
            .args(["--status-every", "1s"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start plantwatch collect");
        self.child = Some(child);
    }

    /// Everything collect printed on stderr so far (all its runs).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `kill -9`: no flush, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        child.wait().ok().and_then(|s| s.code())
    }

    /// Starts collect again with the same arguments (after [`Collector::kill`] or
    /// [`Collector::terminate`]).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .map(|c| matches!(c.try_wait(), Ok(None)))
            .unwrap_or(false)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `condition` holds, polling every 200 ms (conditions here run `plantwatch export` and read
/// every message: not free on a shared machine), or fails the test with `what` (and `context()`).
pub fn wait_for(
    what: &str,
    within: Duration,
    mut condition: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}\n{}",
            context()
        );
        thread::sleep(Duration::from_millis(200));
    }
}
