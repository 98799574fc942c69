//! Errors of the history store, one variant per cause, each carrying the file it concerns.

use std::path::PathBuf;

use crate::schema::SchemaError;

/// Something went wrong opening, writing or reading a history file.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be opened (or created) as an SQLite database.
    #[error("cannot open history file {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// A reader was asked for a file that does not exist (readers never create one).
    #[error("history file {} does not exist", path.display())]
    Missing { path: PathBuf },
    /// The schema is missing steps that could not be applied, or is newer than this binary.
    #[error("history file {}: {source}", path.display())]
    Schema { path: PathBuf, source: SchemaError },
    /// A statement failed while storing or reading samples.
    #[error("history file {}: {what}: {source}", path.display())]
    Sql {
        path: PathBuf,
        what: &'static str,
        source: rusqlite::Error,
    },
    /// A query named a tag the history file has never stored.
    #[error("unknown tag '{tag}'")]
    UnknownTag { tag: String },
    /// Another process writes this history file (it holds the lock beside it).
    #[error(
        "history file {} is being written by {holder}; one writer per file: stop that one first (export, alarms and trends read alongside it)",
        path.display()
    )]
    Locked { path: PathBuf, holder: String },
    /// The lock file beside the history could not be opened, locked or written.
    #[error("history lock file {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The writer thread stopped unexpectedly (it panicked or could not be started).
    #[error("history writer for {} stopped: {reason}", path.display())]
    WriterStopped { path: PathBuf, reason: String },
}
