// The one place the UI talks to the Rust side. Every command returns a promise that rejects with a
// UiError ({code, message, problems}); callers never parse message text.
//
// Two transports, one set of commands: in Plantwatch's window, Tauri's IPC; in a browser served by the
// local API (`[api] browser = true`), HTTP and a WebSocket to the same commands (see ./browser.ts). The
// transport is chosen per call, by whether Tauri's IPC is there.
import { Channel, invoke } from "@tauri-apps/api/core";
import { browserCall, browserLive, inWindow } from "./browser";
import type {
  AlarmActionRequest,
  AlarmHealth,
  AlarmView,
  ApiView,
  AuditEntries,
  AuditQuery,
  ConnectionTest,
  DeviceView,
  ExportFormat,
  GridRequest,
  GridView,
  IdentityObject,
  LinkSpec,
  JournalQuery,
  JournalRow,
  LiveBatch,
  NorthboundView,
  PlantFileReport,
  PlantInfo,
  PromoteRequest,
  RangeScanRequest,
  ScanEvent,
  ScreenFormat,
  ScreenView,
  SerialPortView,
  SerialProbeRequest,
  SessionView,
  Settings,
  TagImportReport,
  TagUpdate,
  TrafficView,
  TrendData,
  TrendRequest,
  UiError,
  UnitScanRequest,
  WriteRequest,
  WriteResult,
  ReportFileFormat,
  ReportPreview,
  ReportRequest,
  ReportTemplateView,
} from "./bindings/ipc";

/** Turns whatever a rejected invoke gave into a UiError. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const err = e as UiError;
    return { code: err.code, message: err.message, problems: err.problems ?? [] };
  }
  return { code: "engine", message: String(e), problems: [] };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  if (!inWindow()) return browserCall<T>(cmd, args ?? {});
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asUiError(e);
  }
}

export const backend = {
  /** Where the page runs: in the window, or in a browser (where the window-only screens are hidden). */
  get place(): "window" | "browser" {
    return inWindow() ? "window" : "browser";
  },
  plantInfo: () => call<PlantInfo>("plant_info"),
  plantScreens: () => call<ScreenView[]>("plant_screens"),
  exportScreen: (id: string, svg: string, format: ScreenFormat) =>
    call<string>("export_screen", { id, svg, format }),
  liveSubscribe: (onBatch: (batch: LiveBatch) => void) => {
    if (!inWindow()) return browserLive(onBatch);
    const channel = new Channel<LiveBatch>();
    channel.onmessage = onBatch;
    return call<void>("live_subscribe", { channel });
  },
  liveSnapshot: () => call<TagUpdate[]>("live_snapshot"),
  deviceStatuses: () => call<DeviceView[]>("device_statuses"),
  northboundStatus: () => call<NorthboundView | null>("northbound_status"),
  /** The plant's local API while it serves (null: none, or in a browser). */
  apiStatus: () => call<ApiView | null>("api_status"),
  testConnection: (device: number) => call<ConnectionTest>("test_connection", { device }),
  trendHistory: (request: TrendRequest) => call<TrendData>("trend_history", { request }),
  exportTrend: (request: TrendRequest, format: ExportFormat) =>
    call<string>("export_trend", { request, format }),
  /** Reports (issue 15): the templates offered, a preview, and a file saved into the export folder. */
  reportTemplates: () => call<ReportTemplateView[]>("report_templates"),
  previewReport: (request: ReportRequest) => call<ReportPreview>("preview_report", { request }),
  saveReport: (request: ReportRequest, format: ReportFileFormat) =>
    call<string>("save_report", { request, format }),
  openPlant: (path: string | null) => call<PlantInfo>("open_plant", { path }),
  /** The native file dialog for a plant file: its path, or null when the user cancelled. */
  pickPlantFile: () => call<string | null>("pick_plant_file"),
  reloadPlant: () => call<PlantInfo>("reload_plant"),
  checkPlant: (path: string) => call<PlantFileReport>("check_plant", { path }),
  settingsGet: () => call<Settings>("settings_get"),
  settingsSet: (settings: Settings) => call<void>("settings_set", { settings }),
  alarmSnapshot: () => call<AlarmView>("alarm_snapshot"),
  alarmAct: (request: AlarmActionRequest) => call<void>("alarm_act", { request }),
  alarmJournal: (query: JournalQuery) => call<JournalRow[]>("alarm_journal", { query }),
  exportJournal: (query: JournalQuery) => call<string>("export_journal", { query }),
  alarmHealth: (from: number, to: number) => call<AlarmHealth>("alarm_health", { from, to }),
  /** Who acts from the window; `active` says the user used it since the last call (idle lock). */
  session: (active: boolean) => call<SessionView>("session", { active }),
  signIn: (name: string, password: string) => call<SessionView>("sign_in", { name, password }),
  signOut: () => call<SessionView>("sign_out"),
  writeTag: (request: WriteRequest) => call<WriteResult>("write_tag", { request }),
  auditEntries: (query: AuditQuery) => call<AuditEntries>("audit_entries", { query }),
  auditExport: (query: AuditQuery) => call<string>("audit_export", { query }),
  // The commissioning workbench. A scan streams its events on a channel and ends with `done`, `failed`
  // or `cancelled`; one scan runs at a time and `workbenchCancel` stops it.
  workbenchPorts: () => call<SerialPortView[]>("workbench_ports"),
  workbenchScanUnits: (request: UnitScanRequest, onEvent: (e: ScanEvent) => void) =>
    call<void>("workbench_scan_units", { request, channel: channelOf(onEvent) }),
  workbenchScanRanges: (request: RangeScanRequest, onEvent: (e: ScanEvent) => void) =>
    call<void>("workbench_scan_ranges", { request, channel: channelOf(onEvent) }),
  workbenchProbeSerial: (request: SerialProbeRequest, onEvent: (e: ScanEvent) => void) =>
    call<void>("workbench_probe_serial", { request, channel: channelOf(onEvent) }),
  workbenchCancel: () => call<void>("workbench_cancel"),
  workbenchIdentify: (link: LinkSpec, unit: number, timeoutMs: number) =>
    call<IdentityObject[]>("workbench_identify", { link, unit, timeoutMs }),
  workbenchRead: (request: GridRequest) => call<GridView>("workbench_read", { request }),
  /** The frames after `since`; `enabled` (when not null) turns capture on or off first. */
  workbenchTraffic: (enabled: boolean | null, since: number) =>
    call<TrafficView>("workbench_traffic", { enabled, since }),
  workbenchTrafficClear: () => call<void>("workbench_traffic_clear"),
  /** Writes the frames after `since` as text to the export folder; returns the file's path. */
  workbenchTrafficExport: (since: number) => call<string>("workbench_traffic_export", { since }),
  /** Adds a tag to the open plant file (engineer or admin), checks it, saves it and reloads the plant. */
  promoteTag: (request: PromoteRequest) => call<PlantInfo>("promote_tag", { request }),
  /** Writes the plant's tags (or one device's) as CSV to the export folder; returns the file's path. */
  tagsExport: (device: string | null) => call<string>("tags_export", { device }),
  /** Asks for a CSV file with the system dialog and imports it into the open plant file. */
  tagsImport: (device: string | null) => call<TagImportReport>("tags_import", { device }),
};

function channelOf<T>(onMessage: (m: T) => void): Channel<T> {
  const channel = new Channel<T>();
  channel.onmessage = onMessage;
  return channel;
}

export type Backend = typeof backend;
