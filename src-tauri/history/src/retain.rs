//! Retention: raw samples older than their tag's `keep` leave the file, chunk by chunk, while each chunk's
//! summary row stays (its `data` emptied) so trends over long spans still draw; summary rows older than
//! `keep_summaries` go too. In bounded steps, like sealing and compaction.
//!
//! A chunk's samples go when the whole chunk is older than the keep (its end is), so up to a chunk's
//! span (four hours) more than the keep may stay. Emptying a blob frees its pages inside the file, which
//! SQLite reuses for new chunks: the file stops growing, and is never rewritten.

use std::collections::HashMap;
use std::time::Duration;

use rusqlite::Connection;

use crate::layout::CHUNK_SPAN_MS;

/// How long each tag's raw samples and summaries are kept, in milliseconds (`None`: for ever).
#[derive(Debug, Clone, Default)]
pub(crate) struct RetentionPlan {
    keep: Option<i64>,
    keep_summaries: Option<i64>,
    /// Tags with their own keep, by tag id.
    tag_keep: HashMap<u32, i64>,
}

/// How much one retention step may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetainLimits {
    /// Tags looked at.
    pub tags: u32,
    /// Chunk rows emptied or deleted.
    pub chunks: u32,
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Retained {
    /// Chunks whose raw samples were dropped (their summary rows stay).
    pub emptied: u64,
    /// Chunk rows deleted, summary and all.
    pub deleted: u64,
}

/// Where a retention pass stands: tags from `tag` on are still to do. `now` is the pass's clock, and
/// `since` the previous pass's (chunks whose samples that pass dropped are not looked at again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetainCursor {
    tag: u32,
    now: i64,
    since: Option<i64>,
}

impl RetainCursor {
    /// A pass at `now` (UTC ms), after one at `since`.
    pub(crate) fn start(now: i64, since: Option<i64>) -> RetainCursor {
        RetainCursor { tag: 0, now, since }
    }

    /// The clock of this pass.
    pub(crate) fn now(&self) -> i64 {
        self.now
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl RetentionPlan {
    /// The plan of `keep` and `keep_summaries` with tags' own keeps, by tag id.
    pub(crate) fn new(
        keep: Option<Duration>,
        keep_summaries: Option<Duration>,
        tag_keep: impl IntoIterator<Item = (u32, Duration)>,
    ) -> RetentionPlan {
        RetentionPlan {
            keep: keep.map(ms),
            keep_summaries: keep_summaries.map(ms),
            tag_keep: tag_keep.into_iter().map(|(id, d)| (id, ms(d))).collect(),
        }
    }

    /// True when nothing is ever dropped.
    pub(crate) fn keeps_everything(&self) -> bool {
        self.keep.is_none() && self.tag_keep.is_empty()
    }

    /// How long a tag's raw samples are kept.
    fn raw(&self, tag: u32) -> Option<i64> {
        self.tag_keep.get(&tag).copied().or(self.keep)
    }

    /// How long a tag's summaries are kept: never less than its samples.
    fn summaries(&self, tag: u32) -> Option<i64> {
        Some(self.raw(tag)?.max(self.keep_summaries?))
    }
}

/// Does one retention step of `cursor`'s pass inside the caller's transaction. Returns where the pass
/// goes on (`None`: every tag is done) and what the step did.
pub(crate) fn retain_step(
    conn: &Connection,
    plan: &RetentionPlan,
    mut cursor: RetainCursor,
    limits: RetainLimits,
) -> rusqlite::Result<(Option<RetainCursor>, Retained)> {
    let tags: Vec<u32> = conn
        .prepare_cached("SELECT id FROM tags WHERE id >= ?1 ORDER BY id LIMIT ?2")?
        .query_map((cursor.tag, limits.tags), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut done = Retained::default();
    let mut delete = conn.prepare_cached(
        "DELETE FROM chunks WHERE id IN (SELECT id FROM chunks
             WHERE tag = ?1 AND start < ?2 AND end < ?2 ORDER BY start LIMIT ?3)",
    )?;
    let mut empty = conn.prepare_cached(
        "UPDATE chunks SET data = x'' WHERE id IN (SELECT id FROM chunks
             WHERE tag = ?1 AND start >= ?2 AND start < ?3 AND end < ?3 AND length(data) > 0
             ORDER BY start LIMIT ?4)",
    )?;
    for &tag in &tags {
        let budget = u64::from(limits.chunks).saturating_sub(done.emptied + done.deleted);
        if budget == 0 {
            cursor.tag = tag;
            return Ok((Some(cursor), done));
        }
        let mut changed = 0;
        if let Some(keep) = plan.summaries(tag) {
            let n = delete.execute((tag, cursor.now.saturating_sub(keep), budget as i64))?;
            done.deleted += n as u64;
            changed += n as u64;
        }
        if let Some(keep) = plan.raw(tag) {
            // Chunks older than the previous pass's cut were emptied by it.
            let floor = cursor.since.map_or(i64::MIN, |since| {
                since.saturating_sub(keep).saturating_sub(CHUNK_SPAN_MS)
            });
            let cut = cursor.now.saturating_sub(keep);
            let n = empty.execute((tag, floor, cut, (budget - changed) as i64))?;
            done.emptied += n as u64;
            changed += n as u64;
        }
        if changed >= budget {
            // The tag may have more: the next step starts with it.
            cursor.tag = tag;
            return Ok((Some(cursor), done));
        }
    }
    if tags.len() < limits.tags as usize {
        return Ok((None, done));
    }
    cursor.tag = tags.last().map_or(u32::MAX, |&t| t.saturating_add(1));
    Ok((Some(cursor), done))
}
