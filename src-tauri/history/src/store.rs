//! Where samples live (history schema version 10): an append-only `log` that every commit adds rows to,
//! and per-tag compressed `chunks` that the writer seals the log into.
//!
//! Why two places: with many tags, inserting each sample into a B-tree ordered by tag dirties one page
//! per sample, so a commit rewrites most of the table. Appending a few log rows per commit is sequential, and
//! sealing turns many samples of a tag into one chunk row, so a million-tag plant writes a few thousand
//! rows a second instead of a hundred thousand.
//!
//! - `log(seq, written, first_tag, last_tag, samples)` and `log_data(seq, data)`: a commit writes one row
//!   per range of [`LOG_SHARD_TAGS`] tag ids it has samples of; `data` is a log blob (`codec`): those
//!   samples grouped into one run per tag id, with a directory. Sealing a range of tags, or reading a
//!   few tags, reads only the blobs of rows whose ids overlap (one blob per commit would have every
//!   sealing step of a million-tag plant re-read the whole log). `first_time` and `last_time` (schema 10)
//!   bound the row's sample times, so reading a span of time reads only the blobs of rows that reach
//!   into it (a replay of an hour out of four hours of log decoded all four for each half hour it read).
//! - `log.packed`: the writer packs the commits' rows every few minutes ([`pack_step`]) into rows of
//!   compact runs (a commit's row holds about one sample per tag of a big plant, about 4 bytes each as
//!   a stream; a packed row 2 to 7), so the log can hold four hours and be sealed that rarely: a tag's chunk
//!   is written about once instead of a small one per 10-minute seal, rewritten by compaction after each,
//!   and its page of the chunk index once per seal (see `writer::SEAL_AGE_MS`).
//! - `chunks(id, tag, start, end, count, not_good, min, max, sum, first, last, data)`, found by the index
//!   `chunk_summaries` on `(tag, start, ...)`: one tag's samples from `start` to `end` (inclusive, less than `CHUNK_SPAN_MS` apart)
//!   as a run, with the summary of its good numbers for trends over long ranges. A tag's chunks never
//!   overlap: sealing a sample older than a tag's last chunk merges it into the chunks it overlaps.
//! - `seal_progress(upto, below_tag)`: while the writer seals the log rows up to `upto`, tag by tag in
//!   transactions of bounded size (so commits of new samples keep coming), the tags below `below_tag` are
//!   done: readers skip their samples in those rows, which are in chunks already.
//!
//! Readers read both inside one read transaction (a snapshot), so a seal committing meanwhile is never
//! seen half-done. A sample at the same millisecond as another of its tag replaces it: the later log row
//! wins over an earlier one, and the log wins over a chunk.

use std::collections::HashMap;

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Rows};

pub(crate) use crate::codec::Summary;
use crate::codec::{self, CodecError, LogBlob, LogBlobBuilder, Rec, RecValue, RunFormat};
use crate::layout::{CHUNK_MAX_SAMPLES, CHUNK_SPAN_MS};

/// A damaged blob, as the SQL error the callers already report with the file's name.
pub(crate) fn damaged(error: CodecError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, Type::Blob, Box::new(error))
}

/// A chunk's samples; none when retention dropped them (`data` is empty, its summary row stays).
pub(crate) fn decode_chunk(data: &[u8], f: impl FnMut(Rec)) -> rusqlite::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    codec::decode_run(data, f).map_err(damaged)
}

/// [`decode_chunk`] into a vector.
pub(crate) fn decode_chunk_vec(data: &[u8]) -> rusqlite::Result<Vec<Rec>> {
    let mut recs = Vec::new();
    decode_chunk(data, |r| recs.push(r))?;
    Ok(recs)
}

/// Sorts one tag's samples by time and keeps the last of several at the same millisecond (the input is in
/// the order they were written).
pub(crate) fn sort_and_dedupe(recs: &mut Vec<Rec>) {
    recs.sort_by_key(|r| r.time); // stable: equal times keep their write order
    let mut kept = 0;
    for i in 0..recs.len() {
        if kept > 0 && recs[kept - 1].time == recs[i].time {
            recs.swap(kept - 1, i);
        } else {
            recs.swap(kept, i);
            kept += 1;
        }
    }
    recs.truncate(kept);
}

// ----- writing -----------------------------------------------------------------------------------------

/// A log row holds the samples of tag ids in one range of this many (aligned on a multiple of it): a
/// plant of up to 16,384 tags writes one row per commit, a million-tag plant about 60.
pub(crate) const LOG_SHARD_TAGS: u32 = 1 << 14;

/// One commit's samples as runs by tag id: all records in one array (a run per tag would be an
/// allocation per tag, tens of thousands a commit), each run's tag and end in another.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    recs: Vec<Rec>,
    /// (tag id, end of its records in `recs`), ids ascending.
    ends: Vec<(u32, usize)>,
}

impl Runs {
    /// Adds a record of `tag`, given in (tag id, time) order; one at the same millisecond as the
    /// previous record of its tag replaces it (the later write wins).
    pub(crate) fn push(&mut self, tag: u32, rec: Rec) {
        match self.ends.last_mut() {
            Some((last_tag, end)) if *last_tag == tag => match self.recs.last_mut() {
                Some(last) if last.time == rec.time => *last = rec,
                _ => {
                    self.recs.push(rec);
                    *end += 1;
                }
            },
            _ => {
                self.recs.push(rec);
                self.ends.push((tag, self.recs.len()));
            }
        }
    }

