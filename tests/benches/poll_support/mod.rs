//! Shared by the poll benchmarks: plants built in code (no config file), the engine's bench server
//! (`tests/peers/engine_bench_server.c`), and process figures from /proc.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use plantwatch_core::{AlarmSettings, Device, Link, Plant, SocketEndpoint, Table, Tag, ValueType};
use plantwatch_system_tests::peers::compile_libmodbus_peer;

/// `devices` Modbus TCP devices on 127.0.0.1:`port`, each with `registers` u16 holding-register tags
/// from address 0 (coalesced into reads of 125), polled every `period`.
pub fn plant(devices: usize, port: u16, registers: u16, period: Duration, history: &Path) -> Plant {
    let devices = (0..devices)
        .map(|d| Device {
            id: format!("dev{d}"),
            name: None,
            link: Link::Tcp(SocketEndpoint {
                host: "127.0.0.1".into(),
                port,
            }),
            unit: 1,
            poll_period: period,
            timeout: Duration::from_secs(1),
            max_block: 125,
            max_gap: 16,
            tags: (0..registers)
                .map(|r| {
                    Tag::new(&format!("r{r}"), Table::Holding, r, ValueType::U16)
                        .with_heartbeat(Duration::from_secs(3600))
                })
                .collect(),
        })
        .collect();
    Plant::new(
        "bench",
        history.to_path_buf(),
        AlarmSettings::default(),
        devices,
        None,
    )
}

/// The engine's multi-client libmodbus server, killed on drop.
pub struct BenchServer {
    child: Child,
    pub port: u16,
    _binary: plantwatch_system_tests::peers::CompiledPeer,
}

impl BenchServer {
    /// `registers` registers, `fraction` of them changing each second, register 0 counting requests
    /// when `counter`.
    pub fn start(registers: u32, fraction: f64, counter: bool) -> BenchServer {
        let binary = compile_libmodbus_peer("engine_bench_server");
        let mut child = Command::new(&binary.path)
            .args([
                registers.to_string(),
                fraction.to_string(),
                u8::from(counter).to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start engine_bench_server");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read PORT line");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("expected PORT <n>, got {line:?}"));
        BenchServer {
            child,
            port,
            _binary: binary,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) a process used so far, from /proc/PID/stat.
pub fn cpu_time(pid: &str) -> Duration {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default()).1
}

/// CPU time (user + system) of this process's children that ended and were waited for, from
/// /proc/self/stat (cutime + cstime).
pub fn children_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(13).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(14).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The command name and CPU time (user + system) in one /proc stat line.
fn stat_cpu(stat: &str) -> (String, Duration) {
    // The command name sits in parentheses and may hold spaces; the fields after it start after the last ')'.
    let (head, rest) = stat.rsplit_once(')').unwrap_or(("", ""));
    let name = head.split_once('(').map_or("", |(_, n)| n).to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    // Linux reports in USER_HZ, 100 per second on every platform Plantwatch runs on.
    (name, Duration::from_millis(ticks * 10))
}

/// CPU time of this process's threads so far, summed by thread name (`history-writer`,
/// `plantwatch-poll`, `tokio-runtime-w`, ...). Threads that ended are not counted.
pub fn thread_cpu_times() -> std::collections::BTreeMap<String, Duration> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let (name, cpu) = stat_cpu(&stat);
        *by_name.entry(name).or_insert(Duration::ZERO) += cpu;
    }
    by_name
}

/// The CPU each thread name used between two [`thread_cpu_times`] snapshots.
pub fn thread_cpu_since(
    before: &std::collections::BTreeMap<String, Duration>,
) -> std::collections::BTreeMap<String, Duration> {
    thread_cpu_times()
        .into_iter()
        .map(|(name, now)| {
            let then = before.get(&name).copied().unwrap_or(Duration::ZERO);
            (name, now.saturating_sub(then))
        })
        .collect()
}

/// A field of /proc/self/status in kB (`VmRSS`, `VmHWM`), as MB.
pub fn status_mb(field: &str) -> f64 {
    process_status_mb("self", field)
}

/// A field of /proc/PID/status in kB (`VmRSS`, `VmHWM`), as MB (0 when the process is gone).
pub fn process_status_mb(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The median and the spread (min, max) of some figures.
pub fn median_and_spread(figures: &[f64]) -> (f64, f64, f64) {
    let mut sorted = figures.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}
