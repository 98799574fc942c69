//! The validated plant: devices, their links and tags, alarm rules.
//!
//! These types are built only by the config parser (`plantwatch-config`) after every check has passed,
//! so the rest of the code never re-checks ranges or combinations: a `Tag` always fits the protocol
//! address space, `WordOrder` only matters for multi-register types, and every id is unique.

use std::path::PathBuf;
use std::time::Duration;

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
    /// Flat index of every tag, in config order: `TagIndex(n)` -> (device, tag) positions.
    tag_index: Vec<(u32, u32)>,
}

impl Plant {
    /// Builds a plant and its flat tag index. Callers (the config parser, tests, the simulator's demo
    /// plant) must already have validated the devices.
    pub fn new(
        name: impl Into<String>,
        history: PathBuf,
        alarm_settings: AlarmSettings,
        devices: Vec<Device>,
        source: Option<PathBuf>,
    ) -> Self {
        let mut tag_index = Vec::new();
        for (d, device) in devices.iter().enumerate() {
            for t in 0..device.tags.len() {
                tag_index.push((d as u32, t as u32));
            }
        }
        Plant { name: name.into(), history, alarm_settings, devices, source, tag_index }
    }

    /// Number of tags in the whole plant.
    pub fn tag_count(&self) -> usize {
        self.tag_index.len()
    }

    /// The device and tag behind a plant-wide tag index.
    pub fn tag(&self, index: TagIndex) -> Option<(&Device, &Tag)> {
        let &(d, t) = self.tag_index.get(index.0 as usize)?;
        let device = &self.devices[d as usize];
        Some((device, &device.tags[t as usize]))
    }

    /// The plant-wide index of the first tag of a device (tags of one device are contiguous).
    pub fn first_tag_of(&self, device: usize) -> TagIndex {
        TagIndex(self.devices[..device].iter().map(|d| d.tags.len() as u32).sum())
    }

    /// Every tag with its plant-wide index, in config order.
    pub fn tags(&self) -> impl Iterator<Item = (TagIndex, &Device, &Tag)> + '_ {
        self.tag_index.iter().enumerate().map(move |(i, &(d, t))| {
            let device = &self.devices[d as usize];
            (TagIndex(i as u32), device, &device.tags[t as usize])
        })
    }

    /// Looks up a tag by its full id, `"device/tag"`.
    pub fn find_tag(&self, full_id: &str) -> Option<TagIndex> {
        let (dev, tag) = full_id.split_once('/')?;
        self.tags().find(|(_, d, t)| d.id == dev && t.id == tag).map(|(i, _, _)| i)
    }

    /// The full id (`"device/tag"`) of a tag.
    pub fn full_id(&self, index: TagIndex) -> Option<String> {
        self.tag(index).map(|(d, t)| format!("{}/{}", d.id, t.id))
    }
}

/// Plant-wide alarm settings (`[alarms]` in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// The longest an operator may shelve an alarm (`max_shelve_s`, default 8 hours).
    pub max_shelve: Duration,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings { max_shelve: Duration::from_secs(8 * 3600) }
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
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// `[a-z0-9_-]+`, unique within its device; the full id is `"device/tag"`.
    pub id: String,
    pub name: Option<String>,
    pub table: Table,
    /// 0-based protocol address.
    pub address: u16,
    pub value_type: ValueType,
    /// Register order for types wider than one register (ABCD for the rest).
    pub order: WordOrder,
    /// Engineering value = raw * scale + offset (numbers only).
    pub scale: f64,
    pub offset: f64,
    pub unit: Option<String>,
    /// A sample is stored when the value moves by more than this since the last stored sample.
    pub deadband: f64,
    /// ... or when this long has passed since the last stored sample.
    pub heartbeat: Duration,
    pub alarms: Vec<AlarmRule>,
}

impl Tag {
    /// The name to show: the display name, or the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// Number of protocol items this tag spans: registers for register tables, bits for bit tables.
    pub fn width(&self) -> u16 {
        if self.table.is_bits() {
            1
        } else {
            self.value_type.registers()
        }
    }
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
    /// `registers` registers, two characters each, high byte first, trailing NULs stripped.
    String { registers: u16 },
}

impl ValueType {
    /// Registers the type occupies in a register table.
    pub fn registers(self) -> u16 {
        match self {
            ValueType::Bool | ValueType::U16 | ValueType::I16 | ValueType::Bit(_) => 1,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 2,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => 4,
            ValueType::String { registers } => registers,
        }
    }

    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Bool => "bool",
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F32 => "f32",
            ValueType::F64 => "f64",
            ValueType::Bit(_) => "bit",
            ValueType::String { .. } => "string",
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
    pub const ALL: [WordOrder; 4] = [WordOrder::Abcd, WordOrder::Cdab, WordOrder::Badc, WordOrder::Dcba];

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
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlarmCondition {
    Limit { kind: LimitKind, limit: f64 },
    /// For booleans and bits: active while the value equals `value`.
    State { value: bool },
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
    pub const ALL: [Priority; 4] = [Priority::Critical, Priority::High, Priority::Medium, Priority::Low];

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
