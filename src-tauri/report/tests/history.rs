//! The report over a real history file: samples written by the history writer, read back through
//! `HistoryReader`, checked against the history's own time-weighted average.

use std::path::Path;
use std::time::Duration;

use plantwatch_alarm::JournalReader;
use plantwatch_core::testing::{plant, tag};
use plantwatch_core::{Quality, Sample, TagIndex, Timestamp, Value, ValueType};
use plantwatch_history::{Aggregate, HistoryReader, HistoryWriter, SampleQuery};
use plantwatch_report::{Format, GapCause, Language, Report, Template};

/// A window of ten minutes starting at a multiple of ten minutes, so the history's aggregate over
/// `--every 10m` has exactly the window as its one interval.
const FROM: i64 = 1_764_000_000_000;
const TO: i64 = FROM + 600_000;

/// Writes the samples of `file` (tests/data/report/) as `plc/level` plus a busy `plc/flow` (so the
/// plant is seen running wherever `flow` has samples: one a second, except during silences the file's
/// level samples also skip) into a new history.
fn history(dir: &Path, file: &str, silences: &[(i64, i64)]) -> std::path::PathBuf {
    let path = dir.join("plant.db");
    let plant = plant(
        "test",
        &path,
        vec![(
            "plc",
            vec![tag("level", ValueType::U16), tag("flow", ValueType::F32)],
        )],
    );
    let writer = HistoryWriter::open(&path, &plant).expect("open the writer");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/report")
            .join(file),
    )
    .expect("test data");
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let seconds: f64 = words[0].parse().expect("seconds");
        samples.push(Sample {
            tag: TagIndex(0),
            time: Timestamp(FROM + (seconds * 1000.0) as i64),
            value: words[1].parse().ok().map(Value::Number),
            quality: Quality::parse(words[2]).expect("quality"),
        });
    }
    for s in (-60..=660).map(|s| FROM + s * 1000) {
        if !silences.iter().any(|(a, b)| (*a..*b).contains(&s)) {
            samples.push(Sample {
                tag: TagIndex(1),
                time: Timestamp(s),
                value: Some(Value::Number(1.0)),
                quality: Quality::Good,
            });
        }
    }
    samples.sort_by_key(|s| s.time);
    writer.sink().send(samples);
    writer.close().expect("close the writer");
    path
}

fn report_of(path: &Path) -> Report {
    let template = Template::parse(
        "t.toml",
        "title = \"T\"\nmax_gap = \"90s\"\n[[groups]]\nname = \"G\"\ntags = [\"plc/level\", \"plc/flow\"]\n",
    )
    .expect("template");
    let history = HistoryReader::open(path).expect("reader");
    let journal = JournalReader::open(path).expect("journal");
    Report::build(
        &history,
        path,
        &journal,
        &template,
        Timestamp(FROM),
        Timestamp(TO),
        Language::English,
    )
    .expect("report")
}

#[test]
fn the_time_weighted_average_agrees_with_the_history_on_a_gap_free_span() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = history(dir.path(), "level_steps.txt", &[]);
    let report = report_of(&path);
    let level = &report.tags[0];
    assert!(level.stats.gaps.is_empty(), "{:?}", level.stats.gaps);
    let history = HistoryReader::open(&path).expect("reader");
    let query = SampleQuery {
        tags: vec!["plc/level".into()],
        from: Some(Timestamp(FROM)),
        to: Some(Timestamp(TO)),
    };
    let avg = history
        .aggregate(&query, Duration::from_secs(600), Aggregate::Avg)
        .expect("aggregate");
    assert_eq!(avg.len(), 1, "one interval: the window");
    let (ours, theirs) = (
        level.stats.twa.expect("a twa"),
        avg[0].value.expect("an avg"),
    );
    assert!(
        (ours - theirs).abs() < 1e-9,
        "report {ours} vs history {theirs}"
    );
}

