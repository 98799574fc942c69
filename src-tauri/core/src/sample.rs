//! Readings: values, their quality, and the samples that history keeps.

use std::fmt;
use std::sync::Arc;

use crate::{TagIndex, Timestamp};

/// An engineering value. Integer types are scaled into `Number` (an f64: exact up to 2^53, which covers
/// every plant counter we know of); booleans and bits are `Bool`; strings are `Text`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(Arc<str>),
}

impl Value {
    /// The value as a number: booleans are 0 or 1, text has none.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Number(n) => Some(*n),
            Value::Text(_) => None,
        }
    }
}

impl fmt::Display for Value {
    /// Plain form used by exports: booleans 0/1, numbers in the shortest exact form, text as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// How far a value can be trusted (after OPC UA Part 8), with the cause when it is not good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Quality {
    #[default]
    Good,
    Bad(Cause),
    Uncertain(Cause),
}

impl Quality {
    pub fn is_good(self) -> bool {
        matches!(self, Quality::Good)
    }

    /// Parses the text form written by `Display`: `good`, `bad:CAUSE`, `uncertain:CAUSE`.
    pub fn parse(text: &str) -> Option<Quality> {
        if text == "good" {
            return Some(Quality::Good);
        }
        let (level, cause) = text.split_once(':')?;
        let cause = Cause::parse(cause)?;
        match level {
            "bad" => Some(Quality::Bad(cause)),
            "uncertain" => Some(Quality::Uncertain(cause)),
            _ => None,
        }
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quality::Good => f.write_str("good"),
            Quality::Bad(c) => write!(f, "bad:{c}"),
            Quality::Uncertain(c) => write!(f, "uncertain:{c}"),
        }
    }
}

/// Why a value is not good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The device has not answered since the collector started (`no_connection`).
    NoConnectionYet,
    /// The link to the device failed or timed out (`comm_lost`).
    CommLost,
    /// The device answered with a Modbus exception code (`exception_02`, ... in hex, two digits).
    Exception(u8),
    /// The configuration asks for something the device cannot give: an address it lacks (`config`).
    Configuration,
    /// The last usable value, older than it should be (`stale`).
    Stale,
    /// The device sent a float that is not a number or is infinite (`not_a_number`): a sensor fault,
    /// never a reading to trend or to alarm on.
    NotANumber,
    /// The device answered with a frame that does not fit the request (wrong length, function, unit or
    /// transaction id): a device or gateway fault, not a dead link (`bad_reply`).
    BadReply,
}

impl Cause {
    /// Parses the text form written by `Display`.
    pub fn parse(text: &str) -> Option<Cause> {
        Some(match text {
            "no_connection" => Cause::NoConnectionYet,
            "comm_lost" => Cause::CommLost,
            "config" => Cause::Configuration,
            "stale" => Cause::Stale,
            "not_a_number" => Cause::NotANumber,
            "bad_reply" => Cause::BadReply,
            other => {
                let code = other.strip_prefix("exception_")?;
                Cause::Exception(u8::from_str_radix(code, 16).ok()?)
            }
        })
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NoConnectionYet => f.write_str("no_connection"),
            Cause::CommLost => f.write_str("comm_lost"),
            Cause::Exception(code) => write!(f, "exception_{code:02X}"),
            Cause::Configuration => f.write_str("config"),
            Cause::Stale => f.write_str("stale"),
            Cause::NotANumber => f.write_str("not_a_number"),
            Cause::BadReply => f.write_str("bad_reply"),
        }
    }
}

/// One reading of one tag: when the response arrived (UTC ms), the value if there is one, and its quality.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub tag: TagIndex,
    pub time: Timestamp,
    /// `None` when nothing usable was ever read (for example no connection yet).
    pub value: Option<Value>,
    pub quality: Quality,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_text_round_trips() {
        for q in [
            Quality::Good,
            Quality::Bad(Cause::NoConnectionYet),
            Quality::Bad(Cause::CommLost),
            Quality::Bad(Cause::Exception(0x0B)),
            Quality::Bad(Cause::Configuration),
            Quality::Uncertain(Cause::Stale),
            Quality::Bad(Cause::NotANumber),
            Quality::Bad(Cause::BadReply),
        ] {
            assert_eq!(Quality::parse(&q.to_string()), Some(q), "{q}");
        }
        assert_eq!(
            Quality::Bad(Cause::Exception(2)).to_string(),
            "bad:exception_02"
        );
    }

    #[test]
    fn values_print_plainly() {
        assert_eq!(Value::Bool(true).to_string(), "1");
        assert_eq!(Value::Number(2.5).to_string(), "2.5");
        assert_eq!(Value::Number(40.0).to_string(), "40");
    }
}
