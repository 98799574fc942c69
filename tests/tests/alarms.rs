//! Alarms end to end: `plantwatch alarms` on journals written by the alarm crate (exact CSV, ranges,
//! JSON lines, active alarms, health, errors), and the simulator's storm and gas-flood scenarios collected
//! headless, whose journal must show the expected alarms raised and cleared and the flood detected.
//! The state machine itself is specified by the scripts in `tests/data/alarms/*.alarms`, run by
//! `src-tauri/alarm/tests/scripts.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_alarm::{AlarmManager, JournalEntry, JournalQuery, JournalReader, Transition};
use plantwatch_core::{Quality, Sample, Timestamp, Value};
use plantwatch_system_tests::alarm_support::{
    run_alarms, wait_for_journal, write_journal, Collector,
};
use plantwatch_system_tests::data;
use plantwatch_system_tests::sim_support::{demo_plant_copy, SimProcess};

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "plantwatch alarms failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(data(name)).expect("expected output file")
}

fn cli_journal(dir: &Path) -> String {
    let db = dir.join("plant.db");
    write_journal(&db, "alarms/cli.journal");
    db.to_string_lossy().into_owned()
}

#[test]
fn journal_prints_as_csv_with_the_exact_header_and_rfc4180_quoting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = cli_journal(dir.path());
    let csv = stdout(&run_alarms(&["--db", &db]));
    assert_eq!(csv, expected("alarms/cli.expected.csv"));
    // Asking for csv by name gives the same.
    assert_eq!(stdout(&run_alarms(&["--db", &db, "--format", "csv"])), csv);
}

#[test]
fn from_is_inclusive_and_to_exclusive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = cli_journal(dir.path());
    let csv = stdout(&run_alarms(&[
        "--db",
        &db,
        "--from",
        "2026-11-26T00:00:25.500Z",
        "--to",
        "2026-11-26T01:01:00+01:00",
    ]));
    let all = expected("alarms/cli.expected.csv");
    let lines: Vec<&str> = all.lines().collect();
    // The header, then the acknowledgement at 25.5 s and the clearing at 40 s; not the H2S alarm at 60 s.
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [lines[0], lines[2], lines[3]]
    );
}

#[test]
fn journal_prints_as_json_lines_with_the_same_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = cli_journal(dir.path());
    let jsonl = stdout(&run_alarms(&["--db", &db, "--format", "jsonl"]));
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect();
    assert_eq!(rows.len(), 6);
    let ack = &rows[1];
    assert_eq!(ack["time"], "2026-11-26T00:00:25.500Z");
    assert_eq!(ack["state"], "acknowledged");
    assert_eq!(ack["user"], "anna");
    assert_eq!(ack["comment"], "crew called, ETA 20 min");
    assert_eq!(ack["value"], 3.35);
    assert_eq!(rows[4]["message"], "H2S > 10 ppm, \"do not enter\"");
    assert_eq!(rows[5]["kind"], "comm");
    assert!(
        rows[5]["value"].is_null() && rows[5]["limit"].is_null(),
        "a comm alarm has no value or limit"
    );
}

#[test]
fn health_finds_the_flood_and_the_chattering_alarm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    write_journal(&db, "alarms/health.journal");
    let db = db.to_string_lossy().into_owned();

    let text = stdout(&run_alarms(&["--db", &db, "--health"]));
    assert!(
        text.contains("Floods (10 or more alarms in 10 minutes): 1\n"),
        "{text}"
    );
    assert!(
        text.contains("  2026-11-26T01:00:00.000Z to 2026-11-26T01:03:40.000Z  12 alarms, at most 12 in 10 minutes\n"),
        "{text}"
    );
    assert!(
        text.contains("Chattering alarms (3 or more trips in a minute): 1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  plc/level:hi  4 trips in a minute from 2026-11-26T02:00:00.000Z, 5 in all\n"
        ),
        "{text}"
    );
    assert!(text.contains("Alarms activated: 31,"), "{text}");

    let jsonl = stdout(&run_alarms(&["--db", &db, "--health", "--format", "jsonl"]));
    let summary: serde_json::Value =
        serde_json::from_str(jsonl.lines().next().expect("a summary line")).expect("JSON");
    assert_eq!(
        (summary["floods"].as_u64(), summary["chattering"].as_u64()),
        (Some(1), Some(1))
    );

    // Before the flood there is neither flood nor chattering.
    let early = stdout(&run_alarms(&[
        "--db",
        &db,
        "--health",
        "--to",
        "2026-11-26T00:59:00Z",
    ]));
    assert!(
        early.contains("Floods (10 or more alarms in 10 minutes): 0\n"),
        "{early}"
    );
    assert!(
        early.contains("Chattering alarms (3 or more trips in a minute): 0\n"),
        "{early}"
    );
}

