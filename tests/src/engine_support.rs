//! Support for the collector and engine tests (`tests/tests/collect.rs`, `tests/tests/faults.rs`,
//! `tests/tests/engine_write.rs`): the engine's pymodbus peer (`tests/peers/engine_plant_server.py`,
//! with a poll counter register and per-unit mute and delay), plant configs from templates in
//! `tests/data/collect/`, running `plantwatch collect`, reading back what it stored, and watching an
//! in-process engine's live values.
//!
//! A "poll counter" register goes up by one on every read that covers it, so each poll of a device
//! stores exactly one new sample of that tag: counting stored samples counts polls.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use plantwatch_core::{Quality, Value};
use plantwatch_engine::{Engine, TagLive};
use plantwatch_history::{HistoryReader, SampleQuery, StoredSample};

use crate::peers::{PythonServer, Transport};
use crate::{data, plantwatch_bin};

/// How the engine's pymodbus peer is reached.
#[derive(Debug, Clone)]
pub enum Serve {
    /// Modbus TCP on 127.0.0.1.
    Tcp,
    /// RTU frames over TCP on 127.0.0.1 (a serial-to-Ethernet gateway).
    RtuOverTcp,
    /// RTU on a serial port (one end of a socat pair), 8N1.
    Serial { path: PathBuf, baud: u32 },
}

/// The engine's pymodbus peer (its stderr silenced), killed on drop. Restartable on the same port (a
/// device that comes back).
pub struct PlantServer {
    server: PythonServer,
}

impl PlantServer {
    /// Starts the server with a spec from `tests/data/collect/`.
    pub fn start(spec_name: &str, serve: Serve) -> PlantServer {
        let transport = match serve {
            Serve::Tcp => Transport::Tcp,
            Serve::RtuOverTcp => Transport::RtuOverTcp,
            Serve::Serial { path, baud } => Transport::Serial {
                path,
                baud,
                parity: 'N',
            },
        };
        let spec = data(&format!("collect/{spec_name}"));
        PlantServer {
            server: PythonServer::start(
                "engine_plant_server.py",
                vec![spec.into_os_string()],
                transport,
                true,
            ),
        }
    }

    /// The TCP port (0 on a serial line).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Kills the server: the device is gone (connections refused).
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Starts it again on the same port, with its values as in the spec.
    pub fn restart(&mut self) {
        self.server.restart();
    }

    /// Sends `mute UNIT`, `unmute UNIT` or `delay UNIT MS` and waits for the acknowledgement.
    pub fn command(&mut self, line: &str) {
        let answer = self.server.ask(line);
        assert_eq!(answer, format!("OK {line}"), "server refused `{line}`");
    }
}

