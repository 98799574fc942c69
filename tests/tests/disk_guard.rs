//! Issue 15, "Never a full disk": `plantwatch collect` against the real `plantwatch simulate`, its history on
//! a small tmpfs (mounted and unmounted by the test) that a ballast file fills during the collect. Below
//! `[history] min_free` the system alarm "history disk low" is raised (journaled, listed by `plantwatch
//! alarms`); below half of it the oldest raw samples go while new ones keep arriving; once the ballast is
//! gone the alarm clears; the file passes `PRAGMA integrity_check` and opens.
//!
//! The test needs root (it mounts a tmpfs). Where mount is refused it fails, saying so: a disk guard
//! that was never tried on a real small filesystem is not tested.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use plantwatch_history::{HistoryReader, SampleQuery};
use plantwatch_system_tests::engine_support::{
    system_alarm_journal, write_config, CollectProcess as Collector,
};
use plantwatch_system_tests::sim_support::SimProcess;

const MIB: u64 = 1 << 20;
/// The tmpfs the history lives on.
const DISK_MIB: u64 = 64;
/// `[history] min_free`: the alarm below 40 MiB free, the oldest raw samples dropped below 20 MiB.
const MIN_FREE_MIB: u64 = 40;
/// The test plant polls every 100 ms.
const POLL: Duration = Duration::from_millis(100);

