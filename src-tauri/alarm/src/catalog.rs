//! The plant's alarms: one entry per alarm rule on a tag, one communication alarm per device, and
//! Plantwatch's own system alarms (`"plantwatch:history_disk_low"`), which every plant has.
//!
//! The catalog is built once from the validated plant and then only read. Every alarm has a small id
//! ([`AlarmId`], an index, for fast lookups while the plant config stays the same) and a key
//! (`"plc/level:hi"`, `"plc:comm"`) that names it across restarts and config edits.

use std::collections::HashMap;
use std::time::Duration;

use plantwatch_core::{AlarmCondition, LimitKind, Plant, Priority, TagIndex};

/// Index of an alarm in the plant's [`Catalog`]. Stable while the plant config is unchanged; use the
/// alarm's key to name it across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlarmId(pub u32);

/// What kind of alarm this is, as the journal spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlarmKind {
    HiHi,
    Hi,
    Lo,
    LoLo,
    /// A boolean or bit tag in its alarm state.
    State,
    /// A device that does not answer.
    Comm,
    /// The history's filesystem has less free space than `[history] min_free` (a system alarm).
    HistoryDiskLow,
    /// A scheduled report (`[[reports]]`) could not be made (a system alarm).
    ReportFailed,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 8] = [
        AlarmKind::HiHi,
        AlarmKind::Hi,
        AlarmKind::Lo,
        AlarmKind::LoLo,
        AlarmKind::State,
        AlarmKind::Comm,
        AlarmKind::HistoryDiskLow,
        AlarmKind::ReportFailed,
    ];

    /// The journal spelling: `hihi`, `hi`, `lo`, `lolo`, `state`, `comm`, `history_disk_low`,
    /// `report_failed`.
    pub fn name(self) -> &'static str {
        match self {
            AlarmKind::HiHi => "hihi",
            AlarmKind::Hi => "hi",
            AlarmKind::Lo => "lo",
            AlarmKind::LoLo => "lolo",
            AlarmKind::State => "state",
            AlarmKind::Comm => "comm",
            AlarmKind::HistoryDiskLow => "history_disk_low",
            AlarmKind::ReportFailed => "report_failed",
        }
    }

    pub fn from_name(name: &str) -> Option<AlarmKind> {
        AlarmKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl From<LimitKind> for AlarmKind {
    fn from(kind: LimitKind) -> Self {
        match kind {
            LimitKind::HiHi => AlarmKind::HiHi,
            LimitKind::Hi => AlarmKind::Hi,
            LimitKind::Lo => AlarmKind::Lo,
            LimitKind::LoLo => AlarmKind::LoLo,
        }
    }
}

/// What makes an alarm's condition true.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// A number past a limit: above it for high kinds, below it for low kinds.
    Limit { high: bool, limit: f64 },
    /// A boolean equal to `value`.
    State { value: bool },
    /// The device is offline.
    Offline,
    /// Plantwatch itself reports the condition (a system alarm).
    Reported,
}

/// Plantwatch's own alarms, about itself rather than the plant. Their source in the journal is
/// `"plantwatch"`, so their keys (`"plantwatch:history_disk_low"`) never meet a device's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemAlarm {
    /// The history's filesystem is below `[history] min_free`.
    HistoryDiskLow,
    /// A scheduled report's last attempt failed (it is tried again each minute; the alarm clears when
    /// that schedule makes its report).
    ReportFailed,
}

impl SystemAlarm {
    pub const ALL: [SystemAlarm; 2] = [SystemAlarm::HistoryDiskLow, SystemAlarm::ReportFailed];

    /// The journal's `tag` column of every system alarm.
    pub const SOURCE: &'static str = "plantwatch";

    fn kind(self) -> AlarmKind {
        match self {
            SystemAlarm::HistoryDiskLow => AlarmKind::HistoryDiskLow,
            SystemAlarm::ReportFailed => AlarmKind::ReportFailed,
        }
    }

    fn message(self) -> &'static str {
        match self {
            SystemAlarm::HistoryDiskLow => "history disk low",
            SystemAlarm::ReportFailed => "scheduled report failed",
        }
    }

    fn priority(self) -> Priority {
        match self {
            // The history stops being kept soon: someone must act today, not at once.
            SystemAlarm::HistoryDiskLow => Priority::High,
            // The plant runs on; a report someone expects is missing until the cause is mended.
            SystemAlarm::ReportFailed => Priority::Medium,
        }
    }

    /// The alarm's key: `"plantwatch:history_disk_low"`.
    pub fn key(self) -> String {
        format!("{}:{}", SystemAlarm::SOURCE, self.kind().name())
    }
}

/// Where an alarm's evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmSource {
    Tag(TagIndex),
    /// Index into `Plant::devices`.
    Device(usize),
    /// Plantwatch itself.
    System(SystemAlarm),
}

/// One alarm of the plant, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmDef {
    pub id: AlarmId,
    /// `"device/tag:kind"` for tag alarms, `"device:comm"` for communication alarms; a second rule of the
    /// same kind on one tag gets `"#2"` appended.
    pub key: String,
    /// What the journal's `tag` column holds: the tag's full id, or the device id for comm alarms.
    pub source_name: String,
    pub source: AlarmSource,
    pub kind: AlarmKind,
    pub trigger: Trigger,
    pub priority: Priority,
    pub deadband: f64,
    pub on_delay: Duration,
    pub off_delay: Duration,
    pub message: String,
}

