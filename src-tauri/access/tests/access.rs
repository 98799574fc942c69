//! Users and the audit trail on real database files: who may change users, what every attempt leaves in
//! the trail, and that the chain notices edits, removals and moves made behind Plantwatch's back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_access::{
    outcome, AccessError, AuditAction, AuditEntry, AuditTrail, ChainBroken, Password, User, Users,
};
use plantwatch_core::{Role, Timestamp};
use rusqlite::Connection;

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    (dir, path)
}

fn pw(text: &str) -> Password {
    Password::new(text)
}

/// A plant with admin `ada` (password `ada-password`) signed in.
fn plant_with_admin(path: &Path) -> (Users, User) {
    let users = Users::open(path).expect("open users");
    users
        .add("ada", Role::Admin, &pw("ada-password"), None)
        .expect("first user");
    let ada = users
        .sign_in("ada", &pw("ada-password"))
        .expect("admin signs in");
    (users, ada)
}

fn actions(path: &Path) -> Vec<(AuditAction, String, String)> {
    AuditTrail::open_read_only(path)
        .expect("trail")
        .entries(None, None)
        .expect("entries")
        .into_iter()
        .map(|(_, e)| (e.action, e.target, e.result))
        .collect()
}

fn sql(path: &Path, statement: &str) {
    Connection::open(path)
        .expect("open with sqlite")
        .execute_batch(statement)
        .expect("tamper");
}

#[test]
fn the_first_user_must_be_an_admin_and_later_ones_need_one() {
    let (_dir, path) = db();
    let users = Users::open(&path).expect("open");
    assert!(users.is_empty().expect("empty"));
    let err = users
        .add("olga", Role::Operator, &pw("olga-password"), None)
        .expect_err("first user not an admin");
    assert!(matches!(err, AccessError::FirstUserMustBeAdmin), "{err}");
    users
        .add("ada", Role::Admin, &pw("ada-password"), None)
        .expect("first admin");
    let err = users
        .add("olga", Role::Operator, &pw("olga-password"), None)
        .expect_err("nobody signed in");
    assert_eq!(
        err.to_string(),
        "adding a user needs an admin; nobody is signed in"
    );
    let ada = users.sign_in("ada", &pw("ada-password")).expect("sign in");
    users
        .add("olga", Role::Operator, &pw("olga-password"), Some(&ada))
        .expect("admin adds");
    let olga = users
        .sign_in("olga", &pw("olga-password"))
        .expect("sign in");
    let err = users
        .add("eve", Role::Admin, &pw("eve-password"), Some(&olga))
        .expect_err("operator cannot add");
    assert!(err.is_refusal());
    assert_eq!(
        err.to_string(),
        "adding a user needs an admin; 'olga' is operator"
    );
    let names: Vec<(String, Role)> = users
        .list()
        .expect("list")
        .into_iter()
        .map(|u| (u.name, u.role))
        .collect();
    assert_eq!(
        names,
        [("ada".into(), Role::Admin), ("olga".into(), Role::Operator)]
    );
    let results: Vec<(AuditAction, String, String)> = actions(&path);
    assert_eq!(
        results,
        [
            (
                AuditAction::UserAdded,
                "olga".into(),
                outcome::DENIED.into()
            ),
            (AuditAction::UserAdded, "ada".into(), outcome::OK.into()),
            (
                AuditAction::UserAdded,
                "olga".into(),
                outcome::DENIED.into()
            ),
            (AuditAction::SignIn, "ada".into(), outcome::OK.into()),
            (AuditAction::UserAdded, "olga".into(), outcome::OK.into()),
            (AuditAction::SignIn, "olga".into(), outcome::OK.into()),
            (AuditAction::UserAdded, "eve".into(), outcome::DENIED.into()),
        ],
        "every attempt, allowed or not, is in the trail"
    );
}

