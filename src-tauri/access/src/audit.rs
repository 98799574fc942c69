//! The audit trail: one append-only table of everything done to the plant and its users, each entry
//! chained to the one before it by SHA-256 (see [`crate::chain`] for the exact bytes), so that editing,
//! deleting or reordering an entry is detected by [`AuditTrail::verify`].
//!
//! Appends take an immediate transaction (the database's write lock) around reading the previous hash
//! and inserting, so several processes (a collector, a one-shot `plantwatch write`, `plantwatch users`)
//! can append to one trail and the chain stays one line. The table `audit_head` records the last entry in
//! the same transaction, which is how removing entries from the end is noticed.
//!
//! The chain has no secret key: it shows that the trail is as Plantwatch wrote it, against edits made with
//! an SQLite tool; someone who recomputes every hash after an edit can rewrite it whole. To catch that too,
//! keep the last hash `--verify` prints somewhere else (a printed shift report, another machine).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use plantwatch_core::{Role, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use crate::chain::{Fields, Hash, GENESIS};
use crate::{store, AccessError};

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A tag write attempt, allowed or not.
    Write,
    SignIn,
    SignInFailed,
    SignOut,
    UserAdded,
    UserRemoved,
    PasswordChanged,
    RoleChanged,
    IdleLockChanged,
    AlarmAcknowledged,
    AlarmShelved,
    AlarmUnshelved,
    AlarmOutOfService,
    AlarmInService,
    /// The plant file was changed from the window (a tag promoted in the workbench, a tag list imported).
    PlantFileChanged,
    /// An API token was made (`plantwatch tokens add`); the target is its name, `requested` its scope.
    TokenAdded,
    /// An API token was revoked (`plantwatch tokens revoke`).
    TokenRevoked,
}

impl AuditAction {
    pub const ALL: [AuditAction; 17] = [
        AuditAction::Write,
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignOut,
        AuditAction::UserAdded,
        AuditAction::UserRemoved,
        AuditAction::PasswordChanged,
        AuditAction::RoleChanged,
        AuditAction::IdleLockChanged,
        AuditAction::AlarmAcknowledged,
        AuditAction::AlarmShelved,
        AuditAction::AlarmUnshelved,
        AuditAction::AlarmOutOfService,
        AuditAction::AlarmInService,
        AuditAction::PlantFileChanged,
        AuditAction::TokenAdded,
        AuditAction::TokenRevoked,
    ];

    /// The spelling in the database and the output: snake_case words such as `sign_in_failed`.
    pub fn name(self) -> &'static str {
        match self {
            AuditAction::Write => "write",
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::SignOut => "sign_out",
            AuditAction::UserAdded => "user_added",
            AuditAction::UserRemoved => "user_removed",
            AuditAction::PasswordChanged => "password_changed",
            AuditAction::RoleChanged => "role_changed",
            AuditAction::IdleLockChanged => "idle_lock_changed",
            AuditAction::AlarmAcknowledged => "alarm_acknowledged",
            AuditAction::AlarmShelved => "alarm_shelved",
            AuditAction::AlarmUnshelved => "alarm_unshelved",
            AuditAction::AlarmOutOfService => "alarm_out_of_service",
            AuditAction::AlarmInService => "alarm_in_service",
            AuditAction::PlantFileChanged => "plant_file_changed",
            AuditAction::TokenAdded => "token_added",
            AuditAction::TokenRevoked => "token_revoked",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A word that names no audit action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action '{0}'")]
pub struct UnknownAction(pub String);

impl FromStr for AuditAction {
    type Err = UnknownAction;
    fn from_str(text: &str) -> Result<AuditAction, UnknownAction> {
        AuditAction::ALL
            .into_iter()
            .find(|a| a.name() == text)
            .ok_or_else(|| UnknownAction(text.to_string()))
    }
}

/// The `result` words the users' store writes. Writes have their own (the engine's write path).
pub mod outcome {
    /// The action was done.
    pub const OK: &str = "ok";
    /// The acting user's role does not allow it (or it would remove the last admin).
    pub const DENIED: &str = "denied";
    /// The action was allowed but could not be done (the user exists already, is unknown, ...).
    pub const REFUSED: &str = "refused";
    pub const WRONG_PASSWORD: &str = "wrong_password";
    pub const UNKNOWN_USER: &str = "unknown_user";
    pub const NO_USERS: &str = "no_users";
}

/// One entry of the trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub time: Timestamp,
    /// Who acted; empty when nobody was signed in. For a failed sign-in, the name that was typed.
    pub user: String,
    /// The acting user's role at the time (viewer when nobody was signed in).
    pub role: Role,
    pub action: AuditAction,
    /// What was acted on: a tag's full id, a user's name, an alarm's key, a setting's name.
    pub target: String,
    /// The value before (a tag's last reading, a user's old role).
    pub old: Option<String>,
    /// The value asked for.
    pub requested: Option<String>,
    /// The value read back after a write.
    pub readback: Option<String>,
    /// How it ended: `ok`, `denied`, ... (see [`outcome`]) or the write path's words.
    pub result: String,
    /// The user's comment, or the reason of a refusal.
    pub comment: Option<String>,
}

impl AuditEntry {
    /// An entry with no old, requested or read-back value and no comment.
    pub fn new(
        time: Timestamp,
        user: &str,
        role: Role,
        action: AuditAction,
        target: &str,
        result: &str,
    ) -> AuditEntry {
        AuditEntry {
            time,
            user: user.to_string(),
            role,
            action,
            target: target.to_string(),
            old: None,
            requested: None,
            readback: None,
            result: result.to_string(),
            comment: None,
        }
    }

