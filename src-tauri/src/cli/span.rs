//! The `--from`/`--to` pair that `export`, `alarms` and `audit` take: each parsed as a time users type
//! (`-1h`, RFC 3339, ...) relative to one `now`, and the end after the start.

use plantwatch_core::{parse_time, Timestamp};

/// A time range from the command line; a missing end is open.
pub type Span = (Option<Timestamp>, Option<Timestamp>);

/// Parses `--from` and `--to` against the same `now`. The error is the message for the user (bad input,
/// exit 2 in every command that takes them).
pub fn parse_span(from: Option<&str>, to: Option<&str>) -> Result<Span, String> {
    let now = Timestamp::now();
    let time = |text: Option<&str>| {
        text.map(|t| parse_time(t, now).map_err(|e| e.to_string()))
            .transpose()
    };
    let (from, to) = (time(from)?, time(to)?);
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            return Err(format!("--to ({to}) must be after --from ({from})"));
        }
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::parse_span;

    #[test]
    fn an_open_span_is_fine_and_an_inverted_one_is_refused() {
        assert_eq!(parse_span(None, None), Ok((None, None)));
        let err = parse_span(Some("2026-01-02T00:00:00Z"), Some("2026-01-01T00:00:00Z"))
            .expect_err("an end before the start is refused");
        assert!(err.starts_with("--to (2026-01-01"), "{err}");
        assert!(parse_span(Some("yesterday-ish"), None).is_err());
    }
}
