//! A process that writes samples through `HistoryWriter` until it is killed, for the `kill -9` test in
//! `tests/tests/history.rs`.
//!
//! Usage: `history_writer_child DB`. Every millisecond it sends one sample of each of 10 tags (time =
//! 2026-11-25T00:00:00Z + sequence number in ms, value = sequence number) and every 20 ms prints
//! `sent SEQ` on stdout once samples up to SEQ are in the writer's queue. It stops by itself after 60 s.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use plantwatch_core::{Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_history::HistoryWriter;
use plantwatch_system_tests::history_support::numeric_plant;

/// 2026-11-25T00:00:00Z in ms.
const BASE_MS: i64 = 1_795_564_800_000;
const TAGS: u32 = 10;

fn main() {
    let Some(db) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: history_writer_child DB");
        std::process::exit(2);
    };
    let plant = numeric_plant(&db, 1, TAGS as usize);
    let writer = match HistoryWriter::open(&db, &plant) {
        Ok(writer) => writer,
        Err(e) => {
            eprintln!("history_writer_child: {e}");
            std::process::exit(1);
        }
    };
    let sink = writer.sink();
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    let mut seq: i64 = 0;
    while started.elapsed() < Duration::from_secs(60) {
        let samples = (0..TAGS)
            .map(|t| Sample {
                tag: TagIndex(t),
                time: Timestamp(BASE_MS + seq),
                value: Some(Value::Number(seq as f64)),
                quality: Quality::Good,
            })
            .collect();
        sink.send(samples);
        if seq % 20 == 0 {
            // The parent stops reading only when it kills us; a failed print means it is gone.
            if writeln!(stdout, "sent {seq}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
        }
        seq += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    if let Err(e) = writer.close() {
        eprintln!("history_writer_child: {e}");
        std::process::exit(1);
    }
}
