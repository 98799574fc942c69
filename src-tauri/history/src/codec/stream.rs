//! The stream: how a commit's log blob holds its samples since history schema 9, one after another
//! in (tag id, time) order with no directory, about 4 bytes a polled register where the dense runs of
//! schema 6 to 8 took 8 (issue 15: every byte of a commit's blob is written to the disk twice, to the
//! WAL and at the checkpoint, so it was a third of what live collection of a million-tag plant wrote).
//!
//! Why it is smaller: a commit of a big plant holds about one sample per tag, and a device's registers
//! are read at the same time. A dense run paid for a directory entry, a count, a flags byte and a time
//! per sample; the stream says the tag as its step from the previous sample's tag and the time only
//! when it changes, and a good integer (a register's reading) needs no flags.
//!
//! After the blob's header, the varint count of samples (so a cut stream is damage, not fewer
//! samples), then per sample:
//!
//! ```text
//! varint header = tag_step << 2 | has_time << 1 | escaped
//! [has_time] zigzag varint: time - the previous sample's time (the first's: time - the blob's base)
//! [escaped = 0] zigzag varint: the value, a good integer number
//! [escaped = 1] a flags byte (kind in bits 0-2, not good in bit 3, decimals in bits 4-6),
//!               [not good] varint quality code, then the value by kind:
//!               none: nothing; integer: zigzag varint; same: nothing (the previous number of the
//!               tag's run again); text: varint length and UTF-8; bits: 8 bytes little-endian;
//!               divide: zigzag varint n of n / 10^k; multiply: zigzag varint n of n * 10^-k.
//! ```
//!
//! `tag_step` is 0 for another sample of the same tag. A tag's samples are one slice of the stream, so
//! [`scan`] finds each tag's slice and the time before it in one pass, and a reader decodes only the
//! slices of the tags it wants ([`decode`]), as it did through a dense blob's directory.

use super::{put_varint, unzigzag, zigzag, Bytes, CodecError, Rec, RecValue};

const KIND_NONE: u8 = 0;
const KIND_INTEGER: u8 = 1;
const KIND_SAME: u8 = 2;
const KIND_TEXT: u8 = 3;
const KIND_BITS: u8 = 4;
const KIND_DIVIDE: u8 = 5;
const KIND_MULTIPLY: u8 = 6;
const KIND_MASK: u8 = 0b111;
const NOT_GOOD: u8 = 0b1000;
const DECIMALS_SHIFT: u8 = 4;

/// 10^k, exact in f64.
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];
/// The f64 nearest to 10^-k, as a scale of 0.1 in a plant config is.
const NEG_POW10: [f64; 7] = [1.0, 0.1, 0.01, 0.001, 0.000_1, 0.000_01, 0.000_001];
/// Integers beyond this are not all exact in f64.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// The number as an integer, when it is one bit for bit (so not -0.0) of at most 53 bits.
fn integer(v: f64) -> Option<i64> {
    if v.fract() != 0.0 || v.abs() > MAX_EXACT || v.is_nan() {
        return None;
    }
    let i = v as i64;
    ((i as f64).to_bits() == v.to_bits()).then_some(i)
}

/// The number as `n / 10^k` or `n * 10^-k` (k in 1..=6), the smallest k that gives it back bit for
/// bit: a polled register times a scale of 0.1 or 0.01 usually is one of the two.
fn decimal(v: f64) -> Option<(u8, u8, i64)> {
    if !v.is_finite() {
        return None;
    }
    (1..POW10.len()).find_map(|k| {
        let n = (v * POW10[k]).round();
        if n.abs() > MAX_EXACT {
            return None;
        }
        // Checked from the integer the decoder gets back (so -0.0 is not taken for 0).
        let i = n as i64;
        let n = i as f64;
        if (n / POW10[k]).to_bits() == v.to_bits() {
            Some((KIND_DIVIDE, k as u8, i))
        } else if (n * NEG_POW10[k]).to_bits() == v.to_bits() {
            Some((KIND_MULTIPLY, k as u8, i))
        } else {
            None
        }
    })
}

