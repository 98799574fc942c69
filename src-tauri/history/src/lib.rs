//! History in SQLite: the versioned schema, the store filter (deadband, heartbeat, quality change), the
//! one batching writer, and the read side (streamed range queries, aggregates, thinned trends).
//!
//! # Invariants
//! - One writer per file: [`HistoryWriter`] owns the only write connection, on its own thread. The poll
//!   loop hands it samples through a [`SampleSink`] that never blocks; nothing else writes samples.
//! - Readers ([`HistoryReader`]) open their own read-only connection and never create a file. WAL mode lets
//!   them read while the writer commits.
//! - Every component keeps its tables in the plant's `.db` file through [`schema::migrate`]; a file written
//!   by a newer Plantwatch is refused, never misread.
//!
//! # Storage layout (history schema version 1)
//! - `tags(id INTEGER PRIMARY KEY, full_id TEXT UNIQUE, unit, type)`: tags are keyed by their full id
//!   (`"plc/flow"`), so a history file outlives edits of the config; `type` is the config's type name.
//! - `samples(tag, time, value REAL, quality INTEGER, PRIMARY KEY (tag, time)) WITHOUT ROWID`: one B-tree
//!   ordered by tag then time, so a tag's range is one contiguous scan (exports, trends, aggregates) and
//!   there is no second index to maintain. `time` is UTC milliseconds. `value` holds numbers and booleans
//!   (0/1); SQLite writes whole-number reals as small integers, so counters and booleans take one byte or
//!   none. `quality` is 0 for good (stored in no bytes), otherwise level × 4096 + cause × 256 + exception
//!   code (see `layout`). A sample with no value has a NULL value.
//! - `sample_texts(tag, time, text) WITHOUT ROWID`: values of text tags, apart so the numeric table stays
//!   narrow; the matching `samples` row carries the quality.
//! - `rollups(tag, start, count, not_good, min, max, sum, first, last) WITHOUT ROWID`: one row per tag and
//!   minute (good values only; `not_good` counts the rest), complete below each tag's
//!   `tags.rollup_until` watermark. The writer rolls a minute up when the tag moves to the next minute (from
//!   running totals, or from the samples after a late or replaced sample) and on close; the next writer
//!   rolls up what a killed one left open. Trends over long ranges ([`HistoryReader::thinned`]) read these
//!   instead of every sample (7 days of 1 s samples: 10,080 rows per tag instead of 604,800).
//! - One sample per tag and millisecond: a second sample at the same millisecond replaces the first
//!   (`INSERT OR REPLACE`, the last one sent wins).
//!
//! The layout is open to compression: a later schema step can add a `chunks(tag, start, end, blob)` table
//! of compressed runs per tag, written by the same writer as it seals old time ranges, with the readers
//! reading chunks first and `samples` for the recent, unsealed part.

mod error;
pub mod filter;
pub mod layout;
pub mod reader;
mod rollup;
pub mod schema;
pub mod writer;

#[cfg(test)]
mod tests;

pub use error::HistoryError;
pub use filter::{worth_storing, LastStored};
pub use reader::{
    Aggregate, Bucket, HistoryReader, IntervalValue, SampleQuery, StoredSample, TagInfo,
};
pub use writer::{HistoryWriter, SampleSink, WriterStats};
