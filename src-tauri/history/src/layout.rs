//! The history tables and how a sample is laid out in them (see the crate docs for the why).

use plantwatch_core::{Cause, Quality, ValueKind};

/// The component name of the history tables in `schema_version`.
pub const COMPONENT: &str = "history";

/// Migration steps of the history tables; step `i` moves version `i` to `i + 1`. Append only.
pub const STEPS: &[&str] = &[
    // Version 1: tags by full id; samples keyed (tag, time) without a rowid, text values apart; per-minute
    // rollups for trends over long ranges, complete below each tag's `rollup_until`.
    "CREATE TABLE tags (
        id           INTEGER PRIMARY KEY,
        full_id      TEXT NOT NULL UNIQUE,
        unit         TEXT,
        type         TEXT NOT NULL,
        rollup_until INTEGER NOT NULL DEFAULT -9223372036854775808
    );
    CREATE TABLE rollups (
        tag      INTEGER NOT NULL,
        start    INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        not_good INTEGER NOT NULL,
        min      REAL,
        max      REAL,
        sum      REAL NOT NULL,
        first    REAL,
        last     REAL,
        PRIMARY KEY (tag, start)
    ) WITHOUT ROWID;
    CREATE TABLE samples (
        tag     INTEGER NOT NULL,
        time    INTEGER NOT NULL,
        value   REAL,
        quality INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tag, time)
    ) WITHOUT ROWID;
    CREATE TABLE sample_texts (
        tag  INTEGER NOT NULL,
        time INTEGER NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (tag, time)
    ) WITHOUT ROWID;",
    // Version 2: samples move to compressed per-tag chunks behind an append-only log (see `store`). The
    // version 1 tables are converted and dropped by `store::convert_version_1` right after this step.
    "CREATE TABLE log (
        seq     INTEGER PRIMARY KEY,
        written INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        data    BLOB NOT NULL
    );
    CREATE TABLE chunks (
        id       INTEGER PRIMARY KEY,
        tag      INTEGER NOT NULL,
        start    INTEGER NOT NULL,
        end      INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        not_good INTEGER NOT NULL,
        min      REAL,
        max      REAL,
        sum      REAL NOT NULL,
        first    REAL,
        last     REAL,
        data     BLOB NOT NULL
    );
    CREATE UNIQUE INDEX chunks_by_tag ON chunks (tag, start);
    CREATE TABLE seal_progress (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        upto      INTEGER NOT NULL,
        below_tag INTEGER NOT NULL
    );",
    // Version 3: a commit's samples go to one log row per range of tag ids (`store::LOG_SHARD_TAGS`),
    // each row saying which ids it holds, with its blob in a table of its own: sealing a range of tags
    // and reading a few tags read only the rows that hold them, and finding those rows reads no blob.
    // Rows of version 2 hold every id.
    "CREATE TABLE log_data (
        seq  INTEGER PRIMARY KEY,
        data BLOB NOT NULL
    );
    INSERT INTO log_data (seq, data) SELECT seq, data FROM log;
    CREATE TABLE log_rows (
        seq       INTEGER PRIMARY KEY,
        written   INTEGER NOT NULL,
        first_tag INTEGER NOT NULL,
        last_tag  INTEGER NOT NULL,
        samples   INTEGER NOT NULL
    );
    INSERT INTO log_rows (seq, written, first_tag, last_tag, samples)
        SELECT seq, written, 0, 4294967295, samples FROM log;
    DROP TABLE log;
    ALTER TABLE log_rows RENAME TO log;",
    // Version 4: chunks are sealed as compact runs (`codec`), which a Plantwatch of version 3 would read
    // as empty runs; the step changes no table, so that Plantwatch refuses the file instead. Chunks of
    // version 3 (plain runs) stay as they are and decode as before.
    "-- no table changes",
    // Version 5: the chunks' summaries in an index of their own, so a trend over months or years reads
    // them from the index alone (about 80 bytes a chunk) instead of one table page per chunk, most of it
    // the chunk's data (`reader::thinned`). Files of version 4 read as they are, a little slower.
    "CREATE INDEX chunk_summaries ON chunks (tag, start, end, count, not_good, min, max, sum, first, last);",
    // Version 6: the writer packs the log's rows every few minutes into fewer rows of compact runs
    // (`store::pack_step`) and seals the log into chunks hourly, so each sample is written into a chunk
    // about once (a chunk row per tag per 10-minute seal, merged again by compaction after every seal,
    // wrote most of the bytes). `packed` marks those rows; readers read them as any log row, so a
    // reader reads a version 5 file as it is and a version 5 log's rows are plain ones.
    "ALTER TABLE log ADD COLUMN packed INTEGER NOT NULL DEFAULT 0;",
    // Version 7: chunks of 512 samples or more are sealed and merged as parted runs (`codec::parted`:
    // compact runs of about 256 samples behind a directory of their spans and summaries, so a trend
    // decodes only the part a column edge cuts), which a Plantwatch of version 6 would report as damaged;
    // the step changes no table, so that Plantwatch refuses the file instead. Older chunks read as before.
    "-- no table changes",
    // Version 8: chunks may span four hours (`CHUNK_SPAN_MS`; the log is sealed about every four hours),
    // which a Plantwatch of version 7 would miss when it looks for a range's chunks an hour back; and
    // the index `chunks_by_tag` goes: `chunk_summaries` begins with the same `(tag, start)` and serves
    // every lookup it did. Every seal adds an entry per tag to each index, a page of each per tag once
    // a tag has a page of entries, written twice (the WAL, then the file): with two indexes and hourly
    // seals that came to about 48 bytes a sample of a million-tag plant after a week (issue 15).
    "DROP INDEX IF EXISTS chunks_by_tag;",
    // Version 9 (issue 15, disk writes per sample): a commit writes its log blob as a stream
    // (`codec::stream`: about 4 bytes a polled register where the dense runs of version 6 took 8, each
    // byte written twice, to the WAL and at the checkpoint), and compact runs may code their times as
    // beats (`codec::compact`); a Plantwatch of version 8 would report both as damaged, so it must
    // refuse the file. A packing deletes the rows it packed at its end instead of a range at a time
    // (`store::PackJob`), its progress in `pack_progress`. Older blobs and runs read as before.
    "CREATE TABLE pack_progress (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        upto      INTEGER NOT NULL,
        below_tag INTEGER NOT NULL,
        after     INTEGER NOT NULL
    );",
    // Version 10 (issue 12, the Sparkplug replay): a log row says the span of its samples' times, so a
    // read of a span decodes only the rows that reach into it (a replay of an hour used to decode the
    // whole log, up to four hours of the plant, for each half hour it read). Rows of older versions
    // leave both NULL: unknown, read always. Readers read a version 9 file as it is, without the
    // filter; a Plantwatch of version 9 reads a version 10 file's rows as before, but refuses the file.
    "ALTER TABLE log ADD COLUMN first_time INTEGER;
    ALTER TABLE log ADD COLUMN last_time INTEGER;",
];

