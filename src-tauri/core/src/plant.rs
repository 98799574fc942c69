//! The validated plant: devices, their links and tags, alarm rules.
//!
//! These types are built only by the config parser (`plantwatch-config`) after every check has passed,
//! so the rest of the code never re-checks ranges or combinations: a `Tag` always fits the protocol
//! address space, `WordOrder` only matters for multi-register types, and every id is unique.

use std::path::PathBuf;
use std::time::Duration;

use crate::short_id::ShortId;

/// A whole plant: what one config file describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plant {
    pub name: String,
    /// The SQLite history file, already resolved against the config's directory.
    pub history: PathBuf,
    pub alarm_settings: AlarmSettings,
    pub devices: Vec<Device>,
    /// The config file this plant came from, when it came from one.
    pub source: Option<PathBuf>,
    /// The process pictures (`[[screens]]`), in config order; the first is the home screen. Empty for a
    /// plant without pictures, which opens on its overview.
    pub screens: Vec<Screen>,
    /// `[northbound.sparkplug]`: publish the plant as a Sparkplug B edge node (none: no northbound).
    pub sparkplug: Option<crate::SparkplugSettings>,
    /// `[api]`: the local HTTP API (none: no API).
    pub api: Option<crate::ApiSettings>,
    /// How long history is kept (`[history] keep`, `keep_summaries`); a tag's own `keep` is the tag's.
    pub retention: Retention,
    /// `[[reports]]`: reports made on a schedule by `collect` and the desktop, in config order.
    pub reports: Vec<crate::ReportSchedule>,
    /// The plant-wide index of each device's first tag (tags of one device are contiguous), and the
    /// number of tags at the end: `first_tags[d]..first_tags[d + 1]` are device `d`'s. Four bytes a
    /// device rather than a (device, tag) pair per tag, which a million-tag plant would feel.
    first_tags: Vec<u32>,
}

impl Plant {
    /// Builds a plant and its tag index. Callers (the config parser, tests, the simulator's demo
    /// plant) must already have validated the devices.
    pub fn new(
        name: impl Into<String>,
        history: PathBuf,
        alarm_settings: AlarmSettings,
        devices: Vec<Device>,
        source: Option<PathBuf>,
    ) -> Self {
        let mut first_tags = Vec::with_capacity(devices.len() + 1);
        let mut next = 0u32;
        first_tags.push(next);
        for device in &devices {
            next += device.tags.len() as u32;
            first_tags.push(next);
        }
        Plant {
            name: name.into(),
            history,
            alarm_settings,
            devices,
            source,
            screens: Vec::new(),
            sparkplug: None,
            api: None,
            retention: Retention::default(),
            reports: Vec::new(),
            first_tags,
        }
    }

    /// Number of tags in the whole plant.
    pub fn tag_count(&self) -> usize {
        self.first_tags.last().copied().unwrap_or(0) as usize
    }

    /// The device and tag behind a plant-wide tag index.
    pub fn tag(&self, index: TagIndex) -> Option<(&Device, &Tag)> {
        let d = self.device_of(index)?;
        Some((self.devices.get(d)?, self.tag_in(d, index)?))
    }

    /// The tag at a plant-wide index when it is one of `device`'s (a caller that knows the device,
    /// such as a device message of a million-sample replay, needs no search).
    pub fn tag_in(&self, device: usize, index: TagIndex) -> Option<&Tag> {
        let first = *self.first_tags.get(device)?;
        self.devices
            .get(device)?
            .tags
            .get(index.0.checked_sub(first)? as usize)
    }

    /// The plant-wide indexes of `device`'s tags (empty for a device the plant has not).
    pub fn tags_of(&self, device: usize) -> std::ops::Range<u32> {
        match (self.first_tags.get(device), self.devices.get(device)) {
            (Some(&first), Some(d)) => first..first + d.tags.len() as u32,
            _ => 0..0,
        }
    }

    /// The index (in `devices`) of the device a plant-wide tag index belongs to; `None` past the last tag.
    pub fn device_of(&self, index: TagIndex) -> Option<usize> {
        if index.0 as usize >= self.tag_count() {
            return None;
        }
        // The last device whose first tag is at or before the index; devices without tags share
        // their first index with the next device, and this skips past them.
        Some(self.first_tags.partition_point(|&first| first <= index.0) - 1)
    }

