//! The read side: tags, streamed range queries in time order, aggregates per interval, thinned buckets
//! for trends, and the latest sample of a tag.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Quality, Timestamp, Value};
use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::codec::{self, Rec, RecValue, Summary};
use crate::store::{self, TagCursor, Wanted};
use crate::{layout, schema, HistoryError};

/// A tag the history file knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    /// `"device/tag"`.
    pub full_id: String,
    pub unit: Option<String>,
    /// The config's type name (`f32`, `bool`, `string`, ...), as of the last writer that opened the file.
    pub type_name: String,
}

/// Which samples a query reads: tags by full id (none means every tag) and a half-open time range
/// `[from, to)` (a missing end is open).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleQuery {
    pub tags: Vec<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// A sample as read back from history.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSample {
    /// Full id, `"device/tag"` (shared between the samples of one tag).
    pub tag: Arc<str>,
    pub time: Timestamp,
    pub value: Option<Value>,
    pub quality: Quality,
}

/// How the samples of an interval are summarised (after OPC UA Part 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Time-weighted average: each good value holds until the next stored sample (stepped), and the
    /// value before an interval carries into it.
    Avg,
    Min,
    Max,
    /// The first good value in the interval.
    First,
    /// The last good value in the interval.
    Last,
    /// Number of good samples in the interval.
    Count,
}

impl Aggregate {
    pub const ALL: [Aggregate; 6] = [
        Aggregate::Avg,
        Aggregate::Min,
        Aggregate::Max,
        Aggregate::First,
        Aggregate::Last,
        Aggregate::Count,
    ];

    /// The command-line spelling: `avg`, `min`, `max`, `first`, `last`, `count`.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::First => "first",
            Aggregate::Last => "last",
            Aggregate::Count => "count",
        }
    }

    pub fn from_name(name: &str) -> Option<Aggregate> {
        Aggregate::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// One aggregated interval of one tag.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalValue {
    pub tag: Arc<str>,
    /// Start of the interval (intervals are aligned to multiples of their length since the Unix epoch).
    pub start: Timestamp,
    /// The aggregate; `None` when the interval holds no good value.
    pub value: Option<f64>,
    /// `Good` when the value rests on good samples, otherwise the quality of the interval's last sample.
    pub quality: Quality,
}

/// Summary of one pixel column of a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: Timestamp,
    /// Exclusive.
    pub end: Timestamp,
    /// Good samples with a number in the column.
    pub count: u64,
    /// Samples in the column that were not good (to shade gaps).
    pub not_good: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub first: Option<f64>,
    pub last: Option<f64>,
    /// Plain mean of the good values in the column.
    pub avg: Option<f64>,
}

/// What kind of value a stored tag holds, from its type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Number,
    Boolean,
    Text,
}

/// A tag row of the `tags` table.
pub(crate) struct TagRow {
    pub(crate) id: u32,
    pub(crate) full_id: Arc<str>,
    pub(crate) kind: Kind,
}

/// Read-only access to a history file, on its own connection (so it never blocks the writer).
pub struct HistoryReader {
    path: PathBuf,
    conn: Connection,
    /// False when the file has no history tables yet (only other components' tables): it reads as empty.
    has_history: bool,
    /// Whether the file's log rows say their time spans (kept as opened: a writer upgrading the file
    /// meanwhile only adds them, and reading every row stays right).
    pub(crate) log_spans: store::LogSpans,
}

impl HistoryReader {
    /// Opens an existing history file read-only. Never creates a file; refuses one written by a newer
    /// Plantwatch with the schema's clear message.
    pub fn open(path: &Path) -> Result<HistoryReader, HistoryError> {
        if !path.is_file() {
            return Err(HistoryError::Missing {
                path: path.to_path_buf(),
            });
        }
        let open_err = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = schema::open_read_only(path).map_err(open_err)?;
        let found = schema::version(&conn, layout::COMPONENT).map_err(open_err)?;
        if found > layout::VERSION {
            let source = schema::SchemaError::TooNew {
                component: layout::COMPONENT.to_string(),
                found,
                supported: layout::VERSION,
            };
            return Err(HistoryError::Schema {
                path: path.to_path_buf(),
                source,
            });
        }
        if found > 0 && found < layout::OLDEST_READ_AS_IS {
            // A file last written by an older Plantwatch: bring it up to date once (as a writer would),
            // then read it like any other.
            drop(conn);
            upgrade(path)?;
            return HistoryReader::open(path);
        }
        Ok(HistoryReader {
            path: path.to_path_buf(),
            conn,
            has_history: found > 0,
            log_spans: store::LogSpans::of_version(found),
        })
    }