#[test]
fn failed_sign_ins_say_why_and_are_audited_with_the_typed_name() {
    let (_dir, path) = db();
    let users = Users::open(&path).expect("open");
    let err = users
        .sign_in("ada", &pw("whatever1"))
        .expect_err("no users");
    assert!(matches!(err, AccessError::NoUsers), "{err}");
    users
        .add("ada", Role::Admin, &pw("ada-password"), None)
        .expect("first admin");
    let err = users
        .sign_in("ada", &pw("ada-passwore"))
        .expect_err("wrong");
    assert_eq!(err.to_string(), "wrong password for user 'ada'");
    let err = users
        .sign_in("bob", &pw("ada-password"))
        .expect_err("unknown");
    assert_eq!(err.to_string(), "unknown user 'bob'");
    let entries = AuditTrail::open_read_only(&path)
        .expect("trail")
        .entries(None, None)
        .expect("entries");
    let failed: Vec<(&str, Role, &str)> = entries
        .iter()
        .filter(|(_, e)| e.action == AuditAction::SignInFailed)
        .map(|(_, e)| (e.user.as_str(), e.role, e.result.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("ada", Role::Viewer, "no_users"),
            ("ada", Role::Viewer, "wrong_password"),
            ("bob", Role::Viewer, "unknown_user"),
        ]
    );
    // No password, right or wrong, reaches the database file.
    let bytes = std::fs::read(&path).expect("read db");
    let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
    for secret in ["ada-password", "ada-passwore", "whatever1"] {
        let found = |b: &[u8]| b.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found(&bytes) && !found(&wal), "{secret} stored in clear");
    }
}

#[test]
fn the_last_admin_cannot_be_removed_or_demoted() {
    let (_dir, path) = db();
    let (users, ada) = plant_with_admin(&path);
    let err = users.remove("ada", Some(&ada)).expect_err("last admin");
    assert_eq!(
        err.to_string(),
        "'ada' is the last admin: add another admin first"
    );
    let err = users
        .set_role("ada", Role::Engineer, Some(&ada))
        .expect_err("last admin");
    assert!(matches!(err, AccessError::LastAdmin(_)), "{err}");
    users
        .add("max", Role::Admin, &pw("max-password"), Some(&ada))
        .expect("second admin");
    users
        .set_role("ada", Role::Engineer, Some(&ada))
        .expect("now ada may step down");
    // Ada's old `User` says admin, but the store reads her role again: she is an engineer now.
    let err = users.remove("max", Some(&ada)).expect_err("demoted");
    assert!(matches!(err, AccessError::Denied { .. }), "{err}");
    let trail = AuditTrail::open_read_only(&path).expect("trail");
    let (_, last) = trail
        .entries(None, None)
        .expect("entries")
        .pop()
        .expect("one");
    assert_eq!(
        (
            last.user.as_str(),
            last.role,
            last.action,
            last.result.as_str()
        ),
        ("ada", Role::Engineer, AuditAction::UserRemoved, "denied")
    );
    assert_eq!(
        last.old.as_deref(),
        Some("admin"),
        "max's role when removed"
    );
}

#[test]
fn users_change_their_own_password_and_admins_anyones() {
    let (_dir, path) = db();
    let (users, ada) = plant_with_admin(&path);
    users
        .add("olga", Role::Operator, &pw("olga-password"), Some(&ada))
        .expect("add");
    let olga = users.sign_in("olga", &pw("olga-password")).expect("in");
    users
        .passwd("olga", &pw("olga-new-password"), Some(&olga))
        .expect("own password");
    assert!(users.sign_in("olga", &pw("olga-password")).is_err());
    let err = users
        .passwd("ada", &pw("hijacked-pass"), Some(&olga))
        .expect_err("not her password");
    assert!(matches!(err, AccessError::Denied { .. }), "{err}");
    users
        .passwd("olga", &pw("reset-by-admin"), Some(&ada))
        .expect("admin resets");
    users
        .sign_in("olga", &pw("reset-by-admin"))
        .expect("new one works");
    let err = users
        .passwd("olga", &pw("short"), Some(&ada))
        .expect_err("too short");
    assert!(matches!(err, AccessError::BadPassword(_)), "{err}");
}

