//! Changing a plant file as a document: its comments, blank lines and key order survive, and only the
//! tag tables asked for change. Every change is checked by the config parser on the whole new text
//! before anything is written, and written atomically (a temporary file in the same folder, flushed to
//! disk, renamed over the plant), so a crash leaves either the old plant or the new one.
//!
//! [`add_tag`] is "promote to tag" from the workbench; the tag list import ([`crate::tag_list`]) uses
//! the same document and the same write.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_core::{Plant, Table, Tag, ValueKind, ValueType, WordOrder};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Value};

use crate::{read_config_file, ConfigErrors, ReadFileError, MAX_CONFIG_BYTES};

/// A tag as a person fills it in: the keys of a `[[devices.tags]]` table that a tag list carries, typed.
/// Defaults (order ABCD, scale 1, offset 0, deadband 0, a heartbeat of 60 s, no name or unit) are not
/// written to the file, as a person would leave them out.
#[derive(Debug, Clone, PartialEq)]
pub struct TagDraft {
    /// `[a-z0-9_-]+`, unique within its device.
    pub id: String,
    pub name: Option<String>,
    pub table: Table,
    /// 0-based protocol address.
    pub address: u16,
    /// The config's `type`.
    pub kind: ValueKind,
    /// Only for types wider than one register.
    pub order: WordOrder,
    /// The bit number of a `bit` tag, 0-15.
    pub bit: Option<u8>,
    /// The registers of a `string` tag.
    pub length: Option<u8>,
    pub scale: f64,
    pub offset: f64,
    pub unit: Option<String>,
    pub deadband: f64,
    /// The config's `heartbeat_s`.
    pub heartbeat: Duration,
}

impl TagDraft {
    /// A tag with every optional setting at its default.
    pub fn new(id: impl Into<String>, table: Table, address: u16, kind: ValueKind) -> TagDraft {
        TagDraft {
            id: id.into(),
            name: None,
            table,
            address,
            kind,
            order: WordOrder::Abcd,
            bit: None,
            length: None,
            scale: 1.0,
            offset: 0.0,
            unit: None,
            deadband: 0.0,
            heartbeat: Tag::DEFAULT_HEARTBEAT,
        }
    }

    /// The draft of a configured tag (what a tag list exports of it).
    pub fn from_tag(tag: &Tag) -> TagDraft {
        TagDraft {
            id: tag.id().to_string(),
            name: tag.name().map(str::to_string),
            table: tag.table,
            address: tag.address,
            kind: tag.value_type.kind(),
            order: tag.order,
            bit: match tag.value_type {
                ValueType::Bit(bit) => Some(bit),
                _ => None,
            },
            length: match tag.value_type {
                ValueType::String { registers } => Some(registers),
                _ => None,
            },
            scale: tag.scale(),
            offset: tag.offset(),
            unit: tag.unit().map(str::to_string),
            deadband: tag.deadband(),
            heartbeat: tag.heartbeat(),
        }
    }

    /// The tag list's columns after `device` and `id`, each with its value, or `None` where it holds
    /// its default. The keys are the config's; `type` and `table` are always given.
    pub(crate) fn settings(&self) -> [(&'static str, Option<Setting>); 12] {
        let text = |t: &Option<String>| t.clone().map(Setting::Text);
        let number = |x: f64, default: f64| (x != default).then_some(Setting::Number(x));
        [
            ("name", text(&self.name)),
            ("table", Some(Setting::Text(self.table.name().to_string()))),
            ("address", Some(Setting::Integer(i64::from(self.address)))),
            ("type", Some(Setting::Text(self.kind.name().to_string()))),
            (
                "order",
                (self.order != WordOrder::Abcd).then(|| Setting::Text(self.order.name().into())),
            ),
            ("bit", self.bit.map(|b| Setting::Integer(i64::from(b)))),
            (
                "length",
                self.length.map(|l| Setting::Integer(i64::from(l))),
            ),
            ("scale", number(self.scale, 1.0)),
            ("offset", number(self.offset, 0.0)),
            ("unit", text(&self.unit)),
            ("deadband", number(self.deadband, 0.0)),
            (
                "heartbeat_s",
                (self.heartbeat != Tag::DEFAULT_HEARTBEAT).then(|| seconds(self.heartbeat)),
            ),
        ]
    }

    /// The draft as a new `[[devices.tags]]` table: `id` first, then the settings that are not defaults.
    pub(crate) fn to_table(&self) -> toml_edit::Table {
        let mut table = toml_edit::Table::new();
        table.insert("id", toml_edit::value(self.id.as_str()));
        for (key, setting) in self.settings() {
            if let Some(setting) = setting {
                table.insert(key, Item::Value(setting.to_value()));
            }
        }
        table
    }
}

/// Whole seconds as an integer (`heartbeat_s = 300`), others as a number of seconds.
fn seconds(d: Duration) -> Setting {
    if d.subsec_nanos() == 0 {
        Setting::Integer(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    } else {
        Setting::Number(d.as_secs_f64())
    }
}

/// One value of a tag's setting, as the file and the tag list hold it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Setting {
    Text(String),
    Integer(i64),
    Number(f64),
}

impl Setting {
    fn to_value(&self) -> Value {
        match self {
            Setting::Text(t) => Value::from(t.as_str()),
            Setting::Integer(i) => Value::from(*i),
            Setting::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => Value::from(*x as i64),
            Setting::Number(x) => Value::from(*x),
        }
    }

