//! Compaction: many small seals end as nearly the fewest chunks, with every sample, summary and trend
//! as before.

use super::*;
use crate::compact::{compact_step, CompactCursor, CompactLimits, CompactScope};
use crate::store::{self, ChunkEnds, Runs, Summary};

/// A fresh file of the demo plant holding `windows`, each sealed on its own as the writer seals every
/// ten minutes: one log row per window, then a whole seal of it.
fn sealed_in_windows(windows: &[Vec<Sample>]) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = stored(Vec::new());
    seal_windows(&path, windows);
    (dir, path)
}

/// Seals each of `windows` on its own into the file at `path`, as [`sealed_in_windows`] does.
fn seal_windows(path: &Path, windows: &[Vec<Sample>]) {
    let conn = crate::schema::open_connection(path).expect("open");
    let ids: Vec<u32> = conn
        .prepare("SELECT id FROM tags ORDER BY id")
        .expect("tags")
        .query_map([], |r| r.get(0))
        .expect("ids")
        .collect::<Result<_, _>>()
        .expect("ids");
    let mut ends = ChunkEnds::default();
    for window in windows {
        let mut sorted = window.clone();
        sorted.sort_by_key(|s| (s.tag, s.time));
        let mut runs = Runs::default();
        for sample in &sorted {
            runs.push(ids[sample.tag.0 as usize], crate::codec::Rec::of(sample));
        }
        store::append_log(&conn, 0, &runs).expect("append");
        let mut job = store::start_seal(&conn).expect("start").expect("a job");
        while let Some(left) = store::seal_step(&conn, job, 400_000, &mut ends).expect("seal") {
            job = left;
        }
    }
}

/// Six hours of every kind of tag in ten-minute windows: 1 Hz flow with poll jitter and a stretch of
/// bad samples, a pump that switches every few minutes, mode texts, kw every 5 s.
fn six_hours_in_ten_minute_windows() -> Vec<Vec<Sample>> {
    let mut windows = Vec::new();
    for w in 0..36i64 {
        let mut samples = Vec::new();
        for s in w * 600..(w + 1) * 600 {
            let jitter = (s * 7919) % 23 - 11;
            let ms = s * 1000 + jitter;
            samples.push(match s {
                5000..=5099 => sample(FLOW, ms, None, Quality::Bad(Cause::CommLost)),
                _ => num(FLOW, ms, ((s * 31) % 997) as f64 * 0.25),
            });
            if s % 5 == 0 {
                samples.push(num(KW, s * 1000, (s / 5) as f64));
            }
            if s % 240 == 0 {
                samples.push(sample(
                    RUN,
                    s * 1000,
                    Some(Value::Bool(s % 480 == 0)),
                    Quality::Good,
                ));
            }
            if s % 900 == 0 {
                samples.push(sample(
                    MODE,
                    s * 1000 + 1,
                    text(if s % 1800 == 0 { "auto" } else { "hand" }),
                    Quality::Good,
                ));
            }
        }
        windows.push(samples);
    }
    windows
}

fn chunks_of(path: &Path) -> i64 {
    query_number(path, "SELECT count(*) FROM chunks")
}

/// Runs compaction steps to the end of a pass in transactions of its own; returns the steps taken.
fn compact_all(path: &Path, limits: CompactLimits) -> usize {
    let conn = crate::schema::open_connection(path).expect("open");
    let mut cursor = CompactCursor::START;
    for steps in 1..100_000 {
        let tx = conn.unchecked_transaction().expect("tx");
        let (next, _) = compact_step(&tx, &CompactScope::All, cursor, limits).expect("step");
        tx.commit().expect("commit");
        match next {
            Some(next) => cursor = next,
            None => return steps,
        }
    }
    panic!("a pass never ended")
}

/// Every chunk's summary against one recomputed from its samples.
fn assert_summaries_exact(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare("SELECT count, not_good, min, max, sum, first, last, data FROM chunks")
        .expect("chunks");
    let mut rows = stmt.query([]).expect("rows");
    while let Some(r) = rows.next().expect("row") {
        let stored = Summary {
            count: r.get::<_, i64>(0).expect("count") as u64,
            not_good: r.get::<_, i64>(1).expect("not_good") as u64,
            min: r.get(2).expect("min"),
            max: r.get(3).expect("max"),
            sum: r.get(4).expect("sum"),
            first: r.get(5).expect("first"),
            last: r.get(6).expect("last"),
        };
        let recs =
            crate::codec::decode_run_vec(r.get_ref(7).expect("data").as_blob().expect("blob"))
                .expect("decodes");
        assert_eq!(stored, Summary::of(&recs));
    }
}

