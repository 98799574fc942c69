//! The whole file: `[plant]`, `[history]`, `[alarms]` and the devices, with the checks that span devices
//! (unique ids, agreement on a shared serial port).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_core::{AlarmSettings, Link, Plant, Retention, SerialLine, SocketEndpoint};
use toml::de::DeTable;

use crate::device::{read_device, ReadDevice};
use crate::error::ConfigErrorKind;
use crate::fields::{At, Field, Report, Section};

const TOP_KEYS: &[&str] = &[
    "plant",
    "history",
    "alarms",
    "devices",
    "screens",
    "northbound",
    "api",
    "reports",
];

/// How long an operator may shelve an alarm when the config does not say: one 8-hour shift.
const DEFAULT_MAX_SHELVE: Duration = Duration::from_secs(28_800);

/// Reads and validates a parsed config file at `path` (used to resolve the history file).
pub(crate) fn read_plant(root: &DeTable<'_>, path: &Path, report: &Report) -> Option<Plant> {
    let top = Section::open(root, 0..0, "the config", TOP_KEYS, report);

    let name = read_name(&top);
    let history = read_history(&top, path);
    let alarm_settings = read_alarm_settings(&top);
    let sparkplug = crate::northbound::read_northbound(&top, name.as_deref(), path);
    let api = crate::api::read_api(&top, path);
    let devices = match top.tables("devices", "[[devices]]") {
        Field::Absent => Some(Vec::new()),
        Field::Invalid => None,
        Field::Present(at) => {
            let read: Vec<ReadDevice> = at
                .value
                .into_iter()
                .map(|(table, span)| read_device(table, span, report))
                .collect();
            let ids_unique = check_unique_ids(&read, report);
            let ports_agree = check_shared_ports(&read, report);
            let endpoints_agree = check_shared_endpoints(&read, report);
            let devices: Option<Vec<_>> = read.into_iter().map(|d| d.device).collect();
            devices.filter(|_| ids_unique && ports_agree && endpoints_agree)
        }
    };

    let screens = match top.tables("screens", "[[screens]]") {
        Field::Absent => Some(Vec::new()),
        Field::Invalid => None,
        Field::Present(at) => crate::screen::read_screens(at.value, path, report),
    };

    let reports = match top.tables("reports", "[[reports]]") {
        Field::Absent => Some(Vec::new()),
        Field::Invalid => None,
        Field::Present(at) => crate::report::read_reports(at.value, path, report),
    };

    let (history, retention) = history?;
    let mut plant = Plant::new(
        name?,
        history,
        alarm_settings?,
        devices?,
        Some(path.to_path_buf()),
    );
    plant.screens = screens?;
    plant.sparkplug = sparkplug?;
    plant.api = api?;
    plant.retention = retention;
    plant.reports = reports?;
    Some(plant)
}

/// `[plant] name`, required.
fn read_name(top: &Section<'_, '_>) -> Option<String> {
    let report = top.report();
    let table = match top.table("plant") {
        Field::Absent => {
            report.add(
                0..0,
                ConfigErrorKind::MissingKey,
                "missing table [plant] with the plant's name (name = \"...\")",
            );
            return None;
        }
        Field::Invalid => return None,
        Field::Present(at) => at,
    };
    let plant = Section::open(table.value, table.span, "[plant]", &["name"], report);
    let name = plant.string("name").check(report, |n| {
        if n.trim().is_empty() {
            Err("'name' must not be empty".to_string())
        } else {
            Ok(())
        }
    });
    plant
        .required(
            "name",
            "the plant's name, shown in the window and in reports",
            name,
        )
        .map(|n| n.value)
}

/// `[history] path`, relative to the config's folder (by default the config's name with `.db`, beside
/// it), and how long history is kept.
fn read_history(top: &Section<'_, '_>, config: &Path) -> Option<(PathBuf, Retention)> {
    let report = top.report();
    let mut retention = Some(Retention::default());
    let given = match top.table("history") {
        Field::Absent => None,
        Field::Invalid => return None,
        Field::Present(at) => {
            let history = Section::open(at.value, at.span, "[history]", HISTORY_KEYS, report);
            let folder = config.parent().unwrap_or(Path::new(""));
            let path = history.string("path").check(report, |p| {
                if p.trim().is_empty() {
                    Err("'path' must not be empty".to_string())
                } else if folder.join(p).is_dir() {
                    // SQLite would fail on it only when collecting starts, far from the config.
                    Err(format!(
                        "'path' is a directory, not a history file: {}",
                        plantwatch_core::echo::escape(p)
                    ))
                } else {
                    Ok(())
                }
            });
            retention = read_retention(&history);
            path.optional()?
        }
    };
    let path = match given {
        Some(relative) => config.parent().unwrap_or(Path::new("")).join(relative),
        None => config.with_extension("db"),
    };
    Some((path, retention?))
}

const HISTORY_KEYS: &[&str] = &["path", "keep", "keep_summaries", "min_free"];

