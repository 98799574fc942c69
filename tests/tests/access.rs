//! Users, roles and the audit trail end to end: the real `plantwatch users` and `plantwatch audit`
//! (passwords given on standard input, as a script or a pipe would), and tampering done with the real
//! `sqlite3` tool, which `plantwatch audit --verify` must catch and name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use plantwatch_access::{AuditAction, AuditEntry, AuditTrail};
use plantwatch_core::{parse_time, Role, Timestamp};
use plantwatch_system_tests::{data, peer, plantwatch_bin, python};

/// Runs `plantwatch ARGS` with `stdin` piped in (so passwords come from standard input) and no
/// `PLANTWATCH_PASSWORD` unless `env_password` is given.
fn run(args: &[&str], stdin: &str, env_password: Option<&str>) -> Output {
    let mut command = Command::new(plantwatch_bin());
    command
        .args(args)
        .env_remove("PLANTWATCH_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(password) = env_password {
        command.env("PLANTWATCH_PASSWORD", password);
    }
    let mut child = command.spawn().expect("start plantwatch");
    let mut input = child.stdin.take().expect("stdin");
    // The command may stop before reading everything (a refusal): a broken pipe is fine.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("plantwatch runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the exit code and returns (stdout, stderr).
fn expect(output: &Output, code: i32) -> (String, String) {
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code\nstdout:\n{out}\nstderr:\n{err}"
    );
    (out, err)
}

fn users(db: &Path, args: &[&str], stdin: &str) -> Output {
    let db = db.to_str().expect("utf-8 path");
    let mut all = vec!["users", "--db", db];
    all.extend_from_slice(args);
    run(&all, stdin, None)
}

fn audit(db: &Path, args: &[&str]) -> Output {
    let db = db.to_str().expect("utf-8 path");
    let mut all = vec!["audit", "--db", db];
    all.extend_from_slice(args);
    run(&all, "", None)
}

fn sqlite3(db: &Path, statement: &str) {
    let output = Command::new("sqlite3")
        .arg(db)
        .arg(statement)
        .output()
        .expect("the sqlite3 tool is installed");
    assert!(
        output.status.success(),
        "sqlite3 {statement}: {}",
        text(&output.stderr)
    );
}

/// The `action,target,result` columns of the trail, with the header.
fn audited(db: &Path) -> Vec<String> {
    let (csv, _) = expect(&audit(db, &[]), 0);
    csv.lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            format!("{} {} {} {}", cells[1], cells[3], cells[4], cells[8])
        })
        .collect()
}

/// A plant database with admin `ada` and operator `olga`, made through the command line.
fn plant(dir: &Path) -> PathBuf {
    let db = dir.join("plant.db");
    expect(
        &users(&db, &["add", "ada", "--role", "admin"], "ada-password\n"),
        0,
    );
    let (out, _) = expect(
        &users(
            &db,
            &["--as", "ada", "add", "olga", "--role", "operator"],
            "ada-password\nolga-password\n",
        ),
        0,
    );
    assert_eq!(out, "added user 'olga' (operator)\n");
    db
}

/// A trail with fixed times and awkward text, written through the library from
/// `tests/data/access/trail.jsonl`.
fn trail_from_data(db: &Path) {
    let trail = AuditTrail::open(db).expect("open trail");
    let lines = std::fs::read_to_string(data("access/trail.jsonl")).expect("trail data");
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object a line");
        let s = |key: &str| v[key].as_str().map(str::to_string);
        let field = |key: &str| s(key).unwrap_or_default();
        let mut entry = AuditEntry::new(
            parse_time(&field("time"), Timestamp(0)).expect("time"),
            &field("user"),
            field("role").parse::<Role>().expect("role"),
            field("action").parse::<AuditAction>().expect("action"),
            &field("target"),
            &field("result"),
        );
        entry.old = s("old");
        entry.requested = s("requested");
        entry.readback = s("readback");
        entry.comment = s("comment");
        trail.append(&entry).expect("append");
    }
}

