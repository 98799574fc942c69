//! The `access` tables in the plant's database, and opening it for writing or reading.

use std::path::Path;
use std::time::Duration;

use plantwatch_history::schema;
use rusqlite::{Connection, OpenFlags};

use crate::AccessError;

/// The schema component name in `schema_version`.
pub const COMPONENT: &str = "access";

/// Migration steps of the access tables; append only.
const STEPS: &[&str] = &["
CREATE TABLE access_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,               -- viewer, operator, engineer, admin
    password_hash TEXT NOT NULL,      -- argon2id PHC string; never the password
    created INTEGER NOT NULL,         -- UTC milliseconds
    password_changed INTEGER NOT NULL
);
CREATE TABLE access_settings (
    key TEXT PRIMARY KEY,             -- idle_lock_s
    value INTEGER NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,           -- 1, 2, 3, ... without gaps; part of the hashed bytes
    time INTEGER NOT NULL,            -- UTC milliseconds
    user TEXT NOT NULL,               -- empty when nobody was signed in
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    old TEXT,
    requested TEXT,
    readback TEXT,
    result TEXT NOT NULL,
    comment TEXT,
    hash TEXT NOT NULL                -- SHA-256(previous hash || canonical bytes), 64 hex digits
);
CREATE INDEX audit_by_time ON audit (time);
-- The last entry appended, kept in the same transaction as each append, so removing entries from the
-- end of the trail (which leaves a valid chain behind) is detected too.
CREATE TABLE audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
", "
-- Bearer tokens of the local API. Only the SHA-256 of a token is kept: a token is 32 random bytes, so a
-- fast hash is as good as a slow one against guessing, and checking one per request stays cheap.
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL,              -- read, write
    hash TEXT NOT NULL UNIQUE,        -- SHA-256 of the token's text, 64 hex digits; never the token
    created INTEGER NOT NULL,         -- UTC milliseconds
    expires INTEGER                   -- UTC milliseconds; NULL: never
);
", "
-- The user a write token acts as (whose role applies to its writes); NULL for read tokens.
ALTER TABLE api_tokens ADD COLUMN user TEXT;
"];

/// How long a connection waits for another writer (a collector, a one-shot command) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn schema_error(path: &Path, message: String) -> AccessError {
    AccessError::Schema {
        path: path.to_path_buf(),
        message,
    }
}

/// Opens (creating if needed) the plant's database for writing and brings the access tables up to date.
pub fn open_writable(path: &Path) -> Result<Connection, AccessError> {
    let conn = schema::open_connection(path).map_err(|e| schema_error(path, e.to_string()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| schema_error(path, e.to_string()))?;
    schema::migrate(&conn, COMPONENT, STEPS).map_err(|e| schema_error(path, e.to_string()))?;
    Ok(conn)
}

/// Opens an existing database read-only. Returns the connection and whether it has the access tables
/// (a plant's database from before users existed has none). A missing file is an error; a file
/// written by a newer Plantwatch is refused.
pub fn open_read_only(path: &Path) -> Result<(Connection, bool), AccessError> {
    if !path.is_file() {
        return Err(AccessError::Missing {
            path: path.to_path_buf(),
        });
    }
    let sql = |source| AccessError::Sql {
        path: path.to_path_buf(),
        what: "opening read-only",
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    let found = schema::version(&conn, COMPONENT).map_err(sql)?;
    let supported = STEPS.len() as i64;
    if found > supported {
        let too_new = schema::SchemaError::TooNew {
            component: COMPONENT.to_string(),
            found,
            supported,
        };
        return Err(schema_error(path, too_new.to_string()));
    }
    Ok((conn, found > 0))
}