#[test]
fn active_lists_what_the_alarm_service_left_active() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = plantwatch_config::load(&data("alarms/small-plant.toml")).expect("valid plant");
    let level = plant.find_tag("plc/level").expect("tag");
    let mut manager = AlarmManager::open(&plant, &db).expect("open the journal");
    let sample = |value: f64, at: i64| Sample {
        tag: level,
        time: Timestamp(1_795_651_200_000 + at),
        value: Some(Value::Number(value)),
        quality: Quality::Good,
    };
    manager.samples(&[sample(3.7, 0)]);
    manager.device(0, true, Timestamp(1_795_651_200_000 + 500));
    manager
        .flush(Timestamp(1_795_651_200_000 + 500))
        .expect("journal the trip and the offline device");
    drop(manager);

    let csv = stdout(&run_alarms(&["--db", &db.to_string_lossy(), "--active"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("since,tag,kind,priority,state,value,limit,message,acknowledged_by,shelved_until,shelved_by,out_of_service_by")
    );
    let mut rows: Vec<&str> = lines.collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "2026-11-26T00:00:00.000Z,plc/level,hi,high,active_unacked,3.7,3.2,Wet-well level HI,,,,",
            "2026-11-26T00:00:00.000Z,plc/level,hihi,critical,active_unacked,3.7,3.6,Wet well about to overflow,,,,",
            "2026-11-26T00:00:00.500Z,plc,comm,high,active_unacked,,,Station PLC offline,,,,",
        ]
    );
}

#[test]
fn a_missing_database_is_a_clear_error_and_bad_times_are_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nothing-here.db");
    let output = run_alarms(&["--db", &missing.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nothing-here.db") && stderr.contains("no such file"),
        "{stderr}"
    );
    assert!(!missing.exists(), "the reader must not create the file");

    let db = cli_journal(dir.path());
    let output = run_alarms(&["--db", &db, "--from", "last tuesday"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid time 'last tuesday'"));
}

/// The transitions of each alarm in a journal, as `"tag:kind" -> [active, cleared, ...]`.
fn transitions(journal: &[JournalEntry]) -> BTreeMap<String, Vec<&'static str>> {
    let mut by_alarm: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for e in journal {
        by_alarm
            .entry(format!("{}:{}", e.tag, e.kind.name()))
            .or_default()
            .push(e.state.name());
    }
    by_alarm
}

/// Every alarm went active, then cleared, alternately, and ended cleared.
fn raised_and_cleared(states: &[&str]) -> bool {
    // An odd last chunk (an alarm still active) fails the comparison.
    !states.is_empty() && states.chunks(2).all(|pair| pair == ["active", "cleared"])
}

fn health_summary(db: &Path) -> serde_json::Value {
    let jsonl = stdout(&run_alarms(&[
        "--db",
        &db.to_string_lossy(),
        "--health",
        "--format",
        "jsonl",
    ]));
    serde_json::from_str(jsonl.lines().next().expect("a summary line")).expect("JSON")
}

/// Collects the demo plant headless (polling every 100 ms) from the simulator running `scenario` at
/// `speed` times real time, until the journal shows `what`, then stops the collector as a service
/// manager would. Returns the temporary folder (keep it) and the plant's database.
fn collect_scenario(
    scenario: &str,
    speed: u32,
    what: &str,
    done: impl Fn(&[JournalEntry]) -> bool,
) -> (tempfile::TempDir, PathBuf) {
    let sim = SimProcess::tcp(&["--scenario", scenario, "--speed", &speed.to_string()]);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = demo_plant_copy(dir.path(), sim.port(), 100);
    let db = dir.path().join(format!("{scenario}.db"));
    let collector = Collector::start(&config, &db);
    wait_for_journal(&db, Duration::from_secs(120), what, done);
    let output = collector.stop();
    assert!(
        output.status.success(),
        "collect: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir, db)
}

/// The storm lifts the wet-well level through HI and HIHI and trips the high-level float switch; as it
/// passes, all three clear. At 60x a plant second is a sixtieth of a real one, so the collector polls
/// every 100 ms; the HI alarm's 5 s on-delay and 10 s off-delay run in real time.
#[test]
fn the_storm_raises_and_clears_the_level_alarms() {
    let (_dir, db) = collect_scenario("storm", 60, "the level HI alarm to clear", |j| {
        j.iter().any(|e| {
            e.tag == "plc/level" && e.kind.name() == "hi" && e.state == Transition::Cleared
        })
    });

    let journal = journal(&db);
    let by_alarm = transitions(&journal);
    let keys: Vec<&str> = by_alarm.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["plc/float_high:state", "plc/level:hi", "plc/level:hihi"],
        "{by_alarm:?}"
    );
    for (alarm, states) in &by_alarm {
        assert_eq!(
            states,
            &["active", "cleared"],
            "{alarm}: raised once and cleared, no chattering"
        );
    }
    // HIHI trips at a value above its limit, HI after its on-delay, and HI clears below its deadband.
    let hihi = journal
        .iter()
        .find(|e| e.kind.name() == "hihi")
        .expect("hihi");
    assert!(
        hihi.value.is_some_and(|v| v > 3.6) && hihi.limit == Some(3.6),
        "{hihi:?}"
    );
    let hi_cleared = journal.iter().rfind(|e| e.kind.name() == "hi").expect("hi");
    assert!(
        hi_cleared.value.is_some_and(|v| v <= 3.2 - 0.05),
        "{hi_cleared:?}"
    );

    // Nobody acknowledged: the three wait, returned to normal, unacknowledged.
    let active = stdout(&run_alarms(&["--db", &db.to_string_lossy(), "--active"]));
    let states: Vec<&str> = active
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap_or(""))
        .collect();
    assert_eq!(states, ["returned_unacked"; 3], "{active}");
    assert_eq!(
        health_summary(&db)["floods"],
        0,
        "three alarms are no flood"
    );
}

