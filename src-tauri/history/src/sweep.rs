//! Reading every tag's samples over a span of time, band by band: what a replay of an outage needs.
//!
//! [`HistoryReader::for_each_sample`] merges one cursor per tag sample by sample, which is right for a
//! few tags and an export, but a plant of 100,000 tags pays for 100,000 prepared statements before its
//! first sample and a heap operation per sample after. A sweep instead cuts the span into bands of time
//! (up to [`BAND_MAX_MS`]) and hands over each band tag by tag (ascending tag id, so a device's tags,
//! registered together, come together), each tag's samples in time order, in batches of about `target`
//! samples that never split a tag. So a replay goes forward in time a band at a time, and each metric's
//! samples arrive in time order.
//!
//! Why bands and not slices of a few seconds in time order: a million-tag plant stores about 100,000
//! samples a second, one or two a tag in a slice of 10 s, and its packed log rows each hold a run of
//! minutes for a range of tags. Read slice by slice, every tag's cursor was visited for a sample or
//! two; read band by band, it is visited once a band and hands over minutes of samples, and a band is
//! never held whole in memory (only the batch being filled is).
//!
//! How it reads: the span is read in windows of [`WINDOW_MS`], each in its own read transaction (so a
//! long replay never pins one snapshot, and the write-ahead log can be checkpointed meanwhile). For a
//! window it lists the ids of the chunks it needs from the `(tag, start)` index alone, reads a chunk's
//! bytes only when the sweep reaches the chunk's start, and decodes it a few samples at a time
//! ([`RunReader`]), so what it holds is about one chunk per tag, compressed. The log's samples come from
//! a [`LogWalk`], tag by tag; a tag's log and chunk samples are merged (the log wins at the same
//! millisecond, as everywhere).
//!
//! A batch says how far the sweep got ([`SweepMark`]): the band done, or the band done up to a tag. A
//! sweep can start again from such a mark ([`SweepResume`]), so a replay stopped mid-band resumes where
//! it was acknowledged.

use std::collections::VecDeque;

use plantwatch_core::{Quality, Timestamp, Value};
use rusqlite::Transaction;

use crate::codec::{Rec, RunReader};
use crate::log_walk::LogWalk;
use crate::reader::{quality_of, value_of, Kind};
use crate::store::{self, LogSpans, Source};
use crate::{HistoryError, HistoryReader};

/// A window of the sweep is read in one read transaction; its chunk list holds about one entry per
/// chunk of each tag in it.
pub const WINDOW_MS: i64 = 30 * 60 * 1000;

/// The longest band: how far apart in time two samples handed over out of time order (of different
/// tags) can be.
pub const BAND_MAX_MS: i64 = 5 * 60 * 1000;

/// A band holds at most about this many samples of the log's rows of commits (the last minutes before
/// a packing), which are decoded whole for each band they reach into and merged by tag (their runs are
/// held while the band is read): it ends sooner where they are. At least [`BAND_MIN_MS`] long.
const COMMIT_SAMPLES: i64 = 2_000_000;
const BAND_MIN_MS: i64 = 1000;

/// One sample of a sweep: the tag as the caller's key for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Swept<K> {
    pub tag: K,
    pub time: Timestamp,
    pub value: Option<Value>,
    pub quality: Quality,
}

/// How far a sweep got with a batch: with it, every sample of the span before the band
/// (`..=after`) and of the band `(after, through]` up to `tags_through` has been handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepMark {
    pub after: Timestamp,
    pub through: Timestamp,
    /// `None`: the band is done. `Some(tag)`: the band is done for the tags up to and including this
    /// one (the history's own number of a tag, the order a sweep hands tags over in).
    pub tags_through: Option<u32>,
}

/// Where a sweep starts again inside its first band: the band ends at `through`, and its tags up to
/// and including `tags_through` (a [`SweepMark`]'s) are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepResume {
    pub through: Timestamp,
    pub tags_through: u32,
}