    /// True when the file's `value` already says this (`scale = 2` and 2.0 are the same).
    fn is_in(&self, value: &Value) -> bool {
        match (self, value) {
            (Setting::Text(t), Value::String(s)) => s.value() == t,
            (Setting::Integer(i), Value::Integer(v)) => v.value() == i,
            (Setting::Integer(i), Value::Float(v)) => *v.value() == *i as f64,
            (Setting::Number(x), Value::Float(v)) => v.value() == x,
            (Setting::Number(x), Value::Integer(v)) => *v.value() as f64 == *x,
            _ => false,
        }
    }

    /// A tag list cell: text as it is, numbers in their shortest exact form.
    pub(crate) fn cell(&self) -> String {
        match self {
            Setting::Text(t) => t.clone(),
            Setting::Integer(i) => i.to_string(),
            Setting::Number(x) => x.to_string(),
        }
    }
}

/// The value a key has when the file leaves it out (for keys whose absence is a default), so that an
/// import can keep `scale = 1` that someone wrote out.
fn default_of(key: &str, table: Table) -> Option<Setting> {
    Some(match key {
        "order" => Setting::Text(WordOrder::Abcd.name().into()),
        "scale" => Setting::Number(1.0),
        "offset" | "deadband" => Setting::Number(0.0),
        "heartbeat_s" => seconds(Tag::DEFAULT_HEARTBEAT),
        "type" if table.is_bits() => Setting::Text(ValueKind::Bool.name().into()),
        _ => return None,
    })
}

/// Why a plant file was not changed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The plant file could not be read.
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: ReadFileError,
    },
    /// The plant file as it is has problems (a change is checked on a good file only).
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// No `[[devices]]` table has this id.
    #[error("{}: no device '{device}'; the plant has {}", .path.display(), known_list(.known))]
    UnknownDevice {
        path: PathBuf,
        device: String,
        known: Vec<String>,
    },
    /// The devices or their tags are written in a form a change cannot extend as a table
    /// (`devices = [...]`, `tags = [{...}]`).
    #[error("{}: {what} is not written as [[...]] tables; change it by hand", .path.display())]
    NotTables { path: PathBuf, what: String },
    /// The file with the change would not pass the config check; nothing was written. The positions
    /// are in the file as it would have been written.
    #[error("nothing was written: with this change the plant file would have these problems (lines of the file as it would be):\n{0}")]
    WouldBeInvalid(ConfigErrors),
    /// The file changed on disk while the change was being made; nothing was written.
    #[error("{}: the file was changed by someone else meanwhile; nothing was written, try again", .path.display())]
    ChangedMeanwhile { path: PathBuf },
    /// The new file could not be written; the old one is untouched.
    #[error("{}: cannot write: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EditError {
    /// True when the failure is the machine's (reading or writing the file, or another writer), not
    /// the input's: the command line's exit code 1 rather than 2.
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            EditError::Read { .. } | EditError::Write { .. } | EditError::ChangedMeanwhile { .. }
        )
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "no devices".to_string()
    } else {
        known.join(", ")
    }
}

