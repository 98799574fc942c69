//! History: samples written through `HistoryWriter` come back out of the real `plantwatch export` binary
//! exactly as the expected files in `tests/data/history/` say (see its README for how each was worked out);
//! a newer schema is refused; a writer killed with SIGKILL leaves a sound database with everything sent
//! more than a second before the kill, and, killed while compacting, every sample once; samples older than
//! the plant's keep leave the export.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use plantwatch_core::{Plant, Quality, Sample, TagIndex, Timestamp, Value, ValueType};
use plantwatch_history::{HistoryReader, HistoryWriter, SampleQuery};
use plantwatch_system_tests::history_support::{numeric_plant, plant, samples_from_jsonl, tag};
use plantwatch_system_tests::{data, plantwatch_bin};

/// The plant of `tests/data/history/samples.jsonl`.
fn demo_plant(db: &Path) -> Plant {
    plant(
        db,
        vec![
            (
                "plc",
                vec![
                    tag("flow", ValueType::F32, Some("L/s")),
                    tag("run", ValueType::Bool, None),
                    tag("mode", ValueType::String { registers: 4 }, None),
                    tag("level", ValueType::U16, Some("m")),
                ],
            ),
            ("meter", vec![tag("kw", ValueType::U32, Some("kW"))]),
        ],
    )
}

/// A temporary folder holding `plant.db` with the samples of `samples.jsonl`, written through the writer.
struct StoredPlant {
    dir: tempfile::TempDir,
    db: PathBuf,
}

fn stored_demo() -> StoredPlant {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = demo_plant(&db);
    let text = std::fs::read_to_string(data("history/samples.jsonl")).expect("read samples.jsonl");
    let samples = samples_from_jsonl(&plant, &text);
    let writer = HistoryWriter::open(&db, &plant).expect("open writer");
    let sink = writer.sink();
    // One sample per send, in file order, as a poll loop would hand them over.
    for sample in samples {
        sink.send(vec![sample]);
    }
    let stats = writer.close().expect("close flushes");
    assert_eq!(
        (stats.pending, stats.dropped, stats.errors),
        (0, 0, 0),
        "{stats:?}"
    );
    StoredPlant { dir, db }
}

fn export(db: &Path, args: &[&str]) -> Output {
    Command::new(plantwatch_bin())
        .arg("export")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run plantwatch export")
}

/// Runs the export and compares its stdout with an expected file, byte for byte.
fn check_export(args: &[&str], expected: &str) {
    let stored = stored_demo();
    let out = export(&stored.db, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "export {args:?} failed: {:?}\n{stderr}",
        out.status
    );
    let want =
        std::fs::read_to_string(data(&format!("history/{expected}"))).expect("read expected file");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        want,
        "export {args:?} vs {expected}"
    );
}

#[test]
fn export_with_no_options_gives_every_sample_as_csv() {
    check_export(&[], "all.csv");
}

#[test]
fn export_as_json_lines() {
    check_export(&["--format", "jsonl"], "all.jsonl");
}

#[test]
fn export_one_tag_over_a_half_open_range() {
    check_export(
        &[
            "--tag",
            "plc/flow",
            "--from",
            "2026-11-25T14:00:01.250Z",
            "--to",
            "2026-11-25T14:00:12Z",
        ],
        "flow_range.csv",
    );
}

#[test]
fn export_time_weighted_averages_per_interval() {
    check_export(
        &[
            "--tag", "plc/flow", "--tag", "meter/kw", "--every", "10s", "--agg", "avg",
        ],
        "flow_kw_avg_10s.csv",
    );
}

#[test]
fn export_counts_of_good_samples_as_json_lines() {
    check_export(
        &["--every", "10s", "--agg", "count", "--format", "jsonl"],
        "count_10s.jsonl",
    );
}

#[test]
fn export_maximum_with_the_range_clipping_aligned_intervals() {
    check_export(
        &[
            "--tag",
            "plc/flow",
            "--every",
            "10s",
            "--agg",
            "max",
            "--from",
            "2026-11-25T14:00:05Z",
            "--to",
            "2026-11-25T14:00:20Z",
        ],
        "flow_max_10s_clipped.csv",
    );
}