    /// The plant-wide index of the first tag of a device (tags of one device are contiguous).
    pub fn first_tag_of(&self, device: usize) -> TagIndex {
        TagIndex(self.first_tags[device])
    }

    /// Every tag with its plant-wide index, in config order.
    pub fn tags(&self) -> impl Iterator<Item = (TagIndex, &Device, &Tag)> + '_ {
        self.devices
            .iter()
            .zip(&self.first_tags)
            .flat_map(|(device, &first)| {
                device
                    .tags
                    .iter()
                    .zip(first..)
                    .map(move |(tag, i)| (TagIndex(i), device, tag))
            })
    }

    /// Looks up a tag by its full id, `"device/tag"`.
    pub fn find_tag(&self, full_id: &str) -> Option<TagIndex> {
        let (dev, tag) = full_id.split_once('/')?;
        let d = self.devices.iter().position(|d| d.id == dev)?;
        let t = self.devices[d].tags.iter().position(|t| t.id() == tag)?;
        Some(TagIndex(self.first_tags[d] + t as u32))
    }

    /// The full id (`"device/tag"`) of a tag.
    pub fn full_id(&self, index: TagIndex) -> Option<String> {
        self.tag(index).map(|(d, t)| format!("{}/{}", d.id, t.id()))
    }
}

/// A process picture of the plant (`[[screens]]` in the config): an SVG file whose elements are bound
/// to tags. The file is only named here; `plantwatch-graphics` reads and checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// `[a-z0-9_-]+`, unique among the plant's screens.
    pub id: String,
    /// The title shown in the navigation.
    pub title: String,
    /// The SVG file, already resolved against the config's directory.
    pub file: PathBuf,
}

/// Plant-wide alarm settings (`[alarms]` in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// The longest an operator may shelve an alarm (`max_shelve_s`, default 8 hours).
    pub max_shelve: Duration,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            max_shelve: Duration::from_secs(8 * 3600),
        }
    }
}

/// Index of a tag across the whole plant, in config order. Cheap to copy and to store per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagIndex(pub u32);

/// One Modbus device (a unit id on a link).
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// `[a-z0-9_-]+`, unique in the plant.
    pub id: String,
    pub name: Option<String>,
    pub link: Link,
    /// Unit id (slave address).
    pub unit: u8,
    pub poll_period: Duration,
    pub timeout: Duration,
    /// Most registers (or, for coils and discrete inputs, x16 bits) one read may ask for; at most 125.
    pub max_block: u16,
    /// Unused registers a coalesced read may span.
    pub max_gap: u16,
    pub tags: Vec<Tag>,
}

impl Device {
    /// The name to show: the display name, or the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// How a device is reached. Devices with equal links share one connection and one request at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// Modbus TCP (MBAP framing).
    Tcp(SocketEndpoint),
    /// Raw RTU frames over a TCP socket, as serial-to-Ethernet gateways speak.
    RtuOverTcp(SocketEndpoint),
    /// Modbus RTU on a serial port.
    Rtu(SerialLine),
}

