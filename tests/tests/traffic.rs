//! The traffic monitor against an independent server: pymodbus (`tests/peers/traffic_server.py`) logs
//! every request it decodes, and the monitor's request frames must be that log one for one, each
//! response paired with its request; over Modbus TCP, RTU over TCP and RTU on a socat pty (where every
//! frame carries a correct CRC). An engine's links are captured while the monitor is on, and only then.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_core::{AlarmSettings, Device, Link, Plant, SerialLine, SocketEndpoint, Table};
use plantwatch_core::{Parity, Tag, ValueType};
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_modbus::{Connection, Direction, Frame, Payload, TrafficMonitor};
use plantwatch_system_tests::peers::SocatPair;
use plantwatch_system_tests::{out_dir, peer, python};

const TIMEOUT: Duration = Duration::from_secs(2);

/// One request as the server logged it, or as the monitor saw it: unit, function, address, count.
type Logged = (u8, u8, Option<u16>, Option<u16>);

/// `traffic_server.py`, killed on drop; its request log in a temp dir.
struct TrafficServer {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

enum Serve<'a> {
    Tcp,
    RtuOverTcp,
    Serial(&'a Path),
}

impl TrafficServer {
    fn start(serve: Serve<'_>) -> TrafficServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("requests.log");
        let mut command = Command::new(python());
        command
            .arg(peer("traffic_server.py"))
            .arg("--log")
            .arg(&log)
            .args(["--units", "1,7"]);
        match serve {
            Serve::Tcp => {}
            Serve::RtuOverTcp => {
                command.args(["--framer", "rtu"]);
            }
            Serve::Serial(path) => {
                command
                    .arg("--serial")
                    .arg(path)
                    .args(["--baud", "115200", "--parity", "N"]);
            }
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // pymodbus logs every exception it answers.
            .stderr(Stdio::null())
            .spawn()
            .expect("start traffic_server.py");
        let stdout = child.stdout.take().expect("piped");
        let mut first = String::new();
        // The server prints its line once listening (or exits, which ends the read).
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the server's first line");
        let port = match first.trim().strip_prefix("PORT ") {
            Some(port) => port.parse().expect("a port number"),
            None if first.trim() == "READY" => 0,
            None => panic!("traffic_server.py printed {first:?}"),
        };
        TrafficServer {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// The requests logged so far.
    fn requests(&self) -> Vec<Logged> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let w: Vec<&str> = line.split_whitespace().collect();
                let field = |i: usize| w.get(i).and_then(|f| f.parse().ok());
                (
                    w[0].parse().expect("unit"),
                    w[1].parse().expect("function"),
                    field(2),
                    field(3),
                )
            })
            .collect()
    }
}

impl Drop for TrafficServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tcp(port: u16) -> SocketEndpoint {
    SocketEndpoint {
        host: "127.0.0.1".into(),
        port,
    }
}

/// Rounds of [`exercise`] at most: 11 requests each, so 300 make 6,600 frames, inside the ring.
const MAX_ROUNDS: u16 = 300;

/// A commissioning session's worth of requests: every table, a refused address, two units, each kind of
/// write, repeated until `run_for` has passed or [`MAX_ROUNDS`] were made.
async fn exercise(connection: &mut Connection, run_for: Duration) {
    let began = Instant::now();
    let mut round = 0u16;
    while began.elapsed() < run_for && round < MAX_ROUNDS {
        let at = round % 50;
        for table in [Table::Coil, Table::Discrete, Table::Input, Table::Holding] {
            let read = connection.read(1, table, at, 10, TIMEOUT).await;
            assert!(matches!(read, Ok(Ok(_))), "{table:?} read: {read:?}");
        }
        let refused = connection.read(1, Table::Holding, 150, 4, TIMEOUT).await;
        assert_eq!(refused, Ok(Err(2)), "a read past the map is refused");
        let other = connection.read(7, Table::Holding, at, 3, TIMEOUT).await;
        assert!(matches!(other, Ok(Ok(_))), "unit 7: {other:?}");
        let writes = [
            (Table::Coil, Payload::Bits(vec![true])),
            (Table::Coil, Payload::Bits(vec![true, false, true])),
            (Table::Holding, Payload::Registers(vec![round])),
            (Table::Holding, Payload::Registers(vec![1, 2, 3, 4])),
        ];
        for (table, data) in writes {
            let wrote = connection
                .write(1, table, 50 + at % 40, &data, TIMEOUT)
                .await;
            assert_eq!(wrote, Ok(Ok(())), "{table:?} write");
        }
        let masked = connection.mask_write(7, 20, 0xFF00, 0x0011, TIMEOUT).await;
        assert_eq!(masked, Ok(Ok(())), "mask write");
        round += 1;
    }
}

/// Fails with the first place where the capture and the server's log part, not two whole lists.
fn assert_one_for_one(captured: &[Logged], logged: &[Logged]) {
    let parted = captured.iter().zip(logged).position(|(c, l)| c != l);
    if let Some(at) = parted {
        let around = at.saturating_sub(3)..(at + 3);
        panic!(
            "request {at} differs: captured {:?}, logged {:?}",
            &captured[around.start..around.end.min(captured.len())],
            &logged[around.start..around.end.min(logged.len())]
        );
    }
    assert_eq!(
        captured.len(),
        logged.len(),
        "the monitor's requests are the server's log, one for one"
    );
}

fn requests_of(frames: &[Frame]) -> Vec<Logged> {
    frames
        .iter()
        .filter(|f| f.direction == Direction::Request)
        .map(|f| (f.unit, f.function, f.address, f.count))
        .collect()
}

/// Every response names an earlier request of the same unit and function (on Modbus TCP, with the same
/// transaction id), and every request is answered once, but for at most `unanswered` (a monitor switched
/// off between a request and its reply records no reply).
fn check_pairs(frames: &[Frame], unanswered: usize) {
    let mut answered = std::collections::BTreeSet::new();
    for response in frames.iter().filter(|f| f.direction == Direction::Response) {
        let request = response
            .request_seq
            .and_then(|seq| frames.iter().find(|f| f.seq == seq))
            .unwrap_or_else(|| panic!("a response without its request: {response:?}"));
        assert_eq!(request.direction, Direction::Request, "{response:?}");
        assert!(request.seq < response.seq);
        assert_eq!(
            (response.unit, response.function),
            (request.unit, request.function)
        );
        if response.crc_ok.is_none() {
            assert_eq!(response.bytes[..5], request.bytes[..5], "transaction id");
        }
        assert!(response.latency_us.is_some(), "{response:?}");
        assert!(answered.insert(request.seq), "answered twice: {request:?}");
    }
    let requests = frames
        .iter()
        .filter(|f| f.direction == Direction::Request)
        .count();
    assert!(
        requests - answered.len() <= unanswered,
        "{} of {requests} requests unanswered",
        requests - answered.len()
    );
}

/// Runs the exercise over `link` with the monitor on and checks the capture against the server's log.
async fn capture_matches_the_log(link: Link, server: &TrafficServer) -> Vec<Frame> {
    let monitor = TrafficMonitor::new();
    monitor.set_enabled(true);
    let mut connection = Connection::open_with(&link, TIMEOUT, Some(&monitor))
        .await
        .expect("open the link");
    exercise(&mut connection, Duration::from_secs(2)).await;
    connection.close().await;
    let frames = monitor.snapshot(0);
    assert!(frames.len() > 100, "only {} frames captured", frames.len());
    assert_eq!(monitor.dropped(), 0);
    assert_one_for_one(&requests_of(&frames), &server.requests());
    check_pairs(&frames, 0);
    let refused: Vec<&Frame> = frames.iter().filter(|f| f.exception.is_some()).collect();
    assert!(!refused.is_empty());
    assert!(refused
        .iter()
        .all(|f| f.exception == Some(2) && f.function == 3 && f.address == Some(150)));
    assert!(frames.iter().all(|f| f.link == link.to_string()));
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_frames_are_the_servers_requests_one_for_one() {
    let server = TrafficServer::start(Serve::Tcp);
    let frames = capture_matches_the_log(Link::Tcp(tcp(server.port)), &server).await;
    assert!(frames.iter().all(|f| f.crc_ok.is_none()));
    // The MBAP frame: transaction id, protocol 0, length, unit, then the PDU.
    let first = &frames[0];
    assert_eq!(&first.bytes[6..], "00 00 00 06 01 01 00 00 00 0A");
    // The export: a header and a line per frame (kept in tests/out/traffic/ to look at).
    let text = TrafficMonitor::to_text(&frames);
    assert_eq!(text.lines().count(), frames.len() + 1);
    std::fs::write(out_dir("traffic").join("tcp.txt"), &text).expect("write the export");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtu_over_tcp_frames_carry_a_correct_crc() {
    let server = TrafficServer::start(Serve::RtuOverTcp);
    let frames = capture_matches_the_log(Link::RtuOverTcp(tcp(server.port)), &server).await;
    assert!(frames.iter().all(|f| f.crc_ok == Some(true)));
    // Read 10 coils at 0 of unit 1, with its CRC.
    assert_eq!(frames[0].bytes, "01 01 00 00 00 0A BC 0D");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_rtu_frames_carry_a_correct_crc() {
    let pty = SocatPair::new();
    let server = TrafficServer::start(Serve::Serial(&pty.a));
    let line = SerialLine {
        path: pty.b.to_string_lossy().into_owned(),
        baud: 115_200,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
    };
    let frames = capture_matches_the_log(Link::Rtu(line), &server).await;
    assert!(frames.iter().all(|f| f.crc_ok == Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switched_off_monitor_records_nothing() {
    let server = TrafficServer::start(Serve::Tcp);
    let monitor = TrafficMonitor::new();
    let link = Link::Tcp(tcp(server.port));
    let mut connection = Connection::open_with(&link, TIMEOUT, Some(&monitor))
        .await
        .expect("open the link");
    exercise(&mut connection, Duration::from_millis(200)).await;
    assert!(monitor.snapshot(0).is_empty());
    // Switched on mid-connection, it starts with the next request.
    monitor.set_enabled(true);
    exercise(&mut connection, Duration::from_millis(200)).await;
    monitor.set_enabled(false);
    exercise(&mut connection, Duration::from_millis(200)).await;
    let frames = monitor.snapshot(0);
    check_pairs(&frames, 0);
    let logged = server.requests();
    let captured = requests_of(&frames);
    assert!(!captured.is_empty() && captured.len() < logged.len());
    assert!(
        logged.windows(captured.len()).any(|w| w == captured),
        "the capture is one unbroken stretch of the server's log"
    );
}

/// A plant of two devices (units 1 and 7) on one TCP link to the server, polled every 50 ms.
fn plant(port: u16, history: &Path) -> Plant {
    let device = |id: &str, unit: u8| Device {
        id: id.into(),
        name: None,
        link: Link::Tcp(tcp(port)),
        unit,
        poll_period: Duration::from_millis(50),
        timeout: TIMEOUT,
        max_block: 125,
        max_gap: 16,
        tags: vec![
            Tag::new("level", Table::Holding, 3, ValueType::U16),
            Tag::new("flow", Table::Input, 10, ValueType::U32),
            Tag::new("pump", Table::Coil, 5, ValueType::Bool),
        ],
    };
    Plant::new(
        "traffic",
        history.to_path_buf(),
        AlarmSettings::default(),
        vec![device("tank", 1), device("meter", 7)],
        None,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engines_links_are_captured_while_its_monitor_is_on() {
    let server = TrafficServer::start(Serve::Tcp);
    let dir = tempfile::tempdir().expect("temp dir");
    let plant = Arc::new(plant(server.port, &dir.path().join("history.db")));
    let options = EngineOptions {
        alarms: false,
        ..EngineOptions::default()
    };
    let engine = Engine::start(plant, options).await.expect("engine starts");
    let monitor = engine.traffic().clone();
    assert!(!monitor.is_enabled(), "off by default");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().len() < 10 {
        assert!(Instant::now() < deadline, "the engine does not poll");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(monitor.snapshot(0).is_empty());
    monitor.set_enabled(true);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    monitor.set_enabled(false);
    let frames = monitor.snapshot(0);
    // Polls go on after the monitor is off; they are not recorded.
    let polled_before_stop = server.requests().len();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().len() < polled_before_stop + 10 {
        assert!(Instant::now() < deadline, "the engine stopped polling");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(monitor.snapshot(0), frames);
    engine.stop().await.expect("engine stops");

    // Each device has its own connection to the server; switched off between a request and its reply,
    // a connection records no reply.
    check_pairs(&frames, 2);
    let captured = requests_of(&frames);
    // Two devices every 50 ms for 1.5 s, three reads each: well over 100 requests.
    assert!(captured.len() > 100, "only {} requests", captured.len());
    let units: std::collections::BTreeSet<u8> = captured.iter().map(|r| r.0).collect();
    assert_eq!(units, [1, 7].into());
    // The two connections' requests interleave in both lists in their own ways: each unit's are compared.
    let logged = server.requests();
    for unit in units {
        let of_unit = |list: &[Logged]| {
            list.iter()
                .filter(|r| r.0 == unit)
                .copied()
                .collect::<Vec<_>>()
        };
        let (captured, logged) = (of_unit(&captured), of_unit(&logged));
        assert!(
            logged.windows(captured.len()).any(|w| w == captured),
            "unit {unit}: the capture is one unbroken stretch of the server's log"
        );
    }
}