#[test]
fn export_relative_times_count_back_from_now() {
    // Every sample is from 2026-11-25T14:00Z; "-1h" .. "now" is a year or more later than that.
    let stored = stored_demo();
    let out = export(&stored.db, &["--from", "-1h", "--to", "now"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "time,tag,value,quality\n"
    );
}

#[test]
fn export_to_a_file_replaces_it_whole_and_leaves_no_temporary_file() {
    let stored = stored_demo();
    let target = stored.dir.path().join("out.csv");
    std::fs::write(&target, "old content").expect("write old file");
    let out = export(&stored.db, &["--out", target.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout with --out");
    let want = std::fs::read_to_string(data("history/all.csv")).expect("read all.csv");
    assert_eq!(std::fs::read_to_string(&target).expect("read export"), want);
    let mut names: Vec<String> = std::fs::read_dir(stored.dir.path())
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("plant.db"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["out.csv"],
        "no temporary file is left beside the export"
    );
}

/// Issue 17, fault 7: `export --out` onto its own `--db` replaced the history with the CSV and exited 0.
#[test]
fn export_onto_its_own_history_file_is_refused_by_any_name() {
    let stored = stored_demo();
    let link = stored.dir.path().join("link.db");
    std::os::unix::fs::symlink(&stored.db, &link).expect("symlink to the history");
    let dotted = stored.dir.path().join(".").join("plant.db");
    let before = std::fs::read(&stored.db).expect("read history");
    let samples = read_back_count(&stored.db);
    for out in [&stored.db, &link, &dotted] {
        let out_arg = out.to_str().expect("utf-8 path");
        let result = export(&stored.db, &["--out", out_arg]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "--out {out_arg}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "plantwatch export: --out {out_arg} is the history file --db {} itself: the export would replace the history; write to another file\n",
                stored.db.display()
            )
        );
        assert_eq!(
            std::fs::read(&stored.db).expect("read history"),
            before,
            "--out {out_arg}: the history is untouched"
        );
    }
    // The same file reached through the symlink as --db.
    let result = export(&link, &["--out", stored.db.to_str().expect("utf-8 path")]);
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(
        read_back_count(&stored.db),
        samples,
        "every sample is still there"
    );
}

/// Issue 17, fault 6: `export` and `alarms` failed on a history they could not write ("attempt to write a
/// readonly database"): SQLite wanted to create the WAL index beside the file. The readers run here as
/// the unprivileged user `nobody` (through `setpriv`, so the test works as root in CI, where file modes
/// do not stop root) on a file and folder owned by root, as with a collector's service user.
#[test]
fn readers_work_on_a_history_they_cannot_write() {
    use std::os::unix::fs::PermissionsExt;
    let setpriv = Path::new("/usr/bin/setpriv");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !setpriv.exists() || !is_root {
        eprintln!("SKIPPED: this test needs root and /usr/bin/setpriv to read as the user nobody");
        return;
    }
    let stored = stored_demo();
    let folder = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(stored.dir.path(), folder).expect("chmod folder");
    let file = std::fs::Permissions::from_mode(0o644);
    std::fs::set_permissions(&stored.db, file).expect("chmod file");
    let before = names_in(stored.dir.path());
    let as_nobody = |args: &[&str]| {
        Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(plantwatch_bin())
            .args(args)
            .arg("--db")
            .arg(&stored.db)
            .output()
            .expect("run plantwatch as nobody")
    };

    let out = as_nobody(&["export"]);
    assert!(
        out.status.success(),
        "export as nobody: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read_to_string(data("history/all.csv")).expect("read all.csv");
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);

    let out = as_nobody(&["alarms"]);
    assert!(
        out.status.success(),
        "alarms as nobody: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        names_in(stored.dir.path()),
        before,
        "the readers left nothing beside the file"
    );
}

/// The names in a folder, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("list folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// How many samples the history file holds, read through the library.
fn read_back_count(db: &Path) -> u64 {
    let reader = HistoryReader::open(db).expect("open reader");
    reader
        .for_each_sample(&SampleQuery::default(), |_| {})
        .expect("read samples")
}

#[test]
fn export_of_an_unknown_tag_names_some_known_ones_and_exits_2() {
    let stored = stored_demo();
    let out = export(&stored.db, &["--tag", "plc/flow", "--tag", "plc/flwo"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "plantwatch export: unknown tag 'plc/flwo' in {}; known tags: meter/kw, plc/flow, plc/level, plc/mode, plc/run\n",
        stored.db.display()
    );
    assert_eq!(stderr, expected);
    assert!(out.stdout.is_empty(), "no partial output");
}

#[test]
fn export_of_a_missing_database_fails_without_creating_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("nowhere.db");
    let out = export(&db, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "plantwatch export: history file {} does not exist\n",
            db.display()
        )
    );
    assert!(!db.exists(), "export must not create a database");
}

#[test]
fn export_refuses_bad_arguments_with_exit_2() {
    let stored = stored_demo();
    for (args, message) in [
        (&["--from", "yesterday"][..], "invalid time 'yesterday'"),
        (
            &["--every", "10s", "--agg", "median"][..],
            "unknown aggregate 'median': expected one of avg, min, max, first, last, count",
        ),
        (
            &["--every", "ten", "--agg", "avg"][..],
            "invalid duration 'ten'",
        ),
        (
            &[
                "--from",
                "2026-11-25T14:00:10Z",
                "--to",
                "2026-11-25T14:00:00Z",
            ][..],
            "--to (2026-11-25T14:00:00.000Z) must be after --from",
        ),
        (&["--every", "10s"][..], "--agg"),
    ] {
        let out = export(&stored.db, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in {stderr}"
        );
    }
}

#[test]
fn a_database_from_a_newer_plantwatch_is_refused_with_a_clear_message() {
    let stored = stored_demo();
    let conn = rusqlite::Connection::open(&stored.db).expect("open db");
    conn.execute(
        "UPDATE schema_version SET version = 99 WHERE component = 'history'",
        [],
    )
    .expect("bump version");
    drop(conn);
    let message = format!(
        "the history tables were written by a newer Plantwatch (schema 99); this binary knows up to {}: upgrade Plantwatch",
        plantwatch_history::layout::VERSION
    );
    let out = export(&stored.db, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "plantwatch export: history file {}: {message}\n",
            stored.db.display()
        )
    );
    let err = HistoryWriter::open(&stored.db, &demo_plant(&stored.db))
        .err()
        .expect("the writer refuses too");
    assert!(err.to_string().ends_with(&message), "{err}");
}