impl Link {
    /// Short name as written in the config: `tcp`, `rtu-over-tcp`, `rtu`.
    pub fn transport_name(&self) -> &'static str {
        match self {
            Link::Tcp(_) => "tcp",
            Link::RtuOverTcp(_) => "rtu-over-tcp",
            Link::Rtu(_) => "rtu",
        }
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Link::Tcp(e) => write!(f, "tcp://{}:{}", e.host, e.port),
            Link::RtuOverTcp(e) => write!(f, "rtu-over-tcp://{}:{}", e.host, e.port),
            Link::Rtu(s) => write!(
                f,
                "rtu:{} {} {}{}{}",
                s.path,
                s.baud,
                s.data_bits,
                s.parity.letter(),
                s.stop_bits
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketEndpoint {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialLine {
    pub path: String,
    pub baud: u32,
    pub parity: Parity,
    /// 7 or 8.
    pub data_bits: u8,
    /// 1 or 2.
    pub stop_bits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parity {
    None,
    Even,
    Odd,
}

impl Parity {
    /// The letter used in "8E1" notation.
    pub fn letter(self) -> char {
        match self {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        }
    }
}

/// One value read from a device.
///
/// A plant may hold a million tags, so a tag is kept to 32 bytes with no heap block in the common case
/// (an id of up to 15 bytes, a heartbeat of whole seconds, every other setting at its default): the id
/// is a [`ShortId`], the heartbeat a [`HeartbeatCode`], and the settings that are usually left alone
/// (display name, unit, alarm rules, scale, offset, deadband) sit together behind one pointer that is
/// null while all of them hold their defaults. A tag that sets any of them costs that one heap block
/// (about 100 bytes), as much as it cost when the numbers were inline and the unit was not. The id and
/// those settings are read through accessors and set with the `with_*` methods; the protocol settings
/// are public fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// `[a-z0-9_-]+`, unique within its device; the full id is `"device/tag"`.
    id: ShortId,
    /// The settings left at their defaults by most tags; `None` while all are (never a default box).
    details: Option<Box<TagDetails>>,
    /// 0-based protocol address.
    pub address: u16,
    pub table: Table,
    /// Register order for types wider than one register (ABCD for the rest).
    pub order: WordOrder,
    pub value_type: ValueType,
    heartbeat: HeartbeatCode,
}

/// A heartbeat in two bytes: whole seconds up to 18 hours (what configs give), or [`Self::EXACT`]
/// when it is kept in milliseconds among the tag's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeartbeatCode(u16);

impl HeartbeatCode {
    const EXACT: HeartbeatCode = HeartbeatCode(u16::MAX);

    /// The code of `ms`, unless it needs the exact form.
    fn of(ms: u32) -> Option<HeartbeatCode> {
        let code = u16::try_from(ms / 1000)
            .ok()
            .filter(|_| ms.is_multiple_of(1000))?;
        (HeartbeatCode(code) != Self::EXACT).then_some(HeartbeatCode(code))
    }
}

/// How long the history file keeps what (`[history] keep` and `keep_summaries`). `None`: for ever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Raw samples older than this are deleted (a tag's own `keep` overrides it).
    pub keep: Option<Duration>,
    /// The per-chunk summaries that draw long trends are deleted when older than this (and than the
    /// raw samples' keep: a summary never goes before its samples).
    pub keep_summaries: Option<Duration>,
    /// Free space the history's filesystem should keep (`[history] min_free`); below it the system
    /// alarm "history disk low" is raised, below half of it the oldest raw samples go. `None`: the
    /// default, 2 GB or a tenth of the filesystem, whichever is less.
    pub min_free: Option<crate::ByteSize>,
}

/// The settings most tags leave at their defaults, kept out of line.
#[derive(Debug, Clone, PartialEq)]
struct TagDetails {
    name: Option<Box<str>>,
    /// The display name in Simplified Chinese, which the window prefers in Chinese.
    name_zh: Option<Box<str>>,
    unit: Option<Box<str>>,
    alarms: Box<[AlarmRule]>,
    /// Engineering value = raw * scale + offset (numbers only).
    scale: f64,
    offset: f64,
    /// A sample is stored when the value moves by more than this since the last stored sample...
    deadband: f64,
    /// ... or when this many milliseconds have passed since the last stored sample (when the tag's
    /// heartbeat code says so; 0 otherwise).
    heartbeat_ms: u32,
    /// How the tag may be written; `None`: read-only.
    write: Option<Box<crate::WriteSpec>>,
    /// How long its raw samples are kept, when not the plant's `[history] keep`.
    keep: Option<Duration>,
}

impl Default for TagDetails {
    fn default() -> Self {
        TagDetails {
            name: None,
            name_zh: None,
            unit: None,
            alarms: Box::new([]),
            scale: 1.0,
            offset: 0.0,
            deadband: 0.0,
            heartbeat_ms: 0,
            write: None,
            keep: None,
        }
    }
}

/// The settings of a tag without details (made once, on first use: a boxed slice cannot be a `const`).
static DEFAULT_DETAILS: std::sync::LazyLock<TagDetails> =
    std::sync::LazyLock::new(TagDetails::default);

impl Tag {
    /// The heartbeat of a tag whose config gives none: a sample at least once a minute.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);
    /// The longest heartbeat a tag can have (`u32::MAX` milliseconds, about 49.7 days).
    pub const MAX_HEARTBEAT: Duration = Duration::from_millis(u32::MAX as u64);

    /// A tag at `address` of `table` with plain settings: word order ABCD, scale 1, offset 0, no
    /// deadband, the [default heartbeat](Self::DEFAULT_HEARTBEAT), no display name, unit or alarms.
    pub fn new(id: &str, table: Table, address: u16, value_type: ValueType) -> Tag {
        Tag {
            id: ShortId::new(id),
            details: None,
            address,
            table,
            order: WordOrder::Abcd,
            value_type,
            heartbeat: HeartbeatCode(Self::DEFAULT_HEARTBEAT.as_secs() as u16),
        }
    }

    /// `[a-z0-9_-]+`, unique within its device; the full id is `"device/tag"`.
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    fn details(&self) -> &TagDetails {
        self.details.as_deref().unwrap_or(&DEFAULT_DETAILS)
    }

    /// The display name, if the config gives one.
    pub fn name(&self) -> Option<&str> {
        self.details.as_ref()?.name.as_deref()
    }

    /// The display name in Simplified Chinese (`name_zh`), if the config gives one.
    pub fn name_zh(&self) -> Option<&str> {
        self.details.as_ref()?.name_zh.as_deref()
    }

    /// The engineering unit, if the config gives one.
    pub fn unit(&self) -> Option<&str> {
        self.details.as_ref()?.unit.as_deref()
    }

    /// The alarm rules on this tag, in config order.
    pub fn alarms(&self) -> &[AlarmRule] {
        self.details.as_ref().map_or(&[], |d| &d.alarms)
    }

    /// Engineering value = raw * scale + offset (numbers only); 1 unless set.
    pub fn scale(&self) -> f64 {
        self.details().scale
    }

    /// Engineering value = raw * scale + offset (numbers only); 0 unless set.
    pub fn offset(&self) -> f64 {
        self.details().offset
    }

    /// True when the raw value is the engineering value (scale 1, offset 0).
    pub fn is_unscaled(&self) -> bool {
        self.scale() == 1.0 && self.offset() == 0.0
    }

    /// A sample is stored when the value moves by more than this since the last stored sample; 0
    /// (every change) unless set.
    pub fn deadband(&self) -> f64 {
        self.details().deadband
    }

    /// A sample is stored at least this often, even when the value did not move.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(u64::from(self.heartbeat_ms()))
    }

    /// The heartbeat in milliseconds.
    pub fn heartbeat_ms(&self) -> u32 {
        if self.heartbeat == HeartbeatCode::EXACT {
            self.details().heartbeat_ms
        } else {
            u32::from(self.heartbeat.0) * 1000
        }
    }

    /// How the tag may be written; `None` for a read-only tag (the default).
    pub fn write_spec(&self) -> Option<&crate::WriteSpec> {
        self.details.as_ref()?.write.as_deref()
    }

    /// The name to show: the display name, or the id.
    pub fn display_name(&self) -> &str {
        self.name().unwrap_or(self.id())
    }

    /// Number of protocol items this tag spans: registers for register tables, bits for bit tables.
    pub fn width(&self) -> u16 {
        if self.table.is_bits() {
            1
        } else {
            self.value_type.registers()
        }
    }

    /// With a display name.
    pub fn with_name(self, name: impl Into<Box<str>>) -> Tag {
        self.with_details(|d| d.name = Some(name.into()))
    }

    /// With a display name in Simplified Chinese.
    pub fn with_name_zh(self, name: impl Into<Box<str>>) -> Tag {
        self.with_details(|d| d.name_zh = Some(name.into()))
    }

    /// With its own history retention of raw samples (the tag's `keep`).
    pub fn with_keep(self, keep: Duration) -> Tag {
        self.with_details(|d| d.keep = Some(keep))
    }

    /// How long the raw samples of this tag are kept, when the tag says (`None`: the plant's keep).
    pub fn keep(&self) -> Option<Duration> {
        self.details.as_ref()?.keep
    }

    /// With an engineering unit.
    pub fn with_unit(self, unit: impl Into<Box<str>>) -> Tag {
        self.with_details(|d| d.unit = Some(unit.into()))
    }

    /// With these alarm rules instead of the ones it had.
    pub fn with_alarms(self, alarms: Vec<AlarmRule>) -> Tag {
        self.with_details(|d| d.alarms = alarms.into_boxed_slice())
    }

    /// With this heartbeat, in whole milliseconds (sub-millisecond parts are dropped) and at most
    /// [`Tag::MAX_HEARTBEAT`] (the config refuses longer ones).
    pub fn with_heartbeat(mut self, heartbeat: Duration) -> Tag {
        let ms = duration_ms(heartbeat);
        match HeartbeatCode::of(ms) {
            Some(code) => {
                self.heartbeat = code;
                self.with_details(|d| d.heartbeat_ms = 0)
            }
            None => {
                self.heartbeat = HeartbeatCode::EXACT;
                self.with_details(|d| d.heartbeat_ms = ms)
            }
        }
    }

    /// With this register order.
    pub fn with_order(mut self, order: WordOrder) -> Tag {
        self.order = order;
        self
    }

    /// With this scale (engineering value = raw * scale + offset).
    pub fn with_scale(self, scale: f64) -> Tag {
        self.with_details(|d| d.scale = scale)
    }

    /// With this offset (engineering value = raw * scale + offset).
    pub fn with_offset(self, offset: f64) -> Tag {
        self.with_details(|d| d.offset = offset)
    }

    /// Writable as `spec` says.
    pub fn with_write(self, spec: crate::WriteSpec) -> Tag {
        self.with_details(|d| d.write = Some(Box::new(spec)))
    }

    /// With this deadband.
    pub fn with_deadband(self, deadband: f64) -> Tag {
        self.with_details(|d| d.deadband = deadband)
    }

    /// Changes the settings kept out of line, keeping `details` `None` while all hold their defaults.
    fn with_details(mut self, change: impl FnOnce(&mut TagDetails)) -> Tag {
        let mut details = self.details.take().unwrap_or_default();
        change(&mut details);
        if *details != *DEFAULT_DETAILS {
            self.details = Some(details);
        }
        self
    }
}

/// Whole milliseconds of `d`, saturating at `u32::MAX`.
fn duration_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// The four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// FC1 (read), FC5/FC15 (write).
    Coil,
    /// FC2.
    Discrete,
    /// FC4.
    Input,
    /// FC3 (read), FC6/FC16 (write).
    Holding,
}

