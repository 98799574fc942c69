//! `[northbound.sparkplug]` maps to the settings it describes; defaults and the plant-name node id.
//! The broken cases are in `tests/data/config/broken/sparkplug_*.toml` (checked by `plantwatch check`).

use std::path::{Path, PathBuf};

use plantwatch_core::{BrokerAddress, Role, SparkplugId};

fn shared_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/config")
        .join(name)
}

fn id(text: &str) -> SparkplugId {
    SparkplugId::new(text).expect("a valid id in the test")
}

#[test]
fn a_full_sparkplug_section_gives_every_setting() {
    let path = shared_data("valid/sparkplug.toml");
    let plant = plantwatch_config::load(&path).expect("the example is valid");
    let sp = plant.sparkplug.expect("the plant has a northbound");
    assert_eq!(
        sp.brokers,
        vec![
            BrokerAddress {
                tls: true,
                host: "a.example".into(),
                port: 8883
            },
            BrokerAddress {
                tls: true,
                host: "::1".into(),
                port: 8883
            },
        ],
        "brokers in failover order, mqtts' default port when none is given"
    );
    assert_eq!(sp.group, id("pumping"));
    assert_eq!(
        sp.node,
        id("Lift station 4"),
        "without 'node' the edge node id is the plant's name"
    );
    assert_eq!(sp.username.as_deref(), Some("lift4"));
    assert_eq!(sp.password_env.as_deref(), Some("PLANTWATCH_MQTT_PASSWORD"));
    let folder = path.parent().expect("a folder");
    assert_eq!(
        sp.tls.ca,
        Some(folder.join("sparkplug-ca.pem")),
        "relative to the plant file"
    );
    assert!(sp.tls.client.is_some());
    assert_eq!(sp.primary_host, Some(id("scada-host")));
    assert!(sp.commands);
    assert_eq!(sp.command_role, Role::Engineer);
}

#[test]
fn the_smallest_section_takes_safe_defaults() {
    let text = "[plant]\nname = \"p\"\n[northbound.sparkplug]\nbroker = \"mqtt://127.0.0.1:1884\"\ngroup = \"g\"\nnode = \"n\"\n";
    let plant = plantwatch_config::parse(text, Path::new("p.toml")).expect("valid");
    let sp = plant.sparkplug.expect("a northbound");
    assert_eq!(sp.brokers.len(), 1);
    assert_eq!(sp.node, id("n"));
    assert!(!sp.commands, "commands are off unless asked for");
    assert_eq!(sp.command_role, Role::Operator);
    assert_eq!(
        (sp.username, sp.password_env, sp.primary_host),
        (None, None, None)
    );
}

#[test]
fn a_plant_without_the_section_has_no_northbound() {
    let plant =
        plantwatch_config::parse("[plant]\nname = \"p\"\n", Path::new("p.toml")).expect("valid");
    assert_eq!(plant.sparkplug, None);
}
