//! What can go wrong with users and the audit trail. Refusals (a wrong password, a role too low, the last
//! admin) are kept apart from database failures, so a caller can tell "you may not" from "it broke".

use std::path::PathBuf;

use plantwatch_core::Role;

/// A user or audit-trail error.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// A name that cannot be a user name.
    #[error("invalid user name '{0}': use 1 to 64 letters, digits, '.', '_' or '-'")]
    BadName(String),
    /// A password the plant will not accept.
    #[error("the password {0}")]
    BadPassword(&'static str),
    /// The plant has no users yet, so nobody can sign in.
    #[error("this plant has no users yet: add the first one, an admin, with `plantwatch users --db FILE add NAME --role admin`")]
    NoUsers,
    /// The first user made must be an admin, so someone can manage the others.
    #[error("the first user must be an admin (--role admin), so that someone can manage users")]
    FirstUserMustBeAdmin,
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    #[error("user '{0}' already exists")]
    UserExists(String),
    #[error("wrong password for user '{0}'")]
    WrongPassword(String),
    /// The acting user's role does not allow the action.
    #[error("{action} needs {needed}; {}", match who {
        Some(who) => format!("'{who}' is {role}"),
        None => "nobody is signed in".to_string(),
    })]
    Denied {
        action: &'static str,
        needed: &'static str,
        /// The acting user, `None` when nobody is signed in.
        who: Option<String>,
        role: Role,
    },
    /// Removing or demoting the last admin would leave nobody able to manage users.
    #[error("'{0}' is the last admin: add another admin first")]
    LastAdmin(String),
    /// An idle lock time outside the allowed range.
    #[error("idle lock {0}: allowed from 1 minute to 24 hours")]
    BadIdleLock(String),
    /// A reader was pointed at a database that does not exist (readers never create one).
    #[error("database {}: no such file", path.display())]
    Missing { path: PathBuf },
    /// The database could not be opened, or its access tables created, or they are too new.
    #[error("database {}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    /// A statement failed.
    #[error("database {}: {what}: {source}", path.display())]
    Sql {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored row holds something this version cannot read back (an unknown role or action).
    #[error("database {}: {message}", path.display())]
    BadRow { path: PathBuf, message: String },
    /// The password hash could not be computed (argon2 refused its parameters or ran out of memory).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// A name that cannot be a token name.
    #[error("invalid token name '{0}': use 1 to 64 letters, digits, '.', '_' or '-'")]
    BadTokenName(String),
    #[error("token '{0}' already exists (revoke it first to replace it)")]
    TokenExists(String),
    #[error("unknown token '{0}'")]
    UnknownToken(String),
    #[error(
        "a write token acts as a user: give --user NAME (the user's role applies to its writes)"
    )]
    WriteTokenNeedsUser,
    #[error("a read token acts as no user: --user is for --scope write")]
    ReadTokenHasNoUser,
    /// The operating system's random source failed.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// A trail opened read-only was asked to append.
    #[error("the audit trail of {} was opened read-only", path.display())]
    ReadOnly { path: PathBuf },
}

impl AccessError {
    /// True for refusals and bad input (exit code 2 on the command line); false for failures of the
    /// database or the machine (exit code 1).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            AccessError::Missing { .. }
                | AccessError::Schema { .. }
                | AccessError::Sql { .. }
                | AccessError::BadRow { .. }
                | AccessError::Hashing(_)
                | AccessError::Random(_)
                | AccessError::ReadOnly { .. }
        )
    }
}