/// Kills the child when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_writer_killed_with_sigkill_keeps_everything_sent_a_second_earlier() {
    const BASE_MS: i64 = 1_795_564_800_000; // as in src/bin/history_writer_child.rs
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let child = Command::new(env!("CARGO_BIN_EXE_history_writer_child"))
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the writer child");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("child stdout");
    // (when we read it, what the child had sent by then)
    let (tx, rx) = mpsc::channel::<(Instant, i64)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(seq) = line.strip_prefix("sent ").and_then(|s| s.parse().ok()) {
                if tx.send((Instant::now(), seq)).is_err() {
                    break;
                }
            }
        }
    });
    // Let it write for 2.5 s of its own reports (not a sleep for readiness: we count what it says).
    let mut reports: Vec<(Instant, i64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let (Some((first, _)), Some((last, _))) = (reports.first(), reports.last()) {
            if last.duration_since(*first) >= Duration::from_millis(2500) {
                break;
            }
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("the child reports progress within 30 s");
        match rx.recv_timeout(left) {
            Ok(report) => reports.push(report),
            Err(e) => panic!("the writer child stopped reporting: {e}"),
        }
    }
    child.0.kill().expect("SIGKILL the child");
    let killed_at = Instant::now();
    child.0.wait().expect("reap the child");

    let safe_seq = reports
        .iter()
        .filter(|(at, _)| killed_at.duration_since(*at) > Duration::from_secs(1))
        .map(|&(_, seq)| seq)
        .max()
        .expect("reports from more than a second before the kill");

    let conn = rusqlite::Connection::open(&db).expect("open the killed writer's db");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok");
    drop(conn);

    let reader = HistoryReader::open(&db).expect("reader opens the db");
    let query = SampleQuery {
        tags: vec!["dev000/t0000".into()],
        ..SampleQuery::default()
    };
    let mut times = Vec::new();
    reader
        .for_each_sample(&query, |s| times.push(s.time.as_millis() - BASE_MS))
        .expect("read samples");
    let stored_up_to = times.last().copied().unwrap_or(-1);
    assert!(
        stored_up_to >= safe_seq,
        "samples up to {safe_seq} were sent more than 1 s before the kill, but only up to {stored_up_to} were stored"
    );
    let expected: Vec<i64> = (0..=stored_up_to).collect();
    assert!(
        times == expected,
        "the stored samples are a gap-free prefix of what was sent (0..={stored_up_to})"
    );
    let every_tag = reader
        .for_each_sample(&SampleQuery::default(), |_| {})
        .expect("count all");
    assert_eq!(
        every_tag,
        10 * times.len() as u64,
        "all 10 tags committed together, batch by batch"
    );
}

