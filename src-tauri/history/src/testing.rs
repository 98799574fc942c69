//! Plants for unit tests, built directly (the config parser is another crate's job).

use std::path::PathBuf;
use std::time::Duration;

use plantwatch_core::*;

/// A tag of the given type with plain settings.
pub fn tag(id: &str, value_type: ValueType, deadband: f64, heartbeat_s: u64) -> Tag {
    Tag {
        id: id.into(),
        name: None,
        table: Table::Holding,
        address: 0,
        value_type,
        order: WordOrder::Abcd,
        scale: 1.0,
        offset: 0.0,
        unit: None,
        deadband,
        heartbeat: Duration::from_secs(heartbeat_s),
        alarms: vec![],
    }
}

/// A plant with one TCP device per `(device id, tags)`.
pub fn plant(devices: Vec<(&str, Vec<Tag>)>) -> Plant {
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
        "test",
        PathBuf::from("test.db"),
        AlarmSettings::default(),
        devices,
        None,
    )
}
