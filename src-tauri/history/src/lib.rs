//! History in SQLite: the versioned schema, the store filter (deadband, heartbeat, quality change), the
//! one batching writer, and the read side (streamed range queries, aggregates, thinned trends).
//!
//! # Invariants
//! - One writer per file: [`HistoryWriter`] owns the only write connection, on its own thread. The poll
//!   loop hands it samples through a [`SampleSink`] that never blocks; nothing else writes samples. A
//!   second writer, in this process or another, is refused by the lock file beside the database
//!   (`lock`), naming the holder.
//! - Readers ([`HistoryReader`]) open their own read-only connection and never create a file (a file of an
//!   older Plantwatch is upgraded once, as a writer would). WAL mode lets them read while the writer
//!   commits; each query reads one snapshot.
//! - Every component keeps its tables in the plant's `.db` file through [`schema::migrate`]; a file written
//!   by a newer Plantwatch is refused, never misread.
//!
//! # Storage layout (history schema version 10; see `store` for the why)
//! - `tags(id INTEGER PRIMARY KEY, full_id TEXT UNIQUE, unit, type)`: tags are keyed by their full id
//!   (`"plc/flow"`), so a history file outlives edits of the config; `type` is the config's type name.
//! - `log(seq, written, first_tag, last_tag, samples, packed, first_time, last_time)` with `log_data(seq, data)`: each commit of
//!   the writer appends one row per range of 16,384 tag ids it has samples of, a blob of those samples
//!   as a stream in tag order (`codec::stream`: a tag's step, the time when it changes and the value,
//!   about 4 bytes a polled register; blobs of schema 6 to 8 hold dense runs behind a directory, about 8). Appending is
//!   sequential however many tags there are; a `kill -9` loses at most the commit in progress. Sealing a
//!   range of tags and reading a few tags read only the blobs of the rows that hold them. Every 10
//!   minutes or 30 million samples the writer packs the commits' rows, range by range, into a few rows
//!   of compact runs (`packed = 1`) that take the places (`seq`) of the latest rows they replace, so they
//!   merge with newer rows as before. `first_time`/`last_time` bound the row's sample times (version 10;
//!   NULL in older rows), so a read of a span skips the rows outside it.
//! - `chunks(tag, start, end, count, not_good, min, max, sum, first, last, data)`, one per tag and
//!   `start`: the writer seals the log into one compact run per tag (`codec`: columns of times
//!   against the usual interval, numbers as a decimal scale's integer differences; under a byte a
//!   polled sample; chunks of schema 3 hold plain runs, read as before), at most four hours and 8,192
//!   samples long, with the summary of its good numbers so trends over months read one row per chunk
//!   (from the index `chunk_summaries`, which holds the summaries without the data). Sealing starts when the
//!   log holds 1.6 billion samples or is 3 h 55 min old, and on close (so each sample is written into a
//!   chunk about once, and a tag's index page about every four hours: issue 15); it runs tag range by tag range in
//!   transactions of about 400,000 samples between commits of new samples (`seal_progress` says how far
//!   it got), so neither readers nor new samples wait for it.
//! - Compaction (`compact`): between commits, with no seal in progress, the writer merges a tag's adjacent
//!   chunks that fit in one (seals apart, chunks of older files), a step of a few thousand rows
//!   and about 100,000 samples per transaction, on open (every chunk) and after each seal (the tags it
//!   sealed).
//! - Retention (`retain`): a chunk older than its tag's `keep` has its `data` emptied (a zero-length blob:
//!   no samples) and keeps its summary row until `keep_summaries`; such chunks are never merged, and
//!   trends read their summaries. Steps as above; freed pages are reused by SQLite.
//! - Values: numbers, and booleans as 0/1, as 8-byte floats; texts as UTF-8; a sample without a value
//!   has none. Quality 0 is good, otherwise level × 4096 + cause × 256 + exception code (`layout`).
//! - One sample per tag and millisecond: a later sample at the same millisecond replaces the earlier
//!   one (the last one sent wins), in the log, across log rows, and against chunks.
//! - Version 4 changed no table: it marks that chunks may hold compact runs, so an older Plantwatch
//!   refuses the file instead of reading those chunks as empty; a reader reads a version 3 file as it is.
//!   Version 5 added the index `chunk_summaries`; a reader reads a version 3 or 4 file without it.
//!   Version 6 added `log.packed`, which only the writer reads; the log rows of older files (8-byte
//!   directory entries, plain runs) read as they are. Version 7 marks parted chunks. Version 8 dropped the
//!   index `chunks_by_tag` (`chunk_summaries` begins with the same columns) and lets chunks span four
//!   hours; older chunks, at most an hour, read as they are. Version 10 added the log rows' time spans;
//!   a reader reads an older file without them.
//! - A version 1 file (samples in a `samples` B-tree ordered by tag and time, per-minute `rollups`) is
//!   converted into chunks by the first writer or reader that opens it; a version 2 file's log rows
//!   (one blob per commit) become rows of every tag id.

mod backfill;
pub mod codec;
mod compact;
mod error;
pub mod filter;
mod guard;
pub mod layout;
mod lock;
mod log_walk;
pub mod reader;
mod retain;
pub mod schema;
mod store;
pub mod sweep;
pub mod writer;

#[cfg(test)]
mod tests;

pub use backfill::Backfill;
pub use error::HistoryError;
pub use filter::{worth_storing, LastStored};
pub use lock::lock_path;
pub use reader::{
    Aggregate, Bucket, HistoryReader, IntervalValue, SampleQuery, StoredSample, TagInfo,
};
pub use sweep::{SweepMark, SweepResume, Swept};
pub use writer::{DiskWatch, HistoryWriter, SampleSink, WriterOptions, WriterStats};
