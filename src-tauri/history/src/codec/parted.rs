//! The parted run: a long run (a compacted chunk of an hour at 1 Hz holds 3,600 samples) cut into parts of
//! about [`PART_SAMPLES`] samples, each an independent compact run, behind a directory that gives each
//! part's time span, byte range and summary.
//!
//! Why: a trend summarises columns of time, and a chunk that lies inside one column is read from its row's
//! summary without decoding it; a chunk across a column edge had to be decoded whole. A year of 4 pens in
//! 1,000 columns cuts about 1,000 chunks a pen, and decoding them whole was most of that trend's time. With
//! parts, a reader takes the summaries of the parts on either side of the edge and decodes only the one
//! part across it ([`parts`]); every other reader decodes a parted run like any other, part after part.
//!
//! Layout (after the two format bytes `0x00 0x02`):
//!
//! ```text
//! varint n (2..=MAX_SAMPLES), varint number of parts (1..=n)
//! per part: varint count (>= 1), varint byte length,
//!           zigzag varint start - the previous part's end (the first part: its start),
//!           zigzag varint end - start, varint not-good count, varint good-number count,
//!           and when that count is not 0: min, max, first, last, sum (f64 LE each)
//! the parts' bytes, in order: each a compact run of `count` samples (`0x00 0x01 ...`)
//! ```
//!
//! A part's start and end are its first and last samples' times; its summary is [`Summary::of`] its
//! samples, the same one a chunk row carries for all of them. The directory costs about 50 bytes a part and
//! each part's own header about 20: some 0.25 bytes a sample at [`PART_SAMPLES`] (see `history_bytes`).

use std::ops::Range;

use super::{compact, put_varint, unzigzag, zigzag, Bytes, CodecError, Rec, Summary};

/// The second byte of a parted run (the first is 0).
pub(super) const VERSION: u8 = 2;

/// The samples a part holds, about: parts are as equal as the run's length allows, none larger. Smaller
/// parts make a cut chunk cheaper to read and the run larger; at 1 Hz a part is about 4 minutes.
pub const PART_SAMPLES: usize = 256;

/// A run is parted from this many samples on (shorter runs are read whole quickly enough).
pub(super) const PARTED_FROM: usize = 2 * PART_SAMPLES;

/// One part of a parted run, as its directory gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Its first sample's time (UTC ms).
    pub start: i64,
    /// Its last sample's time.
    pub end: i64,
    pub count: u64,
    pub summary: Summary,
    /// Where its compact run is in the parted run's bytes.
    pub bytes: Range<usize>,
}

/// True when `data` is a parted run.
pub(super) fn is_parted(data: &[u8]) -> bool {
    data.len() > 1 && data[0] == 0 && data[1] == VERSION
}

/// Appends `recs` (at least [`PARTED_FROM`], at most `compact::MAX_SAMPLES`) as a parted run.
pub(super) fn encode(recs: &[Rec], out: &mut Vec<u8>) {
    debug_assert!(recs.len() >= PARTED_FROM && recs.len() <= compact::MAX_SAMPLES);
    let size = recs.len().div_ceil(recs.len().div_ceil(PART_SAMPLES));
    let pieces: Vec<&[Rec]> = recs.chunks(size).collect();
    let mut bodies = Vec::new();
    out.push(0);
    out.push(VERSION);
    put_varint(out, recs.len() as u64);
    put_varint(out, pieces.len() as u64);
    let mut previous_end = 0i64;
    for piece in pieces {
        let before = bodies.len();
        compact::encode(piece, &mut bodies);
        let (start, end) = (piece[0].time, piece[piece.len() - 1].time);
        put_varint(out, piece.len() as u64);
        put_varint(out, (bodies.len() - before) as u64);
        put_varint(out, zigzag(start.wrapping_sub(previous_end)));
        put_varint(out, zigzag(end.wrapping_sub(start)));
        let summary = Summary::of(piece);
        put_varint(out, summary.not_good);
        put_varint(out, summary.count);
        if summary.count > 0 {
            for v in [summary.min, summary.max, summary.first, summary.last] {
                // Present whenever the count is not 0 (`Summary::of`).
                out.extend_from_slice(&v.unwrap_or(0.0).to_le_bytes());
            }
            out.extend_from_slice(&summary.sum.to_le_bytes());
        }
        previous_end = end;
    }
    out.extend_from_slice(&bodies);
}

