//! Problems found in a plant config, each with the file, line and column it points at.

use std::fmt;

use plantwatch_core::echo::escape;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A place in a config file, both 1-based. Columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// What sort of problem a [`ConfigError`] is, so a caller (the desktop's config screen, a test) can act on
/// it without matching message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read,
    /// The text is not valid TOML.
    Syntax,
    /// A key the config format does not know.
    UnknownKey,
    /// A value of the wrong TOML type (a string where an integer belongs, ...).
    WrongType,
    /// A required key is absent.
    MissingKey,
    /// A value of the right type that is out of range or not one of the allowed words.
    BadValue,
    /// An id used twice where ids must be unique.
    Duplicate,
    /// Keys or devices that contradict each other (serial keys on a TCP device, a `hihi` below its `hi`,
    /// two devices on one serial port at different speeds, ...).
    Conflict,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file, as the user gave it.
    pub path: PathBuf,
    /// Where in the file; `None` for problems with the file as a whole (it cannot be read).
    pub position: Option<Position>,
    /// What sort of problem it is.
    pub kind: ConfigErrorKind,
    /// What is wrong and, where it helps, what is allowed; one line, without the path or position.
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// `PATH:LINE:COL: message`, or `PATH: message` when the problem has no place in the file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string();
        let path = escape(&path);
        match self.position {
            Some(p) => write!(f, "{path}:{}:{}: {}", p.line, p.column, self.message),
            None => write!(f, "{path}: {}", escape(&self.message)),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a config file (never empty), in the order they appear in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// A config that could not be read at all.
    pub(crate) fn unreadable(path: &Path, cause: &crate::file::ReadFileError) -> ConfigErrors {
        ConfigErrors {
            errors: vec![ConfigError {
                path: path.to_path_buf(),
                position: None,
                kind: ConfigErrorKind::Read,
                message: cause.to_string(),
            }],
        }
    }

    /// A config rejected without a reported reason: a bug in a check, surfaced rather than hidden.
    pub(crate) fn internal(path: &Path) -> ConfigErrors {
        ConfigErrors {
            errors: vec![ConfigError {
                path: path.to_path_buf(),
                position: None,
                kind: ConfigErrorKind::BadValue,
                message: "rejected without a reason (a bug in plantwatch-config; please report it)"
                    .to_string(),
            }],
        }
    }

    /// Turns the byte-offset problems of one file into positioned errors, sorted by place in the file.
    /// Returns `None` when there are no problems.
    pub(crate) fn from_problems(
        path: &Path,
        text: &str,
        mut problems: Vec<Problem>,
    ) -> Option<ConfigErrors> {
        if problems.is_empty() {
            return None;
        }
        // A stable sort keeps problems found at one place in the order the checks ran.
        problems.sort_by_key(|p| p.span.start);
        let lines = LineIndex::new(text);
        let errors = problems
            .into_iter()
            .map(|p| ConfigError {
                path: path.to_path_buf(),
                position: Some(lines.position(text, p.span.start)),
                kind: p.kind,
                // A message may quote the file (a key, a value); a control character in it must not
                // start a line of its own that reads like another error.
                message: escape(&p.message).into_owned(),
            })
            .collect();
        Some(ConfigErrors { errors })
    }

    /// The problems, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// Number of problems (at least one).
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: a `ConfigErrors` holds at least one problem. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// One problem per line, `PATH:LINE:COL: message`, without a trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A problem found while reading the TOML, located by a byte range of the text.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub span: Range<usize>,
    /// What sort of problem it is.
    pub kind: ConfigErrorKind,
    /// What is wrong and, where it helps, what is allowed; one line, without the path or position.
    pub message: String,
}

/// Byte offsets of line starts, to turn a byte offset into a line and column.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line and character column of a byte offset (clamped to the text).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let line = self.line(offset);
        let start = self.starts[line - 1];
        // Offsets from the TOML parser are on character boundaries; be lenient if one is not.
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Position { line, column }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nname = \"Pumpwerk Süd\"\nx = 2\n";
        let lines = LineIndex::new(text);
        assert_eq!(lines.position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(lines.position(text, 6), Position { line: 2, column: 1 });
        // "x" on line 3 starts after a line holding the two-byte ü.
        let x = text.find('x').expect("x in text");
        assert_eq!(lines.position(text, x), Position { line: 3, column: 1 });
        let closing_quote = text.rfind('"').expect("quote in text");
        assert_eq!(
            lines.position(text, closing_quote),
            Position {
                line: 2,
                column: 21
            }
        );
    }

    #[test]
    fn display_prints_one_problem_per_line() {
        let text = "[plant]\nnme = 1\n";
        let problems = vec![
            Problem {
                span: 8..11,
                kind: ConfigErrorKind::UnknownKey,
                message: "second".into(),
            },
            Problem {
                span: 0..7,
                kind: ConfigErrorKind::MissingKey,
                message: "first".into(),
            },
        ];
        let errors =
            ConfigErrors::from_problems(Path::new("p.toml"), text, problems).expect("two problems");
        assert_eq!(errors.to_string(), "p.toml:1:1: first\np.toml:2:1: second");
    }
}
