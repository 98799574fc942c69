//! `[[reports]]`: reports made on a schedule; the schedule is checked here, every problem at its place.

use std::path::{Path, PathBuf};

use plantwatch_core::{
    BuiltinTemplate, ReportEvery, ReportFormat, ReportLanguage, TemplateRef, TimeOfDay,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reports")
        .join(name)
}

#[test]
fn schedules_are_read_with_their_defaults() {
    let plant = plantwatch_config::load(&data("plant.toml")).expect("valid");
    assert_eq!(plant.reports.len(), 2);
    let shift = &plant.reports[0];
    assert_eq!(shift.template, TemplateRef::Builtin(BuiltinTemplate::Shift));
    assert_eq!(shift.every, ReportEvery::WithinDay { minutes: 480 });
    assert_eq!(shift.at.to_string(), "06:00");
    assert_eq!(shift.out, data("reports/"));
    assert_eq!(shift.formats, [ReportFormat::Pdf, ReportFormat::Xlsx]);
    assert_eq!(shift.language, ReportLanguage::SimplifiedChinese);
    let weekly = &plant.reports[1];
    assert_eq!(weekly.template, TemplateRef::File(data("weekly.toml")));
    assert_eq!(weekly.every, ReportEvery::Days(7));
    assert_eq!(weekly.at, TimeOfDay::MIDNIGHT);
    assert_eq!(weekly.out, data("reports"));
    assert_eq!(weekly.formats, [ReportFormat::Pdf]);
    assert_eq!(weekly.language, ReportLanguage::English);
}

#[test]
fn a_plant_without_reports_makes_none() {
    let text = "[plant]\nname = \"P\"\n";
    let plant = plantwatch_config::parse(text, Path::new("p.toml")).expect("valid");
    assert!(plant.reports.is_empty());
}

#[test]
fn each_bad_key_is_reported_at_its_file_line_and_column() {
    let text = "[plant]\nname = \"P\"\n\n[[reports]]\ntemplate = \"hourly\"\nevery = \"7h\"\n\
        at = \"6:00\"\nformats = [\"pdf\", \"docx\", \"pdf\"]\nlang = \"de\"\ncolour = \"red\"\n\n\
        [[reports]]\nat = \"06:00\"\n";
    let errors = plantwatch_config::parse(text, Path::new("p.toml")).expect_err("bad");
    let shown = errors.to_string();
    for expected in [
        "p.toml:5:12: 'template' must be shift, daily or a template file (.toml, relative to the plant file) that exists, not \"hourly\"",
        "p.toml:6:9: 'every' must be a whole number of minutes that divides a day (such as 1h, 8h, 12h, 24h) or of days (such as 7d)",
        "p.toml:7:6: 'at' must be a time of day as HH:MM (00:00 to 23:59), not \"6:00\"",
        "p.toml:8:19: a format must be one of pdf, xlsx, csv, html, not \"docx\"",
        "p.toml:8:27: 'formats' lists pdf twice",
        "p.toml:9:8: 'lang' must be en or zh-CN, not \"de\"",
        "p.toml:10:1: unknown key 'colour' in [[reports]]",
        "missing key 'template'",
        "missing key 'every'",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in:\n{shown}");
    }
}
