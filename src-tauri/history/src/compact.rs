//! Compaction: a tag's adjacent small chunks merged into full ones, in bounded steps.
//!
//! A seal writes a chunk per tag for what the log held (about four hours live, a minute while the disk
//! is low, any stretch on close), where a chunk may hold four hours (`CHUNK_SPAN_MS`) and 8,192 samples
//! (`CHUNK_MAX_SAMPLES`), so a tag's chunks can be smaller than they may be. The
//! writer walks the chunks in `(tag, start)` order, a pass at a time, and merges each run of adjacent
//! chunks of a tag that fit in one chunk together. A writer's first pass looks at every chunk; a pass
//! after a seal only at the tags with chunks written since the last pass, from a chunk span before the first
//! of those ([`CompactScope`]), so it costs what the seal added rather than the whole file.
//!
//! A step is one transaction of the caller's: it reads at most [`CompactLimits::rows`] chunk rows (their
//! small columns only) and merges at most about [`CompactLimits::samples`] samples, deleting the chunks
//! of a run and inserting their merge. Readers see the chunks before or after, never a gap or a sample
//! twice; a step that fails or is killed rolls back and loses nothing. Merged chunks are written compact
//! (chunks of older files decode whatever their run), with summaries recomputed from their samples.

use rusqlite::Connection;

use crate::codec::Rec;
use crate::layout::{CHUNK_MAX_SAMPLES, CHUNK_SPAN_MS};
use crate::store;

/// How much one compaction step may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompactLimits {
    /// Chunk rows read (their summaries, not their data) to find runs to merge.
    pub rows: u32,
    /// Samples decoded and rewritten; a run is never split, so a step may pass this by one run
    /// (at most four hours of a tag, or about 8,192 samples of a numeric one).
    pub samples: u64,
}

/// Where a compaction pass stands: chunks after `(tag, start)` are still to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompactCursor {
    tag: u32,
    start: i64,
}

impl CompactCursor {
    /// The beginning of a pass: every chunk is still to look at.
    pub(crate) const START: CompactCursor = CompactCursor {
        tag: 0,
        start: i64::MIN,
    };
}

/// Which chunks a pass looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompactScope {
    /// Every chunk: a writer's first pass (chunks an older writer or Plantwatch left small).
    All,
    /// The chunks of the tags that got new ones since a pass, each from a chunk's span before its first
    /// new one, by tag ascending: a pass after a seal reads what the seal added, not the whole file.
    Tags(Vec<(u32, i64)>),
}