impl Table {
    /// Every table, in the order the config lists them.
    pub const ALL: [Table; 4] = [Table::Coil, Table::Discrete, Table::Input, Table::Holding];

    /// Coils and discrete inputs hold bits; the others hold 16-bit registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::Discrete)
    }

    /// The config spelling: `coil`, `discrete`, `input`, `holding`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Coil => "coil",
            Table::Discrete => "discrete",
            Table::Input => "input",
            Table::Holding => "holding",
        }
    }
}

/// A word the user typed (a table, a value type, a word order) that is not one of the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{}': expected one of {}", crate::echo::escape(input), allowed.join(", "))]
pub struct UnknownName {
    /// What was being named: `table`, `type`, `order`, `role`.
    pub what: &'static str,
    /// The text as typed.
    pub input: String,
    /// The spellings that would have been understood.
    pub allowed: Vec<&'static str>,
}

/// Finds the item of `all` whose `name` is `text`, or says which names are allowed.
pub(crate) fn by_name<T: Copy>(
    what: &'static str,
    text: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|item| name(*item) == text)
        .ok_or_else(|| UnknownName {
            what,
            input: text.to_string(),
            allowed: all.iter().map(|item| name(*item)).collect(),
        })
}

impl std::str::FromStr for Table {
    type Err = UnknownName;

