//! The writer and the reader together, each test on its own database file.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plantwatch_core::testing::{plant, tag};
use plantwatch_core::*;

use crate::*;

/// A plant with a number, a boolean and a text tag on `plc`, and a number tag on `meter`.
fn demo_plant() -> Plant {
    plant(
        "test",
        Path::new("test.db"),
        vec![
            (
                "plc",
                vec![
                    tag("flow", ValueType::F32),
                    tag("run", ValueType::Bool),
                    tag("mode", ValueType::String { registers: 4 }),
                ],
            ),
            ("meter", vec![tag("kw", ValueType::U32)]),
        ],
    )
}

const FLOW: TagIndex = TagIndex(0);
const RUN: TagIndex = TagIndex(1);
const MODE: TagIndex = TagIndex(2);
const KW: TagIndex = TagIndex(3);

fn sample(tag: TagIndex, ms: i64, value: Option<Value>, quality: Quality) -> Sample {
    Sample {
        tag,
        time: Timestamp(ms),
        value,
        quality,
    }
}

fn num(tag: TagIndex, ms: i64, v: f64) -> Sample {
    sample(tag, ms, Some(Value::Number(v)), Quality::Good)
}

fn text(s: &str) -> Option<Value> {
    Some(Value::Text(Arc::from(s)))
}

/// Writes `samples` to a fresh database through the writer and closes it.
fn stored(samples: Vec<Sample>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    writer.sink().send(samples);
    let stats = writer.close().expect("close flushes");
    assert_eq!(stats.pending, 0, "close leaves nothing pending");
    (dir, path)
}

/// Every sample of the query as `(tag, ms, value, quality)` text, for compact comparisons.
fn read_all(path: &std::path::Path, query: &SampleQuery) -> Vec<String> {
    let reader = HistoryReader::open(path).expect("open reader");
    let mut out = Vec::new();
    reader
        .for_each_sample(query, |s| {
            let value = s
                .value
                .as_ref()
                .map_or("-".to_string(), |v| format!("{v:?}"));
            out.push(format!("{} {} {} {}", s.tag, s.time.0, value, s.quality));
        })
        .expect("read samples");
    out
}

/// The one integer a query of the file's tables returns (counts, mostly).
fn query_number(path: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

#[test]
fn samples_of_every_kind_come_back_in_time_order_across_tags() {
    let (_dir, path) = stored(vec![
        num(KW, 3000, 12.5),
        num(FLOW, 1000, 40.25),
        sample(RUN, 2000, Some(Value::Bool(true)), Quality::Good),
        sample(MODE, 2000, text("AUTO, \"fast\""), Quality::Good),
        sample(FLOW, 2000, None, Quality::Bad(Cause::CommLost)),
        sample(
            KW,
            1000,
            Some(Value::Number(11.0)),
            Quality::Uncertain(Cause::Stale),
        ),
        sample(
            RUN,
            4000,
            Some(Value::Bool(false)),
            Quality::Bad(Cause::Exception(2)),
        ),
    ]);
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        [
            "plc/flow 1000 Number(40.25) good",
            "meter/kw 1000 Number(11.0) uncertain:stale",
            "plc/flow 2000 - bad:comm_lost",
            "plc/run 2000 Bool(true) good",
            "plc/mode 2000 Text(\"AUTO, \\\"fast\\\"\") good",
            "meter/kw 3000 Number(12.5) good",
            "plc/run 4000 Bool(false) bad:exception_02",
        ],
        "merged by time; at equal times in registration order"
    );
}

#[test]
fn the_last_sample_at_the_same_millisecond_wins() {
    let (_dir, path) = stored(vec![
        num(FLOW, 1000, 1.0),
        num(FLOW, 1000, 2.0),
        sample(MODE, 1000, text("A"), Quality::Good),
        sample(MODE, 1000, None, Quality::Bad(Cause::CommLost)),
    ]);
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        [
            "plc/flow 1000 Number(2.0) good",
            "plc/mode 1000 - bad:comm_lost"
        ]
    );
}

#[test]
fn queries_pick_tags_and_a_half_open_range() {
    let samples = (0..10)
        .flat_map(|i| {
            [
                num(FLOW, i * 1000, i as f64),
                num(KW, i * 1000, 100.0 + i as f64),
            ]
        })
        .collect();
    let (_dir, path) = stored(samples);
    let query = SampleQuery {
        tags: vec!["meter/kw".into()],
        from: Some(Timestamp(3000)),
        to: Some(Timestamp(6000)),
    };
    assert_eq!(
        read_all(&path, &query),
        [
            "meter/kw 3000 Number(103.0) good",
            "meter/kw 4000 Number(104.0) good",
            "meter/kw 5000 Number(105.0) good"
        ]
    );
    let unknown = SampleQuery {
        tags: vec!["plc/nope".into()],
        ..SampleQuery::default()
    };
    let reader = HistoryReader::open(&path).expect("open reader");
    let err = reader
        .for_each_sample(&unknown, |_| {})
        .expect_err("unknown tag");
    assert!(
        matches!(err, HistoryError::UnknownTag { ref tag } if tag == "plc/nope"),
        "{err}"
    );
}

#[test]
fn samples_are_committed_without_close_within_the_commit_period() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    writer
        .sink()
        .send(vec![num(FLOW, 1000, 1.0), num(FLOW, 2000, 2.0)]);
    let sent = Instant::now();
    // Poll (no fixed sleep) until a separate reader sees the commit; it must come well within a second.
    loop {
        let seen = read_all(&path, &SampleQuery::default()).len();
        if seen == 2 {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "samples not committed within 1 s (saw {seen})"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = writer.stats();
    assert_eq!((stats.stored, stats.pending), (2, 0));
    writer.close().expect("close");
}

#[test]
fn close_stores_everything_and_later_sends_are_counted_as_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    let sink = writer.sink();
    for i in 0..1000 {
        sink.send(vec![num(FLOW, i, i as f64), num(TagIndex(99), i, 0.0)]);
    }
    let stats = writer.close().expect("close");
    assert_eq!(
        (stats.stored, stats.dropped, stats.pending),
        (1000, 1000, 0),
        "tag 99 is outside the plant"
    );
    sink.send(vec![num(FLOW, 5000, 1.0)]);
    assert_eq!(read_all(&path, &SampleQuery::default()).len(), 1000);
}

#[test]
fn reopening_with_an_edited_config_keeps_history_by_full_id() {
    let (_dir, path) = stored(vec![num(KW, 1000, 5.0)]);
    // The edited config drops plc and renumbers meter/kw as the first tag, with a new tag after it.
    let edited = plant(
        "test",
        Path::new("test.db"),
        vec![(
            "meter",
            vec![tag("kw", ValueType::U32), tag("kvar", ValueType::F32)],
        )],
    );
    let writer = HistoryWriter::open(&path, &edited).expect("reopen");
    writer.sink().send(vec![
        num(TagIndex(0), 2000, 6.0),
        num(TagIndex(1), 2000, 1.5),
    ]);
    writer.close().expect("close");
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        [
            "meter/kw 1000 Number(5.0) good",
            "meter/kw 2000 Number(6.0) good",
            "meter/kvar 2000 Number(1.5) good"
        ]
    );
    let names: Vec<String> = HistoryReader::open(&path)
        .expect("reader")
        .tags()
        .expect("tags")
        .into_iter()
        .map(|t| t.full_id)
        .collect();
    assert_eq!(
        names,
        ["meter/kvar", "meter/kw", "plc/flow", "plc/mode", "plc/run"],
        "old tags stay readable"
    );
}

#[test]
fn a_newer_schema_is_refused_by_writer_and_reader() {
    let (_dir, path) = stored(vec![num(FLOW, 1000, 1.0)]);
    let conn = rusqlite::Connection::open(&path).expect("open");
    let newer = layout::VERSION + 1;
    conn.execute(
        "UPDATE schema_version SET version = ?1 WHERE component = 'history'",
        [newer],
    )
    .expect("bump");
    drop(conn);
    let expected = format!(
        "the history tables were written by a newer Plantwatch (schema {newer}); this binary knows up to {}: upgrade Plantwatch",
        layout::VERSION
    );
    let err = HistoryWriter::open(&path, &demo_plant())
        .err()
        .expect("writer refuses");
    assert!(err.to_string().ends_with(&expected), "{err}");
    let err = HistoryReader::open(&path).err().expect("reader refuses");
    assert!(err.to_string().ends_with(&expected), "{err}");
}

#[test]
fn a_reader_never_creates_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing.db");
    let err = HistoryReader::open(&path).err().expect("missing file");
    assert!(matches!(err, HistoryError::Missing { .. }), "{err}");
    assert!(!path.exists());
}

