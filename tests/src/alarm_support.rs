//! Support for the alarm tests (`tests/tests/alarms.rs`): synthetic journals from text, running
//! `plantwatch alarms`, `plantwatch collect` in the background, and watching the journal grow. The
//! simulator they collect from is [`crate::sim_support::SimProcess`].

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use plantwatch_alarm::{AlarmKind, Journal, JournalEntry, Transition};
use plantwatch_core::{testing, Priority, Timestamp};

use crate::plantwatch_bin;

/// Time zero of synthetic journals: 2026-11-26T00:00:00Z (aligned to a 10-minute period).
pub const JOURNAL_START: i64 = 1_795_651_200_000;

/// Reads a synthetic journal: `SECONDS TAG KIND PRIORITY STATE [value=V] [limit=L] [user=U]
/// [comment="..."] [message="..."]` per line (seconds after [`JOURNAL_START`]); `#` starts a comment.
/// The message defaults to `"TAG KIND"`.
pub fn journal_from_text(text: &str) -> Vec<JournalEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|line| {
            let w = testing::words(line);
            let option = |name: &str| {
                w.iter()
                    .find_map(|x| x.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                    .map(str::to_string)
            };
            let number = |name: &str| option(name).map(|v| v.parse::<f64>().expect("a number"));
            let secs: f64 = w[0].parse().expect("seconds");
            JournalEntry {
                time: Timestamp(JOURNAL_START + (secs * 1000.0).round() as i64),
                tag: w[1].clone(),
                kind: AlarmKind::from_name(&w[2]).expect("alarm kind"),
                priority: Priority::from_name(&w[3]).expect("priority"),
                state: Transition::from_name(&w[4]).expect("journal state"),
                value: number("value"),
                limit: number("limit"),
                message: option("message").unwrap_or_else(|| format!("{} {}", w[1], w[2])),
                user: option("user"),
                comment: option("comment"),
                shelved_until: None,
            }
        })
        .collect()
}

/// Writes a synthetic journal (from a file under `tests/data/`) into a new plant database.
pub fn write_journal(db: &Path, data_file: &str) {
    let text = std::fs::read_to_string(crate::data(data_file)).expect("read the synthetic journal");
    let entries = journal_from_text(&text);
    Journal::open(db)
        .expect("open the journal")
        .write(&entries, &[])
        .expect("write the journal");
}

/// Runs `plantwatch alarms` with the arguments.
pub fn run_alarms(args: &[&str]) -> Output {
    Command::new(plantwatch_bin())
        .arg("alarms")
        .args(args)
        .output()
        .expect("run plantwatch alarms")
}

/// `plantwatch collect` running in the background, killed on drop unless stopped.
pub struct Collector {
    child: Option<Child>,
}

impl Collector {
    /// Starts collecting `config` into `db` (with a generous duration as a safety net).
    pub fn start(config: &Path, db: &Path) -> Collector {
        let child = Command::new(plantwatch_bin())
            .arg("collect")
            .arg(config)
            .arg("--db")
            .arg(db)
            .args(["--duration", "180s", "--status-every", "10s"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start plantwatch collect");
        Collector { child: Some(child) }
    }

    /// Stops it with SIGTERM, as a service manager would, and returns its output.
    pub fn stop(mut self) -> Output {
        let child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        child.wait_with_output().expect("wait for collect")
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The journal so far (empty while the database or its alarm tables do not exist yet).
pub fn journal_so_far(db: &Path) -> Vec<JournalEntry> {
    plantwatch_alarm::JournalReader::open(db)
        .and_then(|r| r.entries(plantwatch_alarm::JournalQuery::default()))
        .unwrap_or_default()
}

/// Polls the journal every 200 ms until `done` holds, or panics after `within`.
pub fn wait_for_journal(
    db: &Path,
    within: Duration,
    what: &str,
    done: impl Fn(&[JournalEntry]) -> bool,
) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let journal = journal_so_far(db);
        if done(&journal) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}; the journal has:\n{}",
            journal
                .iter()
                .map(|e| format!("{} {} {} {}", e.time, e.tag, e.kind.name(), e.state.name()))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
