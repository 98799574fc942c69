//! Shift and daily reports (`plantwatch report`): per-tag statistics over a window with the gaps shown
//! rather than hidden, device availability, alarm counts and trend charts, written as PDF, XLSX, CSV or
//! HTML. Reads the history and the journal read-only; knows nothing of Tauri.
//!
//! `Report::build` gathers the numbers (pure `stats` over the samples, `alarms` over the journal) and
//! draws the charts (`chart`, plotters' SVG backend); `Report::write` writes one format atomically. The
//! PDF and the HTML share the charts' SVG; the PDF's pages are SVG too (`page`), drawn by krilla.

pub mod alarms;
pub mod chart;
mod csv_out;
pub mod fonts;
mod html;
mod page;
mod pdf;
pub mod schedule;
pub mod stats;
pub mod tables;
pub mod template;
pub mod words;
mod xlsx;

use std::collections::HashMap;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use plantwatch_alarm::{AlarmError, JournalQuery, JournalReader};
use plantwatch_core::{Timestamp, Value};
use plantwatch_history::{HistoryError, HistoryReader, SampleQuery};

pub use alarms::AlarmSummary;
pub use stats::{Gap, GapCause, TagStats};
pub use template::{Statistic, Template};
pub use words::{Language, Words};

/// Columns a trend chart reads from the history (thinned: one summary per column, so a month draws as
/// fast as a shift).
pub const CHART_COLUMNS: usize = 480;

/// Why a report could not be made. [`ReportError::is_bad_input`] tells the command line's exit code.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A template problem, already `file:line:col: message`.
    #[error("{0}")]
    Template(String),
    #[error("template {template}: tag '{tag}' is not in the history {}", path.display())]
    UnknownTag {
        template: String,
        tag: String,
        path: PathBuf,
    },
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    #[error("cannot start the report scheduler: {0}")]
    Scheduler(std::io::Error),
    #[error("cannot write the report {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

impl ReportError {
    /// Bad input (exit 2): the template, or a tag the history does not have.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ReportError::Template(_) | ReportError::UnknownTag { .. }
        )
    }
}

/// A report's file format: core's, named by the output's extension.
pub use plantwatch_core::ReportFormat as Format;

/// What kind of value a tag holds (from the history's type name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Number,
    Boolean,
    Text,
}

/// One tag's part of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct TagReport {
    /// `device/tag`.
    pub id: String,
    pub unit: Option<String>,
    pub kind: TagKind,
    pub stats: TagStats,
}

/// One device's availability (see [`stats::availability`] for the rule).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceReport {
    pub id: String,
    /// `None` when nothing of the window is known (the collector never ran in it).
    pub availability: Option<f64>,
    /// How much of the window is known (the collector ran), in milliseconds.
    pub known_ms: i64,
}

/// A trend chart of one group, drawn as SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSvg {
    pub title: String,
    pub svg: String,
    pub width: u32,
    pub height: u32,
}

/// A finished report: the numbers and the drawn charts, ready to write in any format.
#[derive(Debug, Clone)]
pub struct Report {
    pub template: Template,
    pub language: Language,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The title in the report's language.
    pub title: String,
    pub tags: Vec<TagReport>,
    pub devices: Vec<DeviceReport>,
    pub alarms: AlarmSummary,
    pub charts: Vec<ChartSvg>,
}