#[test]
fn latest_is_the_newest_sample() {
    let (_dir, path) = stored(vec![
        num(FLOW, 1000, 1.0),
        num(FLOW, 3000, 3.0),
        num(FLOW, 2000, 2.0),
        sample(MODE, 5, text("X"), Quality::Good),
    ]);
    let reader = HistoryReader::open(&path).expect("reader");
    let latest = reader
        .latest("plc/flow")
        .expect("query")
        .expect("has samples");
    assert_eq!(
        (latest.time, latest.value),
        (Timestamp(3000), Some(Value::Number(3.0)))
    );
    assert_eq!(
        reader
            .latest("plc/mode")
            .expect("query")
            .and_then(|s| s.value),
        text("X")
    );
    assert_eq!(reader.latest("meter/kw").expect("query"), None);
}

/// Aggregates of `samples` (of plc/flow) over `[from, to)` in 10 s intervals, as `(start s, value)`.
fn aggregated(
    samples: Vec<Sample>,
    range: (Option<i64>, Option<i64>),
    agg: Aggregate,
) -> Vec<(i64, Option<f64>, String)> {
    let (_dir, path) = stored(samples);
    let reader = HistoryReader::open(&path).expect("reader");
    let query = SampleQuery {
        tags: vec!["plc/flow".into()],
        from: range.0.map(|s| Timestamp(s * 1000)),
        to: range.1.map(|s| Timestamp(s * 1000)),
    };
    reader
        .aggregate(&query, Duration::from_secs(10), agg)
        .expect("aggregate")
        .into_iter()
        .map(|v| (v.start.0 / 1000, v.value, v.quality.to_string()))
        .collect()
}

fn flow_at(seconds: &[(i64, f64)]) -> Vec<Sample> {
    seconds
        .iter()
        .map(|&(s, v)| num(FLOW, s * 1000, v))
        .collect()
}

#[test]
fn avg_is_time_weighted_with_the_previous_value_carried_in() {
    // 10 holds 0-5 s, 20 holds 5-15 s, 30 holds 15-20 s.
    let samples = flow_at(&[(0, 10.0), (5, 20.0), (15, 30.0)]);
    let avg = aggregated(samples, (None, Some(20)), Aggregate::Avg);
    assert_eq!(
        avg,
        [
            (0, Some(15.0), "good".into()),
            (10, Some(25.0), "good".into())
        ]
    );
}

#[test]
fn avg_carries_in_the_value_from_before_the_range() {
    // From 12 s: 20 (stored at 5 s) holds 12-15 s, then 30 holds 15-20 s: (3*20 + 5*30) / 8.
    let samples = flow_at(&[(0, 10.0), (5, 20.0), (15, 30.0)]);
    let avg = aggregated(samples, (Some(12), Some(20)), Aggregate::Avg);
    assert_eq!(
        avg,
        [(10, Some((3.0 * 20.0 + 5.0 * 30.0) / 8.0), "good".into())]
    );
}

#[test]
fn bad_samples_interrupt_the_average_and_are_left_out_of_the_others() {
    let samples = vec![
        num(FLOW, 0, 10.0),
        sample(
            FLOW,
            2000,
            Some(Value::Number(999.0)),
            Quality::Bad(Cause::CommLost),
        ),
        num(FLOW, 6000, 30.0),
        sample(FLOW, 12000, None, Quality::Bad(Cause::CommLost)),
    ];
    let range = (None, Some(20));
    // 10 holds 0-2 s, nothing 2-6 s, 30 holds 6-10 s: (2*10 + 4*30) / 6.
    assert_eq!(
        aggregated(samples.clone(), range, Aggregate::Avg),
        [
            (0, Some(140.0 / 6.0), "good".into()),
            (10, Some(30.0), "good".into())
        ],
        "30 still holds from 10 s to the bad sample at 12 s"
    );
    assert_eq!(
        aggregated(samples.clone(), range, Aggregate::Max),
        [
            (0, Some(30.0), "good".into()),
            (10, None, "bad:comm_lost".into())
        ]
    );
    assert_eq!(
        aggregated(samples.clone(), range, Aggregate::Min),
        [
            (0, Some(10.0), "good".into()),
            (10, None, "bad:comm_lost".into())
        ]
    );
    assert_eq!(
        aggregated(samples.clone(), range, Aggregate::Count),
        [
            (0, Some(2.0), "good".into()),
            (10, Some(0.0), "bad:comm_lost".into())
        ]
    );
}

#[test]
fn first_last_min_max_count_per_interval() {
    let samples = flow_at(&[
        (1, 5.0),
        (3, 2.0),
        (8, 7.0),
        (11, 1.0),
        (35, 4.0),
        (39, 6.0),
    ]);
    let r = (None, None);
    let values = |agg| {
        aggregated(samples.clone(), r, agg)
            .into_iter()
            .map(|(s, v, _)| (s, v))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(Aggregate::First),
        [(0, Some(5.0)), (10, Some(1.0)), (30, Some(4.0))],
        "empty 20 s interval is skipped"
    );
    assert_eq!(
        values(Aggregate::Last),
        [(0, Some(7.0)), (10, Some(1.0)), (30, Some(6.0))]
    );
    assert_eq!(
        values(Aggregate::Min),
        [(0, Some(2.0)), (10, Some(1.0)), (30, Some(4.0))]
    );
    assert_eq!(
        values(Aggregate::Max),
        [(0, Some(7.0)), (10, Some(1.0)), (30, Some(6.0))]
    );
    assert_eq!(
        values(Aggregate::Count),
        [(0, Some(3.0)), (10, Some(1.0)), (30, Some(2.0))]
    );
}

#[test]
fn thinned_columns_keep_spikes_and_count_gaps() {
    // 0..100 s in 4 columns of 25 s; a spike of 100 at 30 s, a bad sample at 60 s, nothing after 75 s.
    let mut samples: Vec<Sample> = (0..75).map(|s| num(FLOW, s * 1000, 1.0)).collect();
    samples[30] = num(FLOW, 30_000, 100.0);
    samples[60] = sample(FLOW, 60_000, None, Quality::Bad(Cause::CommLost));
    let (_dir, path) = stored(samples);
    let reader = HistoryReader::open(&path).expect("reader");
    let buckets = reader
        .thinned("plc/flow", Timestamp(0), Timestamp(100_000), 4)
        .expect("thinned");
    let summary: Vec<_> = buckets
        .iter()
        .map(|b| (b.start.0, b.end.0, b.count, b.not_good, b.min, b.max))
        .collect();
    assert_eq!(
        summary,
        [
            (0, 25_000, 25, 0, Some(1.0), Some(1.0)),
            (25_000, 50_000, 25, 0, Some(1.0), Some(100.0)),
            (50_000, 75_000, 24, 1, Some(1.0), Some(1.0)),
            (75_000, 100_000, 0, 0, None, None),
        ]
    );
    assert_eq!(buckets[1].avg, Some((24.0 + 100.0) / 25.0));
}

/// Thinned columns computed sample by sample from `samples` (the oracle for the rollup path):
/// (count, not_good, min, max, first, last, avg) per column.
type Summary = (
    u64,
    u64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

fn oracle(samples: &[Sample], from: i64, to: i64, columns: i64) -> Vec<Summary> {
    let width = (to - from) / columns;
    (0..columns)
        .map(|c| {
            let (start, end) = (from + c * width, from + (c + 1) * width);
            let mut in_column: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.time.0 >= start && s.time.0 < end)
                .collect();
            in_column.sort_by_key(|s| s.time);
            let not_good = in_column.iter().filter(|s| !s.quality.is_good()).count() as u64;
            let good: Vec<f64> = in_column
                .iter()
                .filter(|s| s.quality.is_good())
                .filter_map(|s| s.value.as_ref()?.as_f64())
                .collect();
            let count = good.len() as u64;
            let min = good.iter().copied().reduce(f64::min);
            let max = good.iter().copied().reduce(f64::max);
            let avg = (count > 0).then(|| good.iter().sum::<f64>() / count as f64);
            (
                count,
                not_good,
                min,
                max,
                good.first().copied(),
                good.last().copied(),
                avg,
            )
        })
        .collect()
}

fn summaries(buckets: &[Bucket]) -> Vec<Summary> {
    buckets
        .iter()
        .map(|b| (b.count, b.not_good, b.min, b.max, b.first, b.last, b.avg))
        .collect()
}

/// Three hours of 1 s samples with a spike and a stretch of bad samples.
fn three_hours() -> Vec<Sample> {
    (0..3 * 3600)
        .map(|s| match s {
            4000 => num(FLOW, s * 1000, 500.0),
            6000..=6099 => sample(FLOW, s * 1000, None, Quality::Bad(Cause::CommLost)),
            _ => num(FLOW, s * 1000, (s % 97) as f64 * 0.5),
        })
        .collect()
}