    /// The config spelling: `coil`, `discrete`, `input`, `holding`.
    fn from_str(text: &str) -> Result<Table, UnknownName> {
        by_name("table", text, &Table::ALL, Table::name)
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of a value type without its parameters (a `bit` without its bit number, a `string` without
/// its length): the word the config's `type` key and `read --type` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    Bool,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    Bit,
    String,
}

impl ValueKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [ValueKind; 11] = [
        ValueKind::Bool,
        ValueKind::U16,
        ValueKind::I16,
        ValueKind::U32,
        ValueKind::I32,
        ValueKind::U64,
        ValueKind::I64,
        ValueKind::F32,
        ValueKind::F64,
        ValueKind::Bit,
        ValueKind::String,
    ];

    /// The config spelling: `bool`, `u16`, ..., `bit`, `string`.
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Bool => "bool",
            ValueKind::U16 => "u16",
            ValueKind::I16 => "i16",
            ValueKind::U32 => "u32",
            ValueKind::I32 => "i32",
            ValueKind::U64 => "u64",
            ValueKind::I64 => "i64",
            ValueKind::F32 => "f32",
            ValueKind::F64 => "f64",
            ValueKind::Bit => "bit",
            ValueKind::String => "string",
        }
    }

    /// The value type of this kind, when it needs no parameter (`None` for `bit` and `string`).
    pub fn plain_type(self) -> Option<ValueType> {
        Some(match self {
            ValueKind::Bool => ValueType::Bool,
            ValueKind::U16 => ValueType::U16,
            ValueKind::I16 => ValueType::I16,
            ValueKind::U32 => ValueType::U32,
            ValueKind::I32 => ValueType::I32,
            ValueKind::U64 => ValueType::U64,
            ValueKind::I64 => ValueType::I64,
            ValueKind::F32 => ValueType::F32,
            ValueKind::F64 => ValueType::F64,
            ValueKind::Bit | ValueKind::String => return None,
        })
    }

    /// True for kinds whose value is a boolean (bool, bit).
    pub fn is_boolean(self) -> bool {
        matches!(self, ValueKind::Bool | ValueKind::Bit)
    }
}

