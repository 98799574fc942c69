//! The history codec on arbitrary bytes.
//!
//! Decoding: the bytes as a run and as a log blob (every run its directory points at) must decode or
//! fail with a `CodecError`, never panic; a run that decodes must encode and decode to the same samples.
//! Encoding: samples built from the bytes (the [`Recipe`] below), grouped into runs of ascending tag ids,
//! must come back exactly from a log blob (a commit's stream, the dense runs of schema 6 to 8, a packed
//! row's compact runs, and the plain runs of schema 5) and each run from its own encoding (a compact run, as chunks hold).

use plantwatch_history::codec::{
    decode_run_vec, encode_run, legacy_log_blob, LogBlob, LogBlobBuilder, Rec, RecValue,
};

/// Runs both halves on `data`.
pub fn run(data: &[u8]) {
    decode_arbitrary(data);
    round_trip(data);
}

fn decode_arbitrary(data: &[u8]) {
    if let Ok(recs) = decode_run_vec(data) {
        let mut again = Vec::new();
        encode_run(&recs, &mut again);
        let back = decode_run_vec(&again).expect("an encoded run decodes");
        assert_same(&recs, &back, "a decoded run, encoded and decoded again");
    }
    if let Ok(blob) = LogBlob::parse(data) {
        for run in blob.runs_between(0, u32::MAX) {
            let Ok(run) = run else { break };
            let _ = run.decode(|_| {});
            // A directory of unsorted ids must not make the search panic either.
            let _ = blob.run_of(run.tag);
        }
    }
}

fn round_trip(data: &[u8]) {
    let mut recipe = Recipe {
        data,
        at: 0,
        time: -1_000_000,
    };
    let mut runs: Vec<(u32, Vec<Rec>)> = Vec::new();
    let mut tag = 0u32;
    while let Some(step) = recipe.byte() {
        // A tag id gap of 0-15 and up to 15 samples per run.
        tag = tag.saturating_add(u32::from(step >> 4) + 1);
        let recs: Vec<Rec> = (0..step & 0x0f).map_while(|_| recipe.rec()).collect();
        runs.push((tag, recs));
    }
    let build = |mut builder: LogBlobBuilder| {
        for (tag, recs) in &runs {
            builder.add(*tag, recs);
        }
        builder.finish()
    };
    let base = runs
        .iter()
        .filter_map(|(_, recs)| recs.first().map(|r| r.time))
        .min()
        .unwrap_or(0);
    let blobs = [
        build(LogBlobBuilder::stream(base)),
        build(LogBlobBuilder::dense(base)),
        build(LogBlobBuilder::compact()),
        legacy_log_blob(&runs),
    ];
    for blob_bytes in &blobs {
        let blob = LogBlob::parse(blob_bytes).expect("a built blob parses");
        for (tag, recs) in &runs {
            let Some(run) = blob.run_of(*tag).expect("a built blob reads") else {
                // A stream holds samples, not runs: a tag without any is not in it.
                assert!(recs.is_empty(), "a built blob has each run with samples");
                continue;
            };
            let mut back = Vec::new();
            run.decode(|r| back.push(r))
                .expect("an encoded run decodes");
            assert_same(recs, &back, "a run through a log blob");
        }
    }
    for (_, recs) in &runs {
        let mut run = Vec::new();
        encode_run(recs, &mut run);
        let back = decode_run_vec(&run).expect("an encoded run decodes");
        assert_same(recs, &back, "a run on its own");
    }
}

/// Turns bytes into samples: times ascending by a varying step, mostly good quality, numbers that
/// often repeat (the codec's shortcut), texts, and empty values.
struct Recipe<'a> {
    data: &'a [u8],
    at: usize,
    /// The last sample's time.
    time: i64,
}

impl Recipe<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let bytes = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn rec(&mut self) -> Option<Rec> {
        let head = self.byte()?;
        let step = self.bytes(2)?;
        // Times ascend, as a commit sorts them; the top bit makes a step of years, not milliseconds.
        let step = i64::from(u16::from_le_bytes([step[0], step[1]])) + 1;
        let unit = if head & 0x80 != 0 { 1 << 32 } else { 1 };
        self.time = self.time.saturating_add(step * unit);
        let time = self.time;
        let quality = if head & 0x40 != 0 {
            u16::from(self.byte()?) << 4
        } else {
            0
        };
        let value = match head & 0b11 {
            0 => RecValue::None,
            1 => {
                let raw = self.bytes(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                RecValue::Number(f64::from_bits(u64::from_le_bytes(le)))
            }
            2 => RecValue::Number(f64::from(head >> 2 & 0x3)),
            _ => {
                let len = usize::from(self.byte()? & 0x1f);
                RecValue::Text(String::from_utf8_lossy(self.bytes(len)?).into())
            }
        };
        Some(Rec {
            time,
            quality,
            value,
        })
    }
}

/// Samples equal field by field, numbers by their bits (NaN is not equal to itself).
fn assert_same(want: &[Rec], got: &[Rec], what: &str) {
    assert_eq!(want.len(), got.len(), "{what}: sample count");
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        let same_value = match (&w.value, &g.value) {
            (RecValue::Number(a), RecValue::Number(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        };
        assert!(
            w.time == g.time && w.quality == g.quality && same_value,
            "{what}: sample {i} was {w:?}, came back {g:?}"
        );
    }
}