// ---------------------------------------------------------------------------------------------------
// Progress on stderr, for a person watching a long export in a terminal
// ---------------------------------------------------------------------------------------------------

/// Rows in the large history: over a second of exporting for the debug binary, and over ten times the
/// 8,192 rows between two looks at the clock.
const LARGE_ROWS: usize = 100_000;

/// A history of [`LARGE_ROWS`] samples: 20 tags of one device, one sample per tag per second.
fn stored_large() -> StoredPlant {
    const BASE_MS: i64 = 1_795_564_800_000; // 2026-11-25T00:00:00Z
    const TAGS: usize = 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = numeric_plant(&db, 1, TAGS);
    let writer = HistoryWriter::open(&db, &plant).expect("open writer");
    let sink = writer.sink();
    for second in 0..LARGE_ROWS / TAGS {
        let cycle = (0..TAGS)
            .map(|t| Sample {
                tag: TagIndex(t as u32),
                time: Timestamp(BASE_MS + second as i64 * 1000),
                value: Some(Value::Number((second * 7 + t) as f64 * 0.5)),
                quality: Quality::Good,
            })
            .collect();
        sink.send(cycle);
    }
    let stats = writer.close().expect("close flushes");
    assert_eq!(
        (stats.stored, stats.dropped, stats.errors),
        (LARGE_ROWS as u64, 0, 0),
        "{stats:?}"
    );
    StoredPlant { dir, db }
}