#[test]
fn long_trends_read_rollups_and_match_the_samples() {
    let samples = three_hours();
    let (_dir, path) = stored(samples.clone());
    let reader = HistoryReader::open(&path).expect("reader");
    // 12 columns of 15 min: read from rollups. The range starts and ends mid-minute (exact at the ends).
    let (from, to) = (90_500, 90_500 + 12 * 900_000);
    let buckets = reader
        .thinned("plc/flow", Timestamp(from), Timestamp(to), 12)
        .expect("thinned");
    let rolled = summaries(&buckets);
    let expected = oracle(&samples, from, to, 12);
    // Inner column edges snap to the minute: compare what does not depend on them, column by column
    // where no edge falls mid-minute (15 min columns from x:30.5 put every inner edge mid-minute), so
    // compare totals and extremes instead.
    let total = |v: &[Summary]| {
        v.iter()
            .map(|s| (s.0, s.1))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    assert_eq!(
        total(&rolled),
        total(&expected),
        "every sample counted once"
    );
    assert_eq!(
        rolled[0].4, expected[0].4,
        "first value of the range is exact"
    );
    assert_eq!(
        rolled[11].5, expected[11].5,
        "last value of the range is exact"
    );
    let max = |v: &[Summary]| v.iter().filter_map(|s| s.3).fold(f64::MIN, f64::max);
    assert_eq!(max(&rolled), 500.0, "the spike survives");
    assert_eq!(max(&expected), 500.0);
}

#[test]
fn minute_aligned_columns_from_rollups_equal_the_samples_exactly() {
    let samples = three_hours();
    let (_dir, path) = stored(samples.clone());
    let reader = HistoryReader::open(&path).expect("reader");
    let (from, to) = (0, 3 * 3_600_000);
    let buckets = reader
        .thinned("plc/flow", Timestamp(from), Timestamp(to), 18)
        .expect("thinned");
    assert_eq!(summaries(&buckets), oracle(&samples, from, to, 18));
}

/// Chunks of 512 samples or more are parted (`codec::parted`): a column edge inside a chunk decodes the one part across it
/// and counts the other parts by their summaries. Edges at odd milliseconds, inside parts, on either side
/// of the spike and the bad stretch: every column as the samples give it.
#[test]
fn columns_cut_inside_parted_chunks_equal_the_samples_exactly() {
    let samples = three_hours();
    let (_dir, path) = stored(samples.clone());
    let reader = HistoryReader::open(&path).expect("reader");
    let parted = query_number(
        &path,
        "SELECT count(*) FROM chunks WHERE substr(data, 1, 2) = x'0002'",
    );
    assert_eq!(
        parted, 2,
        "three hours at 1 Hz: a chunk of 8,192 samples and one of the rest, each parted"
    );
    for (from, to, columns) in [
        (12_345, 3 * 3_600_000 - 7_777, 37),
        (0, 3 * 3_600_000, 1000),
        (3_999_500, 4_000_500, 3),
    ] {
        let buckets = reader
            .thinned("plc/flow", Timestamp(from), Timestamp(to), columns as usize)
            .expect("thinned");
        assert_eq!(
            summaries(&buckets),
            oracle(&samples, from, to, columns),
            "{columns} columns from {from} to {to}"
        );
    }
}

#[test]
fn late_samples_and_restarts_keep_rollups_exact() {
    let mut samples = three_hours();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    writer.sink().send(samples.clone());
    writer.close().expect("close");
    // A second session: a late sample into a rolled-up minute (replacing a value), and more data.
    let late = vec![
        num(FLOW, 1_000, 900.0),
        num(FLOW, 3 * 3_600_000 + 5_000, 7.0),
    ];
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("reopen writer");
    writer.sink().send(late.clone());
    writer.close().expect("close");
    samples[1] = late[0].clone();
    samples.push(late[1].clone());
    let reader = HistoryReader::open(&path).expect("reader");
    let (from, to) = (0, 4 * 3_600_000);
    let buckets = reader
        .thinned("plc/flow", Timestamp(from), Timestamp(to), 24)
        .expect("thinned");
    assert_eq!(summaries(&buckets), oracle(&samples, from, to, 24));
}

/// What a writer killed mid-run leaves behind: `sealed` samples in chunks, `logged` in log rows (one per
/// commit), and, when `half_sealed`, a seal of those rows stopped after its first tag range.
fn killed_writer_file(
    sealed: Vec<Sample>,
    logged: &[Vec<Sample>],
    half_sealed: bool,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = stored(sealed);
    let conn = crate::schema::open_connection(&path).expect("open");
    let ids: Vec<u32> = {
        let mut stmt = conn
            .prepare("SELECT id FROM tags ORDER BY id")
            .expect("tags");
        let ids = stmt.query_map([], |r| r.get(0)).expect("ids");
        ids.collect::<Result<_, _>>().expect("ids")
    };
    for commit in logged {
        let mut runs = crate::store::Runs::default();
        let mut sorted = commit.clone();
        sorted.sort_by_key(|s| (s.tag, s.time));
        for sample in sorted {
            runs.push(ids[sample.tag.0 as usize], crate::codec::Rec::of(&sample));
        }
        crate::store::append_log(&conn, 0, &runs).expect("append");
    }
    if half_sealed {
        let mut job = crate::store::start_seal(&conn)
            .expect("start")
            .expect("a job");
        let mut ends = crate::store::ChunkEnds::default();
        // Steps of one sample's worth seal one tag id each: stop once plc/flow (id 1) is sealed.
        while job.below_tag <= 1 {
            job = crate::store::seal_step(&conn, job, 1, &mut ends)
                .expect("step")
                .expect("more to do");
        }
        let chunks_of_flow: i64 = conn
            .query_row(
                "SELECT count(*) FROM chunks WHERE tag = 1 AND start >= 100000",
                [],
                |r| r.get(0),
            )
            .expect("chunks");
        assert!(
            chunks_of_flow > 0,
            "plc/flow's logged samples are in chunks and still in the log"
        );
    }
    (dir, path)
}

fn flow_seconds(from_s: i64, to_s: i64) -> Vec<Sample> {
    (from_s..to_s)
        .map(|s| num(FLOW, s * 1000, s as f64))
        .collect()
}

/// A killed writer's samples for [`killed_writer_file`]: 100 s of plc/flow sealed, then three commits in
/// the log (50 s more of it, a kw and a mode sample, 50 s more).
fn sealed_then_logged() -> (Vec<Sample>, Vec<Vec<Sample>>) {
    let sealed = flow_seconds(0, 100);
    let logged = vec![
        flow_seconds(100, 150),
        vec![
            num(KW, 120_000, 3.0),
            sample(MODE, 130_000, text("auto"), Quality::Good),
        ],
        flow_seconds(150, 200),
    ];
    (sealed, logged)
}

#[test]
fn samples_still_in_the_log_read_like_sealed_ones_before_and_after_the_next_writer() {
    let (sealed, logged) = sealed_then_logged();
    for half_sealed in [false, true] {
        let (_dir, path) = killed_writer_file(sealed.clone(), &logged, half_sealed);
        let mut everything = sealed.clone();
        everything.extend(logged.iter().flatten().cloned());
        let (_d2, clean) = stored(everything);
        let query = SampleQuery::default();
        let expected = read_all(&clean, &query);
        assert_eq!(
            read_all(&path, &query),
            expected,
            "half sealed: {half_sealed}"
        );
        let reader = HistoryReader::open(&path).expect("reader");
        assert_eq!(
            reader.latest("plc/flow").expect("latest").map(|s| s.time.0),
            Some(199_000)
        );
        let thinned = reader
            .thinned("plc/flow", Timestamp(0), Timestamp(200_000), 7)
            .expect("thinned");
        let clean_thinned = HistoryReader::open(&clean)
            .expect("reader")
            .thinned("plc/flow", Timestamp(0), Timestamp(200_000), 7)
            .expect("thinned");
        assert_eq!(thinned, clean_thinned, "half sealed: {half_sealed}");
        // The next writer finishes the seal on close: the log is empty and nothing changed.
        HistoryWriter::open(&path, &demo_plant())
            .expect("next writer")
            .close()
            .expect("close");
        let conn = rusqlite::Connection::open(&path).expect("open");
        let left: i64 = conn
            .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
            .expect("log");
        let progress: i64 = conn
            .query_row("SELECT count(*) FROM seal_progress", [], |r| r.get(0))
            .expect("progress");
        assert_eq!((left, progress), (0, 0), "sealed on close");
        assert_eq!(
            read_all(&path, &query),
            expected,
            "after sealing, half sealed: {half_sealed}"
        );
    }
}

#[test]
fn a_late_sample_merges_into_the_sealed_chunks_and_chunks_never_overlap() {
    let (_dir, path) = stored(flow_seconds(0, 7200));
    let late = vec![
        num(FLOW, 1_500, 900.0),
        num(FLOW, 3_600_500, 901.0),
        num(FLOW, 5_000_000, -1.0),
    ];
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("reopen");
    writer.sink().send(late);
    writer.close().expect("close");
    let flow = SampleQuery {
        tags: vec!["plc/flow".into()],
        ..SampleQuery::default()
    };
    let read = read_all(&path, &flow);
    assert_eq!(read.len(), 7200 + 2, "two new samples, one replaced");
    assert!(read.contains(&"plc/flow 1500 Number(900.0) good".to_string()));
    assert!(read.contains(&"plc/flow 3600500 Number(901.0) good".to_string()));
    assert!(read.contains(&"plc/flow 5000000 Number(-1.0) good".to_string()));
    assert!(!read.contains(&"plc/flow 5000000 Number(5000.0) good".to_string()));
    let conn = rusqlite::Connection::open(&path).expect("open");
    let mut stmt = conn
        .prepare("SELECT start, end FROM chunks WHERE tag = 1 ORDER BY start")
        .expect("chunks");
    let spans: Vec<(i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("spans")
        .collect::<Result<_, _>>()
        .expect("spans");
    for pair in spans.windows(2) {
        assert!(pair[0].1 < pair[1].0, "chunks overlap: {spans:?}");
    }
    for (start, end) in &spans {
        assert!(
            end - start < layout::CHUNK_SPAN_MS,
            "chunk too long: {start}..{end}"
        );
    }
}

/// A history file as a Plantwatch of history schema `version` created it, still open.
fn file_of_version(
    version: usize,
) -> (tempfile::TempDir, std::path::PathBuf, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let conn = crate::schema::open_connection(&path).expect("create");
    crate::schema::migrate(&conn, layout::COMPONENT, &layout::STEPS[..version])
        .expect("old schema");
    (dir, path, conn)
}

#[test]
fn a_version_1_file_is_converted_with_every_sample_kept() {
    let (_dir, path, conn) = file_of_version(1);
    conn.execute_batch(
        "INSERT INTO tags (id, full_id, unit, type) VALUES (1, 'plc/flow', 'L/s', 'f32'),
                (2, 'plc/run', NULL, 'bool'), (3, 'plc/mode', NULL, 'string');
         INSERT INTO samples (tag, time, value, quality) VALUES (1, 1000, 1.5, 0), (1, 2000, NULL, 4608),
                (2, 1000, 1, 0), (3, 1500, NULL, 0);
         INSERT INTO sample_texts (tag, time, text) VALUES (3, 1500, 'auto');
         INSERT INTO rollups (tag, start, count, not_good, sum) VALUES (1, 0, 1, 1, 1.5);",
    )
    .expect("version 1 data");
    drop(conn);
    let expected = vec![
        "plc/flow 1000 Number(1.5) good".to_string(),
        "plc/run 1000 Bool(true) good".to_string(),
        "plc/mode 1500 Text(\"auto\") good".to_string(),
        format!(
            "plc/flow 2000 - {}",
            layout::quality_from_code(4608).expect("code")
        ),
    ];
    // A reader upgrades the file itself (an export of an old file works without a collector run).
    assert_eq!(read_all(&path, &SampleQuery::default()), expected);
    let old_tables = query_number(
        &path,
        "SELECT count(*) FROM sqlite_master WHERE name IN ('samples', 'sample_texts', 'rollups')",
    );
    assert_eq!(old_tables, 0, "version 1 tables dropped");
    let conn = rusqlite::Connection::open(&path).expect("open");
    assert_eq!(
        crate::schema::version(&conn, layout::COMPONENT).expect("version"),
        layout::VERSION
    );
}

/// A plant of 40,000 tags: a commit's samples go to one log row per range of 16,384 tag ids, and read
/// back the same from the log, by tag or all of them, and after sealing.
#[test]
fn a_commit_of_many_tags_is_logged_by_id_range_and_reads_back_before_and_after_sealing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.db");
    let tags = (0..40_000)
        .map(|i| tag(&format!("t{i}"), ValueType::U16))
        .collect();
    let big = plant("big", &path, vec![("plc", tags)]);
    let writer = HistoryWriter::open(&path, &big).expect("open writer");
    let picked = [0u32, 1, 16_383, 16_384, 20_000, 39_999];
    let samples: Vec<Sample> = picked
        .iter()
        .flat_map(|&t| (1..=3).map(move |k| num(TagIndex(t), k * 1000, f64::from(t) + k as f64)))
        .collect();
    writer.sink().send(samples.clone());
    let waited = Instant::now();
    while writer.stats().stored < samples.len() as u64 && waited.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Tag ids run from 1 in plant order: ids 1-2 | 16384, 16385, 20001 | 40000.
    let rows: Vec<(i64, i64, i64)> = {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let mut stmt = conn
            .prepare("SELECT first_tag, last_tag, samples FROM log ORDER BY seq")
            .expect("log");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows");
        rows.collect::<Result<_, _>>().expect("rows")
    };
    assert_eq!(
        rows,
        vec![(1, 2, 6), (16_384, 20_001, 9), (40_000, 40_000, 3)]
    );

    let everything: Vec<String> = {
        let mut lines: Vec<(i64, u32, String)> = samples
            .iter()
            .map(|s| {
                let v = s
                    .value
                    .as_ref()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default();
                (
                    s.time.0,
                    s.tag.0,
                    format!("plc/t{} {} {v} good", s.tag.0, s.time.0),
                )
            })
            .collect();
        lines.sort();
        lines.into_iter().map(|(_, _, line)| line).collect()
    };
    let one = SampleQuery {
        tags: vec!["plc/t20000".into()],
        ..SampleQuery::default()
    };
    let of_one: Vec<String> = everything
        .iter()
        .filter(|l| l.starts_with("plc/t20000 "))
        .cloned()
        .collect();
    let sorted_all = |path: &Path| {
        let mut all = read_all(path, &SampleQuery::default());
        all.sort_by_key(|l| {
            let mut parts = l.split(' ');
            let index: u32 = parts
                .next()
                .and_then(|t| t.trim_start_matches("plc/t").parse().ok())
                .unwrap_or_default();
            let time: i64 = parts
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or_default();
            (time, index)
        });
        all
    };
    assert_eq!(sorted_all(&path), everything, "in the log");
    assert_eq!(read_all(&path, &one), of_one, "in the log");
    writer.close().expect("close");
    assert_eq!(sorted_all(&path), everything, "sealed");
    assert_eq!(read_all(&path, &one), of_one, "sealed");
    let left = query_number(
        &path,
        "SELECT (SELECT count(*) FROM log) + (SELECT count(*) FROM log_data)",
    );
    assert_eq!(left, 0, "sealed on close");
}

/// A version 2 file has one log row per commit holding every tag: the upgrade keeps those rows (as
/// rows of every id), they read back, and the next writer seals them.
#[test]
fn a_version_2_log_is_kept_through_the_upgrade_and_sealed_by_the_next_writer() {
    let (_dir, path, conn) = file_of_version(2);
    let rec = |time: i64, v: f64| crate::codec::Rec {
        time,
        quality: 0,
        value: crate::codec::RecValue::Number(v),
    };
    let blob = crate::codec::legacy_log_blob(&[
        (1, vec![rec(1000, 1.5), rec(2000, 2.5)]),
        (4, vec![rec(1500, 7.0)]),
    ]);
    conn.execute_batch(
        "INSERT INTO tags (id, full_id, unit, type) VALUES (1, 'plc/flow', 'L/s', 'f32'),
                (2, 'plc/run', NULL, 'bool'), (3, 'plc/mode', NULL, 'string'), (4, 'plc/kw', 'kW', 'f32');",
    )
    .expect("tags");
    conn.execute(
        "INSERT INTO log (seq, written, samples, data) VALUES (1, 5000, 3, ?1)",
        [blob],
    )
    .expect("a version 2 log row");
    drop(conn);
    let expected = vec![
        "plc/flow 1000 Number(1.5) good".to_string(),
        "plc/kw 1500 Number(7.0) good".to_string(),
        "plc/flow 2000 Number(2.5) good".to_string(),
    ];
    assert_eq!(read_all(&path, &SampleQuery::default()), expected);
    let kw = SampleQuery {
        tags: vec!["plc/kw".into()],
        ..SampleQuery::default()
    };
    assert_eq!(read_all(&path, &kw), expected[1..2].to_vec());
    HistoryWriter::open(&path, &demo_plant())
        .expect("writer")
        .close()
        .expect("close");
    assert_eq!(read_all(&path, &SampleQuery::default()), expected, "sealed");
    let (log, chunks) = (
        query_number(&path, "SELECT count(*) FROM log"),
        query_number(&path, "SELECT count(*) FROM chunks"),
    );
    assert_eq!((log, chunks), (0, 2));
}

/// Chunks of history schema 3 hold plain runs: such a file reads as it is (a reader does not upgrade it,
/// so a read-only copy works), and the next writer upgrades it to 4 and merges a late sample into an old
/// chunk, which comes back compact with every sample kept.
#[test]
fn plain_chunks_of_a_version_3_file_read_as_they_are_and_merge_into_compact_ones() {
    let mut samples: Vec<Sample> = (0..50)
        .map(|s| num(FLOW, 1000 * s, s as f64 * 0.1))
        .collect();
    samples.extend([
        sample(RUN, 2000, Some(Value::Bool(true)), Quality::Good),
        sample(MODE, 3000, text("Auto ✓"), Quality::Good),
        sample(KW, 4000, None, Quality::Bad(Cause::CommLost)),
        num(KW, 5000, f64::from_bits(0x7ff8_0000_dead_beef)),
    ]);
    let (_dir, path) = stored(samples);
    let expected = read_all(&path, &SampleQuery::default());
    let conn = rusqlite::Connection::open(&path).expect("open");
    let chunks: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT id, data FROM chunks")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("chunks")
        .collect::<Result<_, _>>()
        .expect("chunks");
    assert_eq!(chunks.len(), 4);
    for (id, data) in chunks {
        assert_eq!(&data[..2], &[0, 1], "sealed compact");
        let recs = crate::codec::decode_run_vec(&data).expect("decodes");
        let mut plain = Vec::new();
        crate::codec::encode_plain_run(&recs, &mut plain);
        conn.execute("UPDATE chunks SET data = ?2 WHERE id = ?1", (id, plain))
            .expect("a plain chunk");
    }
    conn.execute(
        "UPDATE schema_version SET version = 3 WHERE component = 'history'",
        [],
    )
    .expect("version 3");
    // Version 5's index, which a version 3 file does not have.
    conn.execute("DROP INDEX chunk_summaries", [])
        .expect("no summary index");
    // Version 6's column of the log.
    conn.execute("ALTER TABLE log DROP COLUMN packed", [])
        .expect("no packed column");
    // Version 9's table.
    conn.execute("DROP TABLE pack_progress", [])
        .expect("no pack progress");
    // Version 10's columns of the log.
    conn.execute_batch(
        "ALTER TABLE log DROP COLUMN first_time; ALTER TABLE log DROP COLUMN last_time;",
    )
    .expect("no log spans");
    drop(conn);
    let version = "SELECT version FROM schema_version WHERE component = 'history'";

    assert_eq!(read_all(&path, &SampleQuery::default()), expected);
    assert_eq!(
        query_number(&path, version),
        3,
        "a reader reads it as it is"
    );

    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    assert_eq!(query_number(&path, version), layout::VERSION, "upgraded");
    writer.sink().send(vec![num(FLOW, 10_500, -0.0)]);
    writer.close().expect("close");
    let mut expected = expected;
    let at = expected
        .iter()
        .position(|s| s == "plc/flow 11000 Number(1.1) good")
        .expect("flow at 11 s");
    expected.insert(at, "plc/flow 10500 Number(-0.0) good".to_string());
    assert_eq!(read_all(&path, &SampleQuery::default()), expected);
    let compact = query_number(
        &path,
        "SELECT count(*) FROM chunks WHERE tag = 1 AND substr(data, 1, 2) = x'0001'",
    );
    assert_eq!(compact, 1, "the merged chunk is written compact");
}

/// Issue 17, fault 2: one NaN made a chunk's sum NaN, SQLite stored it as NULL, the NOT NULL column
/// refused it and the seal was retried forever while the log grew.
#[test]
fn non_finite_numbers_are_stored_exactly_and_left_out_of_summaries() {
    let nan_with_payload = f64::from_bits(0x7ff8_0000_dead_beef);
    let values = [
        1.0,
        nan_with_payload,
        f64::INFINITY,
        3.0,
        f64::NEG_INFINITY,
        -f64::NAN,
    ];
    let samples: Vec<Sample> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| num(FLOW, i as i64 * 1000, v))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    writer.sink().send(samples);
    let stats = writer.close().expect("close");
    assert_eq!(
        (stats.stored, stats.errors, stats.last_error),
        (6, 0, None),
        "sealing never fails on non-finite numbers"
    );
    assert_eq!(
        query_number(&path, "SELECT count(*) FROM log"),
        0,
        "the log is sealed into chunks on close"
    );
    assert_eq!(query_number(&path, "SELECT count(*) FROM chunks"), 1);

    let reader = HistoryReader::open(&path).expect("reader");
    let mut bits = Vec::new();
    reader
        .for_each_sample(&SampleQuery::default(), |s| match s.value {
            Some(Value::Number(v)) => bits.push(v.to_bits()),
            ref other => panic!("a number was stored, got {other:?}"),
        })
        .expect("read");
    let expected: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, expected, "every f64 comes back bit for bit");

    let column = reader
        .thinned("plc/flow", Timestamp(0), Timestamp(6000), 1)
        .expect("thinned");
    let b = &column[0];
    assert_eq!(
        (b.count, b.min, b.max, b.avg),
        (2, Some(1.0), Some(3.0), Some(2.0)),
        "summaries rest on the finite numbers only"
    );
}