    /// Records held (after replacements).
    pub(crate) fn len(&self) -> usize {
        self.recs.len()
    }
}

/// Appends `runs` to the log: one row per range of [`LOG_SHARD_TAGS`] ids. Returns the samples written.
pub(crate) fn append_log(conn: &Connection, written: i64, runs: &Runs) -> rusqlite::Result<u64> {
    let mut meta = conn.prepare_cached(
        "INSERT INTO log (written, first_tag, last_tag, samples, first_time, last_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut data = conn.prepare_cached("INSERT INTO log_data (seq, data) VALUES (?1, ?2)")?;
    let mut start = 0;
    for shard in runs
        .ends
        .chunk_by(|a, b| a.0 / LOG_SHARD_TAGS == b.0 / LOG_SHARD_TAGS)
    {
        let first_rec = start;
        let shard_end = shard[shard.len() - 1].1;
        // The earliest time: the stream's first time counts from it.
        let span = TimeSpan::of(&runs.recs[start..shard_end]);
        let mut builder = LogBlobBuilder::stream(span.map_or(0, |s| s.first));
        for &(tag, end) in shard {
            builder.add(tag, &runs.recs[start..end]);
            start = end;
        }
        let (first, last) = (shard[0].0, shard[shard.len() - 1].0);
        meta.execute((
            written,
            first,
            last,
            (start - first_rec) as i64,
            span.map(|s| s.first),
            span.map(|s| s.last),
        ))?;
        data.execute((conn.last_insert_rowid(), builder.finish()))?;
    }
    Ok(start as u64)
}

/// The earliest and the latest sample time of a log row (`log.first_time`, `log.last_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeSpan {
    pub first: i64,
    pub last: i64,
}

impl TimeSpan {
    /// The span of `recs`; none when there are none.
    pub(crate) fn of(recs: &[Rec]) -> Option<TimeSpan> {
        let mut times = recs.iter().map(|r| r.time);
        let first = times.next()?;
        Some(times.fold(TimeSpan { first, last: first }, |span, t| {
            span.with(TimeSpan { first: t, last: t })
        }))
    }

    /// The span covering both.
    pub(crate) fn with(self, other: TimeSpan) -> TimeSpan {
        TimeSpan {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }
}

/// What the log holds: samples, and when its oldest row was written (UTC ms), in all its rows and in the
/// rows not packed yet (what a seal and a packing are due by), read in one pass over the log.
pub(crate) struct LogState {
    pub all: (u64, Option<i64>),
    pub plain: (u64, Option<i64>),
}

pub(crate) fn log_state(conn: &Connection) -> rusqlite::Result<LogState> {
    conn.query_row(
        "SELECT coalesce(sum(samples), 0), min(written),
                coalesce(sum(samples) FILTER (WHERE packed = 0), 0),
                min(written) FILTER (WHERE packed = 0)
         FROM log",
        [],
        |r| {
            Ok(LogState {
                all: (r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?),
                plain: (r.get::<_, i64>(2)?.max(0) as u64, r.get(3)?),
            })
        },
    )
}

/// A packed log row holds about this many samples (a few hundred kilobytes at most: a reader of one
/// tag reads the whole blob of each row that may hold it).
const PACK_ROW_SAMPLES: u64 = 100_000;

/// A packing of the log rows not packed yet up to `upto`, one range of [`LOG_SHARD_TAGS`] ids (the rows
/// whose first tag is in it) per step. Its progress is kept in `pack_progress` (history schema 9), so
/// the next writer finishes a packing a crash interrupted.
///
/// Why the progress: a step leaves the rows it packed in place (except the few whose places the
/// packed rows take) and the packing deletes them all at its end. A commit's rows of all ranges lie side by
/// side, a row to a page on a big plant: deleting one range's rows a step at a time made SQLite merge
/// each emptied page with the pages beside it, rows of other ranges, rewriting those (with the WAL,
/// about 6 bytes a sample of the million-tag plant: issue 15). Deleted together at the end, the rows
/// free whole runs of pages and nothing else is rewritten. Until then a packed row's samples are also
/// in the rows it replaced, all of them before it (`seq`), so a reader that reads both gets the packed
/// row's (the same samples, the later write winning as before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackJob {
    upto: i64,
    /// Rows whose first tag is below this are packed.
    below_tag: u32,
    /// The rows of the range starting at `below_tag` up to this `seq` are packed too (a step packs the
    /// oldest rows of a range too big for it; `i64::MIN`: none).
    after: i64,
}

impl PackJob {
    fn range(upto: i64, below_tag: u32) -> PackJob {
        PackJob {
            upto,
            below_tag,
            after: i64::MIN,
        }
    }

    /// Records the job's progress (inside the caller's transaction).
    fn save(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO pack_progress (id, upto, below_tag, after) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE
             SET upto = excluded.upto, below_tag = excluded.below_tag, after = excluded.after",
        )?
        .execute((self.upto, self.below_tag, self.after))?;
        Ok(())
    }

    /// Ends the packing: deletes the rows it packed (every plain row up to `upto` by now) and its
    /// progress.
    fn finish(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "DELETE FROM log_data WHERE seq IN (SELECT seq FROM log WHERE seq <= ?1 AND packed = 0)",
        )?
        .execute([self.upto])?;
        conn.prepare_cached("DELETE FROM log WHERE seq <= ?1 AND packed = 0")?
            .execute([self.upto])?;
        conn.execute("DELETE FROM pack_progress", [])?;
        Ok(())
    }
}

