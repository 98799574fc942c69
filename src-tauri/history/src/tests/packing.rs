//! Packing: a packing turns the log's commit rows into packed rows range of tag ids by range, and deletes
//! the rows it replaced together at its end, so the rows of other ranges beside them are never rewritten
//! (issue 15); reads in between, and after a crash in between, give every sample once, the later write
//! winning.

use std::collections::HashMap;

use super::*;
use crate::codec::{Rec, RecValue};
use crate::store::{self, PackJob, Runs, Wanted, LOG_SHARD_TAGS};

/// One tag in each of three ranges of tag ids: each commit writes a log row for each, side by side.
const TAGS: [u32; 3] = [1, 1 + LOG_SHARD_TAGS, 1 + 2 * LOG_SHARD_TAGS];
const COMMITS: i64 = 40;
/// Samples of each tag a commit: a row of about 3 KB, a page of its own, as on a million-tag plant.
const PER_COMMIT: i64 = 700;

/// A file whose log holds `COMMITS` commits of the three tags (16-bit readings, the plant benchmark's
/// random values), the second commit also replacing the first tag's sample at 0 ms.
fn logged() -> (tempfile::TempDir, std::path::PathBuf, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let conn = crate::schema::open_connection(&path).expect("create");
    crate::schema::migrate(&conn, layout::COMPONENT, layout::STEPS).expect("schema");
    for c in 0..COMMITS {
        let mut runs = Runs::default();
        for (t, &tag) in TAGS.iter().enumerate() {
            if c == 1 && t == 0 {
                runs.push(tag, number(0, 99_999.0));
            }
            for i in 0..PER_COMMIT {
                let n = (c * PER_COMMIT + i) as u64 * (t as u64 + 1);
                let value = (n.wrapping_mul(2_654_435_761) >> 16) as u16;
                runs.push(tag, number((c * PER_COMMIT + i) * 10, f64::from(value)));
            }
        }
        store::append_log(&conn, c, &runs).expect("a commit");
    }
    (dir, path, conn)
}

fn number(time: i64, v: f64) -> Rec {
    Rec {
        time,
        quality: 0,
        value: RecValue::Number(v),
    }
}

fn everything(conn: &rusqlite::Connection) -> HashMap<u32, Vec<Rec>> {
    store::read_log(
        conn,
        Wanted::All,
        i64::MIN,
        i64::MAX,
        store::LogSpans::Stored,
    )
    .expect("read the log")
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// One step of a range (`COMMITS * PER_COMMIT` samples) in its own transaction.
fn step(conn: &rusqlite::Connection, job: PackJob) -> Option<PackJob> {
    let tx = conn.unchecked_transaction().expect("transaction");
    let left = store::pack_step(&tx, job, (COMMITS * PER_COMMIT) as u64).expect("step");
    tx.commit().expect("commit");
    left
}

#[test]
fn a_packing_deletes_the_rows_it_replaced_together_at_its_end() {
    let (_dir, _path, conn) = logged();
    let before = everything(&conn);
    assert_eq!(before[&TAGS[0]][0].value, RecValue::Number(99_999.0));
    assert_eq!(before[&TAGS[0]].len(), (COMMITS * PER_COMMIT) as usize);

    let job = store::start_pack(&conn).expect("start").expect("rows");
    let job = step(&conn, job).expect("two ranges left");
    // The first range is packed: its rows stay but for the places its packed rows took.
    let packed = count(&conn, "SELECT count(*) FROM log WHERE packed = 1");
    assert!(packed >= 1);
    let range =
        format!("SELECT count(*) FROM log WHERE packed = 0 AND first_tag < {LOG_SHARD_TAGS}");
    assert_eq!(count(&conn, &range), COMMITS - packed);
    assert_eq!(count(&conn, "SELECT count(*) FROM pack_progress"), 1);
    assert_eq!(
        everything(&conn),
        before,
        "read in between: every sample once"
    );

    let mut job = Some(job);
    while let Some(left) = job {
        job = step(&conn, left);
    }
    assert_eq!(count(&conn, "SELECT count(*) FROM log WHERE packed = 0"), 0);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM log_data"),
        count(&conn, "SELECT count(*) FROM log"),
        "no blob left without its row"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM pack_progress"), 0);
    assert_eq!(everything(&conn), before);
}

#[test]
fn a_packing_a_crash_interrupted_is_finished_by_the_next_writer() {
    let (_dir, path, conn) = logged();
    let before = everything(&conn);
    let job = store::start_pack(&conn).expect("start").expect("rows");
    let job = step(&conn, job).expect("two ranges left");
    assert_eq!(store::unfinished_pack(&conn).expect("progress"), Some(job));
    drop(conn);

    // The next writer (on the data's clock, the log an hour old: due for packing, and sealing after).
    let mut backfill = Backfill::open(&path, &demo_plant(), Timestamp(3_600_000)).expect("writer");
    backfill
        .store(Vec::new(), Timestamp(3_600_500))
        .expect("background work");
    drop(backfill);
    let conn = crate::schema::open_connection(&path).expect("open");
    assert_eq!(count(&conn, "SELECT count(*) FROM pack_progress"), 0);
    // Whatever the writer did next (finished the packing, sealed the log), every sample reads once,
    // the replaced one replaced.
    let mut after = everything(&conn);
    let reader = HistoryReader::open(&path).expect("reader");
    drop(reader);
    for (tag, recs) in &before {
        let mut sealed = Vec::new();
        let chunks = conn
            .prepare("SELECT data FROM chunks WHERE tag = ?1 ORDER BY start")
            .expect("chunks")
            .query_map([tag], |r| r.get::<_, Vec<u8>>(0))
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("chunks");
        for data in chunks {
            sealed.extend(store::decode_chunk_vec(&data).expect("a chunk"));
        }
        sealed.extend(after.remove(tag).unwrap_or_default());
        assert_eq!(&sealed, recs, "tag {tag}");
    }
}

/// What a packing writes: its packed rows, and little else. Deleting each range's rows in its own step
/// made SQLite rewrite the pages of the other ranges' rows beside them (2 to 3 times the bytes deleted,
/// then again at the checkpoint).
#[test]
fn a_packing_rewrites_no_page_of_the_ranges_beside_the_one_it_packs() {
    let (_dir, path, conn) = logged();
    let deleted = count(&conn, "SELECT sum(length(data)) FROM log_data");
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .expect("no checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    let mut job = store::start_pack(&conn).expect("start");
    while let Some(left) = job {
        job = step(&conn, left);
    }
    let packed = count(&conn, "SELECT sum(length(data)) FROM log_data");
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .expect("the WAL")
        .len() as i64;
    // The packed rows, their pages' headers and the few tree pages above them.
    assert!(
        wal < packed * 13 / 10 + 64 * 1024,
        "{wal} bytes to the WAL for {packed} bytes packed ({deleted} deleted)"
    );
}