/// The parts of `data`, or `None` when it is not a parted run (a compact or plain run, read whole).
pub fn parts(data: &[u8]) -> Result<Option<Vec<Part>>, CodecError> {
    if !is_parted(data) {
        return Ok(None);
    }
    let mut bytes = Bytes::new(data);
    bytes.take(2)?;
    let n = bytes.varint()?;
    let count = bytes.varint()?;
    if n < 2 || n > compact::MAX_SAMPLES as u64 || count == 0 || count > n {
        return Err(CodecError("part count out of range"));
    }
    let mut parts = Vec::with_capacity(count as usize);
    let mut previous_end = 0i64;
    let mut lengths = Vec::with_capacity(count as usize);
    let mut samples = 0u64;
    for _ in 0..count {
        let part_count = bytes.varint()?;
        let length = bytes.varint()?;
        let start = previous_end.wrapping_add(unzigzag(bytes.varint()?));
        let end = start.wrapping_add(unzigzag(bytes.varint()?));
        let not_good = bytes.varint()?;
        let good = bytes.varint()?;
        let mut summary = Summary {
            count: good,
            not_good,
            ..Summary::default()
        };
        if good > 0 {
            let mut number = || -> Result<f64, CodecError> {
                let raw = bytes.take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                Ok(f64::from_le_bytes(le))
            };
            summary.min = Some(number()?);
            summary.max = Some(number()?);
            summary.first = Some(number()?);
            summary.last = Some(number()?);
            summary.sum = number()?;
        }
        samples = samples.saturating_add(part_count);
        if part_count == 0 || good.saturating_add(not_good) > part_count || samples > n {
            return Err(CodecError("part count out of range"));
        }
        parts.push(Part {
            start,
            end,
            count: part_count,
            summary,
            bytes: 0..0,
        });
        lengths.push(length);
        previous_end = end;
    }
    if samples != n {
        return Err(CodecError("parts do not add up to the run"));
    }
    let mut at = bytes.at;
    for (part, length) in parts.iter_mut().zip(lengths) {
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&end| end <= data.len())
            .ok_or(CodecError("truncated"))?;
        part.bytes = at..end;
        at = end;
    }
    if at != data.len() {
        return Err(CodecError("bytes after the last part"));
    }
    Ok(Some(parts))
}

/// A part's bytes in the parted run `data`, checked to be a compact run.
fn part_bytes<'d>(data: &'d [u8], part: &Part) -> Result<&'d [u8], CodecError> {
    let bytes = data
        .get(part.bytes.clone())
        .ok_or(CodecError("truncated"))?;
    if !compact::is_compact(bytes) || is_parted(bytes) {
        return Err(CodecError("a part is not a compact run"));
    }
    Ok(bytes)
}

/// Decodes one part of a parted run (`data` the whole run), calling `f` for each of its samples.
pub fn decode_part(data: &[u8], part: &Part, mut f: impl FnMut(Rec)) -> Result<(), CodecError> {
    let bytes = part_bytes(data, part)?;
    let mut state = compact::State::open(bytes)?;
    let mut decoded = 0u64;
    while let Some(rec) = state.next(bytes)? {
        decoded += 1;
        f(rec);
    }
    if decoded != part.count {
        return Err(CodecError("a part holds other than its count"));
    }
    Ok(())
}

/// Where the decoding of a parted run stands between two samples.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    parts: Vec<Part>,
    /// The part being decoded (`parts[next - 1]`) and its state; `None` before the first.
    current: Option<compact::State>,
    next: usize,
    /// Samples of the current part decoded so far.
    decoded: u64,
}

impl State {
    pub(super) fn open(data: &[u8]) -> Result<State, CodecError> {
        let parts = parts(data)?.ok_or(CodecError("not a parted run"))?;
        Ok(State {
            parts,
            ..State::default()
        })
    }

