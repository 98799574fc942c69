//! Sparkplug B publishing: live metrics per second that `plantwatch collect` publishes at a Mosquitto on
//! the same machine (QoS 1), and how fast it replays one hour of the 1,000-device bench plant's history
//! after an outage. Both are counted at the broker by the independent consumer
//! (`tests/peers/sparkplug_consumer.py --count-only`, pysparkplug's protobuf), not by Plantwatch.
//!
//! Run: `cargo build --release -p plantwatch && cargo bench -p plantwatch-system-tests --bench sparkplug_publish`
//! (`PLANTWATCH_BIN` picks the binary; `target/release/plantwatch` is used when it exists, else the debug
//! build, which is much slower and says so.) Sizes: `PLANTWATCH_BENCH_DEVICES` (live plant, 400 devices x
//! 1,000 registers, the bench server giving 1,000 random registers of each device a new value every
//! second: random picks repeat, so about 632 distinct changes a device, about 253,000 samples/s
//! offered; 250 devices offered only about 158,000, under the goal whatever the node could do), `PLANTWATCH_BENCH_SECONDS` (live
//! window, 30), `PLANTWATCH_BENCH_REPLAY_DEVICES` (devices of the replayed hour, 1,000: 360 million samples,
//! several minutes just to write; fewer for a quick look, the rate is per sample).
//!
//! Live: the engine's bench server (`tests/peers/engine_bench_server.c`) changes every register every
//! second; collect polls it and publishes every stored sample as DDATA. The rate is what reached the
//! consumer in the window after a warm-up (births done, every device polled).
//!
//! Replay: the hour is written straight into the history file with `HistoryWriter` (10% of the registers
//! changing each second, as in `poll_thousand_devices`), then collect starts with the broker up and
//! replays it while the live plant (the bench server, 10% changing) keeps polling. The time is from the
//! NBIRTH to the last historical metric counted.

mod poll_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use plantwatch_core::{Plant, Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_history::{HistoryWriter, WriterOptions};
use plantwatch_system_tests::mqtt_support::{Broker, BrokerAuth, Consumer};
use plantwatch_system_tests::workspace_root;

const REGISTERS: u16 = 1000;
/// Neuron's published figure (EMQX Neuron, MQTT northbound, 4 cores), for reference.
const NEURON_POINTS_PER_S: f64 = 100_000.0;
const GOAL_LIVE: f64 = 200_000.0;
const GOAL_REPLAY: Duration = Duration::from_secs(60);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The binary measured: `$PLANTWATCH_BIN`, else the release build, else the debug build.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PLANTWATCH_BIN") {
        return PathBuf::from(path);
    }
    let release = workspace_root().join("target/release/plantwatch");
    if release.exists() {
        return release;
    }
    eprintln!(
        "warning: target/release/plantwatch is missing: measuring the DEBUG build \
         (cargo build --release -p plantwatch for real figures)"
    );
    workspace_root().join("target/debug/plantwatch")
}

/// The bench plant as a config file: `devices` devices of [`REGISTERS`] u16 holding registers on the
/// bench server, polled every second, no deadband, publishing to `broker`.
fn write_plant(dir: &Path, devices: usize, port: u16, broker: &str) -> PathBuf {
    let mut text =
        String::from("[plant]\nname = \"Sparkplug bench\"\n\n[history]\npath = \"bench.db\"\n\n");
    for d in 0..devices {
        text.push_str(&format!(
            "[[devices]]\nid = \"dev{d}\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             unit = 1\npoll_ms = 1000\ntimeout_ms = 1000\nmax_block = 125\nmax_gap = 16\ntags = [\n"
        ));
        for r in 0..REGISTERS {
            text.push_str(&format!(
                "  {{ id = \"r{r}\", table = \"holding\", address = {r}, type = \"u16\" }},\n"
            ));
        }
        text.push_str("]\n\n");
    }
    text.push_str(&format!(
        "[northbound.sparkplug]\nbroker = \"{broker}\"\ngroup = \"bench\"\nnode = \"bench\"\n"
    ));
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).expect("write the bench plant");
    path
}

/// The plant of a config file, as Plantwatch reads it (without its northbound section, which this
/// bench does not need to parse).
fn plant_of(config: &Path) -> Plant {
    let text = std::fs::read_to_string(config).expect("read the bench plant");
    let text = text
        .split("[northbound.sparkplug]")
        .next()
        .unwrap_or_default();
    plantwatch_config::parse(text, config).expect("the bench plant parses")
}

struct Collect(Child);

