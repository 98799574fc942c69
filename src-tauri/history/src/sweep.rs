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
//! ([`RunReader`]), so what it holds is about one chunk per tag, compressed.
//!
//! A window is read a part of about [`PART_SAMPLES`] at a time: the part's log samples (only the log
//! rows whose time spans reach into it, history schema 10), listed by tag where they were decoded, and
//! its chunk samples from the tags with a chunk open, merged per tag (the log wins at the same
//! millisecond, as everywhere), then dealt into the part's slices by time, each of about `target`
//! samples. Every step walks the part's samples in order: with a million tags and a sample or two of
//! each in a slice, visiting each tag's stream for each slice cost more than the samples.

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

/// A window is read a part at a time, each about this many samples (about 100 bytes each while held:
/// read, merged, dealt into slices): the first part is [`FIRST_PART_MS`] long, later ones adapt to the
/// data's density. A million-tag plant stores about 100,000 samples a second, so reading a whole
/// window at once held 180 million samples, 5.5 GB.
const PART_SAMPLES: usize = 2_000_000;
const FIRST_PART_MS: i64 = 10_000;

/// How long the next part of a window is: it adapts to the data's density.
struct Pace {
    part_ms: i64,
}

impl Pace {
    /// A part of `read` samples was read: the next one longer when it held few, shorter when many.
    fn part_read(&mut self, read: usize) {
        if read < PART_SAMPLES / 2 {
            self.part_ms = self.part_ms.saturating_mul(2).min(WINDOW_MS);
        } else if read > PART_SAMPLES * 2 {
            self.part_ms = (self.part_ms / 2).max(1000);
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
        stream: u32,
        from: i64,
        to: i64,
        out: &mut Vec<(u32, Rec)>,
    ) -> rusqlite::Result<()> {
        loop {
            self.fill_head(from)?;
            match self.head.take() {
                Some(rec) if rec.time < to => out.push((stream, rec)),
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

/// A part's slices: `[from, to)` cut into slices of `width` ms, each collecting its samples.
struct Slices<K> {
    from: i64,
    to: i64,
    width: i64,
    slices: Vec<Vec<Swept<K>>>,
}

impl<K> Slices<K> {
    /// Slices of `[from, to)` for `samples` samples, about `target` each (time is cut evenly: a
    /// plant's samples are spread over the part about evenly).
    fn new(from: i64, to: i64, samples: usize, target: usize) -> Slices<K> {
        let span = (to - from).max(1);
        let count = (samples.div_ceil(target).max(1) as i64).min(span);
        let width = (span + count - 1) / count;
        let count = (span + width - 1) / width;
        let each = samples / count as usize + 1;
        Slices {
            from,
            to,
            width,
            slices: (0..count).map(|_| Vec::with_capacity(each)).collect(),
        }
    }

    fn push(&mut self, sample: Swept<K>) {
        // Every sample of the part lies in it; were one not to, the nearest slice takes it. (A part is at
        // most a window long, so the division is of 32-bit numbers, a few times quicker.)
        let offset = (sample.time.0 - self.from).clamp(0, i64::from(u32::MAX)) as u32;
        let width = self.width.clamp(1, i64::from(u32::MAX)) as u32;
        let last = self.slices.len() - 1;
        self.slices[((offset / width) as usize).min(last)].push(sample);
    }

    /// Each slice with its last millisecond, in time order.
    fn into_slices(self) -> impl Iterator<Item = (Vec<Swept<K>>, Timestamp)> {
        let (from, to, width) = (self.from, self.to, self.width);
        self.slices.into_iter().enumerate().map(move |(i, slice)| {
            let through = (from + (i as i64 + 1) * width - 1).min(to - 1);
            (slice, Timestamp(through))
        })
    }
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
        mut f: impl FnMut(Vec<Swept<K>>, Timestamp) -> bool,
    ) -> Result<u64, HistoryError> {
        let (from, to) = (from.as_millis(), to.as_millis());
        let target = target.max(1);
        let mut pace = Pace {
            part_ms: FIRST_PART_MS,
        };
        let mut count = 0u64;
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
            )?;
            if !more {
                break;
            }
            window_start = window_end;
        }
        Ok(count)
    }

    /// One window of [`Self::sweep`], in one read transaction. Returns false when `f` asked to stop.
    fn sweep_window<K: Clone>(
        &self,
        from: i64,
        to: i64,
        target: usize,
        pace: &mut Pace,
        key_of: &mut impl FnMut(&str) -> Option<K>,
        f: &mut impl FnMut(Vec<Swept<K>>, Timestamp) -> bool,
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
                });
            }
        }
        if streams.is_empty() {
            // Nothing to read, but the caller still gets the span's slices' end.
            return Ok(f(Vec::new(), Timestamp(to - 1)));
        }
        let mut pending =
            chunks_of_window(&snapshot, &ids, from, to).map_err(self.sql_err(what))?;
        pending.sort_by_key(|p| (p.start, p.stream));
        let mut next_pending = 0;
        let mut data = snapshot
            .prepare("SELECT data FROM chunks WHERE id = ?1")
            .map_err(self.sql_err(what))?;
        // The streams with a chunk open, in tag id order: a part visits only these (the log's samples
        // come grouped by tag already).
        let mut open: Vec<usize> = Vec::new();
        let mut chunk_samples: Vec<(u32, Rec)> = Vec::new();
        let mut log_walk = LogWalk::new(&snapshot, self.log_spans).map_err(self.sql_err(what))?;
        let mut part_from = from;
        while part_from < to {
            // A file whose log rows have no spans decodes its whole log for every part: one part.
            let part_ms = match self.log_spans {
                LogSpans::Stored => pace.part_ms,
                LogSpans::Absent => WINDOW_MS,
            };
            let part_to = part_from.saturating_add(part_ms).min(to);
            // The chunks that start in this part join their tags' streams.
            let mut joined = false;
            while let Some(p) = pending.get(next_pending).filter(|p| p.start < part_to) {
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
            chunk_samples.clear();
            for &i in &open {
                streams[i]
                    .take_chunk_samples(i as u32, from, part_to, &mut chunk_samples)
                    .map_err(self.sql_err(what))?;
            }
            open.retain(|&i| streams[i].has_chunk_samples());
            log_walk
                .read(&snapshot, part_from, part_to)
                .map_err(self.sql_err(what))?;
            let read = log_walk.sample_count() + chunk_samples.len();
            pace.part_read(read);
            let mut slices = Slices::new(part_from, part_to, read, target);
            merge(
                &streams,
                &ids,
                log_walk.samples(),
                chunk_samples.iter().map(|(stream, rec)| (*stream, rec)),
                |s| slices.push(s),
            );
            for (slice, through) in slices.into_slices() {
                if !f(slice, through) {
                    return Ok(false);
                }
            }
            part_from = part_to;
        }
        Ok(true)
    }
}

