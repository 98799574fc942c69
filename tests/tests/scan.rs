//! The commissioning scanner against independent peers: pymodbus (`tests/peers/scan_server.py`, its
//! bus in `tests/data/scan/bus.json`) over TCP and over RTU on a socat pty pair, and `plantwatch scan`
//! against `plantwatch simulate --with-mystery`.

use std::ops::RangeInclusive;
use std::process::Command;
use std::time::{Duration, Instant};

use plantwatch_core::{Link, Parity, SerialLine, SocketEndpoint, Table};
use plantwatch_modbus::{
    identify, probe_serial, scan_ranges, scan_units, RangeScan, SerialSettings, UnitScan,
};
use plantwatch_system_tests::peers::SocatPair;
use plantwatch_system_tests::plantwatch_bin;
use plantwatch_system_tests::scan_support::{bus, ScanServer};
use plantwatch_system_tests::sim_support::SimProcess;
use serde_json::Value;

fn tcp(port: u16) -> Link {
    Link::Tcp(SocketEndpoint {
        host: "127.0.0.1".into(),
        port,
    })
}

fn rtu(pair: &SocatPair) -> Link {
    Link::Rtu(SerialLine {
        path: pair.b.to_string_lossy().into_owned(),
        baud: 19200,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
    })
}

/// `unit N: answer` lines the bus file expects, in unit order.
fn expected_units(bus: &Value) -> Vec<String> {
    let mut units: Vec<(u8, String)> = bus["expect"]["units"]
        .as_object()
        .expect("expect.units")
        .iter()
        .map(|(unit, answer)| {
            let unit: u8 = unit.parse().expect("a unit id");
            (
                unit,
                format!("unit {unit}: {}", answer.as_str().expect("text")),
            )
        })
        .collect();
    units.sort();
    units.into_iter().map(|(_, line)| line).collect()
}

fn expected_ranges(bus: &Value) -> Vec<RangeInclusive<u16>> {
    bus["expect"]["ranges"]["found"]
        .as_array()
        .expect("expect.ranges.found")
        .iter()
        .map(|pair| {
            let n = |i: usize| pair[i].as_u64().expect("an address") as u16;
            n(0)..=n(1)
        })
        .collect()
}

fn expected_identity(bus: &Value) -> Vec<String> {
    bus["identity"]
        .as_object()
        .expect("identity")
        .iter()
        .map(|(name, value)| format!("{name}: {}", value.as_str().expect("text")))
        .collect()
}

