//! Alarms when the disk will not take them (issue 17): a second real process (the `sqlite3` shell)
//! holding the plant's database locked, and a real full disk (a small tmpfs, mounted by the test). The
//! operator must see every alarm at once; the journal must get every transition, in order and with its
//! own time, as soon as the disk takes writes again; and an operator action that cannot be journaled
//! is not confirmed as done.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_alarm::{
    AlarmCommand, AlarmError, AlarmSnapshot, AlarmState, JournalEntry, OperatorAction, Transition,
};
use plantwatch_core::{Plant, Quality, Sample, Timestamp, Value};
use plantwatch_engine::alarm_service::{AlarmChange, AlarmService};
use plantwatch_engine::EngineEvent;
use plantwatch_system_tests::alarm_support::{journal_so_far, wait_for_journal, JOURNAL_START};
use plantwatch_system_tests::data;
use tokio::sync::broadcast;

/// How long anything the test waits for may take (the machine is shared by several builds).
const WITHIN: Duration = Duration::from_secs(15);

/// The one-tag test plant (its journal goes wherever the test opens the service).
fn plant() -> Arc<Plant> {
    Arc::new(
        plantwatch_config::load(&data("alarms/small-plant.toml")).expect("the test plant is valid"),
    )
}

/// The level reading `value` at `ms` after [`JOURNAL_START`].
fn level(plant: &Plant, value: f64, ms: i64) -> EngineEvent {
    EngineEvent::Samples(Arc::from(vec![Sample {
        tag: plant.find_tag("plc/level").expect("the level tag"),
        time: Timestamp(JOURNAL_START + ms),
        value: Some(Value::Number(value)),
        quality: Quality::Good,
    }]))
}

/// The level trips HIHI and HI, then falls back to normal a second later.
fn trip_and_clear(service: &AlarmService, plant: &Plant) {
    service.feed(&level(plant, 3.7, 0));
    service.feed(&level(plant, 2.0, 1000));
}

/// What the journal must hold after [`trip_and_clear`]: the four transitions, in order, at their times.
const TRIPPED_AND_CLEARED: [(i64, &str, Transition); 4] = [
    (0, "hihi", Transition::Active),
    (0, "hi", Transition::Active),
    (1000, "hihi", Transition::Cleared),
    (1000, "hi", Transition::Cleared),
];

fn summary(journal: &[JournalEntry]) -> Vec<(i64, &str, Transition)> {
    journal
        .iter()
        .map(|e| (e.time.0 - JOURNAL_START, e.kind.name(), e.state))
        .collect()
}

