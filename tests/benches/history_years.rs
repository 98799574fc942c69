//! Trends over years: the reads the desktop's Trends screen makes (`trend_history`, one read-only
//! connection per pen, 1,000 columns) over a year of 4 pens and ten years of one, beside the 7-day trend,
//! on history written the way live collection writes it.
//!
//!   cargo bench -p plantwatch-system-tests --bench history_years
//!
//! Makes once, then reuses, tests/out/bench/years/: `year.db` (4 tags, 1 Hz, the year up to
//! 2026-12-01T00:00Z) and `decade.db` (1 tag, 1 Hz, the ten years up to then), realistic polled signals
//! (a noisy 12-bit analog input, a drifting temperature, a setpoint that steps, an energy counter; the
//! decade's tag is the analog input) with poll jitter and a minute's link outage a day. They are written
//! through `Backfill`, the writer's own commit, packing, seal, compaction and retention steps on the data's
//! clock: a commit a minute, the log packed every ten minutes of data and sealed about every four hours
//! (history schema 8), compaction after each seal, as live collection leaves a file (chunks of at most
//! 8,192 samples or four hours, in parts), not one bulk seal. `VERSION` beside them says
//! which generator made them; a missing or different one (or a build cut short) rebuilds both. The build
//! time is printed as an ingest rate.
//!
//! Then each trend is read `RUNS` + 1 times: the first ("cold-ish") on a file this process has not read
//! yet (SQLite's cache empty; the OS may still cache the file), then the median of the rest ("warm").
//! Every read opens its connections anew, as the window does.

// The desktop layer builds only with Tauri; its trend query and wire types do not need it. (`trend`
// names `super::wire`, which is this crate's root module `wire`.)
#[allow(dead_code, unused_imports)]
#[path = "../../src-tauri/src/desktop/trend.rs"]
mod trend;
#[allow(dead_code, unused_imports)]
#[path = "../../src-tauri/src/desktop/wire.rs"]
mod wire;

use std::path::{Path, PathBuf};
use std::time::Instant;

use plantwatch_core::{Cause, Plant, Quality, Sample, TagIndex, Timestamp, Value, ValueType};
use plantwatch_history::Backfill;
use plantwatch_system_tests::history_support::{plant, tag};
use plantwatch_system_tests::out_dir;

/// Says which generator made the cached files: change it whenever what they hold changes.
const VERSION: &str = "history_years 4: backfill, commit 60 s, packing 10 min, seal 3 h 55 min, analog/temperature/setpoint/counter, outage 60 s a day, parted chunks";
/// 2026-12-01T00:00:00Z in ms: every history ends here.
const END_MS: i64 = 1_796_083_200_000;
const DAY_S: i64 = 86_400;
/// Data seconds per commit (live collection commits every half second; the seal rhythm, which decides
/// the chunks, is the writer's four hours either way).
const COMMIT_S: i64 = 60;
const COLUMNS: u32 = 1000;
/// Warm reads per trend (after the cold-ish one).
const RUNS: usize = 5;

/// The kinds of signal, from history_bytes.rs's realistic ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A 12-bit input (0-4095) scaled 0.01, following the process with ±2 counts of noise.
    Analog,
    /// A temperature in tenths, drifting slowly.
    Slow,
    /// A setpoint in tenths, changed a few times an hour.
    Step,
    /// A u32 energy counter in Wh, incrementing irregularly.
    Counter,
}

