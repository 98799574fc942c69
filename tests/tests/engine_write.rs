//! The engine's one write path (`Engine::write_tag`, `write_once`).
//!
//! Against the in-process simulator, as the desktop uses it: a coil write starts a pump and the plant
//! answers with its run feedback, a setpoint write reads back, a setpoint the controller cannot work
//! with is refused by the device, a speed it clamps is a mismatch, and writes the engine must refuse
//! itself (read-only tables, a value of the wrong kind, a tag that does not exist) say why.
//!
//! Against an independent Modbus server (pymodbus, `tests/peers/write_server.py`): every writable table
//! and type in every word order holds what was written, decoded by pymodbus; refusals send nothing (the
//! server's request log shows no write); a clamping server gives `mismatch` with both values; a bit
//! write changes only its bit while its register is polled at 10 Hz, with and without FC 22; a pulse
//! writes true then false; and writes to one of 50 devices keep every device's poll deadlines.

use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Quality, Role, TagIndex, Value};
use plantwatch_engine::{Actor, Engine, EngineOptions, WriteOutcome, WriteReport};
use plantwatch_sim::{SimOptions, SimServer};
use plantwatch_system_tests::engine_support::{live, wait_for_live};

/// Polls faster than the demo plant's 1 s, so the test sees a write's effect within a few polls.
const PERIOD: Duration = Duration::from_millis(100);
/// Generous for a loaded two-core machine: a write's effect shows within two or three polls.
const WITHIN: Duration = Duration::from_secs(10);

/// The simulator (scenario `normal`: pump 1 leads and runs, pump 2 stands by, level 1.6 m), and an
/// engine polling the demo plant on it with history in a temporary folder and no alarm service.
struct Station {
    engine: Engine,
    sim: SimServer,
    _dir: tempfile::TempDir,
}

impl Station {
    async fn start() -> Station {
        let sim = SimServer::start(SimOptions::default())
            .await
            .expect("start the simulator");
        let addr = sim.local_addr().expect("a TCP simulator has an address");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut plant = plantwatch_sim::demo_plant_with_history(addr, dir.path().join("plant.db"));
        for device in &mut plant.devices {
            device.poll_period = PERIOD;
        }
        let options = EngineOptions {
            history: None,
            alarms: false,
            ..EngineOptions::default()
        };
        let engine = Engine::start(Arc::new(plant), options)
            .await
            .expect("engine starts");
        // Every write below is judged against a first good reading of the PLC.
        wait_for_live(
            &engine,
            "plc/pump2_running",
            "a first good poll of the PLC",
            WITHIN,
            |l| l.quality == Quality::Good,
        )
        .await;
        Station {
            engine,
            sim,
            _dir: dir,
        }
    }

    fn tag(&self, full_id: &str) -> TagIndex {
        self.engine
            .plant()
            .find_tag(full_id)
            .unwrap_or_else(|| panic!("{full_id} is in the demo plant"))
    }

    /// Writes as the operator olga (the demo plant's setpoints and pump commands are operator tags).
    async fn write(&self, full_id: &str, value: Value) -> WriteReport {
        self.engine
            .write_tag(
                self.tag(full_id),
                value,
                &actor("olga", Role::Operator),
                None,
            )
            .await
    }

    async fn stop(self) {
        self.engine.stop().await.expect("engine stops cleanly");
        self.sim.shutdown().await;
    }
}

fn actor(user: &str, role: Role) -> Actor {
    Actor {
        user: user.to_string(),
        role,
    }
}

fn is_number_near(value: &Option<Value>, want: f64) -> bool {
    value
        .as_ref()
        .and_then(Value::as_f64)
        .is_some_and(|v| (v - want).abs() < 1e-9)
}

