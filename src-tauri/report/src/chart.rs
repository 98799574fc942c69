//! A trend chart per group of tags: plotters' SVG backend, one path for the PDF (drawn as vectors) and
//! the HTML (inline). Gaps are drawn as gaps: the line breaks where a tag has no usable value, and each
//! gap is a shaded band, so a stopped collector or an offline device is seen, not bridged.
//!
//! A group often mixes units (a level in m beside a flow in m³/h): on one scale the smaller one would be
//! a flat line on the axis. So the lines of one unit share the left axis, a second unit gets the right
//! axis, and with three units or more each line is drawn as a share of its own range, which its legend
//! entry gives ([`Scales`]).

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
    let lines: Vec<Line> = series.iter().map(points).collect();
    let scales = Scales::of(series);
    // Drawing into a string cannot fail but for a missing font; then the chart is drawn without text.
    let chart = Chart {
        title,
        series,
        lines: &lines,
        scales: &scales,
        from,
        to,
        lang,
    };
    if chart.draw_into(&mut svg, family).is_err() {
        svg.clear();
        let _ = chart.draw_into(&mut svg, None);
    }
    ChartSvg {
        title: title.to_string(),
        svg,
        width: WIDTH,
        height: HEIGHT,
    }
}

/// How a chart's lines share vertical scales, decided by their units (a tag without a unit counts as
/// one more unit).
#[derive(Debug, Clone, PartialEq)]
pub enum Scales {
    /// One unit: one axis, on the left.
    One,
    /// Two units: the first unit's lines on the left axis, the second's (`right[k]`) on the right.
    Two { right: Vec<bool> },
    /// Three units or more: each line as a share (0-100 %) of its own range, given in the legend.
    OwnRange,
}