/// Another connection holding the write lock of `path` (`BEGIN EXCLUSIVE`), as a backup tool would.
fn hold_write_lock(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open a second connection");
    conn.execute_batch("BEGIN EXCLUSIVE")
        .expect("take the write lock");
    conn
}

/// Sends `batches` batches of `size` samples of plc/flow, one per millisecond from `first_ms`.
fn send_flow(sink: &SampleSink, first_ms: i64, batches: i64, size: i64) {
    for b in 0..batches {
        let start = first_ms + b * size;
        sink.send((start..start + size).map(|ms| num(FLOW, ms, 1.0)).collect());
    }
}

/// Issue 17, fault 3: while the file refused commits the queue grew without bound. Now it holds a
/// bounded number of samples, the oldest are dropped and counted, and the newest are stored once the
/// file takes commits again.
#[test]
fn a_file_refusing_commits_drops_the_oldest_queued_samples_and_counts_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let options = WriterOptions {
        queue_samples: Some(1000),
    };
    let writer = HistoryWriter::open_with(&path, &demo_plant(), options).expect("open writer");
    let sink = writer.sink();
    let backup = hold_write_lock(&path);
    let sent = 300 * 1000;
    send_flow(&sink, 0, 300, 1000);
    let stats = writer.stats();
    assert_eq!(
        stats.stored + stats.dropped + stats.pending,
        sent,
        "{stats:?}"
    );
    assert!(
        stats.pending <= 100_000 + 2 * 1000,
        "at most one batch of 100,000 and the queue's 1,000 wait: {stats:?}"
    );
    assert!(stats.dropped >= sent - 100_000 - 2 * 1000, "{stats:?}");

    drop(backup);
    let waited = Instant::now();
    while writer.stats().pending > 0 && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = writer.close().expect("close");
    assert_eq!(
        (stats.stored + stats.dropped, stats.pending),
        (sent, 0),
        "every sample is stored or counted as dropped: {stats:?}"
    );
    let newest = HistoryReader::open(&path)
        .expect("reader")
        .latest("plc/flow")
        .expect("latest")
        .expect("a sample");
    assert_eq!(
        newest.time,
        Timestamp(sent as i64 - 1),
        "the newest sample is kept"
    );
}