/// A tag of the window being swept, with its chunks.
struct Stream<K> {
    key: K,
    kind: Kind,
    /// Its chunks reached so far, in time order (they never overlap).
    chunks: VecDeque<RunReader>,
    /// The next sample of the front chunk, taken out to compare it with the log's.
    head: Option<Rec>,
}

impl<K> Stream<K> {
    fn has_chunk_samples(&self) -> bool {
        self.head.is_some() || !self.chunks.is_empty()
    }

    /// The next chunk sample at or after `from`, into `head`.
    fn fill_head(&mut self, from: i64) -> rusqlite::Result<()> {
        while self.head.is_none() {
            let Some(front) = self.chunks.front_mut() else {
                return Ok(());
            };
            match front.next_rec().map_err(store::damaged)? {
                Some(rec) if rec.time >= from => self.head = Some(rec),
                Some(_) => {}
                None => {
                    self.chunks.pop_front();
                }
            }
        }
        Ok(())
    }

    /// Moves its chunk samples before `to` (and at or after `from`) to `out`, in time order.
    fn take_chunk_samples(
        &mut self,
        from: i64,
        to: i64,
        out: &mut Vec<Rec>,
    ) -> rusqlite::Result<()> {
        loop {
            self.fill_head(from)?;
            match self.head.take() {
                Some(rec) if rec.time < to => out.push(rec),
                head => {
                    self.head = head;
                    return Ok(());
                }
            }
        }
    }
}

/// A chunk the window needs: read when the sweep reaches `start`.
struct Pending {
    start: i64,
    stream: usize,
    id: i64,
}

impl HistoryReader {
    /// Sweeps `[from, to)` of every tag that `key_of` gives a key (tags it gives none are not read), band
    /// by band: `f` gets batches of about `target` samples (a batch never splits a tag's samples of a
    /// band; a band's last batch may be empty), each grouped by tag in ascending tag id, each tag's in
    /// time order, with how far the sweep got. The bands cover the span without gaps or overlaps, the
    /// last one ending at `to - 1`. With `resume`, the first band ends at its `through` and leaves out
    /// its tags up to `tags_through`. `f` returns false to stop. `key_of` is asked once per tag and
    /// window. Returns how many samples were handed over.
    ///
    /// `f` takes the samples out of the vector it is lent, or swaps in a vector to fill next (a batch is
    /// tens of megabytes: a vector the caller is done with saves the kernel zeroing new pages); what it
    /// leaves in the vector is dropped.
    pub fn sweep<K: Clone>(
        &self,
        from: Timestamp,
        to: Timestamp,
        resume: Option<SweepResume>,
        target: usize,
        mut key_of: impl FnMut(&str) -> Option<K>,
        mut f: impl FnMut(&mut Vec<Swept<K>>, SweepMark) -> bool,
    ) -> Result<u64, HistoryError> {
        let (from, to) = (from.as_millis(), to.as_millis());
        let target = target.max(1);
        let mut first = resume.map(|r| {
            let end = r
                .through
                .as_millis()
                .saturating_add(1)
                .clamp(from + 1, to.max(from + 1));
            (end, r.tags_through)
        });
        let mut count = 0u64;
        let mut window_start = from;
        while window_start < to {
            let window_end = window_start.saturating_add(WINDOW_MS).min(to);
            let more = self.sweep_window(
                window_start..window_end,
                first.take(),
                target,
                &mut key_of,
                &mut |samples: &mut Vec<Swept<K>>, mark| {
                    count += samples.len() as u64;
                    f(samples, mark)
                },
            )?;
            if !more {
                break;
            }
            window_start = window_end;
        }
        Ok(count)
    }

