//! Tags as Sparkplug metrics: the datatype a tag publishes, its value on the wire, the quality code,
//! and the metrics of births and data messages.

use plantwatch_core::{Quality, Tag, Timestamp, Value, ValueType};

use crate::proto::payload::{metric, property_value, Metric, PropertySet, PropertyValue};
use crate::proto::DataType;

/// The `quality` property of a good value (after OPC DA, as Sparkplug hosts read it).
pub const QUALITY_GOOD: i32 = 192;
/// The `quality` property of an uncertain value (stale: the last usable value, older than it should be).
pub const QUALITY_UNCERTAIN: i32 = 64;
/// The `quality` property of a bad reading (no value to trust).
pub const QUALITY_BAD: i32 = 0;

/// The datatype a tag publishes. The engine's value of a tag with a scale or offset is a real number
/// (what `plantwatch export` prints), so such a tag is a Double whatever its registers hold; an
/// unscaled tag keeps its register type.
pub fn datatype(tag: &Tag) -> DataType {
    match tag.value_type {
        ValueType::Bool | ValueType::Bit(_) => DataType::Boolean,
        ValueType::String { .. } => DataType::String,
        _ if !tag.is_unscaled() => DataType::Double,
        ValueType::U16 => DataType::UInt16,
        ValueType::I16 => DataType::Int16,
        ValueType::U32 => DataType::UInt32,
        ValueType::I32 => DataType::Int32,
        ValueType::U64 => DataType::UInt64,
        ValueType::I64 => DataType::Int64,
        ValueType::F32 => DataType::Float,
        ValueType::F64 => DataType::Double,
    }
}

/// The Sparkplug quality code of a sample.
pub fn quality_code(quality: Quality) -> i32 {
    match quality {
        Quality::Good => QUALITY_GOOD,
        Quality::Uncertain(_) => QUALITY_UNCERTAIN,
        Quality::Bad(_) => QUALITY_BAD,
    }
}

/// A value as the oneof field of its datatype. Signed integers of 32 bits or fewer travel in
/// `int_value` as their two's complement, 64-bit ones in `long_value` (the specification's rule).
/// `None` when the value does not fit the datatype (never for the engine's values of the tag).
pub fn wire_value(value: &Value, datatype: DataType) -> Option<metric::Value> {
    use metric::Value as W;
    Some(match (datatype, value) {
        (DataType::Boolean, Value::Bool(b)) => W::BooleanValue(*b),
        (DataType::String, Value::Text(t)) => W::StringValue(t.to_string()),
        (DataType::Double, v) => W::DoubleValue(v.as_f64()?),
        (DataType::Float, v) => W::FloatValue(v.as_f64()? as f32),
        (DataType::UInt16 | DataType::UInt32, Value::Number(n)) => W::IntValue(*n as u32),
        (DataType::Int16 | DataType::Int32, Value::Number(n)) => W::IntValue(*n as i32 as u32),
        (DataType::UInt64, Value::Number(n)) => W::LongValue(*n as u64),
        (DataType::Int64, Value::Number(n)) => W::LongValue(*n as i64 as u64),
        _ => return None,
    })
}

/// A command's value as the engine's [`Value`]: booleans stay booleans, numbers become numbers (read
/// with the metric's datatype, or the tag's when the command gives none), text stays text.
pub fn value_of_command(value: &metric::Value, datatype: DataType) -> Option<Value> {
    use metric::Value as W;
    Some(match value {
        W::BooleanValue(b) => Value::Bool(*b),
        W::IntValue(n) => match datatype {
            DataType::Int8 | DataType::Int16 | DataType::Int32 => {
                Value::Number(f64::from(*n as i32))
            }
            _ => Value::Number(f64::from(*n)),
        },
        W::LongValue(n) => match datatype {
            DataType::Int64 => Value::Number(*n as i64 as f64),
            _ => Value::Number(*n as f64),
        },
        W::FloatValue(f) => Value::Number(f64::from(*f)),
        W::DoubleValue(f) => Value::Number(*f),
        W::StringValue(s) => Value::Text(s.as_str().into()),
        _ => return None,
    })
}

/// One property of a birth metric.
fn property(datatype: DataType, value: property_value::Value) -> PropertyValue {
    PropertyValue {
        r#type: Some(datatype as u32),
        is_null: None,
        value: Some(value),
    }
}

fn quality_property(quality: Quality) -> (String, PropertyValue) {
    (
        "quality".to_string(),
        property(
            DataType::Int32,
            property_value::Value::IntValue(quality_code(quality) as u32),
        ),
    )
}

fn property_set(entries: Vec<(String, PropertyValue)>) -> PropertySet {
    let (keys, values) = entries.into_iter().unzip();
    PropertySet { keys, values }
}

/// A reading to publish: its value if it has one, its quality and time.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    pub value: Option<&'a Value>,
    pub quality: Quality,
    pub time: Timestamp,
}

