// Generated from src-tauri/src/desktop/wire.rs by ts-rs. Do not edit: change the Rust types and run
// `PLANTWATCH_WRITE_BINDINGS=1 cargo test -p plantwatch-system-tests --test desktop_bindings`.

export type UiError = { code: ErrorCode, message: string, 
/**
 * For `configInvalid`: every problem of the plant file, with its line and column.
 */
problems: Array<ConfigProblem>, };

export type ErrorCode = "configInvalid" | "io" | "engine" | "history" | "alarm" | "notFound" | "badRequest" | "noPlant" | "denied" | "signInFailed";

export type ConfigProblem = { line: number, col: number, message: string, };

export type PlantInfo = { name: string, 
/**
 * The plant file, or null for the built-in simulated plant.
 */
source: string | null, 
/**
 * True when the plant is the in-process simulated lift station.
 */
simulated: boolean, historyPath: string, devices: Array<DeviceInfo>, tags: Array<TagInfo>, };

export type DeviceInfo = { index: number, id: string, name: string, 
/**
 * The link as text, e.g. `tcp://127.0.0.1:5020`.
 */
link: string, 
/**
 * The same link as fields, for the workbench to start from.
 */
linkSpec: LinkSpec, transport: string, unit: number, pollMs: number, timeoutMs: number, maxBlock: number, maxGap: number, firstTag: number, tagCount: number, };

export type TagInfo = { index: number, device: number, 
/**
 * The full id, `device/tag`.
 */
id: string, name: string, 
/**
 * The name in Simplified Chinese (the plant file's `name_zh`), which the window prefers in Chinese.
 */
nameZh: string | null, unit: string | null, valueType: string, table: string, address: number, boolean: boolean, alarms: Array<AlarmLimit>, 
/**
 * How the tag may be written; null for a read-only tag.
 */
write: WriteInfo | null, };

export type AlarmLimit = { kind: string, limit: number | null, priority: PriorityName, message: string | null, 
/**
 * The message in Simplified Chinese (the plant file's `message_zh`): the window shows it in
 * Chinese for this tag's alarm of this kind, in the summary, the banner and the journal.
 */
messageZh: string | null, };

export type WriteInfo = { 
/**
 * The least role allowed to write it.
 */
role: RoleName, 
/**
 * The accepted range in engineering units (null: open on that side).
 */
min: number | null, max: number | null, 
/**
 * A question to confirm before the write is sent (e.g. "Start pump 1?").
 */
confirm: string | null, 
/**
 * A momentary command: true, then false after this many milliseconds.
 */
pulseMs: number | null, };

export type RoleName = "viewer" | "operator" | "engineer" | "admin";

export type PriorityName = "critical" | "high" | "medium" | "low";

export type WireValue = boolean | number | string;

export type QualityLevel = "good" | "uncertain" | "bad";

export type WireCause = { "kind": "no_connection" } | { "kind": "comm_lost" } | { "kind": "exception", 
/**
 * The exception code (1 illegal function, 2 illegal data address, ...).
 */
code: number, 
/**
 * The code's name in words, e.g. `illegal data address`.
 */
name: string, } | { "kind": "config" } | { "kind": "stale" } | { "kind": "not_a_number" } | { "kind": "bad_reply" };

export type TagUpdate = { 
/**
 * Plant-wide tag index.
 */
i: number, 
/**
 * The value, or null when nothing usable was ever read.
 */
v: WireValue | null, 
/**
 * Quality level.
 */
q: QualityLevel, 
/**
 * Why the quality is not good, else null.
 */
cause: WireCause | null, 
/**
 * When the tag was last read.
 */
t: number | null, 
/**
 * When its value or quality last changed.
 */
c: number | null, };

export type DeviceStateName = "connecting" | "online" | "degraded" | "offline";

export type DeviceView = { index: number, state: DeviceStateName, requests: number, responses: number, timeouts: number, exceptions: Array<ExceptionCount>, linkErrors: number, reconnects: number, missedCycles: number, 
/**
 * Failed requests (timeouts, exceptions, link errors) per request, 0..1.
 */
errorRate: number, latencyLastMs: number, latencyAvgMs: number, latencyMaxMs: number, lastPoll: number | null, lastErrors: Array<DeviceError>, };

export type NorthboundStateName = "connecting" | "online" | "waitingForPrimaryHost" | "offline" | "stopped" | "notStarted";

