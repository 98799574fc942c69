//! The payloads of the edge node's messages: births (node and device), data, deaths, and encoding.

use plantwatch_core::{Plant, Quality, TagIndex, Timestamp, Value};
use prost::Message;

use crate::metric::{birth_metric, set_data_metric, Reading};
use crate::proto::payload::{metric, Metric};
use crate::proto::{DataType, Payload};
use crate::seq::BdSeq;

/// The node metric that counts MQTT sessions (in NBIRTH and NDEATH).
pub const BD_SEQ: &str = "bdSeq";
/// The node metric a host writes `true` to, asking for a rebirth.
pub const REBIRTH: &str = "Node Control/Rebirth";

/// A tag's alias: its plant-wide index, unique within the node and the same in every session while
/// the plant file stays the same.
pub fn alias(tag: TagIndex) -> u64 {
    u64::from(tag.0)
}

fn ms(time: Timestamp) -> u64 {
    time.as_millis().max(0) as u64
}

fn bd_seq_metric(bd_seq: BdSeq, now: Timestamp) -> Metric {
    Metric {
        name: Some(BD_SEQ.to_string()),
        timestamp: Some(ms(now)),
        datatype: Some(DataType::UInt64 as u32),
        value: Some(metric::Value::LongValue(bd_seq.value())),
        ..Metric::default()
    }
}

/// NBIRTH: `bdSeq` and `Node Control/Rebirth`, seq 0.
pub fn node_birth(bd_seq: BdSeq, now: Timestamp) -> Payload {
    Payload {
        timestamp: Some(ms(now)),
        metrics: vec![
            bd_seq_metric(bd_seq, now),
            Metric {
                name: Some(REBIRTH.to_string()),
                timestamp: Some(ms(now)),
                datatype: Some(DataType::Boolean as u32),
                value: Some(metric::Value::BooleanValue(false)),
                ..Metric::default()
            },
        ],
        seq: Some(0),
        ..Payload::default()
    }
}

/// NDEATH (the MQTT will, and what a clean stop publishes): `bdSeq` only, no seq.
pub fn node_death(bd_seq: BdSeq, now: Timestamp) -> Payload {
    Payload {
        timestamp: Some(ms(now)),
        metrics: vec![bd_seq_metric(bd_seq, now)],
        ..Payload::default()
    }
}

/// A tag's latest reading, as a birth shows it.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub value: Option<Value>,
    pub quality: Quality,
    pub time: Option<Timestamp>,
}

/// DBIRTH of device `device` (index into `plant.devices`): every tag with its current reading
/// (`current[i]` is the device's i-th tag; a missing one is born null).
pub fn device_birth(
    plant: &Plant,
    device: usize,
    current: &[Current],
    now: Timestamp,
    seq: u64,
) -> Payload {
    let first = plant.first_tag_of(device).0;
    let tags = plant.devices.get(device).map_or(&[][..], |d| &d.tags[..]);
    let metrics = tags
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            let c = current.get(i);
            let quality = c.map_or(Quality::Bad(plantwatch_core::Cause::NoConnectionYet), |c| {
                c.quality
            });
            let reading = Reading {
                value: c.and_then(|c| c.value.as_ref()),
                quality,
                time: c.and_then(|c| c.time).unwrap_or(now),
            };
            birth_metric(tag, alias(TagIndex(first + i as u32)), reading)
        })
        .collect();
    Payload {
        timestamp: Some(ms(now)),
        metrics,
        seq: Some(seq),
        ..Payload::default()
    }
}

/// One sample to put in a DDATA.
#[derive(Debug, Clone)]
pub struct Stored<'a> {
    pub tag: TagIndex,
    pub value: Option<&'a Value>,
    pub quality: Quality,
    pub time: Timestamp,
}

/// DDATA of one device, encoded: its samples in the order given, by alias, historical when replayed.
///
/// The payload is written metric by metric (each by prost's generated encoder) instead of building a
/// `Payload` with a vector of every `Metric` first: a replay sends millions of metrics a second, and
/// that vector was most of its allocations. The bytes are exactly `Payload { timestamp, metrics, seq }`
/// encoded (fields in number order), as the round-trip test shows.
pub fn device_data<'a>(
    plant: &Plant,
    device: usize,
    samples: impl IntoIterator<Item = Stored<'a>>,
    historical: bool,
    now: Timestamp,
    seq: u64,
) -> Vec<u8> {
    use prost::encoding::{message, uint64};
    let samples = samples.into_iter();
    // A replayed metric (alias, timestamp, datatype, the historical flag, the value) takes about 20
    // bytes for an integer and 26 for a double: room for 32 a metric is one allocation, where room for
    // 24 grew (a copy of the message so far) for doubles.
    let mut out = Vec::with_capacity(32 + samples.size_hint().0 * 32);
    uint64::encode(PAYLOAD_TIMESTAMP, &ms(now), &mut out);
    let mut metric = Metric::default();
    for s in samples {
        // A tag of another device is not this message's (callers group by device).
        let Some(tag) = plant.tag_in(device, s.tag) else {
            continue;
        };
        let reading = Reading {
            value: s.value,
            quality: s.quality,
            time: s.time,
        };
        set_data_metric(&mut metric, tag, alias(s.tag), reading, historical);
        message::encode(PAYLOAD_METRICS, &metric, &mut out);
    }
    uint64::encode(PAYLOAD_SEQ, &seq, &mut out);
    out
}

