//! One `[[devices.tags]]` entry: where a value lives on the device and how its registers become a value.

use std::ops::Range;
use std::time::Duration;

use plantwatch_core::{Table, Tag, ValueKind, ValueType, WordOrder};
use toml::de::DeTable;

use crate::alarm::read_alarms;
use crate::error::ConfigErrorKind;
use crate::fields::{At, Field, Report, Section};
use crate::ids::read_id;
use crate::write::read_write;

const TAG_KEYS: &[&str] = &[
    "id",
    "name",
    "name_zh",
    "table",
    "address",
    "type",
    "order",
    "bit",
    "length",
    "scale",
    "offset",
    "unit",
    "deadband",
    "heartbeat_s",
    "alarms",
    "write",
    "keep",
];

/// The words of one of core's vocabularies, as the `choice` reader takes them; the names are core's.
fn words<T: Copy, const N: usize>(
    all: [T; N],
    name: fn(T) -> &'static str,
) -> [(&'static str, T); N] {
    all.map(|item| (name(item), item))
}

/// The most registers a string tag may span (what one FC16 write can carry).
const MAX_STRING_REGISTERS: i64 = 123;

/// Heartbeat when the config gives none: store a sample at least once a minute.
const DEFAULT_HEARTBEAT: Duration = Tag::DEFAULT_HEARTBEAT;

/// A tag as read from the config: its id (for duplicate checks, even when the rest is wrong) and the
/// validated tag when everything about it was right.
pub(crate) struct ReadTag {
    pub id: Option<At<String>>,
    pub tag: Option<Tag>,
}

/// Reads and validates one tag of a device whose reads may ask for at most `max_block` registers
/// (`None` when the device's own `max_block` was invalid).
pub(crate) fn read_tag(
    table: &DeTable<'_>,
    span: Range<usize>,
    max_block: Option<u16>,
    report: &Report,
) -> ReadTag {
    let section = Section::open(table, span, "[[devices.tags]]", TAG_KEYS, report);

    let id = read_id(&section, "tag");
    let name = section.string("name").optional();
    let name_zh = section.string("name_zh").optional();
    let unit = section.string("unit").optional();
    let table_kind = section.required(
        "table",
        "one of coil, discrete, input, holding",
        section.choice("table", &words(Table::ALL, Table::name)),
    );
    let value_type = read_value_type(&section, table_kind.as_ref().map(|t| t.value));
    let address = section.integer("address", 0, 65535);
    let address = section.required("address", "0-based protocol address, 0 to 65535", address);
    let order = read_order(&section, value_type.as_ref().map(|t| t.value));

    if let (Some(table_kind), Some(value_type), Some(address)) =
        (&table_kind, &value_type, &address)
    {
        check_fits(&section, table_kind.value, value_type, address, max_block);
    }

    let numeric = value_type.as_ref().map(|t| is_numeric(t.value));
    let scale = number_only(&section, "scale", numeric)
        .check(report, |&s| {
            if s == 0.0 {
                Err("'scale' must not be 0".to_string())
            } else {
                Ok(())
            }
        })
        .or_default(1.0);
    let offset = number_only(&section, "offset", numeric).or_default(0.0);
    let deadband = number_only(&section, "deadband", numeric)
        .check(report, |&d| {
            if d < 0.0 {
                Err(format!("'deadband' must be 0 or more, not {d}"))
            } else {
                Ok(())
            }
        })
        .or_default(0.0);
    let heartbeat = section
        .seconds("heartbeat_s", true)
        .check(report, |&h| {
            // A tag keeps its heartbeat in a u32 of milliseconds (see `Tag`).
            if h > Tag::MAX_HEARTBEAT {
                Err(format!(
                    "'heartbeat_s' must be at most {} seconds (about 49 days), not {}",
                    Tag::MAX_HEARTBEAT.as_secs(),
                    h.as_secs_f64()
                ))
            } else {
                Ok(())
            }
        })
        .or_default(DEFAULT_HEARTBEAT);
    let alarms = read_alarms(&section, value_type.as_ref().map(|t| t.value));
    // How long this tag's raw samples are kept, when not the plant's `[history] keep`.
    let keep = section.duration("keep").optional();
    let write = read_write(
        &section,
        table_kind.as_ref().map(|t| t.value),
        value_type.as_ref().map(|t| t.value),
    );

    let tag = (|| {
        let mut tag = Tag::new(
            &id.as_ref()?.value,
            table_kind?.value,
            u16::try_from(address?.value).ok()?,
            value_type?.value,
        )
        .with_order(order?)
        .with_scale(scale?)
        .with_offset(offset?)
        .with_deadband(deadband?)
        .with_heartbeat(heartbeat?)
        .with_alarms(alarms?);
        if let Some(name) = name? {
            tag = tag.with_name(name);
        }
        if let Some(name_zh) = name_zh? {
            tag = tag.with_name_zh(name_zh);
        }
        if let Some(unit) = unit? {
            tag = tag.with_unit(unit);
        }
        if let Some(write) = write? {
            tag = tag.with_write(write);
        }
        if let Some(keep) = keep? {
            tag = tag.with_keep(keep);
        }
        Some(tag)
    })();
    ReadTag { id, tag }
}

/// The value type, with the bit or string length filled in. Bit tables hold only booleans.
fn read_value_type(section: &Section<'_, '_>, table: Option<Table>) -> Option<At<ValueType>> {
    let report = section.report();
    let word = section.choice("type", &words(ValueKind::ALL, ValueKind::name));
    let bit = section.integer("bit", 0, 15);
    let length = section.integer("length", 1, MAX_STRING_REGISTERS);

    let word = match (table, word) {
        (Some(table), Field::Absent) if table.is_bits() => {
            // The position of a defaulted type is the tag itself, for the later width checks.
            Some(At {
                value: ValueKind::Bool,
                span: section.span.clone(),
            })
        }
        (Some(table), Field::Present(at)) if table.is_bits() && at.value != ValueKind::Bool => {
            report.add(
                at.span,
                ConfigErrorKind::Conflict,
                format!(
                    "'type' must be bool on a {} table (it holds single bits), not {}",
                    table.name(),
                    at.value.name()
                ),
            );
            None
        }
        (Some(table), Field::Absent) => {
            section.missing(
                "type",
                &format!(
                    "{} registers need one of bool, u16, i16, u32, i32, u64, i64, f32, f64, bit, string",
                    table.name()
                ),
            );
            None
        }
        (_, Field::Present(at)) => Some(at),
        _ => None,
    };

    // `bit` and `length` belong to exactly one type each; say so whichever way round it is wrong.
    let is_bit = matches!(word.as_ref().map(|w| w.value), Some(ValueKind::Bit));
    let is_string = matches!(word.as_ref().map(|w| w.value), Some(ValueKind::String));
    if word.is_some() && !is_bit {
        section.forbid("bit", "applies only to type = \"bit\"");
    }
    if word.is_some() && !is_string {
        section.forbid("length", "applies only to type = \"string\"");
    }
    let word = word?;
    match word.value {
        ValueKind::Bit => {
            let bit =
                section.required("bit", "type = \"bit\" needs the bit number, 0 to 15", bit)?;
            Some(At {
                value: ValueType::Bit(u8::try_from(bit.value).ok()?),
                span: word.span,
            })
        }
        ValueKind::String => {
            let length = section.required(
                "length",
                &format!(
                    "type = \"string\" needs its length in registers, 1 to {MAX_STRING_REGISTERS}"
                ),
                length,
            )?;
            let registers = u8::try_from(length.value).ok()?;
            Some(At {
                value: ValueType::String { registers },
                span: word.span,
            })
        }
        kind => Some(At {
            value: kind.plain_type()?,
            span: word.span,
        }),
    }
}

/// The register order, allowed only on types wider than one register.
fn read_order(section: &Section<'_, '_>, value_type: Option<ValueType>) -> Option<WordOrder> {
    let order = section.choice("order", &words(WordOrder::ALL, WordOrder::name));
    match (value_type, &order) {
        (Some(t), Field::Present(at)) if !is_multi_register_number(t) => {
            section.report().add(
                at.span.clone(),
                ConfigErrorKind::Conflict,
                format!(
                    "'order' applies only to types wider than one register (u32, i32, f32, u64, i64, f64), not {}",
                    t.name()
                ),
            );
            None
        }
        _ => order.or_default(WordOrder::Abcd),
    }
}

/// The tag's registers must lie inside the address space and fit in one read of the device.
fn check_fits(
    section: &Section<'_, '_>,
    table: Table,
    value_type: &At<ValueType>,
    address: &At<i64>,
    max_block: Option<u16>,
) {
    let width = if table.is_bits() {
        1
    } else {
        i64::from(value_type.value.registers())
    };
    let last = address.value + width - 1;
    if last > 65535 {
        section.report().add(
            address.span.clone(),
            ConfigErrorKind::BadValue,
            format!(
                "the {} at address {} would span registers {} to {}, past the last address 65535",
                value_type.value.name(),
                address.value,
                address.value,
                last
            ),
        );
    }
    if let Some(max_block) = max_block {
        if !table.is_bits() && width > i64::from(max_block) {
            section.report().add(
                value_type.span.clone(),
                ConfigErrorKind::Conflict,
                format!(
                    "the {} spans {width} registers, more than the device's max_block ({max_block}) allows in one read",
                    value_type.value.name()
                ),
            );
        }
    }
}

/// `scale`, `offset` and `deadband` work on numbers; on booleans and strings they are a mistake.
fn number_only(section: &Section<'_, '_>, key: &str, numeric: Option<bool>) -> Field<f64> {
    let field = section.number(key);
    if numeric == Some(false) {
        if let Some(at) = field.at() {
            section.report().add(
                at.span.clone(),
                ConfigErrorKind::Conflict,
                format!("'{key}' applies only to numeric types (u16 to f64)"),
            );
            return Field::Invalid;
        }
    }
    field
}

/// Integer and float types: what scaling, deadbands and limit alarms apply to.
pub(crate) fn is_numeric(t: ValueType) -> bool {
    matches!(
        t,
        ValueType::U16
            | ValueType::I16
            | ValueType::U32
            | ValueType::I32
            | ValueType::U64
            | ValueType::I64
            | ValueType::F32
            | ValueType::F64
    )
}

fn is_multi_register_number(t: ValueType) -> bool {
    is_numeric(t) && t.registers() > 1
}
