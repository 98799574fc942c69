//! Plants for tests, built directly rather than parsed (parsing a config is the config crate's job),
//! and the word splitter of the text formats test data is written in.
//!
//! Only test code enables this module (feature `testing`, as a dev-dependency or in the system-test
//! crate). A test sets the fields it is about on top of these plain values, for example
//! `testing::tag("flow", ValueType::F32).with_deadband(0.5)`, so what it depends on stays in sight.

use std::path::Path;
use std::time::Duration;

use crate::{AlarmSettings, Device, Link, Plant, SocketEndpoint, Table, Tag, ValueType};

/// A tag with plain settings: holding register 0, word order ABCD, scale 1, offset 0, no unit, no
/// deadband, a 60 s heartbeat and no alarm rules.
pub fn tag(id: &str, value_type: ValueType) -> Tag {
    Tag::new(id, Table::Holding, 0, value_type)
}

/// A device with plain settings: unit 1 on Modbus TCP at 127.0.0.1:502, polled every second with a
/// 1 s timeout, blocks of up to 125 registers bridging gaps of up to 16.
pub fn device(id: &str, tags: Vec<Tag>) -> Device {
    Device {
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
    }
}

/// A plant with one [`device`] per `(device id, tags)`, in that order, and default alarm settings.
pub fn plant(name: &str, history: &Path, devices: Vec<(&str, Vec<Tag>)>) -> Plant {
    let devices = devices
        .into_iter()
        .map(|(id, tags)| device(id, tags))
        .collect();
    Plant::new(
        name,
        history.to_path_buf(),
        AlarmSettings::default(),
        devices,
        None,
    )
}

/// Splits a line of test data (an alarm script, a synthetic journal) into words: double quotes keep
/// spaces together (`comment="pump seal leak"`) and `""` inside them is a quote.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}