    /// One window of [`Self::sweep`], in one read transaction; `first` is the end of its first band and
    /// the tags that band leaves out. Returns false when `f` asked to stop.
    fn sweep_window<K: Clone>(
        &self,
        window: std::ops::Range<i64>,
        first: Option<(i64, u32)>,
        target: usize,
        key_of: &mut impl FnMut(&str) -> Option<K>,
        f: &mut impl FnMut(&mut Vec<Swept<K>>, SweepMark) -> bool,
    ) -> Result<bool, HistoryError> {
        let what = "sweeping samples";
        let (from, to) = (window.start, window.end);
        let rows = self.tag_rows(&[])?;
        let snapshot = self.snapshot()?;
        let mut streams: Vec<Stream<K>> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        for row in &rows {
            if let Some(key) = key_of(&row.full_id) {
                ids.push(row.id);
                streams.push(Stream {
                    key,
                    kind: row.kind,
                    chunks: VecDeque::new(),
                    head: None,
                });
            }
        }
        let mark = |band_from: i64, band_to: i64, tags_through| SweepMark {
            after: Timestamp(band_from - 1),
            through: Timestamp(band_to - 1),
            tags_through,
        };
        if streams.is_empty() {
            // Nothing to read, but the caller still gets the span's end.
            return Ok(f(&mut Vec::new(), mark(from, to, None)));
        }
        let mut pending =
            chunks_of_window(&snapshot, &ids, from, to).map_err(self.sql_err(what))?;
        pending.sort_by_key(|p| (p.start, p.stream));
        let mut next_pending = 0;
        let mut data = snapshot
            .prepare("SELECT data FROM chunks WHERE id = ?1")
            .map_err(self.sql_err(what))?;
        // The streams with a chunk open, in tag id order: a band visits only these and the log's tags.
        let mut open: Vec<usize> = Vec::new();
        let mut log_walk = LogWalk::new(&snapshot, self.log_spans).map_err(self.sql_err(what))?;
        let (mut log_recs, mut chunk_recs) = (Vec::new(), Vec::new());
        let mut batch = Vec::with_capacity(target);
        // Hands the batch over and readies the vector the caller left for the next one.
        let mut hand_over = |batch: &mut Vec<Swept<K>>, mark| {
            let more = f(batch, mark);
            batch.clear();
            batch.reserve(target);
            more
        };
        let mut band_from = from;
        let mut skip_through = first.map(|(_, tags)| tags);
        while band_from < to {
            let band_to = match (first.filter(|_| band_from == from), self.log_spans) {
                (Some((end, _)), _) => end.min(to),
                // A file whose log rows have no spans decodes its whole log for every band: one band.
                (None, LogSpans::Absent) => to,
                (None, LogSpans::Stored) => {
                    let longest = band_from.saturating_add(BAND_MAX_MS).min(to);
                    band_end(&snapshot, band_from, longest).map_err(self.sql_err(what))?
                }
            };
            // The chunks that start in this band join their tags' streams.
            let mut joined = false;
            while let Some(p) = pending.get(next_pending).filter(|p| p.start < band_to) {
                let bytes: Vec<u8> = data
                    .query_row([p.id], |r| r.get(0))
                    .map_err(self.sql_err(what))?;
                next_pending += 1;
                if bytes.is_empty() {
                    // Retention dropped its samples (only its summary is left): nothing to hand over.
                    continue;
                }
                streams[p.stream].chunks.push_back(RunReader::new(bytes));
                open.push(p.stream);
                joined = true;
            }
            if joined {
                open.sort_unstable();
                open.dedup();
            }
            log_walk
                .start_band(&snapshot, band_from, band_to)
                .map_err(self.sql_err(what))?;
            // Tag by tag: the next of the log's tags and the open chunks' tags.
            let (mut next_open, mut at) = (0, 0);
            loop {
                let logged = log_walk.next_tag();
                let chunked = open.get(next_open).map(|&s| ids[s]);
                let tag = match (logged, chunked) {
                    (None, None) => break,
                    (Some(l), Some(c)) => l.min(c),
                    (Some(t), None) | (None, Some(t)) => t,
                };
                log_recs.clear();
                if logged == Some(tag) {
                    log_walk
                        .take_tag(&mut log_recs)
                        .map_err(self.sql_err(what))?;
                }
                chunk_recs.clear();
                if chunked == Some(tag) {
                    streams[open[next_open]]
                        .take_chunk_samples(from, band_to, &mut chunk_recs)
                        .map_err(self.sql_err(what))?;
                    next_open += 1;
                }
                // The log's tags without a stream (no key) are read (their cursors move on) and left out.
                while ids.get(at).is_some_and(|&id| id < tag) {
                    at += 1;
                }
                if ids.get(at) != Some(&tag) || skip_through.is_some_and(|t| tag <= t) {
                    continue;
                }
                merge_tag(&streams[at], &log_recs, &chunk_recs, &mut batch);
                if batch.len() >= target
                    && !hand_over(&mut batch, mark(band_from, band_to, Some(tag)))
                {
                    return Ok(false);
                }
            }
            open.retain(|&i| streams[i].has_chunk_samples());
            skip_through = None;
            if !hand_over(&mut batch, mark(band_from, band_to, None)) {
                return Ok(false);
            }
            band_from = band_to;
        }
        Ok(true)
    }
}

