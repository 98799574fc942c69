//! The compact run: a chunk's samples column by column, under a byte a sample on polled plant signals
//! where the plain run takes 3 to 11 (see the `history_bytes` bench).
//!
//! Layout (after the two format bytes `0x00 0x01` that [`super`] dispatches on):
//!
//! ```text
//! varint n (1..=MAX_SAMPLES)
//! varint length of the times column, of the qualities column, of the kinds column, of the numbers column
//! times | qualities | kinds | numbers | texts (the rest)
//! ```
//!
//! - **Times**: the first time (zigzag varint), the run's usual interval (zigzag varint: the median of
//!   its steps), a code byte, then per later sample `zz`, the zigzag of its step's difference from the
//!   usual interval, in one of two codes, whichever is smaller for the run:
//!   - code `k` in 0..=24: Rice codes of parameter `k` (`codec::bits`), to the column's end. A poll of
//!     1 s with a few ms of jitter costs about 4 bits a sample.
//!   - code 0x80: *tokens*, varints whose low bit 1 means "this many + 1 samples whose step is exactly
//!     the usual one" (`(count - 1) << 1 | 1`), and 0 a difference (`zz << 1`; the token 0 is followed by
//!     a difference too large for that, as a varint). Identical intervals cost a few bytes a run.
//!   - code 0x81 (history schema 9): *beats*, for steps of a varying whole number of polls (a tag stored
//!     when it changes): a varint `beat` (ms), the Rice parameters `kq` and `kj` (a byte each), then per
//!     step `q - 1` in the Rice code of `kq` (as a wrapping u64) and the zigzag of the jitter
//!     `step - q * beat` in the Rice code of `kj`, `q` the nearest whole number of beats.
//! - **Qualities** and **kinds** (0 no value, 1 number, 2 text): runs of equal codes, each a varint code
//!   and a varint length - 1. An all-good run of numbers costs two bytes for each column.
//! - **Numbers**, the values of the number samples in order: a scale byte, then tokens. Most Modbus
//!   values are an integer times a scale (plus an offset), so the encoder looks for the scale with the
//!   smallest factor under which the values come back bit for bit from an integer `n`: `n / 10^k`
//!   (byte `k`, 0..=6: decimals, also after an offset), `n * 10^-k` (byte `0x10 + k`, 1..=6: what
//!   `raw * 0.01` gives) or `n * 2^-k` (byte `0x20 + k`, 1..=16: fixed-point registers). The
//!   tokens: low bit 1, a run of (`token >> 1`) + 1 repeats of the previous number's exact bits
//!   (booleans, setpoints, counters standing still); low bits 10, the next integer as a zigzag
//!   difference from the last integer (`token >> 2`); the token 0, an escape for a value the scale
//!   cannot give back (NaN and its payload, -0.0, infinities, true floats): a byte `tz << 4 | len` and
//!   the `len` bytes of its bits XOR the previous number's bits, shifted right by `tz` bytes (the
//!   previous of the first number is 0). The escape is checked on encode, so every round trip is exact.
//! - **Texts**, per text sample: a varint 0 for the same text as the previous text sample, otherwise
//!   the length + 1 and the UTF-8 bytes.
//!
//! Every count and length is checked against the bytes there are, so damaged bytes decode to a
//! [`CodecError`], never a panic, and a run never claims more than [`MAX_SAMPLES`] samples (a few bytes
//! can say "a million repeats": the cap bounds what a damaged run can make a reader hold).

use super::{bits, put_varint, unzigzag, zigzag, Bytes, CodecError, Rec, RecValue};

/// The second byte of a compact run (the first is 0): the format's version.
pub(super) const VERSION: u8 = 1;

/// A compact run holds at most this many samples (a chunk holds at most `layout::CHUNK_MAX_SAMPLES`).
pub(super) const MAX_SAMPLES: usize = 1 << 16;

/// The times' code byte of byte tokens; 0..=[`MAX_RICE`] is Rice codes of that parameter.
const TIME_TOKENS: u8 = 0x80;
/// The times' code byte of beats (history schema 9): each step as a whole number of the run's beat and
/// the jitter off it, so a tag stored only when it changes (a step of a few polls) costs about 5 bits a
/// step plus its jitter, where the differences from the usual step took 13 to 15.
const TIME_BEATS: u8 = 0x81;
const MAX_RICE: u32 = 24;

const KIND_NONE: u64 = 0;
const KIND_NUMBER: u64 = 1;
const KIND_TEXT: u64 = 2;

/// 10^k, exact in f64.
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];
/// The f64 nearest to 10^-k, as a scale of 0.1 or 0.01 in a plant config is.
const NEG_POW10: [f64; 7] = [1.0, 0.1, 0.01, 0.001, 0.000_1, 0.000_01, 0.000_001];
/// How many of a run's numbers choose its scale.
const SCALE_PROBES: usize = 64;
/// Integers beyond this are not all exact in f64.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// How the integers of a run's numbers become numbers again: `n` times a scale, computed the way the
/// poll's `raw * scale + offset` is likely to have computed it, so that most values come back bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// `n / 10^k`, k in 0..=6: a decimal value (1.23 is 123 / 100, also after an offset was added).
    Divide(u8),
    /// `n * 10^-k` (the f64 nearest to 10^-k), k in 1..=6: what `raw * 0.01` gives.
    Multiply(u8),
    /// `n * 2^-k`, k in 1..=16: fixed-point registers (`raw * 0.0625`).
    Binary(u8),
}