/// Issue 17, fault 3: close retried a batch the file kept refusing for ten tries of the five-second busy
/// timeout, then as long again for the seal: well past a service manager's stop timeout.
#[test]
fn close_returns_in_bounded_time_while_the_file_stays_locked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    let sink = writer.sink();
    let _backup = hold_write_lock(&path);
    send_flow(&sink, 0, 10, 100);
    let closing = Instant::now();
    let stats = writer.close().expect("close");
    let took = closing.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "close took {took:?} (10 s to try, a 5 s busy wait at most before)"
    );
    assert_eq!(
        (stats.stored, stats.dropped, stats.pending),
        (0, 1000, 0),
        "what could not be stored is counted: {stats:?}"
    );
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("database is locked")),
        "{stats:?}"
    );
}

/// A writer dropped without `close` (an error path of its owner) must not keep the file's lock: its
/// thread would otherwise wait for samples forever and refuse every later writer of the file.
#[test]
fn a_writer_dropped_without_close_lets_the_next_writer_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("open writer");
    writer.sink().send(vec![num(FLOW, 1000, 1.0)]);
    drop(writer);
    let waited = Instant::now();
    let next = loop {
        match HistoryWriter::open(&path, &demo_plant()) {
            Ok(next) => break next,
            Err(e) => assert!(
                waited.elapsed() < Duration::from_secs(15),
                "the dropped writer still holds the file: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    next.close().expect("close");
    assert_eq!(
        read_all(&path, &SampleQuery::default()).len(),
        1,
        "its sample was stored"
    );
}

// ----- sweeps ---------------------------------------------------------------------------------------------

/// What a sweep of `[from, to)` hands over, as `read_all` prints samples, in time order; checks on the way
/// that the bands follow each other without gaps, that each sample lies in its band, that a batch never
/// splits a tag's samples of a band, and that each tag's samples are in time order.
fn swept(path: &Path, from: i64, to: i64, target: usize, skip: &str) -> Vec<String> {
    swept_from(path, from, to, None, target, skip)
        .into_iter()
        .map(|(_, line)| line)
        .collect()
}

/// [`swept`] with a resume mark, each line with the mark of its batch.
fn swept_from(
    path: &Path,
    from: i64,
    to: i64,
    resume: Option<SweepResume>,
    target: usize,
    skip: &str,
) -> Vec<(SweepMark, String)> {
    let reader = HistoryReader::open(path).expect("open reader");
    let mut out = Vec::new();
    let mut previous = from - 1;
    // The tags of the band so far, and those of the batch before.
    let mut band_tags: BTreeSet<Arc<str>> = BTreeSet::new();
    let count = reader
        .sweep(
            Timestamp(from),
            Timestamp(to),
            resume,
            target,
            |name| (name != skip).then(|| Arc::<str>::from(name)),
            |samples, mark| {
                let samples = std::mem::take(samples);
                assert_eq!(mark.after.0, previous, "bands follow each other: {mark:?}");
                assert!(mark.through >= mark.after, "{mark:?}");
                let batch_tags: BTreeSet<Arc<str>> =
                    samples.iter().map(|s| s.tag.clone()).collect();
                assert!(
                    batch_tags.is_disjoint(&band_tags),
                    "a tag's samples of a band come in one batch: {mark:?}"
                );
                for pair in samples.windows(2) {
                    if pair[0].tag == pair[1].tag {
                        assert!(pair[0].time < pair[1].time, "{} out of order", pair[0].tag);
                    }
                }
                for s in samples {
                    assert!(
                        s.time > mark.after && s.time <= mark.through,
                        "{} at {} outside the band {mark:?}",
                        s.tag,
                        s.time.0
                    );
                    let value = s
                        .value
                        .as_ref()
                        .map_or("-".to_string(), |v| format!("{v:?}"));
                    out.push((
                        s.time.0,
                        mark,
                        format!("{} {} {} {}", s.tag, s.time.0, value, s.quality),
                    ));
                }
                if mark.tags_through.is_none() {
                    previous = mark.through.0;
                    band_tags.clear();
                } else {
                    band_tags.extend(batch_tags);
                }
                true
            },
        )
        .expect("sweep");
    assert_eq!(previous, to - 1, "the last band ends at the span's end");
    assert_eq!(count as usize, out.len());
    // Bands hold tags grouped, not interleaved by time: a stable sort by time gives the reader's order
    // (at the same millisecond, tags by registration).
    out.sort_by_key(|(time, ..)| *time);
    out.into_iter()
        .map(|(_, mark, line)| (mark, line))
        .collect()
}

#[test]
fn a_sweep_hands_over_what_a_query_reads_in_batches_of_about_the_target() {
    let mut samples = flow_seconds(0, 3 * 3600);
    samples.extend((0..2000).map(|s| num(KW, s * 5000 + 7, (s % 13) as f64)));
    samples.extend((0..500).map(|s| {
        sample(
            RUN,
            s * 20_000 + 3,
            Some(Value::Bool(s % 2 == 0)),
            Quality::Good,
        )
    }));
    samples.push(sample(MODE, 4_000_000, text("auto"), Quality::Good));
    samples.push(sample(FLOW, 5_000_500, None, Quality::Bad(Cause::CommLost)));
    let (_dir, path) = stored(samples);
    // Spans across chunk and window edges, and ones that start or end inside a chunk.
    for (from, to) in [
        (0, 11_000_000),
        (1_234_567, 9_876_543),
        (3_599_999, 3_600_001),
        (0, 1),
    ] {
        for target in [1, 100, 100_000] {
            let query = SampleQuery {
                tags: Vec::new(),
                from: Some(Timestamp(from)),
                to: Some(Timestamp(to)),
            };
            assert_eq!(
                swept(&path, from, to, target, ""),
                read_all(&path, &query),
                "{from}..{to} in batches of about {target}"
            );
        }
    }
}

#[test]
fn a_sweep_merges_the_unsealed_log_and_a_half_done_seal_like_a_query() {
    let (sealed, logged) = sealed_then_logged();
    // A late sample in the log replaces a sealed one at the same millisecond.
    let mut with_late = logged.clone();
    with_late[1].push(num(FLOW, 50_000, -5.0));
    for (logged, half_sealed) in [(&with_late, false), (&logged, true)] {
        let (_dir, path) = killed_writer_file(sealed.clone(), logged, half_sealed);
        let all = read_all(&path, &SampleQuery::default());
        assert_eq!(all.len(), 202);
        assert_eq!(
            swept(&path, 0, 300_000, 17, ""),
            all,
            "half sealed: {half_sealed}"
        );
        if !half_sealed {
            assert!(all.contains(&"plc/flow 50000 Number(-5.0) good".to_string()));
        }
    }
}

#[test]
fn a_sweep_skips_the_tags_it_is_given_no_key_for_and_stops_when_asked() {
    let mut samples = flow_seconds(0, 600);
    samples.extend((0..600).map(|s| num(KW, s * 1000, 1.0)));
    let (_dir, path) = stored(samples);
    let kw_only = swept(&path, 0, 600_000, 50, "plc/flow");
    assert_eq!(kw_only.len(), 600);
    assert!(kw_only.iter().all(|line| line.starts_with("meter/kw ")));
    let reader = HistoryReader::open(&path).expect("reader");
    let mut batches = 0;
    let count = reader
        .sweep(
            Timestamp(0),
            Timestamp(600_000),
            None,
            100,
            |_| Some(()),
            |_, _| {
                batches += 1;
                batches < 3
            },
        )
        .expect("sweep");
    assert_eq!(batches, 3, "no batch after the one that said stop");
    assert!(count < 1200, "it stopped early: {count}");
}

#[test]
fn a_sweep_resumed_from_a_batch_mark_hands_over_exactly_the_rest() {
    // Three tags over 20 minutes: bands of minutes, several batches a band.
    let mut samples = flow_seconds(0, 1200);
    samples.extend((0..1200).map(|s| num(KW, s * 1000 + 500, (s % 7) as f64)));
    samples.extend((0..120).map(|s| {
        sample(
            RUN,
            s * 10_000 + 3,
            Some(Value::Bool(s % 2 == 0)),
            Quality::Good,
        )
    }));
    let (_dir, path) = stored(samples);
    let (from, to) = (0, 1_200_000);
    let whole = swept_from(&path, from, to, None, 100, "");
    let lines = |of: &[(SweepMark, String)]| {
        let mut lines: Vec<String> = of.iter().map(|(_, line)| line.clone()).collect();
        lines.sort();
        lines
    };
    let marks: BTreeSet<(i64, i64, u32)> = whole
        .iter()
        .filter_map(|(m, _)| m.tags_through.map(|t| (m.after.0, m.through.0, t)))
        .collect();
    assert!(marks.len() > 2, "batches end inside bands: {marks:?}");
    for (after, through, tags_through) in marks {
        // Handed over up to this mark: every band before it, and its band's batches up to it.
        let done = |m: &SweepMark| {
            m.through.0 < through
                || (m.through.0 == through && m.tags_through.is_some_and(|t| t <= tags_through))
        };
        let before: Vec<(SweepMark, String)> =
            whole.iter().filter(|(m, _)| done(m)).cloned().collect();
        let resume = SweepResume {
            through: Timestamp(through),
            tags_through,
        };
        let rest = swept_from(&path, after + 1, to, Some(resume), 100, "");
        assert!(
            rest.iter()
                .all(|(m, _)| m.after.0 > after || m.through.0 == through),
            "the first band ends where the mark's did"
        );
        let mut together = before;
        together.extend(rest);
        assert_eq!(
            lines(&together),
            lines(&whole),
            "resumed at ({after}, {through}] after tag {tags_through}"
        );
    }
}

/// A log row says the span of its samples' times (history schema 10), so a read of a span skips the rows
/// outside it. Queries and sweeps of spans that cut rows, with a commit of late samples (older than the
/// rows before it), read what a sealed copy of the same samples reads; so does the same file made a
/// schema 9 file (no spans), read as it is.
#[test]
fn log_rows_say_their_time_span_and_reads_of_part_of_them_miss_nothing() {
    // Twenty minutes of a 1 Hz flow, a commit a minute, and after the tenth a late commit of the kW
    // meter's first two minutes.
    let mut logged: Vec<Vec<Sample>> = (0..20).map(|m| flow_seconds(m * 60, m * 60 + 60)).collect();
    logged.insert(
        10,
        (0..120)
            .map(|s| num(KW, s * 1000 + 500, s as f64))
            .collect(),
    );
    let (_dir, path) = killed_writer_file(Vec::new(), &logged, false);
    let spans: Vec<(i64, i64)> = {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let mut stmt = conn
            .prepare("SELECT first_time, last_time FROM log ORDER BY seq")
            .expect("spans");
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)));
        rows.expect("spans")
            .collect::<Result<_, _>>()
            .expect("spans")
    };
    assert_eq!(spans.len(), 21);
    assert_eq!(spans[0], (0, 59_000));
    assert_eq!(spans[10], (500, 119_500), "the late commit");
    assert_eq!(spans[20], (1_140_000, 1_199_000));
    let (_clean_dir, clean) = stored(logged.concat());
    let reads_like_the_sealed_copy = |path: &Path, schema: &str| {
        for (from, to) in [
            (0, 1_200_000),
            (30_000, 90_000),
            (61_000, 61_001),
            (119_000, 700_000),
        ] {
            let query = SampleQuery {
                tags: Vec::new(),
                from: Some(Timestamp(from)),
                to: Some(Timestamp(to)),
            };
            let expected = read_all(&clean, &query);
            assert!(!expected.is_empty(), "{from}..{to}");
            assert_eq!(read_all(path, &query), expected, "{schema}: {from}..{to}");
            for target in [7, 5000] {
                assert_eq!(
                    swept(path, from, to, target, ""),
                    expected,
                    "{schema}: swept {from}..{to} in slices of {target}"
                );
            }
        }
    };
    reads_like_the_sealed_copy(&path, "schema 10");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "ALTER TABLE log DROP COLUMN first_time;
             ALTER TABLE log DROP COLUMN last_time;
             UPDATE schema_version SET version = 9 WHERE component = 'history';",
        )
        .expect("make it a schema 9 file");
    }
    reads_like_the_sealed_copy(&path, "schema 9");
}

