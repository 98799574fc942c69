//! Retention: raw samples older than their keep leave raw reads and exports, summaries stay until
//! `keep_summaries` and still draw trends, a tag's own keep wins, and the freed pages are reused.

use super::*;
use crate::retain::{retain_step, RetainCursor, RetainLimits, RetentionPlan};

const DAY: i64 = 86_400_000;
/// The clock of the tests: day 100 since the epoch.
const NOW: i64 = 100 * DAY;

/// 100 days of plc/flow and meter/kw, a sample every 10 minutes (chunks of 24 samples, four hours each,
/// starting on every fourth whole hour).
fn hundred_days(offset: i64) -> Vec<Sample> {
    (0..100 * 144)
        .flat_map(|i| {
            let t = offset + i * 600_000;
            [num(FLOW, t, (i % 50) as f64), num(KW, t, i as f64)]
        })
        .collect()
}

fn days(d: i64) -> Duration {
    Duration::from_millis((d * DAY) as u64)
}

/// keep 30 days, summaries 60, kw 10 days of its own.
fn plan() -> RetentionPlan {
    let kw = query_id("meter/kw");
    RetentionPlan::new(Some(days(30)), Some(days(60)), [(kw, days(10))])
}

/// The ids a fresh file of the demo plant gives its tags (in config order).
fn query_id(full_id: &str) -> u32 {
    ["plc/flow", "plc/run", "plc/mode", "meter/kw"]
        .iter()
        .position(|t| *t == full_id)
        .map(|i| i as u32 + 1)
        .expect("a demo tag")
}

/// Runs a retention pass at `now` to its end in small steps; returns the steps.
fn retain_all(path: &Path, plan: &RetentionPlan, now: i64) -> usize {
    let conn = crate::schema::open_connection(path).expect("open");
    let mut cursor = RetainCursor::start(now, None);
    let limits = RetainLimits {
        tags: 2,
        chunks: 100,
    };
    for steps in 1..10_000 {
        let tx = conn.unchecked_transaction().expect("tx");
        let (next, _) = retain_step(&tx, plan, cursor, limits).expect("step");
        tx.commit().expect("commit");
        match next {
            Some(next) => cursor = next,
            None => return steps,
        }
    }
    panic!("a pass never ended")
}

fn times_of(path: &Path, tag: &str) -> Vec<i64> {
    let reader = HistoryReader::open(path).expect("reader");
    let query = SampleQuery {
        tags: vec![tag.into()],
        ..SampleQuery::default()
    };
    let mut times = Vec::new();
    reader
        .for_each_sample(&query, |s| times.push(s.time.0))
        .expect("read");
    times
}