/// The oldest version this binary reads without upgrading the file (a reader may be unable to write it):
/// versions 4 and 7 changed no table, only what new chunks hold, and 9 what new log rows and chunks
/// hold, with a table only the writer reads; version 5 added an index readers do
/// without; version 6 a column of the log only the writer reads; version 8 dropped an index the other
/// one stands in for, and its longer chunk span covers the older chunks' hour; version 10 added the log
/// rows' time spans, which a reader of an older file does without (`HistoryReader::log_spans`).
pub const OLDEST_READ_AS_IS: i64 = 3;

/// A chunk spans less than this much time (from its first to its last sample), so a reader finds every
/// chunk overlapping a range among those starting less than this before it. Four hours: the writer seals
/// its log into chunks about this often, and each seal writes an index entry per tag (see version 8).
/// (An hour up to version 7; those chunks are within this span too.)
pub const CHUNK_SPAN_MS: i64 = 4 * 3_600_000;
/// A chunk holds at most this many samples (a fast tag's chunk stays a few tens of kilobytes).
pub const CHUNK_MAX_SAMPLES: usize = 8192;

/// The schema version this binary writes and reads.
pub const VERSION: i64 = STEPS.len() as i64;

/// The stored type name read as core's kind; `None` for a name this Plantwatch does not know.
fn stored_kind(type_name: &str) -> Option<ValueKind> {
    type_name.parse().ok()
}

