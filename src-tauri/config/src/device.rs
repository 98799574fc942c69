//! One `[[devices]]` entry: how the device is reached (its link), how it is polled, and its tags.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use plantwatch_core::{Device, Link, Parity, SerialLine, SocketEndpoint};
use toml::de::DeTable;

use crate::error::ConfigErrorKind;
use crate::fields::{At, Field, Report, Section};
use crate::ids::read_id;
use crate::tag::read_tag;

const DEVICE_KEYS: &[&str] = &[
    "id",
    "name",
    "transport",
    "host",
    "port",
    "serial",
    "baud",
    "parity",
    "data_bits",
    "stop_bits",
    "unit",
    "poll_ms",
    "timeout_ms",
    "max_block",
    "max_gap",
    "tags",
];

const SOCKET_KEYS: &[&str] = &["host", "port"];
const SERIAL_KEYS: &[&str] = &["serial", "baud", "parity", "data_bits", "stop_bits"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Rtu,
    RtuOverTcp,
}

const TRANSPORTS: &[(&str, Transport)] = &[
    ("tcp", Transport::Tcp),
    ("rtu", Transport::Rtu),
    ("rtu-over-tcp", Transport::RtuOverTcp),
];

/// The config's words for a serial parity (also what a plant file edit writes).
pub(crate) const PARITIES: &[(&str, Parity)] = &[
    ("none", Parity::None),
    ("even", Parity::Even),
    ("odd", Parity::Odd),
];

/// The fastest poll: faster than this a device spends its time answering, not measuring.
const MIN_POLL_MS: i64 = 10;
/// The slowest poll, a day: a longer period is a typo, and the bound keeps deadline arithmetic small.
const MAX_POLL_MS: i64 = 86_400_000;
/// The longest wait for a reply, a minute: a device silent that long is down.
const MAX_TIMEOUT_MS: i64 = 60_000;

/// The most registers one FC3/FC4 read may ask for.
const PROTOCOL_MAX_BLOCK: i64 = 125;

/// A device as read from the config: its id (for the duplicate check even when the rest is wrong), where
/// its serial line and its transport are written (for the checks across devices sharing a port or a
/// gateway), and the validated device when all was right.
pub(crate) struct ReadDevice {
    pub id: Option<At<String>>,
    pub serial: Option<At<SerialLine>>,
    pub transport_span: Option<Range<usize>>,
    pub device: Option<Device>,
}

/// Reads and validates one device and its tags.
pub(crate) fn read_device(table: &DeTable<'_>, span: Range<usize>, report: &Report) -> ReadDevice {
    let section = Section::open(table, span, "[[devices]]", DEVICE_KEYS, report);

    let id = read_id(&section, "device");
    let name = section.string("name").optional();
    let transport = section.required(
        "transport",
        "one of tcp, rtu, rtu-over-tcp",
        section.choice("transport", TRANSPORTS),
    );
    let transport_span = transport.as_ref().map(|t| t.span.clone());
    let transport = transport.map(|t| t.value);
    let (link, serial) = read_link(&section, transport);
    let unit = read_unit(&section, transport);
    let poll_period = section
        .integer("poll_ms", MIN_POLL_MS, MAX_POLL_MS)
        .or_default(1000)
        .map(millis);
    let timeout = section
        .integer("timeout_ms", 1, MAX_TIMEOUT_MS)
        .or_default(1000)
        .map(millis);
    let max_block = section
        .integer("max_block", 1, PROTOCOL_MAX_BLOCK)
        .or_default(PROTOCOL_MAX_BLOCK);
    let max_gap = section.integer("max_gap", 0, 65535).or_default(16);
    let max_block = max_block.and_then(|m| u16::try_from(m).ok());
    let tags = read_tags(&section, max_block);

    let device = (|| {
        Some(Device {
            id: id.clone()?.value,
            name: name?,
            link: link?,
            unit: unit?,
            poll_period: poll_period?,
            timeout: timeout?,
            max_block: max_block?,
            max_gap: u16::try_from(max_gap?).ok()?,
            tags: tags?,
        })
    })();
    ReadDevice {
        id,
        serial,
        transport_span,
        device,
    }
}

/// The tags of a device, with tag ids unique within it.
fn read_tags(
    section: &Section<'_, '_>,
    max_block: Option<u16>,
) -> Option<Vec<plantwatch_core::Tag>> {
    let report = section.report();
    let tables = match section.tables("tags", "[[devices.tags]]") {
        Field::Absent => return Some(Vec::new()),
        Field::Invalid => return None,
        Field::Present(at) => at.value,
    };
    let mut tags = Vec::new();
    let mut all_valid = true;
    // Where each tag id was first written; a map, since a device may carry thousands of tags.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (table, span) in tables {
        let read = read_tag(table, span, max_block, report);
        if let Some(id) = &read.id {
            if let Some(&first) = seen.get(&id.value) {
                report.add(
                    id.span.clone(),
                    ConfigErrorKind::Duplicate,
                    format!(
                        "duplicate tag id '{}' in this device; the first is at line {}",
                        id.value,
                        report.line(first)
                    ),
                );
                all_valid = false;
            } else {
                seen.insert(id.value.clone(), id.span.start);
            }
        }
        match read.tag {
            Some(tag) => tags.push(tag),
            None => all_valid = false,
        }
    }
    all_valid.then_some(tags)
}