impl Scales {
    pub fn of(series: &[Series<'_>]) -> Scales {
        let mut units: Vec<Option<&str>> = Vec::new();
        for s in series {
            let unit = s.tag.unit.as_deref();
            if !units.contains(&unit) {
                units.push(unit);
            }
        }
        match units.len() {
            0 | 1 => Scales::One,
            2 => Scales::Two {
                right: series
                    .iter()
                    .map(|s| s.tag.unit.as_deref() == units[1])
                    .collect(),
            },
            _ => Scales::OwnRange,
        }
    }

    fn on_right(&self, k: usize) -> bool {
        matches!(self, Scales::Two { right } if right[k])
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

/// A line as drawn: one point per column, `None` where it breaks.
type Line = Vec<(f64, Option<f64>)>;

/// One chart being drawn.
struct Chart<'c, 'a> {
    title: &'c str,
    series: &'c [Series<'a>],
    lines: &'c [Line],
    scales: &'c Scales,
    from: i64,
    to: i64,
    lang: Language,
}

impl Chart<'_, '_> {
    /// The lines as drawn: as they are, or (`Scales::OwnRange`) as shares of their own ranges, with each
    /// line's range (`None` for a line without a value).
    fn drawn_lines(&self) -> (Vec<Line>, Vec<Option<(f64, f64)>>) {
        let ranges: Vec<Option<(f64, f64)>> = self.lines.iter().map(|l| extent(l)).collect();
        if *self.scales != Scales::OwnRange {
            return (self.lines.to_vec(), ranges);
        }
        let shares = self
            .lines
            .iter()
            .zip(&ranges)
            .map(|(line, range)| {
                line.iter()
                    .map(|&(t, v)| (t, v.zip(*range).map(|(v, r)| share(v, r))))
                    .collect()
            })
            .collect();
        (shares, ranges)
    }

    /// The left and the right axis's ranges for the drawn `lines` (the right one is the left one unless
    /// there are two units).
    fn axes(&self, lines: &[Line]) -> ((f64, f64), (f64, f64)) {
        let side = |right: bool| {
            lines
                .iter()
                .enumerate()
                .filter(move |(k, _)| self.scales.on_right(*k) == right)
                .flat_map(|(_, l)| l.iter().filter_map(|p| p.1))
        };
        let left = axis_range(side(false));
        match self.scales {
            Scales::Two { .. } => (left, axis_range(side(true))),
            _ => (left, left),
        }
    }

    fn draw_into(&self, svg: &mut String, family: Option<&str>) -> Result<(), String> {
        let (from, to, lang) = (self.from, self.to, self.lang);
        let (lines, ranges) = self.drawn_lines();
        let ((lo, hi), (lo2, hi2)) = self.axes(&lines);
        let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut builder = ChartBuilder::on(&root);
        builder.margin(12);
        if let Some(family) = family {
            builder
                .caption(self.title, (family, 20))
                .x_label_area_size(40)
                .y_label_area_size(64);
            if matches!(self.scales, Scales::Two { .. }) {
                builder.right_y_label_area_size(64);
            }
        }
        let mut chart = builder
            .build_cartesian_2d(from as f64..to as f64, lo..hi)
            .map_err(|e| e.to_string())?
            .set_secondary_coord(from as f64..to as f64, lo2..hi2);
        let span = to - from;
        let time_label = |x: &f64| axis_time(*x as i64, span);
        let unit_of = |right: bool| {
            self.series
                .iter()
                .enumerate()
                .find(|(k, _)| self.scales.on_right(*k) == right)
                .and_then(|(_, s)| s.tag.unit.clone())
                .unwrap_or_default()
        };
        let left_desc = match self.scales {
            Scales::OwnRange => lang.pick(&words::SHARE_OF_RANGE).to_string(),
            _ => unit_of(false),
        };
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(WHITE.mix(0.0));
        if let Some(family) = family {
            mesh.x_labels(8)
                .x_label_formatter(&time_label)
                .x_desc(lang.pick(&words::TIME))
                .y_labels(8)
                .y_desc(left_desc)
                .label_style((family, 13))
                .axis_desc_style((family, 13));
        }
        mesh.draw().map_err(|e| e.to_string())?;
        if let (Some(family), Scales::Two { .. }) = (family, self.scales) {
            chart
                .configure_secondary_axes()
                .y_labels(8)
                .y_desc(unit_of(true))
                .label_style((family, 13))
                .axis_desc_style((family, 13))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        // Gap bands first, under the lines: every gap of every tag of the chart.
        let band = RGBColor(0x99, 0x99, 0x99).mix(0.25).filled();
        // Tags share their gaps (one device, one collector): overlapping gaps are shaded once, as their
        // union, not darker per tag.
        let mut gaps: Vec<(i64, i64)> = self
            .series
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
        if family.is_some() && self.series.iter().any(|s| !s.tag.stats.gaps.is_empty()) {
            drawn
                .label(lang.pick(&words::GAP_LEGEND))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], band));
        }
        for (k, (s, line)) in self.series.iter().zip(&lines).enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let pieces = pieces(line, colour.stroke_width(2));
            let drawn = if self.scales.on_right(k) {
                chart.draw_secondary_series(pieces)
            } else {
                chart.draw_series(pieces)
            }
            .map_err(|e| e.to_string())?;
            if family.is_some() {
                drawn
                    .label(self.legend(k, s, ranges[k]))
                    .legend(move |(x, y)| {
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

    /// A line's legend entry: the tag and its unit, the axis it is read on when there are two, its range
    /// when it is drawn as a share of it.
    fn legend(&self, k: usize, series: &Series<'_>, range: Option<(f64, f64)>) -> String {
        let id = &series.tag.id;
        let unit = series.tag.unit.as_deref();
        match (self.scales, unit, range) {
            (Scales::OwnRange, _, Some((lo, hi))) => {
                let unit = unit.map(|u| format!(" {u}")).unwrap_or_default();
                let (lo, hi) = (crate::print_number(lo), crate::print_number(hi));
                format!("{id} ({lo}–{hi}{unit})")
            }
            (Scales::Two { .. }, Some(unit), _) if self.scales.on_right(k) => {
                format!("{id} ({unit}) →")
            }
            (Scales::Two { .. }, None, _) if self.scales.on_right(k) => format!("{id} →"),
            (_, Some(unit), _) => format!("{id} ({unit})"),
            (_, None, _) => id.clone(),
        }
    }
}

/// The lowest and highest value of a line, if it has any.
fn extent(line: &[(f64, Option<f64>)]) -> Option<(f64, f64)> {
    line.iter().filter_map(|p| p.1).fold(None, |range, v| {
        Some(range.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))
    })
}

/// `v` as a share (%) of `range`; a line that never moves sits in the middle.
fn share(v: f64, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        (v - lo) / (hi - lo) * 100.0
    } else {
        50.0
    }
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

/// A value axis that holds `values` with a margin of 5 % of their spread above and below (at least 1e-3,
/// so a line that never moves is drawn inside the chart, not on its edge); 0 to 1 without values. The
/// report's charts and the Trends screen's exported chart use it.
pub fn axis_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::TagStats;
    use crate::TagKind;
    use plantwatch_core::Timestamp;

    fn tag(id: &str, unit: Option<&str>) -> TagReport {
        TagReport {
            id: id.into(),
            unit: unit.map(String::from),
            kind: TagKind::Number,
            stats: TagStats::default(),
        }
    }

    /// A line through `values`, one column a minute.
    fn buckets(values: &[f64]) -> Vec<Bucket> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Bucket {
                start: Timestamp(i as i64 * 60_000),
                end: Timestamp((i as i64 + 1) * 60_000),
                count: 1,
                not_good: 0,
                min: Some(v),
                max: Some(v),
                first: Some(v),
                last: Some(v),
                avg: Some(v),
            })
            .collect()
    }