#[test]
fn users_are_managed_by_an_admin_and_every_attempt_is_audited() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = plant(dir.path());

    // A wrong password, an unknown user, a role too low, the last admin: each refused with exit 2.
    let (_, err) = expect(
        &users(
            &db,
            &["--as", "ada", "add", "bob", "--role", "engineer"],
            "ada-passwore\nbob-password\n",
        ),
        2,
    );
    assert_eq!(err, "plantwatch users: wrong password for user 'ada'\n");
    let (_, err) = expect(
        &users(&db, &["--as", "zed", "remove", "olga"], "zed-password\n"),
        2,
    );
    assert_eq!(err, "plantwatch users: unknown user 'zed'\n");
    let (_, err) = expect(
        &users(&db, &["--as", "olga", "remove", "ada"], "olga-password\n"),
        2,
    );
    assert_eq!(
        err,
        "plantwatch users: removing a user needs an admin; 'olga' is operator\n"
    );
    let (_, err) = expect(&users(&db, &["remove", "olga"], ""), 2);
    assert!(
        err.starts_with("plantwatch users: removing a user needs an admin; nobody is signed in\n"),
        "{err}"
    );
    let (_, err) = expect(
        &run(
            &[
                "users",
                "--db",
                db.to_str().expect("path"),
                "--as",
                "ada",
                "remove",
                "ada",
            ],
            "",
            Some("ada-password"),
        ),
        2,
    );
    assert_eq!(
        err,
        "plantwatch users: 'ada' is the last admin: add another admin first\n"
    );

    // Olga changes her own password; the old one stops working.
    expect(
        &users(
            &db,
            &["passwd", "olga"],
            "olga-password\nolga-new-password\n",
        ),
        0,
    );
    expect(
        &users(&db, &["--as", "olga", "remove", "ada"], "olga-password\n"),
        2,
    );
    // An admin changes a role.
    let (out, _) = expect(
        &users(
            &db,
            &["--as", "ada", "role", "olga", "--role", "engineer"],
            "ada-password\n",
        ),
        0,
    );
    assert_eq!(out, "'olga' is now engineer\n");
    let (list, _) = expect(&users(&db, &["list"], ""), 0);
    let names: Vec<String> = list
        .lines()
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(names, ["name,role", "ada,admin", "olga,engineer"]);

    assert_eq!(
        audited(&db),
        [
            "user action target result",
            " user_added ada ok",
            "ada sign_in ada ok",
            "ada user_added olga ok",
            "ada sign_out ada ok",
            "ada sign_in_failed ada wrong_password",
            "zed sign_in_failed zed unknown_user",
            "olga sign_in olga ok",
            "olga user_removed ada denied",
            "olga sign_out olga ok",
            " user_removed olga denied",
            "ada sign_in ada ok",
            "ada user_removed ada denied",
            "ada sign_out ada ok",
            "olga sign_in olga ok",
            "olga password_changed olga ok",
            "olga sign_out olga ok",
            "olga sign_in_failed olga wrong_password",
            "ada sign_in ada ok",
            "ada role_changed olga ok",
            "ada sign_out ada ok",
        ]
    );
    let (verdict, _) = expect(&audit(&db, &["--verify"]), 0);
    assert!(
        verdict.starts_with("audit chain intact: 20 entries\nlast entry 20, sha256 "),
        "{verdict}"
    );
}

#[test]
fn the_first_user_must_be_an_admin_and_a_plant_without_users_signs_nobody_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let (_, err) = expect(
        &users(
            &db,
            &["add", "olga", "--role", "operator"],
            "olga-password\n",
        ),
        2,
    );
    assert_eq!(
        err,
        "plantwatch users: the first user must be an admin (--role admin), so that someone can manage users\n"
    );
    let (_, err) = expect(&users(&db, &["passwd", "olga"], "olga-password\n"), 2);
    assert!(
        err.starts_with(
            "plantwatch users: this plant has no users yet: add the first one, an admin"
        ),
        "{err}"
    );
    assert_eq!(
        audited(&db),
        [
            "user action target result",
            " user_added olga denied",
            "olga sign_in_failed olga no_users",
        ]
    );
    // A short password, a bad name, a bad role: bad input, exit 2, nothing stored.
    let (_, err) = expect(
        &users(&db, &["add", "ada", "--role", "admin"], "short\n"),
        2,
    );
    assert_eq!(
        err,
        "plantwatch users: the password is too short: use at least 8 characters\n"
    );
    let (_, err) = expect(
        &users(
            &db,
            &["add", "ada lovelace", "--role", "admin"],
            "ada-password\n",
        ),
        2,
    );
    assert_eq!(
        err,
        "plantwatch users: invalid user name 'ada lovelace': use 1 to 64 letters, digits, '.', '_' or '-'\n"
    );
    let (_, err) = expect(&users(&db, &["add", "ada", "--role", "root"], ""), 2);
    assert!(
        err.contains("unknown role 'root': expected one of viewer, operator, engineer, admin"),
        "{err}"
    );
    let (_, err) = expect(&users(&db, &["add", "ada", "--role", "admin"], ""), 2);
    assert!(err.contains("standard input ended"), "{err}");
    let (list, _) = expect(&users(&db, &["list"], ""), 0);
    assert_eq!(list, "name,role,created,password_changed\n");
}