/// The link: host and port for TCP and RTU over TCP, the serial line for RTU. Keys of the other kind of
/// link are errors, since they would be silently ignored otherwise.
fn read_link(
    section: &Section<'_, '_>,
    transport: Option<Transport>,
) -> (Option<Link>, Option<At<SerialLine>>) {
    let report = section.report();
    let not_empty = |what: &'static str| {
        move |s: &String| {
            if s.trim().is_empty() {
                Err(format!("'{what}' must not be empty"))
            } else {
                Ok(())
            }
        }
    };
    let host = section.string("host").check(report, not_empty("host"));
    let port = section.integer("port", 1, 65535);
    let path = section.string("serial").check(report, not_empty("serial"));
    let baud = section.integer("baud", 300, 4_000_000);
    let parity = section.choice("parity", PARITIES);
    let data_bits = one_of(section, "data_bits", &[7, 8]);
    let stop_bits = one_of(section, "stop_bits", &[1, 2]);

    let Some(transport) = transport else {
        return (None, None);
    };
    match transport {
        Transport::Tcp | Transport::RtuOverTcp => {
            let name = if transport == Transport::Tcp {
                "tcp"
            } else {
                "rtu-over-tcp"
            };
            for key in SERIAL_KEYS {
                section.forbid(
                    key,
                    &format!("applies only to transport rtu (this device uses {name})"),
                );
            }
            let host = section.required(
                "host",
                &format!("transport {name} needs the device's host name or address"),
                host,
            );
            let (Some(host), Some(port)) = (host, port.or_default(502)) else {
                return (None, None);
            };
            let Ok(port) = u16::try_from(port) else {
                return (None, None);
            };
            if SERIAL_KEYS.iter().any(|k| section.has(k)) {
                return (None, None);
            }
            let endpoint = SocketEndpoint {
                host: host.value,
                port,
            };
            let link = if transport == Transport::Tcp {
                Link::Tcp(endpoint)
            } else {
                Link::RtuOverTcp(endpoint)
            };
            (Some(link), None)
        }
        Transport::Rtu => {
            for key in SOCKET_KEYS {
                section.forbid(
                    key,
                    "applies only to transport tcp and rtu-over-tcp (this device uses rtu)",
                );
            }
            let path = section.required(
                "serial",
                "transport rtu needs the serial port, such as /dev/ttyUSB0",
                path,
            );
            let baud = section.required(
                "baud",
                "transport rtu needs the line speed, such as 9600 or 19200",
                baud,
            );
            let (Some(path), Some(baud), Some(parity), Some(data_bits), Some(stop_bits)) = (
                path,
                baud,
                parity.or_default(Parity::Even),
                data_bits.or_default(8),
                stop_bits.or_default(1),
            ) else {
                return (None, None);
            };
            let (Ok(baud_rate), Ok(data_bits), Ok(stop_bits)) = (
                u32::try_from(baud.value),
                u8::try_from(data_bits),
                u8::try_from(stop_bits),
            ) else {
                return (None, None);
            };
            let line = SerialLine {
                path: path.value,
                baud: baud_rate,
                parity,
                data_bits,
                stop_bits,
            };
            let serial = At {
                value: line.clone(),
                span: path.span,
            };
            if SOCKET_KEYS.iter().any(|k| section.has(k)) {
                return (None, Some(serial));
            }
            (Some(Link::Rtu(line)), Some(serial))
        }
    }
}

/// The unit id: 1 to 247 on every link, 0 too on TCP (no broadcast there), and 255 too on TCP, where direct devices are meant to be
/// addressed with 0xFF.
fn read_unit(section: &Section<'_, '_>, transport: Option<Transport>) -> Option<u8> {
    let unit = section.integer("unit", i64::MIN, i64::MAX)
        .check(section.report(), |&u| match (u, transport) {
            // On a serial line unit 0 is the broadcast address: every device obeys a write and none
            // answers, so every poll would time out.
            (0, Some(Transport::Rtu | Transport::RtuOverTcp)) => Err(
                "'unit' 0 is the serial broadcast address, which no device answers; use 1 to 247"
                    .to_string(),
            ),
            (0..=247, _) | (255, Some(Transport::Tcp) | None) => Ok(()),
            (255, _) => {
                Err("'unit' 255 is only for direct TCP devices; on a serial line or gateway use 0 to 247".to_string())
            }
            _ => Err(format!(
                "'unit' must be between 0 and 247 (or 255 for a direct TCP device), not {u}"
            )),
        });
    unit.or_default(1).and_then(|u| u8::try_from(u).ok())
}

/// An integer that must be one of a few values.
fn one_of(section: &Section<'_, '_>, key: &str, allowed: &[i64]) -> Field<i64> {
    let words: Vec<String> = allowed.iter().map(i64::to_string).collect();
    section
        .integer(key, i64::MIN, i64::MAX)
        .check(section.report(), |v| {
            if allowed.contains(v) {
                Ok(())
            } else {
                Err(format!("'{key}' must be {}, not {v}", words.join(" or ")))
            }
        })
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(ms.unsigned_abs())
}
