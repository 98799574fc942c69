//! Sequential reads of 125 holding registers over loopback through Plantwatch's whole poll path (plan,
//! read, change detection, decode, history filter and hand-off to the history writer), against
//! libmodbus's own C client on the same server in the same run.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench poll_read_rate`
//!
//! Two servers: the libmodbus test server (static registers: after the first poll Plantwatch sees the
//! same registers and skips decoding, as it does in a real plant between changes), and the engine's
//! bench server with register 0 counting requests (every poll decodes all 125 tags and hands one
//! changed sample to history).

mod poll_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_system_tests::peers::{libmodbus_client_reads_per_second, LibmodbusServer};

const MEASURE: Duration = Duration::from_secs(4);

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
    let libmodbus_server = LibmodbusServer::start(0, 125);
    let counting_server = poll_support::BenchServer::start(125, 0.0, true);

    println!("Sequential reads of 125 holding registers, loopback, requests per second");
    println!(
        "{:<42} {:>11} {:>13} {:>6} {:>13} {:>6}",
        "server", "libmodbus C", "PW 1 thread", "ratio", "PW 2 threads", "ratio"
    );
    for (name, port) in [
        ("libmodbus server (static registers)", libmodbus_server.port()),
        ("engine bench server (register 0 counts)", counting_server.port),
    ] {
        // The C client first (it compiles its binary), then Plantwatch, on the same server.
        let reference = libmodbus_client_reads_per_second(port, 40_000, 125);
        let single = plantwatch_reads_per_second(port, false);
        let multi = plantwatch_reads_per_second(port, true);
        println!(
            "{name:<42} {reference:>11.0} {single:>13.0} {:>6.2} {multi:>13.0} {:>6.2}",
            single / reference,
            multi / reference
        );
    }
    println!("PW 1 thread: the engine on a current-thread Tokio runtime; PW 2 threads: multi-thread (as `collect` runs)");
    println!("goal: ratio >= 1.0 (whole poll path incl. decode and history hand-off)");
}
