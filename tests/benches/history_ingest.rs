//! History ingest: samples per second through `HistoryWriter` and bytes per stored sample on disk, next to
//! a naive SQLite table `(tag, time, value)` filled with a prepared statement in one transaction, measured
//! on the same samples in the same run. Also the read side the desktop relies on: a trend of 4 tags over
//! 7 days of 1 s samples thinned to 1,500 columns, and the streamed export read rate.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench history_ingest`
//! (`PLANTWATCH_BENCH_SAMPLES=N` and `PLANTWATCH_BENCH_TAGS=N` change the ingest size; defaults 2,000,000
//! samples over 2,000 tags).

use std::path::Path;
use std::time::{Duration, Instant};

use plantwatch_core::{Plant, Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_history::{HistoryReader, HistoryWriter, SampleQuery, WriterOptions};
use plantwatch_system_tests::history_support::numeric_plant;

/// 2026-11-25T00:00:00Z in ms.
const BASE_MS: i64 = 1_795_564_800_000;
/// Tags per device: one send is one poll cycle of one device.
const TAGS_PER_DEVICE: usize = 100;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Poll cycles of every device, one sample per tag per second; values wander with two decimals, as
/// scaled analog readings do (so they are stored as 8-byte reals, not small integers).
fn poll_cycles(tags: usize, samples: usize) -> Vec<Vec<Sample>> {
    let seconds = samples.div_ceil(tags);
    let mut cycles = Vec::with_capacity(seconds * tags.div_ceil(TAGS_PER_DEVICE));
    for s in 0..seconds {
        for first in (0..tags).step_by(TAGS_PER_DEVICE) {
            let cycle = (first..(first + TAGS_PER_DEVICE).min(tags))
                .map(|t| Sample {
                    tag: TagIndex(t as u32),
                    time: Timestamp(BASE_MS + s as i64 * 1000 + (t % 50) as i64),
                    value: Some(Value::Number(
                        40.0 + ((s * 7 + t * 13) % 1000) as f64 * 0.01,
                    )),
                    quality: Quality::Good,
                })
                .collect();
            cycles.push(cycle);
        }
    }
    cycles
}

/// The database's size once its WAL is folded in.
fn checkpointed_size(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).expect("open for checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(conn);
    std::fs::metadata(db).expect("db size").len()
}

struct Measured {
    samples: u64,
    elapsed: Duration,
    bytes: u64,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.samples as f64 / self.elapsed.as_secs_f64()
    }
    fn bytes_per_sample(&self) -> f64 {
        self.bytes as f64 / self.samples as f64
    }
}

/// Sends every cycle through a sink (as the poll loop does) and closes the writer (which flushes).
fn through_writer(db: &Path, plant: &Plant, cycles: Vec<Vec<Sample>>) -> Measured {
    let samples: u64 = cycles.iter().map(|c| c.len() as u64).sum();
    // Every cycle is sent at once, faster than any commit: the whole input may wait in the queue (a poll
    // loop's queue is bounded and drops the oldest samples when full).
    let unbounded = WriterOptions {
        queue_samples: Some(usize::MAX),
    };
    let writer = HistoryWriter::open_with(db, plant, unbounded).expect("open writer");
    let sink = writer.sink();
    let started = Instant::now();
    for cycle in cycles {
        sink.send(cycle);
    }
    let stats = writer.close().expect("close writer");
    let elapsed = started.elapsed();
    assert_eq!(stats.stored, samples, "every sample stored: {stats:?}");
    Measured {
        samples,
        elapsed,
        bytes: checkpointed_size(db),
    }
}

