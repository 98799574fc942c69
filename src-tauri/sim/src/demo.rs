//! The demo plant: `assets/demo-plant.toml`, embedded, parsed with the public config parser.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use plantwatch_core::{Link, Plant, SocketEndpoint};

/// The text of `assets/demo-plant.toml`: the plant config matching the simulator's register map.
pub const DEMO_PLANT_TOML: &str = include_str!("../../../assets/demo-plant.toml");

/// The name the demo config is parsed under (its place in the repository).
const DEMO_PLANT_PATH: &str = "assets/demo-plant.toml";

/// The demo plant's process pictures, embedded like the config, each under the path its `[[screens]]`
/// entry resolves to (the config's folder joined with its `file`).
const DEMO_PICTURES: &[(&str, &str)] = &[(
    "assets/screens/station.svg",
    include_str!("../../../assets/screens/station.svg"),
)];

/// The embedded text of one of the demo plant's pictures, by the path its screen names; `None` for any
/// other file. The desktop shows the demo plant's screens from these, since an installed program has
/// no `assets/` folder beside it.
pub fn demo_picture(file: &Path) -> Option<&'static str> {
    DEMO_PICTURES
        .iter()
        .find(|(path, _)| Path::new(path) == file)
        .map(|(_, text)| *text)
}

/// The demo plant as the config parser reads it, unchanged: devices on the address in the file.
pub fn demo_plant_as_shipped() -> Plant {
    // The embedded file is checked by a unit test of this crate and by the config's own tests, so a
    // failure here is a bug in the build, not bad input.
    plantwatch_config::parse(DEMO_PLANT_TOML, Path::new(DEMO_PLANT_PATH))
        .unwrap_or_else(|errors| panic!("the embedded demo plant does not parse: {errors}"))
}

/// The demo plant with every device pointed at the simulator on `addr` (Modbus TCP), so the desktop
/// can monitor an in-process [`crate::SimServer`]. The history file is the file's `demo-plant.db`
/// (relative to `assets/`); callers set `Plant::history` to where they keep history, or use
/// [`demo_plant_with_history`].
pub fn demo_plant(addr: SocketAddr) -> Plant {
    let mut plant = demo_plant_as_shipped();
    let endpoint = SocketEndpoint {
        host: addr.ip().to_string(),
        port: addr.port(),
    };
    for device in &mut plant.devices {
        device.link = Link::Tcp(endpoint.clone());
    }
    plant
}

/// [`demo_plant`] with its history kept in `history`.
pub fn demo_plant_with_history(addr: SocketAddr, history: impl Into<PathBuf>) -> Plant {
    let mut plant = demo_plant(addr);
    plant.history = history.into();
    plant
}

/// Where the shipped demo config points its devices: the simulator's default listen address.
pub fn default_listen() -> Option<SocketAddr> {
    let plant = demo_plant_as_shipped();
    plant.devices.iter().find_map(|d| match &d.link {
        Link::Tcp(e) => format!("{}:{}", e.host, e.port).parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::{AlarmCondition, LimitKind, Table, ValueType, WordOrder};

    #[test]
    fn the_demo_plant_parses_and_points_at_the_simulator() {
        let addr: SocketAddr = "127.0.0.1:40123".parse().expect("address");
        let plant = demo_plant(addr);
        let ids: Vec<&str> = plant.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["plc", "drive1", "drive2", "meter"]);
        let units: Vec<u8> = plant.devices.iter().map(|d| d.unit).collect();
        assert_eq!(units, [1, 11, 12, 21]);
        for device in &plant.devices {
            assert_eq!(
                device.link,
                Link::Tcp(SocketEndpoint {
                    host: "127.0.0.1".into(),
                    port: 40123
                })
            );
        }
        let pictures: Vec<bool> = plant
            .screens
            .iter()
            .map(|s| demo_picture(&s.file).is_some())
            .collect();
        assert_eq!(pictures, [true], "the home screen's picture is embedded");
        assert_eq!(
            default_listen(),
            Some("127.0.0.1:5020".parse().expect("address"))
        );
    }

    #[test]
    fn the_demo_plant_carries_the_domain_alarm_limits() {
        let plant = demo_plant_with_history("127.0.0.1:1".parse().expect("address"), "/tmp/x.db");
        assert_eq!(plant.history, PathBuf::from("/tmp/x.db"));
        let level = plant
            .find_tag("plc/level")
            .and_then(|i| plant.tag(i))
            .expect("plc/level")
            .1;
        let limits: Vec<(LimitKind, f64)> = level
            .alarms()
            .iter()
            .filter_map(|a| match a.condition {
                AlarmCondition::Limit { kind, limit } => Some((kind, limit)),
                AlarmCondition::State { .. } => None,
            })
            .collect();
        assert_eq!(
            limits,
            [
                (LimitKind::HiHi, 3.6),
                (LimitKind::Hi, 3.2),
                (LimitKind::Lo, 0.5)
            ]
        );
        let flow = plant
            .find_tag("plc/flow")
            .and_then(|i| plant.tag(i))
            .expect("plc/flow")
            .1;
        assert_eq!(
            (flow.table, flow.value_type, flow.order),
            (Table::Input, ValueType::F32, WordOrder::Cdab)
        );
        let energy = plant
            .find_tag("meter/energy")
            .and_then(|i| plant.tag(i))
            .expect("meter/energy")
            .1;
        assert_eq!(energy.value_type, ValueType::U64);
    }
}
