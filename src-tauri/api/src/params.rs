//! Query parameters, read once into typed values: unknown keys are refused (naming the allowed ones),
//! a key given twice where one is meant is refused, and every parse error names its key.

use std::time::Duration;

use plantwatch_core::{parse_duration, parse_time, Timestamp};

use crate::error::ApiError;

/// A request's query parameters, in order.
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses the raw query and refuses keys not in `allowed`.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = match raw {
            None => Vec::new(),
            Some(raw) => serde_urlencoded::from_str(raw)
                .map_err(|e| ApiError::bad_parameter(format!("the query cannot be read: {e}")))?,
        };
        if let Some((key, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let allowed = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(ApiError::bad_parameter(format!(
                "unknown parameter '{}'; allowed: {allowed}",
                plantwatch_core::echo::escape(key)
            )));
        }
        Ok(Params { pairs })
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of `key`, if given; given twice is an error.
    pub fn one(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.all(key).as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(ApiError::bad_parameter(format!(
                "'{key}' is given more than once; give it once"
            ))),
        }
    }

    /// The one value of `key`, which must be given; `what` says what it is.
    pub fn required(&self, key: &str, what: &str) -> Result<&str, ApiError> {
        self.one(key)?
            .ok_or_else(|| ApiError::bad_parameter(format!("missing parameter '{key}' ({what})")))
    }

    /// A time (`from`, `to`): RFC 3339 such as 2026-12-04T08:00:00Z, or relative to `now` (`-1h`, `now`).
    pub fn time(&self, key: &str, now: Timestamp) -> Result<Option<Timestamp>, ApiError> {
        self.one(key)?
            .map(|text| {
                parse_time(text, now).map_err(|e| ApiError::bad_parameter(format!("'{key}': {e}")))
            })
            .transpose()
    }

    /// A required time range `from`..`to`, `to` after `from`.
    pub fn range(&self, now: Timestamp) -> Result<(Timestamp, Timestamp), ApiError> {
        let from = self.time("from", now)?.ok_or_else(|| {
            ApiError::bad_parameter(
                "missing parameter 'from' (the start: RFC 3339 such as 2026-12-04T08:00:00Z, or -1h)",
            )
        })?;
        let to = self.time("to", now)?.unwrap_or(now);
        if to <= from {
            return Err(ApiError::bad_parameter(format!(
                "'to' ({to}) must be after 'from' ({from})"
            )));
        }
        Ok((from, to))
    }

    /// An optional time range: either end may be left open; `to` after `from` when both are given.
    pub fn open_range(
        &self,
        now: Timestamp,
    ) -> Result<(Option<Timestamp>, Option<Timestamp>), ApiError> {
        let (from, to) = (self.time("from", now)?, self.time("to", now)?);
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                return Err(ApiError::bad_parameter(format!(
                    "'to' ({to}) must be after 'from' ({from})"
                )));
            }
        }
        Ok((from, to))
    }

    /// A duration such as `1m` or `15s`.
    pub fn duration(&self, key: &str, what: &str) -> Result<Duration, ApiError> {
        let text = self.required(key, what)?;
        parse_duration(text).map_err(|e| ApiError::bad_parameter(format!("'{key}': {e}")))
    }

    /// A whole number in `min..=max`.
    pub fn count(&self, key: &str, min: usize, max: usize) -> Result<Option<usize>, ApiError> {
        self.one(key)?
            .map(|text| match text.parse::<usize>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_parameter(format!(
                    "'{key}' must be a whole number from {min} to {max}, not {:?}",
                    plantwatch_core::echo::escape(text)
                ))),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_keys_are_named() {
        let err = Params::parse(Some("tag=a&colour=red"), &["tag"])
            .err()
            .expect("refused");
        assert_eq!(err.message, "unknown parameter 'colour'; allowed: tag");
        let params = Params::parse(Some("tag=a&tag=b%2Fc"), &["tag"]).expect("parsed");
        assert_eq!(params.all("tag"), vec!["a", "b/c"]);
        assert!(params.one("tag").is_err(), "two where one is meant");
    }

    #[test]
    fn a_range_must_run_forwards() {
        let now = Timestamp(1_000_000_000);
        let params = Params::parse(
            Some("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"),
            &["from", "to"],
        )
        .expect("parsed");
        let err = params.range(now).expect_err("refused");
        assert!(
            err.message.starts_with("'to' (2026-01-01"),
            "{}",
            err.message
        );
    }
}
