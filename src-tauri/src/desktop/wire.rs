//! The IPC wire types: what crosses between the Rust side and the web UI, and nothing else.
//!
//! Only the desktop layer knows these types; the engine and its crates keep their own, serde-free
//! types, and the conversions live here. The TypeScript twins in `ui/src/bindings/ipc.ts` are generated
//! from these definitions (see [`render_typescript`]) and a test fails when the committed file drifts.
//!
//! Conventions: field names are camelCase; times are UTC milliseconds since the epoch as plain numbers
//! (an f64 holds them exactly); tags and devices are referred to by their plant-wide index.
//!
//! This file depends on no Tauri item, so the system tests can compile it on their own and check the
//! bindings without a desktop build (tests/tests/desktop_bindings.rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use plantwatch_core::{
    AlarmCondition, Cause, Device, Plant, Priority, Quality, Role, Screen, Tag, TagIndex,
    Timestamp, Value, WriteSpec,
};
use plantwatch_engine::{DeviceState, DeviceStatus, TagLive};
use plantwatch_modbus::exception_name;

/// An error as the UI sees it: a stable code to act on and a message to show.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UiError {
    pub code: ErrorCode,
    pub message: String,
    /// For `configInvalid`: every problem of the plant file, with its line and column.
    pub problems: Vec<ConfigProblem>,
}

/// What went wrong, for the UI to decide what to show (never matched on message text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// The plant file has validation errors (see `problems`).
    ConfigInvalid,
    /// A file could not be read or written.
    Io,
    /// The engine could not start or stop.
    Engine,
    /// The history database could not be read.
    History,
    /// The alarm service refused an action or is not running.
    Alarm,
    /// The request named a tag, device or alarm that does not exist.
    NotFound,
    /// The request itself was malformed (an empty range, an unknown format).
    BadRequest,
    /// No plant is open yet.
    NoPlant,
    /// The signed-in role (or nobody signed in) does not allow this: sign in as someone who may.
    Denied,
    /// The name or password was not accepted (the message does not say which).
    SignInFailed,
}

impl UiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> UiError {
        UiError {
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// One problem in a plant file.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConfigProblem {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// The open plant: its devices and tags, as the screens list them.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlantInfo {
    pub name: String,
    /// The plant file, or null for the built-in simulated plant.
    pub source: Option<String>,
    /// True when the plant is the in-process simulated lift station.
    pub simulated: bool,
    pub history_path: String,
    pub devices: Vec<DeviceInfo>,
    pub tags: Vec<TagInfo>,
}

/// A device's configuration.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub index: u32,
    pub id: String,
    pub name: String,
    /// The link as text, e.g. `tcp://127.0.0.1:5020`.
    pub link: String,
    /// The same link as fields, for the workbench to start from.
    pub link_spec: LinkSpec,
    pub transport: String,
    pub unit: u8,
    pub poll_ms: u32,
    pub timeout_ms: u32,
    pub max_block: u16,
    pub max_gap: u16,
    pub first_tag: u32,
    pub tag_count: u32,
}

/// A tag's configuration.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TagInfo {
    pub index: u32,
    pub device: u32,
    /// The full id, `device/tag`.
    pub id: String,
    pub name: String,
    /// The name in Simplified Chinese (the plant file's `name_zh`), which the window prefers in Chinese.
    pub name_zh: Option<String>,
    pub unit: Option<String>,
    pub value_type: String,
    pub table: String,
    pub address: u16,
    pub boolean: bool,
    pub alarms: Vec<AlarmLimit>,
    /// How the tag may be written; null for a read-only tag.
    pub write: Option<WriteInfo>,
}

/// How a tag may be written (the plant file's `write = { ... }`), for the write controls.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WriteInfo {
    /// The least role allowed to write it.
    pub role: RoleName,
    /// The accepted range in engineering units (null: open on that side).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// A question to confirm before the write is sent (e.g. "Start pump 1?").
    pub confirm: Option<String>,
    /// A momentary command: true, then false after this many milliseconds.
    pub pulse_ms: Option<u32>,
}

impl From<&WriteSpec> for WriteInfo {
    fn from(spec: &WriteSpec) -> Self {
        WriteInfo {
            role: spec.role.into(),
            min: spec.min,
            max: spec.max,
            confirm: spec.confirm.as_deref().map(String::from),
            pulse_ms: spec.pulse_ms,
        }
    }
}

/// A role on the wire: what a signed-in user may do (nobody signed in is a viewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RoleName {
    Viewer,
    Operator,
    Engineer,
    Admin,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => RoleName::Viewer,
            Role::Operator => RoleName::Operator,
            Role::Engineer => RoleName::Engineer,
            Role::Admin => RoleName::Admin,
        }
    }
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Viewer => Role::Viewer,
            RoleName::Operator => Role::Operator,
            RoleName::Engineer => Role::Engineer,
            RoleName::Admin => Role::Admin,
        }
    }
}

/// An alarm configured on a tag (limits are drawn on trends).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlarmLimit {
    pub kind: String,
    pub limit: Option<f64>,
    pub priority: PriorityName,
    pub message: Option<String>,
    /// The message in Simplified Chinese (the plant file's `message_zh`): the window shows it in
    /// Chinese for this tag's alarm of this kind, in the summary, the banner and the journal.
    pub message_zh: Option<String>,
}

/// Alarm priority on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PriorityName {
    Critical,
    High,
    Medium,
    Low,
}

impl From<Priority> for PriorityName {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Critical => PriorityName::Critical,
            Priority::High => PriorityName::High,
            Priority::Medium => PriorityName::Medium,
            Priority::Low => PriorityName::Low,
        }
    }
}

impl PlantInfo {
    /// Describes a plant for the UI.
    pub fn from_plant(plant: &Plant, simulated: bool) -> PlantInfo {
        let devices = plant
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| device_info(plant, i, d))
            .collect();
        let tags = plant
            .tags()
            .map(|(index, device, tag)| tag_info(plant, index, device, tag))
            .collect();
        PlantInfo {
            name: plant.name.clone(),
            // The demo plant is parsed from an embedded copy: its `source` names no file on this machine.
            source: if simulated {
                None
            } else {
                plant.source.as_ref().map(|p| p.display().to_string())
            },
            simulated,
            history_path: plant.history.display().to_string(),
            devices,
            tags,
        }
    }
}

fn device_info(plant: &Plant, index: usize, device: &Device) -> DeviceInfo {
    DeviceInfo {
        index: index as u32,
        id: device.id.clone(),
        name: device.display_name().to_string(),
        link: device.link.to_string(),
        link_spec: LinkSpec::of(&device.link),
        transport: device.link.transport_name().to_string(),
        unit: device.unit,
        poll_ms: millis_u32(device.poll_period),
        timeout_ms: millis_u32(device.timeout),
        max_block: device.max_block,
        max_gap: device.max_gap,
        first_tag: plant.first_tag_of(index).0,
        tag_count: device.tags.len() as u32,
    }
}

