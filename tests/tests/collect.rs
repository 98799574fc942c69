//! `plantwatch collect` against independent Modbus peers: pymodbus over TCP (several unit ids), the
//! libmodbus C server, RTU over a socat pseudo-terminal pair against pymodbus's serial server, and RTU
//! over TCP. Each test runs the real binary for a few seconds and reads back what it stored.

use std::collections::BTreeMap;
use std::time::Duration;

use plantwatch_history::StoredSample;
use plantwatch_system_tests::engine_support::{
    check_poll_count, check_values, run_collect, stored, write_config, PlantServer, Serve,
};
use plantwatch_system_tests::peers::{LibmodbusServer, SocatPair};

/// Runs `plantwatch collect` for `duration` on the config template `template` (its `{name}`s filled
/// from `vars`), checks that it succeeded, and returns its stderr and every sample it stored.
fn collect(
    template: &str,
    vars: &[(&str, String)],
    duration: &str,
) -> (String, BTreeMap<String, Vec<StoredSample>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), template, vars);
    let db = dir.path().join("plant.db");
    let output = run_collect(&config, &db, duration);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "collect failed ({}):\n{stderr}",
        output.status
    );
    (stderr, stored(&db))
}

/// The two drives of `rtu_units.spec.json` (units 11 and 12, polled every 250 ms) for 3 s: every value as
/// expected, every poll read.
fn check_rtu_units(samples: &BTreeMap<String, Vec<StoredSample>>) {
    check_values(samples, "rtu_units.expected.json");
    let period = Duration::from_millis(250);
    check_poll_count(samples, "drive11/polls", Duration::from_secs(3), period);
    check_poll_count(samples, "drive12/polls", Duration::from_secs(3), period);
}

#[test]
fn collects_every_type_from_several_units_of_a_pymodbus_tcp_server() {
    let server = PlantServer::start("tcp_units.spec.json", Serve::Tcp);
    let port = [("port", server.port().to_string())];
    let (stderr, samples) = collect("tcp_units.toml", &port, "3s");

    assert!(
        stderr
            .lines()
            .any(|l| l.contains("devices 3/3 online") && l.contains("samples stored")),
        "a status line reports every device online:\n{stderr}"
    );
    check_values(&samples, "tcp_units.expected.json");
    let period = Duration::from_millis(200);
    check_poll_count(&samples, "plc/polls", Duration::from_secs(3), period);
    check_poll_count(&samples, "drive/polls", Duration::from_secs(3), period);
    // Values that never change are stored once (no heartbeat within 3 s).
    assert_eq!(
        samples["meter/energy"].len(),
        1,
        "an unchanging value is stored once"
    );
}

#[test]
fn collects_from_a_libmodbus_server() {
    let server = LibmodbusServer::start(0, 200);
    let port = [("port", server.port().to_string())];
    let (_, samples) = collect("libmodbus.toml", &port, "2s");
    check_values(&samples, "libmodbus.expected.json");
}

#[test]
fn collects_rtu_from_two_units_on_one_serial_line() {
    let pair = SocatPair::new();
    let _server = PlantServer::start(
        "rtu_units.spec.json",
        Serve::Serial {
            path: pair.a.clone(),
            baud: 19200,
        },
    );
    let serial = [("serial", pair.b.display().to_string())];
    let (_, samples) = collect("rtu_serial.toml", &serial, "3s");
    check_rtu_units(&samples);
}

#[test]
fn collects_rtu_over_tcp_from_two_units_behind_one_gateway() {
    let server = PlantServer::start("rtu_units.spec.json", Serve::RtuOverTcp);
    let port = [("port", server.port().to_string())];
    let (_, samples) = collect("rtu_over_tcp.toml", &port, "3s");
    check_rtu_units(&samples);
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
    assert!(
        !dir.path().join("plant.db").exists(),
        "nothing is collected from a broken config"
    );
}
