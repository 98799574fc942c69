//! History bytes per stored sample: a day of realistic 1 Hz signals of each kind (a noisy 12-bit analog
//! input, a slowly drifting temperature, a setpoint, a pump's run signal, an energy counter), polled with
//! a few ms of jitter, sealed through `HistoryWriter` as live collection does, then the chunk bytes read
//! back from SQLite and checked sample for sample. Next to them, in the same run: the same chunks in the
//! run format of history schema 3 (the plain run), that format compressed by zstd at level 3 chunk by
//! chunk (the `zstd` command as the peer; "-" without it), and a naive SQLite table
//! `(tag, time, value, quality)` of the same samples, measured, besides the 18 bytes of its raw columns.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench history_bytes`
//! (`PLANTWATCH_BENCH_HOURS=N` and `PLANTWATCH_BENCH_TAGS=N`, tags per kind, change the size; defaults 24
//! hours of 4 tags of each kind).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use plantwatch_core::{Cause, Quality, Sample, TagIndex, Timestamp, Value, ValueType};
use plantwatch_history::codec::{decode_run_vec, encode_plain_run, encode_run, Rec, RecValue};
use plantwatch_history::{HistoryWriter, WriterOptions};
use plantwatch_system_tests::history_support::{plant, tag};

/// 2026-11-25T00:00:00Z in ms.
const BASE_MS: i64 = 1_795_564_800_000;

/// The kinds of signal, one device each.
const KINDS: [Kind; 5] = [
    Kind::Analog,
    Kind::Slow,
    Kind::Step,
    Kind::Boolean,
    Kind::Counter,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A 12-bit input (0-4095) scaled 0.01, following the process with ±2 counts of noise.
    Analog,
    /// A temperature in tenths, drifting slowly.
    Slow,
    /// A setpoint in tenths, changed a few times an hour.
    Step,
    /// A pump's run signal, switching about every 20 minutes.
    Boolean,
    /// A u32 energy counter in Wh, incrementing irregularly.
    Counter,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Analog => "analog 12-bit x 0.01, noisy",
            Kind::Slow => "temperature x 0.1, drifting",
            Kind::Step => "setpoint x 0.1, steps",
            Kind::Boolean => "pump on/off",
            Kind::Counter => "energy counter u32",
        }
    }

    fn device(self) -> &'static str {
        match self {
            Kind::Analog => "analog",
            Kind::Slow => "slow",
            Kind::Step => "step",
            Kind::Boolean => "bool",
            Kind::Counter => "counter",
        }
    }

    fn value_type(self) -> ValueType {
        match self {
            Kind::Analog => ValueType::U16,
            Kind::Slow | Kind::Step => ValueType::I16,
            Kind::Boolean => ValueType::Bool,
            Kind::Counter => ValueType::U32,
        }
    }
}

/// A seeded generator (splitmix64): the same signals in every run.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// An integer in `-spread..=spread`.
    fn around(&mut self, spread: i64) -> i64 {
        self.below(2 * spread as u64 + 1) as i64 - spread
    }
}

/// One tag's signal: its raw register value, advanced a second at a time.
struct Signal {
    kind: Kind,
    raw: i64,
    /// Seconds until the next switch (booleans, setpoints).
    next_switch: i64,
    phase: f64,
}

impl Signal {
    fn new(kind: Kind, g: &mut Prng) -> Signal {
        let raw = match kind {
            Kind::Analog => 2000,
            Kind::Slow => 150 + g.around(50),
            Kind::Step => 450 + 5 * g.around(10),
            Kind::Boolean => 0,
            Kind::Counter => 3_000_000_000 + g.below(1_000_000) as i64,
        };
        Signal {
            kind,
            raw,
            next_switch: 900 + g.below(600) as i64,
            phase: g.below(1000) as f64,
        }
    }