/// Scans `link` for units, for unit 3's holding ranges up to address `to`, and for its identity, and
/// compares each with what the bus file says the server holds.
async fn check_bus(link: Link, timeout: Duration, to: u16) {
    let bus = bus();
    let options = UnitScan {
        timeout,
        ..UnitScan::default()
    };
    let mut last_progress = None;
    let found = scan_units(&link, &options, &mut |p| last_progress = Some(p))
        .await
        .expect("the unit scan runs");
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(lines, expected_units(&bus), "units found on {link}");
    let last = last_progress.expect("progress reported");
    assert_eq!((last.asked, last.total), (247, 247));

    let started = Instant::now();
    let mut requests = 0;
    let ranges = scan_ranges(
        &link,
        3,
        Table::Holding,
        0,
        to,
        &RangeScan {
            timeout: Duration::from_secs(2),
            ..RangeScan::default()
        },
        &mut |p| requests = p.requests,
    )
    .await
    .expect("the range scan runs");
    eprintln!(
        "{link}: {} holding addresses in {requests} requests, {} ms",
        u32::from(to) + 1,
        started.elapsed().as_millis()
    );
    let expected: Vec<RangeInclusive<u16>> = expected_ranges(&bus)
        .into_iter()
        .filter(|r| *r.start() <= to)
        .map(|r| *r.start()..=(*r.end()).min(to))
        .collect();
    assert_eq!(ranges, expected, "ranges of unit 3 on {link} up to {to}");

    let identity = identify(&link, 3, Duration::from_secs(2))
        .await
        .expect("pymodbus identifies itself");
    let mut objects: Vec<String> = identity.objects.iter().map(ToString::to_string).collect();
    let mut expected = expected_identity(&bus);
    objects.sort();
    expected.sort();
    assert_eq!(objects, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_over_tcp_the_scanner_finds_exactly_the_units_ranges_and_identity() {
    let server = ScanServer::tcp();
    // The whole table: the 10,000-address scan the issue times.
    check_bus(tcp(server.port()), Duration::from_millis(500), 9999).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_over_rtu_on_a_pty_the_scanner_finds_exactly_the_units_ranges_and_identity() {
    let pair = SocatPair::new();
    let _server = ScanServer::serial(&pair.a, 19200, 'N');
    // The first 200 addresses (three of the ranges, one a single register): the whole table takes about
    // 70 s at 19200 baud, measured once and written in the README, and adds nothing the TCP case lacks.
    check_bus(rtu(&pair), Duration::from_millis(500), 199).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serial_probe_tries_every_common_setting_and_reports_the_answers() {
    // A pty ignores the baud rate: every 8N1 candidate reaches the server, so this shows that the
    // probe runs them all and reports what each got, not that it can tell settings apart. The
    // kernel's ptys here refuse parity (termios EINVAL), so 8E1 and 8O1 come back as refused.
    let pair = SocatPair::new();
    let _server = ScanServer::serial(&pair.a, 19200, 'N');
    let candidates = SerialSettings::common();
    let mut tried = Vec::new();
    let results = probe_serial(
        &pair.b.to_string_lossy(),
        3,
        &candidates,
        Duration::from_millis(500),
        &mut |p| tried.push(p.tried),
    )
    .await
    .expect("the probe runs");
    assert_eq!(tried, (1..=15).collect::<Vec<u16>>());
    assert_eq!(results.len(), 15);
    for result in &results {
        let line = result.to_string();
        match result.settings.parity {
            Parity::None => assert!(result.answered(), "{line}"),
            _ => assert!(
                result.answered() || line.contains("the port refused it"),
                "{line}"
            ),
        }
    }
    assert_eq!(results[4].to_string(), "19200 8N1: holding 0 = 0x0001 (1)");
}

fn scan(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(plantwatch_bin())
        .arg("scan")
        .args(args)
        .output()
        .expect("run plantwatch scan");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn plantwatch_scan_finds_the_simulated_plant_and_its_mystery_device() {
    let sim = SimProcess::tcp(&["--with-mystery"]);
    let link = format!("tcp://127.0.0.1:{}", sim.port());

    let (code, out, err) = scan(&[&link]);
    assert_eq!(code, 0, "{err}");
    let units: Vec<&str> = out
        .lines()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        units,
        ["unit 1", "unit 11", "unit 12", "unit 21", "unit 37"]
    );
    assert!(out.contains("unit 37: holding 0 = 0x0005 (5)"), "{out}");
    assert!(
        out.contains("unit 21: exception 01 illegal function"),
        "{out}"
    );

    let (code, out, err) = scan(&[&link, "--unit", "37", "--from", "0", "--to", "9999"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "holding 0-9, 100-123, 3000-3015\n");
    let (code, out, _) = scan(&[&link, "--unit", "37", "--table", "input", "--to", "999"]);
    assert_eq!((code, out.as_str()), (0, "input 0-7\n"));

    let (code, out, err) = scan(&[&link, "--unit", "37", "--identify"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "VendorName: Plantwatch Training\nProductCode: PWT-MB37\nMajorMinorRevision: 1.4\n\
         ProductName: Mystery box\nModelName: MB-37 rev B\n"
    );
    // The demo plant's PLC does not implement FC 43: said so, exit 1.
    let (code, out, _) = scan(&[&link, "--unit", "1", "--identify"]);
    assert_eq!(code, 1);
    assert!(out.contains("exception 01"), "{out}");

    // Nobody on units 2-10: nothing answered.
    let (code, out, _) = scan(&[&link, "--units", "2-10"]);
    assert_eq!((code, out.as_str()), (1, ""));
}

#[test]
fn without_with_mystery_unit_37_is_absent() {
    let sim = SimProcess::tcp(&[]);
    let link = format!("tcp://127.0.0.1:{}", sim.port());
    let (code, out, _) = scan(&[&link, "--units", "30-40"]);
    assert_eq!((code, out.as_str()), (1, ""));
}

#[test]
fn bad_arguments_exit_2_and_say_what_is_wrong() {
    for (args, says) in [
        (vec!["tcp://127.0.0.1:1", "--units", "0-300"], "--units"),
        (vec!["tcp://127.0.0.1:1", "--units", "9-3"], "--units"),
        (vec!["ftp://x"], "unknown link"),
        (
            vec!["tcp://127.0.0.1:1", "--unit", "3", "--table", "bogus"],
            "--table",
        ),
        (
            vec![
                "tcp://127.0.0.1:1",
                "--unit",
                "3",
                "--from",
                "9",
                "--to",
                "3",
            ],
            "--from",
        ),
        (vec!["tcp://127.0.0.1:1", "--baud", "auto"], "--baud auto"),
        (vec!["rtu:/dev/null", "--parity", "mark"], "parity"),
    ] {
        let (code, _, err) = scan(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn a_link_nobody_listens_on_exits_1() {
    let port = plantwatch_system_tests::peers::closed_port();
    let (code, _, err) = scan(&[&format!("tcp://127.0.0.1:{port}")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot open"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_scan_closes_its_connection() {
    use std::io::Read;
    // A device that takes the first request and never answers: the scan waits on unit 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let (seen, closed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the scan connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut frame = [0u8; 260];
        let mut requests = 0;
        loop {
            match stream.read(&mut frame) {
                Ok(0) => break,
                Ok(_) => requests += 1,
                Err(e) => {
                    let _ = seen.send(Err(e.kind()));
                    return;
                }
            }
        }
        let _ = seen.send(Ok(requests));
    });
    let options = UnitScan {
        timeout: Duration::from_secs(30),
        ..UnitScan::default()
    };
    let link = tcp(port);
    let mut ignore = |_| {};
    let scan = scan_units(&link, &options, &mut ignore);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), scan)
            .await
            .is_err(),
        "the scan cannot have finished: unit 1 never answers"
    );
    // The future is dropped: the socket must be closed, after the one request.
    let outcome = closed
        .recv_timeout(Duration::from_secs(5))
        .expect("the server sees the connection close");
    assert_eq!(outcome, Ok(1));
}