export type NorthboundView = { state: NorthboundStateName, broker: string | null, messagesPerS: number, metricsPerS: number, metricsPublished: number, metricsReplayed: number, 
/**
 * How far the acknowledged cursor is behind, in seconds (the replay's backlog).
 */
backlogS: number, commandsDone: number, commandsIgnored: number, lastError: string | null, 
/**
 * When the last error happened, ms since the Unix epoch.
 */
lastErrorAt: number | null, };

export type ApiView = { 
/**
 * The API's base, e.g. `https://plant-pc:8443/api/v1/`.
 */
url: string, 
/**
 * Where a browser opens the screens, when the plant serves them (`browser = true`).
 */
screensUrl: string | null, 
/**
 * Plain HTTP on a network address (`insecure = true`): tokens and data travel in clear text.
 */
insecure: boolean, };

export type ExceptionCount = { code: number, count: number, };

export type DeviceError = { at: number, message: string, };

export type LiveBatch = { at: number, 
/**
 * Tags whose value or quality changed since the last batch (the newest reading of each).
 */
tags: Array<TagUpdate>, 
/**
 * Every device's status, about once a second and whenever a device changes state.
 */
devices: Array<DeviceView> | null, 
/**
 * The alarm picture, when it changed.
 */
alarms: AlarmView | null, 
/**
 * Alarms (their ids) that became active since the last batch and should interrupt the operator
 * now: critical or high, neither shelved nor out of service. The alarm service decides this
 * once (`AlarmMachine::is_urgent`); the page plays its tone for these and never re-decides.
 */
urgent: Array<string>, 
/**
 * True when the UI fell behind and missed events: it should ask for a full snapshot.
 */
resync: boolean, };

export type AlarmStateName = "normal" | "activeUnacked" | "activeAcked" | "returnedUnacked";

export type AlarmRow = { 
/**
 * Stable id of the alarm, to act on it.
 */
id: string, 
/**
 * The tag's full id, the device id for communication alarms, or `plantwatch` for system alarms.
 */
source: string, 
/**
 * `hihi`, `hi`, `lo`, `lolo`, `state`, `comm`, or a system alarm's `history_disk_low` or
 * `report_failed`.
 */
kind: string, priority: PriorityName, state: AlarmStateName, message: string, value: number | null, limit: number | null, 
/**
 * When it last became active.
 */
since: number | null, 
/**
 * When its state last changed.
 */
changed: number, 
/**
 * For shelved alarms: when the shelve ends.
 */
shelvedUntil: number | null, shelved: boolean, outOfService: boolean, };

export type PriorityCounts = { critical: number, high: number, medium: number, low: number, };

export type AlarmView = { 
/**
 * False when the plant runs without the alarm service.
 */
available: boolean, 
/**
 * Active alarms by priority (shelved and out-of-service ones not counted).
 */
counts: PriorityCounts, unacknowledged: number, 
/**
 * The newest unacknowledged alarm, for the banner.
 */
newest: AlarmRow | null, 
/**
 * The summary: sorted by priority, then newest first.
 */
alarms: Array<AlarmRow>, shelved: Array<AlarmRow>, outOfService: Array<AlarmRow>, };

export type AlarmActionRequest = { action: AlarmActionKind, 
/**
 * The alarms to act on (ignored when `all` is true).
 */
ids: Array<string>, 
/**
 * Acknowledge every visible alarm.
 */
all: boolean, user: string, comment: string | null, 
/**
 * For `shelve`: how long, in minutes (capped by the plant's maximum).
 */
shelveMinutes: number | null, };

export type AlarmActionKind = "acknowledge" | "shelve" | "unshelve" | "outOfService" | "returnToService";

export type JournalQuery = { from: number | null, to: number | null, 
/**
 * Only entries whose tag or message contains this text.
 */
text: string | null, priority: PriorityName | null, 
/**
 * Newest entries first, at most this many.
 */
limit: number, };

export type JournalRow = { time: number, tag: string, kind: string, priority: string, state: string, value: number | null, limit: number | null, message: string, user: string | null, comment: string | null, };

export type AlarmHealth = { from: number, to: number, activations: number, 
/**
 * Mean activations per 10 minutes over the range (about 1 is the target in steady operation).
 */
averagePer10Minutes: number, 
/**
 * The busiest 10-minute period.
 */
busiest: HealthPeriod | null, 
/**
 * Activations per clock-aligned 10-minute period, from the first activation's to the last's.
 */
per10Minutes: Array<HealthPeriod>, 
/**
 * Stretches of 10 or more activations within 10 minutes.
 */
floods: Array<AlarmFlood>, 
/**
 * Alarms activated 3 or more times within a minute, most first.
 */
chattering: Array<ChatteringAlarm>, 
/**
 * The 10 most frequently activated alarms, most first.
 */
mostFrequent: Array<FrequentAlarm>, };

