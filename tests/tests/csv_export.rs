//! CSV a spreadsheet opens safely: text cells that start like a formula (`=`, `+`, `-`, `@`) come out of
//! `plantwatch export` quoted with a `'` before them, while numbers such as -1.5 stay bare numbers
//! (issue 17, "input edges": a device string `=HYPERLINK(...)` was a formula injection).

use std::process::Command;

use plantwatch_core::ValueType;
use plantwatch_history::HistoryWriter;
use plantwatch_system_tests::history_support::{plant, samples_from_jsonl, tag};
use plantwatch_system_tests::{data, plantwatch_bin};

#[test]
fn text_that_starts_like_a_formula_is_exported_as_text_and_numbers_stay_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = plant(
        &db,
        vec![(
            "plc",
            vec![
                tag("flow", ValueType::F32, Some("L/s")),
                tag("mode", ValueType::String { registers: 16 }, None),
            ],
        )],
    );
    let text = std::fs::read_to_string(data("csv/formula_samples.jsonl")).expect("read samples");
    let writer = HistoryWriter::open(&db, &plant).expect("open writer");
    writer.sink().send(samples_from_jsonl(&plant, &text));
    writer.close().expect("close flushes");

    let out = Command::new(plantwatch_bin())
        .args(["export", "--db"])
        .arg(&db)
        .output()
        .expect("run plantwatch export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read_to_string(data("csv/formula.csv")).expect("read formula.csv");
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}
