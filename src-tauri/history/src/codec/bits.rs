//! Bits in and out of bytes, least significant first, and the Rice code of unsigned integers: what a
//! compact run's times take when poll jitter makes their differences small but never zero for long.
//!
//! Rice with parameter `k`: `v >> k` as that many 1 bits and a 0, then the low `k` bits of `v`. A value
//! whose `v >> k` is [`RICE_ESCAPE`] or more is written as `RICE_ESCAPE` 1 bits and its 64 bits, so no
//! value costs more than 95 bits and a damaged stream never makes a reader count ones for long.

use super::CodecError;

/// Values with `v >> k` at least this are escaped (written whole).
const RICE_ESCAPE: u64 = 31;

/// Appends bits to a byte vector.
pub(super) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    held: u32,
}

impl<'a> BitWriter<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        BitWriter {
            out,
            acc: 0,
            held: 0,
        }
    }

    /// The low `n` bits of `v` (`n` up to 32).
    fn put(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 32);
        let v = v & ((1u64 << n) - 1);
        self.acc |= v << self.held;
        self.held += n;
        while self.held >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.held -= 8;
        }
    }

    /// `v` in the Rice code of parameter `k` (0..=32).
    pub(super) fn rice(&mut self, v: u64, k: u32) {
        let q = v >> k;
        if q >= RICE_ESCAPE {
            self.put((1 << RICE_ESCAPE) - 1, RICE_ESCAPE as u32);
            self.put(v & 0xffff_ffff, 32);
            self.put(v >> 32, 32);
        } else {
            // q ones, then a zero.
            self.put((1 << q) - 1, q as u32 + 1);
            if k > 0 {
                self.put(v, k);
            }
        }
    }

    /// Writes the last partial byte (its high bits 0).
    pub(super) fn finish(mut self) {
        if self.held > 0 {
            self.out.push(self.acc as u8);
            self.acc = 0;
            self.held = 0;
        }
    }
}

/// The bits `v` costs in the Rice code of parameter `k`.
pub(super) fn rice_bits(v: u64, k: u32) -> u64 {
    let q = v >> k;
    if q >= RICE_ESCAPE {
        RICE_ESCAPE + 64
    } else {
        q + 1 + u64::from(k)
    }
}

/// Reads bits from `data[..end]`, starting at bit `at` (an absolute bit offset into `data`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct BitReader {
    /// The next bit, counted from the start of the run.
    pub(super) at: u64,
    /// The bit where the column ends.
    pub(super) end: u64,
}

impl BitReader {
    /// A reader of the bytes `start..end` of a run.
    pub(super) fn new(start: usize, end: usize) -> BitReader {
        BitReader {
            at: start as u64 * 8,
            end: end as u64 * 8,
        }
    }

    fn bit(&mut self, data: &[u8]) -> Result<u64, CodecError> {
        if self.at >= self.end {
            return Err(CodecError("truncated"));
        }
        let byte = usize::try_from(self.at / 8).map_err(|_| CodecError("truncated"))?;
        let b = *data.get(byte).ok_or(CodecError("truncated"))?;
        let bit = (b >> (self.at % 8)) & 1;
        self.at += 1;
        Ok(u64::from(bit))
    }