/// Runs `plantwatch users --db DB ARGS` on a pseudo-terminal, typing `answers` at its prompts; returns
/// what the terminal showed, ending with `EXIT <code>`.
fn users_on_a_terminal(db: &Path, args: &[&str], answers: &[&str]) -> String {
    let mut command = Command::new(python());
    command.arg(peer("tty_session.py"));
    for answer in answers {
        command.args(["--answer", answer]);
    }
    command
        .arg("--")
        .arg(plantwatch_bin())
        .args(["users", "--db", db.to_str().expect("path")])
        .args(args)
        .env_remove("PLANTWATCH_PASSWORD");
    let output = command.output().expect("run tty_session.py");
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout).replace("\r\n", "\n")
}

#[test]
fn on_a_terminal_passwords_are_asked_without_echo_and_new_ones_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let shown = users_on_a_terminal(
        &db,
        &["add", "ada", "--role", "admin"],
        &["ada-password", "ada-password"],
    );
    assert_eq!(
        shown,
        "New password for 'ada': \nNew password for 'ada' again: \nadded user 'ada' (admin)\n\nEXIT 0\n"
    );
    let shown = users_on_a_terminal(
        &db,
        &["--as", "ada", "add", "bob", "--role", "operator"],
        &["ada-password", "bob-password", "bob-passwort"],
    );
    assert_eq!(
        shown,
        "Password for 'ada': \nNew password for 'bob': \nNew password for 'bob' again: \n\
         plantwatch users: the password was not typed the same twice; nothing changed\n\nEXIT 2\n"
    );
    let (list, _) = expect(&users(&db, &["list"], ""), 0);
    assert_eq!(list.lines().count(), 2, "bob was not added: {list}");
}

#[test]
fn passwords_appear_in_no_output_and_not_in_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = plant(dir.path());
    let wrong = users(
        &db,
        &["--as", "ada", "passwd", "olga"],
        "typo-in-ada-password\nolga-second-password\n",
    );
    expect(&wrong, 2);
    let (csv, _) = expect(&audit(&db, &[]), 0);
    let (jsonl, _) = expect(&audit(&db, &["--format", "jsonl"]), 0);
    let mut everything = std::fs::read(&db).expect("db");
    everything.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    everything.extend(csv.bytes().chain(jsonl.bytes()));
    everything.extend(wrong.stdout.iter().chain(&wrong.stderr));
    for secret in [
        "ada-password",
        "olga-password",
        "typo-in-ada-password",
        "olga-second-password",
    ] {
        assert!(
            !everything
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{secret} was found in clear"
        );
    }
    let hash: String = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row(
            "SELECT password_hash FROM access_users WHERE name = 'ada'",
            [],
            |r| r.get(0),
        )
        .expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{hash}"
    );
}

#[test]
fn the_idle_lock_is_kept_in_the_database_and_set_by_an_admin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = plant(dir.path());
    assert_eq!(expect(&users(&db, &["idle-lock"], ""), 0).0, "15m\n");
    let (_, err) = expect(
        &users(&db, &["--as", "olga", "idle-lock", "1h"], "olga-password\n"),
        2,
    );
    assert!(
        err.contains("setting the idle lock needs an admin"),
        "{err}"
    );
    let (_, err) = expect(&users(&db, &["--as", "ada", "idle-lock", "soon"], ""), 2);
    assert!(err.contains("invalid duration 'soon'"), "{err}");
    expect(
        &users(
            &db,
            &["--as", "ada", "idle-lock", "1h30m"],
            "ada-password\n",
        ),
        0,
    );
    assert_eq!(expect(&users(&db, &["idle-lock"], ""), 0).0, "1h30m\n");
}

#[test]
fn audit_prints_csv_with_the_exact_header_and_rfc4180_quoting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    trail_from_data(&db);
    let expected = std::fs::read_to_string(data("access/trail.expected.csv")).expect("expected");
    assert_eq!(expect(&audit(&db, &[]), 0).0, expected);

    let (range, _) = expect(
        &audit(
            &db,
            &[
                "--from",
                "2026-11-26T08:01:00Z",
                "--to",
                "2026-11-26T09:03:00+01:00",
            ],
        ),
        0,
    );
    let lines: Vec<&str> = expected.lines().collect();
    assert_eq!(
        range.lines().collect::<Vec<_>>(),
        [lines[0], lines[3], lines[4]],
        "from inclusive, to exclusive"
    );

    let (jsonl, _) = expect(&audit(&db, &["--format", "jsonl"]), 0);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON a line"))
        .collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[3]["id"], 4);
    assert_eq!(rows[3]["result"], "out_of_range");
    assert_eq!(rows[3]["readback"], serde_json::Value::Null);
    assert_eq!(rows[4]["comment"], "sensor cleaning\nback at 10:00");
}