impl Default for Scale {
    fn default() -> Scale {
        Scale::Divide(0)
    }
}

/// The scales the encoder tries, by growing factor (so the first that fits gives the smallest
/// integers); decimal division before multiplication at the same factor.
const SCALES: [Scale; 29] = {
    use Scale::{Binary as B, Divide as D, Multiply as M};
    [
        D(0),
        B(1),
        B(2),
        B(3),
        D(1),
        M(1),
        B(4),
        B(5),
        B(6),
        D(2),
        M(2),
        B(7),
        B(8),
        B(9),
        D(3),
        M(3),
        B(10),
        B(11),
        B(12),
        B(13),
        D(4),
        M(4),
        B(14),
        B(15),
        B(16),
        D(5),
        M(5),
        D(6),
        M(6),
    ]
};

impl Scale {
    fn byte(self) -> u8 {
        match self {
            Scale::Divide(k) => k,
            Scale::Multiply(k) => 0x10 + k,
            Scale::Binary(k) => 0x20 + k,
        }
    }

    fn of_byte(b: u8) -> Result<Scale, CodecError> {
        match b {
            0..=6 => Ok(Scale::Divide(b)),
            0x11..=0x16 => Ok(Scale::Multiply(b - 0x10)),
            0x21..=0x30 => Ok(Scale::Binary(b - 0x20)),
            _ => Err(CodecError("unknown number scale")),
        }
    }

    /// The factor that turns a value into its integer.
    fn factor(self) -> f64 {
        match self {
            Scale::Divide(k) | Scale::Multiply(k) => POW10[usize::from(k)],
            Scale::Binary(k) => (1u32 << k) as f64,
        }
    }

    fn number(self, n: i64) -> f64 {
        match self {
            Scale::Divide(k) => n as f64 / POW10[usize::from(k)],
            Scale::Multiply(k) => n as f64 * NEG_POW10[usize::from(k)],
            // Exact: a power of two.
            Scale::Binary(k) => n as f64 / (1u32 << k) as f64,
        }
    }

    /// The integer that gives `v` back bit for bit, if there is one.
    fn integer(self, v: f64) -> Option<i64> {
        let x = (v * self.factor()).round();
        // NaN, infinite, or too large to be exact: no integer.
        if x.is_nan() || x.abs() >= MAX_EXACT {
            return None;
        }
        let n = x as i64;
        (self.number(n).to_bits() == v.to_bits()).then_some(n)
    }

    /// The scale that gives the most of `numbers` back exactly, judged on up to [`SCALE_PROBES`] of them
    /// spread over the run (sealing must stay quick; a value the choice misses is escaped, still
    /// exact): the first scale that gives all of those back (most scales fail at the first value
    /// tried), otherwise the one that gives the most.
    fn best_for(numbers: &[f64]) -> Scale {
        let probes = || {
            numbers
                .iter()
                .step_by((numbers.len() / SCALE_PROBES).max(1))
        };
        if let Some(&all) = SCALES
            .iter()
            .find(|s| probes().all(|&v| s.integer(v).is_some()))
        {
            return all;
        }
        let mut best = (0, Scale::default());
        for scale in SCALES {
            let fits = probes().filter(|&&v| scale.integer(v).is_some()).count();
            if fits > best.0 {
                best = (fits, scale);
            }
        }
        best.1
    }
}

/// Writes tokens whose low bit 1 is a run of repeats, gathering the repeats.
struct Tokens<'a> {
    out: &'a mut Vec<u8>,
    repeats: u64,
}

impl<'a> Tokens<'a> {
    fn new(out: &'a mut Vec<u8>) -> Tokens<'a> {
        Tokens { out, repeats: 0 }
    }

    fn repeat(&mut self) {
        self.repeats += 1;
    }

    fn flush(&mut self) {
        if self.repeats > 0 {
            put_varint(self.out, (self.repeats - 1) << 1 | 1);
            self.repeats = 0;
        }
    }

    /// A token with its low bit 0 (`token` is shifted left by one here).
    fn value(&mut self, token: u64) {
        self.flush();
        put_varint(self.out, token << 1);
    }
}

/// Writes runs of equal codes as (code, length - 1).
struct Runs<'a> {
    out: &'a mut Vec<u8>,
    current: Option<(u64, u64)>,
}

