//! A trend chart per group of tags: plotters' SVG backend, one path for the PDF (drawn as vectors) and
//! the HTML (inline). Gaps are drawn as gaps: the line breaks where a tag has no usable value, and each
//! gap is a shaded band, so a stopped collector or an offline device is seen, not bridged.

use plantwatch_history::Bucket;
use plotters::prelude::*;

use crate::stats::Stretch;
use crate::words::Words as _;
use crate::words::{self, Language};
use crate::{ChartSvg, TagReport};

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 380;

const COLOURS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// One tag's line: its report (for the gaps) and its thinned columns.
pub struct Series<'a> {
    pub tag: &'a TagReport,
    pub buckets: Vec<Bucket>,
}

/// Draws the chart of one group over `[from, to)` (milliseconds).
pub fn draw(title: &str, series: &[Series<'_>], from: i64, to: i64, lang: Language) -> ChartSvg {
    let mut svg = String::new();
    let family = crate::fonts::family(lang);
    let lines: Vec<Vec<(f64, Option<f64>)>> = series.iter().map(points).collect();
    // Drawing into a string cannot fail but for a missing font; then the chart is drawn without text.
    if draw_into(&mut svg, title, series, &lines, from, to, lang, family).is_err() {
        svg.clear();
        let _ = draw_into(&mut svg, title, series, &lines, from, to, lang, None);
    }
    ChartSvg {
        title: title.to_string(),
        svg,
        width: WIDTH,
        height: HEIGHT,
    }
}

/// A line's points, one per column: the column's mean, or the value still holding from an earlier
/// column; `None` where the tag is in a gap at the column's middle (the line breaks there).
fn points(series: &Series<'_>) -> Vec<(f64, Option<f64>)> {
    let stretches = &series.tag.stats.stretches;
    let mut held: Option<f64> = None;
    series
        .buckets
        .iter()
        .map(|b| {
            let middle = b.start.0 + (b.end.0 - b.start.0) / 2;
            if b.count > 0 {
                held = b.last;
                return (middle as f64, b.avg);
            }
            let in_gap = !has_data_at(stretches, middle);
            if in_gap {
                held = None;
            }
            (middle as f64, if in_gap { None } else { held })
        })
        .collect()
}

fn has_data_at(stretches: &[Stretch], t: i64) -> bool {
    let i = stretches.partition_point(|s| s.to <= t);
    stretches
        .get(i)
        .is_some_and(|s| s.from <= t && s.gap.is_none())
}

#[allow(clippy::too_many_arguments)]
fn draw_into(
    svg: &mut String,
    title: &str,
    series: &[Series<'_>],
    lines: &[Vec<(f64, Option<f64>)>],
    from: i64,
    to: i64,
    lang: Language,
    family: Option<&str>,
) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (lo, hi) = value_range(lines);
    let mut builder = ChartBuilder::on(&root);
    builder.margin(12);
    if let Some(family) = family {
        builder
            .caption(title, (family, 20))
            .x_label_area_size(40)
            .y_label_area_size(64);
    }
    let mut chart = builder
        .build_cartesian_2d(from as f64..to as f64, lo..hi)
        .map_err(|e| e.to_string())?;
    let span = to - from;
    let time_label = |x: &f64| axis_time(*x as i64, span);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE.mix(0.0));
    if let Some(family) = family {
        mesh.x_labels(8)
            .x_label_formatter(&time_label)
            .x_desc(lang.pick(&words::TIME))
            .y_labels(8)
            .label_style((family, 13))
            .axis_desc_style((family, 13));
    }
    mesh.draw().map_err(|e| e.to_string())?;
    // Gap bands first, under the lines: every gap of every tag of the chart.
    let band = RGBColor(0x99, 0x99, 0x99).mix(0.25).filled();
    // Tags share their gaps (one device, one collector): overlapping gaps are shaded once, as their
    // union, not darker per tag.
    let mut gaps: Vec<(i64, i64)> = series
        .iter()
        .flat_map(|s| s.tag.stats.gaps.iter().map(|g| (g.from, g.to)))
        .collect();
    gaps.sort_unstable();
    let mut stretches: Vec<(i64, i64)> = Vec::with_capacity(gaps.len());
    for (a, b) in gaps {
        match stretches.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => stretches.push((a, b)),
        }
    }
    let bands = stretches
        .into_iter()
        .map(|(a, b)| Rectangle::new([(a as f64, lo), (b as f64, hi)], band));
    let drawn = chart.draw_series(bands).map_err(|e| e.to_string())?;
    if family.is_some() && series.iter().any(|s| !s.tag.stats.gaps.is_empty()) {
        drawn
            .label(lang.pick(&words::GAP_LEGEND))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], band));
    }
    for (k, (s, line)) in series.iter().zip(lines).enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let drawn = chart
            .draw_series(pieces(line, colour.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        if family.is_some() {
            let label = match &s.tag.unit {
                Some(unit) => format!("{} ({unit})", s.tag.id),
                None => s.tag.id.clone(),
            };
            drawn.label(label).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
    }
    if let Some(family) = family {
        // The legend names tags and units (and "gap"): set in the Latin face where
        // there is one, whose widths plotters measures as usvg draws them (the CJK face's Latin
        // letters came out wider in the PDF than plotters measured, running out of the legend's box).
        let family = crate::fonts::family(Language::English).unwrap_or(family);
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((family, 12))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Line pieces between gaps: a point without a value breaks the line instead of bridging it.
fn pieces(line: &[(f64, Option<f64>)], style: ShapeStyle) -> Vec<PathElement<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (t, v) in line {
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

fn value_range(lines: &[Vec<(f64, Option<f64>)>]) -> (f64, f64) {
    let (lo, hi) = lines
        .iter()
        .flatten()
        .filter_map(|(_, v)| *v)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad, hi + pad)
}

/// Axis labels in UTC: seconds for spans under an hour, minutes under two days, dates and hours beyond.
fn axis_time(ms: i64, span: i64) -> String {
    let text = crate::print_time(ms); // 2026-11-25 14:00:00
    if span < 3_600_000 {
        text.get(11..19).unwrap_or(&text).to_string()
    } else if span < 2 * 86_400_000 {
        text.get(11..16).unwrap_or(&text).to_string()
    } else {
        text.get(5..13).unwrap_or(&text).to_string()
    }
}
