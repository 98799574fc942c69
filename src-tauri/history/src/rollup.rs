//! Per-minute rollups (count, not-good count, min, max, sum, first, last of each tag's good values), kept by
//! the writer so trends over days read thousands of rollup rows instead of millions of samples.
//!
//! Each tag has a watermark, `tags.rollup_until`: every minute below it is rolled up, and the rollups
//! there are exact (a late sample into such a minute rolls that minute up again in the same transaction).
//! The minute the tag is writing into (its "open" minute, at the watermark) is rolled up once a sample of
//! a later minute arrives, or when the writer closes. After a `kill -9`, the next writer rolls up what the
//! killed one left open. Readers use rollups only below the watermark and raw samples above it.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension};

use crate::layout::{rollup_start, ROLLUP_MS};

/// Rolls up one minute of one tag from its raw samples (replacing an earlier rollup of it).
const ROLL_UP: &str =
    "INSERT OR REPLACE INTO rollups (tag, start, count, not_good, min, max, sum, first, last)
    SELECT ?1, ?2,
           count(value) FILTER (WHERE quality = 0),
           count(*) FILTER (WHERE quality <> 0),
           min(value) FILTER (WHERE quality = 0),
           max(value) FILTER (WHERE quality = 0),
           total(value) FILTER (WHERE quality = 0),
           (SELECT value FROM samples WHERE tag = ?1 AND time >= ?2 AND time < ?3
              AND quality = 0 AND value IS NOT NULL ORDER BY time LIMIT 1),
           (SELECT value FROM samples WHERE tag = ?1 AND time >= ?2 AND time < ?3
              AND quality = 0 AND value IS NOT NULL ORDER BY time DESC LIMIT 1)
    FROM samples WHERE tag = ?1 AND time >= ?2 AND time < ?3";

/// Running totals of a tag's open minute, while this writer has seen every sample of it in time order (so
/// the rollup is written from memory instead of re-reading the samples). Kept small (48 bytes; a plant may
/// have a million tags): `min`, `max`, `first` and `last` mean something only when `count > 0`.
#[derive(Clone, Copy)]
struct MinuteTotals {
    count: u32,
    not_good: u32,
    min: f64,
    max: f64,
    sum: f64,
    first: f64,
    last: f64,
}

impl MinuteTotals {
    const EMPTY: MinuteTotals = MinuteTotals {
        count: 0,
        not_good: 0,
        min: 0.0,
        max: 0.0,
        sum: 0.0,
        first: 0.0,
        last: 0.0,
    };

    fn add(&mut self, good_value: Option<f64>, good: bool) {
        if !good {
            self.not_good = self.not_good.saturating_add(1);
            return;
        }
        let Some(v) = good_value else { return };
        if self.count == 0 {
            (self.min, self.max, self.first) = (v, v, v);
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count = self.count.saturating_add(1);
        self.sum += v;
        self.last = v;
    }

    /// A stored column that has a value only when some good value was seen.
    fn when_counted(&self, v: f64) -> Option<f64> {
        (self.count > 0).then_some(v)
    }
}

/// The tag's open minute is set (it starts at `until`).
const OPEN: u8 = 1;
/// `until` moved and must be stored.
const MOVED: u8 = 2;
/// The totals of the open minute are exact (every sample of it was seen here, in time order).
const EXACT: u8 = 4;
/// No sample has been added to the open minute yet (`last_ms` means nothing).
const FRESH: u8 = 8;

/// The rollup state of one tag: 64 bytes, one per plant tag.
struct TagRollup {
    /// Totals of the open minute, while they are known to be exact (flag `EXACT`).
    totals: MinuteTotals,
    /// Every minute below this is rolled up (the stored `rollup_until`). When the tag has an open minute,
    /// it is this one.
    until: i64,
    /// The tag's database id.
    id: u32,
    /// Milliseconds into the open minute of the last sample added (to notice replacements and samples
    /// out of order).
    last_ms: u16,
    /// `OPEN`, `MOVED`, `EXACT`.
    flags: u8,
}

impl TagRollup {
    fn is(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }
}

/// A minute rolled up from memory, to write in the next transaction.
struct ReadyMinute {
    id: u32,
    start: i64,
    totals: MinuteTotals,
}

/// The writer's rollup bookkeeping for every plant tag, by plant tag index.
pub(crate) struct Rollups {
    tags: Vec<TagRollup>,
    /// Minutes to roll up from their samples in the next transaction: (tag id, minute start).
    due: BTreeSet<(u32, i64)>,
    /// Minutes rolled up from memory, to write in the next transaction.
    ready: Vec<ReadyMinute>,
}

impl Rollups {
    /// Reads each tag's watermark and rolls up whatever a previous writer left open (after a crash), so
    /// that every stored sample is either below the watermark or in the tag's open minute.
    pub(crate) fn load(conn: &Connection, ids: &[u32]) -> rusqlite::Result<Rollups> {
        let mut rollups = Rollups {
            tags: Vec::with_capacity(ids.len()),
            due: BTreeSet::new(),
            ready: Vec::new(),
        };
        let mut watermark = conn.prepare("SELECT rollup_until FROM tags WHERE id = ?1")?;
        let mut latest = conn.prepare("SELECT max(time) FROM samples WHERE tag = ?1")?;
        let mut times =
            conn.prepare("SELECT time FROM samples WHERE tag = ?1 AND time >= ?2 AND time < ?3")?;
        for &id in ids {
            let until: i64 = watermark.query_row([id], |r| r.get(0))?;
            let latest: Option<i64> = latest.query_row([id], |r| r.get(0)).optional()?.flatten();
            // An open minute found here was partly written by an earlier writer: it has no exact totals,
            // so it is rolled up from its samples when it closes.
            let mut tag = TagRollup {
                totals: MinuteTotals::EMPTY,
                until,
                id,
                last_ms: 0,
                flags: 0,
            };
            if let Some(latest) = latest.filter(|&t| t >= until) {
                let open = rollup_start(latest);
                // Minutes between the watermark and the open one were left by a writer that was killed.
                let mut rows = times.query((id, until, open))?;
                while let Some(row) = rows.next()? {
                    rollups.due.insert((id, rollup_start(row.get(0)?)));
                }
                tag.until = open;
                tag.set(OPEN, true);
                tag.set(MOVED, open != until);
            }
            rollups.tags.push(tag);
        }
        Ok(rollups)
    }

