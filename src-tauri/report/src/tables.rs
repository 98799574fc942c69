//! The report's tables as plain rows, in the report's language: the one layout the PDF, the HTML and the
//! workbook share (the CSV, for machines, has its own long form).

use crate::template::Statistic;
use crate::words::Words as _;
use crate::words::{self, Language};
use crate::{print_duration, print_number, print_time, Report, TagKind};

/// A cell: text, or a number with the text it is shown as.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64, String),
    Empty,
}

impl Cell {
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(t) | Cell::Number(_, t) => t,
            Cell::Empty => "",
        }
    }

    fn number(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, |v| Cell::Number(v, print_number(v)))
    }

    fn share(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, |v| {
            Cell::Number(v, format!("{}%", print_number(v * 100.0)))
        })
    }
}

/// A titled table, with notes under it (a "mostly gap" warning, "no gaps").
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The sheet name in a workbook (ASCII, short).
    pub sheet: &'static str,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub notes: Vec<String>,
}

pub fn tables(report: &Report) -> Vec<Table> {
    let lang = report.language;
    vec![
        statistics(report, lang),
        gaps(report, lang),
        devices(report, lang),
        alarms(report, lang),
        top_alarms(report, lang),
    ]
}

fn statistics(report: &Report, lang: Language) -> Table {
    let t = &report.template;
    let any_bool = report.tags.iter().any(|tag| tag.kind == TagKind::Boolean);
    let mut header = vec![
        lang.pick(&words::TAG),
        lang.pick(&words::UNIT),
        lang.pick(&words::SAMPLES),
    ];
    let numeric = [
        (Statistic::Min, &words::MIN),
        (Statistic::Max, &words::MAX),
        (Statistic::Avg, &words::AVG),
        (Statistic::Twa, &words::TWA),
    ];
    let wanted: Vec<Statistic> = numeric
        .iter()
        .filter(|(s, _)| t.wants(*s))
        .map(|(s, w)| {
            header.push(lang.pick(w));
            *s
        })
        .collect();
    let in_state = any_bool && t.wants(Statistic::TimeInState);
    let starts = any_bool && t.wants(Statistic::Starts);
    if in_state {
        header.push(lang.pick(&words::TIME_TRUE));
        header.push(lang.pick(&words::TIME_FALSE));
    }
    if starts {
        header.push(lang.pick(&words::STARTS));
    }
    header.push(lang.pick(&words::COVERAGE));
    let mut notes = Vec::new();
    let rows = report
        .tags
        .iter()
        .map(|tag| {
            let s = &tag.stats;
            let mut row = vec![
                Cell::Text(tag.id.clone()),
                tag.unit.clone().map_or(Cell::Empty, Cell::Text),
                Cell::Number(s.samples as f64, s.samples.to_string()),
            ];
            for statistic in &wanted {
                row.push(match (tag.kind, statistic) {
                    (TagKind::Text, _) => Cell::Empty,
                    (_, Statistic::Min) => Cell::number(s.min),
                    (_, Statistic::Max) => Cell::number(s.max),
                    (_, Statistic::Avg) => Cell::number(s.avg),
                    _ => Cell::number(s.twa),
                });
            }
            let boolean = tag.kind == TagKind::Boolean;
            if in_state {
                for ms in [s.time_true_ms, s.time_false_ms] {
                    row.push(if boolean {
                        Cell::Number(ms as f64 / 1000.0, print_duration(ms))
                    } else {
                        Cell::Empty
                    });
                }
            }
            if starts {
                row.push(if boolean {
                    Cell::Number(s.starts as f64, s.starts.to_string())
                } else {
                    Cell::Empty
                });
            }
            row.push(Cell::share(Some(s.coverage)));
            if s.mostly_gap() {
                notes.push(format!("{}: {}", tag.id, lang.pick(&words::MOSTLY_GAP)));
            }
            row
        })
        .collect();
    Table {
        sheet: "Statistics",
        title: lang.pick(&words::STATISTICS).to_string(),
        header: header.into_iter().map(String::from).collect(),
        rows,
        notes,
    }
}