/// Where a band that starts at `from` ends: at `longest`, or sooner when the log's rows of commits that
/// reach into it hold more than [`COMMIT_SAMPLES`] (rows of unknown span are read by every band
/// however long it is, and do not count).
fn band_end(conn: &Transaction<'_>, from: i64, longest: i64) -> rusqlite::Result<i64> {
    let mut rows = conn.prepare_cached(
        "SELECT first_time, samples FROM log WHERE packed = 0 AND last_time >= ?1 AND first_time < ?2 \
         ORDER BY first_time",
    )?;
    let mut rows = rows.query((from, longest))?;
    let mut samples = 0;
    while let Some(row) = rows.next()? {
        let (first, count): (i64, i64) = (row.get(0)?, row.get(1)?);
        samples += count;
        if samples > COMMIT_SAMPLES && first >= from + BAND_MIN_MS {
            return Ok(first.min(longest));
        }
    }
    Ok(longest)
}

/// Appends a tag's samples of a band to `out` in time order: its log samples and chunk samples (each
/// sorted) merged by [`store::next_source`] (the log's sample wins over a chunk's at the same
/// millisecond).
fn merge_tag<K: Clone>(stream: &Stream<K>, log: &[Rec], chunks: &[Rec], out: &mut Vec<Swept<K>>) {
    let (mut l, mut c) = (0, 0);
    loop {
        let rec =
            match store::next_source(chunks.get(c).map(|r| r.time), log.get(l).map(|r| r.time)) {
                None => return,
                Some(Source::Log { replaces_chunk }) => {
                    c += usize::from(replaces_chunk);
                    l += 1;
                    &log[l - 1]
                }
                Some(Source::Chunk) => {
                    c += 1;
                    &chunks[c - 1]
                }
            };
        out.push(Swept {
            tag: stream.key.clone(),
            time: Timestamp(rec.time),
            value: value_of(&rec.value, stream.kind),
            quality: quality_of(rec.quality),
        });
    }
}

/// The chunks of the tags `ids` (stream `i` is `ids[i]`) that may hold samples in `[from, to)`: for each
/// tag its chunks that start in the window, from the index alone, and the one before the window if it
/// reaches into it (a tag's chunks never overlap, so no earlier one can). The one before is read first
/// (its `start` is given as `from`). One statement a tag, read backwards from the window's end and
/// stopped at the first chunk that starts before the window: a million-tag plant asks a million times a
/// window, most of them for tags without a chunk there, and this is one seek of the index each.
fn chunks_of_window(
    conn: &Transaction<'_>,
    ids: &[u32],
    from: i64,
    to: i64,
) -> rusqlite::Result<Vec<Pending>> {
    let mut of_tag = conn.prepare(
        "SELECT id, start, end FROM chunks WHERE tag = ?1 AND start < ?2 ORDER BY start DESC",
    )?;
    let mut pending = Vec::new();
    for (stream, &tag) in ids.iter().enumerate() {
        let mut rows = of_tag.query((tag, to))?;
        while let Some(row) = rows.next()? {
            let (id, start, end): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            if start >= from {
                pending.push(Pending { start, stream, id });
            } else {
                if end >= from {
                    pending.push(Pending {
                        start: from,
                        stream,
                        id,
                    });
                }
                break;
            }
        }
    }
    Ok(pending)
}