fn tag_info(plant: &Plant, index: TagIndex, device: &Device, tag: &Tag) -> TagInfo {
    let device_index = plant
        .devices
        .iter()
        .position(|d| d.id == device.id)
        .unwrap_or(0);
    TagInfo {
        index: index.0,
        device: device_index as u32,
        id: format!("{}/{}", device.id, tag.id()),
        name: tag.display_name().to_string(),
        name_zh: tag.name_zh().map(String::from),
        unit: tag.unit().map(String::from),
        value_type: tag.value_type.name().to_string(),
        table: tag.table.name().to_string(),
        address: tag.address,
        boolean: tag.value_type.is_boolean(),
        alarms: tag
            .alarms()
            .iter()
            .map(|rule| {
                let (kind, limit) = match rule.condition {
                    AlarmCondition::Limit { kind, limit } => (kind.name().to_string(), Some(limit)),
                    AlarmCondition::State { .. } => ("state".to_string(), None),
                };
                AlarmLimit {
                    kind,
                    limit,
                    priority: rule.priority.into(),
                    message: rule.message.clone(),
                    message_zh: rule.message_zh.clone(),
                }
            })
            .collect(),
        write: tag.write_spec().map(WriteInfo::from),
    }
}

fn millis_u32(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// A value on the wire: a number, a boolean or a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum WireValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl From<&Value> for WireValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::Bool(b) => WireValue::Bool(*b),
            Value::Number(n) => WireValue::Number(*n),
            Value::Text(t) => WireValue::Text(t.to_string()),
        }
    }
}

impl From<WireValue> for Value {
    fn from(v: WireValue) -> Self {
        match v {
            WireValue::Bool(b) => Value::Bool(b),
            WireValue::Number(n) => Value::Number(n),
            WireValue::Text(t) => Value::Text(t.into()),
        }
    }
}

/// The quality of a value: its level and, when not good, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum QualityLevel {
    Good,
    Uncertain,
    Bad,
}

/// One tag's latest reading, as sent in live batches and snapshots (short names: a batch may carry
/// thousands).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TagUpdate {
    /// Plant-wide tag index.
    pub i: u32,
    /// The value, or null when nothing usable was ever read.
    pub v: Option<WireValue>,
    /// Quality level.
    pub q: QualityLevel,
    /// Why the quality is not good, else null.
    pub cause: Option<WireCause>,
    /// When the tag was last read.
    #[ts(type = "number | null")]
    pub t: Option<i64>,
    /// When its value or quality last changed.
    #[ts(type = "number | null")]
    pub c: Option<i64>,
}

/// Why a value is not good, as typed data: the UI switches on `kind` and never parses text. The
/// exception's name is decided here, once, by the Modbus crate's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireCause {
    /// The device has not answered since the collector started.
    NoConnection,
    /// The link to the device failed or timed out.
    CommLost,
    /// The device answered with a Modbus exception.
    Exception {
        /// The exception code (1 illegal function, 2 illegal data address, ...).
        code: u8,
        /// The code's name in words, e.g. `illegal data address`.
        name: String,
    },
    /// The configuration asks for an address the device lacks.
    Config,
    /// The last usable value, not refreshed in time.
    Stale,
    /// The device sent a float that is not a number or is infinite.
    NotANumber,
    /// The device answered with a frame that does not fit the request.
    BadReply,
}

impl From<Cause> for WireCause {
    fn from(c: Cause) -> Self {
        match c {
            Cause::NoConnectionYet => WireCause::NoConnection,
            Cause::CommLost => WireCause::CommLost,
            Cause::Exception(code) => WireCause::Exception {
                code,
                name: exception_name(code).to_string(),
            },
            Cause::Configuration => WireCause::Config,
            Cause::Stale => WireCause::Stale,
            Cause::NotANumber => WireCause::NotANumber,
            Cause::BadReply => WireCause::BadReply,
        }
    }
}

/// Splits a quality into the level and cause the UI shows.
pub fn quality_parts(q: Quality) -> (QualityLevel, Option<WireCause>) {
    match q {
        Quality::Good => (QualityLevel::Good, None),
        Quality::Uncertain(c) => (QualityLevel::Uncertain, Some(c.into())),
        Quality::Bad(c) => (QualityLevel::Bad, Some(c.into())),
    }
}

impl TagUpdate {
    /// From the engine's live view of a tag.
    pub fn from_live(index: u32, live: &TagLive) -> TagUpdate {
        let (q, cause) = quality_parts(live.quality);
        TagUpdate {
            i: index,
            v: live.value.as_ref().map(WireValue::from),
            q,
            cause,
            t: live.time.map(Timestamp::as_millis),
            c: live.changed.map(Timestamp::as_millis),
        }
    }
}

/// A device's communication state on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DeviceStateName {
    Connecting,
    Online,
    Degraded,
    Offline,
}

impl From<DeviceState> for DeviceStateName {
    fn from(s: DeviceState) -> Self {
        match s {
            DeviceState::Connecting => DeviceStateName::Connecting,
            DeviceState::Online => DeviceStateName::Online,
            DeviceState::Degraded => DeviceStateName::Degraded,
            DeviceState::Offline => DeviceStateName::Offline,
        }
    }
}

/// The northbound (Sparkplug B) link's state, as the Devices screen shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NorthboundStateName {
    Connecting,
    Online,
    /// Connected, holding back until the primary host application says it is online.
    WaitingForPrimaryHost,
    Offline,
    Stopped,
    /// The link could not start (see `lastError`); the plant is monitored and its history kept.
    NotStarted,
}

/// The plant's local API while it serves (`[api]`): where plant apps and browsers reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApiView {
    /// The API's base, e.g. `https://plant-pc:8443/api/v1/`.
    pub url: String,
    /// Where a browser opens the screens, when the plant serves them (`browser = true`).
    pub screens_url: Option<String>,
    /// Plain HTTP on a network address (`insecure = true`): tokens and data travel in clear text.
    pub insecure: bool,
}

/// The northbound link: where it publishes, how fast, how far the replay is behind, the last error.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NorthboundView {
    pub state: NorthboundStateName,
    pub broker: Option<String>,
    pub messages_per_s: f64,
    pub metrics_per_s: f64,
    #[ts(type = "number")]
    pub metrics_published: u64,
    #[ts(type = "number")]
    pub metrics_replayed: u64,
    /// How far the acknowledged cursor is behind, in seconds (the replay's backlog).
    pub backlog_s: f64,
    #[ts(type = "number")]
    pub commands_done: u64,
    #[ts(type = "number")]
    pub commands_ignored: u64,
    pub last_error: Option<String>,
    /// When the last error happened, ms since the Unix epoch.
    #[ts(type = "number | null")]
    pub last_error_at: Option<i64>,
}