    /// Notes a stored sample of plant tag `index` at `time`: its number when its quality is good, and
    /// whether it is good (call in time order per tag within a batch).
    pub(crate) fn observe(&mut self, index: usize, time: i64, good_value: Option<f64>, good: bool) {
        let Some(tag) = self.tags.get_mut(index) else {
            return;
        };
        let minute = rollup_start(time);
        if minute < tag.until {
            // A late sample into a rolled-up minute: roll it up again from its samples.
            self.due.insert((tag.id, minute));
            return;
        }
        if tag.is(OPEN) && minute > tag.until {
            close_open(tag, &mut self.due, &mut self.ready);
        }
        // Milliseconds into the minute, below 60,000: fits a u16.
        let ms = (time - minute) as u16;
        if !tag.is(OPEN) {
            tag.until = minute;
            tag.totals = MinuteTotals::EMPTY;
            tag.flags = OPEN | MOVED | EXACT | FRESH;
        }
        // A sample at or before the last one replaces a sample or comes out of order: the totals can no
        // longer be trusted, so the minute is rolled up from its samples instead.
        if !tag.is(FRESH) && ms <= tag.last_ms {
            tag.set(EXACT, false);
        }
        tag.set(FRESH, false);
        tag.last_ms = ms;
        if tag.is(EXACT) {
            tag.totals.add(good_value, good);
        }
    }

    /// Closes every open minute (the writer is stopping): roll them up and move the watermarks past them.
    pub(crate) fn close_all(&mut self) {
        for tag in &mut self.tags {
            if tag.is(OPEN) {
                let open = tag.until;
                close_open(tag, &mut self.due, &mut self.ready);
                tag.until = open + ROLLUP_MS;
                tag.set(MOVED, true);
            }
        }
    }

    /// Writes the due rollups and moved watermarks inside the caller's transaction. The bookkeeping is
    /// cleared only by [`Self::committed`], so a failed transaction is retried whole.
    pub(crate) fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut insert = conn.prepare_cached(
            "INSERT OR REPLACE INTO rollups (tag, start, count, not_good, min, max, sum, first, last)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for ReadyMinute {
            id,
            start,
            totals: t,
        } in &self.ready
        {
            insert.execute((
                id,
                start,
                t.count,
                t.not_good,
                t.when_counted(t.min),
                t.when_counted(t.max),
                t.sum,
                t.when_counted(t.first),
                t.when_counted(t.last),
            ))?;
        }
        // After the totals, so that a minute also due from samples (a late sample arrived) ends up exact.
        let mut roll_up = conn.prepare_cached(ROLL_UP)?;
        for &(id, start) in &self.due {
            roll_up.execute((id, start, start + ROLLUP_MS))?;
        }
        let mut set_until =
            conn.prepare_cached("UPDATE tags SET rollup_until = ?2 WHERE id = ?1")?;
        for tag in self.tags.iter().filter(|t| t.is(MOVED)) {
            set_until.execute((tag.id, tag.until))?;
        }
        Ok(())
    }

    /// The transaction holding [`Self::write`] committed.
    pub(crate) fn committed(&mut self) {
        self.due.clear();
        self.ready.clear();
        for tag in &mut self.tags {
            tag.set(MOVED, false);
        }
    }
}

/// Queues the roll-up of a tag's open minute (at `until`): from its totals when they are exact, else from
/// its samples. The tag has no open minute afterwards.
fn close_open(tag: &mut TagRollup, due: &mut BTreeSet<(u32, i64)>, ready: &mut Vec<ReadyMinute>) {
    if !tag.is(OPEN) {
        return;
    }
    if tag.is(EXACT) {
        ready.push(ReadyMinute {
            id: tag.id,
            start: tag.until,
            totals: tag.totals,
        });
    } else {
        due.insert((tag.id, tag.until));
    }
    tag.set(OPEN, false);
    tag.set(EXACT, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tags_rollup_state_stays_within_64_bytes() {
        // A million-tag plant keeps one of these per tag: 64 MB, not the 150 MB of a struct of options.
        assert!(std::mem::size_of::<TagRollup>() <= 64);
        assert!(std::mem::size_of::<ReadyMinute>() <= 64);
    }
}
