//! The alarm journal in SQLite, inside the plant's history file.
//!
//! Two tables of the `alarm` schema component: `alarm_journal`, one row per transition or operator action
//! (append only), and `alarm_current`, the state of every alarm that is not quietly normal, rewritten in
//! the same transaction as the journal rows it follows from, so a restart restores exactly what the
//! journal says.

use std::path::{Path, PathBuf};

use plantwatch_core::{Priority, Timestamp};
use plantwatch_history::schema;
use rusqlite::{Connection, OptionalExtension, Row};

use crate::catalog::AlarmKind;
use crate::entry::{AlarmState, JournalEntry, Transition};
use crate::error::AlarmError;
use crate::status::{Acknowledgement, AlarmStatus, OutOfService, Shelve};

/// The schema component name in `schema_version`.
pub const COMPONENT: &str = "alarm";

/// Migration steps of the alarm tables; append only.
const STEPS: &[&str] = &["
CREATE TABLE alarm_journal (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,          -- UTC milliseconds
    tag TEXT NOT NULL,              -- full tag id, or the device id for comm alarms
    kind TEXT NOT NULL,             -- hihi, hi, lo, lolo, state, comm
    priority TEXT NOT NULL,
    state TEXT NOT NULL,            -- the transition or action: active, cleared, acknowledged, shelved, ...
    value REAL,
    \"limit\" REAL,
    message TEXT NOT NULL,
    user TEXT,
    comment TEXT,
    shelved_until INTEGER
);
CREATE INDEX alarm_journal_by_time ON alarm_journal (time);
CREATE TABLE alarm_current (
    key TEXT PRIMARY KEY,           -- device/tag:kind or device:comm
    tag TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority TEXT NOT NULL,
    message TEXT NOT NULL,
    \"limit\" REAL,
    state TEXT NOT NULL,            -- normal, active_unacked, active_acked, returned_unacked
    value REAL,
    activated INTEGER,
    cleared INTEGER,
    acked_at INTEGER,
    acked_by TEXT,
    ack_comment TEXT,
    shelved_since INTEGER,
    shelved_until INTEGER,
    shelved_by TEXT,
    shelve_reason TEXT,
    oos_since INTEGER,
    oos_by TEXT,
    oos_comment TEXT
);
"];

const ENTRY_COLUMNS: &str =
    "time, tag, kind, priority, state, value, \"limit\", message, user, comment, shelved_until";

const CURRENT_COLUMNS: &str =
    "key, tag, kind, priority, message, \"limit\", state, value, activated, cleared, \
     acked_at, acked_by, ack_comment, shelved_since, shelved_until, shelved_by, shelve_reason, \
     oos_since, oos_by, oos_comment";

/// The writing side of the journal: one per process, owned by the alarm service's thread.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating if needed) the plant's database and brings the alarm tables up to date.
    pub fn open(path: &Path) -> Result<Journal, AlarmError> {
        let conn = schema::open_connection(path).map_err(|e| AlarmError::Schema {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        schema::migrate(&conn, COMPONENT, STEPS).map_err(|e| AlarmError::Schema {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Journal {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> AlarmError + '_ {
        |source| AlarmError::Journal {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends entries and rewrites the current state of the alarms they concern, in one transaction.
    /// `current` holds the new status of each alarm touched; quiet ones (normal, not shelved, in
    /// service) are removed from `alarm_current`.
    pub fn write<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a JournalEntry>,
        current: &[AlarmStatus],
    ) -> Result<(), AlarmError> {
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO alarm_journal ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))
                .map_err(self.sql())?;
            for e in entries {
                insert
                    .execute(rusqlite::params![
                        e.time.0,
                        e.tag,
                        e.kind.name(),
                        e.priority.name(),
                        e.state.name(),
                        e.value,
                        e.limit,
                        e.message,
                        e.user,
                        e.comment,
                        e.shelved_until.map(|t| t.0),
                    ])
                    .map_err(self.sql())?;
            }
            let mut upsert = tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO alarm_current ({CURRENT_COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
                ))
                .map_err(self.sql())?;
            let mut delete = tx
                .prepare_cached("DELETE FROM alarm_current WHERE key = ?1")
                .map_err(self.sql())?;
            for s in current {
                if s.state == AlarmState::Normal && s.shelve.is_none() && s.out_of_service.is_none()
                {
                    delete.execute([&s.key]).map_err(self.sql())?;
                    continue;
                }
                let ack = s.acknowledged.as_ref();
                let shelve = s.shelve.as_ref();
                let oos = s.out_of_service.as_ref();
                upsert
                    .execute(rusqlite::params![
                        s.key,
                        s.source,
                        s.kind.name(),
                        s.priority.name(),
                        s.message,
                        s.limit,
                        s.state.name(),
                        s.value,
                        s.activated.map(|t| t.0),
                        s.cleared.map(|t| t.0),
                        ack.map(|a| a.at.0),
                        ack.map(|a| &a.by),
                        ack.and_then(|a| a.comment.as_ref()),
                        shelve.map(|x| x.since.0),
                        shelve.map(|x| x.until.0),
                        shelve.map(|x| &x.by),
                        shelve.map(|x| &x.reason),
                        oos.map(|x| x.since.0),
                        oos.map(|x| &x.by),
                        oos.and_then(|x| x.comment.as_ref()),
                    ])
                    .map_err(self.sql())?;
            }
        }
        tx.commit().map_err(self.sql())
    }

    /// The saved state of every alarm that was not quietly normal.
    pub fn current(&self) -> Result<Vec<AlarmStatus>, AlarmError> {
        read_current(&self.conn, &self.path)
    }
}

/// The reading side: a read-only connection for the CLI and reports. Never creates or migrates anything.
pub struct JournalReader {
    conn: Connection,
    path: PathBuf,
    /// False when the file has history but no alarm tables yet.
    has_journal: bool,
}

/// Which entries to read: `[from, to)`, either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalQuery {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl JournalReader {
    /// Opens an existing plant database read-only. A missing file is an error; a file without alarm
    /// tables reads as an empty journal; a file written by a newer Plantwatch is refused.
    pub fn open(path: &Path) -> Result<JournalReader, AlarmError> {
        if !path.is_file() {
            return Err(AlarmError::Missing {
                path: path.to_path_buf(),
            });
        }
        let sql = |source| AlarmError::Journal {
            path: path.to_path_buf(),
            source,
        };
        // Works on a file this process cannot write (see `schema::open_read_only`).
        let conn = schema::open_read_only(path).map_err(sql)?;
        let found = schema::version(&conn, COMPONENT).map_err(sql)?;
        let supported = STEPS.len() as i64;
        if found > supported {
            let too_new = schema::SchemaError::TooNew {
                component: COMPONENT.to_string(),
                found,
                supported,
            };
            return Err(AlarmError::Schema {
                path: path.to_path_buf(),
                message: too_new.to_string(),
            });
        }
        Ok(JournalReader {
            conn,
            path: path.to_path_buf(),
            has_journal: found > 0,
        })
    }

    /// Calls `f` with every entry of the query, in time order (entries of one moment in the order they
    /// were written). Returns how many there were.
    pub fn for_each(
        &self,
        query: JournalQuery,
        mut f: impl FnMut(JournalEntry),
    ) -> Result<u64, AlarmError> {
        if !self.has_journal {
            return Ok(0);
        }
        let sql = |source| AlarmError::Journal {
            path: self.path.clone(),
            source,
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM alarm_journal WHERE time >= ?1 AND time < ?2 ORDER BY time, id"
            ))
            .map_err(sql)?;
        let from = query.from.map_or(i64::MIN, |t| t.0);
        let to = query.to.map_or(i64::MAX, |t| t.0);
        let mut rows = stmt.query([from, to]).map_err(sql)?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(sql)? {
            f(entry_from_row(row, &self.path)?);
            n += 1;
        }
        Ok(n)
    }

    /// Every entry of the query, in time order.
    pub fn entries(&self, query: JournalQuery) -> Result<Vec<JournalEntry>, AlarmError> {
        let mut out = Vec::new();
        self.for_each(query, |e| out.push(e))?;
        Ok(out)
    }

    /// The alarms that are not quietly normal (active, unacknowledged, shelved or out of service), as the
    /// last writer left them.
    pub fn current(&self) -> Result<Vec<AlarmStatus>, AlarmError> {
        if !self.has_journal {
            return Ok(Vec::new());
        }
        read_current(&self.conn, &self.path)
    }
}

fn bad_row(path: &Path, message: String) -> AlarmError {
    AlarmError::BadRow {
        path: path.to_path_buf(),
        message,
    }
}

fn kind_of(text: &str, path: &Path) -> Result<AlarmKind, AlarmError> {
    AlarmKind::from_name(text).ok_or_else(|| bad_row(path, format!("unknown alarm kind '{text}'")))
}

fn priority_of(text: &str, path: &Path) -> Result<Priority, AlarmError> {
    Priority::from_name(text).ok_or_else(|| bad_row(path, format!("unknown priority '{text}'")))
}

fn entry_from_row(row: &Row<'_>, path: &Path) -> Result<JournalEntry, AlarmError> {
    let sql = |source| AlarmError::Journal {
        path: path.to_path_buf(),
        source,
    };
    let kind: String = row.get(2).map_err(sql)?;
    let priority: String = row.get(3).map_err(sql)?;
    let state: String = row.get(4).map_err(sql)?;
    Ok(JournalEntry {
        time: Timestamp(row.get(0).map_err(sql)?),
        tag: row.get(1).map_err(sql)?,
        kind: kind_of(&kind, path)?,
        priority: priority_of(&priority, path)?,
        state: Transition::from_name(&state)
            .ok_or_else(|| bad_row(path, format!("unknown journal state '{state}'")))?,
        value: row.get(5).map_err(sql)?,
        limit: row.get(6).map_err(sql)?,
        message: row.get(7).map_err(sql)?,
        user: row.get(8).map_err(sql)?,
        comment: row.get(9).map_err(sql)?,
        shelved_until: row.get::<_, Option<i64>>(10).map_err(sql)?.map(Timestamp),
    })
}

fn read_current(conn: &Connection, path: &Path) -> Result<Vec<AlarmStatus>, AlarmError> {
    let sql = |source| AlarmError::Journal {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {CURRENT_COLUMNS} FROM alarm_current ORDER BY key"
        ))
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let time = |i: usize| {
            row.get::<_, Option<i64>>(i)
                .map(|t| t.map(Timestamp))
                .map_err(sql)
        };
        let text = |i: usize| row.get::<_, Option<String>>(i).map_err(sql);
        let kind: String = row.get(2).map_err(sql)?;
        let priority: String = row.get(3).map_err(sql)?;
        let state: String = row.get(6).map_err(sql)?;
        let value: Option<f64> = row.get(7).map_err(sql)?;
        let acknowledged = match (time(10)?, text(11)?) {
            (Some(at), Some(by)) => Some(Acknowledgement {
                at,
                by,
                comment: text(12)?,
            }),
            _ => None,
        };
        let shelve = match (time(13)?, time(14)?, text(15)?) {
            (Some(since), Some(until), Some(by)) => Some(Shelve {
                since,
                until,
                by,
                reason: text(16)?.unwrap_or_default(),
            }),
            _ => None,
        };
        let out_of_service = match (time(17)?, text(18)?) {
            (Some(since), Some(by)) => Some(OutOfService {
                since,
                by,
                comment: text(19)?,
            }),
            _ => None,
        };
        out.push(AlarmStatus {
            key: row.get(0).map_err(sql)?,
            source: row.get(1).map_err(sql)?,
            kind: kind_of(&kind, path)?,
            priority: priority_of(&priority, path)?,
            message: row.get(4).map_err(sql)?,
            limit: row.get(5).map_err(sql)?,
            state: AlarmState::from_name(&state)
                .ok_or_else(|| bad_row(path, format!("unknown alarm state '{state}'")))?,
            value,
            current_value: value,
            activated: time(8)?,
            cleared: time(9)?,
            acknowledged,
            shelve,
            out_of_service,
        });
    }
    Ok(out)
}

/// Whether the alarm tables exist in an open database (for tools that share the file).
pub fn has_journal(conn: &Connection) -> Result<bool, rusqlite::Error> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarm_journal'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}
