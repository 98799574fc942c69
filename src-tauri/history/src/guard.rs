//! The disk guard: keeps the history's filesystem from filling up.
//!
//! The writer thread asks the filesystem for its free space (`statvfs`) at most every few seconds and
//! before a seal step, never a poll task. Below `min_free` the history disk is *low*: the engine raises
//! the system alarm "history disk low", and the writer seals the log early (compact chunks take a
//! fraction of a log row's bytes). Below the *floor*, half of `min_free`, space is still shrinking: the
//! writer drops the oldest raw samples of every tag, whole chunks at a time, keeping their summary rows
//! (as retention does), until the file holds a reserve of free pages (a sixteenth of `min_free`, or a
//! tenth of the file when less); SQLite writes new samples into those pages, so the file stops growing
//! without being rewritten (no VACUUM). The disk is no longer low once free space is back above
//! `min_free` by a tenth (hysteresis: a disk hovering at the threshold does not make the alarm chatter).
//!
//! The default `min_free` is 2 GB, or a tenth of the filesystem when that is less: a 2 GB reserve on
//! a 4 GB SD card would keep the alarm raised for ever and half the card unused, while a tenth still
//! leaves room for a day of a big plant's growth to be noticed before anything is dropped.

use std::path::Path;

use rusqlite::Connection;

/// The default `min_free` (`[history] min_free`) on a filesystem of 20 GB or more.
pub const DEFAULT_MIN_FREE: u64 = 2_000_000_000;
/// On smaller filesystems the default is this fraction of its size (1/10).
const DEFAULT_MIN_FREE_DIVISOR: u64 = 10;
/// A low disk clears once free space is above `min_free` plus this fraction of it (1/10).
const CLEAR_MARGIN_DIVISOR: u64 = 10;
/// Below the floor, raw samples are dropped until the file has this fraction of `min_free` in free
/// pages (1/16: 125 MB of a 2 GB `min_free`, several minutes of a thousand-device plant's growth)...
const RESERVE_DIVISOR: u64 = 16;
/// ...or this fraction of the file when that is less (1/10), so a file small beside the disk (something
/// else fills it) loses a tenth of its oldest samples at a time, not all of them at once...
const RESERVE_FILE_DIVISOR: u64 = 10;
/// ...and at least this much, so a step frees more than a page or two.
const RESERVE_MIN: u64 = 64 << 10;

/// The filesystem's size and the space an unprivileged writer may still use, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskSpace {
    pub total: u64,
    pub free: u64,
}

/// Reads the space of the filesystem holding `path` (a file or a folder).
pub(crate) fn disk_space(path: &Path) -> std::io::Result<DiskSpace> {
    let vfs = rustix::fs::statvfs(path)?;
    Ok(DiskSpace {
        total: vfs.f_blocks.saturating_mul(vfs.f_frsize),
        // `f_bavail`, not `f_bfree`: the blocks reserved for root are not ours to count on, even when
        // the collector runs as root.
        free: vfs.f_bavail.saturating_mul(vfs.f_frsize),
    })
}

/// How the history disk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DiskLevel {
    /// Enough free space (or it is back above `min_free` by the margin).
    #[default]
    Plenty,
    /// Below `min_free` (or not back above it by the margin yet): the alarm is raised.
    Low,
    /// Below the floor (half of `min_free`): the oldest raw samples go.
    Shrinking,
}

/// The thresholds of one filesystem, resolved from `[history] min_free` and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thresholds {
    pub min_free: u64,
}

impl Thresholds {
    /// The configured `min_free`, or the default for a filesystem of `total` bytes.
    pub(crate) fn new(configured: Option<u64>, total: u64) -> Thresholds {
        let min_free =
            configured.unwrap_or_else(|| DEFAULT_MIN_FREE.min(total / DEFAULT_MIN_FREE_DIVISOR));
        Thresholds { min_free }
    }

    /// Half of `min_free`: below it raw samples are dropped.
    pub(crate) fn floor(&self) -> u64 {
        self.min_free / 2
    }

    /// How much free space inside a file of `file` bytes the writer keeps below the floor.
    pub(crate) fn reserve(&self, file: u64) -> u64 {
        (self.min_free / RESERVE_DIVISOR)
            .min(file / RESERVE_FILE_DIVISOR)
            .max(RESERVE_MIN)
    }

    /// The level at `free` bytes, coming from `was`.
    pub(crate) fn level(&self, free: u64, was: DiskLevel) -> DiskLevel {
        if free < self.floor() {
            return DiskLevel::Shrinking;
        }
        if free < self.min_free {
            return DiskLevel::Low;
        }
        let clear = self
            .min_free
            .saturating_add(self.min_free / CLEAR_MARGIN_DIVISOR);
        if was != DiskLevel::Plenty && free < clear {
            return DiskLevel::Low;
        }
        DiskLevel::Plenty
    }
}

