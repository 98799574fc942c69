//! A device that sends floats that are not numbers (NaN, +/- infinity), as a transmitter with a broken
//! sensor does (issue 17): the reading is a sensor fault, `bad:not_a_number`, live and in the exported
//! history, and its alarms neither trip nor clear on it. The device is a real pymodbus server
//! (`tests/peers/engine_plant_server.py` with `tests/data/collect/not_a_number.spec.json`).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use plantwatch_alarm::{AlarmManager, AlarmState, JournalQuery, JournalReader, Transition};
use plantwatch_core::{Cause, Quality, Sample, Timestamp, Value};
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_system_tests::engine_support::{
    live, wait_for_live, write_config, PlantServer, Serve,
};
use plantwatch_system_tests::plantwatch_bin;

const WITHIN: Duration = Duration::from_secs(15);

const NOT_A_NUMBER: Quality = Quality::Bad(Cause::NotANumber);

/// The tags whose registers hold no number.
const FAULTY: [&str; 4] = [
    "tank/level_nan",
    "tank/level_inf",
    "tank/level_neg_inf",
    "tank/flow",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_that_is_not_a_number_is_a_sensor_fault_live_in_history_and_to_its_alarms() {
    let server = PlantServer::start("not_a_number.spec.json", Serve::Tcp);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        "not_a_number.toml",
        &[("port", server.port().to_string())],
    );
    let db = dir.path().join("plant.db");
    let plant = Arc::new(plantwatch_config::load(&config).expect("the test plant is valid"));

    // Before the sensor broke, level_neg_inf was high: its HI alarm is active when the engine starts.
    let mut manager = AlarmManager::open(&plant, &db).expect("open the journal");
    manager.samples(&[Sample {
        tag: plant.find_tag("tank/level_neg_inf").expect("tag"),
        time: Timestamp::now(),
        value: Some(Value::Number(3.7)),
        quality: Quality::Good,
    }]);
    manager.flush(Timestamp::now()).expect("journal the trip");
    drop(manager);

    let options = EngineOptions {
        history: Some(db.clone()),
        alarms: true,
        ..EngineOptions::default()
    };
    let engine = Engine::start(plant.clone(), options)
        .await
        .expect("engine starts");

    for tag in FAULTY {
        wait_for_live(&engine, tag, "a sensor fault", WITHIN, |l| {
            l.quality == NOT_A_NUMBER
        })
        .await;
    }
    wait_for_live(&engine, "tank/level_ok", "a good reading", WITHIN, |l| {
        l.quality == Quality::Good && l.value == Some(Value::Number(2.5))
    })
    .await;
    // The value itself is kept, as the device sent it.
    let inf = live(&engine, "tank/level_inf").value;
    assert_eq!(inf, Some(Value::Number(f64::INFINITY)));

    // Let the alarm service see a good number of polls of the faulty readings.
    let polls = |e: &Engine| match live(e, "tank/polls").value {
        Some(Value::Number(n)) => n,
        _ => 0.0,
    };
    let first = polls(&engine);
    wait_for_live(
        &engine,
        "tank/polls",
        "ten more polls",
        WITHIN,
        |l| matches!(l.value, Some(Value::Number(n)) if n >= first + 10.0),
    )
    .await;

    let snapshot = engine.alarms().expect("the alarm service runs").snapshot();
    let alarms: Vec<(&str, AlarmState)> = snapshot
        .alarms
        .iter()
        .map(|a| (a.key.as_str(), a.state))
        .collect();
    assert_eq!(
        alarms,
        [("tank/level_neg_inf:hi", AlarmState::ActiveUnacked)],
        "+infinity trips nothing and -infinity clears nothing"
    );
    engine.stop().await.expect("engine stops");

    let journal = JournalReader::open(&db)
        .and_then(|r| r.entries(JournalQuery::default()))
        .expect("read the journal");
    let journaled: Vec<(&str, Transition)> =
        journal.iter().map(|e| (e.tag.as_str(), e.state)).collect();
    assert_eq!(
        journaled,
        [("tank/level_neg_inf", Transition::Active)],
        "only the trip from before the fault"
    );

    let mut export = Command::new(plantwatch_bin());
    export.arg("export").arg("--db").arg(&db);
    for tag in FAULTY {
        export.args(["--tag", tag]);
    }
    let output = export.output().expect("run plantwatch export");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = String::from_utf8(output.stdout).expect("utf-8");
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for tag in FAULTY {
        let of_tag: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1] == tag).collect();
        assert!(!of_tag.is_empty(), "{tag} was stored:\n{csv}");
        assert!(
            of_tag.iter().all(|r| r[3] == "bad:not_a_number"),
            "{tag} is stored as a sensor fault:\n{csv}"
        );
    }
    let values: Vec<&str> = rows
        .iter()
        .filter(|r| r[1] == "tank/level_inf" || r[1] == "tank/level_neg_inf")
        .map(|r| r[2])
        .collect();
    assert_eq!(values, ["inf", "-inf"], "the values as sent:\n{csv}");
}
