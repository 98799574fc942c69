//! Build script: Tauri's code generation runs only for the desktop build, so the headless CLI builds
//! on machines without GTK/WebKit.

fn main() {
    #[cfg(feature = "desktop")]
    desktop::build();
}

#[cfg(feature = "desktop")]
mod desktop {
    /// The commands the UI may call. Listing them makes Tauri generate one `allow-<command>` permission
    /// each, and then only those granted in `capabilities/` reach the app (instead of every command).
    const COMMANDS: &[&str] = &[
        "plant_info",
        "live_subscribe",
        "live_snapshot",
        "device_statuses",
        "northbound_status",
        "api_status",
        "test_connection",
        "trend_history",
        "export_trend",
        "report_templates",
        "preview_report",
        "save_report",
        "open_plant",
        "pick_plant_file",
        "reload_plant",
        "check_plant",
        "settings_get",
        "settings_set",
        "alarm_snapshot",
        "alarm_act",
        "alarm_journal",
        "export_journal",
        "alarm_health",
        "session",
        "sign_in",
        "sign_out",
        "write_tag",
        "audit_entries",
        "audit_export",
        "plant_screens",
        "export_screen",
        "workbench_ports",
        "workbench_scan_units",
        "workbench_scan_ranges",
        "workbench_probe_serial",
        "workbench_cancel",
        "workbench_identify",
        "workbench_read",
        "workbench_traffic",
        "workbench_traffic_clear",
        "workbench_traffic_export",
        "promote_tag",
        "tags_export",
        "tags_import",
    ];

    pub fn build() {
        let attributes = tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
        if let Err(error) = tauri_build::try_build(attributes) {
            // A build script reports failure by panicking; say why first.
            panic!("tauri-build failed: {error:#}");
        }
    }
}
