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
