//! Times and durations typed on the command line: every flag of every subcommand that takes one refuses
//! a value far out of range with exit 2 and a message giving the allowed range, never a panic (issue 17,
//! "input edges": `--from -9223372036854775s808ms` used to end with exit 101).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use plantwatch_system_tests::{data, out_dir, plantwatch_bin};

/// Values beyond any range: past i64 milliseconds, past i64 seconds, past the calendar.
const FAR_DURATIONS: &[&str] = &[
    "99999999999999999d",
    "9223372036854775807s",
    "9223372036854775s808ms",
    "36501d",
];

const FAR_TIMES: &[&str] = &[
    "-9223372036854775s808ms",
    "+9223372036854775s807ms",
    "-99999999999999999d",
    "+36501d",
    "99999-01-01T00:00:00Z",
];

/// The words every refusal of a duration gives: its range.
const DURATION_RANGE: &str = "0ms to 36500d";
/// The words every refusal of a time gives: its range.
const TIME_RANGE: &str = "between the years -9999 and 9999 and at most 36500d from now";

/// How long a refusal may take: it comes before any work, so a command still running after this has
/// taken the value (a `collect --duration` of centuries would otherwise run on).
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs plantwatch; a run that outlives [`DEADLINE`] is killed and reported as `None`.
fn plantwatch(args: &[String]) -> Option<Output> {
    let mut child = Command::new(plantwatch_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run plantwatch");
    let started = Instant::now();
    while child.try_wait().expect("wait for plantwatch").is_none() {
        if started.elapsed() > DEADLINE {
            // Ours to end: the child of this test, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("read plantwatch's output"))
}

/// Runs each command line and collects every one that did not exit 2 naming `range`.
fn refusals(lines: Vec<Vec<String>>, range: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    for args in lines {
        let Some(output) = plantwatch(&args) else {
            wrong.push(format!(
                "plantwatch {}: still running after {DEADLINE:?}",
                args.join(" ")
            ));
            continue;
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(2) || !stderr.contains(range) {
            wrong.push(format!(
                "plantwatch {}: exit {:?}\n{stderr}",
                args.join(" "),
                output.status.code()
            ));
        }
    }
    wrong
}

fn line(words: &[&str], flag: &str, value: &str) -> Vec<String> {
    let mut args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    args.push(format!("--{flag}={value}"));
    args
}

#[test]
fn every_duration_flag_refuses_values_out_of_range_with_exit_2() {
    let plant = data("config/valid/lift4.toml");
    let plant = plant.to_str().expect("utf-8 path");
    let db = out_dir("cli_times").join("absent.db");
    let db = db.to_str().expect("utf-8 path");
    let mut lines = Vec::new();
    for value in FAR_DURATIONS {
        lines.push(line(&["collect", plant], "duration", value));
        lines.push(line(&["collect", plant], "status-every", value));
        lines.push(line(
            &["export", "--db", db, "--agg", "avg"],
            "every",
            value,
        ));
    }
    let mut wrong = refusals(lines, DURATION_RANGE);
    // `read` takes its timeout in milliseconds, bounded as a device's timeout_ms is in a config.
    for value in ["0", "60001", "18446744073709551615"] {
        let args = line(&["read", "tcp://127.0.0.1:1"], "timeout-ms", value);
        wrong.extend(refusals(vec![args], "1..=60000"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_time_flag_refuses_values_out_of_range_with_exit_2() {
    let db = out_dir("cli_times").join("absent.db");
    let db = db.to_str().expect("utf-8 path");
    let mut lines = Vec::new();
    for value in FAR_TIMES {
        for flag in ["from", "to"] {
            lines.push(line(&["export", "--db", db], flag, value));
            lines.push(line(&["alarms", "--db", db], flag, value));
        }
    }
    let wrong = refusals(lines, TIME_RANGE);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn times_at_the_edge_of_the_range_are_accepted() {
    // Accepted means the arguments pass: the history file is absent, so the command fails at run time
    // (exit 1), not on its arguments.
    let db = out_dir("cli_times").join("absent.db");
    let db = db.to_str().expect("utf-8 path");
    for args in [
        vec![
            "export",
            "--db",
            db,
            "--from=-36500d",
            "--to=+36500d",
            "--every=36500d",
            "--agg=avg",
        ],
        vec![
            "alarms",
            "--db",
            db,
            "--from=-009999-01-03T00:00:00Z",
            "--to=9999-12-30T00:00:00Z",
        ],
    ] {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let output = plantwatch(&args).expect("an absent history file ends the run at once");
        assert_eq!(
            output.status.code(),
            Some(1),
            "plantwatch {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_refused_time_shows_control_characters_escaped() {
    let db = out_dir("cli_times").join("absent.db");
    let db = db.to_str().expect("utf-8 path");
    let args: Vec<String> = ["export", "--db", db, "--from=x\nfake.toml:1:1: error"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let output = plantwatch(&args).expect("a refusal ends the run at once");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, the newline escaped:\n{stderr}"
    );
}