export type HealthPeriod = { start: number, alarms: number, };

export type AlarmFlood = { start: number, end: number, alarms: number, peak: number, };

export type ChatteringAlarm = { 
/**
 * The alarm's key, `plc/level:hi`.
 */
alarm: string, 
/**
 * Most activations within any one minute.
 */
mostPerMinute: number, 
/**
 * Activations in the whole range.
 */
activations: number, 
/**
 * Start of the first minute it chattered in.
 */
first: number, };

export type FrequentAlarm = { 
/**
 * The alarm's key, `plc/level:hi`.
 */
alarm: string, priority: PriorityName, activations: number, };

export type TrendRequest = { 
/**
 * Plant-wide tag indexes, one per pen.
 */
tags: Array<number>, from: number, to: number, 
/**
 * Pixel columns of the chart: the history is thinned to about this many buckets per pen.
 */
columns: number, };

export type PenData = { tag: number, min: Array<number | null>, max: Array<number | null>, avg: Array<number | null>, 
/**
 * Samples per bucket (at most 1 everywhere means the data was not thinned).
 */
count: Array<number>, };

export type TrendData = { from: number, to: number, 
/**
 * Each bucket's middle, in UTC milliseconds.
 */
time: Array<number>, pens: Array<PenData>, 
/**
 * How long the query took on the Rust side, in milliseconds.
 */
queryMs: number, };

export type ExportFormat = "csv" | "png" | "svg";

export type ReportTemplateView = { id: string, builtin: boolean, 
/**
 * The built-in's name or the file's name.
 */
label: string, };

export type ReportRequest = { template: string, from: number, to: number, };

export type ReportFileFormat = "pdf" | "xlsx" | "csv" | "html";

export type ReportPreview = { title: string, 
/**
 * The lines under the title: period, template, made at.
 */
heading: Array<string>, tables: Array<ReportTableView>, charts: Array<ReportChartView>, };

export type ReportTableView = { title: string, header: Array<string>, rows: Array<Array<string>>, notes: Array<string>, };

export type ReportChartView = { title: string, svg: string, };

export type ScreenFormat = "svg" | "png";

export type PlantFileReport = { path: string, text: string, problems: Array<ConfigProblem>, 
/**
 * Devices and tags when the file is valid.
 */
devices: number, tags: number, };

export type ConnectionTest = { ok: boolean, latencyMs: number, message: string, };

export type SessionView = { 
/**
 * The signed-in user, or null when nobody is (a viewer).
 */
user: string | null, role: RoleName, 
/**
 * True when the plant's database has users. Without users alarms take a typed name and nothing can
 * be written.
 */
users: boolean, 
/**
 * May acknowledge, shelve and take alarms out of service (an operator or more, or anyone on a plant
 * without users).
 */
alarmActions: boolean, 
/**
 * May read and export the audit trail (an engineer or an admin).
 */
audit: boolean, 
/**
 * How long the session may stay unused before it locks itself, in seconds.
 */
idleLockS: number, 
/**
 * Whose session last locked itself after the idle time (shown until someone signs in).
 */
locked: string | null, };

export type WriteRequest = { 
/**
 * Plant-wide tag index.
 */
tag: number, 
/**
 * The value in engineering units (for a pulse: true).
 */
value: WireValue, comment: string | null, };

export type WriteResultKind = "done" | "mismatch" | "refused" | "failed" | "denied" | "outOfRange" | "invalid";

export type WriteResult = { tag: number, result: WriteResultKind, 
/**
 * The value before the write, when it was known.
 */
old: WireValue | null, requested: WireValue, 
/**
 * The value read back after the write.
 */
readback: WireValue | null, 
/**
 * For `refused`: the Modbus exception code.
 */
code: number | null, 
/**
 * For `denied`: the least role that may write the tag.
 */
needed: RoleName | null, 
/**
 * For `outOfRange`: the accepted range.
 */
min: number | null, max: number | null, 
/**
 * For `failed` and `invalid`: why.
 */
reason: string | null, 
/**
 * The whole result in one sentence, as the engine words it.
 */
message: string, 
/**
 * Why the audit trail could not record this write, when it could not (shown beside the result).
 */
auditError: string | null, };