/// Writes `tests/data/collect/<template>` into `dir` as `plant.toml`, replacing each `{name}` with its
/// value.
pub fn write_config(dir: &Path, template: &str, vars: &[(&str, String)]) -> PathBuf {
    let mut text = std::fs::read_to_string(data(&format!("collect/{template}")))
        .expect("read config template");
    for (name, value) in vars {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    let path = dir.join("plant.toml");
    std::fs::write(&path, text).expect("write plant.toml");
    path
}

/// Runs `plantwatch collect CONFIG --db DB --duration D` to the end.
pub fn run_collect(config: &Path, db: &Path, duration: &str) -> Output {
    Command::new(plantwatch_bin())
        .arg("collect")
        .arg(config)
        .arg("--db")
        .arg(db)
        .args(["--duration", duration, "--status-every", "1s"])
        .output()
        .expect("run plantwatch collect")
}

/// The journal's entries of Plantwatch's system alarm `kind` (`history_disk_low`, `report_failed`), as
/// `plantwatch alarms --format jsonl` lists them, in order.
pub fn system_alarm_journal(db: &Path, kind: &str) -> Vec<serde_json::Value> {
    let out = Command::new(plantwatch_bin())
        .args(["alarms", "--format", "jsonl", "--db"])
        .arg(db)
        .output()
        .expect("run plantwatch alarms");
    assert!(
        out.status.success(),
        "plantwatch alarms: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|e| e["tag"] == "plantwatch" && e["kind"] == kind)
        .collect()
}

/// Every stored sample, by full tag id, in time order.
pub fn stored(db: &Path) -> BTreeMap<String, Vec<StoredSample>> {
    let reader = HistoryReader::open(db).expect("open the history");
    let mut by_tag: BTreeMap<String, Vec<StoredSample>> = BTreeMap::new();
    let query = SampleQuery::default();
    reader
        .for_each_sample(&query, |s| {
            by_tag.entry(s.tag.to_string()).or_default().push(s.clone())
        })
        .expect("read samples");
    by_tag
}

/// Polls `condition` every 20 ms until it holds, failing after `within`.
pub fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The engine's latest reading of a tag (`DEVICE/TAG`).
pub fn live(engine: &Engine, full_id: &str) -> TagLive {
    let tag = engine
        .plant()
        .find_tag(full_id)
        .unwrap_or_else(|| panic!("{full_id} is not in the plant"));
    engine.live()[tag.0 as usize].clone()
}

/// Polls a tag's live reading every 20 ms until `condition` holds, failing after `within` with the
/// reading it last saw.
pub async fn wait_for_live(
    engine: &Engine,
    full_id: &str,
    what: &str,
    within: Duration,
    condition: impl Fn(&TagLive) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let now = live(engine, full_id);
        if condition(&now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}; {full_id} is {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks that the last stored sample of each tag is good and has the expected value
/// (`tests/data/collect/<name>.expected.json`: full tag id -> number, boolean or text).
pub fn check_values(samples: &BTreeMap<String, Vec<StoredSample>>, expected_file: &str) {
    let text = std::fs::read_to_string(data(&format!("collect/{expected_file}")))
        .expect("read expected values");
    let expected: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&text).expect("expected values are JSON");
    for (tag, want) in expected {
        let last = samples
            .get(&tag)
            .and_then(|s| s.last())
            .unwrap_or_else(|| panic!("no sample of {tag} was stored"));
        assert_eq!(
            last.quality,
            Quality::Good,
            "{tag} should be good, got {}",
            last.quality
        );
        let got = last
            .value
            .clone()
            .unwrap_or_else(|| panic!("{tag} has no value"));
        let matches = match (&want, &got) {
            (serde_json::Value::Bool(w), Value::Bool(g)) => w == g,
            (serde_json::Value::Number(w), Value::Number(g)) => {
                let w = w.as_f64().expect("a number");
                (w - g).abs() <= 1e-9 * w.abs().max(1.0)
            }
            (serde_json::Value::String(w), Value::Text(g)) => w.as_str() == &**g,
            _ => false,
        };
        assert!(matches, "{tag}: expected {want}, stored {got:?}");
    }
}

/// Checks that a poll counter was read on every poll: its stored values run 1, 2, 3, ... without a gap,
/// and there are about as many as the duration allows at the device's period.
///
/// Tolerance: polls fall on absolute deadlines `start + k * period`, so a run of `d` yields
/// `floor(d / period) + 1` polls; the first one waits for the connection and the run's clock starts
/// before the engine does, so up to two fewer are fine, never more.
pub fn check_poll_count(
    samples: &BTreeMap<String, Vec<StoredSample>>,
    tag: &str,
    duration: Duration,
    period: Duration,
) {
    let polls = samples
        .get(tag)
        .unwrap_or_else(|| panic!("no sample of {tag}"));
    let values: Vec<f64> = polls
        .iter()
        .filter_map(|s| s.value.as_ref().and_then(Value::as_f64))
        .collect();
    let expected: Vec<f64> = (1..=values.len()).map(|n| n as f64).collect();
    assert_eq!(
        values, expected,
        "{tag}: every poll read the counter once, and every read was stored"
    );
    let most = (duration.as_millis() / period.as_millis()) as usize + 1;
    assert!(
        values.len() <= most && values.len() + 2 >= most,
        "{tag}: {} polls in {duration:?} at {period:?} (expected {most}, at most 2 fewer)",
        values.len()
    );
}

/// What one status line of `collect` says about the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectStatus {
    pub line: String,
    pub stored: u64,
    pub waiting: u64,
    pub dropped: u64,
    pub write_errors: u64,
    /// `, N old samples dropped for disk space`: 0 when absent.
    pub shed: u64,
}

impl CollectStatus {
    /// Reads `... N samples stored, ... history W waiting, D dropped, E write errors ...` (and the disk
    /// guard's `N old samples dropped for disk space`); `None` for any other line.
    pub fn parse(line: &str) -> Option<CollectStatus> {
        let number_before = |marker: &str| -> Option<u64> {
            let at = line.find(marker)?;
            line[..at].rsplit([' ', ',']).next()?.parse().ok()
        };
        Some(CollectStatus {
            line: line.to_string(),
            stored: number_before(" samples stored")?,
            waiting: number_before(" waiting,")?,
            dropped: number_before(" dropped,")?,
            write_errors: number_before(" write errors")?,
            shed: number_before(" old samples dropped for disk space").unwrap_or(0),
        })
    }

    /// The history file refuses commits right now.
    pub fn failing(&self) -> bool {
        self.line.contains("(failing: ")
    }

    /// The history's disk is below `min_free`.
    pub fn disk_low(&self) -> bool {
        self.line.contains(", disk low (")
    }
}

/// A running `plantwatch collect` (status every 200 ms), its stderr lines on a channel; killed on drop.
pub struct CollectProcess {
    child: Child,
    lines: Receiver<String>,
    /// Every stderr line so far, for failure messages.
    seen: Vec<String>,
}

impl CollectProcess {
    pub fn start(config: &Path, db: &Path, extra: &[&str]) -> CollectProcess {
        let mut child = Command::new(plantwatch_bin())
            .arg("collect")
            .arg(config)
            .arg("--db")
            .arg(db)
            .args(["--status-every", "200ms"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start plantwatch collect");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        CollectProcess {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a status line that satisfies `condition`, failing the test after `within`.
    pub fn status_until(
        &mut self,
        what: &str,
        within: Duration,
        condition: impl Fn(&CollectStatus) -> bool,
    ) -> CollectStatus {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no status line within {within:?} with {what}; stderr so far:\n{}",
                    self.seen.join("\n")
                )
            });
            self.seen.push(line.clone());
            if let Some(status) = CollectStatus::parse(&line) {
                if condition(&status) {
                    return status;
                }
            }
        }
    }

    /// Every stderr line read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Every stderr line so far that is not a status line (the collector's log).
    pub fn log(&self) -> Vec<&String> {
        self.seen
            .iter()
            .filter(|l| CollectStatus::parse(l).is_none())
            .collect()
    }

    /// Sends SIGTERM (as systemd does) and waits for the exit; returns the exit code, how long the stop
    /// took, and the rest of stderr.
    pub fn terminate(mut self) -> (Option<i32>, Duration, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM to {pid}");
        let asked = Instant::now();
        let status = self.child.wait().expect("wait for collect");
        let took = asked.elapsed();
        // The reader thread ends with the pipe; what it has not sent yet is the tail of stderr.
        let rest: Vec<String> = self.lines.iter().collect();
        (status.code(), took, rest.join("\n"))
    }
}

impl Drop for CollectProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