/// A device's state, counters and recent errors.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub index: u32,
    pub state: DeviceStateName,
    #[ts(type = "number")]
    pub requests: u64,
    #[ts(type = "number")]
    pub responses: u64,
    #[ts(type = "number")]
    pub timeouts: u64,
    pub exceptions: Vec<ExceptionCount>,
    #[ts(type = "number")]
    pub link_errors: u64,
    #[ts(type = "number")]
    pub reconnects: u64,
    #[ts(type = "number")]
    pub missed_cycles: u64,
    /// Failed requests (timeouts, exceptions, link errors) per request, 0..1.
    pub error_rate: f64,
    pub latency_last_ms: f64,
    pub latency_avg_ms: f64,
    pub latency_max_ms: f64,
    #[ts(type = "number | null")]
    pub last_poll: Option<i64>,
    pub last_errors: Vec<DeviceError>,
}

/// How many exception responses of one code a device gave.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionCount {
    pub code: u8,
    #[ts(type = "number")]
    pub count: u64,
}

/// One recent device error.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceError {
    #[ts(type = "number")]
    pub at: i64,
    pub message: String,
}

impl From<&DeviceStatus> for DeviceView {
    fn from(s: &DeviceStatus) -> Self {
        let c = &s.counters;
        let exceptions: u64 = c.exceptions.values().sum();
        let failures = c.timeouts + exceptions + c.link_errors;
        let error_rate = if c.requests == 0 {
            0.0
        } else {
            failures as f64 / c.requests as f64
        };
        DeviceView {
            index: s.device as u32,
            state: s.state.into(),
            requests: c.requests,
            responses: c.responses,
            timeouts: c.timeouts,
            exceptions: c
                .exceptions
                .iter()
                .map(|(&code, &count)| ExceptionCount { code, count })
                .collect(),
            link_errors: c.link_errors,
            reconnects: c.reconnects,
            missed_cycles: c.missed_cycles,
            error_rate: error_rate.min(1.0),
            latency_last_ms: c.latency_last_us as f64 / 1000.0,
            latency_avg_ms: c.latency_avg_us as f64 / 1000.0,
            latency_max_ms: c.latency_max_us as f64 / 1000.0,
            last_poll: s.last_poll.map(Timestamp::as_millis),
            last_errors: s
                .last_errors
                .iter()
                .map(|(at, message)| DeviceError {
                    at: at.as_millis(),
                    message: message.clone(),
                })
                .collect(),
        }
    }
}

/// What the live channel carries, at most about ten times a second.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LiveBatch {
    #[ts(type = "number")]
    pub at: i64,
    /// Tags whose value or quality changed since the last batch (the newest reading of each).
    pub tags: Vec<TagUpdate>,
    /// Every device's status, about once a second and whenever a device changes state.
    pub devices: Option<Vec<DeviceView>>,
    /// The alarm picture, when it changed.
    pub alarms: Option<AlarmView>,
    /// Alarms (their ids) that became active since the last batch and should interrupt the operator
    /// now: critical or high, neither shelved nor out of service. The alarm service decides this
    /// once (`AlarmMachine::is_urgent`); the page plays its tone for these and never re-decides.
    pub urgent: Vec<String>,
    /// True when the UI fell behind and missed events: it should ask for a full snapshot.
    pub resync: bool,
}

/// Alarm state as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AlarmStateName {
    Normal,
    /// Active, not yet acknowledged.
    ActiveUnacked,
    /// Active and acknowledged.
    ActiveAcked,
    /// Back to normal but not yet acknowledged.
    ReturnedUnacked,
}

/// One alarm that is not normal (or is shelved or out of service).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlarmRow {
    /// Stable id of the alarm, to act on it.
    pub id: String,
    /// The tag's full id, the device id for communication alarms, or `plantwatch` for system alarms.
    pub source: String,
    /// `hihi`, `hi`, `lo`, `lolo`, `state`, `comm`, or a system alarm's `history_disk_low` or
    /// `report_failed`.
    pub kind: String,
    pub priority: PriorityName,
    pub state: AlarmStateName,
    pub message: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    /// When it last became active.
    #[ts(type = "number | null")]
    pub since: Option<i64>,
    /// When its state last changed.
    #[ts(type = "number")]
    pub changed: i64,
    /// For shelved alarms: when the shelve ends.
    #[ts(type = "number | null")]
    pub shelved_until: Option<i64>,
    pub shelved: bool,
    pub out_of_service: bool,
}

/// Counts of alarms by priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PriorityCounts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl PriorityCounts {
    pub fn add(&mut self, p: PriorityName) {
        match p {
            PriorityName::Critical => self.critical += 1,
            PriorityName::High => self.high += 1,
            PriorityName::Medium => self.medium += 1,
            PriorityName::Low => self.low += 1,
        }
    }
}

/// The whole alarm picture: the summary list, the shelved and out-of-service ones apart, counts.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlarmView {
    /// False when the plant runs without the alarm service.
    pub available: bool,
    /// Active alarms by priority (shelved and out-of-service ones not counted).
    pub counts: PriorityCounts,
    pub unacknowledged: u32,
    /// The newest unacknowledged alarm, for the banner.
    pub newest: Option<AlarmRow>,
    /// The summary: sorted by priority, then newest first.
    pub alarms: Vec<AlarmRow>,
    pub shelved: Vec<AlarmRow>,
    pub out_of_service: Vec<AlarmRow>,
}

impl AlarmView {
    /// The view when no alarm service runs.
    pub fn unavailable() -> AlarmView {
        AlarmView {
            available: false,
            counts: PriorityCounts::default(),
            unacknowledged: 0,
            newest: None,
            alarms: Vec::new(),
            shelved: Vec::new(),
            out_of_service: Vec::new(),
        }
    }
}

/// An operator's action on alarms.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlarmActionRequest {
    pub action: AlarmActionKind,
    /// The alarms to act on (ignored when `all` is true).
    pub ids: Vec<String>,
    /// Acknowledge every visible alarm.
    pub all: bool,
    pub user: String,
    pub comment: Option<String>,
    /// For `shelve`: how long, in minutes (capped by the plant's maximum).
    pub shelve_minutes: Option<u32>,
}

/// What the operator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AlarmActionKind {
    Acknowledge,
    Shelve,
    Unshelve,
    OutOfService,
    ReturnToService,
}

/// A filter on the alarm journal.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JournalQuery {
    #[ts(type = "number | null")]
    pub from: Option<i64>,
    #[ts(type = "number | null")]
    pub to: Option<i64>,
    /// Only entries whose tag or message contains this text.
    pub text: Option<String>,
    pub priority: Option<PriorityName>,
    /// Newest entries first, at most this many.
    pub limit: u32,
}

