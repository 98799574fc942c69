//! Registers and bits to engineering values, and back. Pure functions, no I/O.
//!
//! A register is big-endian on the wire. For types wider than one register the tag's [`WordOrder`]
//! says how the device laid the bytes out, named by the bytes of the big-endian form (see domain.md):
//! CDAB reverses the order of the registers, BADC swaps the two bytes inside every register, DCBA does
//! both (little-endian). The same rule covers 32-bit, 64-bit and string tags, so for a 64-bit value
//! CDAB is GHEFCDAB, as Telegraf spells it out.
//!
//! Numbers become `raw * scale + offset`. Booleans and strings are never scaled.

use std::io::Write as _;
use std::sync::Arc;

use plantwatch_core::{Tag, Value, ValueType, WordOrder};

/// Why registers could not become a value, or a value could not become registers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The caller passed a slice that does not match the tag's width.
    #[error("tag '{tag}' spans {expected} register(s), got {got}")]
    WrongLength {
        tag: String,
        expected: usize,
        got: usize,
    },
    /// `type = "bit"` with a bit number outside 0-15 (the config should have refused it).
    #[error("tag '{tag}': bit {bit} does not exist in a 16-bit register")]
    NoSuchBit { tag: String, bit: u8 },
    /// A write of a value whose kind does not fit the tag (text to a number, a number to a string).
    #[error("tag '{tag}' holds {expected}, cannot write {got}")]
    WrongKind {
        tag: String,
        expected: &'static str,
        got: &'static str,
    },
    /// A write whose raw value (after undoing the scaling) does not fit the tag's type.
    #[error("tag '{tag}': raw value {raw} does not fit a {value_type}")]
    OutOfRange {
        tag: String,
        raw: f64,
        value_type: &'static str,
    },
    /// A write of NaN or an infinity: no device setpoint means "not a number", and an f32 or f64
    /// register would store it as such.
    #[error("tag '{tag}': {value} is not a finite number")]
    NotFinite { tag: String, value: f64 },
    /// A `bit` tag encoded as a whole register: the other 15 bits would be overwritten. A bit is
    /// written with [`encode_bit`] and a mask write or a read-modify-write of its register.
    #[error("tag '{tag}' is one bit of a register; it is written by changing that bit alone")]
    BitOfRegister { tag: String },
    /// A write of a string longer than the tag's registers can hold.
    #[error("tag '{tag}': text of {len} bytes does not fit in {registers} register(s)")]
    TextTooLong {
        tag: String,
        len: usize,
        registers: u16,
    },
}

/// Decodes the registers of one tag (`regs.len()` must equal `tag.width()`) into its engineering value.
pub fn decode_registers(tag: &Tag, regs: &[u16]) -> Result<Value, DecodeError> {
    let expected = usize::from(tag.value_type.registers());
    if regs.len() != expected {
        return Err(DecodeError::WrongLength {
            tag: tag.id().to_string(),
            expected,
            got: regs.len(),
        });
    }
    let value = match tag.value_type {
        ValueType::Bool => Value::Bool(regs[0] != 0),
        ValueType::Bit(bit) => {
            if bit > 15 {
                return Err(DecodeError::NoSuchBit {
                    tag: tag.id().to_string(),
                    bit,
                });
            }
            Value::Bool(regs[0] >> bit & 1 == 1)
        }
        ValueType::U16 => scaled(tag, f64::from(regs[0])),
        ValueType::I16 => scaled(tag, f64::from(regs[0] as i16)),
        ValueType::U32 => scaled(
            tag,
            f64::from(u32::from_be_bytes(canonical(regs, tag.order))),
        ),
        ValueType::I32 => scaled(
            tag,
            f64::from(i32::from_be_bytes(canonical(regs, tag.order))),
        ),
        ValueType::F32 => scaled(
            tag,
            f32_as_f64(f32::from_be_bytes(canonical(regs, tag.order))),
        ),
        // Counters beyond 2^53 lose their last digits in an f64; no plant counter gets there.
        ValueType::U64 => scaled(tag, u64::from_be_bytes(canonical(regs, tag.order)) as f64),
        ValueType::I64 => scaled(tag, i64::from_be_bytes(canonical(regs, tag.order)) as f64),
        ValueType::F64 => scaled(tag, f64::from_be_bytes(canonical(regs, tag.order))),
        ValueType::String { .. } => Value::Text(text(regs, tag.order)),
    };
    Ok(value)
}