impl AlarmDef {
    /// The configured limit of a limit alarm.
    pub fn limit(&self) -> Option<f64> {
        match self.trigger {
            Trigger::Limit { limit, .. } => Some(limit),
            _ => None,
        }
    }
}

/// Every alarm of a plant.
#[derive(Debug, Clone)]
pub struct Catalog {
    defs: Vec<AlarmDef>,
    by_tag: Vec<Vec<AlarmId>>,
    by_device: Vec<AlarmId>,
    /// By `SystemAlarm as usize`.
    by_system: Vec<AlarmId>,
    by_key: HashMap<String, AlarmId>,
}

impl Catalog {
    /// Builds the catalog: the rules of every tag in config order, then one comm alarm per device, then
    /// the system alarms.
    pub fn new(plant: &Plant) -> Catalog {
        let mut defs: Vec<AlarmDef> = Vec::new();
        let mut by_tag = vec![Vec::new(); plant.tag_count()];
        let mut by_key = HashMap::new();
        let mut push = |defs: &mut Vec<AlarmDef>, mut def: AlarmDef| {
            let base = def.key.clone();
            let mut n = 2;
            while by_key.contains_key(&def.key) {
                def.key = format!("{base}#{n}");
                n += 1;
            }
            by_key.insert(def.key.clone(), def.id);
            defs.push(def);
        };
        for (index, device, tag) in plant.tags() {
            let full_id = format!("{}/{}", device.id, tag.id());
            for rule in tag.alarms() {
                let id = AlarmId(defs.len() as u32);
                let (kind, trigger, default_message) = match rule.condition {
                    AlarmCondition::Limit { kind, limit } => (
                        AlarmKind::from(kind),
                        Trigger::Limit {
                            high: kind.is_high(),
                            limit,
                        },
                        format!("{} {}", tag.display_name(), kind.name().to_uppercase()),
                    ),
                    AlarmCondition::State { value } => (
                        AlarmKind::State,
                        Trigger::State { value },
                        format!(
                            "{} is {}",
                            tag.display_name(),
                            if value { "on" } else { "off" }
                        ),
                    ),
                };
                by_tag[index.0 as usize].push(id);
                let def = AlarmDef {
                    id,
                    key: format!("{full_id}:{}", kind.name()),
                    source_name: full_id.clone(),
                    source: AlarmSource::Tag(index),
                    kind,
                    trigger,
                    priority: rule.priority,
                    deadband: rule.deadband.max(0.0),
                    on_delay: rule.on_delay,
                    off_delay: rule.off_delay,
                    message: rule.message.clone().unwrap_or(default_message),
                };
                push(&mut defs, def);
            }
        }
        let mut by_device = Vec::with_capacity(plant.devices.len());
        for (d, device) in plant.devices.iter().enumerate() {
            let id = AlarmId(defs.len() as u32);
            by_device.push(id);
            let def = AlarmDef {
                id,
                key: format!("{}:comm", device.id),
                source_name: device.id.clone(),
                source: AlarmSource::Device(d),
                kind: AlarmKind::Comm,
                trigger: Trigger::Offline,
                priority: Priority::High,
                deadband: 0.0,
                on_delay: Duration::ZERO,
                off_delay: Duration::ZERO,
                message: format!("{} offline", device.display_name()),
            };
            push(&mut defs, def);
        }
        let mut by_system = Vec::with_capacity(SystemAlarm::ALL.len());
        for alarm in SystemAlarm::ALL {
            let id = AlarmId(defs.len() as u32);
            by_system.push(id);
            let def = AlarmDef {
                id,
                key: alarm.key(),
                source_name: SystemAlarm::SOURCE.to_string(),
                source: AlarmSource::System(alarm),
                kind: alarm.kind(),
                trigger: Trigger::Reported,
                priority: alarm.priority(),
                deadband: 0.0,
                on_delay: Duration::ZERO,
                off_delay: Duration::ZERO,
                message: alarm.message().to_string(),
            };
            push(&mut defs, def);
        }
        Catalog {
            defs,
            by_tag,
            by_device,
            by_system,
            by_key,
        }
    }

    /// Number of alarms.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The alarm behind an id.
    pub fn get(&self, id: AlarmId) -> Option<&AlarmDef> {
        self.defs.get(id.0 as usize)
    }

    /// Looks an alarm up by its key (`"plc/level:hi"`, `"plc:comm"`).
    pub fn find(&self, key: &str) -> Option<AlarmId> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn defs_slice(&self) -> &[AlarmDef] {
        &self.defs
    }

    /// Every alarm, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &AlarmDef> + '_ {
        self.defs.iter()
    }

    /// The alarms on one tag.
    pub fn for_tag(&self, tag: TagIndex) -> &[AlarmId] {
        self.by_tag
            .get(tag.0 as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A system alarm.
    pub fn for_system(&self, alarm: SystemAlarm) -> Option<AlarmId> {
        self.by_system.get(alarm as usize).copied()
    }

    /// The communication alarm of a device.
    pub fn for_device(&self, device: usize) -> Option<AlarmId> {
        self.by_device.get(device).copied()
    }
}