impl CompactScope {
    /// The tags with chunks whose id is above `id` (chunks written since), as [`CompactScope::Tags`].
    pub(crate) fn since(conn: &Connection, id: i64) -> rusqlite::Result<CompactScope> {
        // The new chunks by rowid (the seal's rows, read from where they were appended), grouped here:
        // SQLite would group them by walking the whole `(tag, start)` index, every chunk of the file.
        let mut stmt =
            conn.prepare_cached("SELECT tag, start FROM chunks NOT INDEXED WHERE id > ?1")?;
        let mut tags = stmt
            .query_map([id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tags.sort_unstable();
        tags.dedup_by_key(|(tag, _)| *tag);
        for (_, start) in &mut tags {
            *start = start.saturating_sub(CHUNK_SPAN_MS);
        }
        Ok(CompactScope::Tags(tags))
    }
}

/// The highest chunk id there is (0 without chunks): chunks written later have higher ones.
pub(crate) fn last_chunk_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM chunks", [], |r| r.get(0))
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Compacted {
    /// Chunks taken out (merged into `written`).
    pub removed: u64,
    /// Chunks written in their place.
    pub written: u64,
    /// Samples decoded and rewritten.
    pub samples: u64,
}

/// A chunk row's small columns.
struct ChunkRow {
    id: i64,
    tag: u32,
    start: i64,
    end: i64,
    /// Samples it holds at least (good numbers and not-good samples; good texts and empty values are
    /// not counted in a summary).
    samples: u64,
    /// Its samples were dropped by retention (`data` is empty): only its summary is left, which a merge
    /// would lose.
    summary_only: bool,
}

/// Does one compaction step from `cursor` inside the caller's transaction. Returns where the pass goes on,
/// `None` when it has looked at every chunk, and what the step did.
pub(crate) fn compact_step(
    conn: &Connection,
    scope: &CompactScope,
    cursor: CompactCursor,
    limits: CompactLimits,
) -> rusqlite::Result<(Option<CompactCursor>, Compacted)> {
    let (rows, resume) = chunk_rows(conn, scope, cursor, limits.rows)?;
    let page_full = resume.is_some();
    let mut done = Compacted::default();
    let mut groups = runs_to_merge(&rows).peekable();
    // The last run of a full page may go on in the next page: it is left for the next step, which starts
    // at its first chunk. (A page of one run only cannot happen with `rows` above a chunk span's chunks:
    // four hours of seals, 240 even at the low-disk guard's minute.)
    let mut next = None;
    while let Some(group) = groups.next() {
        let is_last = groups.peek().is_none();
        if page_full && is_last && group.len() < rows.len() {
            next = Some(before(&group[0]));
            break;
        }
        if done.samples >= limits.samples {
            next = Some(before(&group[0]));
            break;
        }
        if group.len() > 1 {
            merge(conn, group, &mut done)?;
        }
    }
    Ok((next.or(resume), done))
}

/// The cursor just before a chunk, so the next step looks at it first.
fn before(row: &ChunkRow) -> CompactCursor {
    CompactCursor {
        tag: row.tag,
        start: row.start.saturating_sub(1),
    }
}

/// The cursor just after a chunk.
fn after(row: &ChunkRow) -> CompactCursor {
    CompactCursor {
        tag: row.tag,
        start: row.start,
    }
}

fn chunk_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkRow> {
    Ok(ChunkRow {
        id: r.get(0)?,
        tag: r.get(1)?,
        start: r.get(2)?,
        end: r.get(3)?,
        samples: r.get::<_, i64>(4)?.max(0) as u64,
        summary_only: r.get(5)?,
    })
}

/// The next chunk rows of the scope after `cursor`, in `(tag, start)` order: at most `limit` rows, read
/// with at most `limit` index seeks. Returns them and, when the scope may hold more, where to go on.
fn chunk_rows(
    conn: &Connection,
    scope: &CompactScope,
    cursor: CompactCursor,
    limit: u32,
) -> rusqlite::Result<(Vec<ChunkRow>, Option<CompactCursor>)> {
    let tags = match scope {
        CompactScope::All => {
            let mut stmt = conn.prepare_cached(
                "SELECT id, tag, start, end, count + not_good, length(data) = 0 FROM chunks
                 WHERE (tag, start) > (?1, ?2) ORDER BY tag, start LIMIT ?3",
            )?;
            let rows = stmt
                .query_map((cursor.tag, cursor.start, limit), chunk_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let resume = (rows.len() >= limit as usize)
                .then(|| rows.last().map(after))
                .flatten();
            return Ok((rows, resume));
        }
        CompactScope::Tags(tags) => tags,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, tag, start, end, count + not_good, length(data) = 0 FROM chunks
         WHERE tag = ?1 AND start > ?2 ORDER BY start LIMIT ?3",
    )?;
    let mut rows: Vec<ChunkRow> = Vec::new();
    let first = tags.partition_point(|&(tag, _)| tag < cursor.tag);
    for (seeks, &(tag, floor)) in tags[first..].iter().enumerate() {
        let room = limit as usize - rows.len().min(limit as usize);
        if room == 0 || seeks >= limit as usize {
            let resume = CompactCursor {
                tag,
                start: i64::MIN,
            };
            return Ok((rows, Some(resume)));
        }
        let from = if tag == cursor.tag {
            cursor.start.max(floor.saturating_sub(1))
        } else {
            floor.saturating_sub(1)
        };
        let before = rows.len();
        for row in stmt.query_map((tag, from, room as i64), chunk_row)? {
            rows.push(row?);
        }
        if rows.len() - before == room {
            // The tag may have more: go on after its last row.
            let resume = rows.last().map(after);
            return Ok((rows, resume));
        }
    }
    Ok((rows, None))
}

/// Splits the rows into runs of one tag that fit in one chunk together, as far as the summaries tell (a
/// run of one chunk is left as it is). A chunk of a summary only is a run of its own.
fn runs_to_merge(rows: &[ChunkRow]) -> impl Iterator<Item = &[ChunkRow]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        let head = rest.first()?;
        let mut samples = 0u64;
        let n = rest
            .iter()
            .take_while(|r| {
                samples += r.samples;
                r.tag == head.tag
                    && !r.summary_only
                    && !head.summary_only
                    && r.end - head.start < CHUNK_SPAN_MS
                    && samples <= CHUNK_MAX_SAMPLES as u64
            })
            .count()
            .max(1);
        let (group, tail) = rest.split_at(n);
        rest = tail;
        Some(group)
    })
}

/// Replaces the chunks of `group` (one tag's, adjacent, in time order) by their merge, when that takes
/// fewer chunks (a run of texts the summaries undercount may not).
fn merge(conn: &Connection, group: &[ChunkRow], done: &mut Compacted) -> rusqlite::Result<()> {
    let mut recs: Vec<Rec> = Vec::new();
    {
        let mut data = conn.prepare_cached("SELECT data FROM chunks WHERE id = ?1")?;
        for row in group {
            let mut rows = data.query([row.id])?;
            if let Some(r) = rows.next()? {
                store::decode_chunk(r.get_ref(0)?.as_blob()?, |rec| recs.push(rec))?;
            }
        }
    }
    // Chunks of a tag never overlap, so this only sorts; it keeps the invariant should one ever do.
    store::sort_and_dedupe(&mut recs);
    let chunks = store::chunk_splits(&recs).count() as u64;
    if chunks >= group.len() as u64 {
        return Ok(());
    }
    let mut delete = conn.prepare_cached("DELETE FROM chunks WHERE id = ?1")?;
    for row in group {
        delete.execute([row.id])?;
    }
    store::write_chunks(conn, group[0].tag, &recs)?;
    done.removed += group.len() as u64;
    done.written += chunks;
    done.samples += recs.len() as u64;
    Ok(())
}
