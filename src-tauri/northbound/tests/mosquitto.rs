//! The edge node against a real Mosquitto (Debian's `mosquitto`), the simulated plant and a real
//! engine: a broker outage in the middle of collecting loses nothing and sends nothing twice, and the
//! gap comes back marked historical. A consumer of our own (rumqttc and the generated types) keeps a
//! persistent session, so the broker holds what arrives while it reconnects.
//!
//! The system tests (`tests/tests/sparkplug.rs`) check the same with an independent Python consumer;
//! this one runs in-process, so a failure points into the crate.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plantwatch_core::{BrokerAddress, Role, SparkplugId, SparkplugSettings, TlsFiles};
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_history::{HistoryReader, SampleQuery};
use plantwatch_northbound::proto::Payload;
use plantwatch_northbound::{LinkState, Northbound};
use prost::Message;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A Mosquitto on a port of its own with persistence in `dir`; stopped with SIGTERM (so it saves the
/// consumer's session) and killed on drop.
struct Broker {
    child: Option<Child>,
    config: PathBuf,
    port: u16,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        // Mosquitto cannot report a port it picked: take a free one from the kernel and hand it over.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // Mosquitto started as root drops to its own user, which must be able to write its database.
        let store = dir.join("broker");
        std::fs::create_dir_all(&store).expect("the broker's folder");
        std::fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("open the broker's folder to its user");
        let config = dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n",
                store.display()
            ),
        )
        .expect("write the broker's config");
        let mut broker = Broker {
            child: None,
            config,
            port,
        };
        broker.run();
        broker
    }

    fn run(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and wait for it to save and exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
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

/// One data metric as the consumer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Seen {
    alias: u64,
    time: u64,
}

#[derive(Default)]
struct Consumer {
    data: Vec<(Seen, bool)>,
    /// (message type, seq) in arrival order.
    seqs: Vec<(String, Option<u64>)>,
}

/// Subscribes to the group with a persistent session and records every message.
fn consume(port: u16, into: Arc<Mutex<Consumer>>) -> tokio::task::JoinHandle<()> {
    let mut options = MqttOptions::new("northbound-test-consumer", "127.0.0.1", port);
    options
        .set_clean_session(false)
        .set_max_packet_size(1 << 24, 1 << 24);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    tokio::spawn(async move {
        let mut received: HashSet<(String, Vec<u8>)> = HashSet::new();
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.subscribe("spBv1.0/g/#", QoS::AtLeastOnce).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    // QoS 1 is at least once between the broker and us too: a broker restarted before
                    // our PUBACK reached it delivers the message again, flagged dup. That copy is the
                    // broker's, not the node's: take it once.
                    let first = received.insert((p.topic.clone(), p.payload.to_vec()));
                    if p.dup && !first {
                        continue;
                    }
                    let kind = p.topic.split('/').nth(2).unwrap_or("").to_string();
                    let payload =
                        Payload::decode(p.payload.as_ref()).expect("every payload decodes");
                    let mut c = into.lock().unwrap_or_else(|e| e.into_inner());
                    if kind != "NDEATH" {
                        c.seqs.push((kind.clone(), payload.seq));
                    }
                    if kind == "DDATA" {
                        for m in payload.metrics {
                            let seen = Seen {
                                alias: m.alias.expect("data metrics carry an alias"),
                                time: m.timestamp.expect("data metrics carry a time"),
                            };
                            c.data.push((seen, m.is_historical == Some(true)));
                        }
                    }
                }
                Ok(_) => {}
                // The broker is down: rumqttc reconnects on the next poll.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
}

/// Fails the test when Debian's mosquitto is missing: the README's test command installs it, and a missing
/// peer must fail rather than pass unseen.
fn require_mosquitto() {
    let installed = Command::new("mosquitto")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        installed,
        "needs Debian's mosquitto: bash .ci/setup install (or apt-get install mosquitto)"
    );
}

async fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_loses_nothing_and_sends_nothing_twice() {
    require_mosquitto();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut broker = Broker::start(dir.path());
    let seen = Arc::new(Mutex::new(Consumer::default()));
    let consumer = consume(broker.port, seen.clone());

    let sim = plantwatch_sim::SimServer::start(plantwatch_sim::SimOptions {
        speed: 50.0,
        ..plantwatch_sim::SimOptions::default()
    })
    .await
    .expect("the simulator starts");
    let history = dir.path().join("plant.db");
    let mut plant = plantwatch_sim::demo_plant_with_history(
        sim.local_addr().expect("a TCP simulator"),
        &history,
    );
    let settings = SparkplugSettings {
        brokers: vec![BrokerAddress {
            tls: false,
            host: "127.0.0.1".into(),
            port: broker.port,
        }],
        group: SparkplugId::new("g").expect("valid"),
        node: SparkplugId::new("n").expect("valid"),
        username: None,
        password_env: None,
        tls: TlsFiles::default(),
        primary_host: None,
        commands: false,
        command_role: Role::Operator,
    };
    plant.sparkplug = Some(settings.clone());
    let engine = Arc::new(
        Engine::start(Arc::new(plant), EngineOptions::default())
            .await
            .expect("the engine starts"),
    );
    let node = Northbound::start(engine.clone(), settings).expect("the node starts");

    let live_before = |c: &Consumer| c.data.iter().filter(|(_, h)| !h).count();
    wait_for(
        "live data before the outage",
        Duration::from_secs(20),
        || live_before(&seen.lock().unwrap_or_else(|e| e.into_inner())) > 20,
    )
    .await;
    let outage_start = plantwatch_core::Timestamp::now();
    broker.stop();
    wait_for("the node to notice", Duration::from_secs(20), || {
        node.status().state != LinkState::Online
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let outage_end = plantwatch_core::Timestamp::now();
    broker.run();
    let historical = |c: &Consumer| c.data.iter().filter(|(_, h)| *h).count();
    wait_for("the replay of the outage", Duration::from_secs(40), || {
        let s = node.status();
        s.state == LinkState::Online
            && s.backlog_s == 0.0
            && historical(&seen.lock().unwrap_or_else(|e| e.into_inner())) > 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = node.stop().await;
    let cursor = status.acked_through.expect("a cursor").as_millis();
    // Let the consumer take the last messages.
    tokio::time::sleep(Duration::from_millis(500)).await;
    consumer.abort();
    let Ok(engine) = Arc::try_unwrap(engine) else {
        panic!("the node let go of the engine")
    };
    engine.stop().await.expect("the engine stops");
    sim.shutdown().await;

    // Every sample the history holds up to the cursor, as (alias, time).
    let reader = HistoryReader::open(&history).expect("read the history");
    let plant =
        plantwatch_sim::demo_plant_with_history("127.0.0.1:1".parse().expect("addr"), &history);
    let mut stored = HashSet::new();
    reader
        .for_each_sample(
            &SampleQuery {
                to: Some(plantwatch_core::Timestamp(cursor + 1)),
                ..SampleQuery::default()
            },
            |s| {
                let tag = plant.find_tag(&s.tag).expect("a tag of the plant");
                stored.insert(Seen {
                    alias: u64::from(tag.0),
                    time: s.time.as_millis() as u64,
                });
            },
        )
        .expect("read every sample");

    let c = seen.lock().unwrap_or_else(|e| e.into_inner());
    let mut count: HashMap<Seen, u32> = HashMap::new();
    for (s, _) in &c.data {
        *count.entry(*s).or_default() += 1;
    }
    let missing: Vec<_> = stored.iter().filter(|s| !count.contains_key(s)).collect();
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(!stored.is_empty());
    assert!(
        missing.is_empty(),
        "{} of {} stored samples never reached the broker, e.g. {:?} (outage {outage_start:?} to {outage_end:?}, cursor {cursor})",
        missing.len(),
        stored.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        twice.is_empty(),
        "samples sent twice: {:?}",
        &twice[..twice.len().min(5)]
    );
    assert!(historical(&c) > 0, "the gap came back marked historical");
    // seq runs without gaps within each session (an NBIRTH starts one at 0).
    let mut previous: Option<u64> = None;
    for (kind, seq) in &c.seqs {
        let seq = seq.expect("every message but NDEATH has a seq");
        if kind == "NBIRTH" {
            assert_eq!(seq, 0, "NBIRTH takes seq 0");
        } else if let Some(p) = previous {
            assert_eq!(seq, (p + 1) % 256, "seq after {p} in a {kind}");
        }
        previous = Some(seq);
    }
}

/// A broker that takes only `lift4` with password `s3cret-pw` (Mosquitto's own password file).
fn broker_with_password(dir: &Path) -> Option<Broker> {
    let store = dir.join("broker");
    std::fs::create_dir_all(&store).expect("the broker's folder");
    std::fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .expect("open the broker's folder to its user");
    let passwords = store.join("passwd");
    std::fs::write(&passwords, "").expect("an empty password file");
    let made = Command::new("mosquitto_passwd")
        .arg("-b")
        .arg(&passwords)
        .args(["lift4", "s3cret-pw"])
        .status()
        .ok()?;
    assert!(made.success(), "mosquitto_passwd made the password file");
    std::fs::set_permissions(
        &passwords,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("the broker's user reads the password file");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
            passwords.display()
        ),
    )
    .expect("write the broker's config");
    let mut broker = Broker {
        child: None,
        config,
        port,
    };
    broker.run();
    Some(broker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_names_the_broker_that_refuses_a_wrong_password_and_passes_with_the_right_one() {
    require_mosquitto();
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = broker_with_password(dir.path())
        .expect("needs mosquitto_passwd (Debian's mosquitto package) to make a password file");
    let mut plant = plantwatch_sim::demo_plant_with_history(
        "127.0.0.1:1".parse().expect("addr"),
        dir.path().join("p.db"),
    );
    let variable = "PLANTWATCH_NORTHBOUND_TEST_PASSWORD";
    let settings = SparkplugSettings {
        brokers: vec![BrokerAddress {
            tls: false,
            host: "127.0.0.1".into(),
            port: broker.port,
        }],
        group: SparkplugId::new("g").expect("valid"),
        node: SparkplugId::new("n").expect("valid"),
        username: Some("lift4".into()),
        password_env: Some(variable.into()),
        tls: TlsFiles::default(),
        primary_host: None,
        commands: false,
        command_role: Role::Operator,
    };
    plant.sparkplug = Some(settings.clone());

    std::env::set_var(variable, "wrong");
    let refused = plantwatch_northbound::check(&plant, &settings)
        .await
        .expect_err("a wrong password is refused");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("mqtt://127.0.0.1:{}", broker.port))
            && message.contains("username"),
        "names the broker and the cause: {message}"
    );
    assert!(
        !message.contains("wrong"),
        "never shows the password: {message}"
    );

    std::env::set_var(variable, "s3cret-pw");
    let report = plantwatch_northbound::check(&plant, &settings)
        .await
        .expect("the right password is taken");
    assert_eq!(report.devices, plant.devices.len());
    assert_eq!(report.metrics, plant.tag_count());
    assert_eq!(
        report.messages,
        plant.devices.len() + 1,
        "NBIRTH and a DBIRTH per device"
    );
}