/// Merges a part's log samples (by tag id, grouped and sorted) and chunk samples (by stream, grouped
/// in stream order and sorted) into `out`, tag by tag in ascending order, each tag's in time order,
/// by [`store::next_source`] (the log's sample wins over a chunk's at the same millisecond). Log
/// samples of tags without a stream (no key) are left out.
fn merge<'a, K: Clone>(
    streams: &[Stream<K>],
    ids: &[u32],
    log: impl Iterator<Item = (u32, &'a Rec)>,
    chunks: impl Iterator<Item = (u32, &'a Rec)>,
    mut out: impl FnMut(Swept<K>),
) {
    // The log's samples with their streams: `ids` ascend like the log's tags, so one pass finds them.
    let mut at = 0;
    let mut log = log
        .filter_map(|(tag, rec)| {
            while ids.get(at).is_some_and(|&id| id < tag) {
                at += 1;
            }
            (ids.get(at) == Some(&tag)).then_some((at as u32, rec))
        })
        .peekable();
    let mut chunks = chunks.peekable();
    let mut emit = |stream: u32, rec: &Rec| {
        let stream_of = &streams[stream as usize];
        out(Swept {
            tag: stream_of.key.clone(),
            time: Timestamp(rec.time),
            value: value_of(&rec.value, stream_of.kind),
            quality: quality_of(rec.quality),
        });
    };
    loop {
        // The next of each, ordered by stream and then time.
        let chunk = chunks.peek().map(|(s, r)| (*s, r.time));
        let logged = log.peek().map(|(s, r)| (*s, r.time));
        let take_log = match (chunk, logged) {
            (None, None) => return,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some((cs, _)), Some((ls, _))) if cs != ls => ls < cs,
            (Some((_, ct)), Some((_, lt))) => match store::next_source(Some(ct), Some(lt)) {
                Some(Source::Log { replaces_chunk }) => {
                    if replaces_chunk {
                        chunks.next();
                    }
                    true
                }
                _ => false,
            },
        };
        let next = if take_log { log.next() } else { chunks.next() };
        if let Some((stream, rec)) = next {
            emit(stream, rec);
        }
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