/// Starts packing every row not packed yet; `None` when there is none.
pub(crate) fn start_pack(conn: &Connection) -> rusqlite::Result<Option<PackJob>> {
    let upto: Option<i64> =
        conn.query_row("SELECT max(seq) FROM log WHERE packed = 0", [], |r| {
            r.get(0)
        })?;
    Ok(upto.map(|upto| PackJob::range(upto, 0)))
}

/// The packing a previous writer left half-done, if any.
pub(crate) fn unfinished_pack(conn: &Connection) -> rusqlite::Result<Option<PackJob>> {
    conn.query_row(
        "SELECT upto, below_tag, after FROM pack_progress",
        [],
        |r| {
            Ok(PackJob {
                upto: r.get(0)?,
                below_tag: r.get(1)?,
                after: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Packs the next ranges of `job` inside the caller's transaction: their rows' samples, tag by tag (the
/// later row winning at a millisecond), into a few rows of compact runs that take the places (`seq`) of
/// the latest rows they replace, so they stay after those rows and before every newer row of their tags
/// and readers merge them as before. Returns the job left to do, `None` when it is done (the packed rows
/// are deleted then).
///
/// Why: a commit's row is written fast (a stream of samples in tag order, about 4 bytes a sample on a
/// big plant); a packed row holds many samples of a tag as one compact run, so the log can hold four
/// hours and be sealed into chunks that rarely instead of every few minutes.
pub(crate) fn pack_step(
    conn: &Connection,
    mut job: PackJob,
    step_samples: u64,
) -> rusqlite::Result<Option<PackJob>> {
    // Whole ranges until the step has about `step_samples`.
    let mut done = 0u64;
    while done < step_samples {
        let Some((packed, next)) = pack_range(conn, job, step_samples - done)? else {
            job.finish(conn)?;
            return Ok(None);
        };
        done += packed;
        match next {
            Some(next) => job = next,
            None => {
                job.finish(conn)?;
                return Ok(None);
            }
        }
    }
    job.save(conn)?;
    Ok(Some(job))
}

/// Packs the rows of the next range of `job`, the oldest first and no more than about `most` samples
/// (at least one row); `None` when there is none left. Returns the samples packed and the job left to do
/// (the same range again when rows of it were left for the next step).
///
/// Why at most `most`: a step is one transaction, and commits wait for it; a small plant whose every tag
/// changes every second puts millions of samples into one range's rows between packings, which packed
/// at once would hold the commits back for seconds (samples wait in memory meanwhile, and a `kill -9`
/// would lose more than the last second). The rows left keep later places (`seq`) than the packed ones,
/// so the later write still wins.
fn pack_range(
    conn: &Connection,
    job: PackJob,
    most: u64,
) -> rusqlite::Result<Option<(u64, Option<PackJob>)>> {
    // The rows of the range at `below_tag` up to `after` are packed already.
    let range_end =
        i64::from(job.below_tag - job.below_tag % LOG_SHARD_TAGS) + i64::from(LOG_SHARD_TAGS);
    let first: Option<u32> = conn
        .prepare_cached(
            "SELECT min(first_tag) FROM log WHERE packed = 0 AND seq <= ?1 AND first_tag >= ?2
             AND (seq > ?3 OR first_tag >= ?4)",
        )?
        .query_row((job.upto, job.below_tag, job.after, range_end), |r| {
            r.get(0)
        })?;
    let Some(first) = first else { return Ok(None) };
    let from_tag = first - first % LOG_SHARD_TAGS;
    // Above every id when the range is the last there is (no row is left out, the pass ends).
    let to_tag = i64::from(from_tag) + i64::from(LOG_SHARD_TAGS);
    let after = if i64::from(from_tag) < range_end {
        job.after
    } else {
        i64::MIN
    };

    let mut arena: Vec<u8> = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut seqs: Vec<i64> = Vec::new();
    let mut written = i64::MAX;
    let mut total = 0u64;
    let mut left_rows = false;
    {
        let mut rows = conn.prepare_cached(
            "SELECT l.seq, l.written, l.samples, d.data FROM log l JOIN log_data d ON d.seq = l.seq
             WHERE l.packed = 0 AND l.seq <= ?1 AND l.first_tag >= ?2 AND l.first_tag < ?3
             AND l.seq > ?4
             ORDER BY l.seq",
        )?;
        let mut rows = rows.query((job.upto, from_tag, to_tag, after))?;
        while let Some(row) = rows.next()? {
            if total >= most {
                left_rows = true;
                break;
            }
            seqs.push(row.get(0)?);
            written = written.min(row.get(1)?);
            total += row.get::<_, i64>(2)?.max(0) as u64;
            let blob = LogBlob::parse(row.get_ref(3)?.as_blob()?).map_err(damaged)?;
            // A row of version 2 holds every id: all of its runs go with it.
            for run in blob.runs_between(0, u32::MAX) {
                let run = run.map_err(damaged)?;
                pieces.push(Piece::copy(run, seqs.len() as u32, &mut arena));
            }
        }
    }
    pieces.sort_unstable_by_key(|p| (p.tag, p.order));

    let latest = seqs.last().copied().unwrap_or(after);
    // The packed rows take the latest places (the rows there deleted first; the others stay until the
    // packing ends, see `PackJob`): as many rows as there are places, at most, each of whole
    // tags and about `per_row` samples (the last takes what is left).
    let rows = total
        .div_ceil(PACK_ROW_SAMPLES)
        .clamp(1, seqs.len().max(1) as u64);
    let per_row = total.div_ceil(rows).max(1) as usize;
    // The places still free, latest last.
    let mut places = seqs;
    let mut row: Option<PackedRow> = None;
    let mut recs: Vec<Rec> = Vec::new();
    let mut packed = 0u64;
    for group in pieces.chunk_by(|a, b| a.tag == b.tag) {
        recs.clear();
        for piece in group {
            piece.decode(&arena, |r| recs.push(r))?;
        }
        sort_and_dedupe(&mut recs);
        let tag = group[0].tag;
        let current = row.get_or_insert_with(|| PackedRow {
            builder: LogBlobBuilder::compact(),
            first: tag,
            last: tag,
            samples: 0,
            span: None,
        });
        current.builder.add(tag, &recs);
        current.last = tag;
        current.samples += recs.len();
        if let Some(span) = TimeSpan::of(&recs) {
            current.span = Some(current.span.map_or(span, |s| s.with(span)));
        }
        packed += recs.len() as u64;
        if current.samples >= per_row && places.len() > 1 {
            if let (Some(full), Some(seq)) = (row.take(), places.pop()) {
                full.insert(conn, seq, written)?;
            }
        }
    }
    if let (Some(last), Some(seq)) = (row, places.pop()) {
        last.insert(conn, seq, written)?;
    }
    let next = if left_rows {
        Some(PackJob {
            upto: job.upto,
            below_tag: from_tag,
            after: latest,
        })
    } else {
        u32::try_from(to_tag)
            .ok()
            .map(|below_tag| PackJob::range(job.upto, below_tag))
    };
    Ok(Some((packed, next)))
}

/// A packed row being built.
struct PackedRow {
    builder: LogBlobBuilder,
    first: u32,
    last: u32,
    samples: usize,
    span: Option<TimeSpan>,
}

impl PackedRow {
    /// Inserts the row at `seq`, in place of the packed row there.
    fn insert(self, conn: &Connection, seq: i64, written: i64) -> rusqlite::Result<()> {
        conn.prepare_cached("DELETE FROM log WHERE seq = ?1")?
            .execute([seq])?;
        conn.prepare_cached("DELETE FROM log_data WHERE seq = ?1")?
            .execute([seq])?;
        conn.prepare_cached(
            "INSERT INTO log (seq, written, first_tag, last_tag, samples, packed, first_time, last_time)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)",
        )?
        .execute((
            seq,
            written,
            self.first,
            self.last,
            self.samples as i64,
            self.span.map(|s| s.first),
            self.span.map(|s| s.last),
        ))?;
        conn.prepare_cached("INSERT INTO log_data (seq, data) VALUES (?1, ?2)")?
            .execute((seq, self.builder.finish()))?;
        Ok(())
    }
}

/// A seal of the log rows up to `upto`, done tag range by tag range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealJob {
    pub upto: i64,
    /// Tags below this are sealed.
    pub below_tag: u32,
    /// Samples in the rows being sealed (to size the tag ranges).
    pub samples: u64,
    /// The highest tag id there is.
    pub max_tag: u32,
}

/// The seal a previous writer left half-done, if any.
pub(crate) fn unfinished_seal(conn: &Connection) -> rusqlite::Result<Option<SealJob>> {
    let progress: Option<(i64, u32)> = conn
        .query_row("SELECT upto, below_tag FROM seal_progress", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((upto, below_tag)) = progress else {
        return Ok(None);
    };
    let samples: i64 = conn.query_row(
        "SELECT coalesce(sum(samples), 0) FROM log WHERE seq <= ?1",
        [upto],
        |r| r.get(0),
    )?;
    Ok(Some(SealJob {
        upto,
        below_tag,
        samples: samples as u64,
        max_tag: max_tag(conn)?,
    }))
}

fn max_tag(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM tags", [], |r| r.get(0))
}

/// Starts sealing every log row there is now; `None` when the log is empty.
pub(crate) fn start_seal(conn: &Connection) -> rusqlite::Result<Option<SealJob>> {
    let (upto, samples): (Option<i64>, i64) = conn.query_row(
        "SELECT max(seq), coalesce(sum(samples), 0) FROM log",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some(upto) = upto else { return Ok(None) };
    // The seal takes every row, those of a packing in progress too: it ends that packing.
    conn.execute("DELETE FROM pack_progress", [])?;
    Ok(Some(SealJob {
        upto,
        below_tag: 0,
        samples: samples as u64,
        max_tag: max_tag(conn)?,
    }))
}

/// The last chunk end of the tags a sealing step works on (8 bytes a tag of the step's range, read from
/// the file in one statement at the start of the step). Only the step's range is kept: every step reads
/// its range afresh anyway, so remembering all tags (8 MB for a million) would save no query.
#[derive(Default)]
pub(crate) struct ChunkEnds {
    /// The first tag id of the range.
    base: u32,
    ends: Vec<i64>,
}

/// A tag without chunks.
const NO_CHUNK: i64 = i64::MIN;
/// A tag whose last chunk end has not been read yet.
const NOT_READ: i64 = i64::MIN + 1;

impl ChunkEnds {
    fn slot(&mut self, tag: u32) -> Option<&mut i64> {
        let i = tag.checked_sub(self.base)? as usize;
        self.ends.get_mut(i)
    }

    fn get(&mut self, conn: &Connection, tag: u32) -> rusqlite::Result<i64> {
        if let Some(&mut known) = self.slot(tag) {
            if known != NOT_READ {
                return Ok(known);
            }
        }
        let end: Option<i64> = conn
            .prepare_cached("SELECT end FROM chunks WHERE tag = ?1 ORDER BY start DESC LIMIT 1")?
            .query_row([tag], |r| r.get(0))
            .optional()?;
        // A chunk ending at the sentinel's time would be read again next time: harmless.
        let end = end.unwrap_or(NO_CHUNK);
        self.set(tag, end);
        Ok(end)
    }

    fn set(&mut self, tag: u32, end: i64) {
        if let Some(slot) = self.slot(tag) {
            *slot = end;
        }
    }

    /// Reads the last chunk end of every tag in `[from, to)`, forgetting the previous range, in one
    /// statement (one statement per tag would be re-prepared for each: SQLite re-plans a statement
    /// whose parameter meets an indexed column when the parameter changes).
    fn load_range(&mut self, conn: &Connection, from: u32, to: u32) -> rusqlite::Result<()> {
        self.base = from;
        self.ends = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, (SELECT c.end FROM chunks c WHERE c.tag = t.id ORDER BY c.start DESC LIMIT 1)
             FROM tags t WHERE t.id >= ?1 AND t.id < ?2",
        )?;
        let mut rows = stmt.query((from, to))?;
        while let Some(row) = rows.next()? {
            let tag: u32 = row.get(0)?;
            let end: Option<i64> = row.get(1)?;
            let Some(i) = tag.checked_sub(from).map(|i| i as usize) else {
                continue;
            };
            if i >= self.ends.len() {
                self.ends.resize(i + 1, NOT_READ);
            }
            self.ends[i] = end.unwrap_or(NO_CHUNK);
        }
        Ok(())
    }

    /// Forgets everything (after a failed transaction the file is the truth again).
    pub(crate) fn forget(&mut self) {
        self.ends.clear();
    }
}

/// A run of a log row copied out of its blob (into an arena shared by a step's runs: no allocation per
/// tag), to be merged with the same tag's runs of other rows in row order.
struct Piece {
    tag: u32,
    /// The row's place among the rows read (later rows win at a millisecond).
    order: u32,
    start: usize,
    len: usize,
    format: RunFormat,
}

impl Piece {
    fn copy(run: codec::LogRun<'_>, order: u32, arena: &mut Vec<u8>) -> Piece {
        let piece = Piece {
            tag: run.tag,
            order,
            start: arena.len(),
            len: run.bytes.len(),
            format: run.format,
        };
        arena.extend_from_slice(run.bytes);
        piece
    }

    fn decode(&self, arena: &[u8], f: impl FnMut(Rec)) -> rusqlite::Result<()> {
        codec::decode_log_run(self.format, &arena[self.start..self.start + self.len], f)
            .map_err(damaged)
    }
}

/// Seals the next tag range of `job` (sized to about `pass_samples` samples) inside the caller's
/// transaction and records the progress. Returns the job left to do, or `None` when the job is done (the
/// sealed log rows are deleted then).
pub(crate) fn seal_step(
    conn: &Connection,
    mut job: SealJob,
    pass_samples: u64,
    ends: &mut ChunkEnds,
) -> rusqlite::Result<Option<SealJob>> {
    let tags_total = u64::from(job.max_tag) + 1;
    let mut width = (tags_total * pass_samples / job.samples.max(1)).clamp(1, tags_total);
    let shard = u64::from(LOG_SHARD_TAGS);
    if width >= shard && u64::from(job.below_tag) % shard == 0 {
        // Whole log rows per step: a step reads no row another step reads too.
        width -= width % shard;
    }
    let from_tag = job.below_tag;
    let to_tag = (u64::from(from_tag) + width).min(u64::from(u32::MAX)) as u32;
    let last_pass = u64::from(to_tag) > u64::from(job.max_tag);

    // Copy the range's runs out of every row of the job (one arena, no allocation per tag), then seal
    // tag by tag, each tag's runs in write order.
    let mut arena: Vec<u8> = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    {
        let mut rows_stmt = conn.prepare_cached(
            "SELECT d.data FROM log l JOIN log_data d ON d.seq = l.seq
             WHERE l.seq <= ?1 AND l.last_tag >= ?2 AND l.first_tag < ?3 ORDER BY l.seq",
        )?;
        let mut rows = rows_stmt.query((job.upto, from_tag, to_tag))?;
        let mut order = 0u32;
        while let Some(row) = rows.next()? {
            let blob = LogBlob::parse(row.get_ref(0)?.as_blob()?).map_err(damaged)?;
            for run in blob.runs_between(from_tag, to_tag) {
                pieces.push(Piece::copy(run.map_err(damaged)?, order, &mut arena));
            }
            order += 1;
        }
    }
    pieces.sort_unstable_by_key(|p| (p.tag, p.order));
    ends.load_range(conn, from_tag, to_tag)?;
    let mut recs: Vec<Rec> = Vec::new();
    for group in pieces.chunk_by(|a, b| a.tag == b.tag) {
        recs.clear();
        for piece in group {
            piece.decode(&arena, |r| recs.push(r))?;
        }
        sort_and_dedupe(&mut recs);
        seal_tag(conn, group[0].tag, &mut recs, ends)?;
    }

    if last_pass {
        conn.prepare_cached("DELETE FROM log WHERE seq <= ?1")?
            .execute([job.upto])?;
        conn.prepare_cached("DELETE FROM log_data WHERE seq <= ?1")?
            .execute([job.upto])?;
        conn.execute("DELETE FROM seal_progress", [])?;
        return Ok(None);
    }
    job.below_tag = to_tag;
    conn.prepare_cached(
        "INSERT INTO seal_progress (id, upto, below_tag) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET upto = excluded.upto, below_tag = excluded.below_tag",
    )?
    .execute((job.upto, job.below_tag))?;
    Ok(Some(job))
}

/// Writes a tag's sealed samples (sorted, deduplicated) as chunks, merging them into the tag's existing
/// chunks when they reach back into them (a late or replacing sample).
fn seal_tag(
    conn: &Connection,
    tag: u32,
    recs: &mut Vec<Rec>,
    ends: &mut ChunkEnds,
) -> rusqlite::Result<()> {
    let (Some(first), Some(last)) = (recs.first().map(|r| r.time), recs.last().map(|r| r.time))
    else {
        return Ok(());
    };
    let previous_end = ends.get(conn, tag)?;
    if first <= previous_end {
        // Take the chunks these samples overlap out of the file and merge them in (the new samples win).
        // Chunks never overlap, so the merged stretch overlaps no chunk left in place.
        // A span whose samples retention dropped keeps its summary chunk: samples sent late into it
        // are older than the tag's keep and go the way of the others (merging would lose the summary).
        let mut dropped: Vec<(i64, i64)> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT start, end FROM chunks WHERE tag = ?1 AND start >= ?2 AND start <= ?3
                 AND end >= ?4 AND length(data) = 0",
            )?;
            let mut rows = stmt.query((tag, first.saturating_sub(CHUNK_SPAN_MS), last, first))?;
            while let Some(row) = rows.next()? {
                dropped.push((row.get(0)?, row.get(1)?));
            }
        }
        if !dropped.is_empty() {
            recs.retain(|r| !dropped.iter().any(|&(s, e)| r.time >= s && r.time <= e));
        }
        let mut chunks: Vec<(i64, Vec<Rec>)> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "DELETE FROM chunks WHERE tag = ?1 AND start >= ?2 AND start <= ?3 AND end >= ?4
                 AND length(data) > 0 RETURNING start, data",
            )?;
            let mut rows = stmt.query((tag, first.saturating_sub(CHUNK_SPAN_MS), last, first))?;
            while let Some(row) = rows.next()? {
                let data = row.get_ref(1)?.as_blob()?;
                chunks.push((row.get(0)?, decode_chunk_vec(data)?));
            }
        }
        chunks.sort_by_key(|(start, _)| *start);
        let mut merged: Vec<Rec> = Vec::new();
        for (_, mut chunk) in chunks {
            merged.append(&mut chunk);
        }
        merged.append(recs);
        sort_and_dedupe(&mut merged);
        *recs = merged;
    }
    let last_end = write_chunks(conn, tag, recs)?.unwrap_or(previous_end);
    ends.set(tag, last_end.max(previous_end));
    Ok(())
}

/// Splits a tag's samples (sorted, deduplicated) into chunks as sealing does: from each chunk's first
/// sample, as many as fit in [`CHUNK_MAX_SAMPLES`] and less than [`CHUNK_SPAN_MS`].
pub(crate) fn chunk_splits(recs: &[Rec]) -> impl Iterator<Item = &[Rec]> {
    let mut rest = recs;
    std::iter::from_fn(move || {
        let head = rest.first()?;
        let n = rest
            .iter()
            .take(CHUNK_MAX_SAMPLES)
            .take_while(|r| r.time - head.time < CHUNK_SPAN_MS)
            .count();
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// Inserts a tag's samples (sorted, deduplicated, overlapping no chunk of the tag) as compact chunks with
/// their summaries. Returns the last chunk's end, `None` when there were no samples.
pub(crate) fn write_chunks(
    conn: &Connection,
    tag: u32,
    recs: &[Rec],
) -> rusqlite::Result<Option<i64>> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO chunks (tag, start, end, count, not_good, min, max, sum, first, last, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut data = Vec::new();
    let mut last_end = None;
    for chunk in chunk_splits(recs) {
        let summary = Summary::of(chunk);
        data.clear();
        codec::encode_run(chunk, &mut data);
        let end = chunk[chunk.len() - 1].time;
        insert.execute((
            tag,
            chunk[0].time,
            end,
            summary.count as i64,
            summary.not_good as i64,
            summary.min,
            summary.max,
            summary.sum,
            summary.first,
            summary.last,
            &data,
        ))?;
        last_end = Some(end);
    }
    Ok(last_end)
}

/// Moves the samples of a version 1 file (the `samples`, `sample_texts` and `rollups` tables) into
/// chunks and drops those tables, in one transaction; nothing to do when they are gone already.
pub(crate) fn convert_version_1(conn: &Connection) -> rusqlite::Result<()> {
    let has_v1: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'samples')",
        [],
        |r| r.get(0),
    )?;
    if !has_v1 {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    let tag_ids: Vec<u32> = {
        let mut stmt = tx.prepare("SELECT id FROM tags ORDER BY id")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        ids.collect::<rusqlite::Result<_>>()?
    };
    let mut ends = ChunkEnds::default();
    {
        let mut read = tx.prepare(
            "SELECT s.time, s.value, s.quality, t.text FROM samples s
             LEFT JOIN sample_texts t ON t.tag = s.tag AND t.time = s.time
             WHERE s.tag = ?1 ORDER BY s.time",
        )?;
        for tag in tag_ids {
            let mut recs = Vec::new();
            let mut rows = read.query([tag])?;
            while let Some(row) = rows.next()? {
                let text: Option<String> = row.get(3)?;
                let number: Option<f64> = row.get(1)?;
                let value = match (text, number) {
                    (Some(text), _) => RecValue::Text(text.into()),
                    (None, Some(v)) => RecValue::Number(v),
                    (None, None) => RecValue::None,
                };
                let quality: i64 = row.get(2)?;
                recs.push(Rec {
                    time: row.get(0)?,
                    quality: u16::try_from(quality).unwrap_or(u16::MAX),
                    value,
                });
            }
            seal_tag(&tx, tag, &mut recs, &mut ends)?;
        }
    }
    tx.execute_batch(
        "DROP TABLE samples; DROP TABLE sample_texts; DROP TABLE rollups;
         ALTER TABLE tags DROP COLUMN rollup_until;",
    )?;
    tx.commit()
}

// ----- reading -------------------------------------------------------------------------------------------

/// Which tags a log read keeps.
pub(crate) enum Wanted<'a> {
    All,
    Some(&'a [u32]),
}

/// Whether the file's log rows say their time spans (history schema 10 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogSpans {
    /// `log.first_time`/`log.last_time` exist (NULL in rows written before): rows outside a read's
    /// span are not read.
    Stored,
    /// A file of schema 9 or older, read as it is: every row is read.
    Absent,
}

impl LogSpans {
    /// Which log spans a file of schema `version` has.
    pub(crate) fn of_version(version: i64) -> LogSpans {
        if version >= 10 {
            LogSpans::Stored
        } else {
            LogSpans::Absent
        }
    }

    /// The log row `l`'s last sample time, as SQL (NULL when the file has no spans).
    pub(crate) fn last_time(self) -> &'static str {
        match self {
            LogSpans::Stored => "l.last_time",
            LogSpans::Absent => "NULL",
        }
    }

    /// The condition on the log's row `l` that keeps the rows that may hold samples in `[?1, ?2)`.
    pub(crate) fn condition(self) -> &'static str {
        match self {
            LogSpans::Stored => {
                "(l.last_time IS NULL OR (l.last_time >= ?1 AND l.first_time < ?2))"
            }
            LogSpans::Absent => "(?1 IS NOT NULL AND ?2 IS NOT NULL)",
        }
    }
}

/// The log runs a seal in progress already wrote into chunks (`seal_progress`): those of the rows up to
/// `upto` whose tags are below `below_tag`. Readers of the log leave them out (the chunks have them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealedRuns(Option<(i64, u32)>);

impl SealedRuns {
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<SealedRuns> {
        conn.query_row("SELECT upto, below_tag FROM seal_progress", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map(SealedRuns)
    }

    /// True when the run of `tag` in the log row `seq` is sealed already.
    pub(crate) fn holds(self, seq: i64, tag: u32) -> bool {
        self.0
            .is_some_and(|(upto, below)| seq <= upto && tag < below)
    }
}

/// The log's samples of the wanted tags in `[from, to)`, by tag id, each sorted and deduplicated (the
/// samples already sealed into chunks left out).
pub(crate) fn read_log(
    conn: &Connection,
    wanted: Wanted<'_>,
    from: i64,
    to: i64,
    spans: LogSpans,
) -> rusqlite::Result<HashMap<u32, Vec<Rec>>> {
    let sealed = SealedRuns::read(conn)?;
    let mut by_tag: HashMap<u32, Vec<Rec>> = HashMap::new();
    let mut take = |seq: i64, run: codec::LogRun<'_>| -> rusqlite::Result<()> {
        let tag = run.tag;
        if sealed.holds(seq, tag) {
            return Ok(());
        }
        let mut kept: Vec<Rec> = Vec::new();
        run.decode(|r| {
            if r.time >= from && r.time < to {
                kept.push(r);
            }
        })
        .map_err(damaged)?;
        if !kept.is_empty() {
            by_tag.entry(tag).or_default().append(&mut kept);
        }
        Ok(())
    };
    match wanted {
        Wanted::All => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT l.seq, d.data FROM log l JOIN log_data d ON d.seq = l.seq
                 WHERE {} ORDER BY l.seq",
                spans.condition()
            ))?;
            let mut rows = stmt.query((from, to))?;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let blob = LogBlob::parse(row.get_ref(1)?.as_blob()?).map_err(damaged)?;
                for run in blob.runs_between(0, u32::MAX) {
                    take(seq, run.map_err(damaged)?)?;
                }
            }
        }
        Wanted::Some(tags) => {
            // Which rows hold a wanted tag comes from the small rows alone; only those blobs are read.
            let mut sorted = tags.to_vec();
            sorted.sort_unstable();
            let mut holding: Vec<i64> = Vec::new();
            {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT l.seq, l.first_tag, l.last_tag FROM log l WHERE {} ORDER BY l.seq",
                    spans.condition()
                ))?;
                let mut rows = stmt.query((from, to))?;
                while let Some(row) = rows.next()? {
                    let (first, last): (i64, i64) = (row.get(1)?, row.get(2)?);
                    let i = sorted.partition_point(|&t| i64::from(t) < first);
                    if sorted.get(i).is_some_and(|&t| i64::from(t) <= last) {
                        holding.push(row.get(0)?);
                    }
                }
            }
            let mut data = conn.prepare_cached("SELECT data FROM log_data WHERE seq = ?1")?;
            for seq in holding {
                let mut rows = data.query([seq])?;
                let Some(row) = rows.next()? else { continue };
                let blob = LogBlob::parse(row.get_ref(0)?.as_blob()?).map_err(damaged)?;
                for &tag in &sorted {
                    if let Some(run) = blob.run_of(tag).map_err(damaged)? {
                        take(seq, run)?;
                    }
                }
            }
        }
    }
    for recs in by_tag.values_mut() {
        sort_and_dedupe(recs);
    }
    Ok(by_tag)
}