/// Decodes one coil or discrete input. Boolean tags give the bit itself; a numeric tag on a bit table
/// gives 0 or 1, scaled.
pub fn decode_bit(tag: &Tag, bit: bool) -> Value {
    match tag.value_type {
        ValueType::Bool | ValueType::Bit(_) | ValueType::String { .. } => Value::Bool(bit),
        _ => scaled(tag, if bit { 1.0 } else { 0.0 }),
    }
}

/// Encodes an engineering value into the registers a write of this tag sends: the inverse of
/// [`decode_registers`] (scaling undone, integers rounded to the nearest raw value).
///
/// NaN and infinities are refused, and so is a value whose raw form does not fit the type (70000 into
/// a u16). A `Bit` tag is refused too ([`DecodeError::BitOfRegister`]): writing its register whole
/// would clear the other 15 bits; see [`encode_bit`] and [`with_bit`].
pub fn encode_registers(tag: &Tag, value: &Value) -> Result<Vec<u16>, DecodeError> {
    let order = tag.order;
    let regs = match tag.value_type {
        ValueType::Bool => vec![u16::from(as_bool(tag, value)?)],
        ValueType::Bit(_) => {
            return Err(DecodeError::BitOfRegister {
                tag: tag.id().to_string(),
            })
        }
        ValueType::U16 => vec![raw_integer(tag, value, 0.0, f64::from(u16::MAX))? as u16],
        ValueType::I16 => {
            vec![raw_integer(tag, value, f64::from(i16::MIN), f64::from(i16::MAX))? as i16 as u16]
        }
        ValueType::U32 => {
            let raw = raw_integer(tag, value, 0.0, f64::from(u32::MAX))? as u32;
            from_canonical(&raw.to_be_bytes(), order)
        }
        ValueType::I32 => {
            let raw = raw_integer(tag, value, f64::from(i32::MIN), f64::from(i32::MAX))? as i32;
            from_canonical(&raw.to_be_bytes(), order)
        }
        ValueType::U64 => {
            // u64::MAX as f64 rounds up to 2^64, which no longer fits: stop just below it.
            let raw = raw_integer(tag, value, 0.0, 18_446_744_073_709_549_568.0)? as u64;
            from_canonical(&raw.to_be_bytes(), order)
        }
        ValueType::I64 => {
            let raw = raw_integer(tag, value, i64::MIN as f64, 9_223_372_036_854_774_784.0)? as i64;
            from_canonical(&raw.to_be_bytes(), order)
        }
        ValueType::F32 => {
            let raw = raw_number(tag, value)?;
            if raw.abs() > f64::from(f32::MAX) {
                return Err(DecodeError::OutOfRange {
                    tag: tag.id().to_string(),
                    raw,
                    value_type: "f32",
                });
            }
            from_canonical(&(raw as f32).to_be_bytes(), order)
        }
        ValueType::F64 => {
            let raw = raw_number(tag, value)?;
            // A tiny scale can push a finite engineering value past f64's range.
            if !raw.is_finite() {
                return Err(DecodeError::OutOfRange {
                    tag: tag.id().to_string(),
                    raw,
                    value_type: "f64",
                });
            }
            from_canonical(&raw.to_be_bytes(), order)
        }
        ValueType::String { registers } => {
            let Value::Text(text) = value else {
                return Err(wrong_kind(tag, "text", value));
            };
            let bytes = text.as_bytes();
            let capacity = usize::from(registers) * 2;
            if bytes.len() > capacity {
                return Err(DecodeError::TextTooLong {
                    tag: tag.id().to_string(),
                    len: bytes.len(),
                    registers: registers.into(),
                });
            }
            // Pad with NULs, which the decoder strips again.
            let mut padded = bytes.to_vec();
            padded.resize(capacity, 0);
            from_canonical(&padded, order)
        }
    };
    Ok(regs)
}

/// The state one coil, or one `bool` tag on a bit table, is written to: `true`/`false`, or the numbers
/// 1 and 0 (0.5 or -3 is more likely a slip of the hand than a wish to start a pump).
pub fn encode_coil(tag: &Tag, value: &Value) -> Result<bool, DecodeError> {
    as_bool(tag, value)
}

/// The bit number and state a write of a `bit` tag sets; the caller changes that bit alone.
pub fn encode_bit(tag: &Tag, value: &Value) -> Result<(u8, bool), DecodeError> {
    match tag.value_type {
        ValueType::Bit(bit) if bit <= 15 => Ok((bit, as_bool(tag, value)?)),
        ValueType::Bit(bit) => Err(DecodeError::NoSuchBit {
            tag: tag.id().to_string(),
            bit,
        }),
        _ => Err(wrong_kind(tag, "a register or coil", value)),
    }
}

