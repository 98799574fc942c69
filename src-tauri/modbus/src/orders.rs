//! Every reading of a window of registers side by side: for each start address the register as u16,
//! i16 and hex, the pair starting there as u32/i32/f32 in the four word orders, and the four registers
//! starting there as u64/i64/f64 in all eight register orders. Pure, no I/O.
//!
//! This is what a technician looks at when a device's manual is wrong about its word order: the right
//! order is the one whose readings look like plant values. [`Reading::plausible`] marks those by one
//! simple rule, the same for every order (see [`plausible_float`] and [`plausible_integer`]), so that
//! the right one stands out rather than being chosen for the user.
//!
//! The four named orders (ABCD, CDAB, BADC, DCBA) go through the tag decoder's own byte arrangement
//! ([`crate::decode`]), so the side-by-side view and a configured tag can never disagree. Only the
//! four 64-bit layouts the config cannot name are arranged here.

use std::fmt;

use plantwatch_core::WordOrder;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::decode::canonical;

/// The smallest magnitude (other than exactly 0) a plausible reading has.
pub const PLAUSIBLE_MIN: f64 = 1e-6;
/// The largest magnitude a plausible reading has.
pub const PLAUSIBLE_MAX: f64 = 1e9;

/// One of the eight ways a device may lay the bytes of a 64-bit value (big-endian `ABCDEFGH`) over four
/// registers: the four register orders, each with and without the bytes swapped inside every register.
/// Named by the bytes as they appear on the wire, register after register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterOrder64 {
    /// Big-endian; the config's `ABCD`.
    Abcdefgh,
    /// Registers reversed; the config's `CDAB`.
    Ghefcdab,
    /// Bytes swapped inside each register; the config's `BADC`.
    Badcfehg,
    /// Little-endian; the config's `DCBA`.
    Hgfedcba,
    /// Each 32-bit half word-swapped, halves in order (no config name).
    Cdabghef,
    /// As [`Self::Cdabghef`] with the bytes swapped (no config name).
    Dcbahgfe,
    /// The two 32-bit halves swapped (no config name).
    Efghabcd,
    /// As [`Self::Efghabcd`] with the bytes swapped (no config name).
    Fehgbadc,
}

impl RegisterOrder64 {
    /// Every order: the four the config names first, in [`WordOrder::ALL`]'s order, then the others.
    pub const ALL: [RegisterOrder64; 8] = [
        RegisterOrder64::Abcdefgh,
        RegisterOrder64::Ghefcdab,
        RegisterOrder64::Badcfehg,
        RegisterOrder64::Hgfedcba,
        RegisterOrder64::Cdabghef,
        RegisterOrder64::Dcbahgfe,
        RegisterOrder64::Efghabcd,
        RegisterOrder64::Fehgbadc,
    ];

    /// The bytes on the wire, register after register, named by the big-endian form: `GHEFCDAB`.
    pub fn pattern(self) -> &'static str {
        match self {
            RegisterOrder64::Abcdefgh => "ABCDEFGH",
            RegisterOrder64::Ghefcdab => "GHEFCDAB",
            RegisterOrder64::Badcfehg => "BADCFEHG",
            RegisterOrder64::Hgfedcba => "HGFEDCBA",
            RegisterOrder64::Cdabghef => "CDABGHEF",
            RegisterOrder64::Dcbahgfe => "DCBAHGFE",
            RegisterOrder64::Efghabcd => "EFGHABCD",
            RegisterOrder64::Fehgbadc => "FEHGBADC",
        }
    }

    /// The config's name for this order, for the four it has; only those can become a tag.
    pub fn word_order(self) -> Option<WordOrder> {
        match self {
            RegisterOrder64::Abcdefgh => Some(WordOrder::Abcd),
            RegisterOrder64::Ghefcdab => Some(WordOrder::Cdab),
            RegisterOrder64::Badcfehg => Some(WordOrder::Badc),
            RegisterOrder64::Hgfedcba => Some(WordOrder::Dcba),
            _ => None,
        }
    }

    /// The big-endian bytes of the value held by `regs` (four registers) laid out in this order.
    fn canonical(self, regs: &[u16; 4]) -> [u8; 8] {
        if let Some(order) = self.word_order() {
            return canonical(regs, order);
        }
        // Which big-endian register each wire register holds (each permutation is its own inverse).
        let (holds, swap) = match self {
            RegisterOrder64::Cdabghef => ([1, 0, 3, 2], false),
            RegisterOrder64::Dcbahgfe => ([1, 0, 3, 2], true),
            RegisterOrder64::Efghabcd => ([2, 3, 0, 1], false),
            _ => ([2, 3, 0, 1], true),
        };
        let mut bytes = [0u8; 8];
        for (wire, &big_endian) in holds.iter().enumerate() {
            let reg = if swap {
                regs[wire].swap_bytes()
            } else {
                regs[wire]
            };
            bytes[2 * big_endian..2 * big_endian + 2].copy_from_slice(&reg.to_be_bytes());
        }
        bytes
    }
}

