//! The versioned schema every component shares in the plant's `.db` file.
//!
//! Each component (history, alarm, ...) owns its tables and keeps a list of migration steps: step `i` moves
//! the component from version `i` to `i + 1`. The table `schema_version(component, version)` records where
//! each component stands. Steps are only ever appended, never edited, so a database written by an older
//! binary is brought forward, and a database written by a newer binary (a version beyond the steps this
//! binary knows) is refused instead of being misread or damaged.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::HistoryError;

/// How long a connection waits for another writer (the alarm journal, a second process) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A component's schema could not be brought to the version this binary expects.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database was written by a newer Plantwatch: this binary must not touch it.
    #[error(
        "the {component} tables were written by a newer Plantwatch (schema {found}); this binary knows up to {supported}: upgrade Plantwatch"
    )]
    TooNew {
        component: String,
        found: i64,
        supported: i64,
    },
    /// Reading or updating `schema_version`, or running a step, failed.
    #[error("{component} schema step {step}: {source}")]
    Step {
        component: String,
        step: i64,
        source: rusqlite::Error,
    },
}

/// Applies the migration steps of `component` the database does not have yet, all in one immediate
/// transaction (so two processes starting at once cannot both apply a step). Refuses with
/// [`SchemaError::TooNew`] when the database is ahead of `steps`.
pub fn migrate(conn: &Connection, component: &str, steps: &[&str]) -> Result<(), SchemaError> {
    let step_err = |step: i64| {
        let component = component.to_string();
        move |source| SchemaError::Step {
            component,
            step,
            source,
        }
    };
    let supported = steps.len() as i64;
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(step_err(0))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
    )
    .map_err(step_err(0))?;
    let found = version_in(&tx, component).map_err(step_err(0))?;
    if found > supported {
        return Err(SchemaError::TooNew {
            component: component.to_string(),
            found,
            supported,
        });
    }
    for (i, sql) in steps.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql).map_err(step_err(i as i64))?;
    }
    if found < supported {
        tx.execute(
            "INSERT INTO schema_version (component, version) VALUES (?1, ?2)
             ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component, supported),
        )
        .map_err(step_err(supported))?;
    }
    tx.commit().map_err(step_err(supported))
}

/// The version of `component` recorded in the database: 0 when it has none (or no version table yet).
pub fn version(conn: &Connection, component: &str) -> Result<i64, rusqlite::Error> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    version_in(conn, component)
}

fn version_in(conn: &Connection, component: &str) -> Result<i64, rusqlite::Error> {
    Ok(conn
        .query_row(
            "SELECT version FROM schema_version WHERE component = ?1",
            [component],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Opens (creating if needed) the plant's database for writing: WAL journal so readers never block the
/// writer, `synchronous = NORMAL` (a commit is durable against a process kill; only a power cut may lose
/// the last commits, never corrupt the file), and a busy timeout so components sharing the file wait for
/// each other instead of failing.
pub fn open_connection(path: &Path) -> Result<Connection, HistoryError> {
    let open_err = |source| HistoryError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // Switching a new file to WAL, or reading the mode while another connection of a just-created file
    // does, can answer "database is locked" at once: SQLite's busy handler does not cover every step
    // of it (seen with eight writers opening one new file together on a loaded machine). Retry within
    // the same busy timeout.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(open_err(e)),
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    Ok(conn)
}

/// Opens an existing database for reading only, for the readers (`export`, `alarms`, trends), which must
/// work on a file they cannot write: a read-only share, or a file in a folder owned by the collector's
/// service user.
///
/// A WAL database is read through its `-shm` index, which SQLite creates beside the file when no
/// writer is running; where the folder is not writable that fails ("attempt to write a readonly
/// database"). When no `-wal` file exists no writer has the file open, and the file is read as
/// immutable (no `-shm`, no locks) instead. A writer that starts during such a read and checkpoints
/// into the file could show the reader a torn page, so this is only the fallback; with a writer running,
/// its `-wal` and `-shm` exist and SQLite reads through them read-only.
pub fn open_read_only(path: &Path) -> Result<Connection, rusqlite::Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The first read opens the WAL index: the step that needs write access to the folder.
    let probe = conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()));
    let Err(error) = probe else {
        return Ok(conn);
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return Err(error);
    }
    drop(conn);
    let uri = format!("file:{}?immutable=1", uri_path(path));
    let immutable =
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(|_| error)?;
    Ok(immutable)
}

/// `path` as the path part of an SQLite `file:` URI: every byte but unreserved ones and `/`
/// percent-encoded (a `?`, `#` or `%` in a file name would otherwise end or change the path).
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for &b in absolute.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [&str; 2] = [
        "CREATE TABLE journal (id INTEGER PRIMARY KEY, text TEXT)",
        "ALTER TABLE journal ADD COLUMN user TEXT",
    ];

    #[test]
    fn fresh_database_gets_every_step() {
        let conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&conn, "alarm", &STEPS).expect("migrates");
        assert_eq!(version(&conn, "alarm").expect("version"), 2);
        conn.execute("INSERT INTO journal (text, user) VALUES ('a', 'b')", [])
            .expect("both steps applied");
    }

    #[test]
    fn older_database_gets_only_the_missing_steps() {
        let conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&conn, "alarm", &STEPS[..1]).expect("first step");
        conn.execute("INSERT INTO journal (text) VALUES ('kept')", [])
            .expect("insert");
        migrate(&conn, "alarm", &STEPS).expect("second step");
        migrate(&conn, "alarm", &STEPS).expect("running again is a no-op");
        let text: String = conn
            .query_row("SELECT text FROM journal", [], |r| r.get(0))
            .expect("row survives migration");
        assert_eq!(text, "kept");
    }

    #[test]
    fn components_are_versioned_apart() {
        let conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&conn, "alarm", &STEPS).expect("alarm");
        migrate(&conn, "other", &["CREATE TABLE other (x)"]).expect("other");
        assert_eq!(version(&conn, "alarm").expect("alarm version"), 2);
        assert_eq!(version(&conn, "other").expect("other version"), 1);
        assert_eq!(version(&conn, "missing").expect("missing version"), 0);
    }

    #[test]
    fn newer_database_is_refused_with_a_clear_message() {
        let conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&conn, "alarm", &STEPS).expect("migrates");
        conn.execute(
            "UPDATE schema_version SET version = 7 WHERE component = 'alarm'",
            [],
        )
        .expect("bump");
        let err = migrate(&conn, "alarm", &STEPS).expect_err("a newer schema must be refused");
        assert_eq!(
            err.to_string(),
            "the alarm tables were written by a newer Plantwatch (schema 7); this binary knows up to 2: upgrade Plantwatch"
        );
    }

    #[test]
    fn a_failing_step_leaves_the_version_unchanged() {
        let conn = Connection::open_in_memory().expect("in-memory db");
        let err = migrate(&conn, "alarm", &["CREATE TABLE t (x)", "THIS IS NOT SQL"])
            .expect_err("bad step");
        assert!(matches!(err, SchemaError::Step { step: 1, .. }), "{err}");
        assert_eq!(
            version(&conn, "alarm").expect("version"),
            0,
            "the transaction rolled back"
        );
    }
}
