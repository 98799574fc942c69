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

/// The longest duration a user may type: 100 years of 365 days (`36500d`). Anything longer is a typo, and
/// the bound keeps every sum of a typed time and a typed duration inside `i64` milliseconds.
pub const MAX_DURATION: Duration = Duration::from_secs(36_500 * 86_400);

/// The earliest time a user may type: 9999 BC, the start of the calendar RFC 3339 can write.
pub const MIN_TIME: Timestamp = Timestamp(-377_705_023_201_000);

/// The latest time a user may type: the end of the year 9999.
pub const MAX_TIME: Timestamp = Timestamp(253_402_207_200_999);

const DURATION_HINT: &str =
    "expected a duration from 0ms to 36500d, such as 500ms, 90s, 10m, 1h30m or 7d";
const TIME_HINT: &str =
    "expected RFC 3339 (2026-11-25T14:00:00Z), 'now', or a time relative to now \
     such as -1h or -7d, between the years -9999 and 9999 and at most 36500d from now";

/// A time or duration the user typed that could not be understood, or lies out of the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{}': {hint}", crate::echo::escape(input))]
pub struct ParseTimeError {
    pub what: &'static str,
    pub input: String,
    pub hint: &'static str,
}

/// Parses a duration such as `10m`, `1h30m`, `90s`, `500ms`, `7d`, from 0 to [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, ParseTimeError> {
    let err = || ParseTimeError {
        what: "duration",
        input: text.to_string(),
        hint: DURATION_HINT,
    };
    let span = parse_friendly(text.trim()).ok_or_else(err)?;
    if span.is_negative() {
        return Err(err());
    }
    let duration = Duration::try_from(span).map_err(|_| err())?;
    if duration > MAX_DURATION {
        return Err(err());
    }
    Ok(duration)
}

/// Parses a point in time: RFC 3339 (`2026-11-25T14:00:00Z`, `2026-11-25T15:00:00+01:00`), `now`, or a
/// time relative to `now` such as `-1h`, `-7d`, `-90s` (at most [`MAX_DURATION`] away). The result lies
/// between [`MIN_TIME`] and [`MAX_TIME`].
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, ParseTimeError> {
    let text = text.trim();
    let err = || ParseTimeError {
        what: "time",
        input: text.to_string(),
        hint: TIME_HINT,
    };
    let sign = text.chars().next().filter(|c| *c == '-' || *c == '+');
    // A sign starts a relative time, or an RFC 3339 year before 0 (`-0044-03-15T12:00:00Z`).
    let relative = sign.and_then(|sign| Some((sign, parse_duration(&text[1..]).ok()?)));
    let time = if text == "now" {
        now
    } else if let Some((sign, offset)) = relative {
        // MAX_DURATION fits an i64 of milliseconds many times over, so the conversion cannot fail.
        let millis = i64::try_from(offset.as_millis()).map_err(|_| err())?;
        let moved = if sign == '-' {
            now.0.checked_sub(millis)
        } else {
            now.0.checked_add(millis)
        };
        Timestamp(moved.ok_or_else(err)?)
    } else {
        let ts: jiff::Timestamp = text.parse().map_err(|_| err())?;
        Timestamp(ts.as_millisecond())
    };
    if !(MIN_TIME..=MAX_TIME).contains(&time) {
        return Err(err());
    }
    Ok(time)
}

/// jiff's "friendly" duration format (`1h30m`, `500ms`); days are taken as 24 hours. `None` for text
/// that is not a duration or does not fit jiff's range.
fn parse_friendly(text: &str) -> Option<jiff::SignedDuration> {
    if text.is_empty() {
        return None;
    }
    if let Ok(d) = text.parse::<jiff::SignedDuration>() {
        return Some(d);
    }
    // SignedDuration refuses calendar units; accept whole days as a convenience.
    let days: i64 = text.strip_suffix('d')?.parse().ok()?;
    let seconds = days.checked_mul(86_400)?;
    Some(jiff::SignedDuration::from_secs(seconds))
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

    #[test]
    fn durations_beyond_a_hundred_years_are_refused_with_the_range() {
        assert_eq!(parse_duration("36500d"), Ok(MAX_DURATION));
        for text in [
            "36501d",
            "99999999999999999d",
            "9223372036854775807s",
            "-1s",
        ] {
            let error = parse_duration(text).expect_err(text);
            assert!(error.to_string().contains("0ms to 36500d"), "{error}");
        }
    }

    #[test]
    fn times_far_out_of_range_are_refused_not_overflowed() {
        let now = Timestamp(10_000_000);
        for text in [
            "-9223372036854775s808ms",
            "+9223372036854775s807ms",
            "-99999999999999999d",
            "-36501d",
        ] {
            let error = parse_time(text, now).expect_err(text);
            assert!(error.to_string().contains("-9999 and 9999"), "{error}");
        }
        // A relative time at the edge of the calendar is refused, not wrapped.
        assert!(parse_time("+1d", MAX_TIME).is_err());
        assert!(parse_time("-1d", MIN_TIME).is_err());
        assert_eq!(
            parse_time("-36500d", now),
            Ok(Timestamp(10_000_000 - 36_500 * 86_400_000))
        );
    }

    #[test]
    fn the_time_range_is_the_calendars() {
        assert_eq!(MIN_TIME.0, jiff::Timestamp::MIN.as_millisecond());
        assert_eq!(MAX_TIME.0, jiff::Timestamp::MAX.as_millisecond());
    }

    #[test]
    fn an_echoed_input_shows_control_characters_escaped() {
        let error = parse_time("1\nx.toml:1:1: error", Timestamp(0)).expect_err("not a time");
        assert!(!error.to_string().contains('\n'), "{error}");
    }
}
