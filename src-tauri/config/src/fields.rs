//! Typed, located access to the keys of one TOML table, reporting every problem instead of stopping.
//!
//! Each section of the config (`[plant]`, a `[[devices]]` entry, a tag, an alarm) is read through a
//! [`Section`]: it first reports the keys it does not know, then hands out values of the expected type.
//! A value of the wrong type or out of range is reported once and comes back as [`Field::Invalid`], so
//! later checks can skip it without piling up follow-on errors.

use std::cell::RefCell;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{ConfigErrorKind, LineIndex, Problem};

/// Collects problems while the config is read. Shared by reference; checks only ever add to it.
pub(crate) struct Report {
    problems: RefCell<Vec<Problem>>,
    lines: LineIndex,
}

impl Report {
    /// A report on the given config text.
    pub fn new(text: &str) -> Report {
        Report {
            problems: RefCell::new(Vec::new()),
            lines: LineIndex::new(text),
        }
    }

    /// The 1-based line of a byte offset, for messages that point back at an earlier definition.
    pub fn line(&self, offset: usize) -> usize {
        self.lines.line(offset)
    }

    pub fn add(&self, span: Range<usize>, kind: ConfigErrorKind, message: impl Into<String>) {
        self.problems.borrow_mut().push(Problem {
            span,
            kind,
            message: message.into(),
        });
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems.into_inner()
    }
}

/// A value and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub value: T,
    pub span: Range<usize>,
}

/// The outcome of reading one key.
#[derive(Debug, Clone)]
pub(crate) enum Field<T> {
    /// The key is not there.
    Absent,
    /// The key is there but its value was wrong; the problem has been reported.
    Invalid,
    Present(At<T>),
}

impl<T> Field<T> {
    /// The value, or `default` when the key is absent; `None` when it was invalid.
    pub fn or_default(self, default: T) -> Option<T> {
        match self {
            Field::Absent => Some(default),
            Field::Invalid => None,
            Field::Present(at) => Some(at.value),
        }
    }

    /// `Some(Some(value))` when present, `Some(None)` when absent, `None` when invalid.
    pub fn optional(self) -> Option<Option<T>> {
        match self {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Present(at) => Some(Some(at.value)),
        }
    }

    /// The located value, if it was present and valid.
    pub fn at(&self) -> Option<&At<T>> {
        match self {
            Field::Present(at) => Some(at),
            _ => None,
        }
    }

    /// Keeps a present value only if `check` accepts it; otherwise reports the returned message at the
    /// value and turns the field invalid.
    pub fn check(self, report: &Report, check: impl FnOnce(&T) -> Result<(), String>) -> Field<T> {
        match self {
            Field::Present(at) => match check(&at.value) {
                Ok(()) => Field::Present(at),
                Err(message) => {
                    report.add(at.span.clone(), ConfigErrorKind::BadValue, message);
                    Field::Invalid
                }
            },
            other => other,
        }
    }

    /// Converts a present value; `None` from `convert` means the value was rejected (and reported).
    pub fn map<U>(self, convert: impl FnOnce(At<T>) -> Option<U>) -> Field<U> {
        match self {
            Field::Absent => Field::Absent,
            Field::Invalid => Field::Invalid,
            Field::Present(at) => {
                let span = at.span.clone();
                match convert(at) {
                    Some(value) => Field::Present(At { value, span }),
                    None => Field::Invalid,
                }
            }
        }
    }
}

/// One TOML table of the config, with the keys it allows.
pub(crate) struct Section<'a, 'i> {
    table: &'a DeTable<'i>,
    /// Where the table starts (its header, or the inline table): where "missing key" problems point.
    pub span: Range<usize>,
    report: &'a Report,
}