export type AuditQuery = { from: number | null, to: number | null, 
/**
 * Only entries by this user (exact name).
 */
user: string | null, 
/**
 * Only entries of this action (`write`, `sign_in`, ...).
 */
action: string | null, 
/**
 * Only entries whose target, result or comment contains this text.
 */
text: string | null, 
/**
 * Newest entries first, at most this many.
 */
limit: number, };

export type AuditEntries = { 
/**
 * Newest first.
 */
entries: Array<AuditRow>, 
/**
 * `write`, `sign_in`, ... in the trail's own order.
 */
actions: Array<string>, };

export type AuditRow = { id: number, time: number, user: string, role: RoleName, 
/**
 * `write`, `sign_in`, `sign_in_failed`, `sign_out`, `alarm_acknowledged`, ...
 */
action: string, target: string, old: string | null, requested: string | null, readback: string | null, result: string, comment: string | null, };

export type Theme = "dark" | "light";

export type Language = "en" | "zh-CN";

export type WindowSize = { width: number, height: number, };

export type Settings = { theme: Theme, 
/**
 * The screen shown last (`overview`, `tags`, ...).
 */
lastScreen: string, 
/**
 * The operator name put on alarm actions.
 */
operator: string, 
/**
 * A sound for new critical and high alarms.
 */
sound: boolean, 
/**
 * Desktop notifications for new critical and high alarms.
 */
notify: boolean, 
/**
 * Plant files opened before, newest first.
 */
recentPlants: Array<string>, 
/**
 * The plant to open at start (null: the simulated plant).
 */
lastPlant: string | null, window: WindowSize | null, 
/**
 * Tags pinned on the Overview (full ids); empty picks some.
 */
keyTags: Array<string>, 
/**
 * The language chosen in the window; null until one is chosen (the window then follows the
 * system's). Settings files written before it existed load with null.
 */
language: Language | null, 
/**
 * The simulated plant also serves the unconfigured "mystery device" (unit 37), the workbench's
 * training ground. Off by default.
 */
mysteryDevice: boolean, };

export type ScreenView = { id: string, title: string, 
/**
 * The sanitised SVG document (no scripts, handlers or external references), or "" on a problem.
 */
svg: string, 
/**
 * Every bound element, by its `data-pw-id`.
 */
elements: Array<ScreenElement>, 
/**
 * Why the picture cannot be shown (`station.svg:12:3: ...`, one problem a line), else null.
 */
problem: string | null, };

export type ScreenElement = { 
/**
 * The element's `data-pw-id`.
 */
id: number, 
/**
 * Every tag it reads (plant-wide indexes), each once: a batch touches the element only when one
 * of these changed.
 */
tags: Array<number>, bindings: Array<ScreenBinding>, };

export type ScreenBinding = { "kind": "text", tag: number, decimals: number | null, unit: string | null, } | { "kind": "fill", rules: Array<ColourRuleView>, } | { "kind": "stroke", rules: Array<ColourRuleView>, } | { "kind": "level", tag: number, from: number, to: number, axis: LevelAxis, } | { "kind": "visible", tag: number, test: ValueTest, } | { "kind": "rotate", tag: number, valueFrom: number, valueTo: number, angleFrom: number, angleTo: number, } | { "kind": "click", tag: number, action: ClickKind, };

export type LevelAxis = "x" | "y";

export type ColourRuleView = { tag: number, test: ValueTest, colour: string, };

export type ValueTest = { "kind": "is", value: boolean, } | { "kind": "within", from: number | null, to: number | null, } | { "kind": "compare", op: CompareOp, value: number, };

export type CompareOp = ">" | ">=" | "<" | "<=" | "==" | "!=";

export type ClickKind = "trend" | "write";

export type TableName = "coil" | "discrete" | "input" | "holding";

export type ParityName = "none" | "even" | "odd";

export type LinkSpec = { "kind": "tcp", host: string, port: number, } | { "kind": "rtuOverTcp", host: string, port: number, } | { "kind": "rtu", path: string, baud: number, parity: ParityName, dataBits: number, stopBits: number, };

export type SerialPortView = { 
/**
 * The path to open, e.g. `/dev/ttyUSB0`.
 */
path: string, 
/**
 * USB adapters: vendor and product ids as 4 hex digits, and the names the adapter reports.
 */
usb: UsbAdapter | null, };

export type UsbAdapter = { vendorId: string, productId: string, manufacturer: string | null, product: string | null, serialNumber: string | null, };