mod backfill;
mod compaction;
mod packing;
mod retention;

/// The log's rows are packed every ten minutes of the writer's clock into rows of compact runs: every
/// sample reads back the same, a sample sent later at the same millisecond still replaces one already
/// packed (and one packed with it), and the packed log is a fraction of the commits' rows.
#[test]
fn a_packed_log_reads_the_same_and_later_samples_still_replace_packed_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let mut backfill = Backfill::open(&path, &demo_plant(), Timestamp(0)).expect("open");
    // Eleven minutes of a 1 Hz flow and kW meter, a commit a second; the flow's sample at 30 s is sent
    // twice (the second wins), and a text at 61 s.
    let mut expected: Vec<(i64, String)> = Vec::new();
    for s in 0..660i64 {
        let mut commit = vec![
            num(FLOW, s * 1000, (s % 97) as f64),
            num(KW, s * 1000 + 3, 400.0 + s as f64 * 0.5),
        ];
        if s == 31 {
            commit.push(num(FLOW, 30_000, -7.0));
        }
        if s == 61 {
            commit.push(sample(MODE, 61_000, text("Auto ✓"), Quality::Good));
        }
        backfill
            .store(commit, Timestamp(s * 1000 + 500))
            .expect("store");
    }
    for s in 0..660i64 {
        let flow = if s == 30 { -7.0 } else { (s % 97) as f64 };
        expected.push((
            s * 1000,
            format!("plc/flow {} Number({flow:?}) good", s * 1000),
        ));
        expected.push((
            s * 1000 + 3,
            format!(
                "meter/kw {} Number({:?}) good",
                s * 1000 + 3,
                400.0 + s as f64 * 0.5
            ),
        ));
    }
    expected.push((61_000, "plc/mode 61000 Text(\"Auto ✓\") good".to_string()));
    let packed = query_number(&path, "SELECT count(*) FROM log WHERE packed = 1");
    let plain = query_number(&path, "SELECT count(*) FROM log WHERE packed = 0");
    assert!(
        packed >= 1 && plain < 100,
        "{packed} packed rows, {plain} plain ones"
    );
    let packed_bytes = query_number(
        &path,
        "SELECT sum(length(d.data)) * 1000 / sum(l.samples) FROM log l JOIN log_data d ON d.seq = l.seq
         WHERE l.packed = 1",
    );
    assert!(
        packed_bytes < 3_000,
        "{packed_bytes} thousandths of a byte a packed sample"
    );

    // A late sample replacing a packed one, and one at a new millisecond in the packed stretch.
    backfill
        .store(
            vec![num(FLOW, 100_000, 1234.5), num(KW, 100_001, 1.0)],
            Timestamp(660_500),
        )
        .expect("store late samples");
    let at = expected
        .iter()
        .position(|(t, _)| *t == 100_000)
        .expect("flow at 100 s");
    expected[at].1 = "plc/flow 100000 Number(1234.5) good".to_string();
    expected.push((100_001, "meter/kw 100001 Number(1.0) good".to_string()));
    expected.sort_by_key(|(t, _)| *t);
    let expected: Vec<String> = expected.into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        expected,
        "from the log"
    );
    let flow = SampleQuery {
        tags: vec!["plc/flow".into()],
        ..SampleQuery::default()
    };
    let flow_only: Vec<String> = expected
        .iter()
        .filter(|s| s.starts_with("plc/flow"))
        .cloned()
        .collect();
    assert_eq!(read_all(&path, &flow), flow_only, "one tag from the log");
    // A sweep (the Sparkplug replay) reads the packed log in parts of time that cut its packed rows.
    for (from, to) in [(0, 700_000), (90_000, 100_002), (333_333, 600_001)] {
        let query = SampleQuery {
            tags: Vec::new(),
            from: Some(Timestamp(from)),
            to: Some(Timestamp(to)),
        };
        assert_eq!(
            swept(&path, from, to, 40, ""),
            read_all(&path, &query),
            "swept {from}..{to} from the log"
        );
    }

    backfill.close().expect("close");
    assert_eq!(query_number(&path, "SELECT count(*) FROM log"), 0, "sealed");
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        expected,
        "from chunks"
    );
}