impl<'a, 'i> Section<'a, 'i> {
    /// Opens a table and reports every key not in `allowed`. `what` names the table in messages, as the
    /// user would write it (`[plant]`, `[[devices]]`, `alarm`).
    pub fn open(
        table: &'a DeTable<'i>,
        span: Range<usize>,
        what: &str,
        allowed: &[&str],
        report: &'a Report,
    ) -> Section<'a, 'i> {
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                let hint = closest(name, allowed)
                    .map(|k| format!(" (did you mean '{k}'?)"))
                    .unwrap_or_default();
                report.add(
                    key.span(),
                    ConfigErrorKind::UnknownKey,
                    format!(
                        "unknown key '{name}' in {what}{hint}; allowed keys: {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Section {
            table,
            span,
            report,
        }
    }

    pub fn report(&self) -> &'a Report {
        self.report
    }

    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table
            .iter()
            .find(|(k, _)| {
                let name: &str = k.get_ref();
                name == key
            })
            .map(|(_, v)| v)
    }

    /// Whether the key is written at all (whatever its value).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Where the key itself is written (for problems about the key rather than its value).
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.table
            .iter()
            .find(|(k, _)| {
                let name: &str = k.get_ref();
                name == key
            })
            .map(|(k, _)| k.span())
    }

    /// Reports a required key as missing, at the start of the table.
    pub fn missing(&self, key: &str, why: &str) {
        let message = if why.is_empty() {
            format!("missing key '{key}'")
        } else {
            format!("missing key '{key}' ({why})")
        };
        self.report
            .add(self.span.clone(), ConfigErrorKind::MissingKey, message);
    }

    /// Reports a key that is present but not allowed here, at the key.
    pub fn forbid(&self, key: &str, why: &str) {
        if let Some(span) = self.key_span(key) {
            self.report
                .add(span, ConfigErrorKind::Conflict, format!("'{key}' {why}"));
        }
    }

    /// A value required to be present: reports it missing when absent.
    pub fn required<T>(&self, key: &str, why: &str, field: Field<T>) -> Option<At<T>> {
        match field {
            Field::Absent => {
                self.missing(key, why);
                None
            }
            Field::Invalid => None,
            Field::Present(at) => Some(at),
        }
    }

    fn wrong_type(&self, key: &str, value: &Spanned<DeValue<'i>>, expected: &str) {
        self.report.add(
            value.span(),
            ConfigErrorKind::WrongType,
            format!(
                "'{key}' must be {expected}, not {}",
                describe(value.get_ref())
            ),
        );
    }

    /// A string.
    pub fn string(&self, key: &str) -> Field<String> {
        let Some(value) = self.get(key) else {
            return Field::Absent;
        };
        match value.get_ref() {
            DeValue::String(s) => Field::Present(At {
                value: s.to_string(),
                span: value.span(),
            }),
            _ => {
                self.wrong_type(key, value, "a string");
                Field::Invalid
            }
        }
    }

    /// A boolean.
    pub fn boolean(&self, key: &str) -> Field<bool> {
        let Some(value) = self.get(key) else {
            return Field::Absent;
        };
        match value.get_ref() {
            DeValue::Boolean(b) => Field::Present(At {
                value: *b,
                span: value.span(),
            }),
            _ => {
                self.wrong_type(key, value, "true or false");
                Field::Invalid
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn integer(&self, key: &str, min: i64, max: i64) -> Field<i64> {
        let Some(value) = self.get(key) else {
            return Field::Absent;
        };
        let DeValue::Integer(int) = value.get_ref() else {
            self.wrong_type(key, value, "an integer");
            return Field::Invalid;
        };
        let parsed = i64::from_str_radix(int.as_str(), int.radix()).ok();
        match parsed {
            Some(n) if (min..=max).contains(&n) => Field::Present(At {
                value: n,
                span: value.span(),
            }),
            _ => {
                self.report.add(
                    value.span(),
                    ConfigErrorKind::BadValue,
                    range_message(key, min, max, int),
                );
                Field::Invalid
            }
        }
    }

    /// A finite number; integers are accepted where a float is expected.
    pub fn number(&self, key: &str) -> Field<f64> {
        let Some(value) = self.get(key) else {
            return Field::Absent;
        };
        let parsed = match value.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(int) => i64::from_str_radix(int.as_str(), int.radix())
                .ok()
                .map(|n| n as f64),
            _ => {
                self.wrong_type(key, value, "a number");
                return Field::Invalid;
            }
        };
        match parsed {
            Some(n) if n.is_finite() => Field::Present(At {
                value: n,
                span: value.span(),
            }),
            _ => {
                self.report.add(
                    value.span(),
                    ConfigErrorKind::BadValue,
                    format!("'{key}' must be a finite number"),
                );
                Field::Invalid
            }
        }
    }

    /// A number of seconds that must be at least zero (or above zero when `positive`), as a `Duration`.
    pub fn seconds(&self, key: &str, positive: bool) -> Field<std::time::Duration> {
        let field = self.number(key).check(self.report, |&s| {
            if positive && s <= 0.0 {
                Err(format!("'{key}' must be more than 0 seconds, not {s}"))
            } else if s < 0.0 {
                Err(format!("'{key}' must be 0 seconds or more, not {s}"))
            } else {
                Ok(())
            }
        });
        let report = self.report;
        field.map(
            |at| match std::time::Duration::try_from_secs_f64(at.value) {
                Ok(d) => Some(d),
                Err(_) => {
                    report.add(
                        at.span,
                        ConfigErrorKind::BadValue,
                        format!("'{key}' is too large"),
                    );
                    None
                }
            },
        )
    }

    /// A duration written as text (`"400d"`, `"12h"`, `"1h30m"`), more than 0 and at most 100 years.
    pub fn duration(&self, key: &str) -> Field<std::time::Duration> {
        let report = self.report;
        self.string(key).map(|at| {
            let problem = match plantwatch_core::parse_duration(&at.value) {
                Ok(d) if !d.is_zero() => return Some(d),
                Ok(_) => format!("'{key}' must be more than 0"),
                Err(e) => format!("'{key}': {e}"),
            };
            report.add(at.span, ConfigErrorKind::BadValue, problem);
            None
        })
    }

    /// A size written as text (`"2GB"`, `"500MB"`, `"64MiB"`).
    pub fn size(&self, key: &str) -> Field<plantwatch_core::ByteSize> {
        let report = self.report;
        self.string(key).map(|at| match at.value.parse() {
            Ok(size) => Some(size),
            Err(e) => {
                report.add(at.span, ConfigErrorKind::BadValue, format!("'{key}': {e}"));
                None
            }
        })
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(&self, key: &str, options: &[(&str, T)]) -> Field<T> {
        let field = self.string(key);
        let report = self.report;
        field.map(
            |at| match options.iter().find(|(name, _)| *name == at.value) {
                Some(&(_, value)) => Some(value),
                None => {
                    let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
                    report.add(
                        at.span,
                        ConfigErrorKind::BadValue,
                        format!(
                            "'{key}' must be one of {}, not {:?}",
                            names.join(", "),
                            at.value
                        ),
                    );
                    None
                }
            },
        )
    }

    /// An array of tables (`[[name]]` or an array of inline tables), each with its span. A value of any
    /// other shape is reported, with `shape` showing how to write it; so is any element that is not a
    /// table.
    pub fn tables(&self, key: &str, shape: &str) -> Field<Vec<(&'a DeTable<'i>, Range<usize>)>> {
        let Some(value) = self.get(key) else {
            return Field::Absent;
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, value, &format!("an array of tables ({shape})"));
            return Field::Invalid;
        };
        let mut tables = Vec::new();
        let mut all_tables = true;
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => tables.push((t, item.span())),
                _ => {
                    all_tables = false;
                    self.report.add(
                        item.span(),
                        ConfigErrorKind::WrongType,
                        format!(
                            "each entry of '{key}' must be a table, not {}",
                            describe(item.get_ref())
                        ),
                    );
                }
            }
        }
        if all_tables {
            Field::Present(At {
                value: tables,
                span: value.span(),
            })
        } else {
            Field::Invalid
        }
    }

    /// A sub-table (`[name]`).
    pub fn table(&self, key: &str) -> Field<&'a DeTable<'i>> {
        let Some(value) = self.get(key) else {
            return Field::Absent;
        };
        match value.get_ref() {
            DeValue::Table(t) => Field::Present(At {
                value: t,
                span: value.span(),
            }),
            _ => {
                self.wrong_type(key, value, &format!("a table ([{key}])"));
                Field::Invalid
            }
        }
    }
}