/// `[history] keep` and `keep_summaries`: for ever when not given; `min_free`: the writer's default when
/// not given. Summaries kept shorter than raw
/// samples would be a typo (they are what long trends draw once the samples are gone).
fn read_retention(history: &Section<'_, '_>) -> Option<Retention> {
    let report = history.report();
    let keep = history.duration("keep");
    let keep_summaries = history.duration("keep_summaries");
    if let (Some(keep), Some(summaries)) = (keep.at(), keep_summaries.at()) {
        if summaries.value < keep.value {
            report.add(
                summaries.span.clone(),
                ConfigErrorKind::Conflict,
                "'keep_summaries' must be at least 'keep' (summaries draw the trends of raw samples already gone)",
            );
            return None;
        }
    }
    let min_free = history.size("min_free");
    Some(Retention {
        keep: keep.optional()?,
        keep_summaries: keep_summaries.optional()?,
        min_free: min_free.optional()?,
    })
}

/// `[alarms] max_shelve_s`.
fn read_alarm_settings(top: &Section<'_, '_>) -> Option<AlarmSettings> {
    let report = top.report();
    match top.table("alarms") {
        Field::Absent => Some(AlarmSettings {
            max_shelve: DEFAULT_MAX_SHELVE,
        }),
        Field::Invalid => None,
        Field::Present(at) => {
            let alarms = Section::open(at.value, at.span, "[alarms]", &["max_shelve_s"], report);
            let max_shelve = alarms
                .seconds("max_shelve_s", true)
                .or_default(DEFAULT_MAX_SHELVE)?;
            Some(AlarmSettings { max_shelve })
        }
    }
}

/// Device ids are unique in the plant. Returns false when one is not.
fn check_unique_ids(devices: &[ReadDevice], report: &Report) -> bool {
    let mut fine = true;
    // Where each device id was first written.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in devices.iter().filter_map(|d| d.id.as_ref()) {
        match seen.get(id.value.as_str()) {
            Some(&first) => {
                report.add(
                    id.span.clone(),
                    ConfigErrorKind::Duplicate,
                    format!(
                        "duplicate device id '{}'; the first is at line {}",
                        id.value,
                        report.line(first)
                    ),
                );
                fine = false;
            }
            None => {
                seen.insert(&id.value, id.span.start);
            }
        }
    }
    fine
}

/// Devices on one serial port share one line, so they must agree on its speed and framing. Returns false
/// when two do not.
fn check_shared_ports(devices: &[ReadDevice], report: &Report) -> bool {
    let mut fine = true;
    let lines: Vec<(&ReadDevice, &At<SerialLine>)> = devices
        .iter()
        .filter_map(|d| d.serial.as_ref().map(|s| (d, s)))
        .collect();
    for (i, (_, line)) in lines.iter().enumerate() {
        let first = lines[..i]
            .iter()
            .find(|(_, f)| f.value.path == line.value.path);
        let Some((first_device, first_line)) = first else {
            continue;
        };
        if !same_settings(&first_line.value, &line.value) {
            let first_id = first_device.id.as_ref().map_or("?", |id| id.value.as_str());
            report.add(
                line.span.clone(),
                ConfigErrorKind::Conflict,
                format!(
                    "serial port '{}' is already used at {} by device '{}' (line {}); devices on one port must \
                     agree on baud, parity, data and stop bits, but this one asks for {}",
                    line.value.path,
                    settings(&first_line.value),
                    first_id,
                    report.line(first_line.span.start),
                    settings(&line.value)
                ),
            );
            fine = false;
        }
    }
    fine
}

/// One host and port speaks one framing: devices behind it may differ in unit id, not in transport
/// (Modbus TCP against RTU over TCP). Returns false when two devices disagree.
fn check_shared_endpoints(devices: &[ReadDevice], report: &Report) -> bool {
    let mut fine = true;
    let sockets: Vec<(&ReadDevice, &Link, &SocketEndpoint)> = devices
        .iter()
        .filter_map(|d| {
            let link = &d.device.as_ref()?.link;
            match link {
                Link::Tcp(e) | Link::RtuOverTcp(e) => Some((d, link, e)),
                Link::Rtu(_) => None,
            }
        })
        .collect();
    for (i, &(device, link, endpoint)) in sockets.iter().enumerate() {
        let first = sockets[..i].iter().find(|(_, _, e)| *e == endpoint);
        let Some(&(first_device, first_link, _)) = first else {
            continue;
        };
        let (Some(span), Some(first_span)) = (&device.transport_span, &first_device.transport_span)
        else {
            continue;
        };
        if first_link.transport_name() != link.transport_name() {
            report.add(
                span.clone(),
                ConfigErrorKind::Conflict,
                format!(
                    "{}:{} is already reached with transport {} by device '{}' (line {}); one host and port \
                     speaks one framing, but this device uses {}",
                    endpoint.host,
                    endpoint.port,
                    first_link.transport_name(),
                    first_device.id.as_ref().map_or("?", |id| id.value.as_str()),
                    report.line(first_span.start),
                    link.transport_name()
                ),
            );
            fine = false;
        }
    }
    fine
}

fn same_settings(a: &SerialLine, b: &SerialLine) -> bool {
    (a.baud, a.parity, a.data_bits, a.stop_bits) == (b.baud, b.parity, b.data_bits, b.stop_bits)
}

/// `19200 8E1`.
fn settings(line: &SerialLine) -> String {
    format!(
        "{} {}{}{}",
        line.baud,
        line.data_bits,
        line.parity.letter(),
        line.stop_bits
    )
}