    fn chart_of<'c, 'a>(
        series: &'c [Series<'a>],
        lines: &'c [Line],
        scales: &'c Scales,
    ) -> Chart<'c, 'a> {
        Chart {
            title: "pumps",
            series,
            lines,
            scales,
            from: 0,
            to: 240_000,
            lang: Language::English,
        }
    }

    #[test]
    fn lines_of_one_unit_share_one_axis_a_second_unit_gets_the_right_one_a_third_own_ranges() {
        let tags = [
            tag("p/level", Some("m")),
            tag("p/flow", Some("m³/h")),
            tag("p/flow2", Some("m³/h")),
            tag("p/speed", None),
        ];
        let (level, flow, flow2, speed) = (0, 1, 2, 3);
        let series = |which: &[usize]| -> Vec<Series<'_>> {
            which
                .iter()
                .map(|&k| Series {
                    tag: &tags[k],
                    buckets: Vec::new(),
                })
                .collect()
        };
        assert_eq!(Scales::of(&series(&[level, level])), Scales::One);
        assert_eq!(
            Scales::of(&series(&[flow, level, flow2])),
            Scales::Two {
                right: vec![false, true, false]
            }
        );
        assert_eq!(Scales::of(&series(&[level, flow, speed])), Scales::OwnRange);
    }

    #[test]
    fn a_second_unit_is_read_on_a_right_axis_of_its_own_range() {
        let (level, flow) = (tag("p/level", Some("m")), tag("p/flow", Some("m³/h")));
        let series = [
            Series {
                tag: &level,
                buckets: buckets(&[0.0, 5.0, 10.0, 2.0]),
            },
            Series {
                tag: &flow,
                buckets: buckets(&[1000.0, 1010.0, 1005.0, 1000.0]),
            },
        ];
        let lines: Vec<_> = series.iter().map(points).collect();
        let scales = Scales::of(&series);
        let chart = chart_of(&series, &lines, &scales);
        let (left, right) = chart.axes(&chart.drawn_lines().0);
        assert_eq!(left, (-0.5, 10.5), "the level alone on the left");
        assert_eq!(right, (999.5, 1010.5), "the flow alone on the right");
        let svg = draw("pumps", &series, 0, 240_000, Language::English).svg;
        if crate::fonts::family(Language::English).is_some() {
            assert!(svg.contains("m³/h"), "the right axis names its unit");
            assert!(
                svg.contains("p/flow (m³/h) →"),
                "the legend says which axis"
            );
        }
    }

    #[test]
    fn three_units_are_drawn_as_shares_of_each_line_s_range_given_in_the_legend() {
        let tags = [
            tag("p/level", Some("m")),
            tag("p/flow", Some("m³/h")),
            tag("p/run", None),
        ];
        let values: [&[f64]; 3] = [&[2.0, 4.0, 3.0], &[100.0, 150.0, 200.0], &[1.0, 1.0, 1.0]];
        let series: Vec<Series<'_>> = tags
            .iter()
            .zip(values)
            .map(|(tag, v)| Series {
                tag,
                buckets: buckets(v),
            })
            .collect();
        let lines: Vec<_> = series.iter().map(points).collect();
        let scales = Scales::of(&series);
        let chart = chart_of(&series, &lines, &scales);
        let (drawn, ranges) = chart.drawn_lines();
        let shares = |k: usize| -> Vec<f64> { drawn[k].iter().filter_map(|p| p.1).collect() };
        assert_eq!(shares(0), [0.0, 100.0, 50.0]);
        assert_eq!(shares(1), [0.0, 50.0, 100.0]);
        assert_eq!(shares(2), [50.0, 50.0, 50.0], "a flat line in the middle");
        assert_eq!(ranges[1], Some((100.0, 200.0)));
        assert_eq!(
            chart.legend(1, &series[1], ranges[1]),
            "p/flow (100–200 m³/h)"
        );
        assert_eq!(chart.legend(2, &series[2], ranges[2]), "p/run (1–1)");
        let svg = draw("pumps", &series, 0, 180_000, Language::English).svg;
        if crate::fonts::family(Language::English).is_some() {
            assert!(
                svg.contains("% of each line"),
                "the axis says what it shows"
            );
        }
    }
}
