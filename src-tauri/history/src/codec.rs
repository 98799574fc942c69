//! The byte format of stored samples: a *run* is one tag's samples in time order (a chunk's `data`), and
//! a *log blob* is one commit's runs of many tags with a directory, so a reader finds one tag's run by a
//! binary search instead of decoding the whole blob. This module is the one place that knows the bytes.
//!
//! A run comes in two formats, told apart by its first two bytes, and every decoder here reads both:
//!
//! - The **compact** run (`compact`, what [`encode_run`] writes and so every chunk sealed since history
//!   schema 4): `0x00`, a format version, then the samples column by column: times as differences from
//!   the run's usual interval (Rice-coded, or run-lengths of exact intervals), qualities and value kinds
//!   as runs of equal codes, numbers as the integers of a decimal scale (differences, with repeats
//!   nearly free; a value the scale cannot give back bit for bit is escaped as its bits XOR the previous
//!   number's), texts. Under a byte a sample on polled plant signals.
//! - The **plain** run ([`encode_plain_run`], every chunk of schema 3 and every run of a log blob of
//!   schema 2 to 5): a varint count, then per sample a flags byte, the time
//!   (the first as a zigzag varint, the rest as varint deltas: samples are sorted), the quality code as
//!   a varint when it is not good (0), and the value: 8 bytes little-endian for a number that differs
//!   from the run's previous number, nothing for a repeated number, a varint length and UTF-8 for text.
//!   Its first byte is the count's first byte, which is 0 only in the empty run `[0x00]`, one byte long:
//!   so a run of two bytes or more starting with 0 is compact.
//!
//! A log blob (see [`LogBlobBuilder`]) since schema 6: `0x00`, the format of its runs (a commit's *dense*
//! runs, quick to write and about 6 bytes a polled register, or a packed row's compact runs), a varint
//! directory, then the runs in ascending tag id order. A log blob of schema 2 to 5 (still read): a
//! varint count of runs, then `count` directory entries of 8 bytes (tag id u32 LE, end offset u32 LE of
//! the run in the body), then the body: plain runs, in ascending tag id order.

mod bits;
mod compact;
mod parted;
mod stream;

pub use parted::{decode_part, parts, Part, PART_SAMPLES};

use std::fmt;

/// A stored value: the number column's content (booleans as 0/1) or a text.
#[derive(Debug, Clone, PartialEq)]
pub enum RecValue {
    None,
    Number(f64),
    Text(Box<str>),
}

/// One stored sample of a known tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    /// UTC milliseconds.
    pub time: i64,
    /// `layout::quality_code` of the quality (0 = good).
    pub quality: u16,
    pub value: RecValue,
}

impl Rec {
    /// A sample as stored: booleans as 0/1, the quality as its code.
    pub fn of(sample: &plantwatch_core::Sample) -> Rec {
        let value = match &sample.value {
            Some(plantwatch_core::Value::Text(text)) => RecValue::Text(Box::from(&**text)),
            Some(v) => v.as_f64().map_or(RecValue::None, RecValue::Number),
            None => RecValue::None,
        };
        Rec {
            time: sample.time.as_millis(),
            quality: crate::layout::quality_code(sample.quality) as u16,
            value,
        }
    }

    /// The number when the sample is good and has a finite one: what summaries and aggregates rest on.
    /// A NaN or infinite number is stored exactly but left out of every summary: one NaN would make a
    /// chunk's sum NaN, which SQLite stores as NULL (refused by the NOT NULL column, so the seal would
    /// fail for good), and +inf and -inf together would do the same.
    pub fn good_number(&self) -> Option<f64> {
        match (&self.value, self.quality) {
            (RecValue::Number(v), 0) if v.is_finite() => Some(*v),
            _ => None,
        }
    }
}

/// The summary of the good numbers among some samples: what a chunk row carries for its samples and a
/// parted run's directory for each part.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub not_good: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: f64,
    pub first: Option<f64>,
    pub last: Option<f64>,
}

impl Summary {
    /// The summary of `recs`.
    pub fn of(recs: &[Rec]) -> Summary {
        let mut s = Summary::default();
        for rec in recs {
            if rec.quality != 0 {
                s.not_good += 1;
                continue;
            }
            let Some(v) = rec.good_number() else { continue };
            s.count += 1;
            s.sum += v;
            s.min = Some(s.min.map_or(v, |m| m.min(v)));
            s.max = Some(s.max.map_or(v, |m| m.max(v)));
            s.first.get_or_insert(v);
            s.last = Some(v);
        }
        s
    }
}

/// Bytes that are not a run or log blob this binary wrote (a damaged file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(pub &'static str);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "damaged sample data: {}", self.0)
    }
}

impl std::error::Error for CodecError {}

