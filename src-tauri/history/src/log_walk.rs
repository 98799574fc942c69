//! The unsealed log read forward in time, a part at a time: what a sweep needs from it.
//!
//! A packed log row holds a range of tags over the minutes of a packing (a million-tag plant: about five
//! minutes), and a sweep reads the log in parts of seconds. Read the way a query reads it, each part
//! would fetch and decode every row reaching into it whole and keep what falls in the part: each packed
//! sample decoded a dozen times. The walk instead keeps the rows it opened (their bytes) until the parts
//! have passed their last sample, and reads a packed row's runs forward with one cursor each, so each
//! sample is decoded once. Rows of commits (and rows of older formats) are short-lived and not
//! necessarily in time order: they are decoded whole for each part they reach into, as a query does.
//!
//! What a part hands over is grouped by tag id (ascending), each tag's samples in time order, the last
//! written kept when a millisecond repeats, like [`store::read_log`].

use std::ops::Range;

use rusqlite::{Connection, OptionalExtension};

use crate::codec::{decode_log_run, CodecError, LogBlob, Rec, RecValue, RunCursor, RunFormat};
use crate::store::{self, damaged, LogSpans, SealedRuns};

/// The log walked forward over one read transaction.
pub(crate) struct LogWalk {
    spans: LogSpans,
    /// The runs a seal in progress already wrote into chunks: left out.
    sealed: SealedRuns,
    /// The rows opened and not passed yet, by seq (the order they were written).
    rows: Vec<OpenRow>,
    /// Where the part being read keeps its samples (one vector for every part, so a part of millions
    /// of samples is not a fresh allocation each time).
    recs: Vec<Rec>,
    runs: Vec<RunAt>,
    /// The part's samples by tag, in tag order: where each tag's are in `recs`.
    segments: Vec<(u32, Range<usize>)>,
}

struct OpenRow {
    seq: i64,
    /// Its last sample's time; `None` when the row does not say (written before history schema 10).
    last_time: Option<i64>,
    blob: Vec<u8>,
    runs: Runs,
}

/// A row's runs, by tag id: a packed row's each with a cursor (a few hundred bytes), any other's only
/// where it is (a commit's row of a million-tag plant has 100,000 runs).
enum Runs {
    /// A packed row's runs: each in time order, read forward.
    Forward(Vec<(u32, RunCursor)>),
    /// Any other row's runs: each decoded whole for each part.
    Whole(Vec<(u32, Range<usize>, RunFormat)>),
}

impl Runs {
    /// The tag of the row's first run (a row's runs are written in tag order); past every tag when it
    /// has none.
    fn first_tag(&self) -> u32 {
        let first = match self {
            Runs::Forward(cursors) => cursors.first().map(|(tag, _)| *tag),
            Runs::Whole(whole) => whole.first().map(|(tag, ..)| *tag),
        };
        first.unwrap_or(u32::MAX)
    }
}

/// Where one run's samples of the part are in `recs`.
struct RunAt {
    tag: u32,
    /// Its row's place in `rows` (by seq: a later row was written later).
    row: u32,
    start: usize,
    end: usize,
}

impl LogWalk {
    pub(crate) fn new(conn: &Connection, spans: LogSpans) -> rusqlite::Result<LogWalk> {
        Ok(LogWalk {
            spans,
            sealed: SealedRuns::read(conn)?,
            rows: Vec::new(),
            recs: Vec::new(),
            runs: Vec::new(),
            segments: Vec::new(),
        })
    }

    /// Reads the log's samples in `[from, to)`: [`Self::samples`] gives them. Parts must follow each
    /// other forward in time (`from` of a part at or after the `to` of the one before), in the same
    /// read transaction.
    pub(crate) fn read(&mut self, conn: &Connection, from: i64, to: i64) -> rusqlite::Result<()> {
        self.open_rows(conn, from, to)?;
        self.recs.clear();
        self.runs.clear();
        // The rows are read by their first tag, so the runs come nearly sorted by tag: a packing's
        // rows each hold a stretch of tags, but take their places (seq) from the last tag down.
        let mut visit: Vec<usize> = (0..self.rows.len()).collect();
        visit.sort_by_key(|&i| (self.rows[i].runs.first_tag(), i));
        let (recs, runs, sealed) = (&mut self.recs, &mut self.runs, self.sealed);
        for i in visit {
            let row = &mut self.rows[i];
            let is_sealed = |tag: u32| sealed.holds(row.seq, tag);
            let mut ran = |tag: u32, start: usize, end: usize| {
                if end > start {
                    runs.push(RunAt {
                        tag,
                        row: i as u32,
                        start,
                        end,
                    });
                }
            };
            match &mut row.runs {
                Runs::Forward(cursors) => {
                    for (tag, cursor) in cursors.iter_mut() {
                        if is_sealed(*tag) {
                            continue;
                        }
                        let start = recs.len();
                        while let Some(rec) = cursor.next_before(&row.blob, to).map_err(damaged)? {
                            if rec.time >= from {
                                recs.push(rec);
                            }
                        }
                        ran(*tag, start, recs.len());
                    }
                }
                Runs::Whole(whole) => {
                    for (tag, range, format) in whole.iter() {
                        if is_sealed(*tag) {
                            continue;
                        }
                        let bytes = row
                            .blob
                            .get(range.clone())
                            .ok_or_else(|| damaged(CodecError("run outside its row")))?;
                        let start = recs.len();
                        decode_log_run(*format, bytes, |r| {
                            if r.time >= from && r.time < to {
                                recs.push(r);
                            }
                        })
                        .map_err(damaged)?;
                        ran(*tag, start, recs.len());
                    }
                }
            }
        }
        // Rows whose samples all lie before the next part are done with.
        self.rows
            .retain(|row| row.last_time.is_none_or(|last| last >= to));
        self.group();
        Ok(())
    }