    fn fields(&self, id: i64) -> Fields<'_> {
        Fields {
            id,
            time: self.time.0,
            user: &self.user,
            role: self.role.name(),
            action: self.action.name(),
            target: &self.target,
            old: self.old.as_deref(),
            requested: self.requested.as_deref(),
            readback: self.readback.as_deref(),
            result: &self.result,
            comment: self.comment.as_deref(),
        }
    }
}

/// Where and how the chain is broken: the first entry found wrong, walking from the first.
#[derive(Debug, thiserror::Error)]
pub enum ChainBroken {
    /// The entry's content is not what its hash was made over: it was edited, or it was moved from
    /// another place in the trail (its id and its predecessor are hashed too).
    #[error("entry {id} does not match its hash: it was edited, or moved from another place in the trail")]
    Altered { id: i64 },
    /// An entry is missing: the ids jump over it, or the trail ends before the last entry recorded.
    #[error("entry {id} is missing: {}", match next {
        Some(next) => format!("the trail goes on at entry {next}"),
        None => format!("the trail ends at entry {}, but entries up to {head} were appended", id - 1),
    })]
    Missing {
        id: i64,
        next: Option<i64>,
        head: i64,
    },
    /// An entry beyond the last one Plantwatch recorded appending: added by something else.
    #[error("entry {id} was not appended by Plantwatch (the last one it appended is {head})")]
    Unrecorded { id: i64, head: i64 },
    /// The record of the last entry appended is gone or does not match the last entry.
    #[error("the record of the last entry appended does not match entry {id}")]
    HeadAltered { id: i64 },
    /// The trail could not be read, so it cannot be vouched for.
    #[error("the audit trail cannot be read: {0}")]
    Unreadable(#[from] AccessError),
}

impl ChainBroken {
    /// The entry named, when the break is at an entry.
    pub fn entry(&self) -> Option<i64> {
        match self {
            ChainBroken::Altered { id }
            | ChainBroken::Missing { id, .. }
            | ChainBroken::Unrecorded { id, .. }
            | ChainBroken::HeadAltered { id } => Some(*id),
            ChainBroken::Unreadable(_) => None,
        }
    }
}

/// The plant's audit trail. `Send + Sync`: one connection behind a mutex, so the desktop and the engine
/// may share one trail between threads.
pub struct AuditTrail {
    conn: Mutex<Connection>,
    path: PathBuf,
    writable: bool,
    /// False when a read-only trail was opened on a database without the access tables.
    has_tables: bool,
}

const COLUMNS: &str =
    "id, time, user, role, action, target, old, requested, readback, result, comment, hash";

impl AuditTrail {
    /// Opens (creating if needed) the plant's database for appending.
    pub fn open(db: &Path) -> Result<AuditTrail, AccessError> {
        Ok(AuditTrail {
            conn: Mutex::new(store::open_writable(db)?),
            path: db.to_path_buf(),
            writable: true,
            has_tables: true,
        })
    }