#[test]
fn audit_refuses_bad_times_and_missing_databases() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    trail_from_data(&db);
    let (_, err) = expect(&audit(&db, &["--from", "yesterday"]), 2);
    assert!(err.contains("invalid time 'yesterday'"), "{err}");
    let (_, err) = expect(&audit(&db, &["--from", "-1h", "--to", "-2h"]), 2);
    assert!(err.contains("must be after --from"), "{err}");
    expect(&audit(&db, &["--verify", "--from", "-1h"]), 2);
    let missing = dir.path().join("none.db");
    let (_, err) = expect(&audit(&missing, &[]), 1);
    assert!(err.ends_with("none.db: no such file\n"), "{err}");
    expect(&audit(&missing, &["--verify"]), 1);
    assert!(!missing.exists(), "readers never create a database");
    expect(&users(&missing, &["list"], ""), 1);
}

#[test]
fn several_processes_appending_at_once_keep_one_intact_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = plant(dir.path());
    // Six commands at once, each signing in (a failed sign-in is appended too) and acting.
    let children: Vec<_> = (0..6)
        .map(|n| {
            let (who, password) = if n % 2 == 0 {
                ("ada", "ada-password")
            } else {
                ("ghost", "ghost-password")
            };
            Command::new(plantwatch_bin())
                .args(["users", "--db", db.to_str().expect("path"), "--as", who])
                .args(["idle-lock", &format!("{}m", 20 + n)])
                .env("PLANTWATCH_PASSWORD", password)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start plantwatch")
        })
        .collect();
    let codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait").status.code())
        .collect();
    assert_eq!(codes, [0, 2, 0, 2, 0, 2].map(Some));
    // 4 entries from making the plant, 3 for each admin command, 1 for each unknown user.
    let (verdict, _) = expect(&audit(&db, &["--verify"]), 0);
    assert!(
        verdict.starts_with("audit chain intact: 16 entries\n"),
        "{verdict}"
    );
}

/// Runs `--verify` on a copy of an intact six-entry trail after `statement`, and returns what it printed.
fn verify_after(statement: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    trail_from_data(&db);
    let (intact, _) = expect(&audit(&db, &["--verify"]), 0);
    assert!(
        intact.starts_with("audit chain intact: 6 entries\n"),
        "{intact}"
    );
    sqlite3(&db, statement);
    expect(&audit(&db, &["--verify"]), 1).0
}

#[test]
fn editing_one_row_with_sqlite3_is_detected_and_named() {
    assert_eq!(
        verify_after("UPDATE audit SET requested = '99' WHERE id = 4"),
        "audit chain broken: entry 4 does not match its hash: it was edited, or moved from another place in the trail\n"
    );
    // Changing a time is an edit too.
    assert!(
        verify_after("UPDATE audit SET time = time + 1 WHERE id = 2")
            .starts_with("audit chain broken: entry 2 ")
    );
}

#[test]
fn deleting_one_row_with_sqlite3_is_detected_and_named() {
    assert_eq!(
        verify_after("DELETE FROM audit WHERE id = 3"),
        "audit chain broken: entry 3 is missing: the trail goes on at entry 4\n"
    );
    assert_eq!(
        verify_after("DELETE FROM audit WHERE id = 6"),
        "audit chain broken: entry 6 is missing: the trail ends at entry 5, but entries up to 6 were appended\n"
    );
}

#[test]
fn reordering_rows_with_sqlite3_is_detected_and_named() {
    // Swap entries 3 and 4, hashes and all.
    assert!(verify_after(
        "UPDATE audit SET id = -4 WHERE id = 4; UPDATE audit SET id = 4 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = -4;"
    )
    .starts_with("audit chain broken: entry 3 does not match its hash"));
    // Move entry 2 to the end of the trail.
    assert_eq!(
        verify_after("UPDATE audit SET id = 7 WHERE id = 2"),
        "audit chain broken: entry 2 is missing: the trail goes on at entry 3\n"
    );
}