/// The SQL of a tag's chunks that may hold samples in `[?2 + CHUNK_SPAN_MS, ?3)`, in time order.
pub(crate) const CHUNKS_OF_TAG: &str =
    "SELECT start, end, count, not_good, min, max, sum, first, last, data FROM chunks
     WHERE tag = ?1 AND start > ?2 AND start < ?3 ORDER BY start";

/// [`CHUNKS_OF_TAG`] without the data: each chunk's rowid, span and summary (trends over months read
/// these and decode only the chunks a column edge cuts, by [`CHUNK_DATA`]).
pub(crate) const SUMMARIES_OF_TAG: &str =
    "SELECT id, start, end, count, not_good, min, max, sum, first, last FROM chunks
     WHERE tag = ?1 AND start > ?2 AND start < ?3 ORDER BY start";

/// A chunk's data by rowid.
pub(crate) const CHUNK_DATA: &str = "SELECT data FROM chunks WHERE id = ?1";

/// The lower bound to pass as `?2` of [`CHUNKS_OF_TAG`] for a range starting at `from`.
pub(crate) fn chunk_floor(from: i64) -> i64 {
    from.saturating_sub(CHUNK_SPAN_MS)
}

/// One tag's samples in `[from, to)` in time order: its chunks merged with its log samples (the log wins
/// at the same millisecond).
pub(crate) struct TagCursor<'s> {
    rows: Rows<'s>,
    from: i64,
    to: i64,
    chunk: std::vec::IntoIter<Rec>,
    next_chunk: Option<Rec>,
    log: std::iter::Peekable<std::vec::IntoIter<Rec>>,
}

