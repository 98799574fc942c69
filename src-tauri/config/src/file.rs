//! Reading a plant file safely: only a regular file, only up to a size limit. A path to a FIFO would
//! block forever on open, `/dev/zero` would never end, and a 2 GB file would be read whole into memory
//! before anything could say it is not a plant.

use std::io::Read;
use std::path::Path;

/// The largest plant file read: 256 MiB, room for a few million tags.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024 * 1024;

/// Why a plant file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    /// Missing, unreadable, not UTF-8.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// A directory, FIFO, socket or device, checked before opening (opening a FIFO blocks).
    #[error("not a regular file ({0}); a plant is a TOML file")]
    NotAFile(&'static str),
    /// Larger than [`MAX_CONFIG_BYTES`].
    #[error("{size} bytes, more than the {limit} a plant file may have")]
    TooLarge { size: u64, limit: u64 },
}

/// Reads the plant file at `path` whole, when it is a regular file of at most `limit` bytes.
pub fn read_config_file(path: &Path, limit: u64) -> Result<String, ReadFileError> {
    let bytes = read_regular_file(path, limit)?;
    String::from_utf8(bytes)
        .map_err(|e| ReadFileError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Reads the file at `path` whole, when it is a regular file of at most `limit` bytes (a tag list
/// too is never read from a FIFO or without bound).
pub(crate) fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadFileError> {
    // `metadata` follows links and does not open the file, so a FIFO never blocks us here.
    let meta = std::fs::metadata(path)?;
    check_kind(&meta)?;
    if meta.len() > limit {
        return Err(ReadFileError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let file = std::fs::File::open(path)?;
    // The path may have been swapped between the two looks; judge what was opened.
    check_kind(&file.metadata()?)?;
    let mut bytes = Vec::new();
    // A file that grows while read stops one byte past the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    let size = bytes.len() as u64;
    if size > limit {
        return Err(ReadFileError::TooLarge { size, limit });
    }
    Ok(bytes)
}

fn check_kind(meta: &std::fs::Metadata) -> Result<(), ReadFileError> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a file"
    };
    Err(ReadFileError::NotAFile(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// Every refusal comes at once: nothing is opened that could block, nothing big is read.
    fn refused_quickly(path: &Path) -> ReadFileError {
        let started = Instant::now();
        let error = read_config_file(path, MAX_CONFIG_BYTES).expect_err("refused");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{error} took {:?}",
            started.elapsed()
        );
        error
    }

    #[test]
    fn a_fifo_is_refused_without_opening_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("plant.toml");
        let made = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        let error = refused_quickly(&fifo);
        assert_eq!(
            error.to_string(),
            "not a regular file (a FIFO); a plant is a TOML file"
        );
    }

    #[test]
    fn dev_zero_is_refused() {
        let error = refused_quickly(Path::new("/dev/zero"));
        assert!(
            matches!(error, ReadFileError::NotAFile("a device")),
            "{error}"
        );
    }

    #[test]
    fn a_big_sparse_file_is_refused_by_its_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("plant.toml");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(2 * 1024 * 1024 * 1024)
            .expect("a 2 GB sparse file");
        let error = refused_quickly(&big);
        assert!(
            matches!(
                error,
                ReadFileError::TooLarge {
                    size: 2147483648,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn a_directory_is_refused_and_a_small_file_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(
            refused_quickly(dir.path()),
            ReadFileError::NotAFile("a directory")
        ));
        let file = dir.path().join("plant.toml");
        std::fs::write(&file, "[plant]\nname = \"x\"\n").expect("write");
        assert_eq!(
            read_config_file(&file, 100).expect("read"),
            "[plant]\nname = \"x\"\n"
        );
        assert!(matches!(
            read_config_file(&file, 5),
            Err(ReadFileError::TooLarge { size: 19, limit: 5 })
        ));
    }
}