/// One journal entry: a transition or an operator action.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JournalRow {
    #[ts(type = "number")]
    pub time: i64,
    pub tag: String,
    pub kind: String,
    pub priority: String,
    pub state: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub message: String,
    pub user: Option<String>,
    pub comment: Option<String>,
}

/// Alarm health of a time range (after EEMUA 191 and ISA-18.2): only activations count.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlarmHealth {
    #[ts(type = "number")]
    pub from: i64,
    #[ts(type = "number")]
    pub to: i64,
    pub activations: u32,
    /// Mean activations per 10 minutes over the range (about 1 is the target in steady operation).
    pub average_per_10_minutes: f64,
    /// The busiest 10-minute period.
    pub busiest: Option<HealthPeriod>,
    /// Activations per clock-aligned 10-minute period, from the first activation's to the last's.
    pub per_10_minutes: Vec<HealthPeriod>,
    /// Stretches of 10 or more activations within 10 minutes.
    pub floods: Vec<AlarmFlood>,
    /// Alarms activated 3 or more times within a minute, most first.
    pub chattering: Vec<ChatteringAlarm>,
    /// The 10 most frequently activated alarms, most first.
    pub most_frequent: Vec<FrequentAlarm>,
}

/// Activations in one 10-minute period.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthPeriod {
    #[ts(type = "number")]
    pub start: i64,
    pub alarms: u32,
}

/// An alarm flood: its first and last activation, how many in all, and the most in any 10 minutes.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AlarmFlood {
    #[ts(type = "number")]
    pub start: i64,
    #[ts(type = "number")]
    pub end: i64,
    pub alarms: u32,
    pub peak: u32,
}

/// A chattering alarm.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChatteringAlarm {
    /// The alarm's key, `plc/level:hi`.
    pub alarm: String,
    /// Most activations within any one minute.
    pub most_per_minute: u32,
    /// Activations in the whole range.
    pub activations: u32,
    /// Start of the first minute it chattered in.
    #[ts(type = "number")]
    pub first: i64,
}

/// How often one alarm was activated.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FrequentAlarm {
    /// The alarm's key, `plc/level:hi`.
    pub alarm: String,
    pub priority: PriorityName,
    pub activations: u32,
}

/// A request for trend data.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrendRequest {
    /// Plant-wide tag indexes, one per pen.
    pub tags: Vec<u32>,
    #[ts(type = "number")]
    pub from: i64,
    #[ts(type = "number")]
    pub to: i64,
    /// Pixel columns of the chart: the history is thinned to about this many buckets per pen.
    pub columns: u32,
}

/// One pen of a trend: per bucket of [`TrendData::time`] its statistics; null where the bucket holds no
/// sample.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PenData {
    pub tag: u32,
    pub min: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
    pub avg: Vec<Option<f64>>,
    /// Samples per bucket (at most 1 everywhere means the data was not thinned).
    pub count: Vec<u32>,
}

/// Trend data for a time range: every pen shares the bucket times, so the chart needs one x axis.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrendData {
    #[ts(type = "number")]
    pub from: i64,
    #[ts(type = "number")]
    pub to: i64,
    /// Each bucket's middle, in UTC milliseconds.
    pub time: Vec<f64>,
    pub pens: Vec<PenData>,
    /// How long the query took on the Rust side, in milliseconds.
    pub query_ms: f64,
}

/// Export formats of the trend view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ExportFormat {
    Csv,
    Png,
    Svg,
}

/// A report template the Reports screen offers: a built-in (`shift`, `daily`) or a template file the
/// plant's `[[reports]]` name (its id is then the file's path; only these ids are accepted back).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportTemplateView {
    pub id: String,
    pub builtin: bool,
    /// The built-in's name or the file's name.
    pub label: String,
}

/// A report over `[from, to)` (UTC ms) from one of [`ReportTemplateView`]'s ids.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportRequest {
    pub template: String,
    #[ts(type = "number")]
    pub from: i64,
    #[ts(type = "number")]
    pub to: i64,
}

/// The formats a report is saved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ReportFileFormat {
    Pdf,
    Xlsx,
    Csv,
    Html,
}

impl From<ReportFileFormat> for plantwatch_core::ReportFormat {
    fn from(format: ReportFileFormat) -> Self {
        match format {
            ReportFileFormat::Pdf => plantwatch_core::ReportFormat::Pdf,
            ReportFileFormat::Xlsx => plantwatch_core::ReportFormat::Xlsx,
            ReportFileFormat::Csv => plantwatch_core::ReportFormat::Csv,
            ReportFileFormat::Html => plantwatch_core::ReportFormat::Html,
        }
    }
}

/// A report as the Reports screen previews it: the same tables and charts the files hold, as text
/// (numbers already formatted as the report prints them) and SVG.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportPreview {
    pub title: String,
    /// The lines under the title: period, template, made at.
    pub heading: Vec<String>,
    pub tables: Vec<ReportTableView>,
    pub charts: Vec<ReportChartView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportTableView {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

/// One group's trend chart, as an SVG document (shown as an image: it carries no script).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportChartView {
    pub title: String,
    pub svg: String,
}

impl From<Language> for plantwatch_core::ReportLanguage {
    fn from(language: Language) -> Self {
        match language {
            Language::English => plantwatch_core::ReportLanguage::English,
            Language::SimplifiedChinese => plantwatch_core::ReportLanguage::SimplifiedChinese,
        }
    }
}

/// Export formats of a process picture (issue 16): the picture as shown, as SVG or drawn as PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ScreenFormat {
    Svg,
    Png,
}

/// A plant file's text with its problems, for the Plant files screen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlantFileReport {
    pub path: String,
    pub text: String,
    pub problems: Vec<ConfigProblem>,
    /// Devices and tags when the file is valid.
    pub devices: u32,
    pub tags: u32,
}

/// The result of a connection test.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionTest {
    pub ok: bool,
    pub latency_ms: f64,
    pub message: String,
}

/// Who acts from this window. The Rust side keeps the signed-in user; the page only shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The signed-in user, or null when nobody is (a viewer).
    pub user: Option<String>,
    pub role: RoleName,
    /// True when the plant's database has users. Without users alarms take a typed name and nothing can
    /// be written.
    pub users: bool,
    /// May acknowledge, shelve and take alarms out of service (an operator or more, or anyone on a plant
    /// without users).
    pub alarm_actions: bool,
    /// May read and export the audit trail (an engineer or an admin).
    pub audit: bool,
    /// How long the session may stay unused before it locks itself, in seconds.
    pub idle_lock_s: u32,
    /// Whose session last locked itself after the idle time (shown until someone signs in).
    pub locked: Option<String>,
}

/// A write asked for from the window.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WriteRequest {
    /// Plant-wide tag index.
    pub tag: u32,
    /// The value in engineering units (for a pulse: true).
    pub value: WireValue,
    pub comment: Option<String>,
}