    /// The engineering value at second `s`, computed as the poll does: `raw * scale + offset`.
    fn value(&mut self, s: i64, g: &mut Prng) -> Value {
        match self.kind {
            Kind::Analog => {
                let process = 2000.0 + 1500.0 * ((s as f64 + self.phase) / 5000.0).sin();
                self.raw = (process.round() as i64 + g.around(2)).clamp(0, 4095);
                Value::Number(self.raw as f64 * 0.01 + 0.0)
            }
            Kind::Slow => {
                if g.chance(0.02) {
                    self.raw += g.around(1);
                }
                Value::Number(self.raw as f64 * 0.1 + 0.0)
            }
            Kind::Step => {
                self.next_switch -= 1;
                if self.next_switch <= 0 {
                    self.raw = 450 + 5 * g.around(10);
                    self.next_switch = 600 + g.below(1200) as i64;
                }
                Value::Number(self.raw as f64 * 0.1 + 0.0)
            }
            Kind::Boolean => {
                self.next_switch -= 1;
                if self.next_switch <= 0 {
                    self.raw = 1 - self.raw;
                    self.next_switch = 900 + g.below(600) as i64;
                }
                Value::Bool(self.raw == 1)
            }
            Kind::Counter => {
                if g.chance(0.3) {
                    self.raw = (self.raw + 1 + g.below(3) as i64) % (1 << 32);
                }
                Value::Number(self.raw as f64)
            }
        }
    }
}

/// Every poll of every device over `hours`, in time order: one send per device and second, the
/// device's tags sharing the poll's time (a few ms late). The analog device loses its link for a minute
/// at noon (no value, quality bad).
fn polls(tags_per_kind: usize, hours: i64) -> Vec<Vec<Sample>> {
    let mut g = Prng(2026);
    let mut signals: Vec<Signal> = KINDS
        .iter()
        .flat_map(|&kind| (0..tags_per_kind).map(move |_| kind))
        .map(|kind| Signal::new(kind, &mut g))
        .collect();
    let mut out = Vec::new();
    for s in 0..hours * 3600 {
        for (d, kind) in KINDS.iter().enumerate() {
            let time = Timestamp(BASE_MS + s * 1000 + 5 + g.around(4));
            let outage = *kind == Kind::Analog && (43_200..43_260).contains(&s);
            let first = d * tags_per_kind;
            let cycle = (first..first + tags_per_kind)
                .map(|t| {
                    let value = signals[t].value(s, &mut g);
                    Sample {
                        tag: TagIndex(t as u32),
                        time,
                        value: (!outage).then_some(value),
                        quality: if outage {
                            Quality::Bad(Cause::CommLost)
                        } else {
                            Quality::Good
                        },
                    }
                })
                .collect();
            out.push(cycle);
        }
    }
    out
}

/// Bytes of one kind's chunks in each format.
#[derive(Default, Clone, Copy)]
struct Tally {
    samples: u64,
    ours: u64,
    plain: u64,
    zstd: Option<u64>,
    naive_table: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.samples += other.samples;
        self.ours += other.ours;
        self.plain += other.plain;
        self.zstd = self.zstd.zip(other.zstd).map(|(a, b)| a + b);
        self.naive_table += other.naive_table;
    }

    fn per_sample(&self, bytes: u64) -> f64 {
        bytes as f64 / self.samples as f64
    }
}

