//! Reading every tag's samples over a span of time, slice by slice: what a replay of an outage needs.
//!
//! [`HistoryReader::for_each_sample`] merges one cursor per tag sample by sample, which is right for a
//! few tags and an export, but a plant of 100,000 tags pays for 100,000 prepared statements before its
//! first sample and a heap operation per sample after. A sweep instead cuts the span into slices of
//! time and hands over each slice whole: every stored sample in `(previous end, end]`, grouped by tag
//! (ascending tag id, so a device's tags, registered together, come together), each tag's samples in
//! time order. A slice never splits a millisecond.
//!
//! How it reads: the span is read in windows of [`WINDOW_MS`], each in its own read transaction (so a
//! long replay never pins one snapshot, and the write-ahead log can be checkpointed meanwhile). For a
//! window it lists the ids of the chunks it needs from the `(tag, start)` index alone, reads a chunk's
//! bytes only when the sweep reaches the chunk's start, and decodes it a few samples at a time
//! ([`RunReader`]), so what it holds is about one chunk per tag, compressed. The unsealed log's samples
//! of the window are read a part of about [`LOG_PART_SAMPLES`] at a time, ahead of the slices, and merged
//! per tag (the log wins at the same millisecond, as everywhere); a part reads only the log rows whose
//! time spans reach into it (history schema 10).
//! Slices grow and shrink to hold about `target` samples.

use std::collections::VecDeque;

use plantwatch_core::{Quality, Timestamp, Value};
use rusqlite::{OptionalExtension, Transaction};

use crate::codec::{Rec, RunReader};
use crate::reader::{quality_of, value_of, Kind};
use crate::store::{self, LogSpans, Source, Wanted};
use crate::{HistoryError, HistoryReader};

/// A window of the sweep is read in one read transaction; its chunk list holds about one entry per
/// chunk of each tag in it.
pub const WINDOW_MS: i64 = 30 * 60 * 1000;

/// The first slice's length; later ones adapt to the data's density.
const FIRST_SLICE_MS: i64 = 1000;

/// The unsealed log's samples of a window are read a part at a time, each about this many samples
/// (about 32 bytes each while held): the first part is [`FIRST_LOG_PART_MS`] long, later ones adapt to
/// the data's density. A million-tag plant stores about 100,000 samples a second, so reading a whole
/// window at once held 180 million samples, 5.5 GB.
const LOG_PART_SAMPLES: usize = 4_000_000;
const FIRST_LOG_PART_MS: i64 = 60_000;

/// How long the next slice and the next part of the log are: both adapt to the data's density.
struct Pace {
    slice_ms: i64,
    log_ms: i64,
}

impl Pace {
    /// A part of the log of `read` samples was read: the next one longer when it held few, shorter
    /// when many.
    fn log_read(&mut self, read: usize) {
        if read < LOG_PART_SAMPLES / 2 {
            self.log_ms = self.log_ms.saturating_mul(2).min(WINDOW_MS);
        } else if read > LOG_PART_SAMPLES * 2 {
            self.log_ms = (self.log_ms / 2).max(1000);
        }
    }
}

/// One sample of a sweep: the tag as the caller's key for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Swept<K> {
    pub tag: K,
    pub time: Timestamp,
    pub value: Option<Value>,
    pub quality: Quality,
}

/// A tag of the window being swept, with what is left of its samples.
struct Stream<K> {
    key: K,
    kind: Kind,
    /// Its chunks reached so far, in time order (they never overlap).
    chunks: VecDeque<RunReader>,
    /// The next sample of the front chunk, taken out to compare it with the log's.
    head: Option<Rec>,
    /// Its log samples in the window, sorted.
    log: VecDeque<Rec>,
}

impl<K> Stream<K> {
    fn is_done(&self) -> bool {
        self.head.is_none() && self.chunks.is_empty() && self.log.is_empty()
    }

