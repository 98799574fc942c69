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
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        let mut file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                // A lock file this user may not write: typically the collector service's, under
                // /var/lib/plantwatch. Name its holder if it is running, which says more than "denied".
                return Err(held_by(db, &path).unwrap_or(io_err(e)));
            }
            Err(e) => return Err(io_err(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(locked(db, &mut file)),
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

/// The refusal naming the holder of the locked `file` (the holder may be between taking the lock and
/// writing its name: then it is "another process", rather than a wait).
fn locked(db: &Path, file: &mut File) -> HistoryError {
    let mut holder = String::new();
    let _ = file.read_to_string(&mut holder);
    let holder = holder.trim();
    HistoryError::Locked {
        path: db.to_path_buf(),
        holder: if holder.is_empty() {
            "another process".to_string()
        } else {
            holder.to_string()
        },
    }
}

/// For a lock file this process may read but not write: the refusal naming its holder when a writer
/// holds it (an exclusive lock can be tried through a read-only handle), `None` when nobody does or it
/// cannot be read.
fn held_by(db: &Path, path: &Path) -> Option<HistoryError> {
    let mut file = File::open(path).ok()?;
    match file.try_lock() {
        Err(TryLockError::WouldBlock) => Some(locked(db, &mut file)),
        // Free (released again as `file` closes) or unknown: the caller's own error says more.
        Ok(()) | Err(TryLockError::Error(_)) => None,
    }
}

/// How this process names itself in a lock file: `process 1234 (plantwatch collect plant.toml)`, and
/// the systemd service it runs as, if any (`... as service plantwatch-collect@lift4.service`), so a
/// user opening the file in the window learns which service to stop.
fn holder_line() -> String {
    let command: Vec<String> = std::env::args().collect();
    let mut line = format!("process {} ({})", std::process::id(), command.join(" "));
    if let Some(unit) = systemd_unit() {
        line.push_str(&format!(" as service {unit}"));
    }
    line
}

/// The systemd service this process runs in: systemd sets `INVOCATION_ID` for a unit's processes, and
/// the unit is the last part of the process's cgroup path (`0::/system.slice/.../NAME.service`).
fn systemd_unit() -> Option<String> {
    std::env::var_os("INVOCATION_ID")?;
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    unit_of_cgroup(&cgroup)
}

fn unit_of_cgroup(cgroup: &str) -> Option<String> {
    cgroup
        .lines()
        .filter_map(|line| line.rsplit('/').next())
        .find(|last| last.ends_with(".service"))
        .map(str::to_string)
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

    /// A user who may not write the collector service's lock file still learns who holds it. (Tests run
    /// as root in CI, which may write any file, so this calls the read-only probe directly.)
    #[test]
    fn a_lock_file_this_user_cannot_write_still_names_its_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("plant.db");
        let path = lock_path(&db);
        assert!(
            held_by(&db, &path).is_none(),
            "no lock file: nothing to name"
        );
        let held = WriterLock::acquire(&db).expect("first lock");
        let err = held_by(&db, &path).expect("held");
        assert!(
            err.to_string()
                .contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        drop(held);
        assert!(held_by(&db, &path).is_none(), "free again");
    }

    #[test]
    fn a_collector_run_by_systemd_names_its_service() {
        let cgroup = "0::/system.slice/system-plantwatch\\x2dcollect.slice/plantwatch-collect@lift4.service\n";
        assert_eq!(
            unit_of_cgroup(cgroup).as_deref(),
            Some("plantwatch-collect@lift4.service")
        );
        assert_eq!(
            unit_of_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
    }
}
