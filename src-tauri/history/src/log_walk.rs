//! The unsealed log read forward in time, a band at a time, tag by tag: what a sweep needs from it.
//!
//! A packed log row holds a range of tags over the minutes of a packing (a million-tag plant: about five
//! minutes). Read the way a query reads it, each band would fetch and decode every row reaching into it
//! whole and keep what falls in the band. The walk instead keeps the rows it opened (their bytes) until
//! the bands have passed their last sample, and reads a packed row's runs forward with one cursor each,
//! so each sample is decoded once. Rows of commits (and rows of older formats) are short-lived and not
//! necessarily in time order: they are decoded whole for each band they reach into, as a query does.
//!
//! A band is handed over tag by tag (ascending tag id), each tag's samples in time order, the last
//! written kept when a millisecond repeats, like [`store::read_log`]: the open rows' runs are merged by
//! (tag, row), so a band holds no more than one tag's samples at a time, however long it is.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;

use rusqlite::{Connection, OptionalExtension};

use crate::codec::{decode_log_run, CodecError, LogBlob, Rec, RunCursor, RunFormat};
use crate::store::{self, damaged, LogSpans, SealedRuns};

/// The log walked forward over one read transaction.
pub(crate) struct LogWalk {
    spans: LogSpans,
    /// The runs a seal in progress already wrote into chunks: left out.
    sealed: SealedRuns,
    /// The rows opened and not passed yet, by seq (the order they were written).
    rows: Vec<OpenRow>,
    /// The band being read: `[from, to)`.
    band: Range<i64>,
    /// Each open row's next run in the band, by (its tag, the row's place in `rows`): the smallest is
    /// the next tag handed over, and a tag's runs come in the order their rows were written.
    next: BinaryHeap<Reverse<(u32, u32)>>,
    /// Each open row's next run (an index into its runs).
    at: Vec<usize>,
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
    /// Any other row's runs: each decoded whole for each band.
    Whole(Vec<(u32, Range<usize>, RunFormat)>),
}

impl Runs {
    fn len(&self) -> usize {
        match self {
            Runs::Forward(cursors) => cursors.len(),
            Runs::Whole(whole) => whole.len(),
        }
    }

    /// The tag of the run at `i`.
    fn tag(&self, i: usize) -> Option<u32> {
        match self {
            Runs::Forward(cursors) => cursors.get(i).map(|(tag, _)| *tag),
            Runs::Whole(whole) => whole.get(i).map(|(tag, ..)| *tag),
        }
    }
}

impl LogWalk {
    pub(crate) fn new(conn: &Connection, spans: LogSpans) -> rusqlite::Result<LogWalk> {
        Ok(LogWalk {
            spans,
            sealed: SealedRuns::read(conn)?,
            rows: Vec::new(),
            band: 0..0,
            next: BinaryHeap::new(),
            at: Vec::new(),
        })
    }

    /// Starts reading the log's samples in `[from, to)`: [`Self::next_tag`] and [`Self::take_tag`] hand
    /// them over tag by tag. Bands must follow each other forward in time (`from` of a band at or after
    /// the `to` of the one before), in the same read transaction, each read to its end.
    pub(crate) fn start_band(
        &mut self,
        conn: &Connection,
        from: i64,
        to: i64,
    ) -> rusqlite::Result<()> {
        // Rows whose samples all lie before this band are done with.
        self.rows
            .retain(|row| row.last_time.is_none_or(|last| last >= from));
        self.open_rows(conn, from, to)?;
        self.band = from..to;
        self.at.clear();
        self.at.resize(self.rows.len(), 0);
        self.next.clear();
        for (i, row) in self.rows.iter().enumerate() {
            if let Some(tag) = row.runs.tag(0) {
                self.next.push(Reverse((tag, i as u32)));
            }
        }
        Ok(())
    }

    /// The next tag with runs in the band (it may have no samples there), or `None` when the band is done.
    pub(crate) fn next_tag(&self) -> Option<u32> {
        self.next.peek().map(|Reverse((tag, _))| *tag)
    }

    /// Appends the band's samples of the next tag ([`Self::next_tag`]) to `out`, in time order, the last
    /// written kept when a millisecond repeats.
    pub(crate) fn take_tag(&mut self, out: &mut Vec<Rec>) -> rusqlite::Result<()> {
        let Some(tag) = self.next_tag() else {
            return Ok(());
        };
        let start = out.len();
        let (from, to) = (self.band.start, self.band.end);
        while let Some(&Reverse((next, i))) = self.next.peek() {
            if next != tag {
                break;
            }
            self.next.pop();
            let i = i as usize;
            let row = &mut self.rows[i];
            let at = self.at[i];
            self.at[i] += 1;
            if let Some(following) = row.runs.tag(at + 1) {
                self.next.push(Reverse((following, i as u32)));
            }
            if self.sealed.holds(row.seq, tag) {
                continue;
            }
            match &mut row.runs {
                Runs::Forward(cursors) => {
                    let cursor = &mut cursors[at].1;
                    while let Some(rec) = cursor.next_before(&row.blob, to).map_err(damaged)? {
                        if rec.time >= from {
                            out.push(rec);
                        }
                    }
                }
                Runs::Whole(whole) => {
                    let (_, range, format) = &whole[at];
                    let bytes = row
                        .blob
                        .get(range.clone())
                        .ok_or_else(|| damaged(CodecError("run outside its row")))?;
                    decode_log_run(*format, bytes, |r| {
                        if r.time >= from && r.time < to {
                            out.push(r);
                        }
                    })
                    .map_err(damaged)?;
                }
            }
        }
        // A packed run is sorted and holds each millisecond once; a commit's run need not be, nor need
        // several runs of a tag one after the other (rows are taken in the order they were written, so
        // those of consecutive packings usually are): those are sorted, the later row winning.
        if !out[start..].is_sorted_by(|a, b| a.time < b.time) {
            let mut tail = out.split_off(start);
            store::sort_and_dedupe(&mut tail);
            out.append(&mut tail);
        }
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
            if runs.len() == 0 {
                continue;
            }
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