#[test]
fn the_idle_lock_defaults_to_15_minutes_and_only_an_admin_sets_it() {
    let (_dir, path) = db();
    let (users, ada) = plant_with_admin(&path);
    assert_eq!(users.idle_lock().expect("get"), Duration::from_secs(900));
    users
        .set_idle_lock(Duration::from_secs(1800), Some(&ada))
        .expect("set");
    assert_eq!(
        Users::open(&path)
            .expect("reopen")
            .idle_lock()
            .expect("get"),
        Duration::from_secs(1800)
    );
    let err = users
        .set_idle_lock(Duration::from_secs(10), Some(&ada))
        .expect_err("too short");
    assert_eq!(
        err.to_string(),
        "idle lock 10s: allowed from 1 minute to 24 hours"
    );
    let err = users
        .set_idle_lock(Duration::from_secs(600), None)
        .expect_err("nobody");
    assert!(matches!(err, AccessError::Denied { .. }), "{err}");
    let trail = AuditTrail::open_read_only(&path).expect("trail");
    let changes: Vec<(Option<String>, Option<String>, String)> = trail
        .entries(None, None)
        .expect("entries")
        .into_iter()
        .filter(|(_, e)| e.action == AuditAction::IdleLockChanged)
        .map(|(_, e)| (e.old, e.requested, e.result))
        .collect();
    assert_eq!(
        changes,
        [
            (Some("15m".into()), Some("30m".into()), "ok".into()),
            (Some("30m".into()), Some("10m".into()), "denied".into()),
        ]
    );
}

fn write_entry(n: i64) -> AuditEntry {
    let mut e = AuditEntry::new(
        Timestamp(1_764_000_000_000 + n * 1000),
        "olga",
        Role::Operator,
        AuditAction::Write,
        "plc/setpoint",
        "ok",
    );
    e.old = Some("1.5".into());
    e.requested = Some(format!("{n}"));
    e.readback = Some(format!("{n}"));
    e
}

/// A trail of five writes.
fn five(path: &Path) -> AuditTrail {
    let trail = AuditTrail::open(path).expect("open");
    for n in 1..=5 {
        assert_eq!(trail.append(&write_entry(n)).expect("append"), n);
    }
    assert_eq!(trail.verify().expect("intact"), 5);
    trail
}

fn broken(path: &Path) -> ChainBroken {
    AuditTrail::open_read_only(path)
        .expect("open")
        .verify()
        .expect_err("tampering must be detected")
}

#[test]
fn entries_read_back_as_written_and_filter_by_time() {
    let (_dir, path) = db();
    let trail = five(&path);
    let all = trail.entries(None, None).expect("all");
    assert_eq!(all[2], (3, write_entry(3)));
    let some = trail
        .entries(
            Some(Timestamp(1_764_000_002_000)),
            Some(Timestamp(1_764_000_004_000)),
        )
        .expect("range");
    assert_eq!(
        some.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [2, 3],
        "from inclusive, to exclusive"
    );
    let read_only = AuditTrail::open_read_only(&path).expect("read only");
    assert!(matches!(
        read_only.append(&write_entry(6)),
        Err(AccessError::ReadOnly { .. })
    ));
}

#[test]
fn editing_an_entry_is_detected_at_that_entry() {
    let (_dir, path) = db();
    five(&path);
    sql(&path, "UPDATE audit SET requested = '9' WHERE id = 3");
    let err = broken(&path);
    assert_eq!(err.entry(), Some(3), "{err}");
    assert_eq!(
        err.to_string(),
        "entry 3 does not match its hash: it was edited, or moved from another place in the trail"
    );
}