/// Writes samples into a stream, tag after tag in ascending id order.
#[derive(Debug)]
pub(super) struct Writer {
    tag: u32,
    time: i64,
    /// Samples written.
    pub(super) count: u64,
}

impl Writer {
    /// A stream whose first time counts from `base`.
    pub(super) fn new(base: i64) -> Writer {
        Writer {
            tag: 0,
            time: base,
            count: 0,
        }
    }

    /// Appends the samples of `tag` (sorted by time); `tag` is above the previous one added.
    pub(super) fn add(&mut self, tag: u32, recs: &[Rec], out: &mut Vec<u8>) {
        let mut previous_number: Option<u64> = None;
        for (i, rec) in recs.iter().enumerate() {
            let step = if i == 0 { tag - self.tag } else { 0 };
            let has_time = rec.time != self.time;
            let good_integer = match (&rec.value, rec.quality) {
                (RecValue::Number(v), 0) if previous_number != Some(v.to_bits()) => integer(*v),
                _ => None,
            };
            let header =
                u64::from(step) << 2 | u64::from(has_time) << 1 | u64::from(good_integer.is_none());
            put_varint(out, header);
            self.count += 1;
            if has_time {
                put_varint(out, zigzag(rec.time.wrapping_sub(self.time)));
                self.time = rec.time;
            }
            if let Some(n) = good_integer {
                put_varint(out, zigzag(n));
            } else {
                escaped(rec, previous_number, out);
            }
            if let RecValue::Number(v) = rec.value {
                previous_number = Some(v.to_bits());
            }
            // The next tag's step counts from the last tag with samples in the stream.
            self.tag = tag;
        }
    }
}

