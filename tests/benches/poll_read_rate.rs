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
//! table shows each one's median with the ratios' spread over the rounds. Reads per second depend on
//! how much of a core each side gets on a busy machine; the client's CPU time per read (the C client
//! process; Plantwatch's whole process, history writer included) depends much less on it, so it is
//! shown too.

mod poll_support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_system_tests::peers::{compile_libmodbus_peer, LibmodbusServer};

const MEASURE: Duration = Duration::from_secs(2);

/// What one client did: reads per second and CPU time per read (microseconds).
#[derive(Debug, Clone, Copy)]
struct Rate {
    per_second: f64,
    cpu_us: f64,
}

/// libmodbus's C client (`tests/peers/libmodbus_client_bench.c`): `reads` reads of 125 registers.
fn c_client(binary: &std::path::Path, port: u16, reads: u32) -> Rate {
    let cpu_before = poll_support::children_cpu_time();
    let output = Command::new(binary)
        .args([port.to_string(), reads.to_string(), "125".to_string()])
        .output()
        .expect("run the libmodbus client bench");
    let cpu = poll_support::children_cpu_time() - cpu_before;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "libmodbus client bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let per_second: f64 = stdout
        .split_whitespace()
        .skip_while(|w| *w != "reads_per_second")
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("unexpected libmodbus client bench output: {stdout:?}"));
    Rate {
        per_second,
        cpu_us: cpu.as_secs_f64() * 1e6 / f64::from(reads),
    }
}

/// Plantwatch's reads against a server: one device polled back to back (period 0).
fn plantwatch(port: u16, multi_thread: bool) -> Rate {
    let dir = tempfile::tempdir().expect("temp dir");
    let plant = poll_support::plant(1, port, 125, Duration::ZERO, &dir.path().join("bench.db"));
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .expect("runtime");
    runtime.block_on(async {
        let options = EngineOptions {
            history: None,
            alarms: false,
            ..EngineOptions::default()
        };
        let engine = Engine::start(Arc::new(plant), options)
            .await
            .expect("engine starts");
        // Warm up: connect, first decode, page cache.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = engine.devices()[0].counters.responses;
        let (t0, cpu0) = (Instant::now(), poll_support::cpu_time("self"));
        tokio::time::sleep(MEASURE).await;
        let after = engine.devices()[0].counters.responses;
        let (elapsed, cpu) = (t0.elapsed(), poll_support::cpu_time("self") - cpu0);
        let stats = engine.stop().await.expect("engine stops");
        assert_eq!(stats.errors, 0, "no read failed");
        let reads = (after - before) as f64;
        Rate {
            per_second: reads / elapsed.as_secs_f64(),
            cpu_us: cpu.as_secs_f64() * 1e6 / reads,
        }
    })
}

fn main() {
    let rounds = std::env::var("PLANTWATCH_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize);
    let libmodbus_server = LibmodbusServer::start(0, 125);
    let counting_server = poll_support::BenchServer::start(125, 0.0, true);
    let client = compile_libmodbus_peer("libmodbus_client_bench");

    println!("Sequential reads of 125 holding registers, loopback (median of {rounds} rounds; ratio spread in brackets)");
    println!(
        "{:<40} {:>16} {:>16} {:>17} {:>16} {:>17}",
        "server", "libmodbus C", "PW (ct)", "ratio", "PW (mt)", "ratio"
    );
    println!(
        "{:<40} {:>16} {:>16} {:>17} {:>16} {:>17}",
        "", "reads/s us/read", "reads/s us/read", "", "reads/s us/read", ""
    );
    for (name, port) in [
        (
            "libmodbus server (static registers)",
            libmodbus_server.port(),
        ),
        (
            "engine bench server (register 0 counts)",
            counting_server.port,
        ),
    ] {
        let (mut c, mut s, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            c.push(c_client(&client.path, port, 40_000));
            s.push(plantwatch(port, false));
            m.push(plantwatch(port, true));
        }
        let median = |rates: &[Rate]| {
            let per_second: Vec<f64> = rates.iter().map(|r| r.per_second).collect();
            let cpu: Vec<f64> = rates.iter().map(|r| r.cpu_us).collect();
            format!(
                "{:>7.0} {:>8.1}",
                poll_support::median_and_spread(&per_second).0,
                poll_support::median_and_spread(&cpu).0
            )
        };
        let ratio = |pw: &[Rate]| {
            let ratios: Vec<f64> = pw
                .iter()
                .zip(&c)
                .map(|(p, c)| p.per_second / c.per_second)
                .collect();
            let (r, lo, hi) = poll_support::median_and_spread(&ratios);
            format!("{r:.2} [{lo:.2}-{hi:.2}]")
        };
        println!(
            "{name:<40} {:>16} {:>16} {:>17} {:>16} {:>17}",
            median(&c),
            median(&s),
            ratio(&s),
            median(&m),
            ratio(&m)
        );
    }
    println!("PW (ct): Engine::start called from a current-thread Tokio runtime; PW (mt): from a multi-thread");
    println!("runtime, as `collect` does. Ratios are per round (Plantwatch / the C client just before it).");
    println!(
        "goal: ratio >= 1.0 (whole poll path incl. change detection, decode and history hand-off)"
    );
}