impl<'a> Runs<'a> {
    fn new(out: &'a mut Vec<u8>) -> Runs<'a> {
        Runs { out, current: None }
    }

    fn push(&mut self, code: u64) {
        match &mut self.current {
            Some((c, len)) if *c == code => *len += 1,
            _ => {
                self.flush();
                self.current = Some((code, 1));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((code, len)) = self.current.take() {
            put_varint(self.out, code);
            put_varint(self.out, len - 1);
        }
    }
}

/// Appends `recs` (1..=[`MAX_SAMPLES`] of them) as a compact run, format bytes included.
pub(super) fn encode(recs: &[Rec], out: &mut Vec<u8>) {
    debug_assert!(!recs.is_empty() && recs.len() <= MAX_SAMPLES);
    let mut times = Vec::new();
    encode_times(recs, &mut times);
    let mut qualities = Vec::new();
    let mut kinds = Vec::new();
    {
        let mut q = Runs::new(&mut qualities);
        let mut k = Runs::new(&mut kinds);
        for rec in recs {
            q.push(u64::from(rec.quality));
            k.push(match rec.value {
                RecValue::None => KIND_NONE,
                RecValue::Number(_) => KIND_NUMBER,
                RecValue::Text(_) => KIND_TEXT,
            });
        }
        q.flush();
        k.flush();
    }
    let mut numbers = Vec::new();
    encode_numbers(recs, &mut numbers);

    out.push(0);
    out.push(VERSION);
    put_varint(out, recs.len() as u64);
    for column in [&times, &qualities, &kinds, &numbers] {
        put_varint(out, column.len() as u64);
    }
    for column in [&times, &qualities, &kinds, &numbers] {
        out.extend_from_slice(column);
    }
    encode_texts(recs, out);
}

fn encode_times(recs: &[Rec], out: &mut Vec<u8>) {
    // Wrapping arithmetic throughout: any times round-trip, sorted or not.
    let mut steps: Vec<i64> = recs
        .windows(2)
        .map(|w| w[1].time.wrapping_sub(w[0].time))
        .collect();
    let usual = if steps.is_empty() {
        0
    } else {
        let middle = steps.len() / 2;
        *steps.select_nth_unstable(middle).1
    };
    put_varint(out, zigzag(recs[0].time));
    put_varint(out, zigzag(usual));
    let offs: Vec<u64> = recs
        .windows(2)
        .map(|w| zigzag(w[1].time.wrapping_sub(w[0].time).wrapping_sub(usual)))
        .collect();
    // Tokens when most steps are exactly the usual one, Rice codes when jitter makes them differ a little.
    let mut tokens = Vec::new();
    encode_time_tokens(&offs, &mut tokens);
    // The best parameter is near log2 of the mean difference: try that and its neighbours.
    let (rice_bits, k) = best_rice(&offs);
    let steps: Vec<i64> = recs
        .windows(2)
        .map(|w| w[1].time.wrapping_sub(w[0].time))
        .collect();
    let beats = Beats::best(&steps, usual);
    let rice_bytes = rice_bits.div_ceil(8);
    if let Some(beats) = beats.filter(|b| b.bytes() < rice_bytes.min(tokens.len() as u64)) {
        out.push(TIME_BEATS);
        beats.write(&steps, out);
    } else if rice_bytes < tokens.len() as u64 {
        out.push(k as u8);
        let mut writer = bits::BitWriter::new(out);
        for &zz in &offs {
            writer.rice(zz, k);
        }
        writer.finish();
    } else {
        out.push(TIME_TOKENS);
        out.extend_from_slice(&tokens);
    }
}

/// The Rice parameter that codes `values` in the fewest bits, and those bits. The best is near log2 of
/// their mean: that and its neighbours are tried.
fn best_rice(values: &[u64]) -> (u64, u32) {
    let mean = values.iter().map(|&v| v.min(1 << 32)).sum::<u64>() / (values.len() as u64).max(1);
    let near = (64 - mean.leading_zeros()).min(MAX_RICE);
    (near.saturating_sub(2)..=(near + 1).min(MAX_RICE))
        .map(|k| {
            (
                values.iter().map(|&v| bits::rice_bits(v, k)).sum::<u64>(),
                k,
            )
        })
        .min()
        .unwrap_or((0, 0))
}

/// A step as the nearest whole number `q` of beats and the jitter off it (wrapping: any step splits
/// and comes back).
fn split_step(step: i64, beat: i64) -> (i64, i64) {
    let mut q = step.div_euclid(beat);
    if step.rem_euclid(beat) > beat / 2 {
        q = q.wrapping_add(1);
    }
    (q, step.wrapping_sub(q.wrapping_mul(beat)))
}

/// The codes of `q - 1` and of the jitter's zigzag.
fn beat_codes(steps: &[i64], beat: i64) -> (Vec<u64>, Vec<u64>) {
    steps
        .iter()
        .map(|&step| {
            let (q, jitter) = split_step(step, beat);
            (q.wrapping_sub(1) as u64, zigzag(jitter))
        })
        .unzip()
}

/// A run's steps as beats: the beat and the Rice parameters, and the bits they take.
#[derive(Debug, Clone, Copy)]
struct Beats {
    beat: i64,
    kq: u32,
    kj: u32,
    bits: u64,
}

impl Beats {
    /// The best of a few beats for `steps`: the usual step, the shortest step (a tag stored when it
    /// changes steps a whole number of polls, the shortest often one), and the mean step per beat of
    /// the shortest (what jitter leaves of the poll interval). `None` when no step is positive.
    fn best(steps: &[i64], usual: i64) -> Option<Beats> {
        let shortest = steps.iter().copied().filter(|&s| s > 0).min()?;
        let mean_beat = {
            let (mut sum, mut beats) = (0i128, 0i128);
            for &step in steps.iter().filter(|&&s| s > 0) {
                let (q, _) = split_step(step, shortest);
                sum += i128::from(step);
                beats += i128::from(q);
            }
            i64::try_from((sum + beats / 2) / beats.max(1)).unwrap_or(shortest)
        };
        [usual, shortest, mean_beat]
            .into_iter()
            .filter(|&beat| beat > 0)
            .map(|beat| {
                let (qs, jitters) = beat_codes(steps, beat);
                let (q_bits, kq) = best_rice(&qs);
                let (j_bits, kj) = best_rice(&jitters);
                Beats {
                    beat,
                    kq,
                    kj,
                    bits: q_bits + j_bits,
                }
            })
            .min_by_key(|b| b.bits)
    }

    /// The bytes of the column after the code byte.
    fn bytes(&self) -> u64 {
        let mut beat = Vec::new();
        put_varint(&mut beat, self.beat as u64);
        beat.len() as u64 + 2 + self.bits.div_ceil(8)
    }

    fn write(&self, steps: &[i64], out: &mut Vec<u8>) {
        put_varint(out, self.beat as u64);
        out.push(self.kq as u8);
        out.push(self.kj as u8);
        let (qs, jitters) = beat_codes(steps, self.beat);
        let mut writer = bits::BitWriter::new(out);
        for (&q, &jitter) in qs.iter().zip(&jitters) {
            writer.rice(q, self.kq);
            writer.rice(jitter, self.kj);
        }
        writer.finish();
    }
}

fn encode_time_tokens(offs: &[u64], out: &mut Vec<u8>) {
    let mut tokens = Tokens::new(out);
    for &zz in offs {
        match zz {
            0 => tokens.repeat(),
            // A difference of 2^62 ms or more (a damaged clock, or a run merged across eras).
            zz if zz >> 62 != 0 => {
                tokens.value(0);
                put_varint(tokens.out, zz);
            }
            zz => tokens.value(zz),
        }
    }
    tokens.flush();
}

fn encode_numbers(recs: &[Rec], out: &mut Vec<u8>) {
    let numbers: Vec<f64> = recs
        .iter()
        .filter_map(|r| match r.value {
            RecValue::Number(v) => Some(v),
            _ => None,
        })
        .collect();
    if numbers.is_empty() {
        return;
    }
    let scale = Scale::best_for(&numbers);
    out.push(scale.byte());
    let mut last_int = 0i64;
    let mut last_bits: Option<u64> = None;
    let mut tokens = Tokens::new(out);
    for v in numbers {
        let bits = v.to_bits();
        if last_bits == Some(bits) {
            tokens.repeat();
            continue;
        }
        match scale.integer(v) {
            // Low bits 10: `value` shifts the token left by one more.
            Some(n) => {
                tokens.value(zigzag(n.wrapping_sub(last_int)) << 1 | 1);
                last_int = n;
            }
            None => {
                tokens.flush();
                let x = bits ^ last_bits.unwrap_or(0);
                let (tz, len) = if x == 0 {
                    (0, 0)
                } else {
                    let tz = x.trailing_zeros() / 8;
                    (tz, 8 - x.leading_zeros() / 8 - tz)
                };
                tokens.out.push(0);
                tokens.out.push((tz << 4 | len) as u8);
                let le = (x >> (8 * tz)).to_le_bytes();
                tokens.out.extend_from_slice(&le[..len as usize]);
            }
        }
        last_bits = Some(bits);
    }
    tokens.flush();
}

fn encode_texts(recs: &[Rec], out: &mut Vec<u8>) {
    let mut last: Option<&str> = None;
    for rec in recs {
        if let RecValue::Text(text) = &rec.value {
            if last == Some(&**text) {
                out.push(0);
            } else {
                put_varint(out, text.len() as u64 + 1);
                out.extend_from_slice(text.as_bytes());
                last = Some(text);
            }
        }
    }
}

/// True when `data` is a compact run (of any version): it starts with 0 and goes on. A plain run that
/// starts with 0 is the empty run, one byte long.
pub(super) fn is_compact(data: &[u8]) -> bool {
    data.len() > 1 && data[0] == 0
}

/// A column being read: where the next byte is and where the column ends.
#[derive(Debug, Clone, Copy, Default)]
struct Column {
    at: usize,
    end: usize,
}

impl Column {
    #[inline]
    fn bytes<'d>(&self, data: &'d [u8]) -> Bytes<'d> {
        Bytes {
            data: data.get(..self.end).unwrap_or_default(),
            at: self.at,
        }
    }

    #[inline]
    fn varint(&mut self, data: &[u8]) -> Result<u64, CodecError> {
        let mut bytes = self.bytes(data);
        let v = bytes.varint()?;
        self.at = bytes.at;
        Ok(v)
    }

    fn byte(&mut self, data: &[u8]) -> Result<u8, CodecError> {
        let mut bytes = self.bytes(data);
        let v = bytes.byte()?;
        self.at = bytes.at;
        Ok(v)
    }

    /// The range of the next `n` bytes, taken.
    fn take(&mut self, data: &[u8], n: u64) -> Result<(usize, usize), CodecError> {
        let n = usize::try_from(n).map_err(|_| CodecError("length out of range"))?;
        let mut bytes = self.bytes(data);
        let start = bytes.at;
        bytes.take(n)?;
        self.at = bytes.at;
        Ok((start, bytes.at))
    }
}

/// A column of (code, length - 1) runs being read.
#[derive(Debug, Clone, Copy, Default)]
struct RunsColumn {
    column: Column,
    code: u64,
    left: u64,
}

impl RunsColumn {
    #[inline]
    fn next(&mut self, data: &[u8]) -> Result<u64, CodecError> {
        if self.left == 0 {
            self.code = self.column.varint(data)?;
            self.left = self.column.varint(data)?.saturating_add(1);
        }
        self.left -= 1;
        Ok(self.code)
    }
}

/// How a run's steps are written.
#[derive(Debug, Clone, Copy, Default)]
enum TimeCode {
    #[default]
    Tokens,
    /// Rice codes of this parameter.
    Rice(u32),
    /// Whole beats and jitters, in the Rice codes of `kq` and `kj`.
    Beats { beat: i64, kq: u32, kj: u32 },
}

/// Where the decoding of a compact run stands between two samples.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    left: u64,
    started: bool,
    times: Column,
    time: i64,
    usual_step: i64,
    time_code: TimeCode,
    /// Where the Rice codes are (`TimeCode::Rice`).
    time_bits: bits::BitReader,
    /// Steps of exactly the usual interval still to come (`TimeCode::Tokens`).
    usual_left: u64,
    qualities: RunsColumn,
    kinds: RunsColumn,
    numbers: Column,
    /// `None` until the first number reads the scale byte.
    scale: Option<Scale>,
    last_int: i64,
    last_bits: Option<u64>,
    repeats_left: u64,
    texts: Column,
    /// The byte range of the previous text.
    last_text: Option<(usize, usize)>,
}

