//! A full, valid plant config maps to exactly the plant it describes, defaults included.

use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_core::{
    AlarmCondition, AlarmRule, AlarmSettings, Device, LimitKind, Link, Parity, Plant, Priority,
    SerialLine, SocketEndpoint, Table, Tag, ValueType, WordOrder,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A tag as the config gives it when only the required keys are written.
fn tag(id: &str, table: Table, address: u16, value_type: ValueType) -> Tag {
    let plain = Tag::new(id, table, address, value_type);
    assert_eq!(
        (
            plain.order,
            plain.scale(),
            plain.offset(),
            plain.deadband(),
            plain.heartbeat()
        ),
        (WordOrder::Abcd, 1.0, 0.0, 0.0, Duration::from_secs(60)),
        "the config's defaults are Tag::new's"
    );
    plain
}

/// A device as the config gives it when only the required keys are written.
fn device(id: &str, link: Link, unit: u8, tags: Vec<Tag>) -> Device {
    Device {
        id: id.to_string(),
        name: None,
        link,
        unit,
        poll_period: Duration::from_millis(1000),
        timeout: Duration::from_millis(1000),
        max_block: 125,
        max_gap: 16,
        tags,
    }
}

fn alarm(condition: AlarmCondition, priority: Priority) -> AlarmRule {
    AlarmRule {
        condition,
        priority,
        deadband: 0.0,
        on_delay: Duration::ZERO,
        off_delay: Duration::ZERO,
        message: None,
        message_zh: None,
    }
}

fn limit(kind: LimitKind, limit: f64) -> AlarmCondition {
    AlarmCondition::Limit { kind, limit }
}

fn usb0_19200_8e1() -> Link {
    Link::Rtu(SerialLine {
        path: "/dev/ttyUSB0".into(),
        baud: 19200,
        parity: Parity::Even,
        data_bits: 8,
        stop_bits: 1,
    })
}

fn expected_plant(config: &Path) -> Plant {
    let plc = Device {
        name: Some("Station PLC".into()),
        ..device(
            "plc",
            Link::Tcp(SocketEndpoint {
                host: "10.0.0.5".into(),
                port: 502,
            }),
            1,
            vec![
                tag("flow", Table::Input, 2, ValueType::F32)
                    .with_name("Discharge flow")
                    .with_order(WordOrder::Cdab)
                    .with_unit("L/s")
                    .with_deadband(0.5),
                tag("level", Table::Input, 0, ValueType::U16)
                    .with_name("Wet well level")
                    .with_scale(0.001)
                    .with_unit("m")
                    .with_alarms(vec![
                        alarm(limit(LimitKind::HiHi, 3.6), Priority::Critical),
                        AlarmRule {
                            deadband: 0.05,
                            on_delay: Duration::from_secs(5),
                            off_delay: Duration::from_secs(10),
                            ..alarm(limit(LimitKind::Hi, 3.2), Priority::High)
                        },
                        AlarmRule {
                            message: Some("Wet well nearly dry".into()),
                            ..alarm(limit(LimitKind::Lo, 0.5), Priority::Medium)
                        },
                    ]),
                tag("pump1_trip", Table::Discrete, 1, ValueType::Bool).with_alarms(vec![
                    AlarmRule {
                        message: Some("Pump 1 tripped".into()),
                        ..alarm(AlarmCondition::State { value: true }, Priority::High)
                    },
                ]),
                tag("pump1_start", Table::Coil, 0, ValueType::Bool),
                tag("door_open", Table::Holding, 40, ValueType::Bit(3)).with_alarms(vec![alarm(
                    AlarmCondition::State { value: true },
                    Priority::Low,
                )]),
                tag(
                    "serial_no",
                    Table::Holding,
                    100,
                    ValueType::String { registers: 4 },
                ),
                tag("run_hours", Table::Holding, 10, ValueType::U32)
                    .with_order(WordOrder::Dcba)
                    .with_heartbeat(Duration::from_millis(500)),
            ],
        )
    };
    let frequency = tag("frequency", Table::Holding, 3, ValueType::I16)
        .with_scale(0.01)
        .with_unit("Hz");
    let drive_11 = Device {
        max_block: 16,
        poll_period: Duration::from_millis(500),
        ..device(
            "drive-11",
            usb0_19200_8e1(),
            11,
            vec![frequency.clone().with_alarms(vec![
                alarm(limit(LimitKind::LoLo, 30.0), Priority::Medium),
                alarm(limit(LimitKind::Lo, 35.0), Priority::Low),
            ])],
        )
    };
    let drive_12 = Device {
        max_block: 16,
        ..device("drive-12", usb0_19200_8e1(), 12, vec![frequency])
    };
    let meter = Device {
        timeout: Duration::from_millis(250),
        max_gap: 0,
        ..device(
            "meter",
            Link::RtuOverTcp(SocketEndpoint {
                host: "gateway.local".into(),
                port: 502,
            }),
            21,
            vec![tag("energy", Table::Input, 20, ValueType::U64)
                .with_order(WordOrder::Badc)
                .with_scale(0.1)
                .with_unit("kWh")],
        )
    };
    let lab_meter = device(
        "lab-meter",
        Link::Rtu(SerialLine {
            path: "/dev/ttyUSB1".into(),
            baud: 9600,
            parity: Parity::None,
            data_bits: 7,
            stop_bits: 2,
        }),
        247,
        Vec::new(),
    );
    Plant::new(
        "Lift station 4",
        config
            .parent()
            .expect("config has a folder")
            .join("lift4.db"),
        AlarmSettings {
            max_shelve: Duration::from_secs(3600),
        },
        vec![plc, drive_11, drive_12, meter, lab_meter],
        Some(config.to_path_buf()),
    )
}

#[test]
fn full_config_maps_to_the_plant_it_describes() {
    let config = data("full.toml");
    let plant = plantwatch_config::load(&config)
        .unwrap_or_else(|e| panic!("full.toml should be valid:\n{e}"));
    let expected = expected_plant(&config);
    // Compare device by device first, so a failure names the device that differs.
    for (got, want) in plant.devices.iter().zip(&expected.devices) {
        assert_eq!(got, want, "device {} differs", want.id);
    }
    assert_eq!(plant, expected);
}

#[test]
fn summary_counts_devices_tags_and_alarms() {
    let config = data("full.toml");
    let plant = plantwatch_config::load(&config)
        .unwrap_or_else(|e| panic!("full.toml should be valid:\n{e}"));
    let history = config
        .parent()
        .expect("config has a folder")
        .join("lift4.db");
    assert_eq!(
        plantwatch_config::summary(&plant),
        format!(
            "Lift station 4: 5 devices, 10 tags, 7 alarms, history {}",
            history.display()
        )
    );
}

#[test]
fn history_defaults_to_the_config_name_with_db_beside_it() {
    let plant = plantwatch_config::parse(
        "[plant]\nname = \"Minimal\"\n",
        Path::new("plants/minimal.toml"),
    )
    .unwrap_or_else(|e| panic!("a plant with only a name is valid:\n{e}"));
    assert_eq!(plant.history, Path::new("plants/minimal.db"));
    assert_eq!(plant.alarm_settings.max_shelve, Duration::from_secs(28_800));
    assert_eq!(
        plantwatch_config::summary(&plant),
        "Minimal: 0 devices, 0 tags, 0 alarms, history plants/minimal.db"
    );
}

#[test]
fn history_path_is_relative_to_the_config_folder() {
    let text = "[plant]\nname = \"P\"\n[history]\npath = \"../data/p.db\"\n";
    let plant = plantwatch_config::parse(text, Path::new("/srv/plants/p.toml"))
        .unwrap_or_else(|e| panic!("valid config:\n{e}"));
    assert_eq!(plant.history, Path::new("/srv/plants/../data/p.db"));
}

#[test]
fn unreadable_file_is_one_error_without_position() {
    let missing = Path::new("no/such/plant.toml");
    let errors = plantwatch_config::load(missing).expect_err("a missing file cannot load");
    assert_eq!(errors.len(), 1);
    let error = &errors.errors()[0];
    assert_eq!(error.kind, plantwatch_config::ConfigErrorKind::Read);
    assert_eq!(error.position, None);
    assert!(
        error
            .to_string()
            .starts_with("no/such/plant.toml: cannot read: "),
        "unexpected message: {error}"
    );
}
