//! Alarm health on a synthetic journal (`tests/data/alarms/health.journal`): written to a real journal
//! database, read back, analysed, and printed in the compact form of `health.expect`, which must match.

use std::fmt::Write;
use std::path::Path;

use plantwatch_alarm::health::{analyse, HealthReport};
use plantwatch_alarm::{AlarmKind, Journal, JournalEntry, JournalQuery, JournalReader, Transition};
use plantwatch_core::{Priority, Timestamp};

/// The synthetic journal's time zero, aligned to a 10-minute period.
const START: i64 = 1_795_651_200_000; // 2026-11-26T00:00:00Z

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/alarms")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn entries(text: &str) -> Vec<JournalEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let secs: i64 = w[0].parse().expect("seconds");
            JournalEntry {
                time: Timestamp(START + secs * 1000),
                tag: w[1].to_string(),
                kind: AlarmKind::from_name(w[2]).expect("kind"),
                priority: Priority::from_name(w[3]).expect("priority"),
                state: Transition::from_name(w[4]).expect("state"),
                value: None,
                limit: None,
                message: format!("{} {}", w[1], w[2]),
                user: (w[4] == "acknowledged").then(|| "anna".to_string()),
                comment: None,
                shelved_until: None,
            }
        })
        .collect()
}

fn secs(t: Timestamp) -> i64 {
    (t.0 - START) / 1000
}

/// The report in the compact form of `health.expect` (periods as their index after START).
fn render(r: &HealthReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "activations {}", r.activations);
    let _ = writeln!(s, "periods {}", r.per_10_minutes.len());
    for p in r.per_10_minutes.iter().filter(|p| p.alarms > 0) {
        let _ = writeln!(s, "period {} {}", secs(p.start) / 600, p.alarms);
    }
    if let Some(b) = &r.busiest {
        let _ = writeln!(s, "busiest {} {}", secs(b.start) / 600, b.alarms);
    }
    for f in &r.floods {
        let _ = writeln!(
            s,
            "flood {} {} alarms={} peak={}",
            secs(f.start),
            secs(f.end),
            f.alarms,
            f.peak
        );
    }
    for c in &r.chattering {
        let _ = writeln!(
            s,
            "chatter {} per_minute={} activations={} first={}",
            c.alarm.key(),
            c.most_per_minute,
            c.activations,
            secs(c.first)
        );
    }
    for f in &r.most_frequent {
        let _ = writeln!(s, "top {} {}", f.alarm.key(), f.activations);
    }
    s
}

#[test]
fn flood_and_chattering_are_found_in_a_synthetic_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let written = entries(&data("health.journal"));
    Journal::open(&db)
        .expect("open journal")
        .write(&written, &[])
        .expect("write journal");

    let reader = JournalReader::open(&db).expect("open reader");
    let read = reader
        .entries(JournalQuery::default())
        .expect("read journal");
    assert_eq!(read.len(), written.len(), "every entry reads back");

    let report = analyse(&read, None, None);
    assert_eq!(render(&report), data("health.expect"));
    // 31 activations from 100 s to 9000 s: about 2.1 per 10 minutes, twice the steady-state target.
    assert!((report.average_per_10_minutes - 31.0 / (8900.001 / 600.0)).abs() < 1e-6);
}

#[test]
fn a_time_range_limits_what_the_report_sees() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    Journal::open(&db)
        .expect("open journal")
        .write(&entries(&data("health.journal")), &[])
        .expect("write");
    let reader = JournalReader::open(&db).expect("open reader");
    // From the chattering on: the flood is outside the range.
    let query = JournalQuery {
        from: Some(Timestamp(START + 7_000_000)),
        to: None,
    };
    let report = analyse(&reader.entries(query).expect("read"), query.from, query.to);
    assert_eq!(report.activations, 5);
    assert!(report.floods.is_empty(), "{:?}", report.floods);
    assert_eq!(report.chattering.len(), 1);
}