/// The fewest chunks the tags' samples fit in (sealing's rule applied to all of each tag's samples).
fn fewest_chunks(path: &Path) -> i64 {
    let reader = HistoryReader::open(path).expect("reader");
    let mut by_tag: std::collections::BTreeMap<String, Vec<crate::codec::Rec>> = Default::default();
    reader
        .for_each_sample(&SampleQuery::default(), |s| {
            let rec = crate::codec::Rec::of(&Sample {
                tag: TagIndex(0),
                time: s.time,
                value: s.value.clone(),
                quality: s.quality,
            });
            by_tag.entry(s.tag.to_string()).or_default().push(rec);
        })
        .expect("read");
    by_tag
        .values()
        .map(|recs| store::chunk_splits(recs).count() as i64)
        .sum()
}

/// What readers make of the file: every sample, a thinned trend and 10-minute averages of plc/flow.
fn readings(path: &Path) -> (Vec<String>, Vec<Bucket>, Vec<IntervalValue>) {
    let reader = HistoryReader::open(path).expect("reader");
    let thinned = reader
        .thinned("plc/flow", Timestamp(-500), Timestamp(6 * 3_600_000), 36)
        .expect("thinned");
    let flow = SampleQuery {
        tags: vec!["plc/flow".into(), "meter/kw".into()],
        ..SampleQuery::default()
    };
    let avg = reader
        .aggregate(&flow, Duration::from_secs(600), Aggregate::Avg)
        .expect("aggregate");
    (read_all(path, &SampleQuery::default()), thinned, avg)
}

/// Trends read from summaries sum the chunks' sums in another order after a merge: the mean may differ
/// in its last bits, nothing else may.
fn assert_same_trend(after: &[Bucket], before: &[Bucket]) {
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(before) {
        let exact = |b: &Bucket| {
            (
                b.start, b.end, b.count, b.not_good, b.min, b.max, b.first, b.last,
            )
        };
        assert_eq!(exact(a), exact(b));
        match (a.avg, b.avg) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}"),
            (x, y) => assert_eq!(x, y),
        }
    }
}

#[test]
fn many_small_seals_compact_to_nearly_the_fewest_chunks_with_every_sample_kept() {
    let (_dir, path) = sealed_in_windows(&six_hours_in_ten_minute_windows());
    let (samples, trend, averages) = readings(&path);
    let before = chunks_of(&path);
    let fewest = fewest_chunks(&path);
    assert!(
        before > 3 * fewest,
        "small seals: {before} chunks, {fewest} at best"
    );

    // Small steps, so a pass takes many and runs of chunks meet the ends of pages and budgets (a page
    // holds more rows than a chunk span's 24 ten-minute chunks, as the writer's 4,096 do).
    let steps = compact_all(
        &path,
        CompactLimits {
            rows: 32,
            samples: 1_000,
        },
    );
    let after = chunks_of(&path);
    // A step merges at least one run, a run being up to four hours of a tag: two runs of each of the
    // four tags, whatever the budget.
    assert!(steps >= 8, "{steps} steps");
    assert!(
        after <= fewest + fewest / 4,
        "{before} chunks became {after}; {fewest} at best"
    );

    let (samples_after, trend_after, averages_after) = readings(&path);
    assert_eq!(samples_after, samples);
    assert_same_trend(&trend_after, &trend);
    assert_eq!(averages_after.len(), averages.len());
    for (a, b) in averages_after.iter().zip(&averages) {
        assert_eq!((a.start, &a.tag, a.quality), (b.start, &b.tag, b.quality));
        assert_eq!(a.value, b.value, "averages read samples one by one: exact");
    }
    assert_summaries_exact(&path);
    let compact = query_number(
        &path,
        "SELECT count(*) FROM chunks WHERE substr(data, 1, 2) IN (x'0001', x'0002')",
    );
    assert_eq!(
        compact, after,
        "merged chunks are compact (parted when long)"
    );

    // A second pass finds nothing left to merge.
    compact_all(
        &path,
        CompactLimits {
            rows: 4096,
            samples: 100_000,
        },
    );
    assert_eq!(chunks_of(&path), after);
}

