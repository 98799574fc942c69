//! Sequential reads of 125 holding registers over loopback through Plantwatch's whole poll path (plan,
//! read, change detection, decode, history filter and hand-off to the history writer), against
//! libmodbus's own C client on the same server in the same run.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench poll_read_rate`
//! (`PLANTWATCH_BENCH_ROUNDS=N` rounds, 3 by default).
//!
//! Two servers: the libmodbus test server (static registers: after the first poll Plantwatch sees the
//! same registers and skips decoding, as it does in a real plant between changes), and the engine's
//! bench server with register 0 counting requests (every poll sees a change, decodes that tag and hands
//! one changed sample to history).
//!
//! The machine is shared, so the clients take turns in rounds (C client, Plantwatch called from a
//! current-thread runtime, Plantwatch called from a multi-thread runtime as `collect` does), and the
//! table shows each one's median with the ratios' spread over the rounds.

mod poll_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_system_tests::peers::{libmodbus_client_reads_per_second, LibmodbusServer};

const MEASURE: Duration = Duration::from_secs(2);

/// Plantwatch's reads per second against a server: one device polled back to back (period 0).
fn plantwatch_reads_per_second(port: u16, multi_thread: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let plant = poll_support::plant(1, port, 125, Duration::ZERO, &dir.path().join("bench.db"));
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }
    .expect("runtime");
    runtime.block_on(async {
        let options = EngineOptions { history: None, alarms: false };
        let engine = Engine::start(Arc::new(plant), options).await.expect("engine starts");
        // Warm up: connect, first decode, page cache.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = engine.devices()[0].counters.responses;
        let t0 = Instant::now();
        tokio::time::sleep(MEASURE).await;
        let after = engine.devices()[0].counters.responses;
        let elapsed = t0.elapsed();
        let stats = engine.stop().await.expect("engine stops");
        assert_eq!(stats.errors, 0, "no read failed");
        (after - before) as f64 / elapsed.as_secs_f64()
    })
}

fn main() {
    let rounds = std::env::var("PLANTWATCH_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize);
    let libmodbus_server = LibmodbusServer::start(0, 125);
    let counting_server = poll_support::BenchServer::start(125, 0.0, true);

    println!("Sequential reads of 125 holding registers, loopback, requests per second (median of {rounds} rounds)");
    println!(
        "{:<40} {:>11} {:>11} {:>17} {:>11} {:>17}",
        "server", "libmodbus C", "PW (ct)", "ratio [min-max]", "PW (mt)", "ratio [min-max]"
    );
    for (name, port) in [
        ("libmodbus server (static registers)", libmodbus_server.port()),
        ("engine bench server (register 0 counts)", counting_server.port),
    ] {
        let (mut reference, mut single, mut multi) = (Vec::new(), Vec::new(), Vec::new());
        let (mut single_ratio, mut multi_ratio) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let c = libmodbus_client_reads_per_second(port, 30_000, 125);
            let s = plantwatch_reads_per_second(port, false);
            let m = plantwatch_reads_per_second(port, true);
            reference.push(c);
            single.push(s);
            multi.push(m);
            single_ratio.push(s / c);
            multi_ratio.push(m / c);
        }
        let (c, _, _) = poll_support::median_and_spread(&reference);
        let (s, _, _) = poll_support::median_and_spread(&single);
        let (m, _, _) = poll_support::median_and_spread(&multi);
        let (sr, sr_min, sr_max) = poll_support::median_and_spread(&single_ratio);
        let (mr, mr_min, mr_max) = poll_support::median_and_spread(&multi_ratio);
        println!(
            "{name:<40} {c:>11.0} {s:>11.0} {:>17} {m:>11.0} {:>17}",
            format!("{sr:.2} [{sr_min:.2}-{sr_max:.2}]"),
            format!("{mr:.2} [{mr_min:.2}-{mr_max:.2}]"),
        );
    }
    println!("PW (ct): Engine::start called from a current-thread Tokio runtime; PW (mt): from a multi-thread");
    println!("runtime, as `collect` does. Ratios are per round (Plantwatch / the C client just before it).");
    println!("goal: ratio >= 1.0 (whole poll path incl. change detection, decode and history hand-off)");
}
