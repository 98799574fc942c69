//! The report as CSV, for machines: one row per number, `section,subject,item,value,from,to`.
//!
//! - `period,report,from|to|template,...`
//! - `stat,TAG,samples|min|max|avg|twa|coverage|mostly_gap|time_true_s|time_false_s|starts,VALUE`
//!   (a statistic without a value, such as the min of a tag with no good sample, is an empty value)
//! - `gap,TAG,CAUSE,DURATION_S,FROM,TO` (cause `no_data` or the quality, `bad:comm_lost`)
//! - `availability,DEVICE,availability|known_s,VALUE`
//! - `alarms,PRIORITY,activations,N` and `top_alarm,TAG,KIND,N`
//!
//! Numbers are written in full (Rust's shortest round-trip form), times RFC 3339 UTC.

use plantwatch_core::Timestamp;

use crate::template::Statistic;
use crate::{Report, TagKind};

pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut row = |cells: [&str; 6]| out.write_record(cells).map_err(|e| e.to_string());
    row(["section", "subject", "item", "value", "from", "to"])?;
    let (from, to) = (report.from.to_string(), report.to.to_string());
    row(["period", "report", "window", "", &from, &to])?;
    row([
        "period",
        "report",
        "template",
        &report.template.source,
        "",
        "",
    ])?;
    let number = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for tag in &report.tags {
        let s = &tag.stats;
        let mut stat = |item: &str, value: String| row(["stat", &tag.id, item, &value, "", ""]);
        stat("samples", s.samples.to_string())?;
        if tag.kind != TagKind::Text {
            for statistic in &report.template.statistics {
                match (statistic, tag.kind) {
                    (Statistic::Min, _) => stat("min", number(s.min))?,
                    (Statistic::Max, _) => stat("max", number(s.max))?,
                    (Statistic::Avg, _) => stat("avg", number(s.avg))?,
                    (Statistic::Twa, _) => stat("twa", number(s.twa))?,
                    (Statistic::TimeInState, TagKind::Boolean) => {
                        stat("time_true_s", (s.time_true_ms as f64 / 1000.0).to_string())?;
                        stat(
                            "time_false_s",
                            (s.time_false_ms as f64 / 1000.0).to_string(),
                        )?;
                    }
                    (Statistic::Starts, TagKind::Boolean) => stat("starts", s.starts.to_string())?,
                    _ => {}
                }
            }
        }
        stat("coverage", s.coverage.to_string())?;
        stat("mostly_gap", u8::from(s.mostly_gap()).to_string())?;
    }
    for tag in &report.tags {
        for gap in &tag.stats.gaps {
            row([
                "gap",
                &tag.id,
                &gap.cause.code(),
                &(gap.duration_ms() as f64 / 1000.0).to_string(),
                &Timestamp(gap.from).to_string(),
                &Timestamp(gap.to).to_string(),
            ])?;
        }
    }
    for device in &report.devices {
        row([
            "availability",
            &device.id,
            "availability",
            &number(device.availability),
            "",
            "",
        ])?;
        let known = (device.known_ms as f64 / 1000.0).to_string();
        row(["availability", &device.id, "known_s", &known, "", ""])?;
    }
    for (priority, n) in &report.alarms.by_priority {
        row([
            "alarms",
            priority.name(),
            "activations",
            &n.to_string(),
            "",
            "",
        ])?;
    }
    for top in &report.alarms.most_frequent {
        let n = top.activations.to_string();
        row([
            "top_alarm",
            &top.alarm.tag,
            top.alarm.kind.name(),
            &n,
            "",
            "",
        ])?;
    }
    out.into_inner().map_err(|e| e.to_string())
}
