//! History write amplification on the data's clock (issue 15): the 1,000-device benchmark plant's
//! pattern (1,000 devices x 1,000 u16 registers, the same ~100 random registers of every device changing
//! each second, so ~100,000 changed samples a second over a million tags) fed through [`Backfill`], which
//! runs the writer's own commits every half second, seals and compaction on the data's clock. Ten minutes
//! of data take a few minutes here instead of the ten of `poll_thousand_devices`, so a change to the
//! writer can be weighed quickly; the judged figure stays that benchmark's.
//!
//! Prints the bytes the process made the kernel write to the disk (`write_bytes` of `/proc/self/io`,
//! counted when a page is dirtied) per stored sample: in total, for the plain commits (log appends and
//! the WAL checkpoints they cause) and for the commits followed by a seal and its compaction.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench history_write_amplification`
//! (`PLANTWATCH_BENCH_SECONDS=S` seconds of data, 720 by default; `PLANTWATCH_BENCH_DEVICES=N`).

mod poll_support;

use std::time::{Duration, Instant};

use plantwatch_core::{Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_history::Backfill;
use plantwatch_system_tests::proc_io;

/// 2026-11-25T00:00:00Z in ms.
const BASE_MS: i64 = 1_795_564_800_000;
const REGISTERS: u32 = 1000;
/// Registers given a new value each second (10% of 1,000, with repeats, as the bench server does).
const CHANGES_PER_SECOND: usize = 100;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: the same data every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn main() {
    let devices = env_number("PLANTWATCH_BENCH_DEVICES", 1000) as u32;
    let seconds = env_number("PLANTWATCH_BENCH_SECONDS", 720) as i64;
    let dir = tempfile::tempdir_in(plantwatch_system_tests::out_dir("bench")).expect("temp dir");
    let db = dir.path().join("wa.db");
    let plant = poll_support::plant(
        devices as usize,
        1,
        REGISTERS as u16,
        Duration::from_secs(1),
        &db,
    );
    let mut backfill = Backfill::open(&db, &plant, Timestamp(BASE_MS)).expect("open");
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut values = vec![0u16; REGISTERS as usize];

    let (mut commit_bytes, mut commits) = (0u64, 0u64);
    let (mut seal_bytes, mut seals) = (0u64, 0u64);
    let mut stored = 0u64;
    let started = Instant::now();
    let written0 = proc_io("write_bytes");
    let mut deltas: Vec<u64> = Vec::new();
    for s in 0..seconds {
        let mut changed: Vec<u32> = (0..CHANGES_PER_SECOND)
            .map(|_| (random.next() % u64::from(REGISTERS)) as u32)
            .collect();
        changed.sort_unstable();
        changed.dedup();
        for &r in &changed {
            values[r as usize] = random.next() as u16;
        }
        // Two commits a second, each of the devices polled in its half.
        for half in 0..2u32 {
            let from = devices * half / 2;
            let to = devices * (half + 1) / 2;
            let mut batch = Vec::with_capacity((to - from) as usize * changed.len());
            for d in from..to {
                let time = BASE_MS + s * 1000 + i64::from(d % 1000);
                for &r in &changed {
                    batch.push(Sample {
                        tag: TagIndex(d * REGISTERS + r),
                        time: Timestamp(time),
                        value: Some(Value::Number(f64::from(values[r as usize]))),
                        quality: Quality::Good,
                    });
                }
            }
            stored += batch.len() as u64;
            let now = Timestamp(BASE_MS + s * 1000 + 500 * i64::from(half + 1));
            let before = proc_io("write_bytes");
            backfill.store(batch, now).expect("store");
            let delta = proc_io("write_bytes") - before;
            deltas.push(delta);
        }
    }
    let total = proc_io("write_bytes") - written0;
    let elapsed = started.elapsed();
    // A commit that wrote far more than the usual one carried a seal and its compaction.
    let mut sorted = deltas.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2].max(1);
    for (i, &d) in deltas.iter().enumerate() {
        if std::env::var_os("PLANTWATCH_BENCH_VERBOSE").is_some() && d > 5 * median {
            eprintln!(
                "commit {i} (data second {}): {:.1} MB",
                i / 2,
                d as f64 / 1e6
            );
        }
        if d > 5 * median {
            seal_bytes += d;
            seals += 1;
        } else {
            commit_bytes += d;
            commits += 1;
        }
    }
    let per = |b: u64| b as f64 / stored as f64;
    let file = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "history write amplification: {devices} devices x {REGISTERS} registers, {seconds} s of data \
         ({stored} samples) in {:.1} s ({:.0} samples/s)",
        elapsed.as_secs_f64(),
        stored as f64 / elapsed.as_secs_f64()
    );
    println!("{:<52} {:>10} {:>12}", "", "count", "B/sample");
    println!(
        "{:<52} {:>10} {:>12.1}",
        "plain commits (log appends, WAL, checkpoints)",
        commits,
        per(commit_bytes)
    );
    println!(
        "{:<52} {:>10} {:>12.1}",
        "commits with a seal and its compaction",
        seals,
        per(seal_bytes)
    );
    println!(
        "{:<52} {:>10} {:>12.1}",
        "total disk writes (write_bytes)",
        "",
        per(total)
    );
    let year = 365.25 * 86_400.0;
    println!(
        "{:<52} {:>10} {:>9.0} GB",
        "  disk writes a year at this rate (data clock)",
        "",
        total as f64 / seconds as f64 * year / 1e9
    );
    println!("{:<52} {:>10} {:>12.1}", "file size", "", per(file));
    if std::env::var_os("PLANTWATCH_BENCH_VERBOSE").is_some() {
        let conn = rusqlite::Connection::open(&db).expect("read");
        let mut stmt = conn
            .prepare(
                "SELECT l.packed, count(*), sum(l.samples), sum(length(d.data)) FROM log l
                 JOIN log_data d ON d.seq = l.seq GROUP BY l.packed",
            )
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .expect("log");
        for row in rows {
            let (packed, n, samples, bytes) = row.expect("row");
            eprintln!(
                "log rows packed={packed}: {n} rows, {samples} samples, {bytes} bytes ({:.1} B/sample)",
                bytes as f64 / samples.max(1) as f64
            );
        }
    }
    // What readers of recent samples pay for the log the writer holds until the seal (up to four hours,
    // packed every ten minutes): one tag's last four hours, sample by sample and as a 1,000-column
    // trend, each the best of three reads on a fresh read-only connection.
    let recent_tag = format!("dev{}/r500", devices - 1);
    let end = BASE_MS + seconds * 1000;
    let best_of_three = |read: &dyn Fn(&plantwatch_history::HistoryReader) -> usize| {
        (0..3)
            .map(|_| {
                let reader = plantwatch_history::HistoryReader::open(&db).expect("reader");
                let at = Instant::now();
                let n = read(&reader);
                (at.elapsed(), n)
            })
            .min()
            .expect("three reads")
    };
    let (samples_read, n) = best_of_three(&|reader| {
        let query = plantwatch_history::SampleQuery {
            tags: vec![recent_tag.clone()],
            from: Some(Timestamp(end - 4 * 3_600_000)),
            to: Some(Timestamp(end)),
        };
        let mut n = 0;
        reader.for_each_sample(&query, |_| n += 1).expect("read");
        n
    });
    let (trend_read, _) = best_of_three(&|reader| {
        reader
            .thinned(
                &recent_tag,
                Timestamp(end - 4 * 3_600_000),
                Timestamp(end),
                1000,
            )
            .expect("trend")
            .len()
    });
    println!(
        "{:<52} {:>10} {:>9.1} ms",
        format!("read {recent_tag}'s last 4 h ({n} samples)"),
        "",
        samples_read.as_secs_f64() * 1000.0
    );
    println!(
        "{:<52} {:>10} {:>9.1} ms",
        "  the same as a 1,000-column trend",
        "",
        trend_read.as_secs_f64() * 1000.0
    );
    let close = Instant::now();
    let before = proc_io("write_bytes");
    backfill.close().expect("close");
    println!(
        "{:<52} {:>10} {:>12.1}   ({:.1} s)",
        "close (seal of the rest, not counted above)",
        "",
        per(proc_io("write_bytes") - before),
        close.elapsed().as_secs_f64()
    );
}
