//! `plantwatch write`, end to end: the real binary signs a user in (password on standard input), writes a
//! pymodbus server through the engine's write path and reads back; every refusal happens before anything
//! is sent (the server's request log shows no write), exits with its documented code, and every attempt
//! is in the audit trail, whose chain stays intact.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use plantwatch_access::AuditTrail;
use plantwatch_system_tests::engine_support::write_config;
use plantwatch_system_tests::plantwatch_bin;
use plantwatch_system_tests::write_support::WriteServer;

/// Runs `plantwatch ARGS` with `stdin` piped in and no `PLANTWATCH_PASSWORD`.
fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(plantwatch_bin())
        .args(args)
        .env_remove("PLANTWATCH_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start plantwatch");
    let mut input = child.stdin.take().expect("stdin");
    // A refusal may stop before reading: a broken pipe is fine.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("plantwatch runs")
}

/// Asserts the exit code and returns stdout and stderr together.
fn expect(output: &Output, code: i32) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code; output:\n{text}"
    );
    text
}

struct Bench {
    peer: WriteServer,
    config: std::path::PathBuf,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn start(with_users: bool) -> Bench {
        let peer = WriteServer::start(&serde_json::json!({
            "units": {"1": {
                "holding": {"0": [120, 7, 0, 42]},
                "clamp": {"2": [0, 1000]}
            }}
        }));
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(
            dir.path(),
            "../write/plant.toml",
            &[("port", peer.port().to_string())],
        );
        let db = dir.path().join("plant.db");
        let bench = Bench {
            peer,
            config,
            db,
            _dir: dir,
        };
        if with_users {
            bench.users(&["add", "ada", "--role", "admin"], "admin-pass\n");
            bench.users(
                &["--as", "ada", "add", "olga", "--role", "operator"],
                "admin-pass\nolga-pass\n",
            );
        }
        bench
    }

    fn users(&self, args: &[&str], stdin: &str) {
        let db = self.db.to_str().expect("utf-8 path");
        let mut all = vec!["users", "--db", db];
        all.extend_from_slice(args);
        expect(&run(&all, stdin), 0);
    }

    fn write(&self, tag: &str, value: &str, user: &str, password: &str) -> Output {
        let config = self.config.to_str().expect("utf-8 path");
        run(
            &[
                "write",
                config,
                tag,
                value,
                "--user",
                user,
                "--comment",
                "shift test",
            ],
            &format!("{password}\n"),
        )
    }

    /// Every audited write: (user, target, requested, readback, result).
    fn audited_writes(&self) -> Vec<(String, String, String, String, String)> {
        let trail = AuditTrail::open_read_only(&self.db).expect("open the trail");
        assert!(trail.verify().is_ok(), "the chain is intact");
        trail
            .entries(None, None)
            .expect("read the trail")
            .into_iter()
            .filter(|(_, e)| e.action.name() == "write")
            .map(|(_, e)| {
                (
                    e.user.to_string(),
                    e.target,
                    e.requested.unwrap_or_default(),
                    e.readback.unwrap_or_default(),
                    e.result,
                )
            })
            .collect()
    }
}

fn row(
    user: &str,
    target: &str,
    requested: &str,
    readback: &str,
    result: &str,
) -> (String, String, String, String, String) {
    (
        user.into(),
        target.into(),
        requested.into(),
        readback.into(),
        result.into(),
    )
}

#[test]
fn an_operator_writes_a_setpoint_and_sees_it_read_back() {
    let mut bench = Bench::start(true);
    let output = bench.write("plc/start_level", "2.5", "olga", "olga-pass");
    let text = expect(&output, 0);
    assert!(
        text.contains("done: plc/start_level set to 2.5 (was 1.2)"),
        "{text}"
    );
    assert!(text.contains("read-back: 2.5"), "{text}");
    assert_eq!(
        bench.peer.get("holding", 0, 1),
        vec![250],
        "the server holds 250 counts"
    );
    assert_eq!(
        bench.audited_writes(),
        vec![row("olga", "plc/start_level", "2.5", "2.5", "done")]
    );
}

#[test]
fn a_clamped_write_is_a_mismatch_and_exits_1() {
    let bench = Bench::start(true);
    let text = expect(&bench.write("plc/clamped", "5000", "olga", "olga-pass"), 1);
    assert!(
        text.contains("mismatch: plc/clamped was written 5000 but the device holds 1000"),
        "{text}"
    );
    assert_eq!(
        bench.audited_writes(),
        vec![row("olga", "plc/clamped", "5000", "1000", "mismatch")]
    );
}

#[test]
fn every_refusal_sends_nothing_exits_2_and_is_audited() {
    let mut bench = Bench::start(true);
    bench.peer.clear();
    let cases = [
        ("plc/start_level", "9", "olga", "olga-pass", "out of range"),
        (
            "plc/limit",
            "3",
            "olga",
            "olga-pass",
            "denied: writing plc/limit needs the engineer role",
        ),
        (
            "plc/fixed",
            "3",
            "olga",
            "olga-pass",
            "invalid: 3 for plc/fixed",
        ),
        (
            "plc/start_level",
            "1.5",
            "olga",
            "guess",
            "wrong password for user 'olga'",
        ),
        (
            "plc/start_level",
            "1.5",
            "mallory",
            "guess",
            "unknown user 'mallory'",
        ),
    ];
    for (tag, value, user, password, says) in cases {
        let text = expect(&bench.write(tag, value, user, password), 2);
        assert!(
            text.contains(says),
            "{tag} {value} as {user}: expected '{says}' in:\n{text}"
        );
    }
    // Bad input that names no tag or value the plant can take: refused before any sign-in.
    let text = expect(&bench.write("plc/nothing", "1", "olga", "olga-pass"), 2);
    assert!(text.contains("no tag 'plc/nothing'"), "{text}");
    let text = expect(
        &bench.write("plc/start_level", "lots", "olga", "olga-pass"),
        2,
    );
    assert!(text.contains("is not a finite number"), "{text}");

    assert_eq!(
        bench.peer.writes(),
        Vec::<u8>::new(),
        "no write reached the server"
    );
    let results: Vec<String> = bench.audited_writes().into_iter().map(|r| r.4).collect();
    assert_eq!(
        results,
        ["out of range", "denied", "invalid", "denied", "denied"],
        "each attempt that named a tag and a value is in the trail"
    );
}

#[test]
fn a_plant_without_users_allows_no_writes() {
    let mut bench = Bench::start(false);
    bench.peer.clear();
    let text = expect(&bench.write("plc/start_level", "1.5", "olga", "x"), 2);
    assert!(text.contains("this plant has no users yet"), "{text}");
    assert_eq!(bench.peer.writes(), Vec::<u8>::new(), "nothing was sent");
    assert_eq!(
        bench.audited_writes(),
        vec![row("olga", "plc/start_level", "1.5", "", "denied")]
    );
    assert!(Path::new(&bench.db).exists());
}