/// Waits (bounded) for `n` alarm changes on a subscription.
fn changes(rx: &mut broadcast::Receiver<AlarmChange>, n: usize) -> Vec<AlarmChange> {
    let deadline = Instant::now() + WITHIN;
    let mut out = Vec::new();
    while out.len() < n {
        match rx.try_recv() {
            Ok(change) => out.push(change),
            Err(broadcast::error::TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("only {} of {n} alarm changes came: {e:?}", out.len()),
        }
    }
    out
}

/// Polls the service's snapshot (bounded) until `done` holds.
fn wait_for_snapshot(
    service: &AlarmService,
    what: &str,
    done: impl Fn(&AlarmSnapshot) -> bool,
) -> AlarmSnapshot {
    let deadline = Instant::now() + WITHIN;
    loop {
        let snap = service.snapshot();
        if done(&snap) {
            return snap;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WITHIN:?} for {what}; the snapshot is {snap:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn states(snap: &AlarmSnapshot) -> Vec<(&str, AlarmState)> {
    snap.alarms
        .iter()
        .map(|s| (s.key.as_str(), s.state))
        .collect()
}

/// A `sqlite3` shell holding the database locked in an open write transaction until released.
struct Locker {
    shell: Child,
}

impl Locker {
    /// Starts the shell and returns once the database is locked (a write from here is refused).
    fn lock(db: &Path) -> Locker {
        let mut shell = Command::new("sqlite3")
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the sqlite3 shell runs (apt-get install sqlite3)");
        shell
            .stdin
            .as_mut()
            .expect("the shell's stdin")
            .write_all(b"BEGIN EXCLUSIVE;\nINSERT INTO alarm_current (key, tag, kind, priority, message, state) VALUES ('locker', 'x', 'hi', 'low', 'held by the test', 'normal');\n")
            .expect("send the lock");
        let deadline = Instant::now() + WITHIN;
        while !is_locked(db) {
            assert!(
                Instant::now() < deadline,
                "sqlite3 did not lock the database"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Locker { shell }
    }

    /// Rolls back and ends the shell (its stdin closes), so the lock is gone when this returns.
    fn release(mut self) {
        if let Some(mut stdin) = self.shell.stdin.take() {
            let _ = stdin.write_all(b"ROLLBACK;\n");
        }
        let status = self.shell.wait().expect("the sqlite3 shell ends");
        assert!(status.success(), "sqlite3 ended with {status}");
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}

/// True when another connection holds the write lock (a write transaction cannot start at once).
fn is_locked(db: &Path) -> bool {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    conn.busy_timeout(Duration::ZERO).expect("no waiting");
    match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
        Ok(()) => false,
        Err(e) => e.to_string().contains("locked"),
    }
}

fn acknowledge(key: &str) -> OperatorAction {
    OperatorAction {
        user: "anna".into(),
        comment: Some("seen".into()),
        command: AlarmCommand::Acknowledge(vec![key.into()]),
    }
}

#[test]
fn alarms_reach_the_operator_while_another_process_locks_the_database_and_the_journal_once_it_is_released(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = plant();
    let service = AlarmService::spawn(plant.clone(), &db).expect("start the alarm service");
    let mut rx = service.subscribe();

    let locker = Locker::lock(&db);
    trip_and_clear(&service, &plant);

    // The operator is told at once: four changes, HIHI asking for a notification, and the summary
    // showing both alarms returned but unacknowledged.
    let seen = changes(&mut rx, 4);
    assert_eq!(
        seen.iter()
            .map(|c| (c.key.as_str(), c.entry.state, c.notify))
            .collect::<Vec<_>>(),
        [
            ("plc/level:hihi", Transition::Active, true),
            ("plc/level:hi", Transition::Active, true),
            ("plc/level:hihi", Transition::Cleared, false),
            ("plc/level:hi", Transition::Cleared, false),
        ]
    );
    let snap = wait_for_snapshot(&service, "the journal to report the lock", |s| {
        s.journal.last_error.is_some()
    });
    assert_eq!(
        states(&snap),
        [
            ("plc/level:hihi", AlarmState::ReturnedUnacked),
            ("plc/level:hi", AlarmState::ReturnedUnacked),
        ]
    );
    assert_eq!(snap.journal.pending, 4, "{:?}", snap.journal);
    let error = snap.journal.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("locked"), "the cause is shown: {error}");
    assert!(
        journal_so_far(&db).is_empty(),
        "nothing can be journaled yet"
    );

    locker.release();
    wait_for_journal(&db, WITHIN, "the four transitions", |j| j.len() >= 4);
    assert_eq!(summary(&journal_so_far(&db)), TRIPPED_AND_CLEARED);
    let snap = wait_for_snapshot(&service, "the backlog to empty", |s| s.journal.pending == 0);
    assert_eq!(snap.journal.last_error, None, "the journal caught up");
    assert_eq!(service.close().pending, 0, "nothing left at stop");
}

#[test]
fn an_acknowledgement_the_journal_cannot_take_is_not_confirmed_and_leaves_the_alarm_unacknowledged()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = plant();
    let service = AlarmService::spawn(plant.clone(), &db).expect("start the alarm service");
    service.feed(&level(&plant, 3.7, 0));
    wait_for_journal(&db, WITHIN, "the trips", |j| j.len() >= 2);

    let locker = Locker::lock(&db);
    let refused = service.act(acknowledge("plc/level:hihi"));
    assert!(
        matches!(refused, Err(AlarmError::NotJournaled(_))),
        "the acknowledgement is not confirmed: {refused:?}"
    );
    let message = refused.map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(
        message.contains("not done") && message.contains("locked"),
        "the operator is told why: {message}"
    );
    assert_eq!(
        states(&service.snapshot()),
        [
            ("plc/level:hihi", AlarmState::ActiveUnacked),
            ("plc/level:hi", AlarmState::ActiveUnacked),
        ],
        "the alarm is still unacknowledged"
    );

    locker.release();
    // Nothing was waiting, so nothing is written once the lock is gone: the refused action is not
    // journaled behind the operator's back.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        journal_so_far(&db)
            .iter()
            .all(|e| e.state != Transition::Acknowledged),
        "a refused acknowledgement never reaches the journal"
    );

    service
        .act(acknowledge("plc/level:hihi"))
        .expect("once the journal takes writes the acknowledgement is done");
    assert!(journal_so_far(&db)
        .iter()
        .any(|e| e.state == Transition::Acknowledged && e.user.as_deref() == Some("anna")));
    assert_eq!(
        states(&service.snapshot())[0],
        ("plc/level:hihi", AlarmState::ActiveAcked)
    );
}

/// A tmpfs of a few hundred kilobytes mounted on a fresh folder, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (and a loud note) when this machine does not let the test mount (not root, no tmpfs).
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk { dir }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let block = vec![0x55u8; 4096];
        loop {
            if let Err(e) = file.write_all(&block) {
                assert_eq!(
                    e.raw_os_error(),
                    Some(28),
                    "the disk filled up (ENOSPC): {e}"
                );
                break;
            }
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(self.dir.path()).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("could not unmount {}", self.dir.path().display());
        }
    }
}

#[test]
fn alarms_reach_the_operator_while_the_disk_is_full_and_the_journal_once_there_is_room() {
    let Some(disk) = SmallDisk::mount("512k") else {
        return;
    };
    let db = disk.path().join("plant.db");
    let plant = plant();
    let service = AlarmService::spawn(plant.clone(), &db).expect("start the alarm service");
    let mut rx = service.subscribe();

    let filler = disk.fill();
    trip_and_clear(&service, &plant);
    assert_eq!(changes(&mut rx, 4).len(), 4, "the operator is told at once");
    let snap = wait_for_snapshot(&service, "the journal to report the full disk", |s| {
        s.journal.last_error.is_some()
    });
    assert_eq!(
        states(&snap),
        [
            ("plc/level:hihi", AlarmState::ReturnedUnacked),
            ("plc/level:hi", AlarmState::ReturnedUnacked),
        ]
    );
    assert_eq!(snap.journal.pending, 4, "{:?}", snap.journal);
    let error = snap.journal.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("full"), "the cause is shown: {error}");

    // An acknowledgement cannot be recorded either, so it is not done.
    assert!(matches!(
        service.act(acknowledge("plc/level:hihi")),
        Err(AlarmError::NotJournaled(_))
    ));

    std::fs::remove_file(filler).expect("make room");
    wait_for_journal(&db, WITHIN, "the four transitions", |j| j.len() >= 4);
    assert_eq!(summary(&journal_so_far(&db)), TRIPPED_AND_CLEARED);
    assert_eq!(service.close().pending, 0, "nothing left at stop");
}

#[test]
fn what_cannot_be_journaled_by_the_end_of_a_stop_is_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let plant = plant();
    let service = AlarmService::spawn(plant.clone(), &db).expect("start the alarm service");
    let locker = Locker::lock(&db);
    trip_and_clear(&service, &plant);
    wait_for_snapshot(&service, "the lock to be noticed", |s| {
        s.journal.pending == 4
    });
    let started = Instant::now();
    let left = service.close();
    assert_eq!(left.pending, 4, "the unjournaled changes are counted");
    assert!(
        left.last_error.is_some_and(|e| e.contains("locked")),
        "with their cause"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the stop is bounded: {:?}",
        started.elapsed()
    );
    locker.release();
}
