//! The audit chain's arithmetic: an entry's canonical bytes and its chained SHA-256. Pure, no I/O.
//!
//! An entry's **canonical bytes** are, in this fixed order:
//!
//! 1. the format version, one byte `0x01`;
//! 2. the entry's id, 8 bytes, big-endian signed (so moving a row to another id changes its hash);
//! 3. the time, UTC milliseconds, 8 bytes, big-endian signed;
//! 4. the text fields `user`, `role`, `action`, `target`, each as a 4-byte big-endian byte length
//!    followed by its UTF-8 bytes;
//! 5. the optional fields `old`, `requested`, `readback`: one byte `0x00` when absent, or `0x01` followed by
//!    the length-prefixed text as above (so an absent value and an empty one differ);
//! 6. `result` as a length-prefixed text;
//! 7. `comment` as an optional field.
//!
//! The length prefixes make the encoding unambiguous: no two different entries have the same bytes.
//! An entry's **hash** is `SHA-256(previous hash || canonical bytes)`, the previous hash being the 32 raw
//! bytes of the entry before it, or 32 zero bytes for the first entry. It is stored as 64 lowercase hex
//! digits.

use sha2::{Digest, Sha256};

/// The format version, the first canonical byte.
const FORMAT: u8 = 1;

/// The hash before the first entry.
pub const GENESIS: Hash = Hash([0; 32]);

/// A SHA-256 value of the chain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// 64 lowercase hex digits, as stored in the `hash` column.
    pub fn to_hex(self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        text
    }

    /// Reads 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(Hash(out))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An audit row as text and numbers, exactly as stored: what the hash covers.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub id: i64,
    pub time: i64,
    pub user: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub old: Option<&'a str>,
    pub requested: Option<&'a str>,
    pub readback: Option<&'a str>,
    pub result: &'a str,
    pub comment: Option<&'a str>,
}

impl Fields<'_> {
    /// The canonical bytes described in the module documentation.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.user.len() + self.target.len());
        out.push(FORMAT);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.time.to_be_bytes());
        for text in [self.user, self.role, self.action, self.target] {
            text_field(&mut out, text);
        }
        for value in [self.old, self.requested, self.readback] {
            optional_field(&mut out, value);
        }
        text_field(&mut out, self.result);
        optional_field(&mut out, self.comment);
        out
    }

    /// This entry's link of the chain: `SHA-256(previous || canonical bytes)`.
    pub fn hash(&self, previous: Hash) -> Hash {
        let mut sha = Sha256::new();
        sha.update(previous.0);
        sha.update(self.canonical_bytes());
        Hash(sha.finalize().into())
    }
}

fn text_field(out: &mut Vec<u8>, text: &str) {
    // Fields longer than 4 GiB cannot reach SQLite (its limit is 1 GB), so the length always fits.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn optional_field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            text_field(out, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Fields<'static> {
        Fields {
            id: 1,
            time: 1_764_000_000_000,
            user: "alice",
            role: "admin",
            action: "user_added",
            target: "bob",
            old: None,
            requested: Some("operator"),
            readback: None,
            result: "ok",
            comment: None,
        }
    }

    #[test]
    fn canonical_bytes_are_length_prefixed_in_a_fixed_order() {
        let bytes = fields().canonical_bytes();
        let mut expected = vec![1u8];
        expected.extend_from_slice(&1i64.to_be_bytes());
        expected.extend_from_slice(&1_764_000_000_000i64.to_be_bytes());
        for text in ["alice", "admin", "user_added", "bob"] {
            expected.extend_from_slice(&(text.len() as u32).to_be_bytes());
            expected.extend_from_slice(text.as_bytes());
        }
        expected.push(0); // old: absent
        expected.push(1); // requested: present
        expected.extend_from_slice(&8u32.to_be_bytes());
        expected.extend_from_slice(b"operator");
        expected.push(0); // readback: absent
        expected.extend_from_slice(&2u32.to_be_bytes());
        expected.extend_from_slice(b"ok");
        expected.push(0); // comment: absent
        assert_eq!(bytes, expected);
    }

    #[test]
    fn moving_text_between_fields_or_emptying_a_value_changes_the_bytes() {
        let base = fields();
        let shifted = Fields {
            user: "alic",
            role: "eadmin",
            ..base
        };
        assert_ne!(base.canonical_bytes(), shifted.canonical_bytes());
        let empty = Fields {
            old: Some(""),
            ..base
        };
        assert_ne!(base.canonical_bytes(), empty.canonical_bytes());
        let moved = Fields { id: 2, ..base };
        assert_ne!(base.hash(GENESIS), moved.hash(GENESIS));
    }

    #[test]
    fn a_hash_depends_on_the_previous_one_and_reads_back_from_hex() {
        let first = fields().hash(GENESIS);
        let second = Fields { id: 2, ..fields() }.hash(first);
        assert_ne!(second, Fields { id: 2, ..fields() }.hash(GENESIS));
        let hex = second.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(Hash::from_hex(&hex), Some(second));
        assert_eq!(Hash::from_hex(&hex.to_uppercase()), Some(second));
        assert_eq!(Hash::from_hex("abc"), None);
        assert_eq!(Hash::from_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn the_empty_input_hash_is_sha256s_known_value() {
        // Pins the hash function itself: SHA-256 of no bytes.
        let empty: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(
            Hash(empty).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