/// `register` with bit `bit` set (`on`) or cleared, the other bits kept: the modify step of a
/// read-modify-write.
pub fn with_bit(register: u16, bit: u8, on: bool) -> u16 {
    let mask = 1u16 << (bit & 15);
    if on {
        register | mask
    } else {
        register & !mask
    }
}

/// The AND and OR masks of a Modbus mask write (FC 22) that set or clear bit `bit` alone: the device
/// computes `(current AND and_mask) OR (or_mask AND NOT and_mask)`.
pub fn bit_masks(bit: u8, on: bool) -> (u16, u16) {
    let mask = 1u16 << (bit & 15);
    (!mask, if on { mask } else { 0 })
}

/// The bytes of the value in big-endian (ABCD...) order, from registers laid out in `order`.
pub(crate) fn canonical<const N: usize>(regs: &[u16], order: WordOrder) -> [u8; N] {
    let mut bytes = [0u8; N];
    for (i, reg) in wire_order(regs, order).enumerate() {
        bytes[2 * i..2 * i + 2].copy_from_slice(&reg.to_be_bytes());
    }
    bytes
}

/// The registers, with register order and byte order undone so that reading them in sequence, high
/// byte first, gives the big-endian bytes.
fn wire_order(regs: &[u16], order: WordOrder) -> impl Iterator<Item = u16> + '_ {
    let reverse_registers = matches!(order, WordOrder::Cdab | WordOrder::Dcba);
    let swap_bytes = matches!(order, WordOrder::Badc | WordOrder::Dcba);
    let n = regs.len();
    (0..n).map(move |i| {
        let reg = if reverse_registers {
            regs[n - 1 - i]
        } else {
            regs[i]
        };
        if swap_bytes {
            reg.swap_bytes()
        } else {
            reg
        }
    })
}

/// The inverse of [`canonical`]: big-endian bytes (an even number of them) to registers in `order`.
fn from_canonical(bytes: &[u8], order: WordOrder) -> Vec<u16> {
    let big_endian: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    // Reversing registers and swapping bytes are each their own inverse.
    wire_order(&big_endian, order).collect()
}

fn text(regs: &[u16], order: WordOrder) -> Arc<str> {
    let mut bytes: Vec<u8> = wire_order(regs, order).flat_map(u16::to_be_bytes).collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Arc::from(String::from_utf8_lossy(&bytes).as_ref())
}

fn scaled(tag: &Tag, raw: f64) -> Value {
    Value::Number(raw * tag.scale() + tag.offset())
}

/// An f32 as the f64 with the same shortest decimal form, so that 1.1f32 reads 1.1 in exports and on
/// screen rather than 1.100000023841858.
fn f32_as_f64(raw: f32) -> f64 {
    if !raw.is_finite() {
        return f64::from(raw);
    }
    // Format into a stack buffer: this runs for every changed f32 sample, so no heap allocation.
    // The shortest form of an f32 is at most 16 bytes ("-1.1754944e-38"); 32 leaves room to spare.
    let mut buffer = [0u8; 32];
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    if write!(cursor, "{raw}").is_err() {
        return f64::from(raw);
    }
    let written = cursor.position() as usize;
    std::str::from_utf8(&buffer[..written])
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::from(raw))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Text(_) => "text",
    }
}

fn wrong_kind(tag: &Tag, expected: &'static str, value: &Value) -> DecodeError {
    DecodeError::WrongKind {
        tag: tag.id().to_string(),
        expected,
        got: kind(value),
    }
}

fn as_bool(tag: &Tag, value: &Value) -> Result<bool, DecodeError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if *n == 0.0 || *n == 1.0 => Ok(*n == 1.0),
        other => Err(wrong_kind(tag, "a boolean", other)),
    }
}

/// The raw number behind an engineering value: `(value - offset) / scale`.
fn raw_number(tag: &Tag, value: &Value) -> Result<f64, DecodeError> {
    let engineering = match value {
        Value::Number(n) => *n,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Text(_) => return Err(wrong_kind(tag, "a number", value)),
    };
    if !engineering.is_finite() {
        return Err(DecodeError::NotFinite {
            tag: tag.id().to_string(),
            value: engineering,
        });
    }
    if tag.scale() == 0.0 {
        return Err(DecodeError::OutOfRange {
            tag: tag.id().to_string(),
            raw: f64::NAN,
            value_type: tag.value_type.name(),
        });
    }
    Ok((engineering - tag.offset()) / tag.scale())
}

