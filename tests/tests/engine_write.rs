//! `Engine::write` against the in-process simulator, as the desktop uses it: a coil write starts a pump
//! and the plant answers with its run feedback, a setpoint write reads back on the next poll, a setpoint
//! the controller cannot work with is refused by the device, and writes the engine must refuse itself
//! (read-only tables, a value of the wrong kind, a tag that does not exist) say why.

use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Quality, TagIndex, Value};
use plantwatch_engine::{Engine, EngineError, EngineOptions};
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

    async fn write(&self, full_id: &str, value: Value) -> Result<(), EngineError> {
        self.engine.write(self.tag(full_id), value).await
    }

    async fn stop(self) {
        self.engine.stop().await.expect("engine stops cleanly");
        self.sim.shutdown().await;
    }
}

fn is_number_near(value: &Option<Value>, want: f64) -> bool {
    value
        .as_ref()
        .and_then(Value::as_f64)
        .is_some_and(|v| (v - want).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coil_write_starts_pump_2_and_the_plant_reports_it_running() {
    let station = Station::start().await;
    assert_eq!(
        live(&station.engine, "plc/pump2_running").value,
        Some(Value::Bool(false)),
        "pump 2 stands by in the normal scenario before the write"
    );

    station
        .write("plc/pump2_manual", Value::Bool(true))
        .await
        .expect("the PLC accepts the manual start coil");

    wait_for_live(
        &station.engine,
        "plc/pump2_manual",
        "the manual start coil to read back on",
        WITHIN,
        |l| l.quality == Quality::Good && l.value == Some(Value::Bool(true)),
    )
    .await;
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
    assert!(
        is_number_near(&live(&station.engine, "plc/lead_start_level").value, 2.0),
        "the lead pump starts at 2.0 m before the write: {:?}",
        live(&station.engine, "plc/lead_start_level")
    );

    // 2.25 m in engineering units is 2250 mm in the register (scale 0.001).
    station
        .write("plc/lead_start_level", Value::Number(2.25))
        .await
        .expect("the PLC accepts a lead start between the stop and the lag start level");
    wait_for_live(
        &station.engine,
        "plc/lead_start_level",
        "the new lead start level to read back",
        WITHIN,
        |l| l.quality == Quality::Good && is_number_near(&l.value, 2.25),
    )
    .await;

    // Above the lag start level (2.6 m) the controller would not work: the PLC answers exception 03
    // and keeps the setpoint it had.
    let refused = station
        .write("plc/lead_start_level", Value::Number(3.0))
        .await;
    assert!(
        matches!(
            &refused,
            Err(EngineError::WriteRefused { tag, code: 3 }) if tag == "plc/lead_start_level"
        ),
        "a lead start above the lag start is refused with exception 03, got {refused:?}"
    );
    station
        .write("plc/lag_start_level", Value::Number(2.7))
        .await
        .expect("a later write on the same link still works after a refusal");
    wait_for_live(
        &station.engine,
        "plc/lag_start_level",
        "the new lag start level to read back",
        WITHIN,
        |l| is_number_near(&l.value, 2.7),
    )
    .await;
    assert!(
        is_number_near(&live(&station.engine, "plc/lead_start_level").value, 2.25),
        "the refused write changed nothing: {:?}",
        live(&station.engine, "plc/lead_start_level")
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_read_only_tables_are_refused_naming_the_tag() {
    let station = Station::start().await;
    for (full_id, table) in [
        ("plc/level", "input register"),
        ("plc/pump1_running", "discrete input"),
    ] {
        let error = station
            .write(full_id, Value::Number(1.0))
            .await
            .expect_err("a read-only table cannot be written");
        assert!(
            matches!(&error, EngineError::ReadOnly { tag } if tag == full_id),
            "a write to the {table} {full_id} is refused as read-only, got {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(full_id) && message.contains("read-only"),
            "the message names the tag and why: {message}"
        );
    }
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_of_the_wrong_kind_of_value_are_refused_before_reaching_the_device() {
    let station = Station::start().await;

    let text_to_coil = station
        .write("plc/pump2_manual", Value::Text(Arc::from("on")))
        .await;
    assert!(
        matches!(&text_to_coil, Err(EngineError::WrongKind { tag }) if tag == "plc/pump2_manual"),
        "text cannot switch a coil, got {text_to_coil:?}"
    );
    let half_to_coil = station.write("plc/pump2_manual", Value::Number(0.5)).await;
    assert!(
        matches!(&half_to_coil, Err(EngineError::WrongKind { tag }) if tag == "plc/pump2_manual"),
        "a coil takes 0 or 1, not 0.5, got {half_to_coil:?}"
    );

    let text_to_setpoint = station
        .write("plc/stop_level", Value::Text(Arc::from("0.9")))
        .await;
    match &text_to_setpoint {
        Err(e @ EngineError::Encode { tag, .. }) => {
            assert_eq!(tag, "plc/stop_level");
            assert!(
                e.to_string().contains("cannot write"),
                "the message says the value does not fit: {e}"
            );
        }
        other => panic!("text cannot be a u16 setpoint, got {other:?}"),
    }

    // 70 m does not fit a u16 of millimetres (70 000 > 65 535).
    let too_big = station.write("plc/stop_level", Value::Number(70.0)).await;
    assert!(
        matches!(&too_big, Err(EngineError::Encode { tag, .. }) if tag == "plc/stop_level"),
        "a setpoint past the register's range is refused, got {too_big:?}"
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
    let no_tag = station.engine.write(beyond, Value::Bool(true)).await;
    assert!(
        matches!(no_tag, Err(EngineError::NoSuchTag(i)) if i == beyond.0),
        "a tag index past the plant is refused, got {no_tag:?}"
    );
    station.stop().await;
}
