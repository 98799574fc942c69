//! The desktop window (feature `desktop`): a Tauri 2 shell over the engine.
//!
//! The shell is thin: commands ([`commands`]) call the engine handle and the small modules beside them;
//! live values go to the page in batches ([`live`]); only this layer knows the IPC wire types
//! ([`wire`]), generated into `ui/src/bindings/ipc.ts`. Nothing under the engine knows about Tauri.

mod alarms;
pub mod browser;
mod commands;
mod connection;
mod control;
mod live;
mod northbound;
mod notify;
mod plant_edit;
mod presence;
mod report;
mod reports;
mod screens;
mod session;
mod settings;
mod state;
mod trend;
pub mod wire;
mod words;
mod workbench;

use std::path::PathBuf;
use std::process::ExitCode;

use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};

use state::AppState;
use wire::WindowSize;

/// The window's size when nothing was remembered.
const DEFAULT_SIZE: WindowSize = WindowSize {
    width: 1280.0,
    height: 800.0,
};

/// Opens the window on the last plant, or on the built-in simulated plant, and runs until it closes.
pub fn run() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let app = tauri::Builder::default()
        // Desktop notifications for new critical and high alarms, fired from Rust (see `notify`); the
        // page is given none of the plugin's commands.
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(tauri::generate_handler![
            commands::plant_info,
            commands::live_subscribe,
            commands::live_snapshot,
            commands::device_statuses,
            commands::northbound_status,
            commands::api_status,
            commands::test_connection,
            commands::trend_history,
            commands::export_trend,
            commands::report_templates,
            commands::preview_report,
            commands::save_report,
            commands::open_plant,
            commands::reload_plant,
            commands::check_plant,
            commands::settings_get,
            commands::settings_set,
            commands::alarm_snapshot,
            commands::alarm_act,
            commands::alarm_journal,
            commands::export_journal,
            commands::alarm_health,
            commands::session,
            commands::sign_in,
            commands::sign_out,
            commands::write_tag,
            commands::audit_entries,
            commands::audit_export,
            commands::plant_screens,
            commands::export_screen,
            commands::pick_plant_file,
            commands::workbench_ports,
            commands::workbench_scan_units,
            commands::workbench_scan_ranges,
            commands::workbench_probe_serial,
            commands::workbench_cancel,
            commands::workbench_identify,
            commands::workbench_read,
            commands::workbench_traffic,
            commands::workbench_traffic_clear,
            commands::workbench_traffic_export,
            commands::promote_tag,
            commands::tags_export,
            commands::tags_import,
        ])
        .setup(|app| {
            let data_dir = env_dir("PLANTWATCH_DATA_DIR").unwrap_or(app.path().app_data_dir()?);
            let export_dir = env_dir("PLANTWATCH_EXPORT_DIR")
                .or_else(|| app.path().document_dir().ok().map(|d| d.join("Plantwatch")))
                .unwrap_or_else(|| data_dir.join("exports"));
            std::fs::create_dir_all(&data_dir)?;
            let state = AppState::new(data_dir, export_dir);
            state.attach(app.handle().clone());
            let size = state.settings.get().window.unwrap_or(DEFAULT_SIZE);
            app.manage(state);
            // Who is signed in on this window (never the page's say).
            app.manage(control::Control::default());
            // The page starts loading while the plant opens; its first calls wait for setup to end.
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title("Plantwatch")
                .inner_size(size.width, size.height)
                .min_inner_size(800.0, 560.0)
                .build()?;
            let state = app.state::<AppState>();
            if let Err(e) = tauri::async_runtime::block_on(state.open_at_start()) {
                // The page shows "no plant" and the Plant files screen can still open one.
                tracing::error!("no plant could be opened: {}", e.message);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::Resized(size) = event {
                let scale = window.scale_factor().unwrap_or(1.0);
                let logical = size.to_logical::<f64>(scale);
                if logical.width > 0.0 && logical.height > 0.0 {
                    let state = window.state::<AppState>();
                    state.settings.remember_window(WindowSize {
                        width: logical.width,
                        height: logical.height,
                    });
                }
            }
        })
        .build(context());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("plantwatch: the desktop window failed to start: {error}");
            return ExitCode::from(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            let state = handle.state::<AppState>();
            if let Err(e) = state.settings.flush() {
                eprintln!("plantwatch: cannot save the settings: {e}");
            }
            // Stop polling and flush history and the alarm journal before the process ends.
            tauri::async_runtime::block_on(state.close_current());
        }
    });
    ExitCode::SUCCESS
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The app's Tauri context: its configuration and the UI's files, embedded once in the binary (the
/// window and the browser screens read the same files).
pub fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!()
}
