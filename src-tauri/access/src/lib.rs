//! Who may act on the plant, and the record of what was done.
//!
//! [`Users`] keeps the plant's local users in its database (roles from [`plantwatch_core::Role`],
//! passwords as argon2id hashes, see [`password`]) and the idle lock time. [`AuditTrail`] is the one
//! append-only table of every write attempt, sign-in and sign-out, user change and alarm action, each
//! entry chained to the previous one by SHA-256 (the exact bytes are in [`chain`]) so editing, deleting or
//! reordering an entry is detected. Both live beside the history and the alarm journal in the plant's
//! `.db` file, as the `access` schema component.
//!
//! This crate never prints, and never holds a password longer than a call: a [`Password`] cannot be
//! displayed, and only its hash is stored.

pub mod audit;
pub mod chain;
mod error;
pub mod password;
mod store;
pub mod tokens;
pub mod users;

pub use audit::{outcome, AuditAction, AuditEntry, AuditTrail, ChainBroken, UnknownAction};
pub use error::AccessError;
pub use password::Password;
pub use store::COMPONENT;
pub use tokens::{
    Secret, TokenGrant, TokenInfo, TokenRefusal, TokenScope, TokenUser, Tokens, TOKEN_PREFIX,
};
pub use users::{format_idle_lock, User, UserInfo, Users, DEFAULT_IDLE_LOCK};
