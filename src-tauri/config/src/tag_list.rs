//! Tag lists as CSV: every tag of a plant (or of one device) as one row, to edit in a spreadsheet and
//! bring back.
//!
//! The columns are [`HEADER`]'s, the config's own keys; a cell is empty where the tag holds the
//! default (order ABCD, scale 1, offset 0, deadband 0, heartbeat 60 s) or has nothing (name, unit,
//! bit, length). An import upserts by (device, id): a tag already in the plant takes the row's
//! settings and keeps what a row does not carry (alarms, `name_zh`, `write`); a new id is appended to
//! its device. The CSV adds and changes tags, it never deletes one. Every row is checked before the
//! plant file is touched, each by the config's own rules; any bad row, or a resulting plant the config
//! check refuses, leaves the file as it was.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_core::echo::escape;
use plantwatch_core::{Plant, Table, UnknownName, ValueKind, WordOrder};
use toml_edit::Item;

use crate::edit::{EditError, PlantDocument, TagDraft};

/// The header of a tag list, exactly.
pub const HEADER: &str =
    "device,id,name,table,address,type,order,bit,length,scale,offset,unit,deadband,heartbeat_s";

/// The columns of [`HEADER`].
const COLUMNS: [&str; 14] = [
    "device",
    "id",
    "name",
    "table",
    "address",
    "type",
    "order",
    "bit",
    "length",
    "scale",
    "offset",
    "unit",
    "deadband",
    "heartbeat_s",
];

/// One cell of an exported row. Text goes through the CSV writer's quoting and formula
/// neutralising; a number is written as it is (so `-1.5` stays a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// A default or absent setting.
    Empty,
    Text(String),
    /// In its shortest exact form (`0.001`, `-5`).
    Number(String),
}

/// One tag of a tag list.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub device: String,
    pub tag: TagDraft,
}

impl TagRow {
    /// The row's cells in [`HEADER`]'s order.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = vec![
            Cell::Text(self.device.clone()),
            Cell::Text(self.tag.id.clone()),
        ];
        cells.extend(
            self.tag
                .settings()
                .into_iter()
                .map(|(_, setting)| match setting {
                    None => Cell::Empty,
                    Some(s @ crate::edit::Setting::Text(_)) => Cell::Text(s.cell()),
                    Some(s) => Cell::Number(s.cell()),
                }),
        );
        cells
    }
}

/// A device the plant does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no device '{}'; the plant has {}", escape(.device), .known.join(", "))]
pub struct NoSuchDevice {
    pub device: String,
    pub known: Vec<String>,
}

/// The tag list of `plant`, or of one device of it: one row per tag, in config order.
pub fn export(plant: &Plant, device: Option<&str>) -> Result<Vec<TagRow>, NoSuchDevice> {
    if let Some(device) = device {
        if !plant.devices.iter().any(|d| d.id == device) {
            return Err(NoSuchDevice {
                device: device.to_string(),
                known: plant.devices.iter().map(|d| d.id.clone()).collect(),
            });
        }
    }
    Ok(plant
        .devices
        .iter()
        .filter(|d| device.is_none_or(|only| d.id == only))
        .flat_map(|d| {
            d.tags.iter().map(|t| TagRow {
                device: d.id.clone(),
                tag: TagDraft::from_tag(t),
            })
        })
        .collect())
}

/// One bad row of a tag list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The line in the CSV file (the header is line 1).
    pub line: u64,
    /// What is wrong, naming the column and what it allows.
    pub message: String,
}

/// Every bad row of a tag list (never empty), in file order: `tags.csv:ROW: message` per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RowErrors {
    /// The CSV file, as the user gave it.
    pub csv: PathBuf,
    pub errors: Vec<RowError>,
}

impl fmt::Display for RowErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let csv = self.csv.display().to_string();
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(
                f,
                "{}:{}: {}",
                escape(&csv),
                error.line,
                escape(&error.message)
            )?;
        }
        Ok(())
    }
}