/// Appends the flags byte and the value of a sample that is not a good integer.
fn escaped(rec: &Rec, previous_number: Option<u64>, out: &mut Vec<u8>) {
    let not_good = if rec.quality != 0 { NOT_GOOD } else { 0 };
    let (kind, decimals, n) = match &rec.value {
        RecValue::None => (KIND_NONE, 0, None),
        RecValue::Number(v) if previous_number == Some(v.to_bits()) => (KIND_SAME, 0, None),
        RecValue::Number(v) => match integer(*v) {
            Some(i) => (KIND_INTEGER, 0, Some(i)),
            None => match decimal(*v) {
                Some((kind, k, i)) => (kind, k, Some(i)),
                None => (KIND_BITS, 0, None),
            },
        },
        RecValue::Text(_) => (KIND_TEXT, 0, None),
    };
    out.push(kind | not_good | decimals << DECIMALS_SHIFT);
    if rec.quality != 0 {
        put_varint(out, u64::from(rec.quality));
    }
    match (&rec.value, n) {
        (_, Some(i)) => put_varint(out, zigzag(i)),
        (RecValue::Number(v), None) if kind == KIND_BITS => {
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        (RecValue::Text(text), None) => {
            put_varint(out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
        _ => {}
    }
}

/// One sample's header.
struct Header {
    step: u64,
    has_time: bool,
    escaped: bool,
}

fn header(bytes: &mut Bytes<'_>) -> Result<Header, CodecError> {
    let h = bytes.varint()?;
    Ok(Header {
        step: h >> 2,
        has_time: h & 0b10 != 0,
        escaped: h & 1 != 0,
    })
}

/// Reads the time of a sample after its header.
fn time(bytes: &mut Bytes<'_>, header: &Header, previous: i64) -> Result<i64, CodecError> {
    Ok(if header.has_time {
        previous.wrapping_add(unzigzag(bytes.varint()?))
    } else {
        previous
    })
}

/// Reads the value of a sample after its time: (quality, value).
fn value(
    bytes: &mut Bytes<'_>,
    header: &Header,
    previous_number: Option<f64>,
) -> Result<(u16, RecValue), CodecError> {
    if !header.escaped {
        return Ok((0, RecValue::Number(unzigzag(bytes.varint()?) as f64)));
    }
    let flags = bytes.byte()?;
    let quality = if flags & NOT_GOOD != 0 {
        u16::try_from(bytes.varint()?).map_err(|_| CodecError("quality out of range"))?
    } else {
        0
    };
    let decimals = usize::from(flags >> DECIMALS_SHIFT);
    let value = match flags & KIND_MASK {
        KIND_NONE => RecValue::None,
        KIND_INTEGER => RecValue::Number(unzigzag(bytes.varint()?) as f64),
        KIND_SAME => {
            RecValue::Number(previous_number.ok_or(CodecError("repeat without a number"))?)
        }
        KIND_TEXT => {
            let len = usize::try_from(bytes.varint()?).map_err(|_| CodecError("text too long"))?;
            let text = std::str::from_utf8(bytes.take(len)?)
                .map_err(|_| CodecError("text is not UTF-8"))?;
            RecValue::Text(text.into())
        }
        KIND_BITS => {
            let mut le = [0u8; 8];
            le.copy_from_slice(bytes.take(8)?);
            RecValue::Number(f64::from_bits(u64::from_le_bytes(le)))
        }
        kind @ (KIND_DIVIDE | KIND_MULTIPLY) => {
            if decimals == 0 || decimals >= POW10.len() {
                return Err(CodecError("decimals out of range"));
            }
            let n = unzigzag(bytes.varint()?) as f64;
            RecValue::Number(if kind == KIND_DIVIDE {
                n / POW10[decimals]
            } else {
                n * NEG_POW10[decimals]
            })
        }
        _ => return Err(CodecError("unknown value kind")),
    };
    Ok((quality, value))
}

/// One tag's slice of a stream, found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slice {
    pub tag: u32,
    /// The end of its bytes in the stream (it starts where the previous slice ends).
    pub end: usize,
    /// The stream's time before its first sample: what that sample's time counts from.
    pub time: i64,
}

/// Finds every tag's slice of the stream `data` (the count and samples after the blob's header), whose
/// first time counts from `base`. Returns the slices and the offset in `data` their ends count from.
pub(super) fn scan(data: &[u8], base: i64) -> Result<(Vec<Slice>, usize), CodecError> {
    let mut bytes = Bytes::new(data);
    let count = bytes.varint()?;
    let samples_from = bytes.at;
    let data = &data[samples_from..];
    let mut bytes = Bytes::new(data);
    let mut slices: Vec<Slice> = Vec::new();
    let (mut tag, mut time) = (0u32, base);
    let mut seen = 0u64;
    while bytes.at < data.len() {
        seen += 1;
        let start = bytes.at;
        let h = header(&mut bytes)?;
        if h.step != 0 || slices.is_empty() {
            let step = u32::try_from(h.step).map_err(|_| CodecError("tag id out of range"))?;
            tag = tag
                .checked_add(step)
                .ok_or(CodecError("tag id out of range"))?;
            if let Some(last) = slices.last_mut() {
                last.end = start;
            }
            slices.push(Slice { tag, end: 0, time });
        }
        time = self::time(&mut bytes, &h, time)?;
        // Only skipped here: `decode` checks that a repeat has a number before it.
        value(&mut bytes, &h, Some(0.0))?;
    }
    if seen != count {
        return Err(CodecError("the stream holds another count of samples"));
    }
    if let Some(last) = slices.last_mut() {
        last.end = data.len();
    }
    Ok((slices, samples_from))
}

/// Decodes one tag's slice (`bytes` as [`scan`] cut it), its first time counting from `time`.
pub(super) fn decode(bytes: &[u8], time: i64, mut f: impl FnMut(Rec)) -> Result<(), CodecError> {
    let mut bytes = Bytes::new(bytes);
    let mut time = time;
    let mut previous_number: Option<f64> = None;
    let mut first = true;
    while bytes.at < bytes.data.len() {
        let h = header(&mut bytes)?;
        if h.step != 0 && !first {
            return Err(CodecError("another tag inside a tag's samples"));
        }
        first = false;
        time = self::time(&mut bytes, &h, time)?;
        let (quality, value) = value(&mut bytes, &h, previous_number)?;
        if let RecValue::Number(v) = value {
            previous_number = Some(v);
        }
        f(Rec {
            time,
            quality,
            value,
        });
    }
    Ok(())
}