/// The value part of a metric: the value, or `is_null` when the reading is bad or has none. A good
/// value carries no properties; any other carries its `quality`.
fn set_reading(
    metric: &mut Metric,
    reading: Reading<'_>,
    datatype: DataType,
    properties: &mut Vec<(String, PropertyValue)>,
) {
    let value = match reading.quality {
        Quality::Bad(_) => None,
        _ => reading.value.and_then(|v| wire_value(v, datatype)),
    };
    match value {
        Some(v) => metric.value = Some(v),
        None => metric.is_null = Some(true),
    }
    if !reading.quality.is_good() || metric.is_null == Some(true) {
        properties.push(quality_property(
            if metric.is_null == Some(true) && reading.quality.is_good() {
                // A good sample without a value cannot be trusted either.
                Quality::Bad(plantwatch_core::Cause::NoConnectionYet)
            } else {
                reading.quality
            },
        ));
    }
}

/// A tag's metric in a DBIRTH: name, alias, datatype, current reading and its properties (`engUnit`,
/// `writable`, `writeMin`/`writeMax` and always `quality`).
pub fn birth_metric(tag: &Tag, alias: u64, reading: Reading<'_>) -> Metric {
    let datatype = datatype(tag);
    let mut metric = Metric {
        name: Some(tag.id().to_string()),
        alias: Some(alias),
        timestamp: Some(reading.time.as_millis().max(0) as u64),
        datatype: Some(datatype as u32),
        ..Metric::default()
    };
    let mut properties = Vec::new();
    if let Some(unit) = tag.unit() {
        properties.push((
            "engUnit".to_string(),
            property(
                DataType::String,
                property_value::Value::StringValue(unit.to_string()),
            ),
        ));
    }
    let write = tag.write_spec();
    properties.push((
        "writable".to_string(),
        property(
            DataType::Boolean,
            property_value::Value::BooleanValue(write.is_some()),
        ),
    ));
    if let Some(min) = write.and_then(|w| w.min) {
        properties.push((
            "writeMin".to_string(),
            property(DataType::Double, property_value::Value::DoubleValue(min)),
        ));
    }
    if let Some(max) = write.and_then(|w| w.max) {
        properties.push((
            "writeMax".to_string(),
            property(DataType::Double, property_value::Value::DoubleValue(max)),
        ));
    }
    let mut quality = Vec::new();
    set_reading(&mut metric, reading, datatype, &mut quality);
    if quality.is_empty() {
        quality.push(quality_property(Quality::Good));
    }
    properties.extend(quality);
    metric.properties = Some(property_set(properties));
    metric
}

/// A stored sample's metric in a DDATA: alias (no name), datatype, time, the value or `is_null` with
/// its `quality`, and `is_historical` when replayed from the history.
pub fn data_metric(tag: &Tag, alias: u64, reading: Reading<'_>, historical: bool) -> Metric {
    let mut metric = Metric::default();
    set_data_metric(&mut metric, tag, alias, reading, historical);
    metric
}

/// Makes `metric` (a [`data_metric`] before, or a default one) the [`data_metric`] of a sample: a device
/// message of a replay encodes a thousand metrics, each in the one `Metric` it reuses.
pub fn set_data_metric(
    metric: &mut Metric,
    tag: &Tag,
    alias: u64,
    reading: Reading<'_>,
    historical: bool,
) {
    let datatype = datatype(tag);
    metric.alias = Some(alias);
    metric.timestamp = Some(reading.time.as_millis().max(0) as u64);
    metric.datatype = Some(datatype as u32);
    metric.is_historical = historical.then_some(true);
    metric.value = None;
    metric.is_null = None;
    metric.properties = None;
    let mut properties = Vec::new();
    set_reading(metric, reading, datatype, &mut properties);
    if !properties.is_empty() {
        metric.properties = Some(property_set(properties));
    }
}