    /// A read transaction: everything read through it comes from one snapshot of the file, so a seal
    /// committing meanwhile is never seen half-done.
    pub(crate) fn snapshot(&self) -> Result<Transaction<'_>, HistoryError> {
        self.conn
            .unchecked_transaction()
            .map_err(self.sql_err("starting a read"))
    }

    pub(crate) fn sql_err(
        &self,
        what: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> HistoryError + '_ {
        move |source| HistoryError::Sql {
            path: self.path.clone(),
            what,
            source,
        }
    }

    /// Every tag the file has stored samples for (or was registered by a writer), ordered by full id.
    pub fn tags(&self) -> Result<Vec<TagInfo>, HistoryError> {
        if !self.has_history {
            return Ok(Vec::new());
        }
        let read = || -> rusqlite::Result<Vec<TagInfo>> {
            let mut stmt = self
                .conn
                .prepare("SELECT full_id, unit, type FROM tags ORDER BY full_id")?;
            let rows = stmt.query_map([], |row| {
                Ok(TagInfo {
                    full_id: row.get(0)?,
                    unit: row.get(1)?,
                    type_name: row.get(2)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(self.sql_err("reading tags"))
    }

    /// The tag rows a query names (every tag, in registration order, when it names none).
    pub(crate) fn tag_rows(&self, names: &[String]) -> Result<Vec<TagRow>, HistoryError> {
        if !self.has_history {
            return match names.first() {
                Some(name) => Err(HistoryError::UnknownTag { tag: name.clone() }),
                None => Ok(Vec::new()),
            };
        }
        let tag_row = |row: &rusqlite::Row<'_>| -> rusqlite::Result<TagRow> {
            let type_name: String = row.get(2)?;
            let kind = if layout::is_text_type(&type_name) {
                Kind::Text
            } else if layout::is_boolean_type(&type_name) {
                Kind::Boolean
            } else {
                Kind::Number
            };
            Ok(TagRow {
                id: row.get(0)?,
                full_id: Arc::from(row.get::<_, String>(1)?),
                kind,
            })
        };
        if names.is_empty() {
            let read = || -> rusqlite::Result<Vec<TagRow>> {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT id, full_id, type FROM tags ORDER BY id")?;
                let rows = stmt.query_map([], tag_row)?;
                rows.collect()
            };
            return read().map_err(self.sql_err("reading tags"));
        }
        // Named tags one by one through the unique index on `full_id`: reading every tag to pick a few
        // took 330 ms on the million-tag bench plant, on every trend, export and report read.
        let mut picked: Vec<TagRow> = Vec::with_capacity(names.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(names.len());
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, full_id, type FROM tags WHERE full_id = ?1")
            .map_err(self.sql_err("reading tags"))?;
        for name in names {
            // A tag named twice is read once.
            if !seen.insert(name.as_str()) {
                continue;
            }
            let row = stmt
                .query_row([name], tag_row)
                .optional()
                .map_err(self.sql_err("reading tags"))?;
            match row {
                Some(row) => picked.push(row),
                None => return Err(HistoryError::UnknownTag { tag: name.clone() }),
            }
        }
        Ok(picked)
    }

    /// Calls `f` for every sample the query selects, in time order (samples at the same millisecond in
    /// the order of the query's tags, or of registration), without holding them all in memory: one cursor
    /// per tag, merged. Returns how many samples were read.
    pub fn for_each_sample(
        &self,
        query: &SampleQuery,
        mut f: impl FnMut(&StoredSample),
    ) -> Result<u64, HistoryError> {
        self.for_each_sample_while(query, |sample| {
            f(sample);
            true
        })
    }

    /// Like [`Self::for_each_sample`], but stops as soon as `f` returns false (for example when the
    /// output it writes to has gone away). Returns how many samples were handed to `f`.
    pub fn for_each_sample_while(
        &self,
        query: &SampleQuery,
        mut f: impl FnMut(&StoredSample) -> bool,
    ) -> Result<u64, HistoryError> {
        let tags = self.tag_rows(&query.tags)?;
        let (from, to) = bounds(query);
        let what = "reading samples";
        let snapshot = self.snapshot()?;
        let ids: Vec<u32> = tags.iter().map(|t| t.id).collect();
        let wanted = wanted(query, &ids);
        let mut log = store::read_log(&snapshot, wanted, from, to, self.log_spans)
            .map_err(self.sql_err(what))?;
        let mut statements = Vec::with_capacity(tags.len());
        for _ in &tags {
            statements.push(
                snapshot
                    .prepare(store::CHUNKS_OF_TAG)
                    .map_err(self.sql_err(what))?,
            );
        }
        let mut cursors: Vec<TagCursor<'_>> = Vec::with_capacity(tags.len());
        for (stmt, tag) in statements.iter_mut().zip(&tags) {
            let rows = stmt
                .query((tag.id, store::chunk_floor(from), to))
                .map_err(self.sql_err(what))?;
            let log = log.remove(&tag.id).unwrap_or_default();
            cursors.push(TagCursor::new(rows, from, to, log));
        }
        // The heap holds the next sample of each cursor, smallest (time, tag position) first.
        let mut heads: Vec<Option<StoredSample>> = vec![None; tags.len()];
        let mut heap = BinaryHeap::with_capacity(tags.len());
        for (i, cursor) in cursors.iter_mut().enumerate() {
            if let Some(rec) = cursor.next().map_err(self.sql_err(what))? {
                heap.push(Reverse((rec.time, i)));
                heads[i] = Some(stored(rec, &tags[i]));
            }
        }
        let mut count = 0;
        while let Some(Reverse((_, i))) = heap.pop() {
            if let Some(sample) = heads[i].take() {
                count += 1;
                if !f(&sample) {
                    break;
                }
            }
            if let Some(rec) = cursors[i].next().map_err(self.sql_err(what))? {
                heap.push(Reverse((rec.time, i)));
                heads[i] = Some(stored(rec, &tags[i]));
            }
        }
        Ok(count)
    }

    /// Summarises the selected samples per interval of length `every`, aligned to multiples of `every`
    /// since the Unix epoch and clipped to the query's range. Only intervals holding at least one sample
    /// are reported, ordered by start, then by tag as in [`Self::for_each_sample`]. Aggregates rest on
    /// good samples (booleans count as 0/1); text tags only support `Count`, and are left out otherwise.
    pub fn aggregate(
        &self,
        query: &SampleQuery,
        every: Duration,
        agg: Aggregate,
    ) -> Result<Vec<IntervalValue>, HistoryError> {
        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
        let tags = self.tag_rows(&query.tags)?;
        let (from, to) = bounds(query);
        let what = "aggregating samples";
        let snapshot = self.snapshot()?;
        let ids: Vec<u32> = tags.iter().map(|t| t.id).collect();
        let wanted = wanted(query, &ids);
        // From the start of time: the last sample before the range carries into the average.
        let mut log = store::read_log(&snapshot, wanted, i64::MIN, to, self.log_spans)
            .map_err(self.sql_err(what))?;
        let mut out: Vec<(usize, IntervalValue)> = Vec::new();
        for (position, tag) in tags.iter().enumerate() {
            if tag.kind == Kind::Text && agg != Aggregate::Count {
                continue;
            }
            let mut in_range = log.remove(&tag.id).unwrap_or_default();
            let before: Vec<Rec> = in_range
                .drain(..in_range.partition_point(|r| r.time < from))
                .collect();
            let mut acc = IntervalAccumulator::new(tag.full_id.clone(), every_ms, from, to, agg);
            if agg == Aggregate::Avg && from > i64::MIN {
                let last = store::last_before(&snapshot, tag.id, from, Some(&before))
                    .map_err(self.sql_err(what))?;
                if let Some(rec) = last {
                    acc.carry_in(rec.time, rec.good_number());
                }
            }
            let mut stmt = snapshot
                .prepare_cached(store::CHUNKS_OF_TAG)
                .map_err(self.sql_err(what))?;
            let rows = stmt
                .query((tag.id, store::chunk_floor(from), to))
                .map_err(self.sql_err(what))?;
            let mut cursor = TagCursor::new(rows, from, to, in_range);
            while let Some(rec) = cursor.next().map_err(self.sql_err(what))? {
                let quality = quality_of(rec.quality);
                let has_value = quality.is_good() && rec.value != RecValue::None;
                acc.push(rec.time, rec.good_number(), has_value, quality);
            }
            out.extend(acc.finish().into_iter().map(|v| (position, v)));
        }
        out.sort_by_key(|(position, v)| (v.start, *position));
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    /// Splits `[from, to)` into `columns` equal columns and summarises each (for trends: min/max keep the
    /// spikes a plain average would hide). Every column is returned, empty ones with a count of 0.
    ///
    /// A chunk that lies inside one column is read from its summary (count, min, max, sum, first, last)
    /// without decoding it, so trends over months read one row per chunk; chunks across a column edge or
    /// the range's ends, and the log, are read sample by sample. The result is exact either way, except
    /// where retention dropped a chunk's samples (`[history] keep`): its summary counts in the column of
    /// its start.
    pub fn thinned(
        &self,
        tag: &str,
        from: Timestamp,
        to: Timestamp,
        columns: usize,
    ) -> Result<Vec<Bucket>, HistoryError> {
        let row = self
            .tag_rows(std::slice::from_ref(&tag.to_string()))?
            .remove(0);
        let (from, to) = (from.as_millis(), to.as_millis());
        if columns == 0 || to <= from {
            return Ok(Vec::new());
        }
        let mut columns = Columns::new(from, to, columns);
        let snapshot = self.snapshot()?;
        let read = |columns: &mut Columns| -> rusqlite::Result<()> {
            let log =
                store::read_log(&snapshot, Wanted::Some(&[row.id]), from, to, self.log_spans)?
                    .remove(&row.id)
                    .unwrap_or_default();
            // A chunk's summary stands for its samples only where the log replaces none of them.
            let log_first = log.first().map_or(i64::MAX, |r| r.time);
            // The summaries first, without the chunks' data (a covering index answers it when the file
            // has one); the data only of the chunks a column edge or the range's ends cut, by rowid.
            let mut stmt = snapshot.prepare_cached(store::SUMMARIES_OF_TAG)?;
            let mut data_of = snapshot.prepare_cached(store::CHUNK_DATA)?;
            let mut rows = stmt.query((row.id, store::chunk_floor(from), to))?;
            while let Some(r) = rows.next()? {
                let chunk = ChunkSummary::of(r)?;
                if chunk.end < from {
                    continue;
                }
                if let Some(i) = columns.holding(chunk.start, chunk.end, log_first) {
                    columns.add_summary(i, &chunk.summary);
                    continue;
                }
                let i = columns.index(chunk.start.max(from));
                data_of.query_row([chunk.id], |d| {
                    let data = d.get_ref(0)?.as_blob()?;
                    if data.is_empty() {
                        // A chunk whose samples retention dropped draws from its summary whatever
                        // columns it spans: in the column of its start (at most its hour off, in a
                        // trend of months).
                        if chunk.end >= from {
                            columns.add_summary(i, &chunk.summary);
                        }
                        return Ok(());
                    }
                    let add = |columns: &mut Columns, rec: Rec| {
                        if rec.time >= from && rec.time < to && rec.time < log_first {
                            columns.add(&rec);
                        }
                    };
                    // A parted chunk: the parts inside one column count by their summaries, and
                    // only the parts across an edge (or the range's ends, or the log's start) are
                    // decoded.
                    let Some(parts) = codec::parts(data).map_err(store::damaged)? else {
                        return store::decode_chunk(data, |rec| add(columns, rec));
                    };
                    for part in &parts {
                        if let Some(i) = columns.holding(part.start, part.end, log_first) {
                            columns.add_summary(i, &part.summary);
                        } else if part.end >= from && part.start < to {
                            codec::decode_part(data, part, |rec| add(columns, rec))
                                .map_err(store::damaged)?;
                        }
                    }
                    Ok(())
                })?;
            }
            drop(rows);
            // From the log's first sample on, chunks and log are merged sample by sample (the log's
            // sample replaces a chunk's at the same millisecond).
            if log_first < i64::MAX {
                let mut stmt = snapshot.prepare_cached(store::CHUNKS_OF_TAG)?;
                let rows = stmt.query((row.id, store::chunk_floor(log_first), to))?;
                let mut cursor = TagCursor::new(rows, log_first, to, log);
                while let Some(rec) = cursor.next()? {
                    columns.add(&rec);
                }
            }
            Ok(())
        };
        read(&mut columns).map_err(self.sql_err("thinning samples"))?;
        Ok(columns.finish())
    }

    /// The most recent stored sample of a tag, if it has any.
    pub fn latest(&self, tag: &str) -> Result<Option<StoredSample>, HistoryError> {
        let row = self
            .tag_rows(std::slice::from_ref(&tag.to_string()))?
            .remove(0);
        let snapshot = self.snapshot()?;
        let read = || -> rusqlite::Result<Option<StoredSample>> {
            let log = store::read_log(
                &snapshot,
                Wanted::Some(&[row.id]),
                i64::MIN,
                i64::MAX,
                self.log_spans,
            )?;
            let last = store::last_before(&snapshot, row.id, i64::MAX, log.get(&row.id))?;
            Ok(last.map(|rec| stored(rec, &row)))
        };
        read().map_err(self.sql_err("reading the latest sample"))
    }
}

/// Brings a file written by an older Plantwatch up to this version (what opening a writer does).
fn upgrade(path: &Path) -> Result<(), HistoryError> {
    let conn = schema::open_connection(path)?;
    schema::migrate(&conn, layout::COMPONENT, layout::STEPS).map_err(|source| {
        HistoryError::Schema {
            path: path.to_path_buf(),
            source,
        }
    })?;
    store::convert_version_1(&conn).map_err(|source| HistoryError::Sql {
        path: path.to_path_buf(),
        what: "converting version 1 samples",
        source,
    })
}

/// The query's range as SQL bounds, open ends as the extreme integers.
fn bounds(query: &SampleQuery) -> (i64, i64) {
    (
        query.from.map_or(i64::MIN, Timestamp::as_millis),
        query.to.map_or(i64::MAX, Timestamp::as_millis),
    )
}

/// The log samples a query needs: of every tag when it names none (no list to look each one up by).
fn wanted<'a>(query: &SampleQuery, ids: &'a [u32]) -> Wanted<'a> {
    if query.tags.is_empty() {
        Wanted::All
    } else {
        Wanted::Some(ids)
    }
}

/// A stored record of `tag` as the sample callers see.
fn stored(rec: Rec, tag: &TagRow) -> StoredSample {
    StoredSample {
        tag: tag.full_id.clone(),
        time: Timestamp(rec.time),
        value: value_of(&rec.value, tag.kind),
        quality: quality_of(rec.quality),
    }
}

/// A stored value as the value callers see (booleans were stored as 0/1).
pub(crate) fn value_of(value: &RecValue, kind: Kind) -> Option<Value> {
    match *value {
        RecValue::Text(ref text) => Some(Value::Text(Arc::from(&**text))),
        RecValue::Number(n) if kind == Kind::Boolean => Some(Value::Bool(n != 0.0)),
        RecValue::Number(n) => Some(Value::Number(n)),
        RecValue::None => None,
    }
}

pub(crate) fn quality_of(code: u16) -> Quality {
    // A code this binary does not know came from a newer writer of the same schema version; the
    // closest honest reading is "uncertain", never "good".
    layout::quality_from_code(i64::from(code))
        .unwrap_or(Quality::Uncertain(plantwatch_core::Cause::Configuration))
}

/// Builds the intervals of one tag from its samples in time order.
struct IntervalAccumulator {
    tag: Arc<str>,
    every: i64,
    from: i64,
    to: i64,
    agg: Aggregate,
    /// The value holding since the last sample (for the time-weighted average): (since, good value).
    holding: Option<(i64, Option<f64>)>,
    current: Option<Interval>,
    done: Vec<IntervalValue>,
}

/// The interval being filled.
struct Interval {
    start: i64,
    good: u64,
    min: Option<f64>,
    max: Option<f64>,
    first: Option<f64>,
    last: Option<f64>,
    weighted_sum: f64,
    weight: i64,
    last_quality: Quality,
}

impl IntervalAccumulator {
    fn new(tag: Arc<str>, every: i64, from: i64, to: i64, agg: Aggregate) -> Self {
        IntervalAccumulator {
            tag,
            every,
            from,
            to,
            agg,
            holding: None,
            current: None,
            done: Vec::new(),
        }
    }

    fn interval_start(&self, time: i64) -> i64 {
        time.div_euclid(self.every) * self.every
    }

    /// The end of the interval starting at `start`, clipped to the query's range.
    fn interval_end(&self, start: i64) -> i64 {
        start.saturating_add(self.every).min(self.to)
    }

    /// The last sample before the range: its value holds into the first interval.
    fn carry_in(&mut self, time: i64, value: Option<f64>) {
        self.holding = Some((time, value));
    }

    fn push(&mut self, time: i64, number: Option<f64>, has_value: bool, quality: Quality) {
        let start = self.interval_start(time);
        if self.current.as_ref().is_some_and(|c| c.start != start) {
            self.close_current();
        }
        if self.current.is_none() {
            self.current = Some(Interval {
                start,
                good: 0,
                min: None,
                max: None,
                first: None,
                last: None,
                weighted_sum: 0.0,
                weight: 0,
                last_quality: quality,
            });
        }
        // The held value covers the stretch from the interval's start (or its own time) up to now.
        let window_start = start.max(self.from);
        if let Some((since, Some(v))) = self.holding {
            let held = time - since.max(window_start);
            if let Some(current) = self.current.as_mut() {
                if held > 0 {
                    current.weighted_sum += v * held as f64;
                    current.weight += held;
                }
            }
        }
        self.holding = Some((time, number));
        if let Some(current) = self.current.as_mut() {
            current.last_quality = quality;
            if has_value {
                current.good += 1;
            }
            if let Some(v) = number {
                current.min = Some(current.min.map_or(v, |m| m.min(v)));
                current.max = Some(current.max.map_or(v, |m| m.max(v)));
                current.first.get_or_insert(v);
                current.last = Some(v);
            }
        }
    }

    /// Ends the current interval: the held value covers the rest of it.
    fn close_current(&mut self) {
        let Some(mut current) = self.current.take() else {
            return;
        };
        let end = self.interval_end(current.start);
        if let Some((since, Some(v))) = self.holding {
            let held = end - since.max(current.start);
            if held > 0 {
                current.weighted_sum += v * held as f64;
                current.weight += held;
            }
        }
        let value = match self.agg {
            Aggregate::Avg if current.weight > 0 => {
                Some(current.weighted_sum / current.weight as f64)
            }
            Aggregate::Avg => None,
            Aggregate::Min => current.min,
            Aggregate::Max => current.max,
            Aggregate::First => current.first,
            Aggregate::Last => current.last,
            Aggregate::Count => Some(current.good as f64),
        };
        let quality = match self.agg {
            Aggregate::Count if current.good > 0 => Quality::Good,
            Aggregate::Count => current.last_quality,
            _ if value.is_some() => Quality::Good,
            _ => current.last_quality,
        };
        self.done.push(IntervalValue {
            tag: self.tag.clone(),
            start: Timestamp(current.start),
            value,
            quality,
        });
    }

    fn finish(mut self) -> Vec<IntervalValue> {
        self.close_current();
        self.done
    }
}

/// A chunk row as [`store::SUMMARIES_OF_TAG`] reads it: where it is and its summary, not its data.
struct ChunkSummary {
    id: i64,
    start: i64,
    end: i64,
    summary: Summary,
}

impl ChunkSummary {
    fn of(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkSummary> {
        Ok(ChunkSummary {
            id: r.get(0)?,
            start: r.get(1)?,
            end: r.get(2)?,
            summary: Summary {
                count: r.get::<_, i64>(3)?.max(0) as u64,
                not_good: r.get::<_, i64>(4)?.max(0) as u64,
                min: r.get(5)?,
                max: r.get(6)?,
                sum: r.get(7)?,
                first: r.get(8)?,
                last: r.get(9)?,
            },
        })
    }
}

/// The columns of a thinned trend while they are filled.
struct Columns {
    from: i64,
    span: i128,
    buckets: Vec<Bucket>,
    sums: Vec<f64>,
    /// Column `c` holds the times in `edges[c]..edges[c + 1]` (the buckets' starts and the last end).
    edges: Vec<i64>,
    /// The column of the last sample added: the next one is most likely in it or the one after.
    hint: usize,
}

impl Columns {
    fn new(from: i64, to: i64, columns: usize) -> Columns {
        let span = i128::from(to - from);
        // Rounded up, so that a time is in the column `index` gives it.
        let edge =
            |c: usize| from + ((span * c as i128 + columns as i128 - 1) / columns as i128) as i64;
        let edges: Vec<i64> = (0..=columns).map(edge).collect();
        let buckets = edges
            .windows(2)
            .map(|pair| Bucket {
                start: Timestamp(pair[0]),
                end: Timestamp(pair[1]),
                count: 0,
                not_good: 0,
                min: None,
                max: None,
                first: None,
                last: None,
                avg: None,
            })
            .collect();
        Columns {
            from,
            span,
            buckets,
            sums: vec![0.0; columns],
            edges,
            hint: 0,
        }
    }

    /// The column holding `time` (clamped to the range).
    fn index(&self, time: i64) -> usize {
        let i = i128::from(time - self.from) * self.buckets.len() as i128 / self.span;
        i.clamp(0, self.buckets.len() as i128 - 1) as usize
    }

    /// The column that holds all of `[start, end]` (a chunk's or a part's span), when the span lies inside
    /// one column of the range and before `log_first` (from there the log's samples replace the chunks'):
    /// then its summary stands for its samples. `None`: it must be read sample by sample.
    fn holding(&self, start: i64, end: i64, log_first: i64) -> Option<usize> {
        let to = self.edges[self.edges.len() - 1];
        if start < self.from || end >= to || end >= log_first {
            return None;
        }
        let i = self.index(start);
        (self.index(end) == i).then_some(i)
    }

    /// [`Columns::index`] for the samples of a decoded chunk, which come in time order: most are in the
    /// column of the one before or the next, found by comparing with its edges (a 128-bit division per
    /// sample was a third of a trend's time).
    fn index_after_last(&mut self, time: i64) -> usize {
        let i = self.hint;
        let holds = |c: usize| {
            c + 1 < self.edges.len() && self.edges[c] <= time && time < self.edges[c + 1]
        };
        let found = if holds(i) {
            i
        } else if holds(i + 1) {
            i + 1
        } else {
            self.index(time)
        };
        self.hint = found;
        found
    }

    /// Adds one sample (in time order within its column).
    fn add(&mut self, rec: &Rec) {
        let i = self.index_after_last(rec.time);
        let bucket = &mut self.buckets[i];
        if rec.quality != 0 {
            bucket.not_good += 1;
            return;
        }
        let Some(v) = rec.good_number() else { return };
        bucket.count += 1;
        self.sums[i] += v;
        bucket.min = min_of(bucket.min, Some(v));
        bucket.max = max_of(bucket.max, Some(v));
        bucket.first.get_or_insert(v);
        bucket.last = Some(v);
    }

    /// Adds the summary of a chunk or a part of one to column `i`.
    fn add_summary(&mut self, i: usize, chunk: &Summary) {
        let bucket = &mut self.buckets[i];
        bucket.not_good += chunk.not_good;
        if chunk.count == 0 {
            return;
        }
        bucket.count += chunk.count;
        self.sums[i] += chunk.sum;
        bucket.min = min_of(bucket.min, chunk.min);
        bucket.max = max_of(bucket.max, chunk.max);
        if bucket.first.is_none() {
            bucket.first = chunk.first;
        }
        bucket.last = chunk.last.or(bucket.last);
    }

    fn finish(mut self) -> Vec<Bucket> {
        for (bucket, sum) in self.buckets.iter_mut().zip(self.sums) {
            if bucket.count > 0 {
                bucket.avg = Some(sum / bucket.count as f64);
            }
        }
        self.buckets
    }
}

fn min_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