    /// Opens the rows that may hold samples in `[from, to)` and are not open yet, keeping `rows` in
    /// seq order.
    fn open_rows(&mut self, conn: &Connection, from: i64, to: i64) -> rusqlite::Result<()> {
        let mut reaching = conn.prepare_cached(&format!(
            "SELECT l.seq, {} FROM log l WHERE {} ORDER BY l.seq",
            self.spans.last_time(),
            self.spans.condition()
        ))?;
        let wanted: Vec<(i64, Option<i64>)> = reaching
            .query_map((from, to), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut data = conn.prepare_cached("SELECT data FROM log_data WHERE seq = ?1")?;
        for (seq, last_time) in wanted {
            let Err(at) = self.rows.binary_search_by_key(&seq, |row| row.seq) else {
                continue;
            };
            let Some(blob) = data
                .query_row([seq], |r| r.get::<_, Vec<u8>>(0))
                .optional()?
            else {
                continue;
            };
            let runs = open_runs(&blob).map_err(damaged)?;
            self.rows.insert(
                at,
                OpenRow {
                    seq,
                    last_time,
                    blob,
                    runs,
                },
            );
        }
        Ok(())
    }

    /// Lists the part's samples by tag: a tag's runs together in the order they were written, each tag's
    /// sorted and deduplicated (a packed run needs neither). Most tags have one run in a part, in order:
    /// it is listed where it lies; the others' samples are merged and appended to `recs`.
    fn group(&mut self) {
        // Read by the rows' first tags, the runs are usually in this order already, which the sort
        // finds in one pass (sorting a million runs a part read by seq cost 5 to 6 % of a replay).
        self.runs.sort_by_key(|r| (r.tag, r.row));
        self.segments.clear();
        let mut group: Vec<Rec> = Vec::new();
        for tag_runs in self.runs.chunk_by(|a, b| a.tag == b.tag) {
            let tag = tag_runs[0].tag;
            if let [run] = tag_runs {
                if self.recs[run.start..run.end].is_sorted_by(|a, b| a.time < b.time) {
                    self.segments.push((tag, run.start..run.end));
                    continue;
                }
            }
            group.clear();
            for run in tag_runs {
                group.extend(self.recs[run.start..run.end].iter_mut().map(take));
            }
            if !group.is_sorted_by(|a, b| a.time < b.time) {
                store::sort_and_dedupe(&mut group);
            }
            let start = self.recs.len();
            self.recs.append(&mut group);
            self.segments.push((tag, start..self.recs.len()));
        }
    }

    /// How many samples the part last read holds.
    pub(crate) fn sample_count(&self) -> usize {
        self.segments.iter().map(|(_, range)| range.len()).sum()
    }

    /// The samples of the part last read, grouped by tag id (ascending), each tag's in time order.
    pub(crate) fn samples(&self) -> impl Iterator<Item = (u32, &Rec)> + '_ {
        self.segments
            .iter()
            .flat_map(|(tag, range)| self.recs[range.clone()].iter().map(|rec| (*tag, rec)))
    }
}

/// Moves a sample out of the part's buffer (which is cleared next).
fn take(rec: &mut Rec) -> Rec {
    std::mem::replace(
        rec,
        Rec {
            time: 0,
            quality: 0,
            value: RecValue::None,
        },
    )
}

/// The runs of a log row's blob, each read forward when the blob is a packed row's.
fn open_runs(blob: &[u8]) -> Result<Runs, CodecError> {
    let parsed = LogBlob::parse(blob)?;
    let ranges = parsed.run_ranges(blob)?;
    Ok(if parsed.is_packed() {
        Runs::Forward(
            ranges
                .into_iter()
                .map(|(tag, range, _)| (tag, RunCursor::new(range)))
                .collect(),
        )
    } else {
        Runs::Whole(ranges)
    })
}