/// A long text cut to its first 40 characters, so a message stays on one readable line.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

fn range_message(key: &str, min: i64, max: i64, found: &toml::de::DeInteger<'_>) -> String {
    if min == i64::MIN && max == i64::MAX {
        format!("'{key}' is out of range: {found}")
    } else if max == i64::MAX {
        format!("'{key}' must be at least {min}, not {found}")
    } else {
        format!("'{key}' must be between {min} and {max}, not {found}")
    }
}

/// `a string ("x")`, `an integer (5)`, ... for messages about a value of the wrong type.
fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("a string ({:?})", shorten(s)),
        DeValue::Integer(i) => format!("an integer ({i})"),
        DeValue::Float(f) => format!("a float ({f})"),
        DeValue::Boolean(b) => format!("a boolean ({b})"),
        DeValue::Datetime(d) => format!("a date-time ({d})"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// The allowed key a misspelt key most likely meant: at most two edits away, and closer than any other.
fn closest<'k>(key: &str, allowed: &[&'k str]) -> Option<&'k str> {
    allowed
        .iter()
        .map(|&k| (edit_distance(key, k), k))
        .filter(|&(d, k)| d <= 2 && d < k.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters; keys are short, so the plain two-row table is plenty.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_the_key_a_typo_meant() {
        let keys = ["host", "port", "poll_ms", "timeout_ms", "baud"];
        assert_eq!(closest("hots", &keys), Some("host"));
        assert_eq!(closest("pol_ms", &keys), Some("poll_ms"));
        assert_eq!(
            closest("timeout", &keys),
            None,
            "three edits away is a different word"
        );
        assert_eq!(closest("colour", &keys), None);
    }
}