impl<'s> TagCursor<'s> {
    /// `rows` must come from [`CHUNKS_OF_TAG`] for the same tag and range.
    pub(crate) fn new(rows: Rows<'s>, from: i64, to: i64, log: Vec<Rec>) -> TagCursor<'s> {
        TagCursor {
            rows,
            from,
            to,
            chunk: Vec::new().into_iter(),
            next_chunk: None,
            log: log.into_iter().peekable(),
        }
    }

    fn next_from_chunks(&mut self) -> rusqlite::Result<Option<Rec>> {
        loop {
            for rec in self.chunk.by_ref() {
                if rec.time >= self.from && rec.time < self.to {
                    return Ok(Some(rec));
                }
            }
            let Some(row) = self.rows.next()? else {
                return Ok(None);
            };
            let data = row.get_ref(9)?.as_blob()?;
            self.chunk = decode_chunk_vec(data)?.into_iter();
        }
    }

    pub(crate) fn next(&mut self) -> rusqlite::Result<Option<Rec>> {
        if self.next_chunk.is_none() {
            self.next_chunk = self.next_from_chunks()?;
        }
        let chunk = self.next_chunk.as_ref().map(|r| r.time);
        let log = self.log.peek().map(|r| r.time);
        Ok(match next_source(chunk, log) {
            None => None,
            Some(Source::Chunk) => self.next_chunk.take(),
            Some(Source::Log { replaces_chunk }) => {
                if replaces_chunk {
                    self.next_chunk = None;
                }
                self.log.next()
            }
        })
    }
}

/// Where a tag's next sample comes from, when both its chunks and the log may have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Chunk,
    /// The log's; when it has the chunk's millisecond, it replaced the chunk's sample, which is dropped.
    Log {
        replaces_chunk: bool,
    },
}