#[test]
fn history_older_than_keep_leaves_raw_reads_and_its_summaries_draw_trends_until_keep_summaries() {
    let samples = hundred_days(0);
    let (_dir, path) = stored(samples.clone());
    let pages_before = query_number(&path, "PRAGMA page_count");
    let free_before = query_number(&path, "PRAGMA freelist_count");

    let steps = retain_all(&path, &plan(), NOW);
    let rows = |sql: &str| query_number(&path, sql);
    assert!(steps > 5, "bounded steps: {steps}");

    // Raw samples: flow from day 70 on, kw (its own keep) from day 90 on, whole chunks at a time.
    let flow = times_of(&path, "plc/flow");
    let expected: Vec<i64> = (0..100 * 144)
        .map(|i| i * 600_000)
        .filter(|&t| t >= NOW - 30 * DAY)
        .collect();
    assert_eq!(flow, expected);
    assert_eq!(times_of(&path, "meter/kw").first(), Some(&(NOW - 10 * DAY)));

    // Summary rows: none before day 40, without data from 40 to 70 (kw: to 90), whole after.
    assert_eq!(
        rows(&format!(
            "SELECT count(*) FROM chunks WHERE start < {}",
            NOW - 60 * DAY
        )),
        0
    );
    assert_eq!(
        rows(&format!(
            "SELECT count(*) FROM chunks WHERE tag = 1 AND length(data) = 0 AND count = 24 AND start >= {} AND start < {}",
            NOW - 60 * DAY,
            NOW - 30 * DAY
        )),
        30 * 6
    );
    assert_eq!(
        rows("SELECT count(*) FROM chunks WHERE tag = 4 AND length(data) = 0"),
        50 * 6
    );

    // A trend of the 100 days still draws from day 40 on, as the samples were.
    let reader = HistoryReader::open(&path).expect("reader");
    let trend = reader
        .thinned("plc/flow", Timestamp(0), Timestamp(NOW), 50)
        .expect("thinned");
    let flow_samples: Vec<Sample> = samples.iter().filter(|s| s.tag == FLOW).cloned().collect();
    let drawn = oracle(&flow_samples, 0, NOW, 50);
    for (column, (bucket, expected)) in summaries(&trend).iter().zip(&drawn).enumerate() {
        if column < 20 {
            assert_eq!(bucket.0, 0, "column {column}: before keep_summaries");
        } else {
            assert_eq!(bucket, expected, "column {column}");
        }
    }
    // Columns that cut chunks (half an hour off the chunks' four-hour marks): a summary-only chunk counts whole in the
    // column of its start, so no sample is lost and a column is at most a chunk off.
    let (from, to) = (1_800_000, NOW + 1_800_000);
    let shifted = summaries(
        &reader
            .thinned("plc/flow", Timestamp(from), Timestamp(to), 50)
            .expect("thinned"),
    );
    let oracle = oracle(&flow_samples, from, to, 50);
    let kept = flow_samples
        .iter()
        .filter(|s| s.time.0 >= NOW - 60 * DAY)
        .count() as u64;
    let drawn_total: u64 = shifted.iter().map(|c| c.0).sum();
    assert_eq!(drawn_total, kept, "every kept summary counts");
    for (column, (bucket, expected)) in shifted.iter().zip(&oracle).enumerate().skip(20) {
        assert!(
            bucket.0.abs_diff(expected.0) <= 24,
            "column {column}: {bucket:?} vs {expected:?}"
        );
        assert_eq!(
            (bucket.2, bucket.3),
            (expected.2, expected.3),
            "column {column}"
        );
    }
    // Raw aggregates over the span whose samples are gone have nothing to average.
    let old = SampleQuery {
        tags: vec!["plc/flow".into()],
        from: Some(Timestamp(0)),
        to: Some(Timestamp(NOW - 31 * DAY)),
    };
    assert_eq!(
        reader
            .aggregate(&old, Duration::from_secs(3600), Aggregate::Max)
            .expect("agg"),
        []
    );

    // Compaction leaves summary-only chunks alone (a merge would lose their summaries).
    let summary_rows = rows("SELECT count(*) FROM chunks WHERE length(data) = 0");
    let conn = crate::schema::open_connection(&path).expect("open");
    let mut cursor = crate::compact::CompactCursor::START;
    loop {
        let limits = crate::compact::CompactLimits {
            rows: 4096,
            samples: 100_000,
        };
        match crate::compact::compact_step(
            &conn,
            &crate::compact::CompactScope::All,
            cursor,
            limits,
        )
        .expect("compact")
        .0
        {
            Some(next) => cursor = next,
            None => break,
        }
    }
    drop(conn);
    assert_eq!(
        rows("SELECT count(*) FROM chunks WHERE length(data) = 0"),
        summary_rows
    );

    // The file is whole, no bigger, and the freed pages wait for reuse.
    assert_eq!(
        rows("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"),
        0
    );
    assert_eq!(rows("PRAGMA page_count"), pages_before);
    assert!(rows("PRAGMA freelist_count") > free_before, "pages freed");
}

/// A plant with the demo tags, keeping raw samples 30 days (kw 10) and summaries 60.
fn plant_keeping() -> Plant {
    let mut plant = demo_plant();
    plant.retention = Retention {
        keep: Some(days(30)),
        keep_summaries: Some(days(60)),
        ..Retention::default()
    };
    let kw = plant.devices[1].tags.remove(0).with_keep(days(10));
    plant.devices[1].tags.insert(0, kw);
    plant
}

#[test]
fn the_writer_drops_old_history_in_the_background_and_new_chunks_reuse_the_freed_pages() {
    let now = Timestamp::now().as_millis();
    let (_dir, path) = stored(hundred_days(now - 100 * DAY));
    let pages = query_number(&path, "PRAGMA page_count");
    let writer = HistoryWriter::open(&path, &plant_keeping()).expect("writer");
    let deadline = Instant::now() + Duration::from_secs(20);
    while times_of(&path, "plc/flow")
        .first()
        .is_none_or(|&t| t < now - 30 * DAY)
    {
        assert!(Instant::now() < deadline, "old samples still there");
        std::thread::sleep(Duration::from_millis(20));
    }
    while times_of(&path, "meter/kw")
        .first()
        .is_none_or(|&t| t < now - 10 * DAY)
    {
        assert!(Instant::now() < deadline, "old kw samples still there");
        std::thread::sleep(Duration::from_millis(20));
    }
    let free = query_number(&path, "PRAGMA freelist_count");
    assert!(free > 0, "dropped chunks free pages");
    // Ten more days of samples go into the freed pages: the file does not grow.
    writer.sink().send(
        (0..10 * 144)
            .map(|i| num(FLOW, now + i * 600_000, 1.5))
            .collect(),
    );
    writer.close().expect("close");
    assert_eq!(query_number(&path, "PRAGMA page_count"), pages);
    assert!(
        query_number(&path, "PRAGMA freelist_count") < free,
        "freed pages reused"
    );
    assert_eq!(
        query_number(
            &path,
            "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"
        ),
        0
    );
}