impl Report {
    /// Reads the window `[from, to)` of the history and the journal and makes the report the template
    /// asks for. `history_path` names the file in messages.
    pub fn build(
        history: &HistoryReader,
        history_path: &Path,
        journal: &JournalReader,
        template: &Template,
        from: Timestamp,
        to: Timestamp,
        language: Language,
    ) -> Result<Report, ReportError> {
        let (from_ms, to_ms) = (from.as_millis(), to.as_millis());
        let max_gap = i64::try_from(template.max_gap.as_millis()).unwrap_or(i64::MAX / 4);
        let in_history = history.tags()?;
        let every_tag: Vec<String> = in_history.iter().map(|t| t.full_id.clone()).collect();
        let template = &template.for_tags(&every_tag);
        let known: HashMap<String, plantwatch_history::TagInfo> = in_history
            .into_iter()
            .map(|t| (t.full_id.clone(), t))
            .collect();
        let ids = template.tags();
        for tag in &ids {
            if !known.contains_key(tag) {
                return Err(ReportError::UnknownTag {
                    template: template.source.clone(),
                    tag: tag.clone(),
                    path: history_path.to_path_buf(),
                });
            }
        }
        // Two passes in time order, holding nothing per sample: first the plant's silences from every
        // sample time (read a `max_gap` beyond both ends, so a silence across an end is seen), then
        // each tag's statistics, cut by those silences.
        let query = SampleQuery {
            tags: ids.clone(),
            from: Some(Timestamp(from_ms.saturating_sub(max_gap))),
            to: Some(Timestamp(to_ms.saturating_add(max_gap))),
        };
        let now = Timestamp::now().as_millis();
        let mut finder = stats::SilenceFinder::new(from_ms, to_ms, max_gap, now);
        history.for_each_sample(&query, |sample| finder.push(sample.time.0))?;
        let silences = finder.finish();
        let kinds: Vec<TagKind> = ids
            .iter()
            .map(|id| {
                let type_name = &known[id].type_name;
                if plantwatch_history::layout::is_text_type(type_name) {
                    TagKind::Text
                } else if plantwatch_history::layout::is_boolean_type(type_name) {
                    TagKind::Boolean
                } else {
                    TagKind::Number
                }
            })
            .collect();
        let position: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let mut accumulators: Vec<stats::TagAccumulator<'_>> = kinds
            .iter()
            .map(|kind| {
                stats::TagAccumulator::new(from_ms, to_ms, &silences, *kind == TagKind::Boolean)
            })
            .collect();
        history.for_each_sample(&query, |sample| {
            if let Some(&i) = position.get(&*sample.tag) {
                let number = match &sample.value {
                    Some(Value::Number(n)) => Some(*n),
                    Some(Value::Bool(b)) => Some(if *b { 1.0 } else { 0.0 }),
                    _ => None,
                };
                accumulators[i].push(stats::Point {
                    time: sample.time.0,
                    number,
                    quality: sample.quality,
                });
            }
        })?;
        let tags: Vec<TagReport> = ids
            .iter()
            .zip(kinds)
            .zip(accumulators)
            .map(|((id, kind), accumulator)| TagReport {
                id: id.clone(),
                unit: known[id].unit.clone(),
                kind,
                stats: accumulator.finish(),
            })
            .collect();
        let devices = device_reports(&tags, from_ms, to_ms);
        let entries = journal.entries(JournalQuery {
            from: Some(from),
            to: Some(to),
        })?;
        let alarms = alarms::summarise(&entries, from, to);
        let mut charts = Vec::new();
        for group in template.groups.iter().filter(|g| g.chart) {
            let drawn: Vec<&TagReport> = group
                .tags
                .iter()
                .filter_map(|id| tags.iter().find(|t| &t.id == id))
                .filter(|t| t.kind != TagKind::Text)
                .collect();
            if drawn.is_empty() {
                continue;
            }
            let mut series = Vec::with_capacity(drawn.len());
            for tag in drawn {
                let buckets = history.thinned(&tag.id, from, to, CHART_COLUMNS)?;
                series.push(chart::Series { tag, buckets });
            }
            let title = match (language, &group.name_zh) {
                (Language::SimplifiedChinese, Some(zh)) => zh.clone(),
                _ => group.name.clone(),
            };
            charts.push(chart::draw(&title, &series, from_ms, to_ms, language));
        }
        let title = match (language, &template.title_zh) {
            (Language::SimplifiedChinese, Some(zh)) => zh.clone(),
            _ => template.title.clone(),
        };
        Ok(Report {
            template: template.clone(),
            language,
            from,
            to,
            title,
            tags,
            devices,
            alarms,
            charts,
        })
    }

    /// The report as the bytes of a file of `format`.
    pub fn render(&self, format: Format) -> Result<Vec<u8>, String> {
        match format {
            Format::Csv => csv_out::render(self),
            Format::Html => Ok(html::render(self).into_bytes()),
            Format::Xlsx => xlsx::render(self),
            Format::Pdf => pdf::render(self),
        }
    }

    /// Writes the report to `path` in `format`, atomically: a temporary file beside it, renamed over
    /// it only once complete, so a failure never leaves half a report.
    pub fn write(&self, path: &Path, format: Format) -> Result<(), ReportError> {
        let fail = |message: String| ReportError::Write {
            path: path.to_path_buf(),
            message,
        };
        let bytes = self.render(format).map_err(fail)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // A report is for people to open and print, often other users than the collector service's:
        // created as any new file is (0666 less the umask), not as a private temporary file (0600).
        use std::os::unix::fs::PermissionsExt;
        let mut file = tempfile::Builder::new()
            .prefix(".plantwatch-report-")
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|e| fail(e.to_string()))?;
        file.write_all(&bytes).map_err(|e| fail(e.to_string()))?;
        file.as_file().sync_all().map_err(|e| fail(e.to_string()))?;
        file.persist(path).map_err(|e| fail(e.error.to_string()))?;
        Ok(())
    }
}

/// The devices of the report's tags (the part of a tag's id before the `/`), in order of first mention.
fn device_reports(tags: &[TagReport], from: i64, to: i64) -> Vec<DeviceReport> {
    let mut devices: Vec<(&str, Vec<&[stats::Stretch]>)> = Vec::new();
    for tag in tags {
        let device = tag.id.split_once('/').map_or(tag.id.as_str(), |(d, _)| d);
        match devices.iter_mut().find(|(d, _)| *d == device) {
            Some((_, stretches)) => stretches.push(&tag.stats.stretches),
            None => devices.push((device, vec![&tag.stats.stretches])),
        }
    }
    devices
        .into_iter()
        .map(|(id, stretches)| {
            let (availability, known_ms) = stats::availability(&stretches, from, to);
            DeviceReport {
                id: id.to_string(),
                availability,
                known_ms,
            }
        })
        .collect()
}

/// A time as the report prints it: RFC 3339 UTC, to the second.
pub fn print_time(ms: i64) -> String {
    let text = Timestamp(ms).to_string();
    // `2026-11-25T14:00:00.123Z` -> `2026-11-25 14:00:00`
    text.get(..19).map_or(text.clone(), |t| t.replace('T', " "))
}

/// A duration as the report prints it: `1h 02m 03s`, `4m 05s`, `12.3s`.
pub fn print_duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 3600 => format!("{}h {:02}m {:02}s", s / 3600, s % 3600 / 60, s % 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{:.1}s", ms as f64 / 1000.0),
    }
}

/// A statistic's number as the report prints it: up to 4 decimals, trailing zeros dropped.
pub fn print_number(v: f64) -> String {
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}
