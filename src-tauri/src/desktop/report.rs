//! Exports of the trend view: CSV of the thinned columns, and the chart drawn by plotters as PNG or SVG
//! (rendered on the Rust side, so the export does not depend on the webview).

use std::path::Path;

use plotters::prelude::*;

use super::wire::{ErrorCode, Language, TrendData, UiError};
use plantwatch_core::Timestamp;

use crate::csv;

/// A pen's name for the export header and legend: the tag's full id and unit, and on a chart in
/// Chinese the tag's Chinese name when the plant gives one.
pub struct PenLabel {
    pub id: String,
    pub unit: Option<String>,
    pub name: Option<String>,
}

/// One row per column: the time (RFC 3339 UTC), then each pen's avg, min, max and count. Fields and
/// numbers go through the CLI's CSV writer: a value is written as `plantwatch export` writes it.
pub fn csv(data: &TrendData, labels: &[PenLabel]) -> String {
    use std::fmt::Write;
    let mut out = String::from("time");
    // Writing to a String cannot fail.
    for l in labels {
        for stat in ["avg", "min", "max", "count"] {
            let _ = write!(out, ",{}", csv::field(&format!("{} {stat}", l.id)));
        }
    }
    out.push('\n');
    for (c, &t) in data.time.iter().enumerate() {
        out.push_str(&Timestamp(t.round() as i64).to_string());
        for p in &data.pens {
            for stat in [p.avg[c], p.min[c], p.max[c]] {
                out.push(',');
                if let Some(v) = stat {
                    let _ = write!(out, "{}", csv::sample(v));
                }
            }
            let _ = write!(out, ",{}", p.count[c]);
        }
        out.push('\n');
    }
    out
}

const COLOURS: [RGBColor; 8] = [
    RGBColor(0x0f, 0x76, 0x6e),
    RGBColor(0xc2, 0x5e, 0x00),
    RGBColor(0x1d, 0x5b, 0xbf),
    RGBColor(0xa3, 0x2c, 0x9f),
    RGBColor(0x8a, 0x73, 0x00),
    RGBColor(0x3f, 0x7f, 0x1f),
    RGBColor(0xc6, 0x28, 0x28),
    RGBColor(0x55, 0x60, 0x6e),
];

/// Draws the chart of `plant`'s trend to a PNG or SVG file, its title and labels in the language.
pub fn chart(
    path: &Path,
    svg: bool,
    plant: &str,
    language: Language,
    data: &TrendData,
    labels: &[PenLabel],
) -> Result<(), UiError> {
    let size = (1600u32, 900u32);
    let text = Text {
        family: plantwatch_report::fonts::family(language.into()),
        title: language.trend_title(plant),
        time_axis: language.time_axis(),
    };
    let result = if svg {
        draw(
            SVGBackend::new(path, size).into_drawing_area(),
            &text,
            data,
            labels,
        )
    } else {
        draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            &text,
            data,
            labels,
        )
    };
    result.map_err(|message| {
        UiError::new(
            ErrorCode::Io,
            format!("cannot draw {}: {message}", path.display()),
        )
    })
}

/// A chart's words and the font family they are drawn in (`None`: no font, no text).
struct Text {
    family: Option<&'static str>,
    title: String,
    time_axis: &'static str,
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    words: &Text,
    data: &TrendData,
    labels: &[PenLabel],
) -> Result<(), String> {
    let family = words.family.unwrap_or("sans-serif");
    let text = words.family.is_some();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (lo, hi) = value_range(data);
    let (x0, x1) = (data.from as f64, data.to as f64);
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder
            .caption(&words.title, (family, 28))
            .x_label_area_size(56)
            .y_label_area_size(80);
    }
    let mut chart = builder
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(|e| e.to_string())?;
    if text {
        let span = data.to - data.from;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| axis_time(*x as i64, span))
            .x_desc(words.time_axis)
            .y_labels(10)
            .label_style((family, 18))
            .axis_desc_style((family, 18))
            .draw()
            .map_err(|e| e.to_string())?;
    } else {
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .draw()
            .map_err(|e| e.to_string())?;
    }
    for (k, pen) in data.pens.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let band = colour.mix(0.35);
        for series in [&pen.min, &pen.max] {
            chart
                .draw_series(segments(&data.time, series, band))
                .map_err(|e| e.to_string())?;
        }
        let line = chart
            .draw_series(segments(&data.time, &pen.avg, colour.stroke_width(3)))
            .map_err(|e| e.to_string())?;
        if text {
            let label = labels.get(k).map_or(String::new(), |l| {
                let named = match &l.name {
                    Some(name) => format!("{name} {}", l.id),
                    None => l.id.clone(),
                };
                match &l.unit {
                    Some(u) => format!("{named} ({u})"),
                    None => named,
                }
            });
            line.label(label).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3))
            });
        }
    }
    if text && !data.pens.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((family, 18))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Line pieces between gaps: a column without samples breaks the line instead of bridging it.
fn segments<S: Into<ShapeStyle> + Copy>(
    time: &[f64],
    values: &[Option<f64>],
    style: S,
) -> Vec<PathElement<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (t, v) in time.iter().zip(values) {
        match v {
            Some(v) => run.push((*t, *v)),
            None if !run.is_empty() => out.push(PathElement::new(std::mem::take(&mut run), style)),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(PathElement::new(run, style));
    }
    out
}

/// The value axis: the report charts' rule over every pen's column minima and maxima.
fn value_range(data: &TrendData) -> (f64, f64) {
    plantwatch_report::chart::axis_range(
        data.pens
            .iter()
            .flat_map(|p| p.min.iter().chain(p.max.iter()))
            .flatten()
            .copied(),
    )
}

