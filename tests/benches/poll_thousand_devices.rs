//! 1,000 devices x 1,000 holding registers polled every second from a simulated server on loopback
//! (a separate libmodbus process, `tests/peers/engine_bench_server.c`, about 10% of its registers
//! changing each second), history included: the collector's CPU (% of one core, split into the poll
//! side and the history writer thread), resident memory and missed cycles, next to the server's CPU in
//! the same run.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench poll_thousand_devices`
//! (`PLANTWATCH_BENCH_DEVICES=N` for fewer devices, `PLANTWATCH_BENCH_SECONDS=S` for the measured
//! time, 200 by default). The writer packs its log every 30 million samples (about every 5 minutes at
//! this load) and seals it into chunks about every four hours (history schema 8 and later), so a window
//! under four hours holds no seal: `history_write_amplification` measures the writes with seals, on the
//! data's clock. Run it 2-3
//! times: the machine is shared and the figures move by a few percent.
//!
//! Every device is a Modbus TCP device with a connection of its own (1,000 connections), each polled
//! as 8 reads of 125 registers: 8,000 requests and a million registers a second. The server holds one
//! register map for every connection, so each device sees the same ~100 changes a second: about
//! 100,000 changed samples a second reach history (deadband 0).
//!
//! The measured window starts after a warm-up in which every device read everything once and the
//! history writer stored that first million samples, so stored samples per second are the steady rate.
//!
//! Write amplification (issue 15, flash wear on laptops): the bytes the collector made the kernel write
//! to the disk in the window (`write_bytes` of `/proc/self/io`: the history log's appends, the seals into
//! chunks, compaction, retention, the WAL and its checkpoints), per stored sample, with the gigabytes a
//! year that makes at this rate; beside them, as peers in the same run, the bytes the file grew by per
//! sample (what is kept) and a naive row's payload (time and value, 16 bytes). The goal, <= 50 B a
//! sample, is judged over at least 10 minutes (and, for the seal's share,
//! `history_write_amplification`):
//! `PLANTWATCH_BENCH_SECONDS=600 cargo bench -p plantwatch-system-tests --bench poll_thousand_devices`.
//! The history goes under `tests/out/bench/` (a real disk; `/tmp` may be a tmpfs, which writes nothing
//! to a disk and would show 0).

mod poll_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_system_tests::proc_io;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The history writer thread's name (plantwatch-history's writer).
const WRITER_THREAD: &str = "history-writer";

