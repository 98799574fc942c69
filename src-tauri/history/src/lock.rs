//! One writer per history file: an exclusive lock on a file beside the database (`plant.db.lock`), held
//! by the writer for its whole life.
//!
//! Two collectors, or the desktop and a collector, writing one file would store every sample twice and
//! run two alarm state machines. The lock is taken before anything is written, so the second writer is
//! refused at once, with the holder's process id and command line (which the holder writes into the
//! lock file). The operating system releases the lock when the holder exits, even on `kill -9`; the file
//! itself stays (removing it would let a third process lock a new file while a second still holds the
//! old one). Readers take no lock: WAL lets them read alongside the writer.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::HistoryError;

/// The held lock of a history file; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

/// The lock file of the history file `db`: its name with `.lock` added.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl WriterLock {
    /// Takes the lock of `db` without waiting, and records this process in the lock file. Refuses with
    /// [`HistoryError::Locked`] naming the holder when another writer has it.
    pub(crate) fn acquire(db: &Path) -> Result<WriterLock, HistoryError> {
        let path = lock_path(db);
        let io_err = |source| HistoryError::Lock {
            path: path.clone(),
            source,
        };
        // Not truncated on open: until the lock is ours, the content is the holder's name.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder may be between taking the lock and writing its name: say so rather than wait.
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(HistoryError::Locked {
                    path: db.to_path_buf(),
                    holder: if holder.is_empty() {
                        "another process".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_err(source)),
        }
        let record = (|| {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}", holder_line())?;
            file.sync_data()
        })();
        record.map_err(io_err)?;
        Ok(WriterLock { _file: file })
    }
}

/// How this process names itself in a lock file: `process 1234 (plantwatch collect plant.toml)`.
fn holder_line() -> String {
    let command: Vec<String> = std::env::args().collect();
    format!("process {} ({})", std::process::id(), command.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_one_file_is_refused_naming_the_holder_and_free_again_after_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("plant.db");
        let first = WriterLock::acquire(&db).expect("first lock");
        let err = WriterLock::acquire(&db).expect_err("the file is locked");
        let pid = std::process::id();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "history file {} is being written by process {pid} (",
                db.display()
            )),
            "{text}"
        );
        drop(first);
        WriterLock::acquire(&db).expect("free after the holder let go");
        assert_eq!(lock_path(&db), dir.path().join("plant.db.lock"));
    }
}
