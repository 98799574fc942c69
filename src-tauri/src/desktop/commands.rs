//! The Tauri commands: each a few lines over the engine handle and the modules beside this one.

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::State;

use super::control::{self, Control};
use super::state::AppState;
use super::wire::{
    AlarmActionRequest, AlarmHealth, AlarmView, ApiView, AuditEntries, AuditQuery, ConnectionTest,
    DeviceView, ErrorCode, ExportFormat, GridRequest, GridView, IdentityObject, JournalQuery,
    JournalRow, LinkSpec, LiveBatch, NorthboundView, PlantFileReport, PlantInfo, PromoteRequest,
    RangeScanRequest, ReportFileFormat, ReportPreview, ReportRequest, ReportTemplateView,
    ScanEvent, ScreenFormat, ScreenView, SerialPortView, SerialProbeRequest, SessionView, Settings,
    TagImportReport, TagUpdate, TrafficView, TrendData, TrendRequest, UiError, UnitScanRequest,
    WriteRequest, WriteResult,
};
use super::{
    alarms, connection, live, northbound, plant_edit, report, reports, screens, session, trend,
    words, workbench,
};

type Reply<T> = Result<T, UiError>;

fn io(e: impl std::fmt::Display) -> UiError {
    UiError::new(ErrorCode::Io, e.to_string())
}

/// Runs blocking work (SQLite, files) off the async runtime so a slow disk never freezes the window.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Reply<T> + Send + 'static) -> Reply<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new(ErrorCode::Engine, e.to_string()))?
}

#[tauri::command]
pub async fn plant_info(state: State<'_, AppState>) -> Reply<PlantInfo> {
    state.plant_info().await
}

/// The open plant's process pictures (issue 16), sanitised, with their bindings; empty for a plant
/// without `[[screens]]`.
#[tauri::command]
pub async fn plant_screens(state: State<'_, AppState>) -> Reply<Vec<ScreenView>> {
    let (plant, simulated) = state
        .with_session(|s| Ok((s.plant().clone(), s.simulated())))
        .await?;
    blocking(move || Ok(screens::views(&plant, simulated))).await
}