/// `bytes` compressed by `zstd -3`, or `None` when the command is not there.
fn zstd_len(bytes: &[u8]) -> Option<u64> {
    let mut child = Command::new("zstd")
        .args(["-3", "-c", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    output
        .status
        .success()
        .then_some(output.stdout.len() as u64)
}

/// The database's size once its WAL is folded in.
fn checkpointed_size(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).expect("open for checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(conn);
    std::fs::metadata(db).expect("db size").len()
}

/// The peer: the samples in a plain SQLite table `(tag, time, value, quality)`, file size measured.
fn naive_table(db: &Path, samples: &[&Sample]) -> u64 {
    let conn = rusqlite::Connection::open(db).expect("open naive db");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.execute_batch(
        "CREATE TABLE samples (tag INTEGER, time INTEGER, value REAL, quality INTEGER)",
    )
    .expect("create");
    let tx = conn.unchecked_transaction().expect("begin");
    {
        let mut insert = tx
            .prepare("INSERT INTO samples (tag, time, value, quality) VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        for s in samples {
            let rec = Rec::of(s);
            let value = match rec.value {
                RecValue::Number(v) => Some(v),
                _ => None,
            };
            insert
                .execute((s.tag.0, rec.time, value, rec.quality))
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    drop(conn);
    checkpointed_size(db)
}

/// Samples per second through the codec, compact runs and plain ones, best of three rounds.
struct Speed {
    encode: f64,
    encode_plain: f64,
    decode: f64,
    decode_plain: f64,
}

impl Speed {
    fn of(chunks: &[Vec<Rec>]) -> Speed {
        let samples: usize = chunks.iter().map(Vec::len).sum();
        let rate = |f: &dyn Fn() -> usize| {
            (0..3)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(f());
                    samples as f64 / started.elapsed().as_secs_f64()
                })
                .fold(0.0, f64::max)
        };
        let encoded = |encode: fn(&[Rec], &mut Vec<u8>)| -> Vec<Vec<u8>> {
            chunks
                .iter()
                .map(|recs| {
                    let mut out = Vec::new();
                    encode(recs, &mut out);
                    out
                })
                .collect()
        };
        let (ours, plain) = (encoded(encode_run), encoded(encode_plain_run));
        let encode_all = |encode: fn(&[Rec], &mut Vec<u8>)| {
            let mut out = Vec::new();
            let mut bytes = 0;
            for recs in chunks {
                out.clear();
                encode(recs, &mut out);
                bytes += out.len();
            }
            bytes
        };
        let decode_all = |runs: &[Vec<u8>]| {
            runs.iter()
                .map(|run| decode_run_vec(run).expect("decodes").len())
                .sum()
        };
        Speed {
            encode: rate(&|| encode_all(encode_run)),
            encode_plain: rate(&|| encode_all(encode_plain_run)),
            decode: rate(&|| decode_all(&ours)),
            decode_plain: rate(&|| decode_all(&plain)),
        }
    }
}

/// True when both are the same sample, numbers bit for bit.
fn same(a: &Rec, b: &Rec) -> bool {
    a.time == b.time
        && a.quality == b.quality
        && match (&a.value, &b.value) {
            (RecValue::Number(x), RecValue::Number(y)) => x.to_bits() == y.to_bits(),
            (x, y) => x == y,
        }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test` of benches passes nothing worth running for.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let hours = env_usize("PLANTWATCH_BENCH_HOURS", 24) as i64;
    let tags_per_kind = env_usize("PLANTWATCH_BENCH_TAGS", 4);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bytes.db");
    let devices = KINDS
        .iter()
        .map(|kind| {
            let tags = (0..tags_per_kind)
                .map(|t| tag(&format!("t{t}"), kind.value_type(), None))
                .collect();
            (kind.device(), tags)
        })
        .collect();
    let plant = plant(&db, devices);

    let cycles = polls(tags_per_kind, hours);
    // What was sent, per tag index, to check every sample comes back.
    let mut sent: Vec<Vec<Rec>> = vec![Vec::new(); KINDS.len() * tags_per_kind];
    for s in cycles.iter().flatten() {
        sent[s.tag.0 as usize].push(Rec::of(s));
    }
    let unbounded = WriterOptions {
        queue_samples: Some(usize::MAX),
    };
    let writer = HistoryWriter::open_with(&db, &plant, unbounded).expect("open writer");
    let sink = writer.sink();
    for cycle in cycles.iter().cloned() {
        sink.send(cycle);
    }
    let stats = writer.close().expect("close writer (seals)");
    let total_samples: u64 = sent.iter().map(|s| s.len() as u64).sum();
    assert_eq!(
        stats.stored, total_samples,
        "every sample stored: {stats:?}"
    );

    // The chunks, as stored, by tag.
    let conn = rusqlite::Connection::open(&db).expect("open db");
    let mut chunks: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT t.full_id, c.data FROM chunks c JOIN tags t ON t.id = c.tag
                 ORDER BY c.tag, c.start",
            )
            .expect("prepare");
        let mut rows = stmt.query([]).expect("chunks");
        while let Some(row) = rows.next().expect("row") {
            chunks
                .entry(row.get(0).expect("full id"))
                .or_default()
                .push(row.get(1).expect("data"));
        }
    }
    let log_rows: i64 = conn
        .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .expect("log");
    assert_eq!(log_rows, 0, "close sealed the whole log");
    drop(conn);

    let mut tallies = Vec::new();
    let mut zstd_missing = false;
    // Every chunk's samples, for the codec's speed.
    let mut all_chunks: Vec<Vec<Rec>> = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        let mut tally = Tally {
            zstd: Some(0),
            ..Tally::default()
        };
        for t in 0..tags_per_kind {
            let index = k * tags_per_kind + t;
            let full_id = format!("{}/t{t}", kind.device());
            let mut back = Vec::new();
            for data in chunks.get(&full_id).map(Vec::as_slice).unwrap_or_default() {
                let recs = decode_run_vec(data).expect("a chunk decodes");
                let mut plain = Vec::new();
                encode_plain_run(&recs, &mut plain);
                all_chunks.push(recs.clone());
                tally.ours += data.len() as u64;
                tally.plain += plain.len() as u64;
                let zstd = zstd_len(&plain);
                zstd_missing |= zstd.is_none();
                tally.zstd = tally.zstd.zip(zstd).map(|(a, b)| a + b);
                back.extend(recs);
            }
            let want = &sent[index];
            assert_eq!(back.len(), want.len(), "{full_id}: samples back");
            for (i, (w, b)) in want.iter().zip(&back).enumerate() {
                assert!(same(w, b), "{full_id} sample {i}: sent {w:?}, read {b:?}");
            }
            tally.samples += want.len() as u64;
        }
        let kind_samples: Vec<&Sample> = cycles
            .iter()
            .flatten()
            .filter(|s| s.tag.0 as usize / tags_per_kind == k)
            .collect();
        tally.naive_table = naive_table(&dir.path().join(format!("naive{k}.db")), &kind_samples);
        tallies.push(tally);
    }
    let mut total = Tally {
        zstd: Some(0),
        ..Tally::default()
    };
    for t in &tallies {
        total.add(t);
    }
    let speed = Speed::of(&all_chunks);
    let file = checkpointed_size(&db);
    let conn = rusqlite::Connection::open(&db).expect("open db");
    let free: i64 = conn
        .query_row(
            "SELECT (SELECT freelist_count FROM pragma_freelist_count) * (SELECT page_size FROM pragma_page_size)",
            [],
            |r| r.get(0),
        )
        .expect("free pages");
    drop(conn);

    println!();
    println!(
        "history bytes: {hours} h of 1 Hz polls, {tags_per_kind} tags of each kind, sealed through HistoryWriter; \
         every sample read back bit for bit"
    );
    println!();
    println!(
        "| signal | samples | ours (B/sample) | schema 3 runs | zstd -3 of schema 3 runs | naive SQLite table | naive columns |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let row = |name: &str, t: &Tally| {
        let zstd = t
            .zstd
            .map_or("-".to_string(), |z| format!("{:.2}", t.per_sample(z)));
        println!(
            "| {name} | {} | {:.2} | {:.2} | {zstd} | {:.2} | 18 |",
            t.samples,
            t.per_sample(t.ours),
            t.per_sample(t.plain),
            t.per_sample(t.naive_table),
        );
    };
    for (kind, tally) in KINDS.iter().zip(&tallies) {
        row(kind.name(), tally);
    }
    row("**total**", &total);
    println!();
    println!(
        "whole history file: {:.2} B/sample, of which {:.2} free pages (the sealed log's, reused by later \
         commits) and the rest chunk rows with their summaries, the index and the tag table",
        file as f64 / total.samples as f64,
        free as f64 / total.samples as f64
    );
    println!(
        "codec speed, million samples/s (best of 3): encode {:.0} (schema 3 runs: {:.0}), decode {:.0} (schema 3 runs: {:.0})",
        speed.encode / 1e6,
        speed.encode_plain / 1e6,
        speed.decode / 1e6,
        speed.decode_plain / 1e6
    );
    if zstd_missing {
        println!("(zstd: the `zstd` command is not installed)");
    }
    let ours = total.per_sample(total.ours);
    println!(
        "goal: total <= 3.00 B/sample in chunks: {ours:.2} ({})",
        if ours <= 3.0 { "met" } else { "NOT met" }
    );
}