    fn bits(&mut self, data: &[u8], n: u32) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for i in 0..n {
            v |= self.bit(data)? << i;
        }
        Ok(v)
    }

    /// The next bits from `at` on, first bit lowest, and how many of them are the column's (up to 57:
    /// a whole 8 bytes less the bits of the first byte already read). `None` past the data.
    #[inline]
    fn window(&self, data: &[u8]) -> Option<(u64, u32)> {
        let byte = usize::try_from(self.at / 8).ok()?;
        let shift = (self.at % 8) as u32;
        let left = u32::try_from(self.end.saturating_sub(self.at)).unwrap_or(u32::MAX);
        // Eight whole bytes in one load where the data has them (the bits past the column's end are
        // not counted as held); the run's last bytes one by one.
        let word = match data.get(byte..byte.checked_add(8)?) {
            Some(eight) => u64::from_le_bytes(eight.try_into().ok()?),
            None => {
                let bytes = data.get(byte..)?;
                let mut le = [0u8; 8];
                for (to, from) in le.iter_mut().zip(bytes) {
                    *to = *from;
                }
                u64::from_le_bytes(le)
            }
        };
        let in_data =
            (u32::try_from(data.len().saturating_sub(byte).min(8)).ok()? * 8).saturating_sub(shift);
        Some((word >> shift, in_data.min(left)))
    }

    /// The next value in the Rice code of parameter `k` (0..=32).
    #[inline]
    pub(super) fn rice(&mut self, data: &[u8], k: u32) -> Result<u64, CodecError> {
        // Quick path, nearly every code: it fits in one 64-bit window, read with one load instead of
        // a bit at a time (a third of decoding a chunk of 1 s polls).
        if let Some((word, held)) = self.window(data) {
            let q = (!word).trailing_zeros();
            if u64::from(q) < RICE_ESCAPE && q + 1 + k <= held {
                let rest = if k == 0 {
                    0
                } else {
                    (word >> (q + 1)) & ((1u64 << k) - 1)
                };
                self.at += u64::from(q + 1 + k);
                return Ok(u64::from(q) << k | rest);
            }
        }
        let mut q = 0;
        while q < RICE_ESCAPE && self.bit(data)? == 1 {
            q += 1;
        }
        if q == RICE_ESCAPE {
            return self.bits(data, 64);
        }
        Ok(q << k | self.bits(data, k)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rice_codes_come_back_and_cost_what_rice_bits_says() {
        let values = [
            0,
            1,
            2,
            3,
            7,
            8,
            15,
            16,
            100,
            1000,
            u64::MAX,
            1 << 40,
            30,
            31,
            32,
        ];
        for k in [0, 1, 3, 5, 12, 32] {
            let mut out = Vec::new();
            let mut w = BitWriter::new(&mut out);
            for &v in &values {
                w.rice(v, k);
            }
            w.finish();
            let bits: u64 = values.iter().map(|&v| rice_bits(v, k)).sum();
            assert_eq!(out.len() as u64, bits.div_ceil(8), "k {k}");
            let mut r = BitReader::new(0, out.len());
            for &v in &values {
                assert_eq!(r.rice(&out, k).expect("reads"), v, "k {k}");
            }
        }
    }

    #[test]
    fn rice_codes_read_the_same_at_every_bit_offset_and_never_past_the_column() {
        let values: Vec<u64> = (0..200u64).map(|i| (i * 7919) % 97).collect();
        for k in [0, 2, 5] {
            for pad in 0..16u32 {
                let mut out = Vec::new();
                let mut w = BitWriter::new(&mut out);
                w.put(0, pad);
                for &v in &values {
                    w.rice(v, k);
                }
                w.finish();
                let mut r = BitReader::new(0, out.len());
                r.at = u64::from(pad);
                for &v in &values {
                    assert_eq!(r.rice(&out, k).expect("reads"), v, "k {k} pad {pad}");
                }
                // The same bytes with the column ending a byte early: the last code is cut off.
                let mut r = BitReader::new(0, out.len() - 1);
                r.at = u64::from(pad);
                let read: Result<Vec<u64>, _> = values.iter().map(|_| r.rice(&out, k)).collect();
                assert_eq!(read, Err(CodecError("truncated")), "k {k} pad {pad}");
            }
        }
    }

    #[test]
    fn small_values_take_a_few_bits() {
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        for v in 0..8 {
            w.rice(v, 2); // 3 or 4 bits each
        }
        w.finish();
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let data = [0xff, 0xff];
        // Sixteen ones are not a whole code of parameter 0.
        assert_eq!(
            BitReader::new(0, 2).rice(&data, 0),
            Err(CodecError("truncated"))
        );
        // The column ends before the data does.
        let mut r = BitReader::new(0, 1);
        assert_eq!(r.rice(&[0xfe, 0], 0).expect("one bit"), 0);
        assert_eq!(r.rice(&[0xfe, 0], 0), Err(CodecError("truncated")));
    }
}