/// Writes a screen as the page shows it (with its current values) to the export folder, as SVG or drawn
/// as PNG; returns the file's path.
#[tauri::command]
pub async fn export_screen(
    state: State<'_, AppState>,
    id: String,
    svg: String,
    format: ScreenFormat,
) -> Reply<String> {
    let plant = state.with_session(|s| Ok(s.plant().clone())).await?;
    let dir = state.export_dir.clone();
    blocking(move || {
        screens::export(&plant, &id, &svg, format, &dir).map(|p| p.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn live_subscribe(state: State<'_, AppState>, channel: Channel<LiveBatch>) -> Reply<()> {
    state.hub.add(channel);
    Ok(())
}

#[tauri::command]
pub async fn live_snapshot(state: State<'_, AppState>) -> Reply<Vec<TagUpdate>> {
    state.with_session(|s| Ok(live::snapshot(&s.engine))).await
}

#[tauri::command]
pub async fn device_statuses(state: State<'_, AppState>) -> Reply<Vec<DeviceView>> {
    state
        .with_session(|s| Ok(live::device_views(&s.engine)))
        .await
}

/// The plant's northbound link, `None` when it configures none.
#[tauri::command]
pub async fn northbound_status(state: State<'_, AppState>) -> Reply<Option<NorthboundView>> {
    state
        .with_session(|s| Ok(s.northbound().map(northbound::view)))
        .await
}

/// The plant's local API while it serves, `None` when the plant has none (or it did not start).
#[tauri::command]
pub async fn api_status(state: State<'_, AppState>) -> Reply<Option<ApiView>> {
    state.with_session(|s| Ok(s.api().cloned())).await
}

#[tauri::command]
pub async fn test_connection(state: State<'_, AppState>, device: u32) -> Reply<ConnectionTest> {
    let plant = state.with_session(|s| Ok(s.plant().clone())).await?;
    let device = plant
        .devices
        .get(device as usize)
        .ok_or_else(|| UiError::new(ErrorCode::NotFound, format!("no device {device}")))?;
    Ok(connection::test(device).await)
}

#[tauri::command]
pub async fn trend_history(state: State<'_, AppState>, request: TrendRequest) -> Reply<TrendData> {
    let (plant, db) = state
        .with_session(|s| Ok((s.plant().clone(), s.engine.history_path().to_path_buf())))
        .await?;
    blocking(move || trend::history(&db, &plant, &request)).await
}

#[tauri::command]
pub async fn export_trend(
    state: State<'_, AppState>,
    request: TrendRequest,
    format: ExportFormat,
) -> Reply<String> {
    let (plant, db) = state
        .with_session(|s| Ok((s.plant().clone(), s.engine.history_path().to_path_buf())))
        .await?;
    let dir = state.export_dir.clone();
    let language = state.settings.get().language.unwrap_or_default();
    blocking(move || {
        let data = trend::history(&db, &plant, &request)?;
        let labels: Vec<report::PenLabel> = request
            .tags
            .iter()
            .filter_map(|&t| plant.tag(plantwatch_core::TagIndex(t)))
            .map(|(d, t)| report::PenLabel {
                id: format!("{}/{}", d.id, t.id()),
                unit: t.unit().map(String::from),
                name: words::tag_name(t, language),
            })
            .collect();
        std::fs::create_dir_all(&dir).map_err(io)?;
        let stamp = file_stamp();
        let ext = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Png => "png",
            ExportFormat::Svg => "svg",
        };
        let path = dir.join(format!("trend-{stamp}.{ext}"));
        match format {
            ExportFormat::Csv => std::fs::write(&path, report::csv(&data, &labels)).map_err(io)?,
            ExportFormat::Png | ExportFormat::Svg => report::chart(
                &path,
                format == ExportFormat::Svg,
                &plant.name,
                language,
                &data,
                &labels,
            )?,
        }
        Ok(path.display().to_string())
    })
    .await
}

/// The report templates the Reports screen offers for the open plant.
#[tauri::command]
pub async fn report_templates(state: State<'_, AppState>) -> Reply<Vec<ReportTemplateView>> {
    state
        .with_session(|s| Ok(reports::templates(s.plant())))
        .await
}

/// A report over a period, as the Reports screen previews it (tables and charts), in the window's
/// language.
#[tauri::command]
pub async fn preview_report(
    state: State<'_, AppState>,
    request: ReportRequest,
) -> Reply<ReportPreview> {
    let (plant, db) = state
        .with_session(|s| Ok((s.plant().clone(), s.engine.history_path().to_path_buf())))
        .await?;
    let language = state.settings.get().language.unwrap_or_default().into();
    blocking(move || {
        let report = reports::build(&db, &plant, &request, language)?;
        Ok(reports::preview(&report))
    })
    .await
}

/// Saves a report over a period into the export folder; the file's path.
#[tauri::command]
pub async fn save_report(
    state: State<'_, AppState>,
    request: ReportRequest,
    format: ReportFileFormat,
) -> Reply<String> {
    let (plant, db) = state
        .with_session(|s| Ok((s.plant().clone(), s.engine.history_path().to_path_buf())))
        .await?;
    let language = state.settings.get().language.unwrap_or_default().into();
    let dir = state.export_dir.clone();
    blocking(move || {
        let report = reports::build(&db, &plant, &request, language)?;
        let path = reports::save(&report, &dir, &file_stamp(), format.into())?;
        Ok(path.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn open_plant(state: State<'_, AppState>, path: Option<String>) -> Reply<PlantInfo> {
    state.open(path.map(PathBuf::from)).await
}

/// The native open dialog for a plant file, in the window's language, starting in the open plant's
/// folder: the chosen path, or null when the user cancelled. The page then opens it with `open_plant`.
#[tauri::command]
pub async fn pick_plant_file<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    window: tauri::Window<R>,
    state: State<'_, AppState>,
) -> Reply<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let language = state.settings.get().language.unwrap_or_default();
    let folder = state
        .with_session(|s| Ok(s.plant().source.clone()))
        .await
        .ok()
        .flatten()
        .and_then(|file| file.parent().map(PathBuf::from));
    let mut dialog = app
        .dialog()
        .file()
        .set_parent(&window)
        .set_title(language.pick_plant_title())
        .add_filter(language.plant_files(), &["toml"]);
    if let Some(folder) = folder {
        dialog = dialog.set_directory(folder);
    }
    // The dialog waits for the user: off the async runtime.
    blocking(move || {
        Ok(dialog
            .blocking_pick_file()
            .and_then(|chosen| chosen.into_path().ok())
            .map(|path| path.display().to_string()))
    })
    .await
}

#[tauri::command]
pub async fn reload_plant(state: State<'_, AppState>) -> Reply<PlantInfo> {
    state.reload().await
}

#[tauri::command]
pub async fn check_plant(path: String) -> Reply<PlantFileReport> {
    blocking(move || {
        let path = PathBuf::from(path);
        // Only a regular file under the size limit: a FIFO or /dev/zero must not hang the command.
        let text = plantwatch_config::read_config_file(&path, plantwatch_config::MAX_CONFIG_BYTES)
            .map_err(|e| io(format!("{}: {e}", path.display())))?;
        let (problems, devices, tags) = match plantwatch_config::parse(&text, &path) {
            Ok(plant) => (
                Vec::new(),
                plant.devices.len() as u32,
                plant.tag_count() as u32,
            ),
            Err(errors) => (session::problems_of(&errors), 0, 0),
        };
        Ok(PlantFileReport {
            path: path.display().to_string(),
            text,
            problems,
            devices,
            tags,
        })
    })
    .await
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> Reply<Settings> {
    Ok(state.settings.get())
}

#[tauri::command]
pub async fn settings_set(state: State<'_, AppState>, settings: Settings) -> Reply<()> {
    // The page owns its preferences; the plant history (recent, last) and the window size are kept
    // by this side, so a page holding an older copy cannot undo them.
    let kept = state.settings.get();
    let merged = Settings {
        window: kept.window,
        recent_plants: kept.recent_plants,
        last_plant: kept.last_plant,
        ..settings
    };
    state.settings.set(merged).map_err(io)
}

#[tauri::command]
pub async fn alarm_snapshot(state: State<'_, AppState>) -> Reply<AlarmView> {
    state.with_session(|s| Ok(alarms::view(&s.engine))).await
}

/// Acts on alarms: on a plant with users as the signed-in operator (the page's name is ignored), and
/// never for a viewer; on a plant without users under the typed name. Audited.
#[tauri::command]
pub async fn alarm_act(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    request: AlarmActionRequest,
) -> Reply<()> {
    let db = plant_db(&state).await?;
    let (request, role) = {
        let (control, db) = (control.inner().clone(), db.clone());
        blocking(move || control.alarm_request(&db, request)).await?
    };
    state
        .with_session(|s| alarms::act(&s.engine, &request, role))
        .await
}

#[tauri::command]
pub async fn alarm_journal(
    state: State<'_, AppState>,
    query: JournalQuery,
) -> Reply<Vec<JournalRow>> {
    let db = state
        .with_session(|s| Ok(s.engine.history_path().to_path_buf()))
        .await?;
    blocking(move || alarms::journal(&db, &query)).await
}

/// Alarm health from `from` to `to` (UTC milliseconds).
#[tauri::command]
pub async fn alarm_health(state: State<'_, AppState>, from: i64, to: i64) -> Reply<AlarmHealth> {
    let db = state
        .with_session(|s| Ok(s.engine.history_path().to_path_buf()))
        .await?;
    blocking(move || alarms::health(&db, from, to)).await
}

#[tauri::command]
pub async fn export_journal(state: State<'_, AppState>, query: JournalQuery) -> Reply<String> {
    let db = state
        .with_session(|s| Ok(s.engine.history_path().to_path_buf()))
        .await?;
    let dir = state.export_dir.clone();
    blocking(move || {
        let rows = alarms::journal(
            &db,
            &JournalQuery {
                limit: u32::MAX,
                ..query
            },
        )?;
        std::fs::create_dir_all(&dir).map_err(io)?;
        let stamp = file_stamp();
        let path = dir.join(format!("alarm-journal-{stamp}.csv"));
        std::fs::write(&path, alarms::journal_csv(&rows)).map_err(io)?;
        Ok(path.display().to_string())
    })
    .await
}

/// The open plant's database: its history, alarm journal, users and audit trail.
async fn plant_db(state: &AppState) -> Reply<PathBuf> {
    state
        .with_session(|s| Ok(s.engine.history_path().to_path_buf()))
        .await
}

/// Who acts from the window; `active` tells that the user just used it (restarting the idle lock).
#[tauri::command]
pub async fn session(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    active: bool,
) -> Reply<SessionView> {
    let db = plant_db(&state).await?;
    let control = control.inner().clone();
    blocking(move || control.view(&db, active)).await
}

#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    name: String,
    password: String,
) -> Reply<SessionView> {
    let db = plant_db(&state).await?;
    let control = control.inner().clone();
    blocking(move || control.sign_in(&db, &name, &password)).await
}

#[tauri::command]
pub async fn sign_out(
    state: State<'_, AppState>,
    control: State<'_, Control>,
) -> Reply<SessionView> {
    let db = plant_db(&state).await?;
    let control = control.inner().clone();
    blocking(move || control.sign_out(&db)).await
}

/// Writes a tag as the signed-in user through the engine's one write path (which checks role, range
/// and type, reads back, and records the attempt in the audit trail).
#[tauri::command]
pub async fn write_tag(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    request: WriteRequest,
) -> Reply<WriteResult> {
    let db = plant_db(&state).await?;
    let actor = {
        let control = control.inner().clone();
        blocking(move || control.write_actor(&db)).await?
    };
    let guard = state.read_session().await;
    let session = guard
        .as_ref()
        .ok_or_else(|| UiError::new(ErrorCode::NoPlant, "no plant is open yet"))?;
    control::write(&session.engine, &actor, request).await
}

/// The audit trail, for engineers and admins.
#[tauri::command]
pub async fn audit_entries(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    query: AuditQuery,
) -> Reply<AuditEntries> {
    let db = plant_db(&state).await?;
    let control = control.inner().clone();
    blocking(move || control.audit_entries(&db, &query)).await
}

/// Writes the audit entries matching a query to a CSV file and returns its path.
#[tauri::command]
pub async fn audit_export(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    query: AuditQuery,
) -> Reply<String> {
    let db = plant_db(&state).await?;
    let control = control.inner().clone();
    let dir = state.export_dir.clone();
    blocking(move || {
        let rows = control.audit_rows(
            &db,
            &AuditQuery {
                limit: u32::MAX,
                ..query
            },
        )?;
        std::fs::create_dir_all(&dir).map_err(io)?;
        let path = control::export_path(&dir);
        std::fs::write(&path, control::audit_csv(&rows)).map_err(io)?;
        Ok(path.display().to_string())
    })
    .await
}

// --- the commissioning workbench (issue 11) ----------------------------------------------------------

#[tauri::command]
pub async fn workbench_ports() -> Reply<Vec<SerialPortView>> {
    blocking(|| Ok(workbench::serial_ports())).await
}

#[tauri::command]
pub async fn workbench_scan_units(
    state: State<'_, AppState>,
    request: UnitScanRequest,
    channel: Channel<ScanEvent>,
) -> Reply<()> {
    state.workbench.scan_units(&request, channel)
}

#[tauri::command]
pub async fn workbench_scan_ranges(
    state: State<'_, AppState>,
    request: RangeScanRequest,
    channel: Channel<ScanEvent>,
) -> Reply<()> {
    state.workbench.scan_ranges(&request, channel)
}

#[tauri::command]
pub async fn workbench_probe_serial(
    state: State<'_, AppState>,
    request: SerialProbeRequest,
    channel: Channel<ScanEvent>,
) -> Reply<()> {
    state.workbench.probe_serial(&request, channel)
}

#[tauri::command]
pub async fn workbench_cancel(state: State<'_, AppState>) -> Reply<()> {
    state.workbench.cancel();
    Ok(())
}

#[tauri::command]
pub async fn workbench_identify(
    state: State<'_, AppState>,
    link: LinkSpec,
    unit: u8,
    timeout_ms: u32,
) -> Reply<Vec<IdentityObject>> {
    workbench::identify(&link, unit, timeout_ms, state.workbench.traffic()).await
}

#[tauri::command]
pub async fn workbench_read(state: State<'_, AppState>, request: GridRequest) -> Reply<GridView> {
    state.workbench.read_grid(&request).await
}

/// The frames after `since`; `enabled` (when given) switches capture on or off first.
#[tauri::command]
pub async fn workbench_traffic(
    state: State<'_, AppState>,
    enabled: Option<bool>,
    since: u64,
) -> Reply<TrafficView> {
    let monitor = state.workbench.traffic();
    if let Some(on) = enabled {
        monitor.set_enabled(on);
    }
    Ok(workbench::traffic_view(monitor, since))
}

#[tauri::command]
pub async fn workbench_traffic_clear(state: State<'_, AppState>) -> Reply<()> {
    state.workbench.traffic().clear();
    Ok(())
}

/// Writes the frames after `since` as text (the traffic monitor's export format) to the export folder.
#[tauri::command]
pub async fn workbench_traffic_export(state: State<'_, AppState>, since: u64) -> Reply<String> {
    let monitor = state.workbench.traffic().clone();
    let dir = state.export_dir.clone();
    blocking(move || {
        let text = plantwatch_modbus::TrafficMonitor::to_text(&monitor.snapshot(since));
        std::fs::create_dir_all(&dir).map_err(io)?;
        let path = dir.join(format!("traffic-{}.txt", file_stamp()));
        std::fs::write(&path, text).map_err(io)?;
        Ok(path.display().to_string())
    })
    .await
}

/// A time for file names: RFC 3339 without the characters some file systems refuse.
fn file_stamp() -> String {
    plantwatch_core::Timestamp::now()
        .to_string()
        .replace([':', '.'], "-")
}

/// The open plant's file; the simulated plant has none to change.
async fn plant_file(state: &AppState) -> Reply<PathBuf> {
    state
        .with_session(|s| {
            s.plant()
                .source
                .clone()
                .filter(|_| !s.simulated())
                .ok_or_else(|| {
                    UiError::new(
                        ErrorCode::BadRequest,
                        "the simulated plant has no file to change; open a plant file first",
                    )
                })
        })
        .await
}

/// Adds a tag picked in the workbench to the open plant file (engineer or admin, audited), then reloads
/// the plant so the tag is polled at once.
#[tauri::command]
pub async fn promote_tag(
    state: State<'_, AppState>,
    control: State<'_, Control>,
    request: PromoteRequest,
) -> Reply<PlantInfo> {
    let file = plant_file(&state).await?;
    let db = plant_db(&state).await?;
    let control = control.inner().clone();
    blocking(move || {
        let what = format!("add tag {}", request.tag.id.trim());
        control.change_plant_file(&db, &file, &what, || {
            plant_edit::promote(&file, &request).map(|_| ())
        })
    })
    .await?;
    state.reload().await
}

/// Writes the open plant's tags (or one device's) as a tag list CSV to the export folder.
#[tauri::command]
pub async fn tags_export(state: State<'_, AppState>, device: Option<String>) -> Reply<String> {
    let plant = state.with_session(|s| Ok(s.plant().clone())).await?;
    let dir = state.export_dir.clone();
    blocking(move || {
        let csv = plant_edit::export_csv(&plant, device.as_deref())?;
        std::fs::create_dir_all(&dir).map_err(io)?;
        let path = dir.join(format!("tags-{}.csv", file_stamp()));
        std::fs::write(&path, csv).map_err(io)?;
        Ok(path.display().to_string())
    })
    .await
}

/// Asks for a tag list CSV with the system's open dialog and imports it into the open plant file
/// (engineer or admin, audited), then reloads the plant. A CSV with any bad row changes nothing.
#[tauri::command]
pub async fn tags_import<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    window: tauri::Window<R>,
    state: State<'_, AppState>,
    control: State<'_, Control>,
    device: Option<String>,
) -> Reply<TagImportReport> {
    use tauri_plugin_dialog::DialogExt;
    let file = plant_file(&state).await?;
    let db = plant_db(&state).await?;
    let language = state.settings.get().language.unwrap_or_default();
    let mut dialog = app
        .dialog()
        .file()
        .set_parent(&window)
        .set_title(language.pick_tag_list_title())
        .add_filter(language.tag_lists(), &["csv"]);
    if let Some(folder) = file.parent() {
        dialog = dialog.set_directory(folder);
    }
    let control = control.inner().clone();
    let imported = blocking(move || {
        let Some(csv) = dialog
            .blocking_pick_file()
            .and_then(|chosen| chosen.into_path().ok())
        else {
            return Ok(None);
        };
        let what = format!("import tag list {}", csv.display());
        control
            .change_plant_file(&db, &file, &what, || {
                plant_edit::import(&file, &csv, device.as_deref())
            })
            .map(|imported| Some((csv, imported)))
    })
    .await?;
    let Some((csv, imported)) = imported else {
        return Ok(TagImportReport {
            file: None,
            added: 0,
            changed: 0,
            plant: None,
        });
    };
    let plant = if imported.added + imported.changed > 0 {
        Some(state.reload().await?)
    } else {
        None
    };
    Ok(TagImportReport {
        file: Some(csv.display().to_string()),
        added: imported.added as u32,
        changed: imported.changed as u32,
        plant,
    })
}