/// A file of history schema 5 with commits in its log (blobs of 8-byte directory entries and plain
/// runs) reads as it is, and the next writer upgrades it to 6, adds to that log and seals both.
#[test]
fn a_version_5_log_reads_as_it_is_and_the_next_writer_upgrades_and_seals_it() {
    let (_dir, path, conn) = file_of_version(5);
    let rec = |time: i64, v: f64| crate::codec::Rec {
        time,
        quality: 0,
        value: crate::codec::RecValue::Number(v),
    };
    conn.execute_batch(
        "INSERT INTO tags (id, full_id, unit, type) VALUES (1, 'plc/flow', 'L/s', 'f32'),
                (2, 'plc/run', NULL, 'bool'), (3, 'plc/mode', NULL, 'string'), (4, 'meter/kw', 'kW', 'u32');",
    )
    .expect("tags");
    let rows = [
        (
            1,
            vec![
                (1, vec![rec(1000, 1.5), rec(2000, 2.5)]),
                (4, vec![rec(1500, 7.0)]),
            ],
        ),
        (2, vec![(1, vec![rec(2000, 3.5)])]),
    ];
    for (seq, runs) in &rows {
        let (first, last) = (runs[0].0, runs[runs.len() - 1].0);
        let samples: usize = runs.iter().map(|(_, r)| r.len()).sum();
        conn.execute(
            "INSERT INTO log (seq, written, first_tag, last_tag, samples) VALUES (?1, 5000, ?2, ?3, ?4)",
            (seq, first, last, samples as i64),
        )
        .expect("a version 5 log row");
        conn.execute(
            "INSERT INTO log_data (seq, data) VALUES (?1, ?2)",
            (seq, crate::codec::legacy_log_blob(runs)),
        )
        .expect("its blob");
    }
    drop(conn);
    let version = "SELECT version FROM schema_version WHERE component = 'history'";
    let expected = vec![
        "plc/flow 1000 Number(1.5) good".to_string(),
        "meter/kw 1500 Number(7.0) good".to_string(),
        "plc/flow 2000 Number(3.5) good".to_string(),
    ];
    assert_eq!(read_all(&path, &SampleQuery::default()), expected);
    assert_eq!(
        query_number(&path, version),
        5,
        "a reader reads it as it is"
    );

    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    assert_eq!(query_number(&path, version), layout::VERSION, "upgraded");
    writer
        .sink()
        .send(vec![num(FLOW, 2000, 9.0), num(KW, 3000, 8.0)]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while writer.stats().stored < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut expected = expected;
    expected[2] = "plc/flow 2000 Number(9.0) good".to_string();
    expected.push("meter/kw 3000 Number(8.0) good".to_string());
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        expected,
        "old and new log rows"
    );
    writer.close().expect("close");
    assert_eq!(query_number(&path, "SELECT count(*) FROM log"), 0, "sealed");
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        expected,
        "from chunks"
    );
}

