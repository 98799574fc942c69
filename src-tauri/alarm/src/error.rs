//! What can go wrong in the alarm part: an operator action that cannot be applied, or the journal failing.

use std::path::PathBuf;

/// An alarm error. Operator mistakes (unknown alarm, missing user or reason) are kept apart from journal
/// failures so the UI can show the first kind next to the button and the second as a system fault.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    /// Every operator action must say who did it.
    #[error("an operator action needs a user name")]
    MissingUser,
    /// The action named an alarm the plant does not have.
    #[error("no alarm {0} in this plant")]
    UnknownAlarm(String),
    /// Shelving hides an alarm from the operator, so ISA-18.2 asks for the reason.
    #[error("shelving {0} needs a reason (the comment)")]
    ShelveWithoutReason(String),
    /// A shelve must last some time; the cap is applied separately.
    #[error("shelving {0} needs a duration longer than zero")]
    ShelveWithoutDuration(String),
    #[error("{0} is not shelved")]
    NotShelved(String),
    #[error("{0} is already out of service")]
    AlreadyOutOfService(String),
    #[error("{0} is not out of service")]
    NotOutOfService(String),
    /// A reader was pointed at a database file that does not exist (readers never create one).
    #[error("alarm journal {}: no such file", path.display())]
    Missing { path: PathBuf },
    /// The journal database could not be opened, read or written.
    #[error("alarm journal {}: {source}", path.display())]
    Journal {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The journal's schema could not be created or is too new for this binary.
    #[error("alarm journal {}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    /// A journal row holds something this version cannot read back (for example an unknown kind).
    #[error("alarm journal {}: unreadable row: {message}", path.display())]
    BadRow { path: PathBuf, message: String },
    /// An operator action could not be journaled (database locked, disk full), so it was taken back:
    /// the alarms are as they were, and the operator may try again.
    #[error("not done: the action could not be recorded in the alarm journal ({0}); the alarms are unchanged, try again")]
    NotJournaled(#[source] Box<AlarmError>),
    /// The alarm service's thread is gone (it stopped or panicked).
    #[error("the alarm service is not running")]
    ServiceStopped,
    /// The alarm service's thread could not be started.
    #[error("could not start the alarm service thread: {0}")]
    Spawn(#[source] std::io::Error),
}