/// Quotes a word for `sh -c`.
fn shell_word(path: &Path) -> String {
    let word = path.to_str().expect("a UTF-8 path");
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Exports the large history as CSV to stdout, into a reader that waits a second before it reads
/// (`plantwatch export ... | { sleep 1; cat > out.csv; }`): once the pipe is full the export waits
/// too, so it runs for over a second however fast the machine, and progress is due at the first look
/// at the clock. With `on_terminal`, the pipeline runs under util-linux `script`, which gives it a new
/// pseudo-terminal as stderr and copies what arrives there to its own stdout. Returns the file and
/// what the export wrote on stderr.
fn slow_export(stored: &StoredPlant, on_terminal: bool) -> (PathBuf, String) {
    let target = stored.dir.path().join("out.csv");
    let pipeline = format!(
        "{} export --db {} | {{ sleep 1; cat > {}; }}",
        shell_word(&plantwatch_bin()),
        shell_word(&stored.db),
        shell_word(&target)
    );
    let out = if on_terminal {
        Command::new("script")
            .args(["-q", "-f", "-e", "-c", &pipeline, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("run script")
    } else {
        Command::new("sh")
            .args(["-c", &pipeline])
            .output()
            .expect("run sh")
    };
    let stderr = if on_terminal {
        &out.stdout
    } else {
        &out.stderr
    };
    let stderr = String::from_utf8_lossy(stderr).into_owned();
    assert!(
        out.status.success(),
        "{pipeline}: {:?}\n{stderr}",
        out.status
    );
    (target, stderr)
}

/// The `exported N rows` counts in what the export printed on stderr, in order.
fn progress_counts(stderr: &str) -> Vec<u64> {
    stderr
        .split(['\r', '\n'])
        .filter_map(|part| part.trim().strip_prefix("exported "))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a progress line without a count: {rest:?}"))
        })
        .collect()
}

/// The exported file: its header and one row per stored sample.
fn assert_complete_export(file: &Path) {
    let text = std::fs::read_to_string(file).expect("read the export");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time,tag,value,quality"));
    assert_eq!(lines.count(), LARGE_ROWS, "one row per stored sample");
}

#[test]
fn a_long_export_shows_progress_on_stderr_when_it_is_a_terminal() {
    let stored = stored_large();
    let (target, terminal) = slow_export(&stored, true);
    let counts = progress_counts(&terminal);
    assert!(
        counts.len() >= 2,
        "a running count and a final line on the terminal, got {terminal:?}"
    );
    let (last, running) = counts.split_last().expect("two or more counts");
    assert_eq!(
        *last, LARGE_ROWS as u64,
        "the final line counts every row: {terminal:?}"
    );
    assert!(
        running.windows(2).all(|w| w[0] < w[1]) && running.iter().all(|&n| n < *last),
        "the running count only goes up, short of the total: {counts:?}"
    );
    assert!(
        terminal.contains(" rows/s)")
            && terminal.contains(&format!("exported {LARGE_ROWS} rows in ")),
        "a rate while running, the time taken at the end: {terminal:?}"
    );
    assert_complete_export(&target);
}

#[test]
fn the_same_export_with_stderr_not_a_terminal_prints_no_progress() {
    let stored = stored_large();
    let (target, stderr) = slow_export(&stored, false);
    assert_eq!(stderr, "", "nothing on a stderr that is not a terminal");
    assert_complete_export(&target);
}

/// The retention test's clock: a day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// The exported sample times of one tag (CSV: the time is the first column).
fn exported_times(db: &Path, tag: &str) -> Vec<String> {
    let out = export(db, &["--tag", tag]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn history_older_than_keep_leaves_the_export_and_the_file_stays_sound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("retention.toml");
    std::fs::copy(data("history/retention.toml"), &config).expect("copy config");
    let text = std::fs::read_to_string(&config).expect("read config");
    let plant = plantwatch_config::parse(&text, &config).expect("valid config");
    let db = plant.history.clone();
    // 100 days up to now, a sample every 10 minutes, written by a writer that keeps everything.
    let now = Timestamp::now().as_millis();
    let first = now - 100 * DAY_MS;
    let samples: Vec<Sample> = (0..100 * 144)
        .flat_map(|i| {
            let time = Timestamp(first + i * 600_000);
            [TagIndex(0), TagIndex(1)].map(|tag| Sample {
                tag,
                time,
                value: Some(Value::Number(i as f64)),
                quality: Quality::Good,
            })
        })
        .collect();
    let mut keep_all = plant.clone();
    keep_all.retention = Default::default();
    let writer = HistoryWriter::open(&db, &keep_all).expect("writer");
    writer.sink().send(samples);
    writer.close().expect("close");
    assert_eq!(exported_times(&db, "plc/flow").len(), 100 * 144);

    // The plant's writer drops what is older than its keep in the background.
    let writer = HistoryWriter::open(&db, &plant).expect("writer");
    let reader = HistoryReader::open(&db).expect("reader");
    let oldest = |tag: &str| {
        let query = SampleQuery {
            tags: vec![tag.into()],
            ..SampleQuery::default()
        };
        let mut first = None;
        reader
            .for_each_sample_while(&query, |s| {
                first = Some(s.time.0);
                false
            })
            .expect("read");
        first
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while oldest("plc/flow").is_none_or(|t| t < now - 30 * DAY_MS)
        || oldest("plc/kw").is_none_or(|t| t < now - 10 * DAY_MS)
    {
        assert!(Instant::now() < deadline, "old samples still there");
        std::thread::sleep(Duration::from_millis(50));
    }
    writer.close().expect("close");

    // Whole chunks (four hours of samples, 24 here) go: what is left starts less than four hours before
    // the cut.
    let flow = exported_times(&db, "plc/flow");
    let kw = exported_times(&db, "plc/kw");
    let kept = |days: i64| {
        let cut = now - days * DAY_MS;
        (first..now).step_by(600_000).filter(|&t| t >= cut).count()
    };
    assert!(
        flow.len() >= kept(30) && flow.len() < kept(30) + 24,
        "{} of {}",
        flow.len(),
        kept(30)
    );
    assert!(
        kw.len() >= kept(10) && kw.len() < kept(10) + 24,
        "{} of {}",
        kw.len(),
        kept(10)
    );
    // The summaries of the 30 days before still draw a trend; nothing older than 60 days is left.
    let buckets = reader
        .thinned("plc/flow", Timestamp(first), Timestamp(now), 10)
        .expect("thinned");
    let counts: Vec<u64> = buckets.iter().map(|b| b.count).collect();
    assert_eq!(counts[..3], [0, 0, 0], "{counts:?}");
    assert!(counts[5..].iter().all(|&c| c > 1000), "{counts:?}");
    // The real sqlite3 tool finds the file sound.
    let check = Command::new("sqlite3")
        .arg(&db)
        .arg("PRAGMA integrity_check; PRAGMA freelist_count;")
        .output()
        .expect("run sqlite3");
    let out = String::from_utf8_lossy(&check.stdout);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("ok"), "{out}");
    let free: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .expect("freelist_count");
    assert!(
        free > 0,
        "the dropped samples' pages are free for new chunks"
    );
}

/// A day of ten 1 Hz tags (`dev000/t0000`..) sealed every ten minutes: 1,440 small chunks, written
/// straight into the file as a collector with that seal rhythm leaves them (the writer would merge them
/// as it went). Returns the file's folder and path; the span ends before the writer child's samples.
fn small_chunks_of_a_day() -> (tempfile::TempDir, PathBuf, (i64, i64)) {
    use plantwatch_history::codec::{encode_run, Rec, RecValue};
    const START: i64 = 1_795_000_000_000 - 1_795_000_000_000 % 3_600_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = numeric_plant(&db, 1, 10);
    HistoryWriter::open(&db, &plant)
        .expect("writer")
        .close()
        .expect("close");
    let mut conn = rusqlite::Connection::open(&db).expect("open");
    let tx = conn.transaction().expect("tx");
    let mut data = Vec::new();
    for tag in 1..=10i64 {
        for window in 0..144i64 {
            let recs: Vec<Rec> = (window * 600..(window + 1) * 600)
                .map(|s| Rec {
                    time: START + s * 1000 + (s * 7919) % 23,
                    quality: 0,
                    value: RecValue::Number(((s * 31 + tag) % 997) as f64 * 0.25),
                })
                .collect();
            let numbers: Vec<f64> = recs
                .iter()
                .filter_map(|r| match r.value {
                    RecValue::Number(v) => Some(v),
                    _ => None,
                })
                .collect();
            data.clear();
            encode_run(&recs, &mut data);
            tx.execute(
                "INSERT INTO chunks (tag, start, end, count, not_good, min, max, sum, first, last, data)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params![
                    tag,
                    recs[0].time,
                    recs[recs.len() - 1].time,
                    numbers.len() as i64,
                    numbers.iter().copied().fold(f64::INFINITY, f64::min),
                    numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    numbers.iter().sum::<f64>(),
                    numbers[0],
                    numbers[numbers.len() - 1],
                    &data
                ],
            )
            .expect("insert a chunk");
        }
    }
    tx.commit().expect("commit");
    (dir, db, (START, START + 86_400_000))
}

fn chunk_count(db: &Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open read-only");
    conn.query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))
        .expect("count chunks")
}