/// A packing step is one transaction that commits wait for, so it packs no more than its share of
/// samples even when one range of tags holds many more (a small plant changing every tag every second):
/// it takes the range's oldest rows and leaves the rest for the next step, and everything reads the same.
#[test]
fn a_packing_step_packs_a_bounded_share_of_a_full_range_and_the_log_reads_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    let mut backfill = Backfill::open(&path, &demo_plant(), Timestamp(0)).expect("open");
    // Five minutes, a commit a second: 300 rows of one range, 600 samples, none packed yet.
    for s in 0..300i64 {
        let commit = vec![
            num(FLOW, s * 1000, (s % 97) as f64),
            num(KW, s * 1000 + 3, 400.0 + s as f64 * 0.5),
        ];
        backfill
            .store(commit, Timestamp(s * 1000 + 500))
            .expect("store");
    }
    drop(backfill);
    let packed_samples = "SELECT coalesce(sum(samples), 0) FROM log WHERE packed = 1";
    assert_eq!(query_number(&path, packed_samples), 0);
    let before = read_all(&path, &SampleQuery::default());
    assert_eq!(before.len(), 600);

    let conn = crate::schema::open_connection(&path).expect("open");
    let mut job = crate::store::start_pack(&conn)
        .expect("start")
        .expect("rows to pack");
    let (mut steps, mut packed) = (0, 0);
    loop {
        let tx = conn.unchecked_transaction().expect("transaction");
        let left = crate::store::pack_step(&tx, job, 100).expect("step");
        tx.commit().expect("commit");
        steps += 1;
        let now = query_number(&path, packed_samples);
        assert!(
            now - packed <= 102,
            "step {steps} packed {} samples",
            now - packed
        );
        packed = now;
        match left {
            Some(next) => job = next,
            None => break,
        }
    }
    drop(conn);
    assert!(steps >= 6, "{steps} steps for 600 samples, 100 a step");
    assert_eq!(packed, 600, "every sample packed");
    assert_eq!(read_all(&path, &SampleQuery::default()), before);
}

/// A file of history schema 7 (hour chunks, found through the index `chunks_by_tag`) reads as it is;
/// the next writer upgrades it to 8, which drops that index, and reads and seals beside the old chunks
/// the same.
#[test]
fn a_version_7_file_reads_as_it_is_and_the_next_writer_drops_its_second_chunk_index() {
    let (_dir, path, conn) = file_of_version(7);
    conn.execute_batch(
        "INSERT INTO tags (id, full_id, unit, type) VALUES (1, 'plc/flow', 'L/s', 'f32'),
                (2, 'plc/run', NULL, 'bool'), (3, 'plc/mode', NULL, 'string'), (4, 'meter/kw', 'kW', 'u32');",
    )
    .expect("tags");
    let recs: Vec<crate::codec::Rec> = (0..3600)
        .map(|s| crate::codec::Rec {
            time: s * 1000,
            quality: 0,
            value: crate::codec::RecValue::Number((s % 17) as f64),
        })
        .collect();
    crate::store::write_chunks(&conn, 1, &recs).expect("an hour's chunk");
    drop(conn);
    let index = "SELECT count(*) FROM sqlite_master WHERE name = 'chunks_by_tag'";
    let version = "SELECT version FROM schema_version WHERE component = 'history'";
    let flow = SampleQuery {
        tags: vec!["plc/flow".into()],
        ..SampleQuery::default()
    };
    let before = read_all(&path, &flow);
    assert_eq!(before.len(), 3600);
    assert_eq!(
        query_number(&path, version),
        7,
        "a reader reads it as it is"
    );
    assert_eq!(query_number(&path, index), 1);

    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    assert_eq!(query_number(&path, version), layout::VERSION, "upgraded");
    assert_eq!(query_number(&path, index), 0, "chunks_by_tag dropped");
    writer
        .sink()
        .send(vec![num(FLOW, 1_500, 99.0), num(FLOW, 3_600_000, 5.0)]);
    writer.close().expect("close");
    let mut expected = before;
    expected.insert(2, "plc/flow 1500 Number(99.0) good".to_string());
    expected.push("plc/flow 3600000 Number(5.0) good".to_string());
    let after = read_all(&path, &flow);
    assert!(
        after == expected,
        "{} samples, first {:?}, last {:?}",
        after.len(),
        &after[..3],
        after.last()
    );
    assert_eq!(query_number(&path, "SELECT count(*) FROM log"), 0, "sealed");
}

#[test]
fn a_version_8_files_dense_log_rows_read_as_they_are_and_seal_with_the_streams_after_them() {
    let (_dir, path, conn) = file_of_version(8);
    conn.execute_batch(
        "INSERT INTO tags (id, full_id, unit, type) VALUES (1, 'plc/flow', 'L/s', 'f32'),
                (2, 'plc/run', NULL, 'bool'), (3, 'plc/mode', NULL, 'string'), (4, 'meter/kw', 'kW', 'u32');",
    )
    .expect("tags");
    let rec = |time: i64, v: f64| crate::codec::Rec {
        time,
        quality: 0,
        value: crate::codec::RecValue::Number(v),
    };
    // A commit's row as Plantwatch of schema 6 to 8 wrote it: dense runs behind a directory.
    let mut blob = crate::codec::LogBlobBuilder::dense(1000);
    blob.add(1, &[rec(1000, 1.5), rec(2000, 2.5)]);
    blob.add(4, &[rec(1500, 7.0)]);
    conn.execute(
        "INSERT INTO log (seq, written, first_tag, last_tag, samples) VALUES (1, 2500, 1, 4, 3)",
        [],
    )
    .expect("a version 8 log row");
    conn.execute(
        "INSERT INTO log_data (seq, data) VALUES (1, ?1)",
        [blob.finish()],
    )
    .expect("its blob");
    drop(conn);
    let version = "SELECT version FROM schema_version WHERE component = 'history'";
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        [
            "plc/flow 1000 Number(1.5) good",
            "meter/kw 1500 Number(7.0) good",
            "plc/flow 2000 Number(2.5) good",
        ]
    );
    assert_eq!(
        query_number(&path, version),
        8,
        "a reader reads it as it is"
    );

    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    assert_eq!(query_number(&path, version), layout::VERSION, "upgraded");
    // A later commit (a stream) replaces the sample at 2 s and adds one.
    writer
        .sink()
        .send(vec![num(FLOW, 2000, 3.5), num(FLOW, 3000, 0.25)]);
    writer.close().expect("close");
    assert_eq!(
        read_all(&path, &SampleQuery::default()),
        [
            "plc/flow 1000 Number(1.5) good",
            "meter/kw 1500 Number(7.0) good",
            "plc/flow 2000 Number(3.5) good",
            "plc/flow 3000 Number(0.25) good",
        ]
    );
    assert_eq!(query_number(&path, "SELECT count(*) FROM log"), 0, "sealed");
}

#[test]
fn a_commit_writes_its_log_row_as_a_stream() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let mut backfill = Backfill::open(&path, &demo_plant(), Timestamp(0)).expect("open");
    backfill
        .store(
            vec![num(FLOW, 1000, 1.0), num(KW, 1000, 2.0)],
            Timestamp(1500),
        )
        .expect("store");
    drop(backfill);
    // `0x00 0x03`: the mark of a log blob of schema 6 and later, then the stream's format.
    assert_eq!(
        query_number(
            &path,
            "SELECT count(*) FROM log_data WHERE substr(data, 1, 2) = x'0003'"
        ),
        1
    );
}