/// The value of a named property of a metric, if it has it (for tests and the check's report).
pub fn property_of<'m>(metric: &'m Metric, key: &str) -> Option<&'m property_value::Value> {
    let set = metric.properties.as_ref()?;
    let i = set.keys.iter().position(|k| k == key)?;
    set.values.get(i)?.value.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::{Cause, Role, Table, WriteSpec};

    fn tag(value_type: ValueType) -> Tag {
        Tag::new("t", Table::Holding, 0, value_type)
    }

    #[test]
    fn datatypes_follow_the_tag_type_and_scaled_tags_are_doubles() {
        let cases = [
            (ValueType::Bool, DataType::Boolean),
            (ValueType::Bit(3), DataType::Boolean),
            (ValueType::U16, DataType::UInt16),
            (ValueType::I16, DataType::Int16),
            (ValueType::U32, DataType::UInt32),
            (ValueType::I32, DataType::Int32),
            (ValueType::U64, DataType::UInt64),
            (ValueType::I64, DataType::Int64),
            (ValueType::F32, DataType::Float),
            (ValueType::F64, DataType::Double),
            (ValueType::String { registers: 4 }, DataType::String),
        ];
        for (value_type, expected) in cases {
            assert_eq!(datatype(&tag(value_type)), expected, "{value_type:?}");
        }
        assert_eq!(
            datatype(&tag(ValueType::U16).with_scale(0.1)),
            DataType::Double
        );
        assert_eq!(
            datatype(&tag(ValueType::I16).with_offset(-40.0)),
            DataType::Double
        );
        assert_eq!(
            datatype(&Tag::new("c", Table::Coil, 0, ValueType::Bool)),
            DataType::Boolean
        );
    }

    #[test]
    fn signed_integers_travel_as_twos_complement() {
        use metric::Value as W;
        assert_eq!(
            wire_value(&Value::Number(-5.0), DataType::Int16),
            Some(W::IntValue(0xFFFF_FFFB))
        );
        assert_eq!(
            wire_value(&Value::Number(-5.0), DataType::Int64),
            Some(W::LongValue(u64::MAX - 4))
        );
        assert_eq!(
            value_of_command(&W::IntValue(0xFFFF_FFFB), DataType::Int16),
            Some(Value::Number(-5.0)),
            "and come back"
        );
        assert_eq!(wire_value(&Value::Text("x".into()), DataType::UInt16), None);
    }

    #[test]
    fn a_birth_metric_has_name_alias_value_and_properties() {
        let t = tag(ValueType::F32).with_unit("m").with_write(WriteSpec {
            role: Role::Operator,
            min: Some(0.0),
            max: Some(5.0),
            confirm: None,
            pulse_ms: None,
        });
        let value = Value::Number(1.5);
        let m = birth_metric(
            &t,
            7,
            Reading {
                value: Some(&value),
                quality: Quality::Good,
                time: Timestamp(1000),
            },
        );
        assert_eq!(m.name.as_deref(), Some("t"));
        assert_eq!(
            (m.alias, m.timestamp, m.datatype),
            (Some(7), Some(1000), Some(9))
        );
        assert_eq!(m.value, Some(metric::Value::FloatValue(1.5)));
        use property_value::Value as P;
        assert_eq!(
            property_of(&m, "engUnit"),
            Some(&P::StringValue("m".into()))
        );
        assert_eq!(property_of(&m, "writable"), Some(&P::BooleanValue(true)));
        assert_eq!(property_of(&m, "writeMin"), Some(&P::DoubleValue(0.0)));
        assert_eq!(property_of(&m, "writeMax"), Some(&P::DoubleValue(5.0)));
        assert_eq!(property_of(&m, "quality"), Some(&P::IntValue(192)));
    }

    #[test]
    fn a_read_only_tag_without_a_unit_or_reading_is_born_null_and_bad() {
        let m = birth_metric(
            &tag(ValueType::U16),
            0,
            Reading {
                value: None,
                quality: Quality::Bad(Cause::NoConnectionYet),
                time: Timestamp(5),
            },
        );
        use property_value::Value as P;
        assert_eq!((m.is_null, m.value.as_ref()), (Some(true), None));
        assert_eq!(property_of(&m, "engUnit"), None);
        assert_eq!(property_of(&m, "writable"), Some(&P::BooleanValue(false)));
        assert_eq!(property_of(&m, "quality"), Some(&P::IntValue(0)));
    }

    #[test]
    fn data_metrics_carry_alias_only_and_quality_when_not_good() {
        let t = tag(ValueType::U16);
        let v = Value::Number(42.0);
        let good = data_metric(
            &t,
            3,
            Reading {
                value: Some(&v),
                quality: Quality::Good,
                time: Timestamp(9),
            },
            false,
        );
        assert_eq!(
            (good.name.as_ref(), good.alias, good.datatype),
            (None, Some(3), Some(6))
        );
        assert_eq!(good.value, Some(metric::Value::IntValue(42)));
        assert_eq!(
            (good.properties.as_ref(), good.is_historical, good.is_null),
            (None, None, None)
        );

        let bad = data_metric(
            &t,
            3,
            Reading {
                value: Some(&v),
                quality: Quality::Bad(Cause::CommLost),
                time: Timestamp(9),
            },
            true,
        );
        assert_eq!(
            (bad.is_null, bad.value.as_ref(), bad.is_historical),
            (Some(true), None, Some(true))
        );
        assert_eq!(
            property_of(&bad, "quality"),
            Some(&property_value::Value::IntValue(0))
        );

        let stale = data_metric(
            &t,
            3,
            Reading {
                value: Some(&v),
                quality: Quality::Uncertain(Cause::Stale),
                time: Timestamp(9),
            },
            false,
        );
        assert_eq!(
            stale.value,
            Some(metric::Value::IntValue(42)),
            "an uncertain value is kept"
        );
        assert_eq!(
            property_of(&stale, "quality"),
            Some(&property_value::Value::IntValue(64))
        );
    }
}
