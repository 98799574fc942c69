//! Support for the history tests and the ingest bench (`tests/tests/history.rs`,
//! `tests/benches/history_ingest.rs`, `src/bin/history_writer_child.rs`): plants built directly from
//! tag lists, and samples read from JSON lines.

use std::path::Path;
use std::sync::Arc;

use plantwatch_core::testing;
use plantwatch_core::*;

/// A tag with plain settings (see [`plantwatch_core::testing::tag`]) and a unit.
pub fn tag(id: &str, value_type: ValueType, unit: Option<&str>) -> Tag {
    let tag = testing::tag(id, value_type);
    match unit {
        Some(unit) => tag.with_unit(unit),
        None => tag,
    }
}

/// A plant with one plain TCP device per `(device id, tags)`, in that order.
pub fn plant(history: &Path, devices: Vec<(&str, Vec<Tag>)>) -> Plant {
    testing::plant("history test", history, devices)
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
