//! The printed report as SVG pages (A4, in points): heading, tables and charts flowed down the pages.
//! The PDF draws these pages with krilla; laying them out as SVG keeps one drawing model for the text
//! and the charts (plotters' SVG, nested as it is).

use crate::html::{escape, strip_prolog};
use crate::tables::{self, Cell};
use crate::words::Words as _;
use crate::{words, Report};

pub const WIDTH: f64 = 595.0;
pub const HEIGHT: f64 = 842.0;
const MARGIN: f64 = 40.0;
const TEXT: f64 = 9.0;

/// One thing placed on a page, with the height it takes.
#[derive(Clone)]
enum Block {
    Text {
        text: String,
        size: f64,
        bold: bool,
    },
    Row {
        cells: Vec<String>,
        widths: Vec<f64>,
        size: f64,
        bold: bool,
    },
    Chart {
        svg: String,
        width: f64,
        height: f64,
    },
    Space(f64),
}

impl Block {
    fn height(&self) -> f64 {
        match self {
            Block::Text { size, .. } => size * 1.5,
            Block::Row { size, .. } => size * 1.45,
            Block::Chart { height, .. } => height + 6.0,
            Block::Space(h) => *h,
        }
    }
}

/// The pages of the report, each a complete SVG document.
pub fn pages(report: &Report) -> Vec<String> {
    let family = report.language.font_family();
    let mut pages = Vec::new();
    let mut body = String::new();
    let mut y = MARGIN;
    // The header row of the table being set, repeated at the top of a page the table runs onto.
    let mut header: Option<Block> = None;
    for block in blocks(report) {
        let h = block.height();
        if y + h > HEIGHT - MARGIN && !body.is_empty() {
            pages.push(finish(&body, family));
            body.clear();
            y = MARGIN;
            if let (Some(header), Block::Row { bold: false, .. }) = (&header, &block) {
                draw(&mut body, header, y);
                y += header.height();
            }
        }
        match &block {
            Block::Row { bold: true, .. } => header = Some(block.clone()),
            Block::Row { .. } => {}
            _ => header = None,
        }
        draw(&mut body, &block, y);
        y += h;
    }
    pages.push(finish(&body, family));
    pages
}

fn finish(body: &str, family: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"{family}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

fn draw(out: &mut String, block: &Block, y: f64) {
    match block {
        Block::Text { text, size, bold } => {
            let weight = if *bold { " font-weight=\"bold\"" } else { "" };
            out.push_str(&format!(
                "<text x=\"{MARGIN}\" y=\"{:.1}\" font-size=\"{size}\"{weight}>{}</text>\n",
                y + size,
                escape(text)
            ));
        }
        Block::Row {
            cells,
            widths,
            size,
            bold,
        } => {
            let weight = if *bold { " font-weight=\"bold\"" } else { "" };
            let mut x = MARGIN;
            for (cell, w) in cells.iter().zip(widths) {
                if !cell.is_empty() {
                    out.push_str(&format!(
                        "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"{size:.1}\"{weight}>{}</text>\n",
                        y + size,
                        escape(cell)
                    ));
                }
                x += w;
            }
            let bottom = y + size * 1.45 - 1.0;
            out.push_str(&format!(
                "<line x1=\"{MARGIN}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#ccc\" stroke-width=\"0.5\"/>\n"
            ));
        }
        Block::Chart { svg, width, height } => {
            let k = (WIDTH - 2.0 * MARGIN) / width;
            let _ = height;
            out.push_str(&format!(
                "<g transform=\"translate({MARGIN} {y:.1}) scale({k:.4})\">\n{}\n</g>\n",
                strip_prolog(svg)
            ));
        }
        Block::Space(_) => {}
    }
}

/// A generous width of text in points at `size` (bold included): CJK characters are square, Latin ones
/// in DejaVu Sans at most about two thirds as wide.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| {
            if (c as u32) >= 0x2E80 {
                size
            } else {
                size * 0.66
            }
        })
        .sum()
}

fn blocks(report: &Report) -> Vec<Block> {
    let (title, lines) = tables::heading(report);
    let mut out = vec![Block::Text {
        text: title,
        size: 18.0,
        bold: true,
    }];
    for line in lines {
        out.push(Block::Text {
            text: line,
            size: TEXT,
            bold: false,
        });
    }
    let room = WIDTH - 2.0 * MARGIN;
    for table in tables::tables(report) {
        out.push(Block::Space(6.0));
        out.push(Block::Text {
            text: table.title.clone(),
            size: 12.0,
            bold: true,
        });
        if !table.rows.is_empty() {
            // Each column as wide as its widest cell; the whole set smaller when it would not fit.
            let mut widths: Vec<f64> = table
                .header
                .iter()
                .map(|h| text_width(h, TEXT) + 8.0)
                .collect();
            for row in &table.rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = w.max(text_width(cell.text(), TEXT) + 8.0);
                }
            }
            let total: f64 = widths.iter().sum();
            let k = if total > room { room / total } else { 1.0 };
            let widths: Vec<f64> = widths.iter().map(|w| w * k).collect();
            let size = TEXT * k;
            out.push(Block::Row {
                cells: table.header.clone(),
                widths: widths.clone(),
                size,
                bold: true,
            });
            for row in &table.rows {
                out.push(Block::Row {
                    cells: row.iter().map(|c| Cell::text(c).to_string()).collect(),
                    widths: widths.clone(),
                    size,
                    bold: false,
                });
            }
        }
        for note in table.notes {
            out.push(Block::Text {
                text: note,
                size: TEXT,
                bold: false,
            });
        }
    }
    if !report.charts.is_empty() {
        out.push(Block::Space(6.0));
        out.push(Block::Text {
            text: report.language.pick(&words::TRENDS).to_string(),
            size: 12.0,
            bold: true,
        });
        for chart in &report.charts {
            let k = room / f64::from(chart.width);
            out.push(Block::Chart {
                svg: chart.svg.clone(),
                width: f64::from(chart.width),
                height: f64::from(chart.height) * k,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use plantwatch_core::Timestamp;

    use super::*;
    use crate::stats::{Gap, GapCause, TagStats};
    use crate::{AlarmSummary, Language, TagKind, TagReport, Template};

    #[test]
    fn a_table_running_onto_the_next_page_repeats_its_header_there() {
        let template = Template::parse(
            "t.toml",
            "title = \"T\"\n[[groups]]\nname = \"G\"\ntags = [\"a/b\"]\nchart = false\n",
        )
        .expect("template");
        let tags = (0..60)
            .map(|i| TagReport {
                id: format!("dev/tag{i}"),
                unit: None,
                kind: TagKind::Number,
                stats: TagStats {
                    gaps: vec![Gap {
                        from: 1000,
                        to: 2000,
                        cause: GapCause::NoData,
                    }],
                    ..TagStats::default()
                },
            })
            .collect();
        let report = Report {
            template,
            language: Language::English,
            from: Timestamp(0),
            to: Timestamp(10_000),
            title: "T".into(),
            tags,
            devices: Vec::new(),
            alarms: AlarmSummary::default(),
            charts: Vec::new(),
        };
        let pages = pages(&report);
        assert!(
            pages.len() >= 2,
            "60 statistics rows and 60 gap rows fill more than a page"
        );
        let second = &pages[1];
        let first_text = second.find("<text").expect("page 2 has text");
        let first_row = second.find(">dev/tag").expect("page 2 has rows");
        assert!(
            second[first_text..first_row].contains(">Tag<"),
            "the header comes first on page 2"
        );
    }
}
