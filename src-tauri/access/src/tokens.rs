//! Bearer tokens of the local API: made, listed and revoked by an admin (or by anyone while the plant
//! has no users, as with the first user), every change audited in the same transaction; checked by the
//! API on each request.
//!
//! A token is `pwt_` and 64 hex digits: 32 bytes from the operating system's random source. Only the
//! SHA-256 of its text is stored, and the token is returned once, to be shown once; it is never logged.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use plantwatch_core::Timestamp;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::audit::AuditAction;
use crate::users::{Change, Users};
use crate::{store, AccessError, User};

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "pwt_";
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenScope {
    /// Read the plant, values, history and alarms.
    Read,
    /// Everything `read` may, and writes (not served yet).
    Write,
}

impl TokenScope {
    /// Both scopes, in the order of their rights.
    pub const ALL: [TokenScope; 2] = [TokenScope::Read, TokenScope::Write];

    /// The word in the database, the CLI and the API: `read` or `write`.
    pub fn name(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    /// Whether a token of this scope may do what `needed` allows (write includes read).
    pub fn allows(self, needed: TokenScope) -> bool {
        self >= needed
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A word that names no scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token scope '{0}': use read or write")]
pub struct UnknownScope(pub String);

impl FromStr for TokenScope {
    type Err = UnknownScope;
    fn from_str(text: &str) -> Result<TokenScope, UnknownScope> {
        TokenScope::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| UnknownScope(text.to_string()))
    }
}

/// What a new token may do: read, or write as a user (whose role then applies to every write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenGrant {
    Read,
    Write { user: String },
}

impl TokenGrant {
    /// The grant for `scope`, acting as `user`: a write token needs one, a read token takes none.
    pub fn new(scope: TokenScope, user: Option<&str>) -> Result<TokenGrant, AccessError> {
        match (scope, user) {
            (TokenScope::Read, None) => Ok(TokenGrant::Read),
            (TokenScope::Read, Some(_)) => Err(AccessError::ReadTokenHasNoUser),
            (TokenScope::Write, Some(user)) => Ok(TokenGrant::Write {
                user: user.to_string(),
            }),
            (TokenScope::Write, None) => Err(AccessError::WriteTokenNeedsUser),
        }
    }

    pub fn scope(&self) -> TokenScope {
        match self {
            TokenGrant::Read => TokenScope::Read,
            TokenGrant::Write { .. } => TokenScope::Write,
        }
    }

    fn user(&self) -> Option<&str> {
        match self {
            TokenGrant::Read => None,
            TokenGrant::Write { user } => Some(user),
        }
    }
}

/// The user a write token acts as, with the role they have now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    pub name: String,
    /// `None` when the user has been removed since the token was made: the token may not write.
    pub role: Option<plantwatch_core::Role>,
}

/// A token as listed: never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub scope: TokenScope,
    pub created: Timestamp,
    /// `None`: never expires.
    pub expires: Option<Timestamp>,
    /// Who a write token acts as; `None` for read tokens.
    pub user: Option<TokenUser>,
}

/// A token's secret text, returned once by [`Users::add_token`]. Not `Display`, so it is not printed
/// by accident; [`Secret::reveal`] is the one way to show it.
pub struct Secret(String);

impl Secret {
    /// The token's text, to be shown once to the person who made it.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A token name: 1 to 64 letters, digits, `.`, `_` or `-` (as user names).
fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AccessError::BadTokenName(name.to_string()))
    }
}

/// The stored form of a token: SHA-256 of its text in hex.
fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut text = String::with_capacity(64);
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

fn new_secret() -> Result<Secret, AccessError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| AccessError::Random(e.to_string()))?;
    let mut text = String::with_capacity(TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
    text.push_str(TOKEN_PREFIX);
    for byte in bytes {
        text.push_str(&format!("{byte:02x}"));
    }
    Ok(Secret(text))
}

impl Users {
    /// While the plant has no users, anyone who may write its database may manage tokens (as with the
    /// first user); after that, only an admin.
    fn require_token_manager(
        &self,
        tx: &Connection,
        actor: &crate::users::Actor,
        action: &'static str,
    ) -> Result<(), AccessError> {
        if self.count(tx, None)? == 0 {
            return Ok(());
        }
        Users::require_admin(actor, action)
    }

