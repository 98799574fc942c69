//! `[[reports]]`: reports `collect` and the desktop make on a schedule. Only the schedule is checked here
//! (template name or file, period, anchor, folder, formats, language); a template file's contents are
//! the report crate's to read, and `collect` reads them before it starts.

use std::ops::Range;
use std::path::Path;

use plantwatch_core::{
    BuiltinTemplate, ReportEvery, ReportFormat, ReportLanguage, ReportSchedule, TemplateRef,
    TimeOfDay,
};
use toml::de::{DeTable, DeValue};

use crate::error::ConfigErrorKind;
use crate::fields::{Field, Report, Section};

const REPORT_KEYS: &[&str] = &["template", "every", "at", "out", "formats", "lang"];

/// The folder reports go to when `out` is not given, beside the plant file.
const DEFAULT_OUT: &str = "reports";

/// Reads every `[[reports]]` entry; `None` when any is wrong (each problem reported).
pub(crate) fn read_reports(
    entries: Vec<(&DeTable<'_>, Range<usize>)>,
    config: &Path,
    report: &Report,
) -> Option<Vec<ReportSchedule>> {
    let folder = config.parent().unwrap_or(Path::new(""));
    let mut schedules = Vec::new();
    let mut valid = true;
    for (table, span) in entries {
        let section = Section::open(table, span, "[[reports]]", REPORT_KEYS, report);
        match read_schedule(&section, folder) {
            Some(s) => schedules.push(s),
            None => valid = false,
        }
    }
    valid.then_some(schedules)
}

fn read_schedule(section: &Section<'_, '_>, folder: &Path) -> Option<ReportSchedule> {
    let report = section.report();
    let template = section.string("template").map(|at| {
        if let Some(builtin) = BuiltinTemplate::from_name(&at.value) {
            return Some(TemplateRef::Builtin(builtin));
        }
        let path = folder.join(&at.value);
        if at.value.ends_with(".toml") && path.is_file() {
            return Some(TemplateRef::File(path));
        }
        report.add(
            at.span,
            ConfigErrorKind::BadValue,
            format!(
                "'template' must be shift, daily or a template file (.toml, relative to the plant file) that exists, not {:?}",
                plantwatch_core::echo::escape(&at.value)
            ),
        );
        None
    });
    let template = section.required(
        "template",
        "the report's template: shift, daily or a .toml file",
        template,
    );
    let every = section.duration("every").map(|at| {
        ReportEvery::from_duration(at.value)
            .map_err(|why| report.add(at.span, ConfigErrorKind::BadValue, format!("'every' {why}")))
            .ok()
    });
    let every = section.required(
        "every",
        "how long each report's period is, such as \"8h\" or \"24h\"",
        every,
    );
    let at = parsed::<TimeOfDay>(section, "at").or_default(TimeOfDay::MIDNIGHT);
    let out = section
        .string("out")
        .check(report, |o| {
            if o.trim().is_empty() {
                Err("'out' must name a folder (relative to the plant file)".to_string())
            } else {
                Ok(())
            }
        })
        .or_default(DEFAULT_OUT.to_string());
    let formats = read_formats(section);
    let language = parsed::<ReportLanguage>(section, "lang").or_default(ReportLanguage::English);
    Some(ReportSchedule {
        template: template?.value,
        every: every?.value,
        at: at?,
        out: folder.join(out?),
        formats: formats?,
        language: language?,
    })
}

/// A string parsed by the type's `FromStr`, whose message says what is allowed.
fn parsed<T: std::str::FromStr<Err = String>>(section: &Section<'_, '_>, key: &str) -> Field<T> {
    let report = section.report();
    section.string(key).map(|at| {
        at.value
            .parse::<T>()
            .map_err(|why| report.add(at.span, ConfigErrorKind::BadValue, format!("'{key}' {why}")))
            .ok()
    })
}

/// `formats = ["pdf", "xlsx"]`: at least one, each once; `["pdf"]` when not given.
fn read_formats(section: &Section<'_, '_>) -> Option<Vec<ReportFormat>> {
    let report = section.report();
    let Some(value) = section.get("formats") else {
        return Some(vec![ReportFormat::Pdf]);
    };
    let shape = "'formats' must be an array of pdf, xlsx, csv or html, such as [\"pdf\", \"xlsx\"]";
    let DeValue::Array(items) = value.get_ref() else {
        report.add(value.span(), ConfigErrorKind::WrongType, shape);
        return None;
    };
    if items.is_empty() {
        report.add(value.span(), ConfigErrorKind::BadValue, shape);
        return None;
    }
    let mut formats = Vec::new();
    let mut fine = true;
    for item in items.iter() {
        let parsed = match item.get_ref() {
            DeValue::String(text) => text
                .parse::<ReportFormat>()
                .map_err(|why| format!("a format {why}")),
            _ => Err(shape.to_string()),
        };
        match parsed {
            Ok(f) if formats.contains(&f) => {
                report.add(
                    item.span(),
                    ConfigErrorKind::Duplicate,
                    format!("'formats' lists {f} twice"),
                );
                fine = false;
            }
            Ok(f) => formats.push(f),
            Err(message) => {
                report.add(item.span(), ConfigErrorKind::BadValue, message);
                fine = false;
            }
        }
    }
    fine.then_some(formats)
}