/// Why a tag list was not imported. In every case the plant file is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The CSV file could not be read.
    #[error("{}: {reason}", .csv.display())]
    ReadCsv {
        csv: PathBuf,
        /// Why, in the words of [`crate::ReadFileError`] (but for a tag list).
        reason: String,
    },
    /// Rows with problems; nothing was imported.
    #[error("{0}")]
    Rows(RowErrors),
    /// The plant file could not be read or written, had problems, or would have had them.
    #[error(transparent)]
    Plant(#[from] EditError),
}

impl ImportError {
    /// True when the failure is the machine's (reading or writing a file), not the input's.
    pub fn is_io(&self) -> bool {
        match self {
            ImportError::ReadCsv { .. } => true,
            ImportError::Rows(_) => false,
            ImportError::Plant(e) => e.is_io(),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The plant as the new file describes it.
    pub plant: Plant,
    /// Tags new to their device.
    pub added: usize,
    /// Tags whose settings changed.
    pub changed: usize,
    /// Tags the rows left as they were.
    pub unchanged: usize,
}

/// Imports the tag list at `csv` into the plant file at `config` (see the module's rules); with
/// `device`, only rows of that device are allowed. The file is written (atomically) only when every row
/// is good and the resulting plant passes the config check; when nothing changes it is not written.
pub fn import(config: &Path, csv: &Path, device: Option<&str>) -> Result<Imported, ImportError> {
    let bytes = crate::file::read_regular_file(csv, crate::MAX_CONFIG_BYTES).map_err(|e| {
        ImportError::ReadCsv {
            csv: csv.to_path_buf(),
            reason: match e {
                crate::ReadFileError::NotAFile(what) => {
                    format!("not a regular file ({what}); a tag list is a CSV file")
                }
                e => e.to_string(),
            },
        }
    })?;
    let mut document = PlantDocument::open(config)?;
    if let Some(device) = device {
        document.tags_of(device)?;
    }
    let rows = read_rows(&bytes, document.plant(), device).map_err(|errors| {
        ImportError::Rows(RowErrors {
            csv: csv.to_path_buf(),
            errors,
        })
    })?;

    let (mut added, mut changed, mut unchanged) = (0, 0, 0);
    for row in &rows {
        let tags = document.tags_of(&row.device)?;
        let existing = tags
            .iter_mut()
            .find(|t| t.get("id").and_then(Item::as_str) == Some(row.tag.id.as_str()));
        match existing {
            Some(table) => {
                if PlantDocument::update(table, &row.tag) {
                    changed += 1;
                } else {
                    unchanged += 1;
                }
            }
            None => {
                tags.push(row.tag.to_table());
                added += 1;
            }
        }
    }
    let plant = if added + changed == 0 {
        document.plant().clone()
    } else {
        document.save()?
    };
    Ok(Imported {
        plant,
        added,
        changed,
        unchanged,
    })
}

/// Reads and checks every row; all the problems, or every row's tag.
fn read_rows(
    bytes: &[u8],
    plant: &Plant,
    only: Option<&str>,
) -> Result<Vec<TagRow>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    // Where each (device, id) was first seen, to name it when it comes again.
    let mut seen = std::collections::HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut header_seen = false;
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A broken quote or bad UTF-8: the reader says where; nothing after it can be trusted.
                let line = e.position().map_or(line, |p| p.line());
                errors.push(RowError {
                    line,
                    message: format!("not CSV: {}", csv_error(&e)),
                });
                break;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if !header_seen {
            header_seen = true;
            if record.iter().ne(COLUMNS) {
                errors.push(RowError {
                    line,
                    message: format!("the header must be exactly {HEADER}"),
                });
                break;
            }
            continue;
        }
        if record.len() == 1 && record.get(0) == Some("") {
            continue; // A blank line.
        }
        // A (device, id) seen before is named whatever else is wrong with either row.
        let key = (
            plain_text(record.get(0).unwrap_or("").trim()),
            plain_text(record.get(1).unwrap_or("").trim()),
        );
        if let Some(first) = seen.get(&key) {
            errors.push(RowError {
                line,
                message: format!("tag \"{}/{}\" is already on line {first}", key.0, key.1),
            });
            continue;
        }
        seen.insert(key, line);
        match read_row(&record, plant, only) {
            Ok(row) => rows.push(row),
            Err(messages) => errors.extend(
                messages
                    .into_iter()
                    .map(|message| RowError { line, message }),
            ),
        }
    }
    if !header_seen && errors.is_empty() {
        errors.push(RowError {
            line: 1,
            message: format!("the file is empty; a tag list starts with the header {HEADER}"),
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "a cell is not UTF-8 text".to_string(),
        _ => e.to_string(),
    }
}

/// One row's tag, or every problem with it.
fn read_row(
    record: &csv::StringRecord,
    plant: &Plant,
    only: Option<&str>,
) -> Result<TagRow, Vec<String>> {
    if record.len() != COLUMNS.len() {
        return Err(vec![format!(
            "{} cells, but the header has {}",
            record.len(),
            COLUMNS.len()
        )]);
    }
    let cell = |i: usize| record.get(i).unwrap_or("").trim();
    let mut problems = Vec::new();

    let device = plain_text(cell(0));
    let known = plant.devices.iter().find(|d| d.id == device);
    match (known, only) {
        _ if device.is_empty() => problems.push("device is empty".to_string()),
        (None, _) => problems.push(format!(
            "device \"{device}\" is not in the plant (it has {})",
            plant
                .devices
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (Some(_), Some(only)) if only != device => problems.push(format!(
            "device \"{device}\" is not the device imported (--device {only})"
        )),
        _ => {}
    }
    let id = plain_text(cell(1));
    if !crate::ids::is_valid_id(&id) {
        problems.push(format!(
            "id \"{id}\" must be made of a-z, 0-9, _ and - only"
        ));
    }
    let name = optional_text(cell(2));
    let table = word::<Table>(cell(3), "table", &mut problems);
    let address = match cell(4).parse::<u16>() {
        Ok(a) => Some(a),
        Err(_) => {
            problems.push(format!(
                "address \"{}\" is not a whole number from 0 to 65535",
                cell(4)
            ));
            None
        }
    };
    let kind = if cell(5).is_empty() && table.is_some_and(Table::is_bits) {
        Some(ValueKind::Bool)
    } else {
        word::<ValueKind>(cell(5), "type", &mut problems)
    };
    let order = if cell(6).is_empty() {
        Some(WordOrder::Abcd)
    } else {
        word::<WordOrder>(cell(6), "order", &mut problems)
    };
    let bit = optional_integer(cell(7), "bit", 0, 15, &mut problems);
    let length = optional_integer(cell(8), "length", 1, 123, &mut problems);
    let scale = optional_number(cell(9), "scale", 1.0, &mut problems);
    let offset = optional_number(cell(10), "offset", 0.0, &mut problems);
    let unit = optional_text(cell(11));
    let deadband = optional_number(cell(12), "deadband", 0.0, &mut problems);
    let heartbeat = optional_number(cell(13), "heartbeat_s", 60.0, &mut problems).and_then(|s| {
        match Duration::try_from_secs_f64(s) {
            Ok(d) if s > 0.0 => Some(d),
            _ => {
                problems.push(format!(
                    "heartbeat_s \"{}\" must be a number of seconds more than 0",
                    cell(13)
                ));
                None
            }
        }
    });

    let (
        Some(device_config),
        Some(table),
        Some(address),
        Some(kind),
        Some(order),
        Some(bit),
        Some(length),
        Some(scale),
        Some(offset),
        Some(deadband),
        Some(heartbeat),
        true,
    ) = (
        known,
        table,
        address,
        kind,
        order,
        bit,
        length,
        scale,
        offset,
        deadband,
        heartbeat,
        problems.is_empty(),
    )
    else {
        return Err(problems);
    };
    let tag = TagDraft {
        id,
        name,
        table,
        address,
        kind,
        order,
        bit,
        length,
        scale,
        offset,
        unit,
        deadband,
        heartbeat,
    };
    // The config's own rules for one tag (a bit without its number, an order on a u16, a string past
    // the device's max_block, scale 0, ...): a one-tag plant with this device's read limit, checked by
    // the parser, its messages taken without the positions in that made-up file.
    let alone = crate::edit::one_tag_plant(&device, device_config.max_block, &tag);
    if let Err(errors) = crate::parse(&alone, Path::new("row.toml")) {
        return Err(errors.iter().map(|e| e.message.clone()).collect());
    }
    Ok(TagRow { device, tag })
}

/// A cell's text, with the `'` the CSV writer puts before a formula-like cell taken off again.
fn plain_text(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

fn optional_text(cell: &str) -> Option<String> {
    (!cell.is_empty()).then(|| plain_text(cell))
}

/// A word of one of core's vocabularies (a table, a type, an order), or a problem naming every word
/// it allows.
fn word<T: std::str::FromStr<Err = UnknownName>>(
    cell: &str,
    column: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    match cell.parse::<T>() {
        Ok(word) => Some(word),
        Err(unknown) => {
            problems.push(format!(
                "{column} \"{cell}\" is not one of {}",
                unknown.allowed.join(", ")
            ));
            None
        }
    }
}

/// An empty cell (`Some(None)`), a whole number in range (`Some(Some(n))`), or a problem (`None`).
fn optional_integer(
    cell: &str,
    column: &str,
    min: u8,
    max: u8,
    problems: &mut Vec<String>,
) -> Option<Option<u8>> {
    if cell.is_empty() {
        return Some(None);
    }
    match cell.parse::<u8>() {
        Ok(n) if (min..=max).contains(&n) => Some(Some(n)),
        _ => {
            problems.push(format!(
                "{column} \"{cell}\" is not a whole number from {min} to {max}"
            ));
            None
        }
    }
}

/// A finite number, the default for an empty cell, or a problem.
fn optional_number(
    cell: &str,
    column: &str,
    default: f64,
    problems: &mut Vec<String>,
) -> Option<f64> {
    if cell.is_empty() {
        return Some(default);
    }
    match cell.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            problems.push(format!("{column} \"{cell}\" is not a number"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> Plant {
        let text = "[plant]\nname = \"t\"\n[[devices]]\nid = \"plc\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nmax_block = 16\n";
        crate::parse(text, Path::new("plant.toml")).expect("a valid plant")
    }

    fn problems(csv: &str) -> Vec<String> {
        read_rows(csv.as_bytes(), &plant(), None)
            .expect_err("refused")
            .into_iter()
            .map(|e| format!("{}: {}", e.line, e.message))
            .collect()
    }

    #[test]
    fn the_header_is_checked_and_an_empty_file_refused() {
        assert_eq!(
            problems("device,id,name\nplc,a,\n"),
            [format!("1: the header must be exactly {HEADER}")]
        );
        assert_eq!(
            problems(""),
            [format!(
                "1: the file is empty; a tag list starts with the header {HEADER}"
            )]
        );
    }

    #[test]
    fn a_row_is_checked_against_its_devices_read_limit() {
        let csv = format!("{HEADER}\nplc,name,,holding,0,string,,,20,,,,,\n");
        assert_eq!(
            problems(&csv),
            ["2: the string spans 20 registers, more than the device's max_block (16) allows in one read"]
        );
    }

    #[test]
    fn defaults_may_be_left_empty_and_a_neutralised_formula_is_restored() {
        let csv = format!("{HEADER}\nplc,run,\"'=A1\",coil,3,,,,,,,,,\n");
        let rows = read_rows(csv.as_bytes(), &plant(), None).expect("good rows");
        let mut want = TagDraft::new("run", Table::Coil, 3, ValueKind::Bool);
        want.name = Some("=A1".into());
        assert_eq!(rows[0].tag, want);
    }
}