/// How a write ended, as the user is told: `done`, `mismatch`, `refused`, `failed`, `denied`,
/// `out of range`, `invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum WriteResultKind {
    /// The read-back equals the request.
    Done,
    /// The device answered but holds another value (see `readback`).
    Mismatch,
    /// The device answered with an exception (see `code`).
    Refused,
    /// No answer: a timeout or the link is down (see `reason`).
    Failed,
    /// The role does not allow it (see `needed`).
    Denied,
    /// Outside the tag's range (see `min` and `max`).
    OutOfRange,
    /// Not a value this tag can take (wrong type, not writable, not a number).
    Invalid,
}

/// The result of one write, shown in place next to the control that asked for it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WriteResult {
    pub tag: u32,
    pub result: WriteResultKind,
    /// The value before the write, when it was known.
    pub old: Option<WireValue>,
    pub requested: WireValue,
    /// The value read back after the write.
    pub readback: Option<WireValue>,
    /// For `refused`: the Modbus exception code.
    pub code: Option<u8>,
    /// For `denied`: the least role that may write the tag.
    pub needed: Option<RoleName>,
    /// For `outOfRange`: the accepted range.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// For `failed` and `invalid`: why.
    pub reason: Option<String>,
    /// The whole result in one sentence, as the engine words it.
    pub message: String,
    /// Why the audit trail could not record this write, when it could not (shown beside the result).
    pub audit_error: Option<String>,
}

/// A filter on the audit trail.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    #[ts(type = "number | null")]
    pub from: Option<i64>,
    #[ts(type = "number | null")]
    pub to: Option<i64>,
    /// Only entries by this user (exact name).
    pub user: Option<String>,
    /// Only entries of this action (`write`, `sign_in`, ...).
    pub action: Option<String>,
    /// Only entries whose target, result or comment contains this text.
    pub text: Option<String>,
    /// Newest entries first, at most this many.
    pub limit: u32,
}

/// The audit entries matching a query, and every action the trail knows (for the filter).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntries {
    /// Newest first.
    pub entries: Vec<AuditRow>,
    /// `write`, `sign_in`, ... in the trail's own order.
    pub actions: Vec<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub time: i64,
    pub user: String,
    pub role: RoleName,
    /// `write`, `sign_in`, `sign_in_failed`, `sign_out`, `alarm_acknowledged`, ...
    pub action: String,
    pub target: String,
    pub old: Option<String>,
    pub requested: Option<String>,
    pub readback: Option<String>,
    pub result: String,
    pub comment: Option<String>,
}

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

/// The language the window speaks (and its notifications and chart exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    English,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    SimplifiedChinese,
}

/// The window's remembered size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WindowSize {
    pub width: f64,
    pub height: f64,
}

/// A process picture (issue 16) ready to show: the sanitised SVG and what its bound elements display.
/// A screen whose picture cannot be shown carries the reason instead, so the others still open.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScreenView {
    pub id: String,
    pub title: String,
    /// The sanitised SVG document (no scripts, handlers or external references), or "" on a problem.
    pub svg: String,
    /// Every bound element, by its `data-pw-id`.
    pub elements: Vec<ScreenElement>,
    /// Why the picture cannot be shown (`station.svg:12:3: ...`, one problem a line), else null.
    pub problem: Option<String>,
}

/// One element of a picture bound to tags.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScreenElement {
    /// The element's `data-pw-id`.
    pub id: u32,
    /// Every tag it reads (plant-wide indexes), each once: a batch touches the element only when one
    /// of these changed.
    pub tags: Vec<u32>,
    pub bindings: Vec<ScreenBinding>,
}

/// One binding of an element, as the page applies it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ScreenBinding {
    /// The text is the value with `decimals` (null: as it comes) and the unit.
    Text {
        tag: u32,
        decimals: Option<u8>,
        unit: Option<String>,
    },
    /// Fill colour rules, in order; the last that holds wins.
    Fill { rules: Vec<ColourRuleView> },
    /// Stroke colour rules, as for the fill.
    Stroke { rules: Vec<ColourRuleView> },
    /// Scaled between `from` and `to` along `axis` (`y`: height from the bottom; `x`: width).
    Level {
        tag: u32,
        from: f64,
        to: f64,
        axis: LevelAxis,
    },
    /// Shown while the test holds.
    Visible { tag: u32, test: ValueTest },
    /// Turned about its centre: `valueFrom..valueTo` onto `angleFrom..angleTo` degrees.
    #[serde(rename_all = "camelCase")]
    Rotate {
        tag: u32,
        value_from: f64,
        value_to: f64,
        angle_from: f64,
        angle_to: f64,
    },
    /// A click opens the tag's trend or its write control.
    Click { tag: u32, action: ClickKind },
}

/// Which way a level grows: `y` the height from the bottom, `x` the width from the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum LevelAxis {
    X,
    Y,
}

/// A colour rule: when `test` holds for `tag`, paint `colour` (`#rrggbb[aa]` or `none`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ColourRuleView {
    pub tag: u32,
    pub test: ValueTest,
    pub colour: String,
}

/// A test of a tag's value: one shape for colour rules and visibility, so the page has one evaluator.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ValueTest {
    /// A boolean equals `value`.
    Is { value: bool },
    /// A number lies in `from..to`, ends included; a null end is open.
    Within { from: Option<f64>, to: Option<f64> },
    /// A number compared with `value`.
    Compare { op: CompareOp, value: f64 },
}

/// A comparison of a visibility condition or a colour rule's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub enum CompareOp {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "==")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
}

/// What a click on a picture's element opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ClickKind {
    Trend,
    Write,
}

impl ScreenView {
    /// A screen whose picture was read and checked.
    pub fn shown(screen: &Screen, picture: &plantwatch_graphics::Picture) -> ScreenView {
        ScreenView {
            id: screen.id.clone(),
            title: screen.title.clone(),
            svg: picture.svg.clone(),
            elements: picture
                .elements
                .iter()
                .map(|e| ScreenElement {
                    id: e.id,
                    tags: e.tags().iter().map(|t| t.index).collect(),
                    bindings: e.bindings.iter().map(ScreenBinding::from).collect(),
                })
                .collect(),
            problem: None,
        }
    }

    /// A screen whose picture cannot be shown, with why.
    pub fn failed(screen: &Screen, problem: String) -> ScreenView {
        ScreenView {
            id: screen.id.clone(),
            title: screen.title.clone(),
            svg: String::new(),
            elements: Vec::new(),
            problem: Some(problem),
        }
    }
}