/// The gas-flood scenario sends H2S bursts over the 10 ppm alarm every 40 s (plant time) with oxygen
/// dipping below 19.5 %, and the crew opens the door: each burst raises and clears both alarms, and the
/// health report finds the flood.
#[test]
fn the_gas_flood_raises_and_clears_gas_alarms_and_is_detected_as_a_flood() {
    let (_dir, db) = collect_scenario(
        "gas-flood",
        30,
        "ten H2S alarms and the door closed again",
        |j| {
            let h2s = j
                .iter()
                .filter(|e| e.tag == "plc/h2s" && e.state == Transition::Active)
                .count();
            let door_closed = j
                .iter()
                .any(|e| e.tag == "plc/door_open" && e.state == Transition::Cleared);
            let balanced = transitions(j).values().all(|s| raised_and_cleared(s));
            h2s >= 10 && door_closed && balanced
        },
    );

    let journal = journal(&db);
    let by_alarm = transitions(&journal);
    let keys: Vec<&str> = by_alarm.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["plc/door_open:state", "plc/h2s:hi", "plc/o2:lo"],
        "{by_alarm:?}"
    );
    for (alarm, states) in &by_alarm {
        assert!(
            raised_and_cleared(states),
            "{alarm}: every activation is followed by its clearing: {states:?}"
        );
    }
    assert!(by_alarm["plc/h2s:hi"].len() >= 20, "ten or more H2S bursts");
    assert!(journal
        .iter()
        .filter(|e| e.tag == "plc/h2s" && e.state == Transition::Active)
        .all(|e| e.value > Some(10.0)));

    let summary = health_summary(&db);
    assert!(
        summary["floods"].as_u64() >= Some(1),
        "the flood is detected: {summary}"
    );
    assert!(summary["activations"].as_u64() >= Some(10), "{summary}");
}

/// Reads the whole journal of a database.
fn journal(db: &Path) -> Vec<JournalEntry> {
    JournalReader::open(db)
        .expect("open journal")
        .entries(JournalQuery::default())
        .expect("read journal")
}
