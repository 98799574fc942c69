//! Sizes users type: `"2GB"`, `"500MB"`, `"64MiB"` (the history's `min_free`).

use std::fmt;
use std::str::FromStr;

/// A number of bytes, as typed in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// Units a size may be written in: decimal (kB = 1,000 bytes, as disks are sold) and binary (KiB =
/// 1,024 bytes, as `df -h` counts). Longest first, so `MiB` is not read as `M` + `iB`.
const UNITS: [(&str, u64); 10] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("B", 1),
];

const SIZE_HINT: &str =
    "expected a whole number of bytes with a unit, such as 2GB, 500MB, 64MiB or \
     0B (units B, kB, MB, GB, TB in powers of 1000, KiB, MiB, GiB, TiB in powers of 1024), \
     at most 16EiB";

/// A size the user typed that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size '{}': {SIZE_HINT}", crate::echo::escape(input))]
pub struct ParseSizeError {
    pub input: String,
}

impl ByteSize {
    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = ParseSizeError;

    /// A whole number and a unit, spaces between them allowed: `2GB`, `500 MB`, `64MiB`.
    fn from_str(text: &str) -> Result<ByteSize, ParseSizeError> {
        let err = || ParseSizeError {
            input: text.to_string(),
        };
        let trimmed = text.trim();
        let digits = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(digits);
        let number: u64 = number.parse().map_err(|_| err())?;
        let unit = unit.trim_start();
        let factor = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, f)| f)
            .ok_or_else(err)?;
        number.checked_mul(factor).map(ByteSize).ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit that holds the size exactly, so the text reads back as the same size: `2GB`,
    /// `64MiB`, `1234B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exact = UNITS
            .iter()
            .filter(|(name, factor)| *name != "KB" && self.0 != 0 && self.0.is_multiple_of(*factor))
            .max_by_key(|(_, factor)| *factor);
        match exact {
            Some((name, factor)) => write!(f, "{}{name}", self.0 / factor),
            None => write!(f, "{}B", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSize;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        let cases = [
            ("2GB", 2_000_000_000),
            ("500MB", 500_000_000),
            ("64MiB", 64 << 20),
            ("1 GiB", 1 << 30),
            ("10kB", 10_000),
            ("10KB", 10_000),
            ("3KiB", 3072),
            ("0B", 0),
            ("1TB", 1_000_000_000_000),
        ];
        for (text, bytes) in cases {
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)), "{text}");
        }
    }

    #[test]
    fn sizes_without_a_unit_or_with_fractions_or_beyond_u64_are_refused_with_the_forms() {
        for text in [
            "2",
            "GB",
            "1.5GB",
            "-1GB",
            "2 gigabytes",
            "2gb",
            "",
            "99999999999TB",
        ] {
            let error = text.parse::<ByteSize>().expect_err(text).to_string();
            assert!(
                error.contains("such as 2GB, 500MB, 64MiB"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit_and_read_back() {
        for (bytes, text) in [
            (2_000_000_000, "2GB"),
            (64 << 20, "64MiB"),
            (1234, "1234B"),
            (0, "0B"),
            (1_500_000_000, "1500MB"),
        ] {
            assert_eq!(ByteSize(bytes).to_string(), text);
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)));
        }
    }
}
