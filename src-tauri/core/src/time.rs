//! UTC millisecond timestamps and the time and duration forms users type on the command line.

use std::fmt;
use std::time::Duration;

/// Milliseconds since the Unix epoch, UTC. Modbus devices do not timestamp values, so this is when the
/// response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond())
    }

    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// This time moved by a signed number of milliseconds.
    pub fn add_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with milliseconds: `2026-11-25T14:00:00.123Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => write!(f, "{}", ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

/// A time or duration the user typed that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{input}': {hint}")]
pub struct ParseTimeError {
    pub what: &'static str,
    pub input: String,
    pub hint: &'static str,
}

/// Parses a duration such as `10m`, `1h30m`, `90s`, `500ms`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, ParseTimeError> {
    let err = || ParseTimeError {
        what: "duration",
        input: text.to_string(),
        hint: "expected a positive duration such as 500ms, 90s, 10m, 1h30m or 7d",
    };
    let span: jiff::SignedDuration = parse_friendly(text.trim()).ok_or_else(err)?;
    if span.is_negative() {
        return Err(err());
    }
    Duration::try_from(span).map_err(|_| err())
}

/// Parses a point in time: RFC 3339 (`2026-11-25T14:00:00Z`, `2026-11-25T15:00:00+01:00`), `now`, or a
/// time relative to `now` such as `-1h`, `-7d`, `-90s`.
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, ParseTimeError> {
    let text = text.trim();
    let err = || ParseTimeError {
        what: "time",
        input: text.to_string(),
        hint:
            "expected RFC 3339 (2026-11-25T14:00:00Z), 'now', or a relative time such as -1h or -7d",
    };
    if text == "now" {
        return Ok(now);
    }
    if let Some(rest) = text.strip_prefix('-') {
        let back = parse_friendly(rest).ok_or_else(err)?;
        return Ok(now.add_millis(-(back.as_millis() as i64)));
    }
    if let Some(rest) = text.strip_prefix('+') {
        let ahead = parse_friendly(rest).ok_or_else(err)?;
        return Ok(now.add_millis(ahead.as_millis() as i64));
    }
    let ts: jiff::Timestamp = text.parse().map_err(|_| err())?;
    Ok(Timestamp(ts.as_millisecond()))
}

/// jiff's "friendly" duration format (`1h30m`, `500ms`); days are taken as 24 hours.
fn parse_friendly(text: &str) -> Option<jiff::SignedDuration> {
    if text.is_empty() {
        return None;
    }
    if let Ok(d) = text.parse::<jiff::SignedDuration>() {
        return Some(d);
    }
    // SignedDuration refuses calendar units; accept whole days as a convenience.
    let days: i64 = text.strip_suffix('d')?.parse().ok()?;
    Some(jiff::SignedDuration::from_hours(days.checked_mul(24)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_millis() {
        let ts = parse_time("2026-11-25T14:00:00.123Z", Timestamp(0)).expect("valid time");
        assert_eq!(ts.to_string(), "2026-11-25T14:00:00.123Z");
        let offset = parse_time("2026-11-25T15:00:00+01:00", Timestamp(0)).expect("valid time");
        assert_eq!(offset.to_string(), "2026-11-25T14:00:00.000Z");
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let now = Timestamp(10_000_000);
        assert_eq!(parse_time("now", now), Ok(now));
        assert_eq!(
            parse_time("-1h", now),
            Ok(Timestamp(10_000_000 - 3_600_000))
        );
        assert_eq!(parse_time("-90s", now), Ok(Timestamp(10_000_000 - 90_000)));
        assert!(parse_time("yesterday", now).is_err());
    }

    #[test]
    fn durations_take_friendly_forms() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert!(parse_duration("ten minutes").is_err());
    }
}