impl std::str::FromStr for ValueKind {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<ValueKind, UnknownName> {
        by_name("type", text, &ValueKind::ALL, ValueKind::name)
    }
}

impl std::fmt::Display for ValueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the raw registers (or bit) of a tag become a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    Bool,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    /// One bit of a register, 0 = least significant.
    Bit(u8),
    /// `registers` registers, two characters each, high byte first, trailing NULs stripped (at most
    /// 125, what one read can return; a `u8` keeps `Tag` small).
    String {
        registers: u8,
    },
}

impl ValueType {
    /// Registers the type occupies in a register table.
    pub fn registers(self) -> u16 {
        match self {
            ValueType::Bool | ValueType::U16 | ValueType::I16 | ValueType::Bit(_) => 1,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 2,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => 4,
            ValueType::String { registers } => u16::from(registers),
        }
    }

    /// The config spelling of its kind.
    pub fn name(self) -> &'static str {
        self.kind().name()
    }

    /// Its kind, without the bit number or string length.
    pub fn kind(self) -> ValueKind {
        match self {
            ValueType::Bool => ValueKind::Bool,
            ValueType::U16 => ValueKind::U16,
            ValueType::I16 => ValueKind::I16,
            ValueType::U32 => ValueKind::U32,
            ValueType::I32 => ValueKind::I32,
            ValueType::U64 => ValueKind::U64,
            ValueType::I64 => ValueKind::I64,
            ValueType::F32 => ValueKind::F32,
            ValueType::F64 => ValueKind::F64,
            ValueType::Bit(_) => ValueKind::Bit,
            ValueType::String { .. } => ValueKind::String,
        }
    }

    /// True for types whose value is a boolean (bool, bit).
    pub fn is_boolean(self) -> bool {
        matches!(self, ValueType::Bool | ValueType::Bit(_))
    }
}

/// Order of the bytes of a multi-register value, named by the bytes of the big-endian form:
/// for the float 123456.0 (`47 F1 20 00`), ABCD reads `47F1 2000`, CDAB `2000 47F1`,
/// BADC `F147 0020` and DCBA `0020 F147`. For 64-bit types ABCD = ABCDEFGH, CDAB = GHEFCDAB,
/// BADC = BADCFEHG and DCBA = HGFEDCBA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WordOrder {
    #[default]
    Abcd,
    Cdab,
    Badc,
    Dcba,
}

impl WordOrder {
    pub const ALL: [WordOrder; 4] = [
        WordOrder::Abcd,
        WordOrder::Cdab,
        WordOrder::Badc,
        WordOrder::Dcba,
    ];

    /// The config spelling: `ABCD`, `CDAB`, `BADC`, `DCBA`.
    pub fn name(self) -> &'static str {
        match self {
            WordOrder::Abcd => "ABCD",
            WordOrder::Cdab => "CDAB",
            WordOrder::Badc => "BADC",
            WordOrder::Dcba => "DCBA",
        }
    }
}

impl std::str::FromStr for WordOrder {
    type Err = UnknownName;

    /// The config spelling, in capitals: `ABCD`, `CDAB`, `BADC`, `DCBA`.
    fn from_str(text: &str) -> Result<WordOrder, UnknownName> {
        by_name("order", text, &WordOrder::ALL, WordOrder::name)
    }
}