    /// Makes a token named `name` with `grant`, valid for `valid_for` from now (`None`: until revoked).
    /// A write token's user must exist. Returns its text, which is not stored and cannot be shown again.
    pub fn add_token(
        &self,
        name: &str,
        grant: &TokenGrant,
        valid_for: Option<Duration>,
        by: Option<&User>,
    ) -> Result<Secret, AccessError> {
        let scope = grant.scope();
        let user = grant.user();
        check_name(name)?;
        let secret = new_secret()?;
        let created = Timestamp::now();
        let expires = valid_for.map(|d| Timestamp(created.0.saturating_add(d.as_millis() as i64)));
        let change = Change {
            action: AuditAction::TokenAdded,
            target: name.to_string(),
            old: None,
            requested: Some(match (expires, user) {
                (Some(at), None) => format!("{scope} until {at}"),
                (None, None) => scope.to_string(),
                (Some(at), Some(user)) => format!("{scope} as {user} until {at}"),
                (None, Some(user)) => format!("{scope} as {user}"),
            }),
        };
        let stored = hash(secret.reveal());
        self.change(by, change, |tx, actor| {
            self.require_token_manager(tx, actor, "adding an API token")?;
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM api_tokens WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(self.sql("reading a token"))?;
            if exists.is_some() {
                return Err(AccessError::TokenExists(name.to_string()));
            }
            if let Some(user) = user {
                if self.role_of(tx, user)?.is_none() {
                    return Err(AccessError::UnknownUser(user.to_string()));
                }
            }
            tx.execute(
                "INSERT INTO api_tokens (name, scope, hash, created, expires, user)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    name,
                    scope.name(),
                    stored,
                    created.0,
                    expires.map(|t| t.0),
                    user
                ],
            )
            .map_err(self.sql("adding a token"))?;
            Ok(())
        })?;
        Ok(secret)
    }

    /// Revokes (deletes) the token named `name`: from the next request on it is refused.
    pub fn revoke_token(&self, name: &str, by: Option<&User>) -> Result<(), AccessError> {
        let change = Change {
            action: AuditAction::TokenRevoked,
            target: name.to_string(),
            old: None,
            requested: None,
        };
        self.change(by, change, |tx, actor| {
            self.require_token_manager(tx, actor, "revoking an API token")?;
            let gone = tx
                .execute("DELETE FROM api_tokens WHERE name = ?1", [name])
                .map_err(self.sql("revoking a token"))?;
            if gone == 0 {
                return Err(AccessError::UnknownToken(name.to_string()));
            }
            Ok(())
        })
    }

    /// Every token, by name; never a hash.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, AccessError> {
        list(&self.lock(), self.path())
    }
}

fn list(conn: &Connection, path: &Path) -> Result<Vec<TokenInfo>, AccessError> {
    let sql = |source| AccessError::Sql {
        path: path.to_path_buf(),
        what: "listing tokens",
        source,
    };
    let mut stmt = conn
        .prepare(
            "SELECT t.name, t.scope, t.created, t.expires, t.user, u.role
             FROM api_tokens t LEFT JOIN access_users u ON u.name = t.user ORDER BY t.name",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, scope, created, expires, user, role) = row.map_err(sql)?;
        out.push(info(path, name, scope, created, expires, user, role)?);
    }
    Ok(out)
}

/// A token row read back, its words parsed.
fn info(
    path: &Path,
    name: String,
    scope: String,
    created: i64,
    expires: Option<i64>,
    user: Option<String>,
    role: Option<String>,
) -> Result<TokenInfo, AccessError> {
    let bad = |message: String| AccessError::BadRow {
        path: path.to_path_buf(),
        message: format!("token '{name}': {message}"),
    };
    let scope = scope
        .parse()
        .map_err(|e: UnknownScope| bad(e.to_string()))?;
    let role = match role {
        Some(role) => Some(
            role.parse::<plantwatch_core::Role>()
                .map_err(|e| bad(e.to_string()))?,
        ),
        None => None,
    };
    Ok(TokenInfo {
        scope,
        created: Timestamp(created),
        expires: expires.map(Timestamp),
        user: user.map(|name| TokenUser { name, role }),
        name,
    })
}

/// Why a presented token was refused. The API answers all of them alike (401), so a client cannot
/// probe which names exist; the distinction is for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not `pwt_` and 64 hex digits.
    Malformed,
    /// No stored token has this hash (never made, or revoked).
    Unknown,
    /// Past its expiry.
    Expired,
}

/// The API's view of the token table: checks a presented token. `Send + Sync`.
pub struct Tokens {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Tokens {
    /// Opens (creating if needed) the plant's database and brings the access tables up to date.
    pub fn open(db: &Path) -> Result<Tokens, AccessError> {
        Ok(Tokens {
            conn: Mutex::new(store::open_writable(db)?),
            path: db.to_path_buf(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token `text` stands for, if it is valid `now`.
    pub fn check(
        &self,
        text: &str,
        now: Timestamp,
    ) -> Result<Result<TokenInfo, TokenRefusal>, AccessError> {
        let well_formed = text.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
            hex.len() == 2 * TOKEN_BYTES && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !well_formed {
            return Ok(Err(TokenRefusal::Malformed));
        }
        let conn = self.lock();
        type Row = (
            String,
            String,
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let row: Option<Row> = conn
            .query_row(
                // The user's role is read with the token, so a changed role applies at once.
                "SELECT t.name, t.scope, t.created, t.expires, t.user, u.role
                 FROM api_tokens t LEFT JOIN access_users u ON u.name = t.user WHERE t.hash = ?1",
                [hash(text)],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    ))
                },
            )
            .optional()
            .map_err(|source| AccessError::Sql {
                path: self.path.clone(),
                what: "checking a token",
                source,
            })?;
        let Some((name, scope, created, expires, user, role)) = row else {
            return Ok(Err(TokenRefusal::Unknown));
        };
        let info = info(&self.path, name, scope, created, expires, user, role)?;
        if info.expires.is_some_and(|at| at <= now) {
            return Ok(Err(TokenRefusal::Expired));
        }
        Ok(Ok(info))
    }

    /// Every token, by name; never a hash.
    pub fn list(&self) -> Result<Vec<TokenInfo>, AccessError> {
        list(&self.lock(), &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_hex_and_differ() {
        let a = new_secret().expect("random");
        let b = new_secret().expect("random");
        assert!(a.reveal().starts_with("pwt_"));
        assert_eq!(a.reveal().len(), 4 + 64);
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(format!("{a:?}"), "Secret(..)", "never shown by Debug");
    }

    #[test]
    fn write_scope_includes_read() {
        assert!(TokenScope::Write.allows(TokenScope::Read));
        assert!(!TokenScope::Read.allows(TokenScope::Write));
        assert_eq!("read".parse(), Ok(TokenScope::Read));
        assert!("admin".parse::<TokenScope>().is_err());
    }
}