    /// The time of its next sample, once `fill_head` ran (`i64::MAX` when it has none left).
    fn next_time(&self) -> i64 {
        let chunk = self.head.as_ref().map_or(i64::MAX, |r| r.time);
        let log = self.log.front().map_or(i64::MAX, |r| r.time);
        chunk.min(log)
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
}

/// A chunk the window needs: read when the sweep reaches `start`.
struct Pending {
    start: i64,
    stream: usize,
    id: i64,
}

impl HistoryReader {
    /// Sweeps `[from, to)` of every tag that `key_of` gives a key (tags it gives none are not read), in
    /// slices of about `target` samples: `f` gets each slice's samples (grouped by tag in ascending tag
    /// id, each tag's in time order) and the slice's last millisecond; the slices cover the span
    /// without gaps or overlaps, the last one ending at `to - 1` (slices may be empty). `f` returns
    /// false to stop. `key_of` is asked once per tag and window. Returns how many samples were handed
    /// over.
    pub fn sweep<K: Clone>(
        &self,
        from: Timestamp,
        to: Timestamp,
        target: usize,
        mut key_of: impl FnMut(&str) -> Option<K>,
        mut f: impl FnMut(&[Swept<K>], Timestamp) -> bool,
    ) -> Result<u64, HistoryError> {
        let (from, to) = (from.as_millis(), to.as_millis());
        let target = target.max(1);
        let mut pace = Pace {
            slice_ms: FIRST_SLICE_MS,
            log_ms: FIRST_LOG_PART_MS,
        };
        let mut count = 0u64;
        let mut out: Vec<Swept<K>> = Vec::with_capacity(target.min(1 << 20));
        let mut window_start = from;
        while window_start < to {
            let window_end = window_start.saturating_add(WINDOW_MS).min(to);
            let more = self.sweep_window(
                window_start,
                window_end,
                target,
                &mut pace,
                &mut key_of,
                &mut |samples, through| {
                    count += samples.len() as u64;
                    f(samples, through)
                },
                &mut out,
            )?;
            if !more {
                break;
            }
            window_start = window_end;
        }
        Ok(count)
    }

    /// One window of [`Self::sweep`], in one read transaction. Returns false when `f` asked to stop.
    #[allow(clippy::too_many_arguments)]
    fn sweep_window<K: Clone>(
        &self,
        from: i64,
        to: i64,
        target: usize,
        pace: &mut Pace,
        key_of: &mut impl FnMut(&str) -> Option<K>,
        f: &mut impl FnMut(&[Swept<K>], Timestamp) -> bool,
        out: &mut Vec<Swept<K>>,
    ) -> Result<bool, HistoryError> {
        let what = "sweeping samples";
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
                    log: VecDeque::new(),
                });
            }
        }
        if streams.is_empty() {
            // Nothing to read, but the caller still gets the span's slices' end.
            return Ok(f(&[], Timestamp(to - 1)));
        }
        // The streams with samples left, in tag id order, and each stream's next sample time: a slice
        // visits only the streams whose next sample falls in it, by one look at `next` (with 100,000
        // tags and a few samples of each per slice, visiting every stream would cost more than the
        // samples).
        let mut active: Vec<usize> = Vec::new();
        let mut next: Vec<i64> = vec![i64::MAX; streams.len()];
        // The log's samples before this are in the streams.
        let mut log_to = from;
        let mut pending =
            chunks_of_window(&snapshot, &ids, from, to).map_err(self.sql_err(what))?;
        pending.sort_by_key(|p| (p.start, p.stream));
        let mut next_pending = 0;
        let mut data = snapshot
            .prepare("SELECT data FROM chunks WHERE id = ?1")
            .map_err(self.sql_err(what))?;
        let mut done_through = from - 1;
        while done_through < to - 1 {
            let through = done_through.saturating_add(pace.slice_ms).min(to - 1);
            let mut joined = false;
            // The log's samples up to the slice's end join their tags' streams, a part at a time.
            while log_to <= through {
                // A file whose log rows have no spans decodes its whole log for every part: one part.
                let part_ms = match self.log_spans {
                    LogSpans::Stored => pace.log_ms,
                    LogSpans::Absent => WINDOW_MS,
                };
                let part_to = log_to.saturating_add(part_ms).min(to);
                let log = store::read_log(&snapshot, Wanted::All, log_to, part_to, self.log_spans)
                    .map_err(self.sql_err(what))?;
                let mut read = 0;
                for (id, recs) in log {
                    // `ids` ascend (the tags in id order); tags without a key were left out.
                    let Ok(i) = ids.binary_search(&id) else {
                        continue;
                    };
                    read += recs.len();
                    streams[i].log.extend(recs);
                    // Its next sample may be earlier than it was: visit it this slice.
                    next[i] = i64::MIN;
                    active.push(i);
                    joined = true;
                }
                pace.log_read(read);
                log_to = part_to;
            }
            // The chunks that start in this slice join their tags' streams.
            while let Some(p) = pending.get(next_pending).filter(|p| p.start <= through) {
                let bytes: Vec<u8> = data
                    .query_row([p.id], |r| r.get(0))
                    .map_err(self.sql_err(what))?;
                next_pending += 1;
                if bytes.is_empty() {
                    // Retention dropped its samples (only its summary is left): nothing to hand over.
                    continue;
                }
                streams[p.stream].chunks.push_back(RunReader::new(bytes));
                // Its next sample is not known until the chunk is read: visit it this slice.
                next[p.stream] = i64::MIN;
                active.push(p.stream);
                joined = true;
            }
            if joined {
                active.sort_unstable();
                active.dedup();
            }
            out.clear();
            let mut finished = false;
            for &i in &active {
                if next[i] > through {
                    continue;
                }
                let stream = &mut streams[i];
                drain(stream, from, through, out).map_err(self.sql_err(what))?;
                next[i] = stream.next_time();
                finished |= stream.is_done();
            }
            if finished {
                active.retain(|&i| !streams[i].is_done());
            }
            if !f(out, Timestamp(through)) {
                return Ok(false);
            }
            // About `target` samples a slice: longer when this one held few, shorter when many.
            if out.len() < target / 2 {
                pace.slice_ms = pace.slice_ms.saturating_mul(2).min(WINDOW_MS);
            } else if out.len() > target.saturating_mul(2) {
                pace.slice_ms = (pace.slice_ms / 2).max(1);
            }
            done_through = through;
        }
        Ok(true)
    }
}