#[test]
fn an_edit_with_its_hash_recomputed_alone_breaks_the_next_link() {
    let (_dir, path) = db();
    five(&path);
    // Copy entry 4's hash over entry 3's: 3 no longer matches.
    sql(
        &path,
        "UPDATE audit SET hash = (SELECT hash FROM audit WHERE id = 4) WHERE id = 3",
    );
    assert_eq!(broken(&path).entry(), Some(3));
}

#[test]
fn deleting_an_entry_in_the_middle_or_at_either_end_is_detected() {
    for (id, message) in [
        (1, "entry 1 is missing: the trail goes on at entry 2"),
        (3, "entry 3 is missing: the trail goes on at entry 4"),
        (
            5,
            "entry 5 is missing: the trail ends at entry 4, but entries up to 5 were appended",
        ),
    ] {
        let (_dir, path) = db();
        five(&path);
        sql(&path, &format!("DELETE FROM audit WHERE id = {id}"));
        let err = broken(&path);
        assert_eq!(err.to_string(), message);
        assert_eq!(err.entry(), Some(id));
    }
}

#[test]
fn reordering_two_entries_is_detected() {
    let (_dir, path) = db();
    five(&path);
    sql(
        &path,
        "UPDATE audit SET id = 100 WHERE id = 2;
         UPDATE audit SET id = 2 WHERE id = 3;
         UPDATE audit SET id = 3 WHERE id = 100;",
    );
    assert_eq!(broken(&path).entry(), Some(2));
}

#[test]
fn an_entry_added_behind_plantwatchs_back_is_detected() {
    let (_dir, path) = db();
    five(&path);
    sql(
        &path,
        "INSERT INTO audit SELECT 6, time, user, role, action, target, old, requested, readback, result, comment, hash FROM audit WHERE id = 5",
    );
    let err = broken(&path);
    assert_eq!(
        err.to_string(),
        "entry 6 was not appended by Plantwatch (the last one it appended is 5)"
    );
}

#[test]
fn appending_after_a_removed_tail_keeps_the_gap_visible() {
    let (_dir, path) = db();
    let trail = five(&path);
    sql(&path, "DELETE FROM audit WHERE id = 5");
    assert_eq!(trail.append(&write_entry(6)).expect("append"), 6);
    assert_eq!(broken(&path).entry(), Some(5));
}

#[test]
fn several_processes_worth_of_appenders_keep_one_chain() {
    let (_dir, path) = db();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each thread has a connection of its own, as another process would.
                let trail = AuditTrail::open(&path).expect("open");
                for n in 0..100 {
                    trail.append(&write_entry(t * 100 + n)).expect("append");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("appender");
    }
    assert_eq!(
        AuditTrail::open_read_only(&path)
            .expect("open")
            .verify()
            .expect("one intact chain"),
        800
    );
}

#[test]
fn a_database_without_access_tables_reads_as_an_empty_trail() {
    let (_dir, path) = db();
    sql(&path, "CREATE TABLE other (x)");
    let trail = AuditTrail::open_read_only(&path).expect("open");
    assert_eq!(trail.verify().expect("empty"), 0);
    assert!(trail.entries(None, None).expect("none").is_empty());
    let missing = AuditTrail::open_read_only(&path.with_extension("nope"));
    assert!(matches!(missing, Err(AccessError::Missing { .. })));
}

#[test]
fn the_trail_and_the_users_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<AuditTrail>();
    shareable::<Users>();
}

#[test]
fn actions_are_spelled_in_snake_case_and_parse_back() {
    for action in AuditAction::ALL {
        assert_eq!(action.to_string().parse::<AuditAction>(), Ok(action));
    }
    assert_eq!(AuditAction::SignInFailed.to_string(), "sign_in_failed");
    assert_eq!(
        AuditAction::AlarmOutOfService.to_string(),
        "alarm_out_of_service"
    );
    assert!("signin".parse::<AuditAction>().is_err());
}