/// Field numbers of `Payload` in sparkplug_b.proto (timestamp = 1, metrics = 2, seq = 3), for
/// [`device_data`]'s metric-by-metric encoding.
const PAYLOAD_TIMESTAMP: u32 = 1;
const PAYLOAD_METRICS: u32 = 2;
const PAYLOAD_SEQ: u32 = 3;

/// DDEATH: no metrics, the next seq.
pub fn device_death(now: Timestamp, seq: u64) -> Payload {
    Payload {
        timestamp: Some(ms(now)),
        seq: Some(seq),
        ..Payload::default()
    }
}

/// The protobuf bytes of a payload.
pub fn encode(payload: &Payload) -> Vec<u8> {
    payload.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::testing;
    use plantwatch_core::{Table, Tag, ValueType};
    use std::path::Path;

    fn plant() -> Plant {
        testing::plant(
            "p",
            Path::new("p.db"),
            vec![
                ("a", vec![Tag::new("x", Table::Holding, 0, ValueType::U16)]),
                (
                    "b",
                    vec![
                        Tag::new("y", Table::Holding, 0, ValueType::F32),
                        Tag::new("z", Table::Coil, 0, ValueType::Bool),
                    ],
                ),
            ],
        )
    }

    #[test]
    fn the_node_birth_carries_bd_seq_and_the_rebirth_control_with_seq_0() {
        let p = node_birth(BdSeq(7), Timestamp(100));
        assert_eq!(p.seq, Some(0));
        let names: Vec<_> = p.metrics.iter().filter_map(|m| m.name.as_deref()).collect();
        assert_eq!(names, [BD_SEQ, REBIRTH]);
        assert_eq!(p.metrics[0].value, Some(metric::Value::LongValue(7)));
        assert_eq!(p.metrics[0].datatype, Some(DataType::UInt64 as u32));
        let death = node_death(BdSeq(7), Timestamp(100));
        assert_eq!(death.seq, None, "NDEATH has no seq");
        assert_eq!(
            death.metrics[0].value,
            Some(metric::Value::LongValue(7)),
            "the same bdSeq"
        );
    }

    #[test]
    fn a_device_birth_holds_every_tag_with_aliases_after_the_devices_before_it() {
        let plant = plant();
        let current = [Current {
            value: Some(Value::Number(2.5)),
            quality: Quality::Good,
            time: Some(Timestamp(50)),
        }];
        let p = device_birth(&plant, 1, &current, Timestamp(60), 3);
        assert_eq!(p.seq, Some(3));
        let names: Vec<_> = p.metrics.iter().filter_map(|m| m.name.as_deref()).collect();
        assert_eq!(names, ["y", "z"]);
        let aliases: Vec<_> = p.metrics.iter().filter_map(|m| m.alias).collect();
        assert_eq!(aliases, [1, 2], "plant-wide tag indexes");
        assert_eq!(p.metrics[0].value, Some(metric::Value::FloatValue(2.5)));
        assert_eq!(p.metrics[1].is_null, Some(true), "no reading yet: null");
        assert_eq!(p.metrics[1].timestamp, Some(60));
    }

    #[test]
    fn data_payloads_round_trip_through_protobuf() {
        let plant = plant();
        let v = Value::Number(7.0);
        let bytes = device_data(
            &plant,
            0,
            [
                Stored {
                    tag: TagIndex(0),
                    value: Some(&v),
                    quality: Quality::Good,
                    time: Timestamp(10),
                },
                Stored {
                    tag: TagIndex(0),
                    value: None,
                    quality: Quality::Bad(plantwatch_core::Cause::CommLost),
                    time: Timestamp(11),
                },
            ],
            true,
            Timestamp(20),
            9,
        );
        let back = Payload::decode(bytes.as_slice()).expect("decodes");
        assert_eq!((back.timestamp, back.seq), (Some(20), Some(9)));
        assert_eq!(back.metrics.len(), 2);
        assert_eq!(
            encode(&back),
            bytes,
            "the same bytes as prost's encoding of the whole payload"
        );
        assert_eq!(back.metrics[0].is_historical, Some(true));
        assert_eq!(back.metrics[1].timestamp, Some(11));
        assert_eq!(back.metrics[0].value, Some(metric::Value::IntValue(7)));
    }
}
