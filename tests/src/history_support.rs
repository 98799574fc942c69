//! Support for the history tests and the ingest bench (`tests/tests/history.rs`,
//! `tests/benches/history_ingest.rs`, `src/bin/history_writer_child.rs`): plants built directly from
//! tag lists, and samples read from JSON lines.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::*;

/// A tag with plain settings (no deadband, 60 s heartbeat, holding register 0).
pub fn tag(id: &str, value_type: ValueType, unit: Option<&str>) -> Tag {
    Tag {
        id: id.into(),
        name: None,
        table: Table::Holding,
        address: 0,
        value_type,
        order: WordOrder::Abcd,
        scale: 1.0,
        offset: 0.0,
        unit: unit.map(String::from),
        deadband: 0.0,
        heartbeat: Duration::from_secs(60),
        alarms: vec![],
    }
}

/// A plant with one TCP device per `(device id, tags)`, in that order.
pub fn plant(history: &Path, devices: Vec<(&str, Vec<Tag>)>) -> Plant {
    let devices = devices
        .into_iter()
        .map(|(id, tags)| Device {
            id: id.into(),
            name: None,
            link: Link::Tcp(SocketEndpoint {
                host: "127.0.0.1".into(),
                port: 502,
            }),
            unit: 1,
            poll_period: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            max_block: 125,
            max_gap: 16,
            tags,
        })
        .collect();
    Plant::new(
        "history test",
        PathBuf::from(history),
        AlarmSettings::default(),
        devices,
        None,
    )
}

/// `devices` devices `dev000`.. with `tags_each` f64 tags `t0000`.. each (for load tests).
pub fn numeric_plant(history: &Path, devices: usize, tags_each: usize) -> Plant {
    let ids: Vec<String> = (0..devices).map(|d| format!("dev{d:03}")).collect();
    let devices = ids
        .iter()
        .map(|id| {
            (
                id.as_str(),
                (0..tags_each)
                    .map(|t| tag(&format!("t{t:04}"), ValueType::F64, None))
                    .collect(),
            )
        })
        .collect();
    plant(history, devices)
}

/// Reads samples from JSON lines `{"tag": "dev/tag", "time": RFC 3339, "value": number|bool|string|null,
/// "quality": "good"|"bad:CAUSE"|"uncertain:CAUSE"}` (other keys, such as "note", are ignored), in file
/// order. Panics with the line number on anything malformed: this is test data.
pub fn samples_from_jsonl(plant: &Plant, text: &str) -> Vec<Sample> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let at = |what: &str| format!("samples line {}: {what}", n + 1);
            let row: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}", at(&e.to_string())));
            let tag_id = row["tag"]
                .as_str()
                .unwrap_or_else(|| panic!("{}", at("no tag")));
            let tag = plant
                .find_tag(tag_id)
                .unwrap_or_else(|| panic!("{}", at("tag not in the plant")));
            let time = row["time"]
                .as_str()
                .unwrap_or_else(|| panic!("{}", at("no time")));
            let time =
                parse_time(time, Timestamp(0)).unwrap_or_else(|e| panic!("{}", at(&e.to_string())));
            let value = match &row["value"] {
                serde_json::Value::Null => None,
                serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
                serde_json::Value::Number(n) => Some(Value::Number(
                    n.as_f64().unwrap_or_else(|| panic!("{}", at("number"))),
                )),
                serde_json::Value::String(s) => Some(Value::Text(Arc::from(s.as_str()))),
                other => panic!("{}", at(&format!("unexpected value {other}"))),
            };
            let quality = row["quality"]
                .as_str()
                .and_then(Quality::parse)
                .unwrap_or_else(|| panic!("{}", at("quality")));
            Sample {
                tag,
                time,
                value,
                quality,
            }
        })
        .collect()
}
