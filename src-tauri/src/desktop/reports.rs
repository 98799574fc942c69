//! The Reports screen (issue 15): a template over a chosen period, previewed as the report's own tables
//! and charts, and saved as PDF, XLSX, CSV or HTML into the export folder. The report is
//! `plantwatch-report`'s, the same `plantwatch report` and the scheduled reports write; the page only
//! picks a template among those offered here (never a path of its own) and the period.
//! The plant's `[[reports]]` run on their schedule beside the session (`start_scheduler`).

use std::path::{Path, PathBuf};

use plantwatch_core::{
    BuiltinTemplate, Plant, ReportFormat, ReportLanguage, TemplateRef, Timestamp,
};
use plantwatch_engine::Engine;
use plantwatch_report::schedule::{self, ReportScheduler, ScheduleEvent};
use plantwatch_report::{tables, Report, Template};

use super::wire::{
    ErrorCode, ReportChartView, ReportPreview, ReportRequest, ReportTableView, ReportTemplateView,
    UiError,
};

/// The templates offered for a plant: the built-ins, then each template file its `[[reports]]` name.
pub fn templates(plant: &Plant) -> Vec<ReportTemplateView> {
    let mut views: Vec<ReportTemplateView> = BuiltinTemplate::ALL
        .iter()
        .map(|b| ReportTemplateView {
            id: b.name().to_string(),
            builtin: true,
            label: b.name().to_string(),
        })
        .collect();
    for schedule in &plant.reports {
        if let TemplateRef::File(path) = &schedule.template {
            let id = path.display().to_string();
            if !views.iter().any(|v| v.id == id) {
                views.push(ReportTemplateView {
                    label: schedule.template.label(),
                    id,
                    builtin: false,
                });
            }
        }
    }
    views
}

/// The template a request names, if it is one of those offered.
fn template_of(plant: &Plant, id: &str) -> Result<Template, UiError> {
    let offered = templates(plant)
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| {
            UiError::new(
                ErrorCode::NotFound,
                format!(
                    "no report template '{}' for this plant",
                    plantwatch_core::echo::escape(id)
                ),
            )
        })?;
    let template = match BuiltinTemplate::from_name(&offered.id) {
        Some(builtin) if offered.builtin => TemplateRef::Builtin(builtin),
        _ => TemplateRef::File(PathBuf::from(&offered.id)),
    };
    Template::of(&template).map_err(report_error)
}

fn report_error(e: plantwatch_report::ReportError) -> UiError {
    let code = if e.is_bad_input() {
        ErrorCode::BadRequest
    } else {
        ErrorCode::History
    };
    UiError::new(code, e.to_string())
}

/// Builds the report a request asks for over the plant's history (read-only).
pub fn build(
    db: &Path,
    plant: &Plant,
    request: &ReportRequest,
    language: ReportLanguage,
) -> Result<Report, UiError> {
    if request.to <= request.from {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            "the report's period must end after it starts",
        ));
    }
    let template = template_of(plant, &request.template)?;
    let history = plantwatch_history::HistoryReader::open(db)
        .map_err(|e| UiError::new(ErrorCode::History, e.to_string()))?;
    let journal = plantwatch_alarm::JournalReader::open(db)
        .map_err(|e| UiError::new(ErrorCode::History, e.to_string()))?;
    Report::build(
        &history,
        db,
        &journal,
        &template,
        Timestamp(request.from),
        Timestamp(request.to),
        language,
    )
    .map_err(report_error)
}

/// The report as the screen previews it.
pub fn preview(report: &Report) -> ReportPreview {
    let (title, heading) = tables::heading(report);
    ReportPreview {
        title,
        heading,
        tables: tables::tables(report)
            .into_iter()
            .map(|t| ReportTableView {
                title: t.title,
                header: t.header,
                rows: t
                    .rows
                    .iter()
                    .map(|row| row.iter().map(|c| c.text().to_string()).collect())
                    .collect(),
                notes: t.notes,
            })
            .collect(),
        charts: report
            .charts
            .iter()
            .map(|c| ReportChartView {
                title: c.title.clone(),
                svg: c.svg.clone(),
            })
            .collect(),
    }
}

/// Writes the report into `dir` as `report-<template>-<stamp>.<ext>` and returns the path.
pub fn save(
    report: &Report,
    dir: &Path,
    stamp: &str,
    format: ReportFormat,
) -> Result<PathBuf, UiError> {
    std::fs::create_dir_all(dir).map_err(|e| UiError::new(ErrorCode::Io, e.to_string()))?;
    let label = match Path::new(&report.template.source).file_stem() {
        Some(stem) => stem.to_string_lossy().into_owned(),
        None => "report".to_string(),
    };
    let path = dir.join(format!("report-{label}-{stamp}.{}", format.extension()));
    report.write(&path, format).map_err(report_error)?;
    Ok(path)
}

/// Runs the plant's `[[reports]]` on their schedule while it is open (none: no thread). What it makes
/// or fails to make goes to the log, and a failing schedule raises the system alarm "scheduled report
/// failed" in the Alarms screen until it makes its report; a template that does not read leaves the
/// plant monitored without its scheduled reports (the reason in the log).
pub fn start_scheduler(engine: &Engine) -> Option<ReportScheduler> {
    let (plant, history) = (engine.plant(), engine.history_path());
    if plant.reports.is_empty() {
        return None;
    }
    let on_event = Box::new(|event: ScheduleEvent| match event {
        ScheduleEvent::Made { files, .. } => {
            for file in files {
                tracing::info!("report made: {}", file.display());
            }
        }
        ScheduleEvent::Failed { period, error, .. } => {
            tracing::warn!(
                "report of {} to {} failed: {error} (tried again in a minute)",
                period.from,
                period.to
            );
        }
    });
    let on_failing = crate::report_alarm::on_failing(engine);
    match schedule::start_for_plant(plant, history, on_event, on_failing) {
        Ok(scheduler) => Some(scheduler),
        Err(e) => {
            tracing::warn!("the plant's scheduled reports did not start: {e}");
            None
        }
    }
}