fn raw_integer(tag: &Tag, value: &Value, min: f64, max: f64) -> Result<f64, DecodeError> {
    let raw = raw_number(tag, value)?.round();
    if !raw.is_finite() || raw < min || raw > max {
        return Err(DecodeError::OutOfRange {
            tag: tag.id().to_string(),
            raw,
            value_type: tag.value_type.name(),
        });
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(value_type: ValueType, order: WordOrder) -> Tag {
        plantwatch_core::testing::tag("t", value_type).with_order(order)
    }

    #[test]
    fn the_float_123456_reads_the_same_in_all_four_orders() {
        // The reference layouts of domain.md.
        let layouts = [
            (WordOrder::Abcd, [0x47F1, 0x2000]),
            (WordOrder::Cdab, [0x2000, 0x47F1]),
            (WordOrder::Badc, [0xF147, 0x0020]),
            (WordOrder::Dcba, [0x0020, 0xF147]),
        ];
        for (order, regs) in layouts {
            let t = tag(ValueType::F32, order);
            assert_eq!(
                decode_registers(&t, &regs),
                Ok(Value::Number(123456.0)),
                "{}",
                order.name()
            );
            assert_eq!(
                encode_registers(&t, &Value::Number(123456.0)),
                Ok(regs.to_vec()),
                "{}",
                order.name()
            );
        }
    }

    #[test]
    fn strings_drop_trailing_nuls_and_scaling_applies_to_numbers_only() {
        let t = tag(ValueType::String { registers: 3 }, WordOrder::Abcd);
        assert_eq!(
            decode_registers(&t, &[0x4142, 0x4300, 0x0000]),
            Ok(Value::Text("ABC".into()))
        );
        let level = tag(ValueType::I16, WordOrder::Abcd)
            .with_scale(0.5)
            .with_offset(10.0);
        assert_eq!(decode_registers(&level, &[0xFFFE]), Ok(Value::Number(9.0)));
        assert_eq!(
            encode_registers(&level, &Value::Number(9.0)),
            Ok(vec![0xFFFE])
        );
    }

    #[test]
    fn nan_infinities_and_values_past_the_type_are_refused() {
        for value_type in [
            ValueType::U16,
            ValueType::I32,
            ValueType::F32,
            ValueType::F64,
        ] {
            let t = tag(value_type, WordOrder::Abcd);
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                assert!(
                    matches!(
                        encode_registers(&t, &Value::Number(bad)),
                        Err(DecodeError::NotFinite { .. })
                    ),
                    "{bad} into {}",
                    value_type.name()
                );
            }
        }
        let counts = tag(ValueType::U16, WordOrder::Abcd).with_scale(0.001);
        assert!(matches!(
            encode_registers(&counts, &Value::Number(70.0)),
            Err(DecodeError::OutOfRange { .. })
        ));
        assert!(matches!(
            encode_registers(&tag(ValueType::F32, WordOrder::Abcd), &Value::Number(1e39)),
            Err(DecodeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn a_bit_is_never_encoded_as_its_whole_register() {
        let t = tag(ValueType::Bit(3), WordOrder::Abcd);
        assert!(matches!(
            encode_registers(&t, &Value::Bool(true)),
            Err(DecodeError::BitOfRegister { .. })
        ));
        assert_eq!(encode_bit(&t, &Value::Bool(true)), Ok((3, true)));
        assert_eq!(with_bit(0xA5F0, 3, true), 0xA5F8);
        assert_eq!(with_bit(0xFFFF, 3, false), 0xFFF7);
        // What the device computes for a mask write (FC 22).
        let masked = |current: u16, (and, or): (u16, u16)| (current & and) | (or & !and);
        assert_eq!(masked(0xA5F0, bit_masks(3, true)), 0xA5F8);
        assert_eq!(masked(0xFFFF, bit_masks(3, false)), 0xFFF7);
    }

    #[test]
    fn strings_are_padded_with_nuls_in_every_order() {
        let t = tag(ValueType::String { registers: 3 }, WordOrder::Badc);
        let regs = encode_registers(&t, &Value::Text("ABC".into())).expect("fits");
        assert_eq!(regs, vec![0x4241, 0x0043, 0x0000]);
        assert_eq!(decode_registers(&t, &regs), Ok(Value::Text("ABC".into())));
        assert!(matches!(
            encode_registers(&t, &Value::Text("ABCDEFG".into())),
            Err(DecodeError::TextTooLong { .. })
        ));
    }

    #[test]
    fn a_slice_of_the_wrong_length_is_refused() {
        let t = tag(ValueType::U32, WordOrder::Abcd);
        assert!(matches!(
            decode_registers(&t, &[1]),
            Err(DecodeError::WrongLength {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }
}
