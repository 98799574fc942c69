//! History written after the fact, on its data's clock: what live collection would have left in the
//! file, without waiting for the years it took.
//!
//! A [`Backfill`] is the writer thread's own state driven from the caller's thread: each
//! [`Backfill::store`] is one commit of the writer, written at the time the caller says it is, followed by
//! the background work an idle writer does between commits (a packing of the log when it is ten minutes
//! old by that clock, a seal when it is 3 h 55 min old, then compaction of what the seal added, retention).
//! So a year fed a minute at a time is sealed every hour of its data and compacted as live collection
//! compacts it, not in one bulk seal. Benchmarks use it to make years of realistic history in minutes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use plantwatch_core::{Plant, Sample, Timestamp};

use crate::writer::{Clock, Counters, WriterThread};
use crate::{HistoryError, WriterStats};

/// Writes samples into a history file as the one writer does, on a clock the caller sets. Holds the
/// file's writer lock like a [`crate::HistoryWriter`], so it never writes beside one.
pub struct Backfill {
    path: PathBuf,
    writer: WriterThread,
    counters: Arc<Counters>,
}

impl Backfill {
    /// Opens (creating if needed) the history file as [`crate::HistoryWriter::open`] does, with the clock
    /// at `now`.
    pub fn open(path: &Path, plant: &Plant, now: Timestamp) -> Result<Backfill, HistoryError> {
        let counters = Arc::new(Counters::default());
        let writer = WriterThread::open(path, plant, Clock::At(now.as_millis()), counters.clone())?;
        let mut backfill = Backfill {
            path: path.to_path_buf(),
            writer,
            counters,
        };
        // What an older writer left unsealed or small is dealt with before the first commit.
        backfill.background_work()?;
        Ok(backfill)
    }

    /// Commits `samples` (in any order; samples of tags outside the plant are counted as dropped) as one
    /// log row written at `now`, then does the background work that is due by then, to the end: a packing
    /// once the log's oldest commit is ten minutes older than `now`, a seal once its oldest row is 3 h 55 min
    /// older, compaction of the chunks it added, retention. `now` should not go back between calls (it never does for a writer).
    pub fn store(&mut self, samples: Vec<Sample>, now: Timestamp) -> Result<(), HistoryError> {
        self.writer.clock = Clock::At(now.as_millis());
        let n = samples.len() as u64;
        self.counters
            .pending
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        let mut batch = samples;
        if let Err(error) = self.writer.store(&mut batch) {
            self.counters.give_up(n);
            return Err(error);
        }
        self.background_work()
    }

    /// Seals everything still in the log and compacts it, as a writer's close followed by the next
    /// writer's first pass would, and releases the file. Returns the counters.
    pub fn close(mut self) -> Result<WriterStats, HistoryError> {
        while self.writer.job.is_some() || self.writer.log_samples > 0 {
            if !self.writer.seal_if_due(true) {
                return Err(self.failed());
            }
        }
        self.background_work()?;
        Ok(self.counters.snapshot())
    }

    /// Background steps until none is due, as an idle writer does them.
    fn background_work(&mut self) -> Result<(), HistoryError> {
        while self.writer.has_background_work()
            || self.writer.seal_due(false)
            || self.writer.pack_due()
        {
            if !self.writer.background_step() {
                return Err(self.failed());
            }
        }
        Ok(())
    }

    /// The error of the step that just failed (the writer thread records it rather than return it).
    fn failed(&self) -> HistoryError {
        HistoryError::WriterStopped {
            path: self.path.clone(),
            reason: self
                .counters
                .snapshot()
                .last_error
                .unwrap_or_else(|| "a background step failed".into()),
        }
    }
}