#[test]
fn a_writer_killed_with_sigkill_while_compacting_leaves_every_sample() {
    let (_dir, db, (from, to)) = small_chunks_of_a_day();
    let span = [
        "--from".to_string(),
        Timestamp(from).to_string(),
        "--to".to_string(),
        Timestamp(to).to_string(),
    ];
    let span: Vec<&str> = span.iter().map(String::as_str).collect();
    let before = export(&db, &span);
    assert!(before.status.success());
    assert_eq!(
        String::from_utf8_lossy(&before.stdout).lines().count(),
        1 + 10 * 86_400
    );
    let small = chunk_count(&db);
    assert_eq!(small, 10 * 144);

    // The child's writer compacts on open, between the commits of its own samples; it is killed once
    // some merges are committed and most are not.
    let child = Command::new(env!("CARGO_BIN_EXE_history_writer_child"))
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the writer child");
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = small;
    while seen == small {
        assert!(Instant::now() < deadline, "no compaction step committed");
        std::thread::sleep(Duration::from_millis(2));
        seen = chunk_count(&db);
    }
    child.0.kill().expect("kill -9");
    child.0.wait().expect("reap");
    let left = chunk_count(&db);
    assert!(
        left < small && left > 10 * 24,
        "killed mid-compaction: {left} chunks of {small}"
    );

    let after = export(&db, &span);
    assert_eq!(after.stdout, before.stdout, "every sample, once");
    let check = Command::new("sqlite3")
        .arg(&db)
        .arg("PRAGMA integrity_check")
        .output()
        .expect("run sqlite3");
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");

    // The next writer finishes the pass: 13 ten-minute chunks a chunk (7,800 samples; a chunk holds
    // at most 8,192), 12 a tag.
    let plant = numeric_plant(&db, 1, 10);
    let writer = HistoryWriter::open(&db, &plant).expect("next writer");
    let deadline = Instant::now() + Duration::from_secs(60);
    while chunk_count(&db) > 10 * 12 {
        assert!(Instant::now() < deadline, "compaction never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.close().expect("close");
    assert_eq!(export(&db, &span).stdout, before.stdout);
}