/// Axis labels in UTC: times for spans under two days, dates beyond.
fn axis_time(ms: i64, span: i64) -> String {
    let text = Timestamp(ms).to_string(); // 2026-11-25T14:00:00.000Z
    if span < 2 * 86_400_000 {
        text.get(11..19).unwrap_or(&text).to_string()
    } else {
        text.get(0..16).unwrap_or(&text).replace('T', " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::wire::PenData;
    use plantwatch_core::Quality;

    fn data() -> TrendData {
        TrendData {
            from: 0,
            to: 4000,
            time: vec![500.0, 1500.0, 2500.0, 3500.0],
            pens: vec![PenData {
                tag: 0,
                min: vec![Some(1.0), None, Some(2.0), Some(3.0)],
                max: vec![Some(1.5), None, Some(2.5), Some(3.5)],
                avg: vec![Some(1.2), None, Some(2.2), Some(3.2)],
                count: vec![3, 0, 2, 1],
            }],
            query_ms: 0.0,
        }
    }

    #[test]
    fn csv_has_one_row_per_column_and_empty_cells_for_gaps() {
        let text = csv(
            &data(),
            &[PenLabel {
                id: "plc/level".into(),
                unit: Some("m".into()),
                name: None,
            }],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "time,plc/level avg,plc/level min,plc/level max,plc/level count"
        );
        assert_eq!(lines[1], "1970-01-01T00:00:00.500Z,1.2,1,1.5,3");
        assert_eq!(lines[2], "1970-01-01T00:00:01.500Z,,,,0");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn an_unthinned_trend_export_writes_each_value_as_plantwatch_export_does() {
        use crate::cli::export::{write_row, Cell, Format};
        let values = [f64::from(0.1_f32), 101.0 * 0.1, -1.5, 1e-7, 42.0];
        let time: Vec<f64> = (0..values.len()).map(|i| 1000.0 * i as f64).collect();
        let one_each = values.iter().map(|&v| Some(v)).collect::<Vec<_>>();
        let data = TrendData {
            from: 0,
            to: 5000,
            time: time.clone(),
            pens: vec![PenData {
                tag: 0,
                min: one_each.clone(),
                max: one_each.clone(),
                avg: one_each,
                count: vec![1; values.len()],
            }],
            query_ms: 0.0,
        };
        let label = PenLabel {
            id: "plc/level".into(),
            unit: None,
            name: None,
        };
        let trend = csv(&data, &[label]);
        for (line, (&t, &v)) in trend.lines().skip(1).zip(time.iter().zip(&values)) {
            let mut cli = Vec::new();
            let at = Timestamp(t as i64);
            write_row(
                &mut cli,
                Format::Csv,
                at,
                "plc/level",
                Cell::Number(v),
                Quality::Good,
            )
            .expect("written to memory");
            let cli = String::from_utf8(cli).expect("utf-8");
            // CLI: time,tag,value,quality; trend: time,avg,min,max,count.
            let cli_cells: Vec<&str> = cli.trim_end().split(',').collect();
            let trend_cells: Vec<&str> = line.split(',').collect();
            assert_eq!(trend_cells[0], cli_cells[0], "time of {v}");
            for stat in &trend_cells[1..4] {
                assert_eq!(*stat, cli_cells[2], "value {v}");
            }
        }
    }

    #[test]
    fn gaps_split_the_line() {
        let d = data();
        assert_eq!(segments(&d.time, &d.pens[0].avg, BLACK).len(), 2);
    }

    #[test]
    fn png_and_svg_files_are_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let labels = [PenLabel {
            id: "plc/level".into(),
            unit: None,
            name: None,
        }];
        for (name, svg) in [("t.png", false), ("t.svg", true)] {
            let path = dir.path().join(name);
            chart(&path, svg, "Level", Language::English, &data(), &labels).expect("drawn");
            let bytes = std::fs::read(&path).expect("written");
            if svg {
                assert!(
                    String::from_utf8_lossy(&bytes).contains("<svg"),
                    "an SVG document"
                );
            } else {
                assert_eq!(&bytes[1..4], b"PNG", "a PNG file");
            }
        }
    }

    #[test]
    fn a_chart_in_chinese_has_chinese_title_axis_and_legend() {
        let dir = tempfile::tempdir().expect("temp dir");
        let labels = [PenLabel {
            id: "plc/level".into(),
            unit: Some("m".into()),
            name: Some("集水井液位".into()),
        }];
        // SVG keeps its text as text: the words can be read back.
        let path = dir.path().join("t.svg");
        chart(
            &path,
            true,
            "4 号泵站",
            Language::SimplifiedChinese,
            &data(),
            &labels,
        )
        .expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("written");
        for words in ["4 号泵站：趋势", "时间（UTC）", "集水井液位 plc/level (m)"] {
            assert!(svg.contains(words), "{words} in the SVG");
        }
        // The PNG is drawn with the Simplified Chinese face (see plantwatch_report::fonts), so its glyphs are real.
        let png = dir.path().join("t.png");
        chart(
            &png,
            false,
            "4 号泵站",
            Language::SimplifiedChinese,
            &data(),
            &labels,
        )
        .expect("drawn");
        if let Some(keep) = std::env::var_os("PLANTWATCH_KEEP_CHART") {
            std::fs::copy(&png, keep).expect("kept for a look");
        }
        assert_eq!(&std::fs::read(&png).expect("written")[1..4], b"PNG");
    }
}