impl fmt::Display for RegisterOrder64 {
    /// The byte pattern, with the config's name where it has one: `GHEFCDAB (CDAB)`, `EFGHABCD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pattern())?;
        match self.word_order() {
            Some(order) => write!(f, " ({order})"),
            None => Ok(()),
        }
    }
}

impl Serialize for RegisterOrder64 {
    /// `{"pattern": "GHEFCDAB", "word_order": "CDAB"}` (`null` for orders the config cannot name).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RegisterOrder64", 2)?;
        s.serialize_field("pattern", self.pattern())?;
        s.serialize_field("word_order", &self.word_order().map(WordOrder::name))?;
        s.end()
    }
}

/// One decoding and whether it looks like a plant value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reading<T> {
    pub value: T,
    /// See [`plausible_float`] and [`plausible_integer`].
    pub plausible: bool,
}

/// The two registers at an address read as 32-bit values in one word order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decoded32 {
    #[serde(serialize_with = "order_name")]
    pub order: WordOrder,
    pub u32: Reading<u32>,
    pub i32: Reading<i32>,
    /// NaN and infinities serialize as `null` in JSON; their `plausible` is false.
    pub f32: Reading<f32>,
}

/// The four registers at an address read as 64-bit values in one register order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decoded64 {
    pub order: RegisterOrder64,
    /// As a decimal string in JSON: a JavaScript number would round counters past 2^53.
    #[serde(serialize_with = "decimal")]
    pub u64: Reading<u64>,
    #[serde(serialize_with = "decimal")]
    pub i64: Reading<i64>,
    pub f64: Reading<f64>,
}

/// Everything the registers starting at one address can mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterDecodings {
    /// The protocol address of the first register.
    pub address: u16,
    /// The register itself.
    pub raw: u16,
    /// `0x1A2B`.
    pub hex: String,
    pub u16: u16,
    pub i16: i16,
    /// In [`WordOrder::ALL`]'s order; empty when the window ends before a second register.
    pub pairs: Vec<Decoded32>,
    /// In [`RegisterOrder64::ALL`]'s order; empty when the window ends before a fourth register.
    pub quads: Vec<Decoded64>,
}