impl std::fmt::Display for WordOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for ValueType {
    /// Its kind's spelling (`f32`, `bit`, `string`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An alarm configured on a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRule {
    pub condition: AlarmCondition,
    pub priority: Priority,
    /// A limit alarm clears only once the value is back inside the limit by this much.
    pub deadband: f64,
    /// The condition must hold this long before the alarm trips.
    pub on_delay: Duration,
    /// The condition must be gone this long before the alarm clears.
    pub off_delay: Duration,
    pub message: Option<String>,
    /// The message in Simplified Chinese (`message_zh`), which the window prefers in Chinese.
    pub message_zh: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlarmCondition {
    Limit {
        kind: LimitKind,
        limit: f64,
    },
    /// For booleans and bits: active while the value equals `value`.
    State {
        value: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    HiHi,
    Hi,
    Lo,
    LoLo,
}

impl LimitKind {
    /// The config and journal spelling: `hihi`, `hi`, `lo`, `lolo`.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::HiHi => "hihi",
            LimitKind::Hi => "hi",
            LimitKind::Lo => "lo",
            LimitKind::LoLo => "lolo",
        }
    }

    /// High alarms trip above their limit, low alarms below.
    pub fn is_high(self) -> bool {
        matches!(self, LimitKind::HiHi | LimitKind::Hi)
    }
}