impl From<&plantwatch_graphics::Binding> for ScreenBinding {
    fn from(b: &plantwatch_graphics::Binding) -> Self {
        use plantwatch_graphics::{Axis, Binding, ClickAction};
        let rules = |rules: &[plantwatch_graphics::ColourRule]| -> Vec<ColourRuleView> {
            rules
                .iter()
                .map(|r| ColourRuleView {
                    tag: r.tag.index,
                    test: ValueTest::from(&r.when),
                    colour: r.colour.as_str().to_string(),
                })
                .collect()
        };
        match b {
            Binding::Text {
                tag,
                decimals,
                unit,
            } => ScreenBinding::Text {
                tag: tag.index,
                decimals: *decimals,
                unit: unit.clone(),
            },
            Binding::Fill { rules: r } => ScreenBinding::Fill { rules: rules(r) },
            Binding::Stroke { rules: r } => ScreenBinding::Stroke { rules: rules(r) },
            Binding::Level { tag, span, axis } => ScreenBinding::Level {
                tag: tag.index,
                from: span.from,
                to: span.to,
                axis: match axis {
                    Axis::X => LevelAxis::X,
                    Axis::Y => LevelAxis::Y,
                },
            },
            Binding::Visible { tag, condition } => ScreenBinding::Visible {
                tag: tag.index,
                test: ValueTest::from(condition),
            },
            Binding::Rotate {
                tag,
                values,
                angles,
            } => ScreenBinding::Rotate {
                tag: tag.index,
                value_from: values.from,
                value_to: values.to,
                angle_from: angles.from,
                angle_to: angles.to,
            },
            Binding::Click { tag, action } => ScreenBinding::Click {
                tag: tag.index,
                action: match action {
                    ClickAction::Trend => ClickKind::Trend,
                    ClickAction::Write => ClickKind::Write,
                },
            },
        }
    }
}

impl From<&plantwatch_graphics::Match> for ValueTest {
    fn from(m: &plantwatch_graphics::Match) -> Self {
        use plantwatch_graphics::Match;
        match *m {
            Match::Is { value } => ValueTest::Is { value },
            Match::Equals { value } => ValueTest::Compare {
                op: CompareOp::Equal,
                value,
            },
            Match::Within { from, to } => ValueTest::Within { from, to },
        }
    }
}

impl From<&plantwatch_graphics::Condition> for ValueTest {
    fn from(c: &plantwatch_graphics::Condition) -> Self {
        use plantwatch_graphics::{Compare, Condition};
        match *c {
            Condition::Is { value } => ValueTest::Is { value },
            Condition::Compare { op, value } => ValueTest::Compare {
                op: match op {
                    Compare::Above => CompareOp::Above,
                    Compare::AtLeast => CompareOp::AtLeast,
                    Compare::Below => CompareOp::Below,
                    Compare::AtMost => CompareOp::AtMost,
                    Compare::Equal => CompareOp::Equal,
                    Compare::NotEqual => CompareOp::NotEqual,
                },
                value,
            },
        }
    }
}

/// What the desktop remembers between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub theme: Theme,
    /// The screen shown last (`overview`, `tags`, ...).
    pub last_screen: String,
    /// The operator name put on alarm actions.
    pub operator: String,
    /// A sound for new critical and high alarms.
    pub sound: bool,
    /// Desktop notifications for new critical and high alarms.
    pub notify: bool,
    /// Plant files opened before, newest first.
    pub recent_plants: Vec<String>,
    /// The plant to open at start (null: the simulated plant).
    pub last_plant: Option<String>,
    pub window: Option<WindowSize>,
    /// Tags pinned on the Overview (full ids); empty picks some.
    pub key_tags: Vec<String>,
    /// The language chosen in the window; null until one is chosen (the window then follows the
    /// system's). Settings files written before it existed load with null.
    pub language: Option<Language>,
    /// The simulated plant also serves the unconfigured "mystery device" (unit 37), the workbench's
    /// training ground. Off by default.
    pub mystery_device: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::Dark,
            last_screen: "overview".to_string(),
            operator: std::env::var("USER").unwrap_or_else(|_| "operator".to_string()),
            sound: false,
            notify: true,
            recent_plants: Vec::new(),
            last_plant: None,
            window: None,
            key_tags: Vec::new(),
            language: None,
            mystery_device: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The commissioning workbench (issue 11): links typed by the technician, scans, the register grid with
// every word order side by side, the traffic monitor, promoting registers to tags.
// ---------------------------------------------------------------------------------------------------

/// A Modbus table, as the workbench names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TableName {
    Coil,
    Discrete,
    Input,
    Holding,
}

impl From<TableName> for plantwatch_core::Table {
    fn from(t: TableName) -> Self {
        use plantwatch_core::Table;
        match t {
            TableName::Coil => Table::Coil,
            TableName::Discrete => Table::Discrete,
            TableName::Input => Table::Input,
            TableName::Holding => Table::Holding,
        }
    }
}

impl From<plantwatch_core::Table> for TableName {
    fn from(t: plantwatch_core::Table) -> Self {
        use plantwatch_core::Table;
        match t {
            Table::Coil => TableName::Coil,
            Table::Discrete => TableName::Discrete,
            Table::Input => TableName::Input,
            Table::Holding => TableName::Holding,
        }
    }
}

/// A serial line's parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ParityName {
    None,
    Even,
    Odd,
}

impl From<ParityName> for plantwatch_core::Parity {
    fn from(p: ParityName) -> Self {
        use plantwatch_core::Parity;
        match p {
            ParityName::None => Parity::None,
            ParityName::Even => Parity::Even,
            ParityName::Odd => Parity::Odd,
        }
    }
}

impl From<plantwatch_core::Parity> for ParityName {
    fn from(p: plantwatch_core::Parity) -> Self {
        use plantwatch_core::Parity;
        match p {
            Parity::None => ParityName::None,
            Parity::Even => ParityName::Even,
            Parity::Odd => ParityName::Odd,
        }
    }
}

/// The link the workbench talks over, as the technician chose it (a plant's device link, or typed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum LinkSpec {
    Tcp {
        host: String,
        port: u16,
    },
    RtuOverTcp {
        host: String,
        port: u16,
    },
    Rtu {
        path: String,
        baud: u32,
        parity: ParityName,
        data_bits: u8,
        stop_bits: u8,
    },
}