impl Kind {
    fn tag_id(self) -> &'static str {
        match self {
            Kind::Analog => "level",
            Kind::Slow => "temperature",
            Kind::Step => "setpoint",
            Kind::Counter => "energy",
        }
    }

    fn value_type(self) -> ValueType {
        match self {
            Kind::Analog => ValueType::U16,
            Kind::Slow | Kind::Step => ValueType::I16,
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
    /// Seconds until the setpoint's next step.
    next_switch: i64,
    phase: f64,
}

impl Signal {
    fn new(kind: Kind, g: &mut Prng) -> Signal {
        let raw = match kind {
            Kind::Analog => 2000,
            Kind::Slow => 150 + g.around(50),
            Kind::Step => 450 + 5 * g.around(10),
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
    fn value(&mut self, s: i64, g: &mut Prng) -> f64 {
        match self.kind {
            Kind::Analog => {
                let process = 2000.0 + 1500.0 * ((s as f64 + self.phase) / 5000.0).sin();
                self.raw = (process.round() as i64 + g.around(2)).clamp(0, 4095);
                self.raw as f64 * 0.01 + 0.0
            }
            Kind::Slow => {
                if g.chance(0.02) {
                    self.raw = (self.raw + g.around(1)).clamp(-400, 1200);
                }
                self.raw as f64 * 0.1 + 0.0
            }
            Kind::Step => {
                self.next_switch -= 1;
                if self.next_switch <= 0 {
                    self.raw = 450 + 5 * g.around(10);
                    self.next_switch = 600 + g.below(1200) as i64;
                }
                self.raw as f64 * 0.1 + 0.0
            }
            Kind::Counter => {
                if g.chance(0.3) {
                    self.raw = (self.raw + 1 + g.below(3) as i64) % (1 << 32);
                }
                self.raw as f64
            }
        }
    }
}

/// One cached history: its tags' signals over `years` up to [`END_MS`].
struct History {
    file: &'static str,
    kinds: &'static [Kind],
    years: i64,
}

const YEAR: History = History {
    file: "year.db",
    kinds: &[Kind::Analog, Kind::Slow, Kind::Step, Kind::Counter],
    years: 1,
};
const DECADE: History = History {
    file: "decade.db",
    kinds: &[Kind::Analog],
    years: 10,
};

/// Days in a "year": 365, or `PLANTWATCH_BENCH_DAYS` (a quicker, smaller run).
fn year_days() -> i64 {
    std::env::var("PLANTWATCH_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&d: &i64| d > 0)
        .unwrap_or(365)
}

impl History {
    fn seconds(&self) -> i64 {
        self.years * year_days() * DAY_S
    }

    fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.file)
    }

    /// One device "plc" with a tag per kind.
    fn plant(&self, dir: &Path) -> Plant {
        let tags = self
            .kinds
            .iter()
            .map(|k| tag(k.tag_id(), k.value_type(), None))
            .collect();
        plant(&self.path(dir), vec![("plc", tags)])
    }

    /// Writes the history as live collection would have, a commit a minute of data time. Returns the
    /// samples written.
    fn build(&self, dir: &Path) -> u64 {
        let path = self.path(dir);
        for stale in [
            path.clone(),
            path.with_extension("db-wal"),
            path.with_extension("db-shm"),
        ] {
            let _ = std::fs::remove_file(stale);
        }
        let plant = self.plant(dir);
        let start = END_MS - self.seconds() * 1000;
        let mut backfill =
            Backfill::open(&path, &plant, Timestamp(start)).expect("open the bench history");
        let mut g = Prng(2026 + self.kinds.len() as u64);
        let mut signals: Vec<Signal> = self.kinds.iter().map(|&k| Signal::new(k, &mut g)).collect();
        let per_commit = COMMIT_S as usize * self.kinds.len();
        let mut batch = Vec::with_capacity(per_commit);
        let mut written = 0u64;
        let mut outage_at = g.below(DAY_S as u64 - 60) as i64;
        for s in 0..self.seconds() {
            let day_second = s % DAY_S;
            if day_second == 0 && s > 0 {
                outage_at = g.below(DAY_S as u64 - 60) as i64;
            }
            // The device's tags share one poll, a few ms after the second.
            let time = Timestamp(start + s * 1000 + 5 + g.around(4));
            let outage = (outage_at..outage_at + 60).contains(&day_second);
            for (t, signal) in signals.iter_mut().enumerate() {
                let value = signal.value(s, &mut g);
                batch.push(Sample {
                    tag: TagIndex(t as u32),
                    time,
                    value: (!outage).then_some(Value::Number(value)),
                    quality: if outage {
                        Quality::Bad(Cause::CommLost)
                    } else {
                        Quality::Good
                    },
                });
            }
            if batch.len() >= per_commit {
                written += batch.len() as u64;
                // Committed half a second after the last poll, as the writer does.
                let now = Timestamp(time.0 + 500);
                backfill
                    .store(
                        std::mem::replace(&mut batch, Vec::with_capacity(per_commit)),
                        now,
                    )
                    .expect("store a minute");
            }
        }
        written += batch.len() as u64;
        backfill
            .store(batch, Timestamp(END_MS + 500))
            .expect("store the last minute");
        let stats = backfill.close().expect("seal and compact the rest");
        assert_eq!(stats.stored, written, "every sample stored");
        checkpoint(&path);
        written
    }
}

/// Folds the WAL into the file, so reads find one file.
fn checkpoint(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open for checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

/// Chunks of each tag in the file, and of each tag's first full year.
fn chunk_counts(db: &Path) -> Vec<(String, i64, i64)> {
    let conn = rusqlite::Connection::open(db).expect("open for chunk counts");
    let mut stmt = conn
        .prepare(
            "SELECT t.full_id, count(*), sum(c.start < ?1 + ?2)
             FROM chunks c JOIN tags t ON t.id = c.tag
             GROUP BY c.tag ORDER BY c.tag",
        )
        .expect("chunk counts");
    let first: i64 = conn
        .query_row("SELECT min(start) FROM chunks", [], |r| r.get(0))
        .expect("first chunk");
    stmt.query_map([first, year_days() * DAY_S * 1000], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .expect("chunk counts")
    .collect::<Result<_, _>>()
    .expect("chunk counts")
}

/// Builds both files unless `VERSION` says they are there.
fn cached_histories(dir: &Path) {
    let stamp = dir.join("VERSION");
    let version = format!("{VERSION}, {} days a year", year_days());
    let present = [&YEAR, &DECADE].iter().all(|h| h.path(dir).is_file());
    if present && std::fs::read_to_string(&stamp).is_ok_and(|v| v.trim() == version) {
        println!("reusing {} ({version})", dir.display());
        return;
    }
    let _ = std::fs::remove_file(&stamp);
    println!("building {} ({version}); a few minutes", dir.display());
    println!();
    println!("| history | tags | samples | build s | samples/s |");
    println!("|---------|------|---------|---------|-----------|");
    for history in [&YEAR, &DECADE] {
        let started = Instant::now();
        let samples = history.build(dir);
        let took = started.elapsed().as_secs_f64();
        println!(
            "| {} | {} | {samples} | {took:.0} | {:.0} |",
            history.file,
            history.kinds.len(),
            samples as f64 / took
        );
    }
    std::fs::write(&stamp, &version).expect("write the VERSION stamp");
}

/// One trend the window asks for, and its goal.
struct Case {
    name: &'static str,
    history: &'static History,
    pens: u32,
    days: i64,
    goal_ms: Option<f64>,
}

/// Reads `case` once cold-ish and `RUNS` times warm: (samples in the columns, cold-ish ms, warm median ms).
fn time_case(dir: &Path, case: &Case) -> (u64, f64, f64) {
    let db = case.history.path(dir);
    let plant = case.history.plant(dir);
    let request = wire::TrendRequest {
        tags: (0..case.pens).collect(),
        from: END_MS - case.days * DAY_S * 1000,
        to: END_MS + 1000,
        columns: COLUMNS,
    };
    let mut times = Vec::new();
    let mut samples = 0;
    for _ in 0..=RUNS {
        let started = Instant::now();
        let data = trend::history(&db, &plant, &request).expect("trend query");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        samples = data
            .pens
            .iter()
            .flat_map(|p| p.count.iter())
            .map(|&c| u64::from(c))
            .sum();
    }
    let cold = times.remove(0);
    times.sort_by(f64::total_cmp);
    (samples, cold, times[times.len() / 2])
}

fn main() {
    let dir = out_dir("bench/years");
    cached_histories(&dir);
    println!();
    println!("| file | tag | chunks | chunks in its first year |");
    println!("|------|-----|--------|--------------------------|");
    for history in [&YEAR, &DECADE] {
        for (tag, all, first_year) in chunk_counts(&history.path(&dir)) {
            println!("| {} | {tag} | {all} | {first_year} |", history.file);
        }
    }
    let cases = [
        Case {
            name: "7 days",
            history: &YEAR,
            pens: 4,
            days: 7,
            goal_ms: None,
        },
        Case {
            name: "1 year",
            history: &YEAR,
            pens: 4,
            days: year_days(),
            goal_ms: Some(100.0),
        },
        Case {
            name: "10 years",
            history: &DECADE,
            pens: 1,
            days: 10 * year_days(),
            goal_ms: Some(200.0),
        },
    ];
    println!();
    println!("| trend | pens | columns | samples in columns | cold-ish ms | warm ms (median of {RUNS}) | goal ms | met |");
    println!("|-------|------|---------|--------------------|-------------|-----------------|---------|-----|");
    for case in &cases {
        let (samples, cold, warm) = time_case(&dir, case);
        let (goal, met) = match case.goal_ms {
            Some(goal) => (
                format!("{goal:.0}"),
                if warm <= goal { "yes" } else { "NO" },
            ),
            None => ("-".into(), "-"),
        };
        println!(
            "| {} | {} | {COLUMNS} | {samples} | {cold:.0} | {warm:.0} | {goal} | {met} |",
            case.name, case.pens
        );
    }
    // Other work on the machine takes its share of the cores from the pens' threads: say how much.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let minute = load.split_whitespace().next().unwrap_or("?");
        println!();
        println!("load average over the last minute: {minute} on {cores} cores");
    }
    println!();
    println!("goals from issue 15: a year of 4 pens in 100 ms, ten years of one in 200 ms (warm); the 7-day");
    println!("trend's goal is request -> drawn chart under 300 ms (tests/e2e/bench.sh; the query is part of it)");
}
