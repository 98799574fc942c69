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
/// the rollup is written from memory instead of re-reading the samples).
#[derive(Clone, Copy)]
struct MinuteTotals {
    count: i64,
    not_good: i64,
    min: Option<f64>,
    max: Option<f64>,
    sum: f64,
    first: Option<f64>,
    last: Option<f64>,
    /// Time of the last sample added (to notice replacements and samples out of order).
    last_time: i64,
}

impl MinuteTotals {
    fn new() -> MinuteTotals {
        MinuteTotals {
            count: 0,
            not_good: 0,
            min: None,
            max: None,
            sum: 0.0,
            first: None,
            last: None,
            last_time: i64::MIN,
        }
    }

    fn add(&mut self, time: i64, good_value: Option<f64>, good: bool) {
        self.last_time = time;
        if !good {
            self.not_good += 1;
            return;
        }
        let Some(v) = good_value else { return };
        self.count += 1;
        self.sum += v;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.first.get_or_insert(v);
        self.last = Some(v);
    }
}

/// The rollup state of one tag.
struct TagRollup {
    /// The tag's database id.
    id: i64,
    /// Every minute below this is rolled up (the stored `rollup_until`).
    until: i64,
    /// The minute being written into (always equal to `until` when set); not rolled up yet.
    open: Option<i64>,
    /// `until` moved and must be stored.
    moved: bool,
    /// Totals of the open minute, while they are known to be exact.
    totals: Option<MinuteTotals>,
}

/// The writer's rollup bookkeeping for every plant tag, by plant tag index.
pub(crate) struct Rollups {
    tags: Vec<TagRollup>,
    /// Minutes to roll up from their samples in the next transaction: (tag id, minute start).
    due: BTreeSet<(i64, i64)>,
    /// Minutes rolled up from memory, to write in the next transaction: (tag id, minute start, totals).
    ready: Vec<(i64, i64, MinuteTotals)>,
}

impl Rollups {
    /// Reads each tag's watermark and rolls up whatever a previous writer left open (after a crash), so
    /// that every stored sample is either below the watermark or in the tag's open minute.
    pub(crate) fn load(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Rollups> {
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
            // An open minute found here was partly written by an earlier writer: it has no totals, so it
            // is rolled up from its samples when it closes.
            let mut tag = TagRollup {
                id,
                until,
                open: None,
                moved: false,
                totals: None,
            };
            if let Some(latest) = latest.filter(|&t| t >= until) {
                let open = rollup_start(latest);
                // Minutes between the watermark and the open one were left by a writer that was killed.
                let mut rows = times.query((id, until, open))?;
                while let Some(row) = rows.next()? {
                    rollups.due.insert((id, rollup_start(row.get(0)?)));
                }
                tag.until = open;
                tag.open = Some(open);
                tag.moved = tag.until != until;
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
        if tag.open.is_some_and(|open| minute > open) {
            close_open(tag, &mut self.due, &mut self.ready);
        }
        if tag.open.is_none() {
            tag.open = Some(minute);
            tag.until = minute;
            tag.moved = true;
            tag.totals = Some(MinuteTotals::new());
        }
        // A sample at or before the last one replaces a sample or comes out of order: the totals can no
        // longer be trusted, so the minute is rolled up from its samples instead.
        if tag.totals.is_some_and(|t| time <= t.last_time) {
            tag.totals = None;
        }
        if let Some(totals) = &mut tag.totals {
            totals.add(time, good_value, good);
        }
    }

    /// Closes every open minute (the writer is stopping): roll them up and move the watermarks past them.
    pub(crate) fn close_all(&mut self) {
        for tag in &mut self.tags {
            if let Some(open) = tag.open {
                close_open(tag, &mut self.due, &mut self.ready);
                tag.until = open + ROLLUP_MS;
                tag.moved = true;
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
        for (id, start, t) in &self.ready {
            insert.execute((
                id, start, t.count, t.not_good, t.min, t.max, t.sum, t.first, t.last,
            ))?;
        }
        // After the totals, so that a minute also due from samples (a late sample arrived) ends up exact.
        let mut roll_up = conn.prepare_cached(ROLL_UP)?;
        for &(id, start) in &self.due {
            roll_up.execute((id, start, start + ROLLUP_MS))?;
        }
        let mut set_until =
            conn.prepare_cached("UPDATE tags SET rollup_until = ?2 WHERE id = ?1")?;
        for tag in self.tags.iter().filter(|t| t.moved) {
            set_until.execute((tag.id, tag.until))?;
        }
        Ok(())
    }

    /// The transaction holding [`Self::write`] committed.
    pub(crate) fn committed(&mut self) {
        self.due.clear();
        self.ready.clear();
        for tag in &mut self.tags {
            tag.moved = false;
        }
    }
}

/// Queues the roll-up of a tag's open minute: from its totals when they are exact, else from samples.
fn close_open(
    tag: &mut TagRollup,
    due: &mut BTreeSet<(i64, i64)>,
    ready: &mut Vec<(i64, i64, MinuteTotals)>,
) {
    let Some(open) = tag.open.take() else { return };
    match tag.totals.take() {
        Some(totals) => ready.push((tag.id, open, totals)),
        None => {
            due.insert((tag.id, open));
        }
    }
}