export type UnitScanRequest = { link: LinkSpec, 
/**
 * First and last unit id (1-247).
 */
first: number, last: number, 
/**
 * How long to wait for each unit, 10-10000 ms.
 */
timeoutMs: number, 
/**
 * A pause between two units, 0-10000 ms (slow gateways, busy buses).
 */
paceMs: number, };

export type RangeScanRequest = { link: LinkSpec, unit: number, table: TableName, from: number, to: number, timeoutMs: number, };

export type SerialProbeRequest = { path: string, unit: number, timeoutMs: number, };

export type AddressRange = { from: number, to: number, };

export type ScanEvent = { "kind": "progress", done: number, total: number, } | { "kind": "unit", unit: number, 
/**
 * What it answered, e.g. `holding 0 = 0x0001 (1)` or `exception 02 illegal data address`.
 */
answer: string, exception: number | null, } | { "kind": "ranges", ranges: Array<AddressRange>, requests: number, } | { "kind": "setting", setting: string, baud: number, parity: ParityName, dataBits: number, stopBits: number, } | { "kind": "done", found: number, elapsedMs: number, } | { "kind": "failed", message: string, } | { "kind": "cancelled" };

export type IdentityObject = { id: number, 
/**
 * The standard object's name (`VendorName`, `ProductCode`, ...) or `object 0xNN`.
 */
name: string, value: string, };

export type GridRequest = { link: LinkSpec, unit: number, table: TableName, address: number, 
/**
 * 1-125 registers or 1-2000 bits.
 */
count: number, timeoutMs: number, selected: number | null, };

export type NumberType = "u16" | "i16" | "u32" | "i32" | "f32" | "u64" | "i64" | "f64";

export type Decoded = { 
/**
 * The first register of the group.
 */
address: number, number: NumberType, 
/**
 * The byte order as a pattern: `ABCD`, `CDAB`, ... for 32 bits, `ABCDEFGH`, `GHEFCDAB`, ... for 64.
 */
pattern: string, 
/**
 * The plant file's word order for it (ABCD, CDAB, BADC, DCBA); null for a 64-bit order the plant
 * file cannot name (shown, not promotable).
 */
wordOrder: string | null, 
/**
 * The value, exactly (integers in full, floats shortest round trip).
 */
text: string, 
/**
 * Looks like a real reading: finite, not denormal, within a sane magnitude.
 */
plausible: boolean, };

export type GridRow = { address: number, 
/**
 * The raw register (or 0/1 for a bit).
 */
raw: number, 
/**
 * The pair starting here as f32 in ABCD, CDAB, BADC, DCBA (empty on the last row and for bits).
 */
f32: Array<Decoded>, };

export type GridView = { rows: Array<GridRow>, 
/**
 * The selected register's groups: u32/i32/f32 in 4 orders, u64/i64/f64 in 8.
 */
selected: Array<Decoded>, latencyMs: number, 
/**
 * When read (UTC ms).
 */
at: number, };

export type FrameView = { seq: number, 
/**
 * UTC ms.
 */
at: number, link: string, 
/**
 * True for a request, false for a response.
 */
request: boolean, unit: number, function: number, address: number | null, count: number | null, exception: number | null, latencyMs: number | null, 
/**
 * The bytes on the wire in hex (the MBAP frame, or the RTU frame with its CRC).
 */
hex: string, 
/**
 * RTU frames: whether the CRC is right (null on TCP).
 */
crcOk: boolean | null, };

export type TrafficView = { enabled: boolean, frames: Array<FrameView>, 
/**
 * Frames the ring of the last 10,000 let go.
 */
dropped: number, };

export type TagDraftView = { id: string, name: string | null, table: TableName, address: number, 
/**
 * The plant file's type word: `u16`, `f32`, `bool`, ...
 */
valueType: string, 
/**
 * ABCD, CDAB, BADC or DCBA for 32- and 64-bit types.
 */
order: string | null, scale: number | null, offset: number | null, unit: string | null, };

export type PromoteTarget = { "kind": "device", device: string, } | { "kind": "newDevice", id: string, name: string, link: LinkSpec, unit: number, };

export type PromoteRequest = { target: PromoteTarget, tag: TagDraftView, };

export type TagImportReport = { 
/**
 * The CSV file imported (null when the user cancelled the dialog).
 */
file: string | null, added: number, changed: number, 
/**
 * The plant as reloaded after the import (null when cancelled or nothing changed).
 */
plant: PlantInfo | null, };