    /// Opens an existing database for reading and verifying only. A database without the access tables
    /// reads as an empty trail.
    pub fn open_read_only(db: &Path) -> Result<AuditTrail, AccessError> {
        let (conn, has_tables) = store::open_read_only(db)?;
        Ok(AuditTrail {
            conn: Mutex::new(conn),
            path: db.to_path_buf(),
            writable: false,
            has_tables,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction (it rolls back on drop).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one entry and returns its id.
    pub fn append(&self, entry: &AuditEntry) -> Result<i64, AccessError> {
        if !self.writable {
            return Err(AccessError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let conn = self.lock();
        let sql = sql_error(&self.path, "appending to the audit trail");
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)
            .map_err(&sql)?;
        let id = append_in(&tx, &self.path, entry)?;
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    /// Calls `f` with every entry whose time is in `[from, to)` (either end open), in the order they were
    /// appended. Returns how many there were.
    pub fn for_each(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        mut f: impl FnMut(i64, AuditEntry),
    ) -> Result<u64, AccessError> {
        if !self.has_tables {
            return Ok(0);
        }
        let conn = self.lock();
        let sql = sql_error(&self.path, "reading the audit trail");
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM audit WHERE time >= ?1 AND time < ?2 ORDER BY id"
            ))
            .map_err(&sql)?;
        let from = from.map_or(i64::MIN, |t| t.0);
        let to = to.map_or(i64::MAX, |t| t.0);
        let mut rows = stmt.query([from, to]).map_err(&sql)?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(&sql)? {
            let raw = RawRow::read(row).map_err(&sql)?;
            f(raw.id, raw.entry(&self.path)?);
            n += 1;
        }
        Ok(n)
    }

    /// Every entry whose time is in `[from, to)`, with its id, in the order appended.
    pub fn entries(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<(i64, AuditEntry)>, AccessError> {
        let mut out = Vec::new();
        self.for_each(from, to, |id, entry| out.push((id, entry)))?;
        Ok(out)
    }

    /// Walks the whole trail from the first entry, recomputing every hash, and returns how many entries
    /// it holds, or the first place where it is broken.
    pub fn verify(&self) -> Result<usize, ChainBroken> {
        Ok(self.verify_with_head()?.0)
    }

    /// Like [`verify`](Self::verify), also returning the last entry's id and hash (`None` for an empty
    /// trail), to be noted elsewhere.
    pub fn verify_with_head(&self) -> Result<(usize, Option<(i64, String)>), ChainBroken> {
        if !self.has_tables {
            return Ok((0, None));
        }
        let conn = self.lock();
        let sql = sql_error(&self.path, "verifying the audit trail");
        let head = read_head(&conn).map_err(&sql)?;
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))
            .map_err(&sql)?;
        let mut rows = stmt.query([]).map_err(&sql)?;
        let head_id = head.as_ref().map_or(0, |(id, _)| *id);
        let mut previous = GENESIS;
        let mut count = 0usize;
        let mut last_hex = None;
        let mut expected_id = 1i64;
        while let Some(row) = rows.next().map_err(&sql)? {
            let raw = RawRow::read(row).map_err(&sql)?;
            // Past the last entry recorded as appended, any row was added by something else; before it, a
            // jump in the ids is an entry removed (or moved to another id).
            let beyond_head = head.is_some() && raw.id > head_id;
            if beyond_head && expected_id > head_id {
                return Err(ChainBroken::Unrecorded {
                    id: raw.id,
                    head: head_id,
                });
            }
            if raw.id != expected_id {
                return Err(ChainBroken::Missing {
                    id: expected_id,
                    next: Some(raw.id),
                    head: head_id,
                });
            }
            let stored = Hash::from_hex(&raw.hash).ok_or(ChainBroken::Altered { id: raw.id })?;
            if raw.fields().hash(previous) != stored {
                return Err(ChainBroken::Altered { id: raw.id });
            }
            previous = stored;
            count += 1;
            expected_id += 1;
            last_hex = Some(raw.hash);
        }
        let last_id = expected_id - 1;
        match head {
            None if last_id == 0 => Ok((0, None)),
            None => Err(ChainBroken::HeadAltered { id: last_id }),
            Some((id, _)) if id > last_id => Err(ChainBroken::Missing {
                id: last_id + 1,
                next: None,
                head: id,
            }),
            Some((_, hash)) if Some(&hash) != last_hex.as_ref() => {
                Err(ChainBroken::HeadAltered { id: last_id })
            }
            Some(_) => Ok((count, last_hex.map(|hex| (last_id, hex)))),
        }
    }
}

fn sql_error<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl Fn(rusqlite::Error) -> AccessError + 'a {
    move |source| AccessError::Sql {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn read_head(conn: &Connection) -> Result<Option<(i64, String)>, rusqlite::Error> {
    conn.query_row(
        "SELECT last_id, last_hash FROM audit_head WHERE one = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
}

/// Appends `entry` inside a transaction the caller holds (an immediate one, so no other process can
/// append between reading the head and writing it). The users' store calls this in the transaction that
/// makes the change, so a change and its entry are stored together or not at all.
pub(crate) fn append_in(
    conn: &Connection,
    path: &Path,
    entry: &AuditEntry,
) -> Result<i64, AccessError> {
    let sql = sql_error(path, "appending to the audit trail");
    // The head, not the last row, gives the previous link: if rows were removed from the end, the new
    // entry still follows the last one appended and the gap stays visible.
    let head = match read_head(conn).map_err(&sql)? {
        Some(head) => Some(head),
        None => conn
            .query_row(
                "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(&sql)?,
    };
    let (previous_id, previous) = match head {
        // An unreadable previous hash chains from zeros; verify reports the entry that holds it.
        Some((id, hex)) => (id, Hash::from_hex(&hex).unwrap_or(GENESIS)),
        None => (0, GENESIS),
    };
    let id = previous_id + 1;
    let hash = entry.fields(id).hash(previous).to_hex();
    conn.execute(
        &format!("INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        rusqlite::params![
            id,
            entry.time.0,
            entry.user,
            entry.role.name(),
            entry.action.name(),
            entry.target,
            entry.old,
            entry.requested,
            entry.readback,
            entry.result,
            entry.comment,
            hash,
        ],
    )
    .map_err(&sql)?;
    conn.execute(
        "INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, ?1, ?2)
         ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash",
        rusqlite::params![id, hash],
    )
    .map_err(&sql)?;
    Ok(id)
}

/// A row as stored, before its role and action are parsed: what verification hashes.
struct RawRow {
    id: i64,
    time: i64,
    user: String,
    role: String,
    action: String,
    target: String,
    old: Option<String>,
    requested: Option<String>,
    readback: Option<String>,
    result: String,
    comment: Option<String>,
    hash: String,
}

impl RawRow {
    fn read(row: &Row<'_>) -> Result<RawRow, rusqlite::Error> {
        Ok(RawRow {
            id: row.get(0)?,
            time: row.get(1)?,
            user: row.get(2)?,
            role: row.get(3)?,
            action: row.get(4)?,
            target: row.get(5)?,
            old: row.get(6)?,
            requested: row.get(7)?,
            readback: row.get(8)?,
            result: row.get(9)?,
            comment: row.get(10)?,
            hash: row.get(11)?,
        })
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            id: self.id,
            time: self.time,
            user: &self.user,
            role: &self.role,
            action: &self.action,
            target: &self.target,
            old: self.old.as_deref(),
            requested: self.requested.as_deref(),
            readback: self.readback.as_deref(),
            result: &self.result,
            comment: self.comment.as_deref(),
        }
    }

    fn entry(self, path: &Path) -> Result<AuditEntry, AccessError> {
        let bad = |message: String| AccessError::BadRow {
            path: path.to_path_buf(),
            message: format!("audit entry {}: {message}", self.id),
        };
        let role = self.role.parse::<Role>().map_err(|e| bad(e.to_string()))?;
        let action = self
            .action
            .parse::<AuditAction>()
            .map_err(|e| bad(e.to_string()))?;
        Ok(AuditEntry {
            time: Timestamp(self.time),
            user: self.user,
            role,
            action,
            target: self.target,
            old: self.old,
            requested: self.requested,
            readback: self.readback,
            result: self.result,
            comment: self.comment,
        })
    }
}
