//! Plant config: TOML text to a validated [`Plant`], with `file:line:col` errors.
//!
//! The config is parsed once, here, into the core types; everything downstream (polling, history, alarms)
//! trusts them and never re-checks. Every problem in a file is reported, not just the first, each pointing
//! at the offending key or value. This crate does no I/O beyond reading the file in [`load`] and the
//! checked, atomic rewrites of [`edit`] and [`tag_list`], and knows nothing of Modbus links, SQLite or
//! the terminal.

mod alarm;
mod api;
mod device;
pub mod edit;
mod error;
mod fields;
mod file;
mod ids;
mod northbound;
mod plant;
mod report;
mod screen;
mod summary;
mod tag;
pub mod tag_list;
mod write;

use std::path::Path;

use plantwatch_core::Plant;
use toml::de::DeTable;

pub use edit::{add_device, add_tag, DeviceDraft, EditError, TagDraft};
pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, Position};
pub use file::{read_config_file, ReadFileError, MAX_CONFIG_BYTES};
pub use summary::{api_summary, summary};

use error::Problem;
use fields::Report;

/// Reads the config file at `path` and validates it. A file that cannot be read, or is not a regular
/// file of at most [`MAX_CONFIG_BYTES`], is reported as one [`ConfigError`] without a position.
pub fn load(path: &Path) -> Result<Plant, ConfigErrors> {
    let text =
        read_config_file(path, MAX_CONFIG_BYTES).map_err(|e| ConfigErrors::unreadable(path, &e))?;
    parse(&text, path)
}

/// Validates config `text`; `path` is where it came from (as the user gave it), used in error messages
/// and to resolve the history file relative to the config's folder.
pub fn parse(text: &str, path: &Path) -> Result<Plant, ConfigErrors> {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // A document with syntax errors is only partly understood; checking its contents would add
        // confusing follow-on errors, so report the syntax alone.
        // The parser's recovery often trips again further along the same line (an unclosed array
        // yields a handful); the first error of each line is the one worth reading.
        let lines = error::LineIndex::new(text);
        let mut problems: Vec<Problem> = syntax_errors
            .iter()
            .map(|e| syntax_problem(text, e))
            .collect();
        // A key whose value is broken (`port = = 5`) is also seen as a duplicate of an earlier one;
        // the syntax error is the cause, so on one line it goes before any duplicate key.
        problems.sort_by_key(|p| {
            (
                lines.line(p.span.start),
                p.kind == ConfigErrorKind::Duplicate,
                p.span.start,
            )
        });
        problems.dedup_by_key(|p| lines.line(p.span.start));
        problems.sort_by_key(|p| p.span.start);
        return Err(ConfigErrors::from_problems(path, text, problems)
            .unwrap_or_else(|| unreachable_empty(path)));
    }
    let report = Report::new(text);
    let plant = plant::read_plant(root.get_ref(), path, &report);
    match (
        ConfigErrors::from_problems(path, text, report.into_problems()),
        plant,
    ) {
        (Some(errors), _) => Err(errors),
        (None, Some(plant)) => Ok(plant),
        // Every check that rejects a value reports why, so this means a check forgot to; say so
        // rather than pretend the config is fine.
        (None, None) => Err(unreachable_empty(path)),
    }
}

/// A TOML syntax error as a problem: the parser's message on one line, naming the key it is about when
/// the parser does not.
fn syntax_problem(text: &str, error: &toml::de::Error) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let mut message = error.message().trim().replace('\n', "; ");
    let mut kind = ConfigErrorKind::Syntax;
    if message == "duplicate key" {
        kind = ConfigErrorKind::Duplicate;
        if let Some(key) = text.get(span.clone()).filter(|k| !k.is_empty()) {
            message = format!("duplicate key '{key}'");
        }
    }
    Problem {
        span,
        kind,
        message: format!("TOML syntax: {message}"),
    }
}

fn unreachable_empty(path: &Path) -> ConfigErrors {
    ConfigErrors::internal(path)
}