/// What one shedding step dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shed {
    /// Chunks whose raw samples were dropped (their summaries stay).
    pub chunks: u64,
    /// Samples in them.
    pub samples: u64,
    /// Bytes of sample data freed.
    pub bytes: u64,
    /// The earliest start and latest end of those chunks (UTC ms).
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// The file's size and the bytes of its free pages (where new samples go before the file grows).
pub(crate) fn file_pages(conn: &Connection) -> rusqlite::Result<(u64, u64)> {
    let count = |pragma: &str| -> rusqlite::Result<u64> {
        let n: i64 = conn.query_row(pragma, [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let size = count("PRAGMA page_size")?;
    Ok((
        count("PRAGMA page_count")?.saturating_mul(size),
        count("PRAGMA freelist_count")?.saturating_mul(size),
    ))
}

/// Drops the raw samples of the oldest chunks across all tags (by start), keeping their summary rows,
/// until about `bytes` of sample data are freed or `max_chunks` are emptied, inside the caller's
/// transaction. The chunks are found by a scan of the chunk table (no index orders it by time): a
/// step runs only while the disk is below the floor and the file's free pages are used up.
pub(crate) fn shed_step(conn: &Connection, bytes: u64, max_chunks: u32) -> rusqlite::Result<Shed> {
    let oldest: Vec<(i64, i64, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT id, start, end, count, length(data) FROM chunks WHERE length(data) > 0
             ORDER BY start LIMIT ?1",
        )?
        .query_map([max_chunks], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut empty = conn.prepare_cached("UPDATE chunks SET data = x'' WHERE id = ?1")?;
    let mut shed = Shed::default();
    for (id, start, end, count, length) in oldest {
        if shed.bytes >= bytes {
            break;
        }
        empty.execute([id])?;
        shed.chunks += 1;
        shed.samples += u64::try_from(count).unwrap_or(0);
        shed.bytes += u64::try_from(length).unwrap_or(0);
        shed.from = Some(shed.from.map_or(start, |f| f.min(start)));
        shed.until = Some(shed.until.map_or(end, |u| u.max(end)));
    }
    Ok(shed)
}

#[cfg(test)]
mod tests {
    use super::{DiskLevel, Thresholds, DEFAULT_MIN_FREE};

    const MB: u64 = 1_000_000;

    #[test]
    fn the_default_is_two_gigabytes_or_a_tenth_of_a_smaller_filesystem() {
        assert_eq!(
            Thresholds::new(None, 500_000 * MB).min_free,
            DEFAULT_MIN_FREE
        );
        assert_eq!(Thresholds::new(None, 4_000 * MB).min_free, 400 * MB);
        assert_eq!(Thresholds::new(Some(64 * MB), 4_000 * MB).min_free, 64 * MB);
    }

    #[test]
    fn a_disk_is_low_below_min_free_shrinking_below_half_and_clears_a_tenth_above() {
        let t = Thresholds::new(Some(100 * MB), 1_000 * MB);
        use DiskLevel::*;
        // (free MB, level before, level after)
        let steps = [
            (200, Plenty, Plenty),
            (100, Plenty, Plenty),
            (99, Plenty, Low),
            (50, Low, Low),
            (49, Low, Shrinking),
            (60, Shrinking, Low),
            (105, Low, Low),
            (109, Shrinking, Low),
            (110, Low, Plenty),
            (105, Plenty, Plenty),
        ];
        for (free, was, expected) in steps {
            assert_eq!(
                t.level(free * MB, was),
                expected,
                "{free} MB free after {was:?}"
            );
        }
    }

    #[test]
    fn the_reserve_below_the_floor_is_a_sixteenth_of_min_free_or_a_tenth_of_a_smaller_file() {
        let t = Thresholds::new(Some(2_000 * MB), 100_000 * MB);
        assert_eq!(t.reserve(50_000 * MB), 125 * MB);
        assert_eq!(t.reserve(300 * MB), 30 * MB);
        assert_eq!(t.reserve(100_000), 64 << 10, "never less than 64 KiB");
    }

    #[test]
    fn a_min_free_of_zero_never_raises_anything() {
        let t = Thresholds::new(Some(0), 1_000 * MB);
        assert_eq!(t.level(0, DiskLevel::Plenty), DiskLevel::Plenty);
        assert_eq!(t.level(0, DiskLevel::Low), DiskLevel::Plenty);
    }
}