impl State {
    /// Reads the header of the compact run `data`.
    pub(super) fn open(data: &[u8]) -> Result<State, CodecError> {
        let mut bytes = Bytes::new(data);
        bytes.take(1)?;
        if bytes.byte()? != VERSION {
            return Err(CodecError("unknown run format"));
        }
        let n = bytes.varint()?;
        if n == 0 || n > MAX_SAMPLES as u64 {
            return Err(CodecError("sample count out of range"));
        }
        let mut lengths = [0u64; 4];
        for length in &mut lengths {
            *length = bytes.varint()?;
        }
        let mut columns = [Column::default(); 5];
        let mut at = bytes.at;
        for (column, &length) in columns.iter_mut().zip(&lengths) {
            let end = usize::try_from(length)
                .ok()
                .and_then(|l| at.checked_add(l))
                .filter(|&end| end <= data.len())
                .ok_or(CodecError("truncated"))?;
            *column = Column { at, end };
            at = end;
        }
        columns[4] = Column {
            at,
            end: data.len(),
        };
        let [times, qualities, kinds, numbers, texts] = columns;
        let mut state = State {
            left: n,
            times,
            qualities: RunsColumn {
                column: qualities,
                ..RunsColumn::default()
            },
            kinds: RunsColumn {
                column: kinds,
                ..RunsColumn::default()
            },
            numbers,
            texts,
            ..State::default()
        };
        state.time = unzigzag(state.times.varint(data)?);
        state.usual_step = unzigzag(state.times.varint(data)?);
        state.time_code = match state.times.byte(data)? {
            TIME_TOKENS => TimeCode::Tokens,
            k if u32::from(k) <= MAX_RICE => {
                state.time_bits = bits::BitReader::new(state.times.at, state.times.end);
                TimeCode::Rice(u32::from(k))
            }
            TIME_BEATS => {
                let beat = state.times.varint(data)? as i64;
                let kq = u32::from(state.times.byte(data)?);
                let kj = u32::from(state.times.byte(data)?);
                if beat <= 0 || kq > MAX_RICE || kj > MAX_RICE {
                    return Err(CodecError("bad beats"));
                }
                state.time_bits = bits::BitReader::new(state.times.at, state.times.end);
                TimeCode::Beats { beat, kq, kj }
            }
            _ => return Err(CodecError("unknown time code")),
        };
        Ok(state)
    }