#[test]
fn a_compaction_step_that_fails_or_is_killed_before_commit_leaves_the_data_whole() {
    let (_dir, path) = sealed_in_windows(&six_hours_in_ten_minute_windows());
    let expected = readings(&path);
    let before = chunks_of(&path);
    let limits = CompactLimits {
        rows: 4096,
        samples: 100_000,
    };

    // The disk refuses the merged chunk: the step fails and its transaction rolls back.
    let conn = crate::schema::open_connection(&path).expect("open");
    conn.execute_batch(
        "CREATE TEMP TRIGGER full_disk BEFORE INSERT ON chunks BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .expect("trigger");
    let tx = conn.unchecked_transaction().expect("tx");
    let error = compact_step(&tx, &CompactScope::All, CompactCursor::START, limits)
        .expect_err("the insert fails");
    assert!(error.to_string().contains("disk full"), "{error}");
    drop(tx);
    drop(conn);
    assert_eq!(chunks_of(&path), before);
    assert_eq!(readings(&path).0, expected.0);

    // Killed after the step's deletes and inserts, before its commit: the connection goes away.
    let conn = crate::schema::open_connection(&path).expect("open");
    let tx = conn.unchecked_transaction().expect("tx");
    let (_, done) =
        compact_step(&tx, &CompactScope::All, CompactCursor::START, limits).expect("step");
    assert!(done.removed > done.written, "{done:?}");
    std::mem::forget(tx); // no rollback by the transaction: closing the connection abandons it
    drop(conn);
    assert_eq!(chunks_of(&path), before);
    assert_eq!(readings(&path).0, expected.0);
    assert_eq!(
        query_number(
            &path,
            "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"
        ),
        0
    );
}

#[test]
fn the_writer_compacts_small_chunks_in_the_background_with_no_setting() {
    let (_dir, path) = sealed_in_windows(&six_hours_in_ten_minute_windows());
    let expected = readings(&path).0;
    let before = chunks_of(&path);
    let fewest = fewest_chunks(&path);
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    // Samples keep coming meanwhile; compaction runs between their commits.
    writer.sink().send(vec![num(FLOW, 6 * 3_600_000, 1.0)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while chunks_of(&path) > fewest + fewest / 4 {
        assert!(
            Instant::now() < deadline,
            "still {} chunks of {before}",
            chunks_of(&path)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.close().expect("close");
    let mut expected = expected;
    expected.push(format!("plc/flow {} Number(1.0) good", 6 * 3_600_000));
    assert_eq!(read_all(&path, &SampleQuery::default()), expected);
}

/// Measures compaction on a simulated month (a year with `PLANTWATCH_COMPACT_DAYS=365`) of a 1 Hz tag
/// sealed every ten minutes; prints chunk counts and the time of a step. Run with `--ignored`.
#[test]
#[ignore]
fn measure_compaction_of_a_month_of_ten_minute_seals() {
    let days: i64 = std::env::var("PLANTWATCH_COMPACT_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(30);
    let (_dir, path) = stored(Vec::new());
    let conn = crate::schema::open_connection(&path).expect("open");
    let flow: u32 = conn
        .query_row("SELECT id FROM tags WHERE full_id = 'plc/flow'", [], |r| {
            r.get(0)
        })
        .expect("id");
    // Ten-minute seals written as the seal writes them, without going through the log (same chunks).
    let tx = conn.unchecked_transaction().expect("tx");
    for w in 0..days * 24 * 6 {
        let recs: Vec<crate::codec::Rec> = (w * 600..(w + 1) * 600)
            .map(|s| {
                crate::codec::Rec::of(&num(
                    FLOW,
                    s * 1000 + (s * 7919) % 23,
                    ((s * 31) % 997) as f64 * 0.25,
                ))
            })
            .collect();
        store::write_chunks(&tx, flow, &recs).expect("chunks");
    }
    tx.commit().expect("commit");
    let before = chunks_of(&path);
    let limits = CompactLimits {
        rows: 4096,
        samples: 100_000,
    };
    let mut cursor = CompactCursor::START;
    let (mut steps, mut slowest, started) = (0, Duration::ZERO, Instant::now());
    loop {
        let t = Instant::now();
        let tx = conn.unchecked_transaction().expect("tx");
        let (next, _) = compact_step(&tx, &CompactScope::All, cursor, limits).expect("step");
        tx.commit().expect("commit");
        slowest = slowest.max(t.elapsed());
        steps += 1;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let total = started.elapsed();
    println!(
        "{days} days of 1 Hz in 10-minute seals: {before} chunks -> {} (fewest {}), {steps} steps in {:.2} s, {:.1} ms a step on average, slowest {:.1} ms",
        chunks_of(&path),
        fewest_chunks(&path),
        total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / steps as f64,
        slowest.as_secs_f64() * 1000.0
    );

    // A pass with nothing left to merge over every chunk (a writer's first): the cost of looking.
    let (mut cursor, mut steps, started) = (CompactCursor::START, 0, Instant::now());
    loop {
        let tx = conn.unchecked_transaction().expect("tx");
        let (next, done) = compact_step(&tx, &CompactScope::All, cursor, limits).expect("step");
        tx.commit().expect("commit");
        assert_eq!(done.removed, 0);
        steps += 1;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    println!(
        "a pass with nothing to merge: {} chunk rows in {steps} steps, {:.1} ms",
        chunks_of(&path),
        started.elapsed().as_secs_f64() * 1000.0
    );

    // A seal of ten more minutes, and the pass it starts: over what it sealed only.
    let base = crate::compact::last_chunk_id(&conn).expect("last id");
    let recs: Vec<crate::codec::Rec> = (days * 86_400..days * 86_400 + 600)
        .map(|s| crate::codec::Rec::of(&num(FLOW, s * 1000, 1.0)))
        .collect();
    store::write_chunks(&conn, flow, &recs).expect("chunks");
    let started = Instant::now();
    let scope = CompactScope::since(&conn, base).expect("scope");
    let mut cursor = CompactCursor::START;
    let mut steps = 0;
    loop {
        let tx = conn.unchecked_transaction().expect("tx");
        let (next, _) = compact_step(&tx, &scope, cursor, limits).expect("step");
        tx.commit().expect("commit");
        steps += 1;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    println!(
        "a pass after a seal: {steps} steps, {:.2} ms, {} chunks",
        started.elapsed().as_secs_f64() * 1000.0,
        chunks_of(&path)
    );

    // Then retention: raw samples kept a tenth of the span, summaries half of it.
    let now = days * 86_400_000;
    let keep = |d: i64| Duration::from_millis((d * 86_400_000) as u64);
    let plan = crate::retain::RetentionPlan::new(Some(keep(days / 10)), Some(keep(days / 2)), []);
    let limits = crate::retain::RetainLimits {
        tags: 4096,
        chunks: 2000,
    };
    let mut cursor = crate::retain::RetainCursor::start(now, None);
    let (mut steps, mut slowest, started) = (0, Duration::ZERO, Instant::now());
    loop {
        let t = Instant::now();
        let tx = conn.unchecked_transaction().expect("tx");
        let (next, _) = crate::retain::retain_step(&tx, &plan, cursor, limits).expect("step");
        tx.commit().expect("commit");
        slowest = slowest.max(t.elapsed());
        steps += 1;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let total = started.elapsed();
    println!(
        "retention (raw {} days, summaries {}): {} chunks left, {} of them summaries only, {steps} steps in {:.2} s, slowest {:.1} ms, {} free pages of {}",
        days / 10,
        days / 2,
        chunks_of(&path),
        query_number(&path, "SELECT count(*) FROM chunks WHERE length(data) = 0"),
        total.as_secs_f64(),
        slowest.as_secs_f64() * 1000.0,
        query_number(&path, "PRAGMA freelist_count"),
        query_number(&path, "PRAGMA page_count"),
    );
}

#[test]
fn a_damaged_chunk_gives_up_the_compaction_pass_once_and_samples_keep_being_stored() {
    let (_dir, path) = sealed_in_windows(&six_hours_in_ten_minute_windows());
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute(
        "UPDATE chunks SET data = x'0001ff' WHERE id = (SELECT min(id) FROM chunks WHERE tag = 1)",
        [],
    )
    .expect("damage a chunk");
    drop(conn);
    let writer = HistoryWriter::open(&path, &demo_plant()).expect("writer");
    let deadline = Instant::now() + Duration::from_secs(10);
    while writer.stats().errors == 0 {
        assert!(Instant::now() < deadline, "the damaged chunk was never met");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Not retried in a loop: the pass waits for the next seal.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(writer.stats().errors, 1, "{:?}", writer.stats().last_error);
    writer.sink().send(vec![num(KW, 7 * 3_600_000, 5.0)]);
    let stats = writer.close().expect("close");
    assert_eq!((stats.stored, stats.pending), (1, 0), "{stats:?}");
    let kw = SampleQuery {
        tags: vec!["meter/kw".into()],
        from: Some(Timestamp(7 * 3_600_000)),
        to: None,
    };
    assert_eq!(read_all(&path, &kw), ["meter/kw 25200000 Number(5.0) good"]);
}

#[test]
fn small_plain_chunks_of_an_older_file_merge_into_compact_ones() {
    let (_dir, path) = sealed_in_windows(&six_hours_in_ten_minute_windows());
    let conn = rusqlite::Connection::open(&path).expect("open");
    let chunks: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT id, data FROM chunks")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("chunks")
        .collect::<Result<_, _>>()
        .expect("chunks");
    for (id, data) in chunks {
        let recs = crate::codec::decode_run_vec(&data).expect("decodes");
        let mut plain = Vec::new();
        crate::codec::encode_plain_run(&recs, &mut plain);
        conn.execute("UPDATE chunks SET data = ?2 WHERE id = ?1", (id, plain))
            .expect("a plain chunk");
    }
    drop(conn);
    let compact = "SELECT count(*) FROM chunks WHERE substr(data, 1, 2) = x'0001'";
    assert_eq!(query_number(&path, compact), 0, "schema 3 chunks");
    let (samples, _, _) = readings(&path);
    compact_all(
        &path,
        CompactLimits {
            rows: 4096,
            samples: 100_000,
        },
    );
    assert_eq!(readings(&path).0, samples);
    assert_summaries_exact(&path);
    // Merged chunks are compact; a chunk left alone (nothing to merge it with) stays as it was.
    let merged = query_number(&path, compact);
    assert!(merged > 0 && merged <= chunks_of(&path), "{merged}");
    assert!(chunks_of(&path) <= fewest_chunks(&path) + fewest_chunks(&path) / 4);
}

#[test]
fn a_pass_after_a_seal_looks_only_at_the_tags_it_sealed_from_a_chunk_span_before_and_merges_them() {
    let windows = six_hours_in_ten_minute_windows();
    let (_dir, path) = sealed_in_windows(&windows[..30]);
    compact_all(
        &path,
        CompactLimits {
            rows: 4096,
            samples: 100_000,
        },
    );
    let conn = crate::schema::open_connection(&path).expect("open");
    let base = crate::compact::last_chunk_id(&conn).expect("last id");
    seal_windows(&path, &windows[30..]);
    let scope = CompactScope::since(&conn, base).expect("scope");
    let CompactScope::Tags(tags) = &scope else {
        panic!("{scope:?}")
    };
    let ids: Vec<u32> = tags.iter().map(|&(tag, _)| tag).collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4],
        "every tag got samples in the new windows"
    );
    for &(tag, floor) in tags {
        assert!(
            floor >= 5 * 3_600_000 - crate::layout::CHUNK_SPAN_MS - 1_000,
            "tag {tag} from {floor}: not from the start"
        );
    }
    let small = chunks_of(&path);
    let mut cursor = CompactCursor::START;
    loop {
        let tx = conn.unchecked_transaction().expect("tx");
        let limits = CompactLimits {
            rows: 32,
            samples: 2_000,
        };
        let (next, _) = compact_step(&tx, &scope, cursor, limits).expect("step");
        tx.commit().expect("commit");
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let fewest = fewest_chunks(&path);
    assert!(chunks_of(&path) < small);
    assert!(
        chunks_of(&path) <= fewest + fewest / 4,
        "{} of {fewest}",
        chunks_of(&path)
    );
    let (_whole_dir, whole) = sealed_in_windows(&windows);
    assert_eq!(readings(&path).0, readings(&whole).0);
    assert_summaries_exact(&path);
}