const KIND_NONE: u8 = 0;
const KIND_NUMBER: u8 = 1;
const KIND_SAME_NUMBER: u8 = 2;
const KIND_TEXT: u8 = 3;
const KIND_MASK: u8 = 0b11;
const NOT_GOOD: u8 = 0b100;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Reads the bytes of a run or blob front to back.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.data.get(self.at).ok_or(CodecError("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or(CodecError("truncated"))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }
}

/// Appends `recs` (sorted by time, one per millisecond) as a run: compact, parted when long (from
/// 512 samples: see `parted`), and plain when there are none or more than a compact run holds (65,536; a
/// chunk holds at most 8,192).
pub fn encode_run(recs: &[Rec], out: &mut Vec<u8>) {
    if recs.is_empty() || recs.len() > compact::MAX_SAMPLES {
        encode_plain_run(recs, out);
    } else if recs.len() >= parted::PARTED_FROM {
        parted::encode(recs, out);
    } else {
        compact::encode(recs, out);
    }
}

/// Appends `recs` (sorted by time, one per millisecond) as a plain run: quick to write, about 3 bytes a
/// sample plus 8 for each changed number. Log blobs hold plain runs.
pub fn encode_plain_run(recs: &[Rec], out: &mut Vec<u8>) {
    put_varint(out, recs.len() as u64);
    let mut previous_time = 0i64;
    let mut previous_number: Option<u64> = None;
    for (i, rec) in recs.iter().enumerate() {
        let mut flags = if rec.quality != 0 { NOT_GOOD } else { 0 };
        let kind = match &rec.value {
            RecValue::None => KIND_NONE,
            RecValue::Number(v) if previous_number == Some(v.to_bits()) => KIND_SAME_NUMBER,
            RecValue::Number(_) => KIND_NUMBER,
            RecValue::Text(_) => KIND_TEXT,
        };
        flags |= kind;
        out.push(flags);
        if i == 0 {
            put_varint(out, zigzag(rec.time));
        } else {
            put_varint(out, rec.time.wrapping_sub(previous_time) as u64);
        }
        previous_time = rec.time;
        if rec.quality != 0 {
            put_varint(out, u64::from(rec.quality));
        }
        match &rec.value {
            RecValue::Number(v) if kind == KIND_NUMBER => {
                out.extend_from_slice(&v.to_bits().to_le_bytes());
                previous_number = Some(v.to_bits());
            }
            RecValue::Text(text) => {
                put_varint(out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
            _ => {}
        }
    }
}

/// Where the decoding of a run stands: the state between two samples, so a run can be read a few
/// samples at a time (a replay holds thousands of runs open and takes from each what a slice of time
/// needs) with the same code that decodes it whole.
#[derive(Debug, Clone, Default)]
enum RunState {
    /// Nothing read yet: the format is not known.
    #[default]
    Start,
    Plain(PlainState),
    Compact(compact::State),
    Parted(parted::State),
}

impl RunState {
    /// The next sample of the run `data` (the same bytes every call), or `None` at its end.
    fn next(&mut self, data: &[u8]) -> Result<Option<Rec>, CodecError> {
        if let RunState::Start = self {
            *self = if parted::is_parted(data) {
                RunState::Parted(parted::State::open(data)?)
            } else if compact::is_compact(data) {
                RunState::Compact(compact::State::open(data)?)
            } else {
                RunState::Plain(PlainState::default())
            };
        }
        match self {
            RunState::Start => Ok(None),
            RunState::Plain(state) => state.next(data),
            RunState::Compact(state) => state.next(data),
            RunState::Parted(state) => state.next(data),
        }
    }
}

/// Where the decoding of a plain run stands.
#[derive(Debug, Clone, Default)]
struct PlainState {
    /// The offset of the next sample's bytes.
    at: usize,
    /// Samples not yet decoded; `None` before the count was read.
    left: Option<u64>,
    time: i64,
    previous_number: Option<f64>,
}

impl PlainState {
    /// The next sample of the plain run `data` (the same bytes every call), or `None` at its end.
    fn next(&mut self, data: &[u8]) -> Result<Option<Rec>, CodecError> {
        let mut bytes = Bytes { data, at: self.at };
        let first = self.left.is_none();
        let left = match self.left {
            Some(left) => left,
            None => bytes.varint()?,
        };
        if left == 0 {
            self.left = Some(0);
            self.at = bytes.at;
            return Ok(None);
        }
        let flags = bytes.byte()?;
        let delta = bytes.varint()?;
        let time = if first {
            unzigzag(delta)
        } else {
            self.time.wrapping_add(delta as i64)
        };
        let quality = if flags & NOT_GOOD != 0 {
            u16::try_from(bytes.varint()?).map_err(|_| CodecError("quality out of range"))?
        } else {
            0
        };
        let value = match flags & KIND_MASK {
            KIND_NONE => RecValue::None,
            KIND_NUMBER => {
                let raw = bytes.take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                let v = f64::from_bits(u64::from_le_bytes(le));
                self.previous_number = Some(v);
                RecValue::Number(v)
            }
            KIND_SAME_NUMBER => RecValue::Number(
                self.previous_number
                    .ok_or(CodecError("repeat without a number"))?,
            ),
            _ => {
                let len =
                    usize::try_from(bytes.varint()?).map_err(|_| CodecError("text too long"))?;
                let text = std::str::from_utf8(bytes.take(len)?)
                    .map_err(|_| CodecError("text is not UTF-8"))?;
                RecValue::Text(text.into())
            }
        };
        self.time = time;
        self.left = Some(left - 1);
        self.at = bytes.at;
        Ok(Some(Rec {
            time,
            quality,
            value,
        }))
    }
}

/// Decodes a run, calling `f` for every sample in time order.
pub fn decode_run(data: &[u8], mut f: impl FnMut(Rec)) -> Result<(), CodecError> {
    // A compact run (every chunk sealed since schema 4) in a loop of its own, so its per-sample step
    // is inlined into it: a call per sample returning the sample through memory cost as much as the
    // decoding.
    if parted::is_parted(data) {
        for part in parts(data)?.unwrap_or_default() {
            decode_part(data, &part, &mut f)?;
        }
        return Ok(());
    }
    if compact::is_compact(data) {
        let mut state = compact::State::open(data)?;
        while let Some(rec) = state.next(data)? {
            f(rec);
        }
        return Ok(());
    }
    let mut state = RunState::default();
    while let Some(rec) = state.next(data)? {
        f(rec);
    }
    Ok(())
}

/// A run read a sample at a time: it owns its bytes, so it can stay open while others are read.
#[derive(Debug, Clone)]
pub struct RunReader {
    data: Vec<u8>,
    state: RunState,
}

impl RunReader {
    pub fn new(data: Vec<u8>) -> RunReader {
        RunReader {
            data,
            state: RunState::default(),
        }
    }

    /// The next sample, or `None` at the run's end.
    pub fn next_rec(&mut self) -> Result<Option<Rec>, CodecError> {
        self.state.next(&self.data)
    }
}

/// A run inside bytes held elsewhere (a log blob), read a sample at a time: a sweep reads a packed log
/// row's runs forward, part after part, decoding each sample once.
#[derive(Debug, Clone)]
pub struct RunCursor {
    range: std::ops::Range<usize>,
    state: RunState,
    /// The next sample, read ahead to compare its time.
    ahead: Option<Rec>,
}

impl RunCursor {
    /// A cursor over the run at `range` of the bytes every later call is given.
    pub fn new(range: std::ops::Range<usize>) -> RunCursor {
        RunCursor {
            range,
            state: RunState::default(),
            ahead: None,
        }
    }

    /// The next sample if it is before `to`, or `None` (at the run's end or a sample at or after `to`,
    /// which stays for the next call).
    pub fn next_before(&mut self, data: &[u8], to: i64) -> Result<Option<Rec>, CodecError> {
        if self.ahead.is_none() {
            let bytes = data
                .get(self.range.clone())
                .ok_or(CodecError("directory points outside the blob"))?;
            self.ahead = self.state.next(bytes)?;
        }
        Ok(match self.ahead.take() {
            Some(rec) if rec.time < to => Some(rec),
            later => {
                self.ahead = later;
                None
            }
        })
    }
}

/// Decodes a whole run into a vector.
pub fn decode_run_vec(data: &[u8]) -> Result<Vec<Rec>, CodecError> {
    let mut recs = Vec::new();
    decode_run(data, |r| recs.push(r))?;
    Ok(recs)
}

/// The two bytes a log blob of history schema 6 starts with, then the format of its runs: a blob of
/// schema 2 to 5 starts with its varint count of runs, which is 0 only in the empty blob `[0x00]`.
const BLOB_MARK: u8 = 0x00;
const BLOB_DENSE: u8 = 0x01;
const BLOB_COMPACT: u8 = 0x02;
const BLOB_STREAM: u8 = 0x03;

/// The kinds of value of a dense run (`flags & DENSE_KIND`).
const DENSE_NONE: u8 = 0;
/// A number that is an integer (bit for bit, so not -0.0) of at most 53 bits: a zigzag varint.
const DENSE_INTEGER: u8 = 1;
const DENSE_SAME: u8 = 2;
const DENSE_TEXT: u8 = 3;
/// Any other number: its 8 bytes little-endian.
const DENSE_BITS: u8 = 4;
const DENSE_KIND: u8 = 0b111;
const DENSE_NOT_GOOD: u8 = 0b1000;

/// The number as a dense run's integer, when it is one.
fn dense_integer(v: f64) -> Option<i64> {
    const LIMIT: f64 = (1u64 << 53) as f64;
    if v.fract() != 0.0 || v.abs() > LIMIT || v.is_nan() {
        return None;
    }
    let i = v as i64;
    ((i as f64).to_bits() == v.to_bits()).then_some(i)
}

/// Appends `recs` (sorted by time) as a dense run, the run of a commit's log blob: a varint count, then
/// per sample a flags byte (kind of value, not good), the time (the first as a zigzag varint from the
/// blob's `base`, the rest as varint deltas), the quality code as a varint when not good, and the value:
/// an integer as a zigzag varint (a register's reading takes 1 to 3 bytes), a repeated number nothing,
/// another number its 8 bytes, a text its varint length and UTF-8. About 6 bytes a polled sample where
/// a plain run takes 16.
fn encode_dense_run(recs: &[Rec], base: i64, out: &mut Vec<u8>) {
    put_varint(out, recs.len() as u64);
    let mut previous_time = base;
    let mut previous_number: Option<u64> = None;
    for (i, rec) in recs.iter().enumerate() {
        let integer = match &rec.value {
            RecValue::Number(v) if previous_number != Some(v.to_bits()) => dense_integer(*v),
            _ => None,
        };
        let kind = match &rec.value {
            RecValue::None => DENSE_NONE,
            RecValue::Number(v) if previous_number == Some(v.to_bits()) => DENSE_SAME,
            RecValue::Number(_) if integer.is_some() => DENSE_INTEGER,
            RecValue::Number(_) => DENSE_BITS,
            RecValue::Text(_) => DENSE_TEXT,
        };
        let not_good = if rec.quality != 0 { DENSE_NOT_GOOD } else { 0 };
        out.push(kind | not_good);
        let delta = rec.time.wrapping_sub(previous_time);
        put_varint(out, if i == 0 { zigzag(delta) } else { delta as u64 });
        previous_time = rec.time;
        if rec.quality != 0 {
            put_varint(out, u64::from(rec.quality));
        }
        match &rec.value {
            RecValue::Number(v) => {
                match (kind, integer) {
                    (DENSE_INTEGER, Some(i)) => put_varint(out, zigzag(i)),
                    (DENSE_BITS, _) => out.extend_from_slice(&v.to_bits().to_le_bytes()),
                    _ => {}
                }
                previous_number = Some(v.to_bits());
            }
            RecValue::Text(text) => {
                put_varint(out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
            RecValue::None => {}
        }
    }
}

/// Decodes a dense run of a blob whose base time is `base`.
fn decode_dense_run(data: &[u8], base: i64, mut f: impl FnMut(Rec)) -> Result<(), CodecError> {
    let mut bytes = Bytes::new(data);
    let count = bytes.varint()?;
    let mut time = base;
    let mut previous_number: Option<f64> = None;
    for i in 0..count {
        let flags = bytes.byte()?;
        let delta = bytes.varint()?;
        time = if i == 0 {
            base.wrapping_add(unzigzag(delta))
        } else {
            time.wrapping_add(delta as i64)
        };
        let quality = if flags & DENSE_NOT_GOOD != 0 {
            u16::try_from(bytes.varint()?).map_err(|_| CodecError("quality out of range"))?
        } else {
            0
        };
        let value = match flags & DENSE_KIND {
            DENSE_NONE => RecValue::None,
            DENSE_INTEGER => {
                let v = unzigzag(bytes.varint()?) as f64;
                previous_number = Some(v);
                RecValue::Number(v)
            }
            DENSE_SAME => {
                RecValue::Number(previous_number.ok_or(CodecError("repeat without a number"))?)
            }
            DENSE_TEXT => {
                let len =
                    usize::try_from(bytes.varint()?).map_err(|_| CodecError("text too long"))?;
                let text = std::str::from_utf8(bytes.take(len)?)
                    .map_err(|_| CodecError("text is not UTF-8"))?;
                RecValue::Text(text.into())
            }
            DENSE_BITS => {
                let raw = bytes.take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                let v = f64::from_bits(u64::from_le_bytes(le));
                previous_number = Some(v);
                RecValue::Number(v)
            }
            _ => return Err(CodecError("unknown value kind")),
        };
        f(Rec {
            time,
            quality,
            value,
        });
    }
    if bytes.at != data.len() {
        return Err(CodecError("bytes after the run"));
    }
    Ok(())
}

/// How the runs of a log blob are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunFormat {
    /// A run [`decode_run`] reads: plain (the blobs of schema 2 to 5) or compact (a packed row's).
    Run,
    /// A dense run (a commit's blob of schema 6 to 8), its first time counted from the blob's `base`.
    Dense { base: i64 },
    /// A tag's slice of a stream (a commit's blob since schema 9: `stream`), its first time counted
    /// from `time`.
    Stream { time: i64 },
}

/// One tag's run in a log blob.
#[derive(Debug, Clone, Copy)]
pub struct LogRun<'a> {
    pub tag: u32,
    pub bytes: &'a [u8],
    pub format: RunFormat,
}

impl LogRun<'_> {
    /// Calls `f` for every sample of the run, in time order.
    pub fn decode(&self, f: impl FnMut(Rec)) -> Result<(), CodecError> {
        decode_log_run(self.format, self.bytes, f)
    }
}

/// Decodes the bytes of a log blob's run of `format`.
pub fn decode_log_run(
    format: RunFormat,
    bytes: &[u8],
    f: impl FnMut(Rec),
) -> Result<(), CodecError> {
    match format {
        RunFormat::Run => decode_run(bytes, f),
        RunFormat::Dense { base } => decode_dense_run(bytes, base, f),
        RunFormat::Stream { time } => stream::decode(bytes, time, f),
    }
}

/// Builds a log blob from runs added in ascending tag id order: `0x00`, then the blob's format byte.
/// - A commit's blob (stream, since schema 9): the base time as a zigzag varint, then the count of
///   samples and the samples as a stream (`stream`: no directory; a reader finds a tag's samples in one pass over the blob).
/// - A packed row's blob (compact) and a commit's of schema 6 to 8 (dense, with the base time as a
///   zigzag varint after the format byte): the varint count of runs, a directory of one entry per run
///   (the tag id as a varint difference from the previous entry's, the run's length as a varint: 2 to 3
///   bytes where the blobs of schema 5 took 8), then the runs.
pub struct LogBlobBuilder {
    layout: BlobLayout,
    body: Vec<u8>,
    last_tag: Option<u32>,
}

/// What a [`LogBlobBuilder`] writes.
enum BlobLayout {
    Runs {
        format: RunFormat,
        directory: Vec<u8>,
        runs: u64,
    },
    Stream {
        base: i64,
        writer: stream::Writer,
    },
}

impl LogBlobBuilder {
    /// A commit's blob: a stream of samples, the first time counted from `base` (the earliest sample's
    /// time keeps the differences short).
    pub fn stream(base: i64) -> LogBlobBuilder {
        LogBlobBuilder::with(BlobLayout::Stream {
            base,
            writer: stream::Writer::new(base),
        })
    }

    /// A commit's blob as history schema 6 to 8 wrote it: dense runs, their first times counted from
    /// `base`. Still read; written by tests of files such a Plantwatch left.
    pub fn dense(base: i64) -> LogBlobBuilder {
        LogBlobBuilder::runs(RunFormat::Dense { base })
    }

    /// A packed row's blob: compact runs ([`encode_run`]), written once for many commits, where size
    /// matters more than the time to write.
    pub fn compact() -> LogBlobBuilder {
        LogBlobBuilder::runs(RunFormat::Run)
    }

    fn runs(format: RunFormat) -> LogBlobBuilder {
        LogBlobBuilder::with(BlobLayout::Runs {
            format,
            directory: Vec::new(),
            runs: 0,
        })
    }

    fn with(layout: BlobLayout) -> LogBlobBuilder {
        LogBlobBuilder {
            layout,
            body: Vec::new(),
            last_tag: None,
        }
    }

    /// Adds the run of `tag` (ids must ascend).
    pub fn add(&mut self, tag: u32, recs: &[Rec]) {
        assert!(self.last_tag.is_none_or(|t| t < tag), "tag ids ascend");
        let start = self.body.len();
        match &mut self.layout {
            BlobLayout::Stream { writer, .. } => writer.add(tag, recs, &mut self.body),
            BlobLayout::Runs {
                format,
                directory,
                runs,
            } => {
                match *format {
                    RunFormat::Dense { base } => encode_dense_run(recs, base, &mut self.body),
                    _ => encode_run(recs, &mut self.body),
                }
                put_varint(
                    directory,
                    u64::from(tag - self.last_tag.map_or(0, |t| t + 1)),
                );
                put_varint(directory, (self.body.len() - start) as u64);
                *runs += 1;
            }
        }
        self.last_tag = Some(tag);
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 16);
        out.push(BLOB_MARK);
        match self.layout {
            BlobLayout::Stream { base, writer } => {
                out.push(BLOB_STREAM);
                put_varint(&mut out, zigzag(base));
                put_varint(&mut out, writer.count);
            }
            BlobLayout::Runs {
                format,
                directory,
                runs,
            } => {
                match format {
                    RunFormat::Dense { base } => {
                        out.push(BLOB_DENSE);
                        put_varint(&mut out, zigzag(base));
                    }
                    _ => out.push(BLOB_COMPACT),
                }
                put_varint(&mut out, runs);
                out.extend_from_slice(&directory);
            }
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// The log blob of history schema 2 to 5 (a varint count of runs, a directory of 8-byte entries, plain
/// runs): what an older Plantwatch left in a file's log, for tests that such a log still reads.
pub fn legacy_log_blob(runs: &[(u32, Vec<Rec>)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, runs.len() as u64);
    let mut body = Vec::new();
    for (tag, recs) in runs {
        encode_plain_run(recs, &mut body);
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// A parsed view of a log blob.
pub struct LogBlob<'a> {
    directory: Directory<'a>,
    body: &'a [u8],
    format: RunFormat,
}

/// A blob's directory: the 8-byte entries of schema 2 to 5, searched in place, or the varint entries
/// since, read into (tag, end of run).
enum Directory<'a> {
    Fixed {
        entries: &'a [u8],
        runs: usize,
    },
    Read(Vec<(u32, usize)>),
    /// A stream's slices, found by one pass over it: each run's format carries its own start time.
    Stream(Vec<stream::Slice>),
}

impl<'a> LogBlob<'a> {
    pub fn parse(data: &'a [u8]) -> Result<LogBlob<'a>, CodecError> {
        let mut bytes = Bytes::new(data);
        if data.len() >= 2 && data[0] == BLOB_MARK {
            bytes.at = 2;
            let format = match data[1] {
                BLOB_STREAM => {
                    let base = unzigzag(bytes.varint()?);
                    let (slices, from) = stream::scan(&data[bytes.at..], base)?;
                    return Ok(LogBlob {
                        directory: Directory::Stream(slices),
                        body: &data[bytes.at + from..],
                        format: RunFormat::Stream { time: base },
                    });
                }
                BLOB_DENSE => RunFormat::Dense {
                    base: unzigzag(bytes.varint()?),
                },
                BLOB_COMPACT => RunFormat::Run,
                _ => return Err(CodecError("unknown log blob format")),
            };
            let runs = bytes.varint()?;
            // Each entry takes two bytes at least: a count beyond that is damage, not an allocation.
            if runs > (data.len() / 2) as u64 {
                return Err(CodecError("too many runs"));
            }
            let mut entries = Vec::with_capacity(runs as usize);
            let (mut tag, mut end) = (0u64, 0usize);
            for i in 0..runs {
                let delta = bytes.varint()?;
                tag = if i == 0 {
                    delta
                } else {
                    tag.checked_add(delta)
                        .and_then(|t| t.checked_add(1))
                        .ok_or(CodecError("tag id out of range"))?
                };
                let tag32 = u32::try_from(tag).map_err(|_| CodecError("tag id out of range"))?;
                let len =
                    usize::try_from(bytes.varint()?).map_err(|_| CodecError("run too long"))?;
                end = end.checked_add(len).ok_or(CodecError("run too long"))?;
                entries.push((tag32, end));
            }
            return Ok(LogBlob {
                directory: Directory::Read(entries),
                body: &data[bytes.at..],
                format,
            });
        }
        let runs = usize::try_from(bytes.varint()?).map_err(|_| CodecError("too many runs"))?;
        let entries = bytes.take(runs.checked_mul(8).ok_or(CodecError("too many runs"))?)?;
        Ok(LogBlob {
            directory: Directory::Fixed { entries, runs },
            body: &data[bytes.at..],
            format: RunFormat::Run,
        })
    }

    fn runs(&self) -> usize {
        match &self.directory {
            Directory::Fixed { runs, .. } => *runs,
            Directory::Read(entries) => entries.len(),
            Directory::Stream(slices) => slices.len(),
        }
    }

    /// The format of the run of entry `i`.
    fn format_of(&self, i: usize) -> RunFormat {
        match &self.directory {
            Directory::Stream(slices) => RunFormat::Stream {
                time: slices[i].time,
            },
            _ => self.format,
        }
    }

    fn entry(&self, i: usize) -> (u32, usize) {
        match &self.directory {
            Directory::Fixed { entries, .. } => {
                let e = &entries[i * 8..i * 8 + 8];
                let tag = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                let end = u32::from_le_bytes([e[4], e[5], e[6], e[7]]) as usize;
                (tag, end)
            }
            Directory::Read(entries) => entries[i],
            Directory::Stream(slices) => (slices[i].tag, slices[i].end),
        }
    }

    /// The runs of tags in `[from_tag, to_tag)`, in tag order.
    pub fn runs_between(
        &self,
        from_tag: u32,
        to_tag: u32,
    ) -> impl Iterator<Item = Result<LogRun<'a>, CodecError>> + '_ {
        // First entry with tag >= from_tag.
        let (mut lo, mut hi) = (0, self.runs());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 < from_tag {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo..self.runs())
            .take_while(move |&i| self.entry(i).0 < to_tag)
            .map(|i| {
                let (tag, range) = self.run_bounds(i)?;
                Ok(LogRun {
                    tag,
                    bytes: &self.body[range],
                    format: self.format_of(i),
                })
            })
    }

    /// The tag of entry `i` and where its run's bytes are in the body (checked to lie inside it).
    fn run_bounds(&self, i: usize) -> Result<(u32, std::ops::Range<usize>), CodecError> {
        let (tag, end) = self.entry(i);
        let start = if i == 0 { 0 } else { self.entry(i - 1).1 };
        if start > end || end > self.body.len() {
            return Err(CodecError("directory points outside the blob"));
        }
        Ok((tag, start..end))
    }

    /// True for a packed row's blob: its runs are each in time order, one sample a millisecond.
    pub fn is_packed(&self) -> bool {
        matches!(self.directory, Directory::Read(_)) && self.format == RunFormat::Run
    }

    /// Every run as its tag, where its bytes are in the blob `data` this view was parsed from, and its
    /// format, in tag order.
    pub fn run_ranges(
        &self,
        data: &[u8],
    ) -> Result<Vec<(u32, std::ops::Range<usize>, RunFormat)>, CodecError> {
        // The body is the blob's tail.
        let body_at = data.len() - self.body.len();
        (0..self.runs())
            .map(|i| {
                let (tag, range) = self.run_bounds(i)?;
                Ok((
                    tag,
                    body_at + range.start..body_at + range.end,
                    self.format_of(i),
                ))
            })
            .collect()
    }

    /// The run of one tag, if the blob has one.
    pub fn run_of(&self, tag: u32) -> Result<Option<LogRun<'a>>, CodecError> {
        match self.runs_between(tag, tag.saturating_add(1)).next() {
            Some(run) => run.map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(time: i64, quality: u16, value: RecValue) -> Rec {
        Rec {
            time,
            quality,
            value,
        }
    }

    fn every_kind() -> Vec<Rec> {
        vec![
            rec(-5, 0, RecValue::Number(1.5)),
            rec(1_764_000_000_000, 0, RecValue::Number(1.5)),
            rec(1_764_000_000_001, 4096 + 5 * 256 + 2, RecValue::None),
            rec(1_764_000_001_000, 0, RecValue::Number(f64::NAN)),
            rec(1_764_000_002_000, 0, RecValue::Number(-0.0)),
            rec(1_764_000_003_000, 2 * 4096 + 4 * 256, RecValue::Number(3.0)),
            rec(
                1_764_000_004_000,
                0,
                RecValue::Text("Auto, 2 pumps ✓".into()),
            ),
            rec(1_764_000_005_000, 0, RecValue::Text("".into())),
            rec(1_764_000_006_000, 0, RecValue::Number(3.0)),
        ]
    }

    fn same(a: &[Rec], b: &[Rec]) -> bool {
        // NaN != NaN, so compare numbers by their bits.
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.time == y.time
                    && x.quality == y.quality
                    && match (&x.value, &y.value) {
                        (RecValue::Number(p), RecValue::Number(q)) => p.to_bits() == q.to_bits(),
                        (p, q) => p == q,
                    }
            })
    }

    #[test]
    fn a_run_of_every_kind_of_sample_round_trips_in_both_formats() {
        let recs = every_kind();
        let mut compact = Vec::new();
        encode_run(&recs, &mut compact);
        assert_eq!(&compact[..2], &[0, 1], "a chunk's run is compact");
        assert!(same(&decode_run_vec(&compact).expect("decodes"), &recs));
        let mut plain = Vec::new();
        encode_plain_run(&recs, &mut plain);
        assert_eq!(plain[0], 9, "a plain run starts with its count");
        assert!(same(&decode_run_vec(&plain).expect("decodes"), &recs));
    }

    #[test]
    fn a_plain_run_as_schema_3_wrote_it_still_decodes() {
        // Two samples, bytes as the codec of history schema 3 wrote them: 1.5 at 1,000 ms, then no value
        // at 1,500 ms with quality bad/communication lost.
        let bytes = [
            2, // count
            1, 0xd0, 0x0f, // number, zigzag(1000) = 2000
            0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // 1.5
            0b100, 0xf4, 0x03, 0x80, 0x24, // no value, not good, +500 ms, quality 4096 + 512
        ];
        assert_eq!(
            decode_run_vec(&bytes).expect("decodes"),
            vec![
                rec(1000, 0, RecValue::Number(1.5)),
                rec(1500, 4096 + 512, RecValue::None)
            ]
        );
        // The empty plain run is one byte: the one plain run that starts with 0.
        assert_eq!(decode_run_vec(&[0]).expect("decodes"), vec![]);
    }

    #[test]
    fn runs_of_no_sample_or_of_more_than_a_compact_run_holds_are_plain() {
        let mut bytes = Vec::new();
        encode_run(&[], &mut bytes);
        assert_eq!(bytes, vec![0]);
        let many: Vec<Rec> = (0..compact::MAX_SAMPLES as i64 + 1)
            .map(|i| rec(i * 1000, 0, RecValue::Number((i % 7) as f64)))
            .collect();
        bytes.clear();
        encode_run(&many, &mut bytes);
        assert_ne!(bytes[0], 0, "plain: starts with the count");
        assert!(same(&decode_run_vec(&bytes).expect("decodes"), &many));
    }

    #[test]
    fn repeated_numbers_and_steady_times_take_two_bytes_a_sample_in_a_plain_run() {
        let recs: Vec<Rec> = (0..1000)
            .map(|i| rec(1_764_000_000_000 + i * 1000, 0, RecValue::Number(42.0)))
            .collect();
        let mut bytes = Vec::new();
        encode_plain_run(&recs, &mut bytes);
        // flags + a 2-byte delta of 1000 ms, and the first sample's full number.
        assert!(bytes.len() <= 3 * recs.len() + 20, "{} bytes", bytes.len());
        // The compact run says "1,000 samples a second apart, all 42" in a few bytes.
        bytes.clear();
        compact::encode(&recs, &mut bytes);
        assert!(bytes.len() <= 32, "{} bytes", bytes.len());
        // What a chunk stores, parted: each part's summary and header on top (some 80 bytes a part).
        bytes.clear();
        encode_run(&recs, &mut bytes);
        let parts = parts(&bytes).expect("parts").expect("parted").len();
        assert_eq!(parts, 4, "1,000 samples in parts of at most {PART_SAMPLES}");
        assert!(bytes.len() <= 90 * parts, "{} bytes", bytes.len());
    }

    /// Numbers a dense run writes as integers and as bits, next to every kind of sample.
    fn dense_edges() -> Vec<Rec> {
        let numbers = [
            0.0,
            -0.0,
            65535.0,
            -32768.0,
            (1u64 << 53) as f64,
            -((1u64 << 53) as f64),
            (1u64 << 60) as f64,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1,
            234.0 * 0.1,
            -1.25,
            4.0,
            4.0,
        ];
        let mut recs = every_kind();
        let last = recs[recs.len() - 1].time;
        recs.extend(
            numbers
                .iter()
                .enumerate()
                .map(|(i, &v)| rec(last + 1 + i as i64, 0, RecValue::Number(v))),
        );
        recs
    }

    #[test]
    fn a_log_blob_finds_each_tags_run_in_every_format() {
        let runs: Vec<(u32, Vec<Rec>)> = vec![
            (0, vec![rec(7, 0, RecValue::Number(2.0))]),
            (3, dense_edges()),
            // No sample: a stream holds none of it, and the next tag's step counts from tag 3.
            (5, vec![]),
            (7, vec![rec(10, 0, RecValue::Number(1.0))]),
            (1000, vec![rec(20, 0, RecValue::None)]),
            (u32::MAX - 1, vec![rec(-20, 0, RecValue::Number(-1.0))]),
        ];
        let build = |mut builder: LogBlobBuilder| {
            for (tag, recs) in &runs {
                builder.add(*tag, recs);
            }
            builder.finish()
        };
        let blobs = [
            ("stream", build(LogBlobBuilder::stream(5))),
            ("dense", build(LogBlobBuilder::dense(5))),
            ("compact", build(LogBlobBuilder::compact())),
            ("schema 5", legacy_log_blob(&runs)),
        ];
        for (format, data) in &blobs {
            let blob = LogBlob::parse(data).expect("parses");
            for (tag, recs) in &runs {
                let mut back = Vec::new();
                match blob.run_of(*tag).expect("reads") {
                    Some(run) => run.decode(|r| back.push(r)).expect("decodes"),
                    None => assert!(*format == "stream" && recs.is_empty(), "{format}: {tag}"),
                }
                assert!(same(&back, recs), "{format}: tag {tag}: {back:?}");
            }
            assert!(blob.run_of(4).expect("reads").is_none(), "{format}");
            let between: Vec<u32> = blob
                .runs_between(4, 1000)
                .map(|r| r.expect("reads").tag)
                .collect();
            let with_empty_runs = if *format == "stream" {
                vec![7]
            } else {
                vec![5, 7]
            };
            assert_eq!(between, with_empty_runs, "{format}");
        }
    }

    /// A commit of a million-tag plant holds about one sample per tag, a device's registers read at one
    /// time: a u16 register's reading takes about 4 bytes in a commit's stream (under 10 as a dense run
    /// with its directory entry, 24 in the blob of schema 5; what live collection writes to the disk,
    /// twice: issue 15). Scaled readings (`raw * 0.1`) take a byte more, not the 9 of their bits.
    #[test]
    fn a_commits_stream_takes_about_four_bytes_a_polled_register() {
        let base = 1_764_000_000_000;
        let commit = |scale: f64| -> Vec<(u32, Vec<Rec>)> {
            (0..10_000u32)
                .map(|i| {
                    // 100 devices, 100 changed registers each, read at one time per device.
                    let tag = (i / 100) * 1000 + (i % 100) * 10;
                    let raw = f64::from((i.wrapping_mul(2_654_435_761) >> 16) as u16);
                    let value = if scale == 1.0 { raw } else { raw * scale };
                    let time = base + i64::from(i / 100) * 5;
                    (tag, vec![rec(time, 0, RecValue::Number(value))])
                })
                .collect()
        };
        let size = |builder: LogBlobBuilder, runs: &[(u32, Vec<Rec>)]| {
            let mut builder = builder;
            for (tag, recs) in runs {
                builder.add(*tag, recs);
            }
            let data = builder.finish();
            let blob = LogBlob::parse(&data).expect("parses");
            for (tag, recs) in runs {
                let run = blob.run_of(*tag).expect("reads").expect("has the tag");
                let mut back = Vec::new();
                run.decode(|r| back.push(r)).expect("decodes");
                assert!(same(&back, recs), "tag {tag}");
            }
            data.len() as f64 / runs.len() as f64
        };
        let registers = commit(1.0);
        let stream = size(LogBlobBuilder::stream(base), &registers);
        assert!(stream < 4.5, "{stream:.2} bytes a sample");
        let dense = size(LogBlobBuilder::dense(base), &registers);
        assert!(dense > 7.0, "{dense:.2} bytes a sample as dense runs");
        assert!(legacy_log_blob(&registers).len() as f64 / registers.len() as f64 > 20.0);
        let scaled = size(LogBlobBuilder::stream(base), &commit(0.1));
        assert!(scaled < 5.5, "{scaled:.2} bytes a scaled sample");
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        encode_plain_run(&every_kind(), &mut bytes);
        for cut in 0..bytes.len() {
            assert!(decode_run_vec(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(LogBlob::parse(&[5, 0, 0]).is_err());
        for builder in [
            LogBlobBuilder::dense(1_764_000_000_000),
            LogBlobBuilder::stream(1_764_000_000_000),
        ] {
            let mut builder = builder;
            builder.add(3, &dense_edges());
            builder.add(9, &every_kind());
            let blob = builder.finish();
            let whole = |bytes: &[u8]| {
                LogBlob::parse(bytes).map(|b| {
                    b.runs_between(0, u32::MAX)
                        .map(|run| run.and_then(|run| run.decode(|_| {})))
                        .collect::<Result<Vec<()>, _>>()
                })
            };
            assert!(matches!(whole(&blob), Ok(Ok(ref runs)) if runs.len() == 2));
            for cut in 0..blob.len() {
                assert!(
                    !matches!(whole(&blob[..cut]), Ok(Ok(ref runs)) if runs.len() == 2),
                    "cut at {cut}"
                );
            }
        }
    }
}
