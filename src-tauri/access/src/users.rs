//! Local users of a plant, kept in its database: names, roles, argon2id password hashes, and the idle
//! lock time.
//!
//! Who may change users: while the plant has none, anyone may add the first user, who must be an admin.
//! From then on only a signed-in admin may add, remove or change the role of users and set the idle lock;
//! a user may change their own password, an admin anyone's. Removing or demoting the last admin is
//! refused. Every change and every refusal of one goes into the audit trail in the same transaction as the
//! change, so a change is never stored without its entry.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use plantwatch_core::{Role, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::audit::{append_in, outcome, AuditAction, AuditEntry};
use crate::password::{self, Password};
use crate::{store, AccessError};

/// The idle lock time when the admin has set none.
pub const DEFAULT_IDLE_LOCK: Duration = Duration::from_secs(15 * 60);
/// The shortest idle lock an admin may set.
pub const MIN_IDLE_LOCK: Duration = Duration::from_secs(60);
/// The longest idle lock an admin may set.
pub const MAX_IDLE_LOCK: Duration = Duration::from_secs(24 * 3600);

/// A signed-in user. Only [`Users::sign_in`] should make one; the store re-reads the role from the
/// database before anything the user does, so a user removed or demoted meanwhile cannot act on an old
/// `User`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// A user as listed: no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub created: Timestamp,
    pub password_changed: Timestamp,
}

/// The plant's users. `Send + Sync`.
pub struct Users {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// Who is acting, as the database knows them now: nobody (a viewer), or a named user.
pub(crate) struct Actor {
    name: Option<String>,
    role: Role,
}

impl Actor {
    /// The name in the audit trail: empty for nobody.
    fn audit_name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    fn is(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }
}

/// The audit entry a change makes, before its result is known.
pub(crate) struct Change {
    pub action: AuditAction,
    pub target: String,
    pub old: Option<String>,
    pub requested: Option<String>,
}

/// A user name: 1 to 64 letters, digits, `.`, `_` or `-`.
fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AccessError::BadName(name.to_string()))
    }
}

/// An idle lock as people write it: `15m`, `1h30m`, `90s`.
pub fn format_idle_lock(time: Duration) -> String {
    let s = time.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut text = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    text
}