/// The peer: a plain rowid table, one prepared INSERT per row, one transaction.
fn naive_table(db: &Path, cycles: &[Vec<Sample>]) -> Measured {
    let samples: u64 = cycles.iter().map(|c| c.len() as u64).sum();
    let conn = rusqlite::Connection::open(db).expect("open naive db");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    conn.execute_batch("CREATE TABLE samples (tag INTEGER, time INTEGER, value REAL)")
        .expect("create");
    let started = Instant::now();
    let tx = conn.unchecked_transaction().expect("begin");
    {
        let mut insert = tx
            .prepare("INSERT INTO samples (tag, time, value) VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for sample in cycles.iter().flatten() {
            let value = sample.value.as_ref().and_then(Value::as_f64);
            insert
                .execute((sample.tag.0, sample.time.as_millis(), value))
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    let elapsed = started.elapsed();
    drop(conn);
    Measured {
        samples,
        elapsed,
        bytes: checkpointed_size(db),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test` of benches passes nothing worth running for.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let samples = env_usize("PLANTWATCH_BENCH_SAMPLES", 2_000_000);
    let tags = env_usize("PLANTWATCH_BENCH_TAGS", 2_000);
    let dir = tempfile::tempdir().expect("temp dir");

    let plant = numeric_plant(
        &dir.path().join("w.db"),
        tags.div_ceil(TAGS_PER_DEVICE),
        TAGS_PER_DEVICE.min(tags),
    );
    let ours = through_writer(&dir.path().join("w.db"), &plant, poll_cycles(tags, samples));
    let peer = naive_table(&dir.path().join("naive.db"), &poll_cycles(tags, samples));

    // Trend: 4 tags x 7 days of 1 s samples, thinned to 1,500 columns each.
    let week = 7 * 24 * 3600;
    let trend_db = dir.path().join("trend.db");
    let trend_plant = numeric_plant(&trend_db, 1, 4);
    let trend_cycles: Vec<Vec<Sample>> = (0..week)
        .map(|s| {
            (0..4)
                .map(|t| Sample {
                    tag: TagIndex(t),
                    time: Timestamp(BASE_MS + s as i64 * 1000),
                    value: Some(Value::Number(
                        ((s * 31 + t as usize * 7) % 997) as f64 * 0.1,
                    )),
                    quality: Quality::Good,
                })
                .collect()
        })
        .collect();
    let trend_ingest = through_writer(&trend_db, &trend_plant, trend_cycles);
    let reader = HistoryReader::open(&trend_db).expect("open reader");
    let (from, to) = (Timestamp(BASE_MS), Timestamp(BASE_MS + week as i64 * 1000));
    let started = Instant::now();
    let mut points = 0;
    for t in 0..4 {
        let buckets = reader
            .thinned(&format!("dev000/t{t:04}"), from, to, 1500)
            .expect("thinned");
        points += buckets.iter().map(|b| b.count).sum::<u64>();
    }
    let thinned = started.elapsed();
    assert_eq!(points, 4 * week as u64, "every sample lands in a column");

    // Streamed export read rate over the ingest database, every tag merged in time order.
    let reader = HistoryReader::open(&dir.path().join("w.db")).expect("open reader");
    let started = Instant::now();
    let read = reader
        .for_each_sample(&SampleQuery::default(), |_| {})
        .expect("read all");
    let read_rate = read as f64 / started.elapsed().as_secs_f64();

    println!();
    println!(
        "history ingest: {} samples over {} tags ({} per send), then closed (flushed)",
        ours.samples, tags, TAGS_PER_DEVICE
    );
    println!(
        "{:<44} {:>14} {:>20} {:>8}",
        "", "HistoryWriter", "naive (tag,time,val)", "ratio"
    );
    println!(
        "{:<44} {:>14.0} {:>20.0} {:>8.2}",
        "samples per second",
        ours.per_second(),
        peer.per_second(),
        ours.per_second() / peer.per_second()
    );
    println!(
        "{:<44} {:>14.1} {:>20.1} {:>8.2}",
        "bytes per sample on disk (after checkpoint)",
        ours.bytes_per_sample(),
        peer.bytes_per_sample(),
        ours.bytes_per_sample() / peer.bytes_per_sample()
    );
    println!(
        "{:<44} {:>14.0} {:>20} {:>8}",
        "samples per second, 4 tags x 7 d (2.4M)",
        trend_ingest.per_second(),
        "-",
        ""
    );
    println!(
        "{:<44} {:>14.1} {:>20} {:>8.2}",
        "trend: 4 tags x 7 d of 1 s -> 1,500 cols (ms)",
        thinned.as_secs_f64() * 1000.0,
        "goal < 300",
        thinned.as_secs_f64() * 1000.0 / 300.0
    );
    println!(
        "{:<44} {:>14.0} {:>20} {:>8}",
        "export read rate, merged (samples/s)", read_rate, "-", ""
    );
    println!("goal: >= 250,000 samples/s through the writer");
}