fn gaps(report: &Report, lang: Language) -> Table {
    let rows: Vec<Vec<Cell>> = report
        .tags
        .iter()
        .flat_map(|tag| {
            tag.stats.gaps.iter().map(move |gap| {
                vec![
                    Cell::Text(tag.id.clone()),
                    Cell::Text(print_time(gap.from)),
                    Cell::Text(print_time(gap.to)),
                    Cell::Number(
                        gap.duration_ms() as f64 / 1000.0,
                        print_duration(gap.duration_ms()),
                    ),
                    Cell::Text(lang.cause(gap.cause)),
                ]
            })
        })
        .collect();
    let notes = if rows.is_empty() {
        vec![lang.pick(&words::NO_GAPS).to_string()]
    } else {
        Vec::new()
    };
    Table {
        sheet: "Gaps",
        title: lang.pick(&words::GAPS).to_string(),
        header: [
            &words::TAG,
            &words::FROM,
            &words::TO,
            &words::DURATION,
            &words::CAUSE,
        ]
        .iter()
        .map(|w| lang.pick(w).to_string())
        .collect(),
        rows,
        notes,
    }
}

fn devices(report: &Report, lang: Language) -> Table {
    Table {
        sheet: "Devices",
        title: lang.pick(&words::DEVICES).to_string(),
        header: [&words::DEVICE, &words::AVAILABILITY, &words::KNOWN]
            .iter()
            .map(|w| lang.pick(w).to_string())
            .collect(),
        rows: report
            .devices
            .iter()
            .map(|d| {
                vec![
                    Cell::Text(d.id.clone()),
                    Cell::share(d.availability),
                    Cell::Number(d.known_ms as f64 / 1000.0, print_duration(d.known_ms)),
                ]
            })
            .collect(),
        notes: Vec::new(),
    }
}

fn alarms(report: &Report, lang: Language) -> Table {
    Table {
        sheet: "Alarms",
        title: lang.pick(&words::ALARMS).to_string(),
        header: vec![
            lang.pick(&words::PRIORITY).to_string(),
            lang.pick(&words::ACTIVATIONS).to_string(),
        ],
        rows: report
            .alarms
            .by_priority
            .iter()
            .map(|(p, n)| {
                vec![
                    Cell::Text(lang.priority(*p).to_string()),
                    Cell::Number(f64::from(*n), n.to_string()),
                ]
            })
            .collect(),
        notes: Vec::new(),
    }
}

fn top_alarms(report: &Report, lang: Language) -> Table {
    Table {
        sheet: "Top alarms",
        title: lang.pick(&words::TOP_ALARMS).to_string(),
        header: [&words::ALARM, &words::PRIORITY, &words::ACTIVATIONS]
            .iter()
            .map(|w| lang.pick(w).to_string())
            .collect(),
        rows: report
            .alarms
            .most_frequent
            .iter()
            .map(|f| {
                vec![
                    Cell::Text(format!("{} {}", f.alarm.tag, f.alarm.kind.name())),
                    Cell::Text(lang.priority(f.priority).to_string()),
                    Cell::Number(f64::from(f.activations), f.activations.to_string()),
                ]
            })
            .collect(),
        notes: Vec::new(),
    }
}

/// The report's heading lines: title, period, template.
pub fn heading(report: &Report) -> (String, Vec<String>) {
    let lang = report.language;
    (
        report.title.clone(),
        vec![
            format!(
                "{}: {} – {} UTC",
                lang.pick(&words::PERIOD),
                print_time(report.from.0),
                print_time(report.to.0)
            ),
            format!(
                "{}: {}",
                lang.pick(&words::TEMPLATE),
                report.template.source
            ),
        ],
    )
}
