//! 1,000 devices x 1,000 holding registers polled every second from a simulated server on loopback
//! (a separate libmodbus process, `tests/peers/engine_bench_server.c`, about 10% of its registers
//! changing each second), history included: the collector's CPU (% of one core), resident memory and
//! missed cycles, next to the server's CPU in the same run.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench poll_thousand_devices`
//! (`PLANTWATCH_BENCH_DEVICES=N` for fewer devices, `PLANTWATCH_BENCH_SECONDS=S` for the measured time).
//!
//! Every device is a Modbus TCP device with a connection of its own (1,000 connections), each polled
//! as 8 reads of 125 registers: 8,000 requests and a million registers a second.

mod poll_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_engine::{Engine, EngineOptions};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let devices = env_number("PLANTWATCH_BENCH_DEVICES", 1000) as usize;
    let seconds = env_number("PLANTWATCH_BENCH_SECONDS", 20);
    let server = poll_support::BenchServer::start(1000, 0.1, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    let plant = poll_support::plant(devices, server.port, 1000, Duration::from_secs(1), &db);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (stats, cpu, wall, server_cpu, rss, hwm, responses, stored) = runtime.block_on(async {
        let options = EngineOptions { history: None, alarms: false };
        let engine = Engine::start(Arc::new(plant), options).await.expect("engine starts");
        // Warm up: every device connects, reads everything once and stores its first samples.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let responses_before: u64 = engine.devices().iter().map(|d| d.counters.responses).sum();
        let stored_before = engine.stats().samples_stored;
        let missed_before = engine.stats().missed_cycles;
        let (cpu0, server0, t0) = (poll_support::cpu_time("self"), poll_support::cpu_time(&server.pid().to_string()), Instant::now());
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let cpu = poll_support::cpu_time("self") - cpu0;
        let server_cpu = poll_support::cpu_time(&server.pid().to_string()) - server0;
        let wall = t0.elapsed();
        let rss = poll_support::status_mb("VmRSS");
        let hwm = poll_support::status_mb("VmHWM");
        let responses: u64 = engine.devices().iter().map(|d| d.counters.responses).sum::<u64>() - responses_before;
        let mut stats = engine.stats();
        let stored = stats.samples_stored - stored_before;
        stats.missed_cycles -= missed_before;
        engine.stop().await.expect("engine stops");
        (stats, cpu, wall, server_cpu, rss, hwm, responses, stored)
    });

    let secs = wall.as_secs_f64();
    let db_mb = std::fs::metadata(&db).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    println!("{devices} devices x 1000 registers, polled every 1 s over loopback, measured {secs:.1} s");
    println!("{:<34} {:>14} {:>14}", "figure", "Plantwatch", "goal");
    println!("{:<34} {:>13.1}% {:>14}", "collector CPU (% of one core)", 100.0 * cpu.as_secs_f64() / secs, "<= 25%");
    println!("{:<34} {:>11.1} MB {:>14}", "resident memory (now)", rss, "<= 150 MB");
    println!("{:<34} {:>11.1} MB {:>14}", "resident memory (peak)", hwm, "");
    println!("{:<34} {:>14} {:>14}", "missed cycles", stats.missed_cycles, "0");
    println!("{:<34} {:>14.0} {:>14}", "reads per second", responses as f64 / secs, devices * 8);
    println!("{:<34} {:>14.0} {:>14}", "samples stored per second", stored as f64 / secs, "");
    println!("{:<34} {:>14} {:>14}", "errors", stats.errors, "0");
    println!("{:<34} {:>11.1} MB {:>14}", "history file", db_mb, "");
    println!("{:<34} {:>13.1}% {:>14}", "peer: bench server CPU", 100.0 * server_cpu.as_secs_f64() / secs, "");
}
