//! `plantwatch collect` against independent Modbus peers: pymodbus over TCP (several unit ids), the
//! libmodbus C server, RTU over a socat pseudo-terminal pair against pymodbus's serial server, and RTU
//! over TCP. Each test runs the real binary for a few seconds and reads back what it stored.

use std::collections::BTreeMap;
use std::time::Duration;

use plantwatch_core::{Quality, Value};
use plantwatch_history::StoredSample;
use plantwatch_system_tests::data;
use plantwatch_system_tests::engine_support::{run_collect, stored, write_config, PlantServer, Serve};
use plantwatch_system_tests::peers::{LibmodbusServer, SocatPair};

/// Checks that the last stored sample of each tag is good and has the expected value
/// (`tests/data/collect/<name>.expected.json`: full tag id -> number, boolean or text).
fn check_values(samples: &BTreeMap<String, Vec<StoredSample>>, expected_file: &str) {
    let text = std::fs::read_to_string(data(&format!("collect/{expected_file}"))).expect("read expected values");
    let expected: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).expect("expected values are JSON");
    for (tag, want) in expected {
        let last = samples
            .get(&tag)
            .and_then(|s| s.last())
            .unwrap_or_else(|| panic!("no sample of {tag} was stored"));
        assert_eq!(last.quality, Quality::Good, "{tag} should be good, got {}", last.quality);
        let got = last.value.clone().unwrap_or_else(|| panic!("{tag} has no value"));
        let matches = match (&want, &got) {
            (serde_json::Value::Bool(w), Value::Bool(g)) => w == g,
            (serde_json::Value::Number(w), Value::Number(g)) => {
                let w = w.as_f64().expect("a number");
                (w - g).abs() <= 1e-9 * w.abs().max(1.0)
            }
            (serde_json::Value::String(w), Value::Text(g)) => w.as_str() == &**g,
            _ => false,
        };
        assert!(matches, "{tag}: expected {want}, stored {got:?}");
    }
}

/// Checks that a poll counter was read on every poll: its stored values run 1, 2, 3, ... without a gap,
/// and there are about as many as the duration allows at the device's period.
///
/// Tolerance: polls fall on absolute deadlines `start + k * period`, so a run of `d` yields
/// `floor(d / period) + 1` polls; the first one waits for the connection and the run's clock starts
/// before the engine does, so up to two fewer are fine, never more.
fn check_poll_count(samples: &BTreeMap<String, Vec<StoredSample>>, tag: &str, duration: Duration, period: Duration) {
    let polls = samples.get(tag).unwrap_or_else(|| panic!("no sample of {tag}"));
    let values: Vec<f64> = polls.iter().filter_map(|s| s.value.as_ref().and_then(Value::as_f64)).collect();
    let expected: Vec<f64> = (1..=values.len()).map(|n| n as f64).collect();
    assert_eq!(values, expected, "{tag}: every poll read the counter once, and every read was stored");
    let most = (duration.as_millis() / period.as_millis()) as usize + 1;
    assert!(
        values.len() <= most && values.len() + 2 >= most,
        "{tag}: {} polls in {duration:?} at {period:?} (expected {most}, at most 2 fewer)",
        values.len()
    );
}

fn assert_success(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "collect failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn collects_every_type_from_several_units_of_a_pymodbus_tcp_server() {
    let server = PlantServer::start("tcp_units.spec.json", Serve::Tcp);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "tcp_units.toml", &[("port", server.port().to_string())]);
    let db = dir.path().join("plant.db");

    let output = run_collect(&config, &db, "3s");
    assert_success(&output);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().any(|l| l.contains("devices 3/3 online") && l.contains("samples stored")),
        "a status line reports every device online:\n{stderr}"
    );
    let samples = stored(&db);
    check_values(&samples, "tcp_units.expected.json");
    let period = Duration::from_millis(200);
    check_poll_count(&samples, "plc/polls", Duration::from_secs(3), period);
    check_poll_count(&samples, "drive/polls", Duration::from_secs(3), period);
    // Values that never change are stored once (no heartbeat within 3 s).
    assert_eq!(samples["meter/energy"].len(), 1, "an unchanging value is stored once");
}

#[test]
fn collects_from_a_libmodbus_server() {
    let server = LibmodbusServer::start(0, 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "libmodbus.toml", &[("port", server.port().to_string())]);
    let db = dir.path().join("plant.db");

    let output = run_collect(&config, &db, "2s");
    assert_success(&output);
    check_values(&stored(&db), "libmodbus.expected.json");
}

#[test]
fn collects_rtu_from_two_units_on_one_serial_line() {
    let pair = SocatPair::new();
    let _server = PlantServer::start("rtu_units.spec.json", Serve::Serial { path: pair.a.clone(), baud: 19200 });
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "rtu_serial.toml", &[("serial", pair.b.display().to_string())]);
    let db = dir.path().join("plant.db");

    let output = run_collect(&config, &db, "3s");
    assert_success(&output);
    let samples = stored(&db);
    check_values(&samples, "rtu_units.expected.json");
    let period = Duration::from_millis(250);
    check_poll_count(&samples, "drive11/polls", Duration::from_secs(3), period);
    check_poll_count(&samples, "drive12/polls", Duration::from_secs(3), period);
}

#[test]
fn collects_rtu_over_tcp_from_two_units_behind_one_gateway() {
    let server = PlantServer::start("rtu_units.spec.json", Serve::RtuOverTcp);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "rtu_over_tcp.toml", &[("port", server.port().to_string())]);
    let db = dir.path().join("plant.db");

    let output = run_collect(&config, &db, "3s");
    assert_success(&output);
    let samples = stored(&db);
    check_values(&samples, "rtu_units.expected.json");
    let period = Duration::from_millis(250);
    check_poll_count(&samples, "drive11/polls", Duration::from_secs(3), period);
    check_poll_count(&samples, "drive12/polls", Duration::from_secs(3), period);
}

#[test]
fn a_broken_config_is_reported_like_check_and_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "broken.toml", &[]);
    let output = run_collect(&config, &dir.path().join("plant.db"), "1s");
    assert_eq!(output.status.code(), Some(2), "a config error is bad input");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{}:", config.display())) && first.contains("poll_msec"),
        "the problem is printed as CONFIG:LINE:COL: message, got:\n{stderr}"
    );
    assert!(!dir.path().join("plant.db").exists(), "nothing is collected from a broken config");
}
