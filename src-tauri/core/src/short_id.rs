//! A compact string for tag ids.
//!
//! A plant holds one id per tag, a million of them in a large plant, and nearly all are short
//! (`flow`, `r0001`, `pump_1_speed`). A `String` costs 24 bytes plus a heap block of at least 24 more;
//! a [`ShortId`] costs 16 bytes and keeps ids of up to [`ShortId::INLINE`] bytes in place, with no
//! heap at all. Longer ids go to the heap behind one thin pointer, so the type stays 16 bytes either way.

use std::fmt;
use std::hash::{Hash, Hasher};

/// An immutable string of 16 bytes: inline up to [`ShortId::INLINE`] bytes, on the heap beyond.
#[derive(Clone, PartialEq, Eq)]
pub struct ShortId(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// The first `len` bytes of `bytes` hold the string; the rest are zero (so derived equality of the
    /// inline form is equality of the strings).
    Inline {
        bytes: [u8; ShortId::INLINE],
        len: InlineLen,
    },
    /// Longer strings. The double box keeps the pointer thin (8 bytes), which is what lets the enum fit
    /// in 16 bytes; only long ids pay the second allocation.
    Heap(Box<Box<str>>),
}

/// The length of an inline string. An enum rather than a `u8` on purpose: the byte values it cannot
/// take (16 to 255) are where the compiler keeps the tag of [`Repr`], so the enum needs no extra byte.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum InlineLen {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
}

impl InlineLen {
    const ALL: [InlineLen; ShortId::INLINE + 1] = [
        InlineLen::L0,
        InlineLen::L1,
        InlineLen::L2,
        InlineLen::L3,
        InlineLen::L4,
        InlineLen::L5,
        InlineLen::L6,
        InlineLen::L7,
        InlineLen::L8,
        InlineLen::L9,
        InlineLen::L10,
        InlineLen::L11,
        InlineLen::L12,
        InlineLen::L13,
        InlineLen::L14,
        InlineLen::L15,
    ];
}

impl ShortId {
    /// The longest string kept inline, in bytes.
    pub const INLINE: usize = 15;

    /// Copies `text`, inline when it fits.
    pub fn new(text: &str) -> ShortId {
        match InlineLen::ALL.get(text.len()) {
            Some(&len) => {
                let mut bytes = [0u8; ShortId::INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                ShortId(Repr::Inline { bytes, len })
            }
            None => ShortId(Repr::Heap(Box::new(Box::from(text)))),
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { bytes, len } => {
                // The bytes were copied whole from a `&str`, so they are valid UTF-8; the fallback
                // cannot happen and only keeps this free of `unsafe`.
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or_default()
            }
            Repr::Heap(text) => text,
        }
    }

    /// True when the string lives in place, without a heap block.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl std::ops::Deref for ShortId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Hash for ShortId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ShortId {
    fn from(text: &str) -> ShortId {
        ShortId::new(text)
    }
}

impl From<String> for ShortId {
    fn from(text: String) -> ShortId {
        ShortId::new(&text)
    }
}

impl PartialEq<str> for ShortId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ShortId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_id_is_16_bytes_whatever_it_holds() {
        assert_eq!(std::mem::size_of::<ShortId>(), 16);
        assert_eq!(std::mem::size_of::<Option<ShortId>>(), 16);
    }

    #[test]
    fn ids_up_to_15_bytes_stay_inline_and_longer_ones_go_to_the_heap() {
        for text in ["", "r0001", "pump_1", "abcdefghijklmno"] {
            let id = ShortId::new(text);
            assert!(id.is_inline(), "{text:?} should be inline");
            assert_eq!(id.as_str(), text);
        }
        for text in ["abcdefghijklmnop", "discharge_pressure_transmitter_2"] {
            let id = ShortId::new(text);
            assert!(!id.is_inline(), "{text:?} should be on the heap");
            assert_eq!(id.as_str(), text);
        }
    }

    #[test]
    fn equality_and_hashing_follow_the_string() {
        use std::collections::HashSet;
        assert_eq!(ShortId::new("flow"), ShortId::from(String::from("flow")));
        assert_ne!(ShortId::new("flow"), ShortId::new("flo"));
        assert_ne!(ShortId::new("flow"), ShortId::new("flow\0"));
        assert_eq!(ShortId::new("flow"), "flow");
        let set: HashSet<ShortId> = ["a", "a", "a-very-long-tag-id", "a-very-long-tag-id"]
            .into_iter()
            .map(ShortId::new)
            .collect();
        assert_eq!(set.len(), 2);
        assert_eq!(format!("{:?}", ShortId::new("flow")), "\"flow\"");
    }
}