impl LinkSpec {
    /// The link, or what is wrong with the fields (the field and the allowed values).
    pub fn to_link(&self) -> Result<plantwatch_core::Link, String> {
        use plantwatch_core::{Link, SerialLine, SocketEndpoint};
        let endpoint = |host: &str, port: u16| {
            let host = host.trim();
            if host.is_empty() {
                return Err("host: empty; type a host name or an IP address".to_string());
            }
            if port == 0 {
                return Err("port: 0 is not a port; use 1-65535 (Modbus TCP is 502)".to_string());
            }
            Ok(SocketEndpoint {
                host: host.to_string(),
                port,
            })
        };
        Ok(match self {
            LinkSpec::Tcp { host, port } => Link::Tcp(endpoint(host, *port)?),
            LinkSpec::RtuOverTcp { host, port } => Link::RtuOverTcp(endpoint(host, *port)?),
            LinkSpec::Rtu {
                path,
                baud,
                parity,
                data_bits,
                stop_bits,
            } => {
                if path.trim().is_empty() {
                    return Err(
                        "serial port: empty; choose a port such as /dev/ttyUSB0".to_string()
                    );
                }
                if !(300..=1_000_000).contains(baud) {
                    return Err(format!("baud: {baud} is outside 300-1000000"));
                }
                if !matches!(data_bits, 7 | 8) {
                    return Err(format!("data bits: {data_bits}; use 7 or 8"));
                }
                if !matches!(stop_bits, 1 | 2) {
                    return Err(format!("stop bits: {stop_bits}; use 1 or 2"));
                }
                Link::Rtu(SerialLine {
                    path: path.trim().to_string(),
                    baud: *baud,
                    parity: (*parity).into(),
                    data_bits: *data_bits,
                    stop_bits: *stop_bits,
                })
            }
        })
    }

    /// The spec of a configured link (the workbench starts from a plant's device).
    pub fn of(link: &plantwatch_core::Link) -> LinkSpec {
        use plantwatch_core::Link;
        match link {
            Link::Tcp(e) => LinkSpec::Tcp {
                host: e.host.clone(),
                port: e.port,
            },
            Link::RtuOverTcp(e) => LinkSpec::RtuOverTcp {
                host: e.host.clone(),
                port: e.port,
            },
            Link::Rtu(s) => LinkSpec::Rtu {
                path: s.path.clone(),
                baud: s.baud,
                parity: s.parity.into(),
                data_bits: s.data_bits,
                stop_bits: s.stop_bits,
            },
        }
    }
}

/// A serial port of this machine, with the adapter's names where the system knows them.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SerialPortView {
    /// The path to open, e.g. `/dev/ttyUSB0`.
    pub path: String,
    /// USB adapters: vendor and product ids as 4 hex digits, and the names the adapter reports.
    pub usb: Option<UsbAdapter>,
}

/// What a USB serial adapter says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UsbAdapter {
    pub vendor_id: String,
    pub product_id: String,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial_number: Option<String>,
}

/// Ask each unit id of a range one cheap read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UnitScanRequest {
    pub link: LinkSpec,
    /// First and last unit id (1-247).
    pub first: u8,
    pub last: u8,
    /// How long to wait for each unit, 10-10000 ms.
    pub timeout_ms: u32,
    /// A pause between two units, 0-10000 ms (slow gateways, busy buses).
    pub pace_ms: u32,
}

/// Find the readable ranges of one unit's table between two addresses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RangeScanRequest {
    pub link: LinkSpec,
    pub unit: u8,
    pub table: TableName,
    pub from: u16,
    pub to: u16,
    pub timeout_ms: u32,
}

/// Try the common serial settings on a port and see which get answers from a unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SerialProbeRequest {
    pub path: String,
    pub unit: u8,
    pub timeout_ms: u32,
}

/// A readable range of addresses, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AddressRange {
    pub from: u16,
    pub to: u16,
}

/// What a scan reports while it runs, in order; the last event is `done`, `failed` or `cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ScanEvent {
    /// How far the scan got: `done` of `total` steps (units asked, addresses covered, settings tried).
    Progress {
        done: u32,
        total: u32,
    },
    /// A unit answered: with values, or with an exception (which proves it is there too).
    Unit {
        unit: u8,
        /// What it answered, e.g. `holding 0 = 0x0001 (1)` or `exception 02 illegal data address`.
        answer: String,
        exception: Option<u8>,
    },
    /// The readable ranges found (range scans).
    Ranges {
        ranges: Vec<AddressRange>,
        requests: u32,
    },
    /// A serial setting that got an answer (serial probes), e.g. `19200 8E1`.
    Setting {
        setting: String,
        baud: u32,
        parity: ParityName,
        data_bits: u8,
        stop_bits: u8,
    },
    Done {
        found: u32,
        elapsed_ms: f64,
    },
    Failed {
        message: String,
    },
    Cancelled,
}

/// One object of a device's identification (FC 43/14).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    pub id: u8,
    /// The standard object's name (`VendorName`, `ProductCode`, ...) or `object 0xNN`.
    pub name: String,
    pub value: String,
}

/// Read a window of registers (or bits) for the live grid; `selected` is the register whose 2- and
/// 4-register groups are decoded in every order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GridRequest {
    pub link: LinkSpec,
    pub unit: u8,
    pub table: TableName,
    pub address: u16,
    /// 1-125 registers or 1-2000 bits.
    pub count: u16,
    pub timeout_ms: u32,
    pub selected: Option<u16>,
}

/// A number type a group of registers may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NumberType {
    U16,
    I16,
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
}

/// One group of registers read as one type in one order.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Decoded {
    /// The first register of the group.
    pub address: u16,
    pub number: NumberType,
    /// The byte order as a pattern: `ABCD`, `CDAB`, ... for 32 bits, `ABCDEFGH`, `GHEFCDAB`, ... for 64.
    pub pattern: String,
    /// The plant file's word order for it (ABCD, CDAB, BADC, DCBA); null for a 64-bit order the plant
    /// file cannot name (shown, not promotable).
    pub word_order: Option<String>,
    /// The value, exactly (integers in full, floats shortest round trip).
    pub text: String,
    /// Looks like a real reading: finite, not denormal, within a sane magnitude.
    pub plausible: bool,
}

/// One row of the grid: a register (or bit) and the f32 its pair starting here makes in each order.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GridRow {
    pub address: u16,
    /// The raw register (or 0/1 for a bit).
    pub raw: u16,
    /// The pair starting here as f32 in ABCD, CDAB, BADC, DCBA (empty on the last row and for bits).
    pub f32: Vec<Decoded>,
}

/// The live grid after one read.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GridView {
    pub rows: Vec<GridRow>,
    /// The selected register's groups: u32/i32/f32 in 4 orders, u64/i64/f64 in 8.
    pub selected: Vec<Decoded>,
    pub latency_ms: f64,
    /// When read (UTC ms).
    #[ts(type = "number")]
    pub at: i64,
}

/// One frame on a link, as the traffic monitor saw it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FrameView {
    #[ts(type = "number")]
    pub seq: u64,
    /// UTC ms.
    #[ts(type = "number")]
    pub at: i64,
    pub link: String,
    /// True for a request, false for a response.
    pub request: bool,
    pub unit: u8,
    pub function: u8,
    pub address: Option<u16>,
    pub count: Option<u16>,
    pub exception: Option<u8>,
    pub latency_ms: Option<f64>,
    /// The bytes on the wire in hex (the MBAP frame, or the RTU frame with its CRC).
    pub hex: String,
    /// RTU frames: whether the CRC is right (null on TCP).
    pub crc_ok: Option<bool>,
}