#[test]
fn gaps_are_listed_with_their_causes_and_left_out_of_the_averages() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The collector stopped from 130 s to 330 s: no tag has a sample then.
    let path = history(
        dir.path(),
        "level_with_gaps.txt",
        &[(FROM + 130_001, FROM + 330_000)],
    );
    let report = report_of(&path);
    let s = &report.tags[0].stats;
    let found: Vec<(i64, i64, String)> = s
        .gaps
        .iter()
        .map(|g| ((g.from - FROM) / 1000, (g.to - FROM) / 1000, g.cause.code()))
        .collect();
    assert_eq!(
        found,
        vec![
            (30, 70, "bad:comm_lost".to_string()),
            (100, 120, "bad:exception_02".to_string()),
            (130, 330, "no_data".to_string()),
        ]
    );
    assert_eq!(s.gaps[2].cause, GapCause::NoData);
    // Good: 0-30 at 2.10 then 2.15, 70-100 at 2.40, 120-130 at 2.90, 330-455 at 2.20, 455-600 at 1.75/1.70.
    let held = 0.5 * 2.10
        + 29.5 * 2.15
        + 30.0 * 2.40
        + 10.0 * 2.90
        + 125.0 * 2.20
        + 144.0 * 1.75
        + 1.0 * 1.70;
    let twa = s.twa.expect("twa");
    assert!((twa - held / 340.0).abs() < 1e-9, "{twa}");
    assert!((s.coverage - 340.0 / 600.0).abs() < 1e-9);
    // plc is one device: it answered except while the link was lost (the refusal is an answer), over
    // the 400 s the collector ran.
    let plc = &report.devices[0];
    assert_eq!(plc.known_ms, 400_000);
    assert_eq!(
        plc.availability,
        Some(1.0),
        "flow stayed good throughout, so plc answered"
    );
}

#[test]
fn every_format_is_written_atomically_and_reads_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = history(
        dir.path(),
        "level_with_gaps.txt",
        &[(FROM + 130_001, FROM + 330_000)],
    );
    let report = report_of(&path);
    for format in Format::ALL {
        let out = dir.path().join(format!("r.{format}"));
        report.write(&out, format).expect("write");
        let bytes = std::fs::read(&out).expect("read back");
        let magic: &[u8] = match format {
            Format::Pdf => b"%PDF-",
            Format::Xlsx => b"PK",
            Format::Csv => b"section,",
            Format::Html => b"<!DOCTYPE html>",
        };
        assert!(bytes.starts_with(magic), "{format}");
        // Readable by others (as any new file under the usual umask 022 or 002), not private.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o044, 0o044, "{format}: mode {mode:o}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".plantwatch-report-")
        })
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
    let missing = dir.path().join("no/such/folder/r.pdf");
    assert!(report.write(&missing, Format::Pdf).is_err());
    assert!(!missing.exists());
}

/// Measures a report over a day of ten 1 Hz tags (864,000 samples, with an hour's outage) and prints
/// the time of `Report::build` and of each format. Run with `--ignored --no-capture`.
#[test]
#[ignore]
fn a_day_of_ten_tags_at_one_hertz() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("day.db");
    let names: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let plant = plant(
        "day",
        &path,
        vec![(
            "plc",
            names.iter().map(|n| tag(n, ValueType::F32)).collect(),
        )],
    );
    let writer = HistoryWriter::open(&path, &plant).expect("writer");
    let day_from = FROM - FROM % 86_400_000;
    for hour in 0..24 {
        if hour == 12 {
            continue; // the collector stopped for an hour
        }
        let mut batch = Vec::with_capacity(36_000);
        for s in 0..3600 {
            let t = day_from + (hour * 3600 + s) * 1000;
            for i in 0..10u32 {
                batch.push(Sample {
                    tag: TagIndex(i),
                    time: Timestamp(t),
                    value: Some(Value::Number(
                        ((t / 1000) % 600) as f64 * 0.01 + f64::from(i),
                    )),
                    quality: Quality::Good,
                });
            }
        }
        writer.sink().send(batch);
    }
    writer.close().expect("close");
    let tags: Vec<String> = names.iter().map(|n| format!("\"plc/{n}\"")).collect();
    let template = Template::parse(
        "day.toml",
        &format!(
            "title = \"Day\"\n[[groups]]\nname = \"A\"\ntags = [{}]\n[[groups]]\nname = \"B\"\ntags = [{}]\n",
            tags[..5].join(", "),
            tags[5..].join(", ")
        ),
    )
    .expect("template");
    let history = HistoryReader::open(&path).expect("reader");
    let journal = JournalReader::open(&path).expect("journal");
    let started = std::time::Instant::now();
    let report = Report::build(
        &history,
        &path,
        &journal,
        &template,
        Timestamp(day_from),
        Timestamp(day_from + 86_400_000),
        Language::English,
    )
    .expect("report");
    println!(
        "build: {:?} for 864,000 samples of 10 tags",
        started.elapsed()
    );
    // The hour without data, from the last sample before it; and the last second of the day, after
    // the day's last sample (nothing follows it).
    let gaps: Vec<i64> = report.tags[0]
        .stats
        .gaps
        .iter()
        .map(|g| g.duration_ms())
        .collect();
    assert_eq!(gaps, vec![3_601_000, 1000]);
    for format in Format::ALL {
        let started = std::time::Instant::now();
        report
            .write(&dir.path().join(format!("day.{format}")), format)
            .expect("write");
        println!("{format}: {:?}", started.elapsed());
    }
}