    /// The next sample, or `None` at the run's end.
    #[inline]
    pub(super) fn next(&mut self, data: &[u8]) -> Result<Option<Rec>, CodecError> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.started {
            self.time = self.time.wrapping_add(self.next_step(data)?);
        }
        self.started = true;
        let quality = u16::try_from(self.qualities.next(data)?)
            .map_err(|_| CodecError("quality out of range"))?;
        let value = match self.kinds.next(data)? {
            KIND_NONE => RecValue::None,
            KIND_NUMBER => RecValue::Number(self.next_number(data)?),
            KIND_TEXT => RecValue::Text(self.next_text(data)?),
            _ => return Err(CodecError("unknown value kind")),
        };
        self.left -= 1;
        Ok(Some(Rec {
            time: self.time,
            quality,
            value,
        }))
    }

    #[inline]
    fn next_step(&mut self, data: &[u8]) -> Result<i64, CodecError> {
        let zz = match self.time_code {
            TimeCode::Rice(k) => self.time_bits.rice(data, k)?,
            TimeCode::Beats { beat, kq, kj } => {
                let q = (self.time_bits.rice(data, kq)? as i64).wrapping_add(1);
                let jitter = unzigzag(self.time_bits.rice(data, kj)?);
                return Ok(q.wrapping_mul(beat).wrapping_add(jitter));
            }
            TimeCode::Tokens => {
                if self.usual_left > 0 {
                    self.usual_left -= 1;
                    return Ok(self.usual_step);
                }
                let token = self.times.varint(data)?;
                if token & 1 == 1 {
                    self.usual_left = token >> 1;
                    return Ok(self.usual_step);
                }
                match token >> 1 {
                    0 => self.times.varint(data)?,
                    zz => zz,
                }
            }
        };
        Ok(self.usual_step.wrapping_add(unzigzag(zz)))
    }

    #[inline]
    fn next_number(&mut self, data: &[u8]) -> Result<f64, CodecError> {
        let scale = match self.scale {
            Some(scale) => scale,
            None => *self.scale.insert(Scale::of_byte(self.numbers.byte(data)?)?),
        };
        if self.repeats_left > 0 {
            self.repeats_left -= 1;
            return self.repeat();
        }
        let token = self.numbers.varint(data)?;
        let bits = if token & 1 == 1 {
            self.repeats_left = token >> 1;
            return self.repeat();
        } else if token & 0b10 != 0 {
            self.last_int = self.last_int.wrapping_add(unzigzag(token >> 2));
            scale.number(self.last_int).to_bits()
        } else if token == 0 {
            let head = self.numbers.byte(data)?;
            let (tz, len) = (u32::from(head >> 4), u64::from(head & 0x0f));
            if tz > 7 || u64::from(tz) + len > 8 {
                return Err(CodecError("bad escaped number"));
            }
            let (start, end) = self.numbers.take(data, len)?;
            let mut le = [0u8; 8];
            le[..end - start].copy_from_slice(&data[start..end]);
            (u64::from_le_bytes(le) << (8 * tz)) ^ self.last_bits.unwrap_or(0)
        } else {
            return Err(CodecError("bad number token"));
        };
        self.last_bits = Some(bits);
        Ok(f64::from_bits(bits))
    }

    #[inline]
    fn repeat(&self) -> Result<f64, CodecError> {
        self.last_bits
            .map(f64::from_bits)
            .ok_or(CodecError("repeat without a number"))
    }

    fn next_text(&mut self, data: &[u8]) -> Result<Box<str>, CodecError> {
        let head = self.texts.varint(data)?;
        let (start, end) = if head == 0 {
            self.last_text.ok_or(CodecError("repeat without a text"))?
        } else {
            self.texts.take(data, head - 1)?
        };
        let text =
            std::str::from_utf8(&data[start..end]).map_err(|_| CodecError("text is not UTF-8"))?;
        self.last_text = Some((start, end));
        Ok(text.into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_run_vec, encode_run, RunReader};
    use super::*;

    fn rec(time: i64, quality: u16, value: RecValue) -> Rec {
        Rec {
            time,
            quality,
            value,
        }
    }

    fn number(time: i64, v: f64) -> Rec {
        rec(time, 0, RecValue::Number(v))
    }

    /// Encodes `recs`, checks they decode bit for bit (whole and a sample at a time), returns the bytes.
    fn round_trip(recs: &[Rec]) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode_run(recs, &mut bytes);
        assert!(is_compact(&bytes), "{} samples: compact", recs.len());
        let back = decode_run_vec(&bytes).expect("an encoded run decodes");
        assert_same(recs, &back);
        let mut reader = RunReader::new(bytes.clone());
        let mut one_by_one = Vec::new();
        while let Some(r) = reader.next_rec().expect("reads") {
            one_by_one.push(r);
        }
        assert_same(recs, &one_by_one);
        bytes
    }

    /// Samples equal field by field, numbers by their bits (NaN is not equal to itself, -0.0 is to 0.0).
    fn assert_same(want: &[Rec], got: &[Rec]) {
        assert_eq!(want.len(), got.len(), "sample count");
        for (i, (w, g)) in want.iter().zip(got).enumerate() {
            let same_value = match (&w.value, &g.value) {
                (RecValue::Number(a), RecValue::Number(b)) => a.to_bits() == b.to_bits(),
                (a, b) => a == b,
            };
            assert!(
                w.time == g.time && w.quality == g.quality && same_value,
                "sample {i} was {w:?}, came back {g:?}"
            );
        }
    }

    /// A seeded generator (splitmix64): the same runs on every machine, no crate needed.
    struct Prng(u64);

    impl Prng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        /// An integer in `-spread..=spread`.
        fn around(&mut self, spread: i64) -> i64 {
            self.below(2 * spread as u64 + 1) as i64 - spread
        }
    }

    const EDGE_NUMBERS: [f64; 16] = [
        f64::NAN,
        -f64::NAN,
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        5e-324, // the smallest subnormal
        -2.5e-320,
        f64::MAX,
        f64::MIN,
        9_007_199_254_740_992.0, // 2^53
        9_007_199_254_740_994.0,
        -9_223_372_036_854_775_808.0, // i64::MIN
        1e300,
        0.1 + 0.2,
    ];

    fn edge_number(g: &mut Prng) -> f64 {
        match g.below(4) {
            // NaNs with payloads, quiet and signalling, either sign.
            0 => f64::from_bits(0x7ff0_0000_0000_0001 | g.next() & 0x800f_ffff_ffff_ffff),
            1 => f64::from_bits(g.next()),
            _ => EDGE_NUMBERS[g.below(EDGE_NUMBERS.len() as u64) as usize],
        }
    }

    /// A run of one of several shapes: a scaled analog signal, steps, booleans, a counter, floats,
    /// edge values, texts and qualities mixed in; times steady, jittered, equal, negative or anywhere.
    fn generated_run(g: &mut Prng) -> Vec<Rec> {
        let longest = if g.chance(10) { 9000 } else { 300 };
        let n = 1 + g.below(longest) as usize;
        let k = g.below(7) as usize;
        let scale = match g.below(3) {
            0 => NEG_POW10[k],
            1 => 1.0 / (1u32 << g.below(17)) as f64,
            _ => 1.0 / 3.0,
        };
        let offset = [0.0, 0.0, -40.0, 0.5, 1e-3][g.below(5) as usize];
        let interval = [1000, 1000, 100, 0, 60_000, 1][g.below(6) as usize];
        let jitter = [0, 3, 20][g.below(3) as usize];
        let shape = g.below(7);
        let mut time = g.around(1 << 45);
        let mut raw = g.around(5000);
        let mut recs = Vec::with_capacity(n);
        for _ in 0..n {
            time = match g.below(200) {
                0 => g.next() as i64, // anywhere: the codec keeps unsorted times too
                1 => time,            // the same millisecond
                _ => time.wrapping_add(interval + g.around(jitter)),
            };
            raw = match shape {
                0 => raw + g.around(3),                                    // noisy analog
                1 if g.chance(1) => g.around(100_000),                     // steps
                2 if g.chance(2) => 1 - raw.clamp(0, 1),                   // booleans
                3 if g.chance(30) => raw.wrapping_add(g.below(50) as i64), // a counter
                _ => raw,
            };
            let value = match shape {
                4 => RecValue::Number(f64::from(g.next() as u32 as f32) * 1.7), // true floats
                5 => RecValue::Number(edge_number(g)),
                6 => match g.below(4) {
                    0 => RecValue::None,
                    1 => RecValue::Text(["", "Auto", "Hand ✓", "Off"][g.below(4) as usize].into()),
                    2 => RecValue::Number(edge_number(g)),
                    _ => RecValue::Number(raw as f64 * scale + offset),
                },
                _ if g.chance(1) => RecValue::Number(edge_number(g)),
                _ => RecValue::Number(raw as f64 * scale + offset),
            };
            let quality = if g.chance(3) {
                [4096 + 512, 2 * 4096 + 4 * 256, u16::MAX][g.below(3) as usize]
            } else {
                0
            };
            recs.push(rec(time, quality, value));
        }
        recs
    }

    #[test]
    fn generated_runs_of_every_shape_come_back_bit_for_bit() {
        let mut g = Prng(15);
        for _ in 0..600 {
            round_trip(&generated_run(&mut g));
        }
    }

    #[test]
    fn edge_values_come_back_bit_for_bit() {
        let mut recs: Vec<Rec> = EDGE_NUMBERS
            .iter()
            .enumerate()
            .map(|(i, &v)| number(i as i64, v))
            .collect();
        let t = recs.len() as i64;
        recs.extend([
            number(t, f64::from_bits(0x7ff8_0000_dead_beef)), // a quiet NaN with a payload
            number(t + 1, f64::from_bits(0xfff0_0000_0000_0001)), // a negative signalling NaN
            number(t + 2, f64::from_bits(0xfff0_0000_0000_0001)), // repeated
            rec(t + 3, u16::MAX, RecValue::None),
            rec(t + 4, 4096 + 5 * 256 + 2, RecValue::Number(1.5)),
            rec(t + 4, 0, RecValue::Text("the same millisecond".into())),
            rec(-5, 0, RecValue::Text("".into())), // back in time, before 1970
            rec(i64::MIN, 0, RecValue::Text("".into())),
            rec(i64::MAX, 0, RecValue::Text("Auto, 2 pumps ✓".into())),
        ]);
        round_trip(&recs);
        // Each alone, as the first (and only) number of a run.
        for &v in &EDGE_NUMBERS {
            round_trip(&[number(0, v)]);
        }
    }

    /// A tag stored only when its value changes steps a varying whole number of polls: its times go as
    /// beats (how many polls, and the jitter off them), about 5 bits a step where the differences from
    /// the usual step took 13 to 15 (issue 15: these bytes are written by the packing and the seal).
    #[test]
    fn the_times_of_a_tag_stored_when_it_changes_go_as_whole_polls() {
        let mut g = Prng(7);
        for (name, jitter) in [("exact polls", 0), ("polls with 3 ms of jitter", 3)] {
            let mut time = 1_764_000_000_000i64;
            let recs: Vec<Rec> = (0..400)
                .map(|i| {
                    // A change in about one poll in ten.
                    let mut polls = 1;
                    while !g.chance(10) && polls < 60 {
                        polls += 1;
                    }
                    time += polls * 1000 + g.around(jitter);
                    number(time, f64::from(i % 7))
                })
                .collect();
            let bytes = round_trip(&recs);
            let state = State::open(&bytes).expect("opens");
            assert!(
                matches!(
                    state.time_code,
                    TimeCode::Beats {
                        beat: 999..=1001,
                        ..
                    }
                ),
                "{name}: {:?}",
                state.time_code
            );
            let bits = (state.times.end - state.times.at) as f64 * 8.0 / recs.len() as f64;
            let most = if jitter == 0 { 6.5 } else { 10.0 };
            assert!(bits < most, "{name}: {bits:.1} bits a time");
        }
    }

    #[test]
    fn a_decimal_scale_is_found_per_run() {
        // raw * scale + offset as the poll computes it, and values typed as decimals (1.23 is 123 / 100).
        let raw = |i: i64| 2000 + (i * 37 % 11) - 5 + i / 10;
        type Poll = fn(i64) -> f64;
        let cases: [(&str, Poll, f64); 7] = [
            ("x 0.01", |r| r as f64 * 0.01 + 0.0, 100.0),
            ("x 0.1 - 40", |r| r as f64 * 0.1 + -40.0, 10.0),
            ("x 0.001 + 0.5", |r| r as f64 * 0.001 + 0.5, 1000.0),
            ("typed decimals", |r| (2 * r + 1) as f64 / 10.0, 10.0),
            ("whole counts", |r| r as f64, 1.0),
            ("x 0.0625", |r| r as f64 * 0.0625 + 0.0, 16.0),
            ("x 0.5", |r| r as f64 * 0.5, 2.0),
        ];
        for (name, value, factor) in cases {
            let recs: Vec<Rec> = (0..100).map(|i| number(i, value(raw(i)))).collect();
            let bytes = round_trip(&recs);
            let numbers = State::open(&bytes).expect("opens").numbers;
            let scale = Scale::of_byte(bytes[numbers.at]).expect("a scale");
            assert_eq!(scale.factor(), factor, "{name}: {scale:?}");
            // No escape: every number is a one-byte difference after the first.
            assert!(
                numbers.end - numbers.at <= 100 + 4,
                "{name}: {} bytes",
                numbers.end - numbers.at
            );
        }
    }

    #[test]
    fn polled_signals_take_under_two_bytes_a_sample() {
        let mut g = Prng(7);
        let mut time = 1_795_564_800_000;
        let mut raw = 2000i64;
        let recs: Vec<Rec> = (0..3600)
            .map(|_| {
                time += 1000 + g.around(3);
                raw += g.around(2);
                number(time, raw as f64 * 0.01)
            })
            .collect();
        let bytes = round_trip(&recs);
        assert!(bytes.len() <= 2 * recs.len(), "{} bytes", bytes.len());
    }

    #[test]
    fn every_cut_of_a_run_is_an_error_and_damage_never_panics() {
        let mut g = Prng(42);
        for _ in 0..40 {
            let recs = generated_run(&mut g);
            let recs = &recs[..recs.len().min(200)];
            let mut bytes = Vec::new();
            encode_run(recs, &mut bytes);
            // A cut at 1 byte leaves [0]: the empty plain run, bytes that decode to nothing.
            assert_eq!(decode_run_vec(&bytes[..1]).expect("the empty run"), vec![]);
            for cut in (0..bytes.len()).filter(|&c| c != 1) {
                assert!(decode_run_vec(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            // Changed bytes decode to something or fail, never panic or hang.
            for _ in 0..200 {
                let mut damaged = bytes.clone();
                let at = g.below(damaged.len() as u64) as usize;
                damaged[at] = g.next() as u8;
                let _ = decode_run_vec(&damaged);
            }
        }
    }

    #[test]
    fn bad_headers_and_tokens_are_named() {
        let err = |bytes: &[u8]| decode_run_vec(bytes).expect_err("damaged");
        assert_eq!(err(&[0, 9, 1]), CodecError("unknown run format"));
        assert_eq!(err(&[0, 1, 0]), CodecError("sample count out of range"));
        assert_eq!(
            err(&[0, 1, 0x81, 0x80, 0x04]),
            CodecError("sample count out of range")
        );
        assert_eq!(err(&[0, 1, 1, 9, 0, 0, 0, 0]), CodecError("truncated"));
        // One sample: time 0, usual step 0, steps as tokens; quality 0 x1; a number x1; scale 7 (no
        // such scale).
        assert_eq!(
            err(&[0, 1, 1, 3, 2, 2, 2, 0, 0, 0x80, 0, 0, 1, 0, 7, 2]),
            CodecError("unknown number scale")
        );
        // The same with token 4 (low bits 00, not 0).
        assert_eq!(
            err(&[0, 1, 1, 3, 2, 2, 2, 0, 0, 0x80, 0, 0, 1, 0, 0, 4]),
            CodecError("bad number token")
        );
        // A repeat of a number before any number.
        assert_eq!(
            err(&[0, 1, 1, 3, 2, 2, 2, 0, 0, 0x80, 0, 0, 1, 0, 0, 1]),
            CodecError("repeat without a number")
        );
        // Steps in code 0x82.
        assert_eq!(
            err(&[0, 1, 1, 3, 2, 2, 0, 0, 0, 0x82, 0, 0, 0, 0]),
            CodecError("unknown time code")
        );
        // Beats of 0 ms, and a Rice parameter over 24.
        assert_eq!(
            err(&[0, 1, 1, 6, 2, 2, 0, 0, 0, 0x81, 0, 1, 1, 0, 0, 0, 0]),
            CodecError("bad beats")
        );
        assert_eq!(
            err(&[0, 1, 1, 7, 2, 2, 0, 0, 0, 0x81, 0xe8, 0x07, 25, 1, 0, 0, 0, 0]),
            CodecError("bad beats")
        );
        // Kind 3.
        assert_eq!(
            err(&[0, 1, 1, 3, 2, 2, 0, 0, 0, 0x80, 0, 0, 3, 0]),
            CodecError("unknown value kind")
        );
    }
}