    /// The next sample of the parted run `data` (the same bytes every call), or `None` at its end.
    pub(super) fn next(&mut self, data: &[u8]) -> Result<Option<Rec>, CodecError> {
        loop {
            if let Some(state) = &mut self.current {
                let part = &self.parts[self.next - 1];
                let bytes = part_bytes(data, part)?;
                if let Some(rec) = state.next(bytes)? {
                    self.decoded += 1;
                    return Ok(Some(rec));
                }
                if self.decoded != part.count {
                    return Err(CodecError("a part holds other than its count"));
                }
            }
            let Some(part) = self.parts.get(self.next) else {
                self.current = None;
                return Ok(None);
            };
            self.current = Some(compact::State::open(part_bytes(data, part)?)?);
            self.next += 1;
            self.decoded = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_run_vec, encode_run, RecValue, RunReader};
    use super::*;

    /// An hour of a 1 s poll with jitter: a noisy analog value, a stretch of bad quality, a text and a
    /// sample without a value.
    fn hour() -> Vec<Rec> {
        (0..3600i64)
            .map(|s| {
                let time = 1_764_000_000_000 + s * 1000 + (s * 7919) % 13;
                let (quality, value) = match s {
                    1000..=1099 => (3, RecValue::None),
                    2000 => (0, RecValue::Text("manual".into())),
                    _ => (0, RecValue::Number(((s * 37) % 4096) as f64 * 0.01)),
                };
                Rec {
                    time,
                    quality,
                    value,
                }
            })
            .collect()
    }

    fn encoded(recs: &[Rec]) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode_run(recs, &mut bytes);
        bytes
    }

    #[test]
    fn a_long_run_is_parted_and_comes_back_whole_sample_by_sample_and_part_by_part() {
        let recs = hour();
        let bytes = encoded(&recs);
        assert!(is_parted(&bytes));
        assert_eq!(decode_run_vec(&bytes).expect("whole"), recs);
        let mut reader = RunReader::new(bytes.clone());
        let mut one_by_one = Vec::new();
        while let Some(rec) = reader.next_rec().expect("next") {
            one_by_one.push(rec);
        }
        assert_eq!(one_by_one, recs);

        let parts = parts(&bytes).expect("directory").expect("parted");
        assert_eq!(parts.len(), 15, "3,600 samples in parts of 240");
        let mut at = 0;
        for part in &parts {
            let mut got = Vec::new();
            decode_part(&bytes, part, |rec| got.push(rec)).expect("part");
            let want = &recs[at..at + got.len()];
            assert_eq!(got, want);
            assert_eq!(
                (part.start, part.end, part.count),
                (want[0].time, want[want.len() - 1].time, want.len() as u64)
            );
            assert_eq!(part.summary, Summary::of(want), "the part's summary");
            at += got.len();
        }
        assert_eq!(at, recs.len());
    }

    #[test]
    fn short_runs_stay_single_compact_runs() {
        let recs = &hour()[..PARTED_FROM - 1];
        let bytes = encoded(recs);
        assert!(!is_parted(&bytes) && compact::is_compact(&bytes));
        assert_eq!(parts(&bytes).expect("not parted"), None);
        let bytes = encoded(&hour()[..PARTED_FROM]);
        assert_eq!(parts(&bytes).expect("parted").map(|p| p.len()), Some(2));
    }

    #[test]
    fn every_cut_and_a_changed_byte_of_a_parted_run_is_an_error_never_a_panic() {
        let recs = hour();
        let bytes = encoded(&recs[..600]);
        for end in 0..bytes.len() {
            let cut = &bytes[..end];
            assert!(
                decode_run_vec(cut).is_err() || end <= 1,
                "cut at {end} of {} decoded",
                bytes.len()
            );
            let _ = parts(cut);
        }
        for at in 2..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                let _ = decode_run_vec(&damaged);
                if let Ok(Some(parts)) = parts(&damaged) {
                    for part in &parts {
                        let _ = decode_part(&damaged, part, |_| {});
                    }
                }
                let mut reader = RunReader::new(damaged);
                while let Ok(Some(_)) = reader.next_rec() {}
            }
        }
    }
}