/// A size-limited tmpfs mounted for one test, unmounted (lazily, so an open file cannot keep it) on drop.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `mib` MiB at `path`; fails the test when this machine refuses.
    fn mount(path: &Path, mib: u64) -> SmallDisk {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a {mib} MiB tmpfs and needs root (CI runs as root); mount refused: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        SmallDisk {
            path: path.to_path_buf(),
        }
    }

    /// Bytes an unprivileged writer may still use, as `df` says (`stat -f`: available blocks × size).
    fn free(&self) -> u64 {
        let out = Command::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(&self.path)
            .output()
            .expect("run stat -f");
        let text = String::from_utf8_lossy(&out.stdout);
        let numbers: Vec<u64> = text
            .split_whitespace()
            .map(|n| n.parse().expect("stat -f prints numbers"))
            .collect();
        numbers[0] * numbers[1]
    }

    /// Grows (or creates) the ballast file until about `free` bytes are left.
    fn leave_free(&self, free: u64) -> PathBuf {
        let ballast = self.path.join("ballast");
        let grow = self.free().saturating_sub(free);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&ballast)
            .expect("open the ballast");
        let block = vec![0x5au8; 1 << 20];
        let mut left = grow as usize;
        while left > 0 {
            let n = left.min(block.len());
            file.write_all(&block[..n]).expect("write the ballast");
            left -= n;
        }
        file.sync_all().expect("sync the ballast");
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The journal's entries of the system alarm "history disk low": their states in order (`active`,
/// `cleared`).
fn disk_alarm_journal(db: &Path) -> Vec<String> {
    system_alarm_journal(db, "history_disk_low")
        .into_iter()
        .map(|e| {
            assert_eq!(e["priority"], "high", "{e}");
            assert_eq!(e["message"], "history disk low", "{e}");
            e["state"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// Waits until the journal's entries of the disk alarm are `expected`.
fn journal_until(db: &Path, expected: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let states = disk_alarm_journal(db);
        if states == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the journal's 'history disk low' entries are {states:?}, not {expected:?}, after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every raw sample time in the file (all tags), sorted.
fn sample_times(db: &Path) -> Vec<i64> {
    let reader = HistoryReader::open(db).expect("open the history");
    let mut times = Vec::new();
    reader
        .for_each_sample(&SampleQuery::default(), |s| times.push(s.time.0))
        .expect("read the samples");
    times.sort_unstable();
    times
}

/// The longest gap between consecutive sample times from `since` on (ms), and the newest time.
fn longest_gap_since(times: &[i64], since: i64) -> (i64, i64) {
    let recent: Vec<i64> = times.iter().copied().filter(|&t| t >= since).collect();
    let gap = recent
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(i64::MAX);
    (gap, recent.last().copied().unwrap_or(i64::MIN))
}

fn now_ms() -> i64 {
    plantwatch_core::Timestamp::now().as_millis()
}

#[test]
fn a_filling_disk_raises_the_alarm_drops_the_oldest_raw_samples_and_never_stops_polling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = SmallDisk::mount(&dir.path().join("small"), DISK_MIB);
    // Sped up, so the station's measurements change between polls of 100 ms.
    let sim = SimProcess::tcp(&["--speed", "20"]);
    let config = write_config(
        dir.path(),
        "disk_guard.toml",
        &[
            ("port", sim.port().to_string()),
            ("min_free", format!("{MIN_FREE_MIB}MiB")),
        ],
    );
    let db = disk.path.join("plant.db");
    let mut collect = Collector::start(&config, &db, &[]);
    let started = now_ms();
    collect.status_until("samples stored", Duration::from_secs(20), |s| s.stored > 0);
    // Some history to drop later: ten seconds of it.
    let calm = collect.status_until("ten seconds of history", Duration::from_secs(20), |s| {
        now_ms() - started > 10_000 && s.line.contains("devices 1/1 online")
    });
    assert!(
        !calm.disk_low(),
        "{} MiB free: {}",
        disk.free() / MIB,
        calm.line
    );
    assert_eq!(disk_alarm_journal(&db), Vec::<String>::new());
    let oldest_before = *sample_times(&db).first().expect("samples stored");

    // Below min_free, above its half: the alarm, nothing dropped.
    let ballast = disk.leave_free(30 * MIB);
    let low = collect.status_until("the disk shown low", Duration::from_secs(10), |s| {
        s.disk_low()
    });
    journal_until(&db, &["active"], Duration::from_secs(10));
    assert_eq!(
        low.shed, 0,
        "nothing dropped above half of min_free: {}",
        low.line
    );

    // Below half of min_free: the oldest raw samples go, new ones keep coming.
    disk.leave_free(12 * MIB);
    let shrinking_at = now_ms();
    let shed = collect.status_until(
        "old samples dropped for disk space",
        Duration::from_secs(30),
        |s| s.shed > 0,
    );
    // Ten more seconds of polling on the shrinking disk.
    let later = collect.status_until("ten more seconds", Duration::from_secs(20), |_| {
        now_ms() - shrinking_at > 10_000
    });
    assert!(
        later.stored > shed.stored,
        "samples still stored: {}",
        later.line
    );
    assert!(later.line.contains("devices 1/1 online"), "{}", later.line);
    let times = sample_times(&db);
    let oldest_now = *times.first().expect("samples kept");
    assert!(
        oldest_now > oldest_before,
        "the oldest raw samples were dropped: the history starts at {oldest_now}, as before ({oldest_before})"
    );
    let (gap, newest) = longest_gap_since(&times, shrinking_at);
    eprintln!(
        "disk guard: {} samples dropped, raw history now starts {} s later, longest gap while shrinking {gap} ms, {} MiB free",
        later.shed,
        (oldest_now - oldest_before) / 1000,
        disk.free() / MIB
    );
    assert!(
        gap <= 5 * POLL.as_millis() as i64,
        "polling never stopped: a gap of {gap} ms in the samples since the disk went below the floor"
    );
    assert!(
        now_ms() - newest < 3_000,
        "the newest sample is recent: {} ms old",
        now_ms() - newest
    );
    assert!(
        collect
            .log()
            .iter()
            .any(|l| l.contains("raw samples from") && l.contains("their summaries stay")),
        "a log line says what was dropped:\n{}",
        collect.seen().join("\n")
    );

    // The ballast goes: the alarm clears.
    std::fs::remove_file(&ballast).expect("remove the ballast");
    let clear = collect.status_until("the disk no longer low", Duration::from_secs(10), |s| {
        !s.disk_low()
    });
    journal_until(&db, &["active", "cleared"], Duration::from_secs(10));
    let (code, _, rest) = collect.terminate();
    assert_eq!(
        code,
        Some(0),
        "no sample was lost for want of a commit ({}):\n{rest}",
        clear.line
    );

    // The file is whole and opens.
    let conn = rusqlite::Connection::open(&db).expect("open the file");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    drop(conn);
    assert!(!sample_times(&db).is_empty(), "the history reads");
    drop(sim);
    drop(disk);
}
