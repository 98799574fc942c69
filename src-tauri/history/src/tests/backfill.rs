//! Backfill: history written on its data's clock is sealed and compacted as live collection leaves it,
//! and thinned trends over it are exact however the columns cut its chunks.

use super::*;

/// `hours` of a flow polled every `every_s` seconds with poll jitter, stored a minute at a time: a
/// spike, a stretch of bad samples, and a 25-minute outage with no samples at all. Values are quarters,
/// so sums are exact.
fn flow_by_minute(hours: i64, every_s: i64) -> Vec<Vec<Sample>> {
    (0..hours * 60)
        .map(|minute| {
            (minute * 60..(minute + 1) * 60)
                .filter(|s| s % every_s == 0 && !(7_000..8_500).contains(s))
                .map(|s| {
                    let ms = s * 1000 + (s * 7919) % 23 - 11;
                    match s {
                        5_000 => num(FLOW, ms, 900.0),
                        3_000..=3_119 => sample(FLOW, ms, None, Quality::Bad(Cause::CommLost)),
                        _ => num(FLOW, ms, ((s * 31) % 997) as f64 * 0.25),
                    }
                })
                .collect()
        })
        .collect()
}

/// Stores each minute half a second after its last poll, as the writer would have committed it.
fn backfill(path: &Path, minutes: &[Vec<Sample>]) -> Backfill {
    let mut backfill = Backfill::open(path, &demo_plant(), Timestamp(0)).expect("open backfill");
    for minute in minutes {
        let now = minute.last().map_or(0, |s| s.time.0) + 500;
        backfill
            .store(minute.clone(), Timestamp(now))
            .expect("store a minute");
    }
    backfill
}

/// `(start, end)` of each chunk of the flow, in time order.
fn flow_chunks(path: &Path) -> Vec<(i64, i64)> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare("SELECT start, end FROM chunks WHERE tag = 1 ORDER BY start")
        .expect("chunks");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("chunks")
        .collect::<Result<_, _>>()
        .expect("chunks")
}

#[test]
fn a_backfill_packs_every_ten_minutes_and_seals_about_every_four_hours_of_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    // A sample every 5 s: a chunk is bounded by its span (four hours), not by its 8,192 samples.
    let minutes = flow_by_minute(13, 5);
    let open = backfill(&path, &minutes);
    // Before any close: what is still in the log is at most one seal's worth (four hours and the commit
    // that made it due), the rest is in chunks; of the log, what is not packed yet is at most ten minutes
    // and the commit that made a packing due.
    let logged = query_number(&path, "SELECT coalesce(sum(samples), 0) FROM log");
    assert!(
        (1..=241 * 12).contains(&logged),
        "log holds {logged} samples"
    );
    let plain = query_number(
        &path,
        "SELECT coalesce(sum(samples), 0) FROM log WHERE packed = 0",
    );
    assert!(plain <= 11 * 12, "{plain} samples not packed");
    let packed = query_number(&path, "SELECT count(*) FROM log WHERE packed = 1");
    assert!(packed >= 1, "the log's older minutes are packed");
    open.close().expect("close");

    // Seals about every four hours (3 h 55 min: a seal's log spans less than a chunk may): four chunks
    // of thirteen hours, where hourly seals left fourteen; none but the last one (what the close sealed) a
    // sliver of a seal that ran past a chunk's span.
    let chunks = flow_chunks(&path);
    assert_eq!(chunks.len(), 4, "chunks: {chunks:?}");
    for &(start, end) in &chunks[..chunks.len() - 1] {
        assert!(end - start >= 3 * 3_600_000, "a short chunk: {chunks:?}");
    }
    for pair in chunks.windows(2) {
        assert!(pair[0].1 < pair[1].0, "chunks overlap: {chunks:?}");
    }
    for &(start, end) in &chunks {
        assert!(
            end - start < layout::CHUNK_SPAN_MS,
            "a chunk spans four hours or more"
        );
    }
    let all: Vec<Sample> = minutes.concat();
    let reader = HistoryReader::open(&path).expect("reader");
    let mut back = 0;
    reader
        .for_each_sample(&SampleQuery::default(), |_| back += 1)
        .expect("read");
    assert_eq!(back, all.len(), "every sample back");
}

#[test]
fn thinned_columns_equal_the_samples_whatever_chunks_the_column_edges_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    // 1 Hz: chunks are bounded by their 8,192 samples and stored in parts.
    let minutes = flow_by_minute(12, 1);
    let samples: Vec<Sample> = minutes.concat();
    let open = backfill(&path, &minutes);
    // Column counts whose edges fall inside chunks (7, 13), on the outage and on the bad stretch (48),
    // nearly one a chunk (3) and many a chunk (360); ranges starting and ending mid-chunk or beyond the
    // samples. Read with the last minutes still in the log, then after close with all in chunks.
    let cases = [
        (0, 4 * 3_600_000, 7),
        (0, 12 * 3_600_000, 48),
        (1_234_000, 1_234_000 + 13 * 777_000, 13),
        (2_000_500, 2_000_500 + 3 * 3_000_000, 3),
        (-3_600_000, 13 * 3_600_000, 360),
        (4 * 3_600_000 - 900_000, 4 * 3_600_000 + 900_000, 30),
        (12 * 3_600_000 - 900_000, 12 * 3_600_000 + 900_000, 30),
    ];
    let check = |when: &str| {
        let reader = HistoryReader::open(&path).expect("reader");
        for &(from, to, columns) in &cases {
            let buckets = reader
                .thinned("plc/flow", Timestamp(from), Timestamp(to), columns)
                .expect("thinned");
            assert_eq!(
                summaries(&buckets),
                oracle(&samples, from, to, columns as i64),
                "{when}: {columns} columns from {from} to {to}"
            );
        }
    };
    check("log not sealed yet");
    open.close().expect("close");
    assert!(flow_chunks(&path).len() > 3, "several chunks");
    check("all in chunks");
}

#[test]
fn a_trend_reads_the_chunk_summaries_from_their_index_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    backfill(&path, &flow_by_minute(4, 1))
        .close()
        .expect("close");
    let conn = rusqlite::Connection::open(&path).expect("open");
    let plan: Vec<String> = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            crate::store::SUMMARIES_OF_TAG
        ))
        .expect("plan")
        .query_map((1, 0, 4 * 3_600_000), |r| r.get(3))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("plan");
    assert!(
        plan.iter()
            .any(|step| step.contains("COVERING INDEX chunk_summaries")),
        "plan: {plan:?}"
    );
}