/// The frames recorded since a sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrafficView {
    pub enabled: bool,
    pub frames: Vec<FrameView>,
    /// Frames the ring of the last 10,000 let go.
    #[ts(type = "number")]
    pub dropped: u64,
}

/// A tag to add to the open plant file, from registers picked in the grid.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TagDraftView {
    pub id: String,
    pub name: Option<String>,
    pub table: TableName,
    pub address: u16,
    /// The plant file's type word: `u16`, `f32`, `bool`, ...
    pub value_type: String,
    /// ABCD, CDAB, BADC or DCBA for 32- and 64-bit types.
    pub order: Option<String>,
    pub scale: Option<f64>,
    pub offset: Option<f64>,
    pub unit: Option<String>,
}

/// Where a promoted tag goes: an existing device of the plant, or a new device on the workbench's
/// link and unit.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PromoteTarget {
    Device {
        device: String,
    },
    NewDevice {
        id: String,
        name: String,
        link: LinkSpec,
        unit: u8,
    },
}

/// Promote registers to a tag of the open plant file.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PromoteRequest {
    pub target: PromoteTarget,
    pub tag: TagDraftView,
}

/// How a CSV import of tags ended. A CSV with bad rows is refused as an error whose problems are the
/// rows (`line` is the CSV's line, `col` 0), and the plant file is untouched.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TagImportReport {
    /// The CSV file imported (null when the user cancelled the dialog).
    pub file: Option<String>,
    pub added: u32,
    pub changed: u32,
    /// The plant as reloaded after the import (null when cancelled or nothing changed).
    pub plant: Option<PlantInfo>,
}

/// Every exported type, in file order, as TypeScript declarations (the content of
/// `ui/src/bindings/ipc.ts`).
#[allow(dead_code)] // used by the bindings test (tests/tests/desktop_bindings.rs)
pub fn render_typescript() -> String {
    let cfg = ts_rs::Config::default();
    let decls = [
        UiError::decl(&cfg),
        ErrorCode::decl(&cfg),
        ConfigProblem::decl(&cfg),
        PlantInfo::decl(&cfg),
        DeviceInfo::decl(&cfg),
        TagInfo::decl(&cfg),
        AlarmLimit::decl(&cfg),
        WriteInfo::decl(&cfg),
        RoleName::decl(&cfg),
        PriorityName::decl(&cfg),
        WireValue::decl(&cfg),
        QualityLevel::decl(&cfg),
        WireCause::decl(&cfg),
        TagUpdate::decl(&cfg),
        DeviceStateName::decl(&cfg),
        DeviceView::decl(&cfg),
        NorthboundStateName::decl(&cfg),
        NorthboundView::decl(&cfg),
        ApiView::decl(&cfg),
        ExceptionCount::decl(&cfg),
        DeviceError::decl(&cfg),
        LiveBatch::decl(&cfg),
        AlarmStateName::decl(&cfg),
        AlarmRow::decl(&cfg),
        PriorityCounts::decl(&cfg),
        AlarmView::decl(&cfg),
        AlarmActionRequest::decl(&cfg),
        AlarmActionKind::decl(&cfg),
        JournalQuery::decl(&cfg),
        JournalRow::decl(&cfg),
        AlarmHealth::decl(&cfg),
        HealthPeriod::decl(&cfg),
        AlarmFlood::decl(&cfg),
        ChatteringAlarm::decl(&cfg),
        FrequentAlarm::decl(&cfg),
        TrendRequest::decl(&cfg),
        PenData::decl(&cfg),
        TrendData::decl(&cfg),
        ExportFormat::decl(&cfg),
        ReportTemplateView::decl(&cfg),
        ReportRequest::decl(&cfg),
        ReportFileFormat::decl(&cfg),
        ReportPreview::decl(&cfg),
        ReportTableView::decl(&cfg),
        ReportChartView::decl(&cfg),
        ScreenFormat::decl(&cfg),
        PlantFileReport::decl(&cfg),
        ConnectionTest::decl(&cfg),
        SessionView::decl(&cfg),
        WriteRequest::decl(&cfg),
        WriteResultKind::decl(&cfg),
        WriteResult::decl(&cfg),
        AuditQuery::decl(&cfg),
        AuditEntries::decl(&cfg),
        AuditRow::decl(&cfg),
        Theme::decl(&cfg),
        Language::decl(&cfg),
        WindowSize::decl(&cfg),
        Settings::decl(&cfg),
        ScreenView::decl(&cfg),
        ScreenElement::decl(&cfg),
        ScreenBinding::decl(&cfg),
        LevelAxis::decl(&cfg),
        ColourRuleView::decl(&cfg),
        ValueTest::decl(&cfg),
        CompareOp::decl(&cfg),
        ClickKind::decl(&cfg),
        TableName::decl(&cfg),
        ParityName::decl(&cfg),
        LinkSpec::decl(&cfg),
        SerialPortView::decl(&cfg),
        UsbAdapter::decl(&cfg),
        UnitScanRequest::decl(&cfg),
        RangeScanRequest::decl(&cfg),
        SerialProbeRequest::decl(&cfg),
        AddressRange::decl(&cfg),
        ScanEvent::decl(&cfg),
        IdentityObject::decl(&cfg),
        GridRequest::decl(&cfg),
        NumberType::decl(&cfg),
        Decoded::decl(&cfg),
        GridRow::decl(&cfg),
        GridView::decl(&cfg),
        FrameView::decl(&cfg),
        TrafficView::decl(&cfg),
        TagDraftView::decl(&cfg),
        PromoteTarget::decl(&cfg),
        PromoteRequest::decl(&cfg),
        TagImportReport::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/desktop/wire.rs by ts-rs. Do not edit: change the Rust types and run\n\
         // `PLANTWATCH_WRITE_BINDINGS=1 cargo test -p plantwatch-system-tests --test desktop_bindings`.\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_crosses_as_a_tagged_object_with_the_exception_named_in_rust() {
        let json = |c: Cause| serde_json::to_value(WireCause::from(c)).unwrap_or_default();
        assert_eq!(
            json(Cause::Exception(2)),
            serde_json::json!({"kind": "exception", "code": 2, "name": "illegal data address"})
        );
        assert_eq!(
            json(Cause::Exception(0x0B)),
            serde_json::json!({"kind": "exception", "code": 11, "name": "gateway target device failed to respond"})
        );
        assert_eq!(
            json(Cause::CommLost),
            serde_json::json!({"kind": "comm_lost"})
        );
        assert_eq!(
            json(Cause::NoConnectionYet),
            serde_json::json!({"kind": "no_connection"})
        );
        assert_eq!(
            json(Cause::NotANumber),
            serde_json::json!({"kind": "not_a_number"})
        );
    }
}