/// Adds `tag` to `device` in the plant file at `path`: a `[[devices.tags]]` table after the device's
/// last tag (or its first, for a device without tags), holding `id` and the settings that differ from
/// their defaults. The rest of the file is kept byte for byte. The new file is checked as `plantwatch
/// check` checks it and written atomically; a tag the check refuses (a duplicate id, a bit tag without
/// its bit, ...) leaves the file untouched and comes back as [`EditError::WouldBeInvalid`].
/// Returns the plant as the new file describes it.
pub fn add_tag(path: &Path, device: &str, tag: &TagDraft) -> Result<Plant, EditError> {
    let mut document = PlantDocument::open(path)?;
    document.tags_of(device)?.push(tag.to_table());
    document.save()
}

/// A device the workbench found and the plant file does not have yet: its id, display name, link and
/// unit id. Polling settings are left at their defaults (a person tunes them in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceDraft {
    /// `[a-z0-9_-]+`, unique in the plant.
    pub id: String,
    pub name: Option<String>,
    pub link: plantwatch_core::Link,
    pub unit: u8,
}

impl DeviceDraft {
    /// The `[[devices]]` table, keys in the order the README's example writes them.
    fn to_table(&self) -> toml_edit::Table {
        use plantwatch_core::Link;
        let mut table = toml_edit::Table::new();
        table.insert("id", toml_edit::value(self.id.as_str()));
        if let Some(name) = &self.name {
            table.insert("name", toml_edit::value(name.as_str()));
        }
        table.insert("transport", toml_edit::value(self.link.transport_name()));
        match &self.link {
            Link::Tcp(e) | Link::RtuOverTcp(e) => {
                table.insert("host", toml_edit::value(e.host.as_str()));
                table.insert("port", toml_edit::value(i64::from(e.port)));
            }
            Link::Rtu(line) => {
                table.insert("serial", toml_edit::value(line.path.as_str()));
                table.insert("baud", toml_edit::value(i64::from(line.baud)));
                let parity = crate::device::PARITIES
                    .iter()
                    .find(|(_, p)| *p == line.parity)
                    .map_or("even", |(word, _)| word);
                table.insert("parity", toml_edit::value(parity));
                table.insert("data_bits", toml_edit::value(i64::from(line.data_bits)));
                table.insert("stop_bits", toml_edit::value(i64::from(line.stop_bits)));
            }
        }
        table.insert("unit", toml_edit::value(i64::from(self.unit)));
        table
    }
}

/// Adds a new device with its first tag at the end of the plant file at `path` (a `[[devices]]` table
/// and its `[[devices.tags]]`), checked and written as [`add_tag`] does: a duplicate device id or a bad
/// link comes back as [`EditError::WouldBeInvalid`] and the file is untouched.
pub fn add_device(path: &Path, device: &DeviceDraft, tag: &TagDraft) -> Result<Plant, EditError> {
    let mut document = PlantDocument::open(path)?;
    let mut table = device.to_table();
    let mut tags = ArrayOfTables::new();
    tags.push(tag.to_table());
    table.insert("tags", Item::ArrayOfTables(tags));
    document.devices()?.push(table);
    document.save()
}

/// A plant file open for changes: its path, its text as read, and the document.
pub(crate) struct PlantDocument {
    path: PathBuf,
    document: DocumentMut,
    /// The plant as the file describes it before any change.
    plant: Plant,
    /// The file as read, to notice another writer before replacing it.
    read: String,
}