impl Collect {
    fn start(config: &Path, db: &Path) -> Collect {
        let child = Command::new(binary())
            .arg("collect")
            .arg(config)
            .arg("--db")
            .arg(db)
            .args(["--status-every", "5s", "--no-alarms"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start plantwatch collect");
        Collect(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Collect {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (bounded) until the consumer's metric count stops growing for `quiet`.
fn settle(consumer: &mut Consumer, quiet: Duration, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    let mut last = consumer.counts().metrics;
    let mut still_since = Instant::now();
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(200));
        let now = consumer.counts().metrics;
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= quiet {
            break;
        }
    }
    last
}

struct Live {
    metrics_per_s: f64,
    drained_per_s: f64,
    node_cpu: f64,
    broker_messages_per_s: f64,
}

fn live(devices: usize, seconds: u64) -> Live {
    let server = poll_support::BenchServer::start(u32::from(REGISTERS), 1.0, false);
    let broker = Broker::start(BrokerAuth::Anonymous);
    let mut consumer = Consumer::counting(&broker, "bench-live");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_plant(dir.path(), devices, server.port, &broker.url());
    let collect = Collect::start(&config, &dir.path().join("bench.db"));
    // Warm-up: births of every device and a few seconds of data.
    let warm = Instant::now();
    while consumer.counts().metrics < (devices as u64) * u64::from(REGISTERS) * 3 {
        assert!(
            warm.elapsed() < Duration::from_secs(180),
            "no data at the consumer after 3 minutes: {:?}",
            consumer.counts()
        );
        thread::sleep(Duration::from_millis(200));
    }
    let before = consumer.counts();
    let cpu0 = poll_support::cpu_time(&collect.pid());
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(seconds));
    let after = consumer.counts();
    let window = t0.elapsed();
    let cpu = poll_support::cpu_time(&collect.pid()) - cpu0;
    collect.stop();
    // What was published in the window and still queued at the broker for a slower consumer.
    let drained = settle(
        &mut consumer,
        Duration::from_secs(2),
        Duration::from_secs(120),
    );
    Live {
        metrics_per_s: (after.metrics - before.metrics) as f64 / window.as_secs_f64(),
        drained_per_s: (drained - before.metrics) as f64 / window.as_secs_f64(),
        node_cpu: cpu.as_secs_f64() / window.as_secs_f64() * 100.0,
        broker_messages_per_s: (after.messages - before.messages) as f64 / window.as_secs_f64(),
    }
}

/// One hour of the bench plant ending a minute ago, 10% of the tags changing each second, written with
/// the history writer (held back whenever two million samples wait, to bound memory).
fn write_hour(db: &Path, plant: &Plant) -> (u64, i64, Duration) {
    let started = Instant::now();
    let writer = HistoryWriter::open_with(
        db,
        plant,
        WriterOptions {
            queue_samples: Some(usize::MAX),
        },
    )
    .expect("open the history writer");
    let sink = writer.sink();
    let tags = plant.tags().count();
    let end = Timestamp::now().0 - 60_000;
    let start = end - 3_600_000;
    let mut sent = 0u64;
    for second in 0..3600i64 {
        let time = start + second * 1000;
        // Each second a different tenth of the tags changes (all of them in the first second).
        let batch: Vec<Sample> = (0..tags)
            .filter(|t| second == 0 || (*t as i64 + second) % 10 == 0)
            .map(|t| Sample {
                tag: TagIndex(t as u32),
                time: Timestamp(time + (t % 100) as i64),
                value: Some(Value::Number(((t as i64 * 7 + second) % 65536) as f64)),
                quality: Quality::Good,
            })
            .collect();
        sent += batch.len() as u64;
        sink.send(batch);
        while writer.stats().pending > 2_000_000 {
            thread::sleep(Duration::from_millis(20));
        }
    }
    let stats = writer.close().expect("close the writer");
    assert_eq!(
        stats.stored, sent,
        "every sample of the hour stored: {stats:?}"
    );
    (sent, start, started.elapsed())
}

struct Replay {
    samples: u64,
    elapsed: Duration,
    /// From collect's start to the first replayed metric at the consumer (parsing the plant included).
    startup: Duration,
    write_time: Duration,
    replayed: u64,
    /// collect's CPU time from its start to the end of the replay (the live plant's polling and
    /// publishing included), and its peak resident memory.
    node_cpu: Duration,
    node_peak_mb: f64,
    /// The same span's CPU time of the consumer and of Mosquitto, which share the machine's cores.
    consumer_cpu: Duration,
    broker_cpu: Duration,
}

fn replay(devices: usize) -> Replay {
    let server = poll_support::BenchServer::start(u32::from(REGISTERS), 0.1, false);
    let broker = Broker::start(BrokerAuth::Anonymous);
    let mut consumer = Consumer::counting(&broker, "bench-replay");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_plant(dir.path(), devices, server.port, &broker.url());
    let db = dir.path().join("bench.db");
    let plant = plant_of(&config);
    let (samples, start, write_time) = write_hour(&db, &plant);
    // The node's cursor file (its README): the broker acknowledged everything before the hour, so the
    // whole hour is the gap to replay. Without it a first start replays nothing older than itself.
    let cursor = serde_json::json!({
        "version": 1,
        "bd_seq": 0,
        "brokers": { broker.url(): { "acked_through_ms": start - 1 } },
    });
    let mut cursor_path = db.clone().into_os_string();
    cursor_path.push(".sparkplug");
    std::fs::write(&cursor_path, cursor.to_string()).expect("write the cursor file");
    println!(
        "wrote {samples} samples of history in {:.1} s; replaying",
        write_time.as_secs_f64()
    );
    let peer_cpu =
        |pid: Option<u32>| pid.map_or(Duration::ZERO, |p| poll_support::cpu_time(&p.to_string()));
    let (consumer_before, broker_before) = (peer_cpu(Some(consumer.pid())), peer_cpu(broker.pid()));
    let collect = Collect::start(&config, &db);
    let starting = Instant::now();
    let mut first_replayed: Option<Instant> = None;
    let mut last_growth = Instant::now();
    let mut replayed = 0;
    // Until every sample of the hour arrived historical, or nothing new came for 30 s (the first
    // replayed sample may take a while: collect parses a plant of a million tags first).
    while replayed < samples && last_growth.elapsed() < Duration::from_secs(30) {
        thread::sleep(Duration::from_millis(100));
        let now = consumer.counts().historical;
        if now > replayed {
            replayed = now;
            last_growth = Instant::now();
            first_replayed.get_or_insert(last_growth);
        } else if first_replayed.is_none() && starting.elapsed() < Duration::from_secs(300) {
            // Still starting: the 30 s count from the first replayed sample.
            last_growth = Instant::now();
        }
    }
    let elapsed = first_replayed.map_or(Duration::ZERO, |first| last_growth - first);
    let startup = first_replayed.map_or(Duration::ZERO, |first| first - starting);
    let node_cpu = poll_support::cpu_time(&collect.pid());
    let node_peak_mb = poll_support::process_status_mb(&collect.pid(), "VmHWM");
    let consumer_cpu = peer_cpu(Some(consumer.pid())).saturating_sub(consumer_before);
    let broker_cpu = peer_cpu(broker.pid()).saturating_sub(broker_before);
    collect.stop();
    Replay {
        samples,
        elapsed,
        startup,
        write_time,
        replayed,
        node_cpu,
        node_peak_mb,
        consumer_cpu,
        broker_cpu,
    }
}

fn main() {
    // `cargo test --benches` lists benches; there is nothing to run then.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let devices = env_number("PLANTWATCH_BENCH_DEVICES", 400) as usize;
    let seconds = env_number("PLANTWATCH_BENCH_SECONDS", 30);
    let replay_devices = env_number("PLANTWATCH_BENCH_REPLAY_DEVICES", 1000) as usize;
    println!("binary: {}", binary().display());

    // `PLANTWATCH_BENCH_ONLY=live` or `=replay` runs one half.
    let only = std::env::var("PLANTWATCH_BENCH_ONLY").unwrap_or_default();
    let live = (only != "replay").then(|| live(devices, seconds));
    let replay = (only != "live").then(|| replay(replay_devices));

    println!();
    println!(
        "| Sparkplug B at Mosquitto (QoS 1), {} cores | measured | goal | reference |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---|---|---|");
    if let Some(live) = live {
        println!(
            "| live metrics/s at the consumer ({devices} devices x {REGISTERS}, 1,000 random changes a second each) | {:.0} | >= {GOAL_LIVE:.0} | Neuron ~{NEURON_POINTS_PER_S:.0} points/s on 4 cores |",
            live.metrics_per_s
        );
        println!(
            "| live metrics/s published in the window (incl. what the consumer drained after) | {:.0} | | |",
            live.drained_per_s
        );
        println!(
            "| live DDATA messages/s; collect's CPU (% of one core) | {:.0}; {:.0}% | | |",
            live.broker_messages_per_s, live.node_cpu
        );
    }
    if let Some(replay) = replay {
        // The replay rate scaled to the full bench plant's hour (360 million samples) when fewer
        // devices ran.
        let rate = replay.replayed as f64 / replay.elapsed.as_secs_f64().max(0.001);
        let full_hour = 1000.0 * f64::from(REGISTERS) * 3600.0 * 0.1;
        let full_hour_time = full_hour / rate.max(1.0);
        println!(
            "| replay: {} of {} samples ({replay_devices} devices x 1 h) in {:.1} s (history written in {:.1} s) | {:.0} samples/s | | |",
            replay.replayed,
            replay.samples,
            replay.elapsed.as_secs_f64(),
            replay.write_time.as_secs_f64(),
            rate
        );
        println!(
            "| replay start-up: collect started to first replayed metric at the consumer | {:.1} s | | |",
            replay.startup.as_secs_f64()
        );
        println!(
            "| collect during the replay (start-up and live polling included): CPU s per million replayed; peak resident | {:.2} s; {:.0} MB | | |",
            replay.node_cpu.as_secs_f64() / (replay.replayed.max(1) as f64 / 1e6),
            replay.node_peak_mb
        );
        // What the other processes on the same cores took for the same samples: with them, how many
        // samples a second two cores could replay at best.
        let per_million = |cpu: Duration| cpu.as_secs_f64() / (replay.replayed.max(1) as f64 / 1e6);
        println!(
            "| the consumer (pysparkplug) and Mosquitto over the same span: CPU s per million replayed | {:.2} s and {:.2} s | | |",
            per_million(replay.consumer_cpu),
            per_million(replay.broker_cpu)
        );
        println!(
            "| one hour of the 1,000-device bench plant (360 M samples) at that rate | {:.0} s | < {} s | |",
            full_hour_time,
            GOAL_REPLAY.as_secs()
        );
    }
}
