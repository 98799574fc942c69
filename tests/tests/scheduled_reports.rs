//! `[[reports]]` in `collect`: a schedule seen for the first time makes no reports of the past; after a
//! stop, the periods that ended while nothing ran are made at the next start, oldest first, in each
//! format, named by their local start, and the schedule's record moves to the last one made.

use std::path::Path;

use plantwatch_core::Timestamp;
use plantwatch_system_tests::engine_support::{run_collect, system_alarm_journal};
use plantwatch_system_tests::sim_support::{demo_plant_copy, SimProcess};

const SCHEDULE: &str = "\n[[reports]]\ntemplate = \"shift\"\nevery = \"1m\"\nout = \"reports\"\nformats = [\"csv\", \"html\"]\n";
/// The record of the schedule above, in its folder.
const RECORD: &str = ".plantwatch-shift-1m-0000.last";

fn reports_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A report's file name without its extension: the schedule's template and its period's local start
/// (this test's machine keeps its own zone).
fn stem(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("time")
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .strftime("shift-%Y-%m-%d_%H%M")
        .to_string()
}

/// A demo plant copy polling `sim`, with the schedule above, in `dir`.
fn plant_with_schedule(dir: &Path, sim: &SimProcess) -> std::path::PathBuf {
    let config = demo_plant_copy(dir, sim.port(), 200);
    let mut text = std::fs::read_to_string(&config).expect("read the plant copy");
    text.push_str(SCHEDULE);
    std::fs::write(&config, text).expect("write the plant copy");
    config
}

/// Records that the schedule made its reports up to two minutes ago (at a minute), so the minutes since
/// are due at the next start; returns that time.
fn made_until_two_minutes_ago(folder: &Path) -> Timestamp {
    let minute = 60_000;
    let made_until = Timestamp(Timestamp::now().0 / minute * minute - 2 * minute);
    std::fs::create_dir_all(folder).expect("reports folder");
    std::fs::write(folder.join(RECORD), format!("{}\n", made_until.0)).expect("record");
    made_until
}

fn report_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains(" report: "))
        .map(String::from)
        .collect()
}

#[test]
fn periods_missed_while_stopped_are_made_at_the_next_start_and_none_of_the_past_at_the_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&[]);
    let config = plant_with_schedule(dir.path(), &sim);
    let db = dir.path().join("plant.db");
    let folder = dir.path().join("reports");

    // First start: the schedule is new, so it starts from now and makes nothing of the past.
    let first = run_collect(&config, &db, "2s");
    assert!(first.status.success(), "{first:?}");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("reports: 1 scheduled (shift every 1m at 00:00)"),
        "{stderr}"
    );
    assert!(report_lines(&first.stderr).is_empty(), "{stderr}");
    assert!(reports_in(&folder).is_empty());

    // Pretend the last report made was two minutes ago: the minutes since ended while nothing made
    // them, so the next start makes them.
    let minute = 60_000;
    let made_until = made_until_two_minutes_ago(&folder);
    let second = run_collect(&config, &db, "2s");
    assert!(second.status.success(), "{second:?}");
    let lines = report_lines(&second.stderr);
    let files = reports_in(&folder);
    // Two minutes ended since, unless the second is still settling (made 10 s after its end).
    let periods = files.len() / 2;
    assert!(
        (1..=2).contains(&periods) && files.len() == 2 * periods && lines.len() == files.len(),
        "{files:?}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    // Named by their local start, oldest first.
    for k in 0..periods as i64 {
        let name = stem(made_until.0 + k * minute);
        assert!(
            files.contains(&format!("{name}.csv")),
            "{name} in {files:?}"
        );
        assert!(
            files.contains(&format!("{name}.html")),
            "{name} in {files:?}"
        );
    }
    // The CSV is a report of that minute: its period rows carry the minute's bounds.
    let first_csv =
        std::fs::read_to_string(folder.join(format!("{}.csv", stem(made_until.0)))).expect("csv");
    assert!(
        first_csv.contains(&Timestamp(made_until.0).to_string()[..19]),
        "{first_csv}"
    );
    // The record moved to the end of the last period made.
    let record = std::fs::read_to_string(folder.join(RECORD)).expect("record");
    assert_eq!(
        record.trim(),
        (made_until.0 + periods as i64 * minute).to_string()
    );
    drop(sim);
}

/// A report that cannot be written raises the system alarm "scheduled report failed" (journaled, so
/// `plantwatch alarms` and the window's Alarms screen show it, not only the collector's output); the
/// start that makes the report clears it.
#[test]
fn a_report_that_cannot_be_written_raises_the_system_alarm_until_it_is_made() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&[]);
    let config = plant_with_schedule(dir.path(), &sim);
    let db = dir.path().join("plant.db");
    let folder = dir.path().join("reports");
    let made_until = made_until_two_minutes_ago(&folder);
    // A folder where the first due report's CSV must go: the file cannot take its name.
    let blocker = folder.join(format!("{}.csv", stem(made_until.0)));
    std::fs::create_dir(&blocker).expect("a folder in the report's way");
    let states = |db: &Path| -> Vec<String> {
        system_alarm_journal(db, "report_failed")
            .into_iter()
            .map(|e| {
                assert_eq!(e["priority"], "medium", "{e}");
                assert_eq!(e["message"], "scheduled report failed", "{e}");
                e["state"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };

    let failed = run_collect(&config, &db, "2s");
    assert!(failed.status.success(), "{failed:?}");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains(" report failed: "), "{stderr}");
    assert_eq!(states(&db), ["active"], "{stderr}");

    std::fs::remove_dir(&blocker).expect("clear the way");
    let made = run_collect(&config, &db, "2s");
    assert!(made.status.success(), "{made:?}");
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(!report_lines(&made.stderr).is_empty(), "{stderr}");
    assert!(reports_in(&folder).contains(&format!("{}.csv", stem(made_until.0))));
    assert_eq!(states(&db), ["active", "cleared"], "{stderr}");
    drop(sim);
}