/// The one merge rule of a tag's chunk samples and log samples, given the time of the next of each:
/// the earlier first, and the log's at the same millisecond (it was written later). `None` when both
/// are done.
pub(crate) fn next_source(chunk: Option<i64>, log: Option<i64>) -> Option<Source> {
    match (chunk, log) {
        (None, None) => None,
        (Some(c), Some(l)) if l <= c => Some(Source::Log {
            replaces_chunk: l == c,
        }),
        (Some(_), _) => Some(Source::Chunk),
        (None, Some(_)) => Some(Source::Log {
            replaces_chunk: false,
        }),
    }
}

/// A tag's last sample before `before`, from its chunks and its log samples (`log_before`: the log's
/// samples of the tag before `before`, sorted).
pub(crate) fn last_before(
    conn: &Connection,
    tag: u32,
    before: i64,
    log_before: Option<&Vec<Rec>>,
) -> rusqlite::Result<Option<Rec>> {
    let from_log = log_before.and_then(|recs| recs.last().cloned());
    let data: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT data FROM chunks WHERE tag = ?1 AND start < ?2 ORDER BY start DESC LIMIT 1",
        )?
        .query_row((tag, before), |r| r.get(0))
        .optional()?;
    let from_chunk = match data {
        Some(data) => decode_chunk_vec(&data)?
            .into_iter()
            .rev()
            .find(|r| r.time < before),
        None => None,
    };
    Ok(match (from_chunk, from_log) {
        (Some(c), Some(l)) => Some(if c.time > l.time { c } else { l }),
        (c, l) => l.or(c),
    })
}