/// Asserts a report's outcome, showing the whole report otherwise.
fn assert_outcome(report: &WriteReport, outcome: WriteOutcome) {
    assert_eq!(report.outcome, outcome, "{}", report.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coil_write_starts_pump_2_and_the_plant_reports_it_running() {
    let station = Station::start().await;
    assert_eq!(
        live(&station.engine, "plc/pump2_running").value,
        Some(Value::Bool(false)),
        "pump 2 stands by in the normal scenario before the write"
    );

    let report = station.write("plc/pump2_manual", Value::Bool(true)).await;
    assert_outcome(&report, WriteOutcome::Done);
    assert_eq!(report.old, Some(Value::Bool(false)));
    assert_eq!(report.readback, Some(Value::Bool(true)));

    wait_for_live(
        &station.engine,
        "plc/pump2_running",
        "pump 2's run feedback (discrete input 2)",
        WITHIN,
        |l| l.quality == Quality::Good && l.value == Some(Value::Bool(true)),
    )
    .await;
    // The drive behind the pump confirms it from its side: it is turning.
    wait_for_live(
        &station.engine,
        "drive2/frequency",
        "drive 2's output frequency to rise",
        WITHIN,
        |l| {
            l.value
                .as_ref()
                .and_then(Value::as_f64)
                .is_some_and(|hz| hz > 0.5)
        },
    )
    .await;
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setpoint_write_reads_back_and_an_unworkable_one_is_refused_by_the_plc() {
    let station = Station::start().await;

    // 2.25 m in engineering units is 2250 mm in the register (scale 0.001).
    let report = station
        .write("plc/lead_start_level", Value::Number(2.25))
        .await;
    assert_outcome(&report, WriteOutcome::Done);
    assert!(is_number_near(&report.old, 2.0), "{report:?}");
    assert!(is_number_near(&report.readback, 2.25), "{report:?}");
    assert!(
        report
            .message()
            .starts_with("done: plc/lead_start_level set to 2.25"),
        "{}",
        report.message()
    );

    // Above the lag start level (2.6 m) the controller would not work: the PLC answers exception 03
    // and keeps the setpoint it had.
    let refused = station
        .write("plc/lead_start_level", Value::Number(3.0))
        .await;
    assert_outcome(&refused, WriteOutcome::Refused { code: 3 });
    assert!(
        refused.message().starts_with("refused:") && refused.message().contains("exception 03"),
        "{}",
        refused.message()
    );
    let later = station
        .write("plc/lag_start_level", Value::Number(2.7))
        .await;
    assert_outcome(&later, WriteOutcome::Done);
    wait_for_live(
        &station.engine,
        "plc/lead_start_level",
        "the lead start level to poll as written",
        WITHIN,
        |l| is_number_near(&l.value, 2.25),
    )
    .await;
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plc_clamps_a_speed_above_50_hz_and_the_write_is_a_mismatch() {
    let station = Station::start().await;
    let engineer = actor("erik", Role::Engineer);
    let tag = station.tag("plc/max_speed");
    let report = station
        .engine
        .write_tag(tag, Value::Number(55.0), &engineer, Some("test the limit"))
        .await;
    assert_outcome(&report, WriteOutcome::Mismatch);
    assert!(is_number_near(&report.readback, 50.0), "{report:?}");
    assert_eq!(
        report.message(),
        "mismatch: plc/max_speed was written 55 but the device holds 50"
    );
    // An operator may not touch the drives' speed at all.
    let denied = station.write("plc/max_speed", Value::Number(45.0)).await;
    assert_outcome(
        &denied,
        WriteOutcome::Denied {
            needed: Role::Engineer,
        },
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_reset_is_a_pulse_reported_once() {
    let station = Station::start().await;
    let report = station.write("plc/fault_reset", Value::Bool(true)).await;
    assert_outcome(&report, WriteOutcome::Done);
    assert_eq!(
        report.readback,
        Some(Value::Bool(false)),
        "a pulse reads back false once it ended"
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_the_engine_refuses_itself_say_why_and_reach_nothing() {
    let station = Station::start().await;
    let invalid = |report: &WriteReport| matches!(report.outcome, WriteOutcome::Invalid { .. });
    for (full_id, value) in [
        // Read-only tables.
        ("plc/level", Value::Number(1.0)),
        ("plc/pump1_running", Value::Bool(true)),
        // A holding register without `write` (the station name).
        ("plc/station_name", Value::Text(Arc::from("X"))),
        // Text cannot switch a coil, and a coil takes 0 or 1, not 0.5.
        ("plc/pump2_manual", Value::Text(Arc::from("on"))),
        ("plc/pump2_manual", Value::Number(0.5)),
        // Text is not a setpoint; NaN is no number.
        ("plc/stop_level", Value::Text(Arc::from("0.9"))),
        ("plc/stop_level", Value::Number(f64::NAN)),
    ] {
        let report = station.write(full_id, value).await;
        assert!(invalid(&report), "{full_id}: {}", report.message());
        assert!(
            report.message().starts_with("invalid: ") && report.message().contains(full_id),
            "the message names the tag and why: {}",
            report.message()
        );
    }
    // 70 m is outside the stop level's configured range (0.1 to 3.0 m).
    let far = station.write("plc/stop_level", Value::Number(70.0)).await;
    assert_outcome(
        &far,
        WriteOutcome::OutOfRange {
            min: Some(0.1),
            max: Some(3.0),
        },
    );
    assert_eq!(
        far.message(),
        "out of range: 70 for plc/stop_level is outside 0.1 to 3"
    );

    // None of them reached the PLC: the coil is still off and the stop level still 0.8 m.
    wait_for_live(
        &station.engine,
        "plc/pump2_manual",
        "a good reading of the manual start coil",
        WITHIN,
        |l| l.quality == Quality::Good,
    )
    .await;
    assert_eq!(
        live(&station.engine, "plc/pump2_manual").value,
        Some(Value::Bool(false))
    );
    assert!(is_number_near(
        &live(&station.engine, "plc/stop_level").value,
        0.8
    ));

    let beyond = TagIndex(station.engine.plant().tag_count() as u32);
    let no_tag = station
        .engine
        .write_tag(
            beyond,
            Value::Bool(true),
            &actor("olga", Role::Operator),
            None,
        )
        .await;
    assert!(invalid(&no_tag), "{}", no_tag.message());
    station.stop().await;
}

// ---------------------------------------------------------------------------------------------------
// Against pymodbus (tests/peers/write_server.py)
// ---------------------------------------------------------------------------------------------------

/// The wide types, each written in every word order: (type, a value it holds exactly, pymodbus's repr).
const WIDE: [(&str, f64, &str); 6] = [
    ("u32", 3_000_000_000.0, "3000000000"),
    ("i32", -123_456_789.0, "-123456789"),
    ("f32", -1234.5, "-1234.5"),
    ("u64", 1_099_511_627_783.0, "1099511627783"),
    ("i64", -1_099_511_627_783.0, "-1099511627783"),
    ("f64", std::f64::consts::PI, "3.141592653589793"),
];
const ORDERS: [&str; 4] = ["ABCD", "CDAB", "BADC", "DCBA"];

/// Where the wide tag of type `w` (index into WIDE) and order `o` lives: 4 registers each from 10.
fn wide_address(w: usize, o: usize) -> u16 {
    10 + 4 * (w * ORDERS.len() + o) as u16
}

/// The register of the bit tags, and its value before the tests.
const BITS_REGISTER: u16 = 220;
const BITS_BEFORE: u16 = 0xA5A5;

/// The pymodbus spec: unit 1 with every register the plant's tags use, holding 230 clamped to 0-1000.
fn peer_spec(mask_write: bool) -> serde_json::Value {
    serde_json::json!({
        "mask_write": mask_write,
        "units": {"1": {
            "holding": {
                "0": [0, 0, 0],
                "10": vec![0; 4 * WIDE.len() * ORDERS.len()],
                "200": [0, 0, 0, 0], "210": 0, "220": BITS_BEFORE, "230": 0, "240": 7, "250": 0
            },
            "input": {"0": 5},
            "coil": {"0": false, "1": false},
            "clamp": {"230": [0, 1000]}
        }}
    })
}

/// The plant of one device on the peer: one writable tag of every table and type (the wide ones in
/// every order), a clamped register, bits, a pulse, and tags that may not be written.
fn peer_plant_toml(port: u16, devices: usize, poll_ms: u64) -> String {
    let mut text = String::from("[plant]\nname = \"Write test\"\n");
    for d in 0..devices {
        text += &format!(
            "\n[[devices]]\nid = \"dev{d}\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nunit = 1\npoll_ms = {poll_ms}\ntimeout_ms = 2000\n"
        );
        let mut tag = |id: &str, body: &str| {
            text += &format!("\n[[devices.tags]]\nid = \"{id}\"\n{body}\n");
        };
        tag("start_level", "table = \"holding\"\naddress = 0\ntype = \"u16\"\nscale = 0.01\nunit = \"m\"\nwrite = { min = 0.5, max = 3.0, role = \"operator\" }");
        tag("trim", "table = \"holding\"\naddress = 1\ntype = \"i16\"\nscale = 0.1\nwrite = { role = \"engineer\" }");
        tag(
            "counts",
            "table = \"holding\"\naddress = 2\ntype = \"u16\"\nwrite = { role = \"operator\" }",
        );
        for (w, (type_name, _, _)) in WIDE.iter().enumerate() {
            for (o, order) in ORDERS.iter().enumerate() {
                let order_key = if *order == "ABCD" {
                    String::new()
                } else {
                    format!("order = \"{order}\"\n")
                };
                tag(
                    &format!("{type_name}_{}", order.to_lowercase()),
                    &format!("table = \"holding\"\naddress = {}\ntype = \"{type_name}\"\n{order_key}write = {{ role = \"operator\" }}", wide_address(w, o)),
                );
            }
        }
        tag("label", "table = \"holding\"\naddress = 200\ntype = \"string\"\nlength = 4\nwrite = { role = \"operator\" }");
        tag(
            "enable",
            "table = \"holding\"\naddress = 210\ntype = \"bool\"\nwrite = { role = \"operator\" }",
        );
        tag("bit3", &format!("table = \"holding\"\naddress = {BITS_REGISTER}\ntype = \"bit\"\nbit = 3\nwrite = {{ role = \"operator\" }}"));
        tag("bit12", &format!("table = \"holding\"\naddress = {BITS_REGISTER}\ntype = \"bit\"\nbit = 12\nwrite = {{ role = \"operator\" }}"));
        tag(
            "clamped",
            "table = \"holding\"\naddress = 230\ntype = \"u16\"\nwrite = { role = \"operator\" }",
        );
        tag(
            "fixed",
            "table = \"holding\"\naddress = 240\ntype = \"u16\"",
        );
        tag(
            "limit",
            "table = \"holding\"\naddress = 250\ntype = \"u16\"\nwrite = { role = \"engineer\" }",
        );
        tag("reading", "table = \"input\"\naddress = 0\ntype = \"u16\"");
        tag(
            "run",
            "table = \"coil\"\naddress = 0\nwrite = { role = \"operator\", confirm = \"Run?\" }",
        );
        tag(
            "reset",
            "table = \"coil\"\naddress = 1\nwrite = { role = \"operator\", pulse_ms = 200 }",
        );
    }
    text
}

/// The peer and an engine polling `devices` copies of the plant on it.
struct PeerPlant {
    engine: Engine,
    peer: plantwatch_system_tests::write_support::WriteServer,
    audit: Arc<plantwatch_system_tests::write_support::KeptAudit>,
    _dir: tempfile::TempDir,
}

impl PeerPlant {
    async fn start(mask_write: bool, devices: usize, poll_ms: u64) -> PeerPlant {
        let peer =
            plantwatch_system_tests::write_support::WriteServer::start(&peer_spec(mask_write));
        let dir = tempfile::tempdir().expect("temp dir");
        let text = peer_plant_toml(peer.port(), devices, poll_ms);
        let plant = plantwatch_config::parse(&text, std::path::Path::new("write.toml"))
            .unwrap_or_else(|e| panic!("the test plant is valid: {e}"));
        let audit = Arc::new(plantwatch_system_tests::write_support::KeptAudit::default());
        let options = EngineOptions {
            history: Some(dir.path().join("plant.db")),
            alarms: false,
            audit: Some(audit.clone()),
            ..EngineOptions::default()
        };
        let engine = Engine::start(Arc::new(plant), options)
            .await
            .expect("engine starts");
        for d in 0..devices {
            wait_for_live(
                &engine,
                &format!("dev{d}/counts"),
                "a first good poll",
                WITHIN,
                |l| l.quality == Quality::Good,
            )
            .await;
        }
        PeerPlant {
            engine,
            peer,
            audit,
            _dir: dir,
        }
    }

    async fn write_as(&self, full_id: &str, value: Value, role: Role) -> WriteReport {
        let tag = self
            .engine
            .plant()
            .find_tag(full_id)
            .unwrap_or_else(|| panic!("{full_id} is in the test plant"));
        self.engine
            .write_tag(tag, value, &actor("olga", role), Some("system test"))
            .await
    }

    async fn write(&self, full_id: &str, value: Value) -> WriteReport {
        self.write_as(full_id, value, Role::Operator).await
    }

    async fn stop(self) {
        self.engine.stop().await.expect("engine stops cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_writable_table_and_type_in_every_order_holds_what_was_written() {
    let mut plant = PeerPlant::start(true, 1, 100).await;
    for (w, (type_name, value, repr)) in WIDE.iter().enumerate() {
        for (o, order) in ORDERS.iter().enumerate() {
            let id = format!("dev0/{type_name}_{}", order.to_lowercase());
            let report = plant.write(&id, Value::Number(*value)).await;
            assert_outcome(&report, WriteOutcome::Done);
            assert_eq!(
                report.readback,
                Some(Value::Number(*value)),
                "{id} reads back"
            );
            assert_eq!(
                plant.peer.value(wide_address(w, o), type_name, order, 0),
                *repr,
                "{id}: pymodbus decodes what the server holds as the value written"
            );
        }
    }

    // A scaled u16 is written in raw counts: 2.25 m at 0.01 m is 225.
    let report = plant.write("dev0/start_level", Value::Number(2.25)).await;
    assert_outcome(&report, WriteOutcome::Done);
    assert_eq!(plant.peer.get("holding", 0, 1), [225]);
    let report = plant
        .write_as("dev0/trim", Value::Number(-3.5), Role::Engineer)
        .await;
    assert_outcome(&report, WriteOutcome::Done);
    assert_eq!(plant.peer.value(1, "i16", "ABCD", 0), "-35");

    // A string is padded with NULs; pymodbus reads the text back.
    let report = plant
        .write("dev0/label", Value::Text(Arc::from("PW4")))
        .await;
    assert_outcome(&report, WriteOutcome::Done);
    assert_eq!(plant.peer.value(200, "string", "ABCD", 4), "'PW4'");
    assert_eq!(plant.peer.get("holding", 200, 4), [0x5057, 0x3400, 0, 0]);

    // A bool in a holding register, and a coil.
    assert_outcome(
        &plant.write("dev0/enable", Value::Bool(true)).await,
        WriteOutcome::Done,
    );
    assert_eq!(plant.peer.get("holding", 210, 1), [1]);
    let report = plant.write("dev0/run", Value::Bool(true)).await;
    assert_outcome(&report, WriteOutcome::Done);
    assert_eq!(plant.peer.get("coil", 0, 1), [1]);
    assert_eq!(report.old, Some(Value::Bool(false)));

    // The command line's one-shot form goes through the same path over its own connection.
    let tag = plant
        .engine
        .plant()
        .find_tag("dev0/counts")
        .expect("counts");
    let audit = plantwatch_system_tests::write_support::KeptAudit::default();
    let once = plantwatch_engine::write_once(
        plant.engine.plant(),
        tag,
        Value::Number(4242.0),
        &actor("cli", Role::Operator),
        Some("from the command line"),
        Some(&audit),
    )
    .await;
    assert_outcome(&once, WriteOutcome::Done);
    assert_eq!(plant.peer.get("holding", 2, 1), [4242]);
    assert_eq!(audit.words(), ["done"]);
    plant.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_writes_send_nothing_and_every_attempt_is_audited() {
    let mut plant = PeerPlant::start(true, 1, 100).await;
    plant.peer.clear();
    let cases: Vec<(&str, Value, Role, WriteOutcome)> = vec![
        (
            "dev0/start_level",
            Value::Number(2.0),
            Role::Viewer,
            WriteOutcome::Denied {
                needed: Role::Operator,
            },
        ),
        (
            "dev0/limit",
            Value::Number(1.0),
            Role::Operator,
            WriteOutcome::Denied {
                needed: Role::Engineer,
            },
        ),
        (
            "dev0/start_level",
            Value::Number(3.5),
            Role::Operator,
            WriteOutcome::OutOfRange {
                min: Some(0.5),
                max: Some(3.0),
            },
        ),
    ];
    for (id, value, role, outcome) in cases {
        let report = plant.write_as(id, value, role).await;
        assert_outcome(&report, outcome);
    }
    let invalid: Vec<(&str, Value)> = vec![
        ("dev0/counts", Value::Text(Arc::from("12"))),
        ("dev0/counts", Value::Number(70_000.0)),
        ("dev0/counts", Value::Number(f64::INFINITY)),
        ("dev0/f64_abcd", Value::Number(f64::NAN)),
        ("dev0/run", Value::Number(0.5)),
        (
            "dev0/label",
            Value::Text(Arc::from("too long for 4 registers")),
        ),
        ("dev0/fixed", Value::Number(1.0)),
        ("dev0/reading", Value::Number(1.0)),
        ("dev0/reset", Value::Bool(false)),
    ];
    for (id, value) in invalid {
        let report = plant.write(id, value).await;
        assert!(
            matches!(report.outcome, WriteOutcome::Invalid { .. }),
            "{id}: {}",
            report.message()
        );
    }
    // The log is alive: the polls that go on show up in it (within a bounded wait).
    let deadline = std::time::Instant::now() + WITHIN;
    while plant.peer.requests().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server logs the polls"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        plant.peer.writes(),
        Vec::<u8>::new(),
        "no write reached the server"
    );
    assert_eq!(plant.audit.words().len(), 12, "every attempt is audited");
    assert!(plant
        .audit
        .kept
        .lock()
        .expect("audit")
        .iter()
        .all(|(_, comment)| comment.as_deref() == Some("system test")));
    plant.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_clamps_gives_a_mismatch_with_both_values() {
    let mut plant = PeerPlant::start(true, 1, 100).await;
    let report = plant.write("dev0/clamped", Value::Number(1500.0)).await;
    assert_outcome(&report, WriteOutcome::Mismatch);
    assert_eq!(report.requested, Value::Number(1500.0));
    assert_eq!(report.readback, Some(Value::Number(1000.0)));
    assert_eq!(
        report.message(),
        "mismatch: dev0/clamped was written 1500 but the device holds 1000"
    );
    assert_eq!(plant.peer.get("holding", 230, 1), [1000]);
    plant.stop().await;
}

/// Sets and clears bits of one register polled every 100 ms, checking the other bits each time.
async fn bits_change_alone(mask_write: bool) -> Vec<u8> {
    let mut plant = PeerPlant::start(mask_write, 1, 100).await;
    plant.peer.clear();
    let steps = [
        ("dev0/bit3", true, BITS_BEFORE | 1 << 3),
        ("dev0/bit12", true, BITS_BEFORE | 1 << 3 | 1 << 12),
        ("dev0/bit3", false, BITS_BEFORE | 1 << 12),
        ("dev0/bit12", false, BITS_BEFORE),
    ];
    for (id, on, register) in steps {
        // Let a few polls of the register run between the writes.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let report = plant.write(id, Value::Bool(on)).await;
        assert_outcome(&report, WriteOutcome::Done);
        assert_eq!(report.readback, Some(Value::Bool(on)));
        assert_eq!(
            plant.peer.get("holding", BITS_REGISTER, 1),
            [register],
            "{id} := {on} changed only its bit (mask write {mask_write})"
        );
    }
    let writes = plant.peer.writes();
    plant.stop().await;
    writes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bit_write_changes_only_its_bit_with_a_mask_write() {
    let writes = bits_change_alone(true).await;
    assert_eq!(writes, [0x16; 4], "each bit is written with FC 22");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bit_write_changes_only_its_bit_by_read_modify_write_without_fc22() {
    let writes = bits_change_alone(false).await;
    assert_eq!(
        writes,
        [0x16, 0x06, 0x06, 0x06, 0x06],
        "FC 22 is tried once; refused with 01, each bit is a read-modify-write with FC 6"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulse_writes_true_then_false_and_is_reported_once() {
    let mut plant = PeerPlant::start(true, 1, 100).await;
    plant.peer.clear();
    let started = std::time::Instant::now();
    let report = plant.write("dev0/reset", Value::Bool(true)).await;
    assert_outcome(&report, WriteOutcome::Done);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "held for pulse_ms"
    );
    assert_eq!(report.readback, Some(Value::Bool(false)));
    assert_eq!(plant.peer.writes(), [0x05, 0x05], "on, then off");
    assert_eq!(plant.peer.get("coil", 1, 1), [0]);
    assert_eq!(plant.audit.words(), ["done"], "reported once");
    plant.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_to_an_unreachable_device_fails_within_its_timeout() {
    let plant = PeerPlant::start(true, 1, 100).await;
    let mut moved = (**plant.engine.plant()).clone();
    for device in &mut moved.devices {
        device.link = plantwatch_core::Link::Tcp(plantwatch_core::SocketEndpoint {
            host: "127.0.0.1".into(),
            port: plantwatch_system_tests::peers::closed_port(),
        });
    }
    let tag = moved.find_tag("dev0/counts").expect("counts");
    let started = std::time::Instant::now();
    let report = plantwatch_engine::write_once(
        &moved,
        tag,
        Value::Number(1.0),
        &actor("cli", Role::Operator),
        None,
        None,
    )
    .await;
    assert!(
        matches!(report.outcome, WriteOutcome::Failed { .. }),
        "{}",
        report.message()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "within the device timeout"
    );
    plant.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_to_a_silent_device_fails_within_its_timeouts() {
    let mut plant = PeerPlant::start(true, 1, 100).await;
    plant.peer.mute(true);
    let started = std::time::Instant::now();
    let report = plant.write("dev0/counts", Value::Number(9.0)).await;
    let took = started.elapsed();
    assert!(
        matches!(report.outcome, WriteOutcome::Failed { .. }),
        "{}",
        report.message()
    );
    // The device's timeout is 2 s: a poll in progress may hold the link that long, then the write's
    // first exchange times out; never the link task's whole queue wait or longer.
    assert!(took < Duration::from_millis(4500), "failed after {took:?}");
    plant.peer.mute(false);
    plant.stop().await;
}

/// `devices` devices on the peer, each one writable counter (holding 2), polled every `poll_ms`.
fn many_devices_toml(port: u16, devices: usize, poll_ms: u64) -> String {
    let mut text = String::from("[plant]\nname = \"Many\"\n");
    for d in 0..devices {
        text += &format!(
            "\n[[devices]]\nid = \"dev{d}\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nunit = 1\npoll_ms = {poll_ms}\ntimeout_ms = 2000\n\n[[devices.tags]]\nid = \"counts\"\ntable = \"holding\"\naddress = 2\ntype = \"u16\"\nwrite = {{ role = \"operator\" }}\n"
        );
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_one_of_50_devices_keep_every_poll_deadline() {
    const DEVICES: usize = 50;
    const PERIOD_MS: u64 = 200;
    const WRITES: usize = 20;
    let peer = plantwatch_system_tests::write_support::WriteServer::start(&peer_spec(true));
    let dir = tempfile::tempdir().expect("temp dir");
    let text = many_devices_toml(peer.port(), DEVICES, PERIOD_MS);
    let plant = plantwatch_config::parse(&text, std::path::Path::new("many.toml"))
        .unwrap_or_else(|e| panic!("the test plant is valid: {e}"));
    let options = EngineOptions {
        history: Some(dir.path().join("plant.db")),
        alarms: false,
        ..EngineOptions::default()
    };
    let engine = Engine::start(Arc::new(plant), options)
        .await
        .expect("engine starts");
    for d in 0..DEVICES {
        wait_for_live(
            &engine,
            &format!("dev{d}/counts"),
            "a first good poll",
            WITHIN,
            |l| l.quality == Quality::Good,
        )
        .await;
    }
    let missed_before: Vec<u64> = engine
        .devices()
        .iter()
        .map(|s| s.counters.missed_cycles)
        .collect();

    let tag = engine.plant().find_tag("dev0/counts").expect("dev0/counts");
    let mut round_trips = Vec::new();
    for i in 0..WRITES {
        let started = std::time::Instant::now();
        let report = engine
            .write_tag(
                tag,
                Value::Number(i as f64),
                &actor("olga", Role::Operator),
                None,
            )
            .await;
        round_trips.push(started.elapsed());
        assert_outcome(&report, WriteOutcome::Done);
        tokio::time::sleep(Duration::from_millis(PERIOD_MS / 2)).await;
    }

    let missed: Vec<u64> = engine
        .devices()
        .iter()
        .zip(&missed_before)
        .map(|(s, before)| s.counters.missed_cycles - before)
        .collect();
    round_trips.sort();
    let median = round_trips[WRITES / 2];
    let longest = round_trips[WRITES - 1];
    eprintln!(
        "{WRITES} writes to dev0 among {DEVICES} devices polled every {PERIOD_MS} ms: round trip median {median:?}, longest {longest:?}; missed cycles during the writes: {missed:?}"
    );
    assert!(
        longest <= Duration::from_millis(PERIOD_MS),
        "a write's round trip (request to read-back) stays within one poll period: longest {longest:?}"
    );
    assert_eq!(
        missed.iter().sum::<u64>(),
        0,
        "no device missed a poll deadline while dev0 was written: {missed:?}"
    );
    engine.stop().await.expect("engine stops cleanly");
}