/// Decodes a window of registers read from `start` on: one [`RegisterDecodings`] per register (the
/// window ends at address 65535 if it would run past it).
pub fn decode_window(start: u16, registers: &[u16]) -> Vec<RegisterDecodings> {
    registers
        .iter()
        .enumerate()
        .map_while(|(i, &raw)| {
            let address = start.checked_add(u16::try_from(i).ok()?)?;
            let rest = &registers[i..];
            Some(RegisterDecodings {
                address,
                raw,
                hex: format!("0x{raw:04X}"),
                u16: raw,
                i16: raw as i16,
                pairs: rest
                    .first_chunk::<2>()
                    .map(|pair| {
                        WordOrder::ALL
                            .map(|order| decode_pair(pair, order))
                            .to_vec()
                    })
                    .unwrap_or_default(),
                quads: rest
                    .first_chunk::<4>()
                    .map(|quad| {
                        RegisterOrder64::ALL
                            .map(|order| decode_quad(quad, order))
                            .to_vec()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Two registers as u32, i32 and f32 in `order`.
pub fn decode_pair(regs: &[u16; 2], order: WordOrder) -> Decoded32 {
    let bytes: [u8; 4] = canonical(regs, order);
    let u = u32::from_be_bytes(bytes);
    let i = i32::from_be_bytes(bytes);
    let f = f32::from_be_bytes(bytes);
    Decoded32 {
        order,
        u32: integer(u, f64::from(u)),
        i32: integer(i, f64::from(i)),
        f32: Reading {
            value: f,
            plausible: f == 0.0 || (f.is_normal() && plausible_float(f64::from(f))),
        },
    }
}

/// Four registers as u64, i64 and f64 in `order`.
pub fn decode_quad(regs: &[u16; 4], order: RegisterOrder64) -> Decoded64 {
    let bytes = order.canonical(regs);
    let u = u64::from_be_bytes(bytes);
    let i = i64::from_be_bytes(bytes);
    let f = f64::from_be_bytes(bytes);
    Decoded64 {
        order,
        u64: integer(u, u as f64),
        i64: integer(i, i as f64),
        f64: Reading {
            value: f,
            plausible: plausible_float(f),
        },
    }
}

fn integer<T>(value: T, as_f64: f64) -> Reading<T> {
    Reading {
        value,
        plausible: plausible_integer(as_f64),
    }
}

/// The rule for floats: exactly 0, or a finite, normal number (not NaN, not an infinity, not a
/// denormal, whose all-zero exponent is what a wrong order of a small integer usually yields) with a
/// magnitude from [`PLAUSIBLE_MIN`] to [`PLAUSIBLE_MAX`]. The caller checks normality in the value's own
/// width (an f32 denormal is a normal f64).
pub fn plausible_float(x: f64) -> bool {
    x == 0.0 || (x.is_normal() && (PLAUSIBLE_MIN..=PLAUSIBLE_MAX).contains(&x.abs()))
}

/// The rule for integers: a magnitude of at most [`PLAUSIBLE_MAX`]. A wrong order moves the low bytes
/// of a small value into the high bytes, which makes it huge (or, signed, hugely negative), so the
/// same bound serves unsigned and signed readings; a signed reading is plausible only where it is
/// small whichever way it is read.
pub fn plausible_integer(x: f64) -> bool {
    x.abs() <= PLAUSIBLE_MAX
}

fn order_name<S: Serializer>(order: &WordOrder, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(order.name())
}

fn decimal<T: fmt::Display, S: Serializer>(
    reading: &Reading<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    Reading {
        value: reading.value.to_string(),
        plausible: reading.plausible,
    }
    .serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_registers;
    use plantwatch_core::{Table, Tag, Value, ValueType};

    /// The float 123456.0 of domain.md, in each of its four layouts, reads 123456.0 in that order.
    #[test]
    fn the_domain_float_reads_right_in_its_own_order() {
        for (regs, order) in [
            ([0x47F1, 0x2000], WordOrder::Abcd),
            ([0x2000, 0x47F1], WordOrder::Cdab),
            ([0xF147, 0x0020], WordOrder::Badc),
            ([0x0020, 0xF147], WordOrder::Dcba),
        ] {
            let window = decode_window(100, &regs);
            assert_eq!(window.len(), 2);
            assert_eq!(window[1].address, 101);
            assert!(window[1].pairs.is_empty(), "one register left: no pair");
            let pair = window[0]
                .pairs
                .iter()
                .find(|p| p.order == order)
                .expect("every order decoded");
            assert_eq!(pair.f32.value, 123456.0, "{order}");
            assert!(pair.f32.plausible);
        }
    }

    /// The named orders are the tag decoder's: a tag configured in that order reads the same value.
    #[test]
    fn named_orders_agree_with_a_configured_tag() {
        let regs = [0x0123, 0x4567, 0x89AB, 0xCDEF];
        for order in RegisterOrder64::ALL {
            let quad = decode_quad(&regs, order);
            let Some(word_order) = order.word_order() else {
                continue;
            };
            let tag = Tag::new("t", Table::Holding, 0, ValueType::F64).with_order(word_order);
            let Ok(Value::Number(n)) = decode_registers(&tag, &regs) else {
                panic!("an f64 tag decodes to a number");
            };
            assert_eq!(n.to_bits(), quad.f64.value.to_bits(), "{order}");
        }
    }

    #[test]
    fn the_four_unnamed_orders_move_registers_as_their_names_say() {
        // Wire registers holding the big-endian bytes AB CD EF GH = 01 02 03 04 05 06 07 08.
        let value = 0x0102_0304_0506_0708u64;
        for (order, regs) in [
            (RegisterOrder64::Cdabghef, [0x0304, 0x0102, 0x0708, 0x0506]),
            (RegisterOrder64::Dcbahgfe, [0x0403, 0x0201, 0x0807, 0x0605]),
            (RegisterOrder64::Efghabcd, [0x0506, 0x0708, 0x0102, 0x0304]),
            (RegisterOrder64::Fehgbadc, [0x0605, 0x0807, 0x0201, 0x0403]),
        ] {
            assert_eq!(decode_quad(&regs, order).u64.value, value, "{order}");
            assert_eq!(order.word_order(), None);
        }
        assert_eq!(RegisterOrder64::Ghefcdab.to_string(), "GHEFCDAB (CDAB)");
        assert_eq!(RegisterOrder64::Efghabcd.to_string(), "EFGHABCD");
    }

    #[test]
    fn plausibility_marks_junk() {
        assert!(plausible_float(0.0));
        assert!(plausible_float(-42.5));
        assert!(!plausible_float(f64::NAN));
        assert!(!plausible_float(f64::INFINITY));
        assert!(!plausible_float(1e-7));
        assert!(!plausible_float(2e9));
        assert!(!plausible_float(f64::from_bits(1)), "a denormal");
        // An f32 denormal is a normal f64: the width's own rule applies.
        let denormal = decode_pair(&[0x0000, 0x0001], WordOrder::Abcd);
        assert!(!denormal.f32.plausible);
        assert!(denormal.u32.plausible, "1 is a fine integer");
        // 1000 in CDAB read as ABCD: 0x03E8_0000 = 65,536,000 still counts; -1 read as u32 does not.
        let minus_one = decode_pair(&[0xFFFF, 0xFFFF], WordOrder::Abcd);
        assert!(minus_one.i32.plausible && !minus_one.u32.plausible);
    }

    #[test]
    fn serializes_64_bit_integers_as_text_and_orders_by_name() {
        let window = decode_window(7, &[0xFFFF; 4]);
        let json = serde_json::to_value(&window[0]).expect("serializes");
        let quad = &json["quads"][1];
        assert_eq!(quad["order"]["pattern"], "GHEFCDAB");
        assert_eq!(quad["order"]["word_order"], "CDAB");
        assert_eq!(quad["u64"]["value"], "18446744073709551615");
        assert_eq!(quad["i64"]["value"], "-1");
        assert_eq!(json["pairs"][0]["order"], "ABCD");
        assert_eq!(
            json["quads"][4]["order"]["word_order"],
            serde_json::Value::Null
        );
    }
}
