//! Benchmark: a trend of 4 pens over 7 days of 1-second history, thinned on the Rust side the way the
//! desktop's Trends screen asks for it (`trend_history`: one bucket per pixel column, min/max/avg).
//!
//!   cargo bench -p plantwatch-system-tests --bench desktop_trend
//!
//! Makes (once, then reuses) tests/out/bench/trend-7d/{plant.toml,trend-7d.db}: one unreachable device
//! with 4 tags and 7 x 86,400 samples per tag ending now. The same plant is what the end-to-end bench
//! (tests/e2e/bench.sh) opens in the window to time request -> drawn chart. Prints a table.

// The desktop layer builds only with Tauri; its trend query and wire types do not need it. (`trend`
// names `super::wire`, which is this crate's root module `wire`.)
#[allow(dead_code, unused_imports)]
#[path = "../../src-tauri/src/desktop/trend.rs"]
mod trend;
#[allow(dead_code, unused_imports)]
#[path = "../../src-tauri/src/desktop/wire.rs"]
mod wire;

use std::path::Path;
use std::time::Instant;

use plantwatch_core::{Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_history::{HistoryReader, HistoryWriter, SampleQuery, WriterOptions};
use plantwatch_system_tests::out_dir;

const DAYS: i64 = 7;
const PENS: u32 = 4;
const COLUMNS: u32 = 1600;

const PLANT: &str = r#"# Made by tests/benches/desktop_trend.rs: 4 tags with 7 days of 1 s history, device unreachable.
[plant]
name = "Trend bench (7 days x 4 pens)"

[history]
path = "trend-7d.db"

[[devices]]
id = "bench"
transport = "tcp"
host = "127.0.0.1"
port = 9
unit = 1
poll_ms = 1000
timeout_ms = 200

[[devices.tags]]
id = "level"
table = "holding"
address = 0
type = "u16"
scale = 0.001
unit = "m"

[[devices.tags]]
id = "pressure"
table = "holding"
address = 1
type = "u16"
scale = 0.01
unit = "bar"

[[devices.tags]]
id = "flow"
table = "holding"
address = 2
type = "u16"
scale = 0.1
unit = "L/s"

[[devices.tags]]
id = "power"
table = "holding"
address = 3
type = "u16"
unit = "kW"
"#;

fn main() {
    let dir = out_dir("bench/trend-7d");
    let config = dir.join("plant.toml");
    std::fs::write(&config, PLANT).expect("write the bench plant");
    let plant = plantwatch_config::load(&config).expect("the bench plant parses");
    let db = plant.history.clone();
    let now = Timestamp::now().as_millis();
    let wanted = (DAYS * 86_400 * i64::from(PENS)) as u64;
    let stored = count_samples(&db, &plant);
    if stored < wanted {
        let _ = std::fs::remove_file(&db);
        let started = Instant::now();
        generate(&db, &plant, now);
        println!(
            "generated {wanted} samples in {:.1} s into {}",
            started.elapsed().as_secs_f64(),
            db.display()
        );
    } else {
        println!("reusing {} ({stored} samples)", db.display());
    }
    // The history ends where it was generated; ask for the 7 days up to its end, as the screen does.
    let end = latest_time(&db, &plant).unwrap_or(now);
    let request = wire::TrendRequest {
        tags: (0..PENS).collect(),
        from: end - DAYS * 86_400_000,
        to: end + 1,
        columns: COLUMNS,
    };
    println!();
    println!("| run | pens | range | columns | samples read | query ms |");
    println!("|-----|------|-------|---------|--------------|----------|");
    let mut times = Vec::new();
    for run in 1..=5 {
        let started = Instant::now();
        let data = trend::history(&db, &plant, &request).expect("trend query");
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let samples: u64 = data
            .pens
            .iter()
            .flat_map(|p| p.count.iter())
            .map(|&c| u64::from(c))
            .sum();
        println!("| {run} | {PENS} | {DAYS} d | {COLUMNS} | {samples} | {ms:.0} |");
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    println!();
    println!("median {:.0} ms (goal for request -> drawn chart: < 300 ms; the UI adds its drawing, see tests/e2e/bench.sh)", times[times.len() / 2]);
}

fn generate(db: &Path, plant: &plantwatch_core::Plant, now: i64) {
    // A bulk load, faster than any commit: the whole input may wait in the queue (a poll loop's queue is
    // bounded and drops the oldest samples when full).
    let unbounded = WriterOptions {
        queue_samples: Some(usize::MAX),
    };
    let writer = HistoryWriter::open_with(db, plant, unbounded).expect("open the bench history");
    let sink = writer.sink();
    let start = now - DAYS * 86_400_000;
    let mut batch = Vec::with_capacity(40_000);
    for s in 0..DAYS * 86_400 {
        let time = Timestamp(start + s * 1000);
        let day = (s as f64) / 86_400.0 * std::f64::consts::TAU;
        for tag in 0..PENS {
            // A daily swing with a faster ripple, different per pen, so min/max bands have something to show.
            let v = 2.0
                + f64::from(tag)
                + (day + f64::from(tag)).sin()
                + 0.2 * (s as f64 / 37.0 + f64::from(tag)).sin();
            batch.push(Sample {
                tag: TagIndex(tag),
                time,
                value: Some(Value::Number(v)),
                quality: Quality::Good,
            });
        }
        if batch.len() >= 40_000 {
            sink.send(std::mem::take(&mut batch));
        }
    }
    sink.send(batch);
    writer.close().expect("flush the bench history");
}

fn count_samples(db: &Path, plant: &plantwatch_core::Plant) -> u64 {
    let Ok(reader) = HistoryReader::open(db) else {
        return 0;
    };
    let tags = plant
        .tags()
        .map(|(i, _, _)| plant.full_id(i).unwrap_or_default())
        .collect();
    let query = SampleQuery {
        tags,
        from: None,
        to: None,
    };
    reader.for_each_sample(&query, |_| {}).unwrap_or(0)
}

fn latest_time(db: &Path, plant: &plantwatch_core::Plant) -> Option<i64> {
    let reader = HistoryReader::open(db).ok()?;
    let id = plant.full_id(TagIndex(0))?;
    reader
        .latest(&id)
        .ok()
        .flatten()
        .map(|s| s.time.as_millis())
}