/// Alarm priority, most urgent first (so `Ord` sorts critical before low).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// The config spelling: `critical`, `high`, `medium`, `low`.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    pub fn from_name(name: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn tables_kinds_and_orders_read_back_their_own_names() {
        for table in Table::ALL {
            assert_eq!(table.to_string().parse::<Table>(), Ok(table));
        }
        for kind in ValueKind::ALL {
            assert_eq!(kind.to_string().parse::<ValueKind>(), Ok(kind));
        }
        for order in WordOrder::ALL {
            assert_eq!(order.to_string().parse::<WordOrder>(), Ok(order));
        }
        assert_eq!(ValueType::String { registers: 4 }.kind(), ValueKind::String);
    }

    #[test]
    fn an_unknown_name_lists_the_allowed_ones() {
        let error = "inputs".parse::<Table>().expect_err("not a table");
        assert_eq!(
            error.to_string(),
            "unknown table 'inputs': expected one of coil, discrete, input, holding"
        );
        let error = "float".parse::<ValueKind>().expect_err("not a type");
        assert!(
            error.to_string().ends_with("f32, f64, bit, string"),
            "{error}"
        );
        let error = "cdab"
            .parse::<WordOrder>()
            .expect_err("orders are capitals");
        assert!(
            error.to_string().contains("ABCD, CDAB, BADC, DCBA"),
            "{error}"
        );
    }

    use super::*;

    fn tag(id: &str) -> Tag {
        crate::testing::tag(id, ValueType::U16)
    }

    fn device(id: &str, tags: &[&str]) -> Device {
        crate::testing::device(id, tags.iter().map(|t| tag(t)).collect())
    }

    /// The memory budget of a million-tag plant rests on this: a plain tag with a short id is 32
    /// bytes and owns no heap block.
    #[test]
    fn a_plain_tag_with_a_short_id_is_32_bytes_and_nothing_on_the_heap() {
        assert!(
            std::mem::size_of::<Tag>() <= 32,
            "Tag is {} bytes",
            std::mem::size_of::<Tag>()
        );
        let plain = tag("r0001");
        assert!(plain.id.is_inline(), "a short id is kept inline");
        assert!(
            plain.details.is_none(),
            "every setting at its default: no details block"
        );
        assert!(tag("abcdefghijklmno").id.is_inline(), "15 bytes still fit");
    }

    #[test]
    fn rare_settings_read_back_and_an_empty_set_keeps_no_details_block() {
        let flow = tag("flow").with_name("Discharge flow").with_unit("L/s");
        assert_eq!(
            (flow.name(), flow.unit()),
            (Some("Discharge flow"), Some("L/s"))
        );
        assert_eq!(flow.display_name(), "Discharge flow");
        assert_eq!(flow.name_zh(), None);
        let chinese = tag("flow").with_name_zh("出水流量");
        assert_eq!(
            (chinese.name(), chinese.name_zh()),
            (None, Some("出水流量"))
        );
        assert_eq!(
            chinese.display_name(),
            "flow",
            "the name_zh is for the window in Chinese only"
        );
        assert!(flow.alarms().is_empty());
        let bare = tag("flow").with_alarms(Vec::new());
        assert!(bare.details.is_none());
        assert_eq!(
            bare,
            tag("flow"),
            "no alarms is the same tag as a plain one"
        );
        assert_eq!(bare.display_name(), "flow");
    }

    #[test]
    fn numeric_settings_read_back_and_setting_a_default_keeps_no_details_block() {
        let level = tag("level")
            .with_scale(0.1)
            .with_offset(-5.0)
            .with_deadband(0.5)
            .with_heartbeat(Duration::from_secs(10));
        assert_eq!(
            (
                level.scale(),
                level.offset(),
                level.deadband(),
                level.heartbeat_ms()
            ),
            (0.1, -5.0, 0.5, 10_000)
        );
        assert!(!level.is_unscaled());
        let plain = tag("level");
        assert_eq!(
            (
                plain.scale(),
                plain.offset(),
                plain.deadband(),
                plain.heartbeat()
            ),
            (1.0, 0.0, 0.0, Tag::DEFAULT_HEARTBEAT)
        );
        assert!(plain.is_unscaled());
        let defaults = tag("level")
            .with_scale(1.0)
            .with_offset(0.0)
            .with_deadband(0.0)
            .with_heartbeat(Tag::DEFAULT_HEARTBEAT);
        assert!(defaults.details.is_none(), "defaults need no block");
        let back = level
            .with_scale(1.0)
            .with_offset(0.0)
            .with_deadband(0.0)
            .with_heartbeat(Tag::DEFAULT_HEARTBEAT);
        assert!(
            back.details.is_none(),
            "set back to defaults: the block goes"
        );
    }

    #[test]
    fn heartbeats_are_whole_milliseconds_up_to_the_longest_a_tag_can_hold() {
        assert_eq!(tag("a").heartbeat(), Tag::DEFAULT_HEARTBEAT);
        let t = tag("a").with_heartbeat(Duration::from_micros(2_500_900));
        assert_eq!(
            (t.heartbeat(), t.heartbeat_ms()),
            (Duration::from_millis(2_500), 2_500)
        );
        let long = tag("a").with_heartbeat(Duration::from_secs(100 * 86_400));
        assert_eq!(long.heartbeat(), Tag::MAX_HEARTBEAT);
        let hourly = tag("a").with_heartbeat(Duration::from_secs(3600));
        assert_eq!(hourly.heartbeat_ms(), 3_600_000);
        assert!(hourly.details.is_none(), "whole seconds are kept inline");
        let back = t.with_heartbeat(Duration::from_secs(3600));
        assert_eq!(
            back, hourly,
            "an exact heartbeat replaced by whole seconds leaves no block"
        );
    }

    #[test]
    fn tag_indexes_run_across_devices_in_config_order_skipping_devices_without_tags() {
        let plant = Plant::new(
            "p",
            PathBuf::from("p.db"),
            AlarmSettings::default(),
            vec![
                device("empty", &[]),
                device("plc", &["a", "b"]),
                device("none", &[]),
                device("drive", &["c"]),
            ],
            None,
        );
        assert_eq!(plant.tag_count(), 3);
        let ids: Vec<String> = (0..4).filter_map(|i| plant.full_id(TagIndex(i))).collect();
        assert_eq!(ids, ["plc/a", "plc/b", "drive/c"]);
        let listed: Vec<(u32, &str, &str)> = plant
            .tags()
            .map(|(i, d, t)| (i.0, d.id.as_str(), t.id()))
            .collect();
        assert_eq!(
            listed,
            [(0, "plc", "a"), (1, "plc", "b"), (2, "drive", "c")]
        );
        assert_eq!(plant.find_tag("drive/c"), Some(TagIndex(2)));
        assert_eq!(plant.find_tag("plc/c"), None);
        assert_eq!(plant.first_tag_of(3), TagIndex(2));
        assert!(plant.tag(TagIndex(3)).is_none());
        // A device's own tags, found without a search; another device's are not its.
        assert_eq!(
            (
                plant.tags_of(1),
                plant.tags_of(2),
                plant.tags_of(3),
                plant.tags_of(9)
            ),
            (0..2, 2..2, 2..3, 0..0)
        );
        assert_eq!(plant.tag_in(1, TagIndex(1)).map(Tag::id), Some("b"));
        assert_eq!(plant.tag_in(3, TagIndex(2)).map(Tag::id), Some("c"));
        assert!(plant.tag_in(3, TagIndex(1)).is_none());
        assert!(plant.tag_in(1, TagIndex(2)).is_none());
        assert!(plant.tag_in(0, TagIndex(0)).is_none());
        assert!(plant.tag_in(9, TagIndex(0)).is_none());
    }
}