fn main() {
    let devices = env_number("PLANTWATCH_BENCH_DEVICES", 1000) as usize;
    let seconds = env_number("PLANTWATCH_BENCH_SECONDS", 200);
    let server = poll_support::BenchServer::start(1000, 0.1, false);
    let dir = tempfile::tempdir_in(plantwatch_system_tests::out_dir("bench")).expect("temp dir");
    let db = dir.path().join("bench.db");
    let rss_empty = poll_support::status_mb("VmRSS");
    let plant = poll_support::plant(devices, server.port, 1000, Duration::from_secs(1), &db);
    let rss_plant = poll_support::status_mb("VmRSS");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let run = runtime.block_on(async {
        let options = EngineOptions {
            history: None,
            alarms: false,
            ..EngineOptions::default()
        };
        let started = Instant::now();
        let engine = Engine::start(Arc::new(plant), options)
            .await
            .expect("engine starts");
        let start_time = started.elapsed();
        let rss_started = poll_support::status_mb("VmRSS");
        // Warm up: every device connects, reads everything once, and the writer stores those first
        // samples (a million of them) before the measurement starts.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let settle = Instant::now();
        while engine.stats().samples_pending > 50_000 && settle.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let rss_warm = poll_support::status_mb("VmRSS");
        let pending_warm = engine.stats().samples_pending;
        let responses_before: u64 = engine.devices().iter().map(|d| d.counters.responses).sum();
        let before = engine.stats();
        let server_pid = server.pid().to_string();
        let (written0, wchar0, file0) =
            (proc_io("write_bytes"), proc_io("wchar"), history_bytes(&db));
        let (cpu0, threads0, server0, t0) = (
            poll_support::cpu_time("self"),
            poll_support::thread_cpu_times(),
            poll_support::cpu_time(&server_pid),
            Instant::now(),
        );
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let cpu = poll_support::cpu_time("self") - cpu0;
        let threads = poll_support::thread_cpu_since(&threads0);
        let server_cpu = poll_support::cpu_time(&server_pid) - server0;
        let wall = t0.elapsed();
        let rss = poll_support::status_mb("VmRSS");
        let written = proc_io("write_bytes").saturating_sub(written0);
        let wchar = proc_io("wchar").saturating_sub(wchar0);
        let grown = history_bytes(&db).saturating_sub(file0);
        let responses: u64 = engine
            .devices()
            .iter()
            .map(|d| d.counters.responses)
            .sum::<u64>()
            - responses_before;
        let after = engine.stats();
        engine.stop().await.expect("engine stops");
        Run {
            start_time,
            cpu,
            writer_cpu: threads.get(WRITER_THREAD).copied().unwrap_or_default(),
            threads,
            wall,
            server_cpu,
            rss,
            rss_started,
            rss_warm,
            pending_warm,
            responses,
            stored: after.samples_stored - before.samples_stored,
            pending: after.samples_pending,
            missed: after.missed_cycles - before.missed_cycles,
            errors: after.errors - before.errors,
            written,
            wchar,
            grown,
        }
    });
    let hwm = poll_support::status_mb("VmHWM");

    let secs = run.wall.as_secs_f64();
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / secs;
    let db_mb = std::fs::metadata(&db)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    println!(
        "{devices} devices x 1000 registers, polled every 1 s over loopback, measured {secs:.1} s"
    );
    println!("{:<44} {:>14} {:>12}", "figure", "Plantwatch", "goal");
    println!(
        "{:<44} {:>13.1}% {:>12}",
        "collector CPU (% of one core)",
        pct(run.cpu),
        "<= 25%"
    );
    println!(
        "{:<44} {:>13.1}% {:>12}",
        "  poll side (all but the history writer)",
        pct(run.cpu.saturating_sub(run.writer_cpu)),
        ""
    );
    println!(
        "{:<44} {:>13.1}% {:>12}",
        "  history writer thread (SQLite inserts)",
        pct(run.writer_cpu),
        ""
    );
    for (name, cpu) in &run.threads {
        if name != WRITER_THREAD && pct(*cpu) >= 0.5 {
            println!(
                "{:<44} {:>13.1}% {:>12}",
                format!("    thread {name}"),
                pct(*cpu),
                ""
            );
        }
    }
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "resident memory (after warm-up)", run.rss_warm, "<= 150 MB"
    );
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "resident memory (end of run)", run.rss, ""
    );
    let sample_mb = std::mem::size_of::<plantwatch_core::Sample>() as f64 / (1024.0 * 1024.0);
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        format!(
            "  writer backlog after warm-up ({}k samples)",
            run.pending_warm / 1000
        ),
        run.pending_warm as f64 * sample_mb,
        ""
    );
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "resident memory (peak)", hwm, ""
    );
    // Where the memory after warm-up went, in the order it was taken: the process before the plant
    // (runtime, bench server pipe), the plant, what Engine::start added (the history writer's tag
    // registry and rollup state, the poll tasks' plans and tag tables), then the warm-up (first replies,
    // the writer's first transactions and SQLite's page cache, the backlog above).
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "  of which the process before the plant", rss_empty, ""
    );
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "  of which the plant (config: Device, Tag)",
        rss_plant - rss_empty,
        ""
    );
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "  of which Engine::start (writer, polls)",
        run.rss_started - rss_plant,
        ""
    );
    println!(
        "{:<44} {:>11.1} MB {:>12}",
        "  of which the warm-up (replies, SQLite)",
        run.rss_warm - run.rss_started,
        ""
    );
    println!(
        "{:<44} {:>14} {:>12}",
        "missed cycles (engine counters)", run.missed, "0"
    );
    println!(
        "{:<44} {:>14.0} {:>12}",
        "reads per second",
        run.responses as f64 / secs,
        devices * 8
    );
    println!(
        "{:<44} {:>14.0} {:>12}",
        "samples stored per second",
        run.stored as f64 / secs,
        ""
    );
    println!(
        "{:<44} {:>14} {:>12}",
        "samples waiting for the writer at the end", run.pending, ""
    );
    if run.pending > run.stored / 4 {
        println!(
            "  (a backlog: the writer fell behind the samples coming in; it also grows the RSS)"
        );
    }
    println!("{:<44} {:>14} {:>12}", "errors", run.errors, "0");
    println!(
        "{:<44} {:>12.1} s {:>12}",
        "Engine::start (history open, tag registry)",
        run.start_time.as_secs_f64(),
        ""
    );
    println!("{:<44} {:>11.1} MB {:>12}", "history file", db_mb, "");
    let per_sample = |bytes: u64| bytes as f64 / run.stored.max(1) as f64;
    println!(
        "{:<44} {:>12.1} B {:>12}",
        "disk writes per stored sample (write_bytes)",
        per_sample(run.written),
        "<= 50 B"
    );
    let year = 365.25 * 86_400.0;
    println!(
        "{:<44} {:>11.0} GB {:>12}",
        "  disk writes a year at this rate",
        run.written as f64 / secs * year / 1e9,
        ""
    );
    println!(
        "{:<44} {:>12.1} B {:>12}",
        "  bytes handed to write() per sample (wchar)",
        per_sample(run.wchar),
        ""
    );
    println!(
        "{:<44} {:>12.1} B {:>12}",
        "peer: growth of the history file per sample",
        per_sample(run.grown),
        ""
    );
    println!(
        "{:<44} {:>12.1} B {:>12}",
        "peer: a naive row's payload (time, value)", 16.0, ""
    );
    if secs < 600.0 {
        println!(
            "  (measured {secs:.0} s: the write-amplification goal is judged over >= 600 s, seals and \
             compaction included; PLANTWATCH_BENCH_SECONDS=600)"
        );
    }
    println!(
        "{:<44} {:>13.1}% {:>12}",
        "peer: bench server CPU",
        100.0 * run.server_cpu.as_secs_f64() / secs,
        ""
    );
}

/// The history file and its write-ahead log, in bytes.
fn history_bytes(db: &std::path::Path) -> u64 {
    let wal = db.with_extension("db-wal");
    [db, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// The figures of one measured run.
struct Run {
    start_time: Duration,
    cpu: Duration,
    writer_cpu: Duration,
    threads: std::collections::BTreeMap<String, Duration>,
    wall: Duration,
    server_cpu: Duration,
    rss: f64,
    /// Right after `Engine::start` returned, before any reply.
    rss_started: f64,
    /// After the warm-up, with the writer caught up (no backlog of samples in its queue).
    rss_warm: f64,
    pending_warm: u64,
    responses: u64,
    stored: u64,
    pending: u64,
    missed: u64,
    /// Bytes the collector caused to be written to the disk in the window (`write_bytes`).
    written: u64,
    /// Bytes it handed to `write()` in the window (`wchar`, cache hits included).
    wchar: u64,
    /// Bytes the history file and its WAL grew by in the window.
    grown: u64,
    errors: u64,
}