impl Users {
    /// Opens (creating if needed) the plant's database and brings the access tables up to date.
    pub fn open(db: &Path) -> Result<Users, AccessError> {
        Ok(Users {
            conn: Mutex::new(store::open_writable(db)?),
            path: db.to_path_buf(),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn sql(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> AccessError + '_ {
        move |source| AccessError::Sql {
            path: self.path.clone(),
            what,
            source,
        }
    }

    pub(crate) fn role_of(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<Option<Role>, AccessError> {
        let text: Option<String> = conn
            .query_row(
                "SELECT role FROM access_users WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.sql("reading a user"))?;
        text.map(|t| {
            t.parse::<Role>().map_err(|e| AccessError::BadRow {
                path: self.path.clone(),
                message: format!("user '{name}': {e}"),
            })
        })
        .transpose()
    }

    pub(crate) fn count(&self, conn: &Connection, role: Option<Role>) -> Result<i64, AccessError> {
        let sql = self.sql("counting users");
        match role {
            None => conn.query_row("SELECT COUNT(*) FROM access_users", [], |r| r.get(0)),
            Some(role) => conn.query_row(
                "SELECT COUNT(*) FROM access_users WHERE role = ?1",
                [role.name()],
                |r| r.get(0),
            ),
        }
        .map_err(sql)
    }

    /// The acting user as stored now (a user no longer stored acts as a viewer).
    fn actor(&self, conn: &Connection, by: Option<&User>) -> Result<Actor, AccessError> {
        Ok(match by {
            None => Actor {
                name: None,
                role: Role::Viewer,
            },
            Some(user) => Actor {
                name: Some(user.name.clone()),
                role: self.role_of(conn, &user.name)?.unwrap_or(Role::Viewer),
            },
        })
    }

    /// Runs `decide` (which checks and applies the change) in one immediate transaction, and appends the
    /// change's audit entry with its outcome. A refusal is audited and committed too, then returned;
    /// a database failure rolls everything back.
    pub(crate) fn change<T>(
        &self,
        by: Option<&User>,
        change: Change,
        decide: impl FnOnce(&Transaction<'_>, &Actor) -> Result<T, AccessError>,
    ) -> Result<T, AccessError> {
        let conn = self.lock();
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)
            .map_err(self.sql("starting a user change"))?;
        let actor = self.actor(&tx, by)?;
        let result = decide(&tx, &actor);
        let (word, comment) = match &result {
            Ok(_) => (outcome::OK, None),
            Err(e) if !e.is_refusal() => return result,
            Err(
                e @ (AccessError::Denied { .. }
                | AccessError::LastAdmin(_)
                | AccessError::FirstUserMustBeAdmin),
            ) => (outcome::DENIED, Some(e.to_string())),
            Err(e) => (outcome::REFUSED, Some(e.to_string())),
        };
        let mut entry = AuditEntry::new(
            Timestamp::now(),
            actor.audit_name(),
            actor.role,
            change.action,
            &change.target,
            word,
        );
        entry.old = change.old;
        entry.requested = change.requested;
        entry.comment = comment;
        append_in(&tx, &self.path, &entry)?;
        tx.commit().map_err(self.sql("committing a user change"))?;
        result
    }

    pub(crate) fn require_admin(actor: &Actor, action: &'static str) -> Result<(), AccessError> {
        if actor.role.allows(Role::Admin) {
            return Ok(());
        }
        Err(AccessError::Denied {
            action,
            needed: "an admin",
            who: actor.name.clone(),
            role: actor.role,
        })
    }

    /// Adds a user. The first user of a plant must be an admin and needs nobody signed in; after that
    /// `by` must be an admin.
    pub fn add(
        &self,
        name: &str,
        role: Role,
        password: &Password,
        by: Option<&User>,
    ) -> Result<(), AccessError> {
        check_name(name)?;
        password.check_new()?;
        // Hash before taking the write lock: it takes a good part of a second.
        let hash = password::hash(password)?;
        let change = Change {
            action: AuditAction::UserAdded,
            target: name.to_string(),
            old: None,
            requested: Some(role.name().to_string()),
        };
        self.change(by, change, |tx, actor| {
            if self.count(tx, None)? == 0 {
                if role != Role::Admin {
                    return Err(AccessError::FirstUserMustBeAdmin);
                }
            } else {
                Self::require_admin(actor, "adding a user")?;
            }
            if self.role_of(tx, name)?.is_some() {
                return Err(AccessError::UserExists(name.to_string()));
            }
            let now = Timestamp::now().0;
            tx.execute(
                "INSERT INTO access_users (name, role, password_hash, created, password_changed)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                rusqlite::params![name, role.name(), hash, now],
            )
            .map_err(self.sql("adding a user"))?;
            Ok(())
        })
    }

    /// Changes a user's password: the user themself or an admin.
    pub fn passwd(
        &self,
        name: &str,
        password: &Password,
        by: Option<&User>,
    ) -> Result<(), AccessError> {
        password.check_new()?;
        let hash = password::hash(password)?;
        let change = Change {
            action: AuditAction::PasswordChanged,
            target: name.to_string(),
            old: None,
            requested: None,
        };
        self.change(by, change, |tx, actor| {
            let exists = self.role_of(tx, name)?.is_some();
            if !(actor.is(name) && exists) {
                Self::require_admin(actor, "changing another user's password")?;
            }
            if !exists {
                return Err(AccessError::UnknownUser(name.to_string()));
            }
            tx.execute(
                "UPDATE access_users SET password_hash = ?2, password_changed = ?3 WHERE name = ?1",
                rusqlite::params![name, hash, Timestamp::now().0],
            )
            .map_err(self.sql("changing a password"))?;
            Ok(())
        })
    }

    /// Changes a user's role (admin only); demoting the last admin is refused.
    pub fn set_role(&self, name: &str, role: Role, by: Option<&User>) -> Result<(), AccessError> {
        let old = self.role_of(&self.lock(), name)?;
        let change = Change {
            action: AuditAction::RoleChanged,
            target: name.to_string(),
            old: old.map(|r| r.name().to_string()),
            requested: Some(role.name().to_string()),
        };
        self.change(by, change, |tx, actor| {
            Self::require_admin(actor, "changing a user's role")?;
            let old = self
                .role_of(tx, name)?
                .ok_or_else(|| AccessError::UnknownUser(name.to_string()))?;
            if old == Role::Admin && role != Role::Admin && self.count(tx, Some(Role::Admin))? <= 1
            {
                return Err(AccessError::LastAdmin(name.to_string()));
            }
            tx.execute(
                "UPDATE access_users SET role = ?2 WHERE name = ?1",
                rusqlite::params![name, role.name()],
            )
            .map_err(self.sql("changing a role"))?;
            Ok(())
        })
    }

    /// Removes a user (admin only); removing the last admin is refused.
    pub fn remove(&self, name: &str, by: Option<&User>) -> Result<(), AccessError> {
        let old = self.role_of(&self.lock(), name)?;
        let change = Change {
            action: AuditAction::UserRemoved,
            target: name.to_string(),
            old: old.map(|r| r.name().to_string()),
            requested: None,
        };
        self.change(by, change, |tx, actor| {
            Self::require_admin(actor, "removing a user")?;
            let role = self
                .role_of(tx, name)?
                .ok_or_else(|| AccessError::UnknownUser(name.to_string()))?;
            if role == Role::Admin && self.count(tx, Some(Role::Admin))? <= 1 {
                return Err(AccessError::LastAdmin(name.to_string()));
            }
            tx.execute("DELETE FROM access_users WHERE name = ?1", [name])
                .map_err(self.sql("removing a user"))?;
            Ok(())
        })
    }

    /// Every user, by name.
    pub fn list(&self) -> Result<Vec<UserInfo>, AccessError> {
        let conn = self.lock();
        let sql = self.sql("listing users");
        let mut stmt = conn
            .prepare("SELECT name, role, created, password_changed FROM access_users ORDER BY name")
            .map_err(&sql)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .map_err(&sql)?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, created, changed) = row.map_err(&sql)?;
            let role = role.parse::<Role>().map_err(|e| AccessError::BadRow {
                path: self.path.clone(),
                message: format!("user '{name}': {e}"),
            })?;
            out.push(UserInfo {
                name,
                role,
                created: Timestamp(created),
                password_changed: Timestamp(changed),
            });
        }
        Ok(out)
    }

    /// True while the plant has no users: alarms take a typed name, and nothing may be written.
    pub fn is_empty(&self) -> Result<bool, AccessError> {
        Ok(self.count(&self.lock(), None)? == 0)
    }

    /// Checks a name and password and returns the signed-in user. Audits the sign-in, or the failed
    /// attempt with the name that was typed.
    pub fn sign_in(&self, name: &str, password: &Password) -> Result<User, AccessError> {
        let stored = {
            let conn = self.lock();
            let users = self.count(&conn, None)?;
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT role, password_hash FROM access_users WHERE name = ?1",
                    [name],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(self.sql("reading a user"))?;
            (users, row)
        };
        // Verify without holding the connection: it takes a good part of a second.
        let verdict = match stored {
            (0, _) => Err(AccessError::NoUsers),
            (_, None) => {
                password::waste_a_verification(password);
                Err(AccessError::UnknownUser(name.to_string()))
            }
            (_, Some((role, hash))) => {
                let role = role.parse::<Role>().map_err(|e| AccessError::BadRow {
                    path: self.path.clone(),
                    message: format!("user '{name}': {e}"),
                })?;
                if password::matches(password, &hash)? {
                    Ok(User {
                        name: name.to_string(),
                        role,
                    })
                } else {
                    Err(AccessError::WrongPassword(name.to_string()))
                }
            }
        };
        let (action, role, word) = match &verdict {
            Ok(user) => (AuditAction::SignIn, user.role, outcome::OK),
            Err(AccessError::NoUsers) => {
                (AuditAction::SignInFailed, Role::Viewer, outcome::NO_USERS)
            }
            Err(AccessError::UnknownUser(_)) => (
                AuditAction::SignInFailed,
                Role::Viewer,
                outcome::UNKNOWN_USER,
            ),
            Err(_) => (
                AuditAction::SignInFailed,
                Role::Viewer,
                outcome::WRONG_PASSWORD,
            ),
        };
        self.audit(AuditEntry::new(
            Timestamp::now(),
            name,
            role,
            action,
            name,
            word,
        ))?;
        verdict
    }

    /// Audits a sign-out.
    pub fn sign_out(&self, user: &User) -> Result<(), AccessError> {
        self.sign_out_with(user, None)
    }

    /// Audits a sign-out with its reason as the comment (such as the idle lock).
    pub fn sign_out_with(&self, user: &User, comment: Option<&str>) -> Result<(), AccessError> {
        let mut entry = AuditEntry::new(
            Timestamp::now(),
            &user.name,
            user.role,
            AuditAction::SignOut,
            &user.name,
            outcome::OK,
        );
        entry.comment = comment.map(str::to_string);
        self.audit(entry)
    }

    fn audit(&self, entry: AuditEntry) -> Result<(), AccessError> {
        let conn = self.lock();
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)
            .map_err(self.sql("appending to the audit trail"))?;
        append_in(&tx, &self.path, &entry)?;
        tx.commit()
            .map_err(self.sql("appending to the audit trail"))
    }

    /// How long the desktop waits without input before it signs the user out.
    pub fn idle_lock(&self) -> Result<Duration, AccessError> {
        let seconds: Option<i64> = self
            .lock()
            .query_row(
                "SELECT value FROM access_settings WHERE key = 'idle_lock_s'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.sql("reading the idle lock"))?;
        Ok(seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(DEFAULT_IDLE_LOCK, Duration::from_secs))
    }

    /// Sets the idle lock (admin only), from 1 minute to 24 hours, in whole seconds.
    pub fn set_idle_lock(&self, time: Duration, by: Option<&User>) -> Result<(), AccessError> {
        if !(MIN_IDLE_LOCK..=MAX_IDLE_LOCK).contains(&time) {
            return Err(AccessError::BadIdleLock(format_idle_lock(time)));
        }
        let old = self.idle_lock()?;
        let change = Change {
            action: AuditAction::IdleLockChanged,
            target: "idle_lock".to_string(),
            old: Some(format_idle_lock(old)),
            requested: Some(format_idle_lock(time)),
        };
        self.change(by, change, |tx, actor| {
            Self::require_admin(actor, "setting the idle lock")?;
            tx.execute(
                "INSERT INTO access_settings (key, value) VALUES ('idle_lock_s', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [time.as_secs() as i64],
            )
            .map_err(self.sql("setting the idle lock"))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_locks_read_as_people_write_them() {
        assert_eq!(format_idle_lock(Duration::from_secs(900)), "15m");
        assert_eq!(format_idle_lock(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_idle_lock(Duration::from_secs(86_400)), "24h");
        assert_eq!(format_idle_lock(Duration::from_secs(61)), "1m1s");
        assert_eq!(format_idle_lock(Duration::from_millis(500)), "0s");
    }

    #[test]
    fn user_names_are_short_words() {
        for good in ["ada", "olga.k", "shift_2", "Jürgen", "a-b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "ada lovelace", "x,y", "a/b", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