#[test]
fn samples_sent_late_into_a_span_retention_dropped_leave_its_summary_and_the_seal_whole() {
    let (_dir, path) = stored(hundred_days(0));
    retain_all(&path, &plan(), NOW);
    let summary = format!(
        "SELECT count FROM chunks WHERE tag = 1 AND start = {} AND length(data) = 0",
        NOW - 45 * DAY
    );
    assert_eq!(query_number(&path, &summary), 24);
    // At a dropped chunk's first millisecond, inside one, and a kept one later.
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    writer.sink().send(vec![
        num(FLOW, NOW - 45 * DAY, -1.0),
        num(FLOW, NOW - 45 * DAY + 300_000, -2.0),
        num(FLOW, NOW - 20 * DAY + 1, -3.0),
    ]);
    let stats = writer.close().expect("close");
    assert_eq!((stats.errors, stats.pending), (0, 0), "{stats:?}");
    assert_eq!(query_number(&path, "SELECT count(*) FROM log"), 0, "sealed");
    assert_eq!(query_number(&path, &summary), 24, "the summary stays");
    let flow = times_of(&path, "plc/flow");
    assert!(!flow.contains(&(NOW - 45 * DAY)));
    assert!(flow.contains(&(NOW - 20 * DAY + 1)));
    assert_eq!(flow.first(), Some(&(NOW - 30 * DAY)));
}

#[test]
fn a_sweep_over_a_span_retention_emptied_hands_over_only_the_samples_kept() {
    let (_dir, path) = stored(hundred_days(0));
    retain_all(&path, &plan(), NOW);
    let (from, to) = (NOW - 35 * DAY, NOW - 25 * DAY);
    let query = SampleQuery {
        tags: Vec::new(),
        from: Some(Timestamp(from)),
        to: Some(Timestamp(to)),
    };
    let expected = read_all(&path, &query);
    assert_eq!(expected.len(), 5 * 144, "five days of flow, none of kw");
    assert_eq!(swept(&path, from, to, 500, ""), expected);
}

/// The disk guard's step: below the floor, the oldest raw samples go first across all tags, whole chunks,
/// their summaries stay, and the step stops once it has freed what was asked.
#[test]
fn a_shedding_step_drops_the_oldest_chunks_of_every_tag_first_and_keeps_their_summaries() {
    let (_dir, path) = stored(hundred_days(0));
    let chunks_before = query_number(&path, "SELECT count(*) FROM chunks");
    let conn = crate::schema::open_connection(&path).expect("open");
    // Half a day's chunks of the two tags hold about this many bytes: ask for that much.
    let twelve_hours: i64 = conn
        .query_row(
            "SELECT sum(length(data)) FROM chunks WHERE start < ?1",
            [DAY / 2],
            |r| r.get(0),
        )
        .expect("bytes");
    let tx = conn.unchecked_transaction().expect("tx");
    let shed = crate::guard::shed_step(&tx, twelve_hours as u64, 2000).expect("step");
    tx.commit().expect("commit");

    assert_eq!(shed.chunks, 6, "3 four-hour chunks of each of the two tags");
    assert_eq!(shed.samples, 2 * 12 * 6, "a sample every 10 minutes");
    assert_eq!((shed.from, shed.until), (Some(0), Some(DAY / 2 - 600_000)));
    for tag in ["plc/flow", "meter/kw"] {
        assert_eq!(
            times_of(&path, tag).first(),
            Some(&(DAY / 2)),
            "{tag}: raw samples start after the dropped half day"
        );
    }
    assert_eq!(
        query_number(&path, "SELECT count(*) FROM chunks"),
        chunks_before,
        "every chunk keeps its summary row"
    );
    assert_eq!(
        query_number(&path, "SELECT count(*) FROM chunks WHERE length(data) = 0"),
        6
    );
}
