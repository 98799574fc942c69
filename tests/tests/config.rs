//! `plantwatch check`: a valid plant prints its summary; every broken config in
//! `tests/data/config/broken/` is reported exactly as its sibling `.expected` file says, one
//! `CONFIG:LINE:COL: message` per problem, with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plantwatch_system_tests::{data, plantwatch_bin};

/// The cases the table must hold at the least (issue 2's list of config problems and issue 5's alarms).
const REQUIRED_CASES: &[&str] = &[
    "unknown_key",
    "wrong_type",
    "duplicate_device_id",
    "duplicate_tag_id",
    "address_out_of_range",
    "address_width_overflow",
    "order_on_u16",
    "rtu_missing_serial",
    "tcp_missing_host",
    "bad_transport",
    "bit_out_of_range",
    "string_without_length",
    "limit_alarm_on_bool",
    "hihi_below_hi",
    "toml_syntax",
    "many_errors",
];

/// Runs `plantwatch check FILE` inside `dir`, so that the path in messages is the bare file name, as
/// the user typed it.
fn check(dir: &Path, file: &str) -> Output {
    Command::new(plantwatch_bin())
        .arg("check")
        .arg(file)
        .current_dir(dir)
        .output()
        .expect("run plantwatch check")
}

fn broken_configs() -> Vec<PathBuf> {
    let dir = data("config/broken");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/data/config/broken")
        .map(|entry| entry.expect("list broken configs").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    configs.sort();
    configs
}

#[test]
fn the_table_covers_every_required_problem() {
    let dir = data("config/broken");
    for case in REQUIRED_CASES {
        for ext in ["toml", "expected"] {
            let file = dir.join(format!("{case}.{ext}"));
            assert!(file.exists(), "missing table entry {}", file.display());
        }
    }
}

#[test]
fn every_broken_config_is_reported_exactly() {
    let dir = data("config/broken");
    let configs = broken_configs();
    assert!(
        configs.len() >= REQUIRED_CASES.len(),
        "expected the table of broken configs in {}",
        dir.display()
    );
    // Run every case before failing, so one report names every config whose messages drifted.
    let mut mismatches = Vec::new();
    for config in &configs {
        let file = config
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name");
        let expected = std::fs::read_to_string(config.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{file} needs a sibling .expected file: {e}"));
        let output = check(&dir, file);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.code() != Some(2) || stderr != expected || !stdout.is_empty() {
            mismatches.push(format!(
                "== {file}: exit {:?}\n-- expected stderr:\n{expected}-- actual stderr:\n{stderr}-- stdout:\n{stdout}",
                output.status.code()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} broken configs differ:\n{}",
        mismatches.len(),
        configs.len(),
        mismatches.join("\n")
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported_in_file_order() {
    let dir = data("config/broken");
    let output = check(&dir, "many_errors.toml");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let places: Vec<(usize, usize)> = stderr
        .lines()
        .map(|line| {
            let mut parts = line.splitn(4, ':');
            assert_eq!(
                parts.next(),
                Some("many_errors.toml"),
                "line names the config: {line}"
            );
            let line_no = parts
                .next()
                .and_then(|n| n.parse().ok())
                .expect("line number");
            let column = parts.next().and_then(|n| n.parse().ok()).expect("column");
            (line_no, column)
        })
        .collect();
    assert!(
        places.len() >= 5,
        "expected every problem of many_errors.toml, got:\n{stderr}"
    );
    let mut sorted = places.clone();
    sorted.sort();
    assert_eq!(places, sorted, "problems are listed in file order");
}

#[test]
fn a_valid_config_prints_its_summary_and_exits_0() {
    let dir = data("config/valid");
    let output = check(&dir, "lift4.toml");
    let expected =
        std::fs::read_to_string(dir.join("lift4.expected")).expect("read lift4.expected");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "no problems reported"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_missing_config_exits_2_and_says_it_cannot_be_read() {
    let dir = data("config");
    let output = check(&dir, "no-such-plant.toml");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("no-such-plant.toml: cannot read: "),
        "unexpected stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_shipped_demo_plant_is_valid() {
    // The simulator and the desktop embed assets/demo-plant.toml; it must always pass `check`.
    let assets = plantwatch_system_tests::workspace_root().join("assets");
    let output = check(&assets, "demo-plant.toml");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "no problems reported"
    );
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|summary| summary.ends_with(", history demo-plant.db")),
        "summary: {stdout}"
    );
}

/// Runs `plantwatch check PATH`, killing it if it has not finished within five seconds.
fn check_within_deadline(path: &Path) -> Option<Output> {
    let mut child = Command::new(plantwatch_bin())
        .arg("check")
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run plantwatch check");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while child.try_wait().expect("wait for plantwatch").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("read the output"))
}

#[test]
fn a_fifo_a_device_or_a_huge_file_is_refused_at_once_with_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo.toml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo");
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(2 * 1024 * 1024 * 1024))
        .expect("a 2 GB sparse file");
    let cases = [
        (fifo.clone(), "not a regular file (a FIFO)"),
        (PathBuf::from("/dev/zero"), "not a regular file (a device)"),
        (huge.clone(), "2147483648 bytes, more than the 268435456"),
    ];
    for (path, words) in cases {
        let output = check_within_deadline(&path)
            .unwrap_or_else(|| panic!("check {} still running after 5 s", path.display()));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            path.display()
        );
        assert!(stderr.contains(words), "{}: {stderr}", path.display());
    }
}