/// Moves `stream`'s samples in `[from, through]` to `out`, in time order, merged by
/// [`store::next_source`] (the log's sample wins over a chunk's at the same millisecond).
fn drain<K: Clone>(
    stream: &mut Stream<K>,
    from: i64,
    through: i64,
    out: &mut Vec<Swept<K>>,
) -> rusqlite::Result<()> {
    loop {
        stream.fill_head(from)?;
        if stream.next_time() > through {
            return Ok(());
        }
        let chunk = stream.head.as_ref().map(|r| r.time);
        let log = stream.log.front().map(|r| r.time);
        let rec = match store::next_source(chunk, log) {
            None => return Ok(()),
            Some(Source::Chunk) => stream.head.take(),
            Some(Source::Log { replaces_chunk }) => {
                if replaces_chunk {
                    stream.head = None;
                }
                stream.log.pop_front()
            }
        };
        if let Some(rec) = rec {
            out.push(Swept {
                tag: stream.key.clone(),
                time: Timestamp(rec.time),
                value: value_of(rec.value, stream.kind),
                quality: quality_of(rec.quality),
            });
        }
    }
}

/// The chunks of the tags `ids` (stream `i` is `ids[i]`) that may hold samples in `[from, to)`: for each
/// tag its chunks that start in the window, from the index alone, and the one before the window if it
/// reaches into it (a tag's chunks never overlap, so no earlier one can). The one before is read first
/// (its `start` is given as `from`).
fn chunks_of_window(
    conn: &Transaction<'_>,
    ids: &[u32],
    from: i64,
    to: i64,
) -> rusqlite::Result<Vec<Pending>> {
    let mut before = conn.prepare(
        "SELECT id, end FROM chunks WHERE tag = ?1 AND start < ?2 ORDER BY start DESC LIMIT 1",
    )?;
    let mut inside = conn.prepare(
        "SELECT id, start FROM chunks WHERE tag = ?1 AND start >= ?2 AND start < ?3 ORDER BY start",
    )?;
    let mut pending = Vec::new();
    for (stream, &tag) in ids.iter().enumerate() {
        let reaching: Option<(i64, i64)> = before
            .query_row((tag, from), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((id, _)) = reaching.filter(|&(_, end)| end >= from) {
            pending.push(Pending {
                start: from,
                stream,
                id,
            });
        }
        let mut rows = inside.query((tag, from, to))?;
        while let Some(row) = rows.next()? {
            pending.push(Pending {
                id: row.get(0)?,
                start: row.get(1)?,
                stream,
            });
        }
    }
    Ok(pending)
}