impl PlantDocument {
    /// Reads and checks the plant file: a file with problems is not changed.
    pub(crate) fn open(path: &Path) -> Result<PlantDocument, EditError> {
        let text = read_config_file(path, MAX_CONFIG_BYTES).map_err(|source| EditError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let plant = crate::parse(&text, path).map_err(EditError::Invalid)?;
        // The config parser and toml_edit read the same TOML, so a file the first accepts parses here;
        // if it ever did not, say so through the parser's own words rather than panic.
        let document = text
            .parse::<DocumentMut>()
            .map_err(|_| EditError::Invalid(ConfigErrors::internal(path)))?;
        Ok(PlantDocument {
            path: path.to_path_buf(),
            document,
            plant,
            read: text,
        })
    }

    /// The plant as the file describes it before any change.
    pub(crate) fn plant(&self) -> &Plant {
        &self.plant
    }

    /// The ids of the devices, in file order.
    pub(crate) fn device_ids(&self) -> Vec<String> {
        self.document
            .get("devices")
            .and_then(Item::as_array_of_tables)
            .map(|devices| {
                devices
                    .iter()
                    .filter_map(|d| d.get("id").and_then(Item::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `[[devices.tags]]` of `device`, made empty when it has none yet.
    /// The `[[devices]]` tables, made empty when the file has none yet.
    pub(crate) fn devices(&mut self) -> Result<&mut ArrayOfTables, EditError> {
        let path = self.path.clone();
        self.document
            .entry("devices")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .ok_or_else(|| EditError::NotTables {
                path,
                what: "devices".into(),
            })
    }

    /// The `[[devices.tags]]` of `device`, made empty when it has none yet.
    pub(crate) fn tags_of(&mut self, device: &str) -> Result<&mut ArrayOfTables, EditError> {
        let known = self.device_ids();
        let path = self.path.clone();
        let devices = self.devices()?;
        let Some(table) = devices
            .iter_mut()
            .find(|d| d.get("id").and_then(Item::as_str) == Some(device))
        else {
            return Err(EditError::UnknownDevice {
                path,
                device: device.to_string(),
                known,
            });
        };
        let tags = table
            .entry("tags")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
        tags.as_array_of_tables_mut()
            .ok_or_else(|| EditError::NotTables {
                path,
                what: format!("device '{device}''s tags"),
            })
    }

    /// Sets a tag's settings from `draft`, in its table of the file: a setting the file already holds
    /// is left as written (`scale = 2` stays even for 2.0), a changed one is replaced in place keeping
    /// its comment, a new one is added at the end of the table, and one now at its default is removed
    /// (unless the file spells the default out). Keys the draft does not carry (alarms, write,
    /// name_zh) are kept. Returns true when anything changed.
    pub(crate) fn update(table: &mut toml_edit::Table, draft: &TagDraft) -> bool {
        let mut changed = false;
        for (key, setting) in draft.settings() {
            let current = table.get(key).and_then(Item::as_value);
            match (setting, current) {
                (Some(want), Some(have)) if want.is_in(have) => {}
                (Some(want), Some(_)) => {
                    if let Some(have) = table.get_mut(key).and_then(Item::as_value_mut) {
                        let decor = have.decor().clone();
                        *have = want.to_value();
                        *have.decor_mut() = decor;
                    }
                    changed = true;
                }
                (Some(want), None) => {
                    table.insert(key, Item::Value(want.to_value()));
                    changed = true;
                }
                (None, Some(have)) => {
                    if !default_of(key, draft.table).is_some_and(|d| d.is_in(have)) {
                        table.remove(key);
                        changed = true;
                    }
                }
                (None, None) => {}
            }
        }
        changed
    }

    /// Checks the document as the plant file it would become, then writes it atomically.
    pub(crate) fn save(self) -> Result<Plant, EditError> {
        let text = self.document.to_string();
        let plant = crate::parse(&text, &self.path).map_err(EditError::WouldBeInvalid)?;
        // Someone else (an editor, the window, another import) may have saved the file since it was
        // read; replacing it would silently drop their change.
        let now =
            read_config_file(&self.path, MAX_CONFIG_BYTES).map_err(|source| EditError::Read {
                path: self.path.clone(),
                source,
            })?;
        if now != self.read {
            return Err(EditError::ChangedMeanwhile { path: self.path });
        }
        write_atomically(&self.path, text.as_bytes()).map_err(|source| EditError::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(plant)
    }
}

impl fmt::Debug for PlantDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlantDocument")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A plant of one device (`device`, reading at most `max_block` registers at a time) holding `tag`
/// alone: the text the config parser checks one tag in, as a tag list import does per row.
pub(crate) fn one_tag_plant(device: &str, max_block: u16, tag: &TagDraft) -> String {
    let mut document = DocumentMut::new();
    let mut plant = toml_edit::Table::new();
    plant.insert("name", toml_edit::value("one tag"));
    document.insert("plant", Item::Table(plant));
    let mut table = toml_edit::Table::new();
    table.insert("id", toml_edit::value(device));
    table.insert("transport", toml_edit::value("tcp"));
    table.insert("host", toml_edit::value("127.0.0.1"));
    table.insert("port", toml_edit::value(502));
    table.insert("unit", toml_edit::value(1));
    table.insert("max_block", toml_edit::value(i64::from(max_block)));
    let mut tags = ArrayOfTables::new();
    tags.push(tag.to_table());
    table.insert("tags", Item::ArrayOfTables(tags));
    let mut devices = ArrayOfTables::new();
    devices.push(table);
    document.insert("devices", Item::ArrayOfTables(devices));
    document.to_string()
}

/// Replaces the file at `path` with `bytes` so that a crash at any moment leaves either the old file or
/// the new one: a temporary file in the same folder (a rename does not cross file systems), written and
/// flushed to disk, given the old file's permissions, renamed over the old one, and the folder flushed
/// so the rename itself is durable. A link is followed: its target is replaced, the link kept.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".plantwatch-edit-")
        .suffix(".toml")
        .tempfile_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    let permissions = std::fs::metadata(&target)?.permissions();
    temp.as_file().set_permissions(permissions)?;
    temp.persist(&target).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANT: &str = r#"# A plant with comments.
[plant]
name = "Test"

[[devices]]
id = "plc" # the PLC
transport = "tcp"
host = "127.0.0.1"
port = 502
unit = 1

# Level, first tag.
[[devices.tags]]
id = "level"
table = "input"
address = 0
type = "u16"
scale = 0.001 # mm to m

# The second device.
[[devices]]
id = "meter"
transport = "tcp"
host = "127.0.0.1"
port = 502
unit = 2
# end of file
"#;

    fn plant_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plant.toml");
        std::fs::write(&path, text).expect("write plant");
        (dir, path)
    }

    #[test]
    fn a_tag_goes_after_the_devices_last_tag_and_nothing_else_moves() {
        let (_dir, path) = plant_file(PLANT);
        let mut flow = TagDraft::new("flow", Table::Holding, 10, ValueKind::F32);
        flow.order = WordOrder::Cdab;
        flow.unit = Some("L/s".into());
        let plant = add_tag(&path, "plc", &flow).expect("added");
        assert_eq!(plant.devices[0].tags.len(), 2);
        let text = std::fs::read_to_string(&path).expect("read");
        let added = "\n[[devices.tags]]\nid = \"flow\"\ntable = \"holding\"\naddress = 10\ntype = \"f32\"\norder = \"CDAB\"\nunit = \"L/s\"\n";
        let at = PLANT.find("\n# The second device.").expect("marker");
        let expected = format!("{}{added}{}", &PLANT[..at], &PLANT[at..]);
        assert_eq!(text, expected);
    }

    #[test]
    fn a_device_without_tags_gets_its_first() {
        let (_dir, path) = plant_file(PLANT);
        let kwh = TagDraft::new("kwh", Table::Input, 100, ValueKind::U64);
        let plant = add_tag(&path, "meter", &kwh).expect("added");
        assert_eq!(plant.devices[1].tags[0].id(), "kwh");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with(&PLANT[..PLANT.find("# end of file").expect("end")]));
        assert!(
            text.contains("unit = 2\n\n[[devices.tags]]\nid = \"kwh\""),
            "{text}"
        );
    }

    #[test]
    fn a_new_device_and_its_first_tag_go_at_the_end_and_nothing_else_moves() {
        let (_dir, path) = plant_file(PLANT);
        let device = DeviceDraft {
            id: "mystery".into(),
            name: Some("Mystery box".into()),
            link: plantwatch_core::Link::Tcp(plantwatch_core::SocketEndpoint {
                host: "127.0.0.1".into(),
                port: 5020,
            }),
            unit: 37,
        };
        let mut temperature = TagDraft::new("temperature", Table::Holding, 3, ValueKind::F32);
        temperature.order = WordOrder::Cdab;
        let plant = add_device(&path, &device, &temperature).expect("added");
        assert_eq!(plant.devices[2].id, "mystery");
        assert_eq!(plant.devices[2].unit, 37);
        assert_eq!(plant.devices[2].tags[0].id(), "temperature");
        let text = std::fs::read_to_string(&path).expect("read");
        // The file's trailing comment stays last: it closes the file, not the device before it.
        let end = PLANT.find("# end of file").expect("end");
        assert_eq!(
            text,
            format!(
                "{}\n[[devices]]\nid = \"mystery\"\nname = \"Mystery box\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = 5020\nunit = 37\n\n[[devices.tags]]\nid = \"temperature\"\ntable = \"holding\"\naddress = 3\ntype = \"f32\"\norder = \"CDAB\"\n{}",
                &PLANT[..end],
                &PLANT[end..]
            )
        );
    }

    #[test]
    fn a_serial_device_is_written_with_its_line_and_a_duplicate_device_is_refused() {
        let (_dir, path) = plant_file(PLANT);
        let line = plantwatch_core::SerialLine {
            path: "/dev/ttyUSB0".into(),
            baud: 9600,
            parity: plantwatch_core::Parity::None,
            data_bits: 8,
            stop_bits: 2,
        };
        let device = |id: &str| DeviceDraft {
            id: id.into(),
            name: None,
            link: plantwatch_core::Link::Rtu(line.clone()),
            unit: 5,
        };
        let tag = TagDraft::new("t", Table::Holding, 0, ValueKind::U16);
        let plant = add_device(&path, &device("meter2"), &tag).expect("added");
        assert_eq!(
            plant.devices[2].link,
            plantwatch_core::Link::Rtu(line.clone())
        );
        let before = std::fs::read_to_string(&path).expect("read");
        let error = add_device(&path, &device("plc"), &tag).expect_err("duplicate device");
        assert!(matches!(error, EditError::WouldBeInvalid(_)), "{error}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
    }

    #[test]
    fn a_duplicate_is_refused_with_its_place_and_the_file_is_untouched() {
        let (_dir, path) = plant_file(PLANT);
        let again = TagDraft::new("level", Table::Input, 5, ValueKind::U16);
        let error = add_tag(&path, "plc", &again).expect_err("duplicate");
        assert!(matches!(error, EditError::WouldBeInvalid(_)), "{error}");
        let message = error.to_string();
        assert!(message.contains("plant.toml:"), "{message}");
        assert!(message.contains("level"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), PLANT);
    }

    #[test]
    fn an_unknown_device_names_the_known_ones() {
        let (_dir, path) = plant_file(PLANT);
        let tag = TagDraft::new("x", Table::Input, 5, ValueKind::U16);
        let error = add_tag(&path, "drive", &tag).expect_err("unknown");
        assert!(
            error
                .to_string()
                .ends_with("no device 'drive'; the plant has plc, meter"),
            "{error}"
        );
    }

    #[test]
    fn an_update_keeps_what_is_the_same_and_the_keys_it_does_not_carry() {
        let mut document: DocumentMut =
            "id = \"t\"\ntable = \"input\"\naddress = 1\ntype = \"u16\"\nscale = 1 # spelled out\nunit = \"m\" # metres\nalarms = []\n"
                .parse()
                .expect("toml");
        let mut draft = TagDraft::new("t", Table::Input, 1, ValueKind::U16);
        draft.unit = Some("mm".into());
        assert!(PlantDocument::update(document.as_table_mut(), &draft));
        assert_eq!(
            document.to_string(),
            "id = \"t\"\ntable = \"input\"\naddress = 1\ntype = \"u16\"\nscale = 1 # spelled out\nunit = \"mm\" # metres\nalarms = []\n"
        );
        assert!(!PlantDocument::update(document.as_table_mut(), &draft));
    }

    #[test]
    fn a_file_changed_meanwhile_is_not_overwritten() {
        let (_dir, path) = plant_file(PLANT);
        let mut document = PlantDocument::open(&path).expect("open");
        let theirs = PLANT.replace("unit = 2", "unit = 3");
        std::fs::write(&path, &theirs).expect("another writer");
        document
            .tags_of("plc")
            .expect("plc")
            .push(TagDraft::new("x", Table::Input, 9, ValueKind::U16).to_table());
        let error = document.save().expect_err("changed meanwhile");
        assert!(
            matches!(error, EditError::ChangedMeanwhile { .. }),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), theirs);
    }
}