/// True when tags of this stored type name hold text values (kept in `sample_texts`).
pub fn is_text_type(type_name: &str) -> bool {
    stored_kind(type_name) == Some(ValueKind::String)
}

/// True when tags of this stored type name hold booleans (stored as 0/1).
pub fn is_boolean_type(type_name: &str) -> bool {
    stored_kind(type_name).is_some_and(ValueKind::is_boolean)
}

// Quality codes: 0 is good (SQLite stores the integer 0 in no bytes at all, and nearly every sample is
// good). Otherwise level * 4096 + cause * 256 + exception code.
const LEVEL_BAD: i64 = 1;
const LEVEL_UNCERTAIN: i64 = 2;
const CAUSE_NO_CONNECTION: i64 = 1;
const CAUSE_COMM_LOST: i64 = 2;
const CAUSE_CONFIG: i64 = 3;
const CAUSE_STALE: i64 = 4;
const CAUSE_EXCEPTION: i64 = 5;
const CAUSE_NOT_A_NUMBER: i64 = 6;
const CAUSE_BAD_REPLY: i64 = 7;

/// The small integer stored for a quality (below 2^14, so it fits a `u16`).
pub fn quality_code(quality: Quality) -> i64 {
    let (level, cause) = match quality {
        Quality::Good => return 0,
        Quality::Bad(cause) => (LEVEL_BAD, cause),
        Quality::Uncertain(cause) => (LEVEL_UNCERTAIN, cause),
    };
    let cause = match cause {
        Cause::NoConnectionYet => CAUSE_NO_CONNECTION * 256,
        Cause::CommLost => CAUSE_COMM_LOST * 256,
        Cause::Configuration => CAUSE_CONFIG * 256,
        Cause::Stale => CAUSE_STALE * 256,
        Cause::Exception(code) => CAUSE_EXCEPTION * 256 + i64::from(code),
        Cause::NotANumber => CAUSE_NOT_A_NUMBER * 256,
        Cause::BadReply => CAUSE_BAD_REPLY * 256,
    };
    level * 4096 + cause
}

/// The quality behind a stored code; `None` for a code this binary never writes.
pub fn quality_from_code(code: i64) -> Option<Quality> {
    if code == 0 {
        return Some(Quality::Good);
    }
    let cause = match (code / 256) % 16 {
        CAUSE_NO_CONNECTION => Cause::NoConnectionYet,
        CAUSE_COMM_LOST => Cause::CommLost,
        CAUSE_CONFIG => Cause::Configuration,
        CAUSE_STALE => Cause::Stale,
        CAUSE_EXCEPTION => Cause::Exception((code % 256) as u8),
        CAUSE_NOT_A_NUMBER => Cause::NotANumber,
        CAUSE_BAD_REPLY => Cause::BadReply,
        _ => return None,
    };
    match code / 4096 {
        LEVEL_BAD => Some(Quality::Bad(cause)),
        LEVEL_UNCERTAIN => Some(Quality::Uncertain(cause)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quality_round_trips_through_its_code() {
        let mut causes = vec![
            Cause::NoConnectionYet,
            Cause::CommLost,
            Cause::Configuration,
            Cause::Stale,
            Cause::NotANumber,
            Cause::BadReply,
        ];
        causes.extend((0..=255).map(Cause::Exception));
        let mut qualities = vec![Quality::Good];
        for cause in causes {
            qualities.push(Quality::Bad(cause));
            qualities.push(Quality::Uncertain(cause));
        }
        let mut seen = std::collections::HashSet::new();
        for q in qualities {
            let code = quality_code(q);
            assert!(seen.insert(code), "code {code} of {q} is not unique");
            assert_eq!(quality_from_code(code), Some(q), "code {code}");
        }
    }

    #[test]
    fn unknown_codes_are_not_guessed() {
        assert_eq!(quality_from_code(7), None);
        assert_eq!(quality_from_code(3 * 4096 + 256), None);
    }
}
