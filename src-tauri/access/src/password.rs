//! Passwords: a type that never shows itself, and their argon2id hashes.
//!
//! Hashes are argon2id (RFC 9106), version 0x13, with **64 MiB of memory, 3 passes and 1 lane**, a 16-byte
//! random salt from the operating system and a 32-byte output: RFC 9106's second recommended setting
//! for machines short of memory, above OWASP's minimum (19 MiB, 2 passes). One hash costs 64 MiB for a
//! moment and, on a CPU core of its own, a fraction of a second (0.7 s measured on a 2-core machine
//! shared by some 16 busy processes): nothing for a sign-in, a great deal for someone guessing.
//! Each hash is stored as a PHC string (`$argon2id$v=19$m=65536,t=3,p=1$SALT$HASH`) that carries its own
//! parameters, so they can be raised later without making the stored hashes unreadable.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::AccessError;

/// Memory cost in KiB (64 MiB).
pub const MEMORY_KIB: u32 = 64 * 1024;
/// Passes over the memory.
pub const PASSES: u32 = 3;
/// Lanes (degree of parallelism).
pub const LANES: u32 = 1;
/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 8;
/// The longest password accepted, in bytes (far beyond any typed one; bounds the work of a hash).
pub const MAX_BYTES: usize = 1024;

/// A password as typed. It has no `Display`, and its `Debug` prints `Password(***)`, so it cannot end
/// up in a log or a message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a typed password (not checked: sign-in takes whatever was typed).
    pub fn new(text: impl Into<String>) -> Password {
        Password(text.into())
    }

    /// The password's text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks the rules for a new password: at least [`MIN_CHARS`] characters, at most [`MAX_BYTES`]
    /// bytes, no control characters.
    pub fn check_new(&self) -> Result<(), AccessError> {
        if self.0.chars().count() < MIN_CHARS {
            return Err(AccessError::BadPassword(
                "is too short: use at least 8 characters",
            ));
        }
        if self.0.len() > MAX_BYTES {
            return Err(AccessError::BadPassword(
                "is too long: use at most 1024 bytes",
            ));
        }
        if self.0.chars().any(char::is_control) {
            return Err(AccessError::BadPassword(
                "holds a control character (a tab or line break?)",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

fn hasher() -> Result<Argon2<'static>, AccessError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, Some(32))
        .map_err(|e| AccessError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of a new argon2id hash of `password` with a fresh random salt.
pub fn hash(password: &Password) -> Result<String, AccessError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| AccessError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

/// True when `password` matches the stored PHC string (with the parameters the string names).
/// A stored string that is not a PHC hash is an error, not a mismatch.
pub fn matches(password: &Password, stored: &str) -> Result<bool, AccessError> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| AccessError::Hashing(format!("stored hash: {e}")))?;
    match Argon2::default().verify_password(password.expose().as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(AccessError::Hashing(e.to_string())),
    }
}

/// Spends the time of one verification against a fixed hash, so that "no such user" takes as long as
/// "wrong password" and timing does not tell which names exist.
pub fn waste_a_verification(password: &Password) {
    // A hash of a random password with the current parameters, made once per process.
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash(&Password::new("not a password")).ok()) {
        let _ = matches(password, stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_with_the_documented_parameters_and_a_random_salt() {
        let password = Password::new("correct horse");
        let first = hash(&password).expect("hash");
        assert!(
            first.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
            "{first}"
        );
        assert!(!first.contains("correct horse"));
        let second = hash(&password).expect("hash");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(matches(&password, &first).expect("verify"));
        assert!(!matches(&Password::new("correct horsE"), &first).expect("verify"));
        assert!(matches(&password, "not a phc string").is_err());
    }

    #[test]
    fn a_password_never_shows_itself() {
        let password = Password::new("s3cret-pass");
        assert_eq!(format!("{password:?}"), "Password(***)");
    }

    #[test]
    fn new_passwords_follow_the_rules() {
        assert!(Password::new("12345678").check_new().is_ok());
        assert!(Password::new("äöüßäöüß").check_new().is_ok());
        let short = Password::new("1234567").check_new().expect_err("short");
        assert_eq!(
            short.to_string(),
            "the password is too short: use at least 8 characters"
        );
        assert!(Password::new("a".repeat(1025)).check_new().is_err());
        assert!(Password::new("tab\tinside").check_new().is_err());
    }
}
