//! The one writer: a thread that owns the write connection and turns the samples it receives into a few
//! large transactions.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plantwatch_core::{Plant, Sample};
use rusqlite::{Connection, TransactionBehavior};

use crate::codec::Rec;
use crate::compact::{self, CompactCursor, CompactLimits, CompactScope};
use crate::guard::{self, DiskLevel, Thresholds};
use crate::lock::WriterLock;
use crate::retain::{self, RetainCursor, RetainLimits, RetentionPlan};
use crate::store::{self, ChunkEnds, PackJob, Runs, SealJob};
use crate::{layout, schema, HistoryError};

/// Samples wait at most this long between being sent and their transaction starting, so a `kill -9` loses
/// at most this plus the time of one commit (under a second: a commit of the 1,000-device bench's ~50,000
/// samples takes about 0.2 s). Longer batches mean fewer commits: with many tags nearly every commit
/// rewrites the same B-tree pages, so half-second batches cost about a third less than quarter-second ones.
const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// A batch this large is committed at once instead of waiting for the deadline.
const MAX_BATCH: usize = 100_000;
/// Page cache of the write connection (KiB). Appends to the log need little; sealing touches one leaf of the
/// chunk index per tag. 8 MiB costs no measurable writer CPU against 32 MiB in the million-tag bench and
/// keeps 24 MB out of the collector's resident memory.
const CACHE_KIB: i64 = 8 * 1024;
/// The log's rows of commits are packed into rows of compact runs (`store::pack_step`) when they hold
/// this many samples...
const PACK_SAMPLES: u64 = 30_000_000;
/// ...or when the oldest is this old (UTC ms), whichever comes first. Until packed a polled sample takes
/// about 8 bytes of log, packed 2 to 7 (the more samples a tag has in a packing, the fewer): these bound
/// the plain rows a reader of recent samples scans (a million-tag plant: 5 minutes, 240 MB).
const PACK_AGE_MS: i64 = 10 * 60 * 1000;
/// One packing step (one transaction, between two commits of new samples) packs about this many samples:
/// whole ranges of tag ids while they fit, the oldest rows of a range that does not.
const PACK_STEP_SAMPLES: u64 = 1_000_000;
/// The log is sealed into chunks when it holds this many samples (a million-tag plant storing 95,000
/// samples a second: four and a half hours)...
const SEAL_SAMPLES: u64 = 1_600_000_000;
/// ...or when its oldest row is this old (UTC ms), whichever comes first. Just under a chunk's span
/// (`layout::CHUNK_SPAN_MS`, four hours): each sample is written into a chunk about once. (At the full
/// span the log would hold the span and the commit that made the seal due, a little more than a chunk
/// may: every seal would split each tag's samples into a full chunk and a sliver, a second chunk row per
/// tag per seal that compaction cannot merge.)
///
/// Why four hours (issue 15, disk writes per sample): a seal writes a chunk row per tag and an entry per
/// tag into the chunk index ordered by tag; once a tag's entries fill a page (a few days), each seal
/// rewrites one index page per tag, twice (WAL, then the file): 8 KB per tag per seal. Sealed hourly, a
/// tag of the million-tag bench plant (340 samples an hour) paid 24 bytes a sample for that page alone,
/// 48 with the second index version 8 dropped; sealed every four hours, 6. Sealed every ten minutes
/// (schema 5), the chunk rows and compaction's rewrites of growing chunks were most of the bytes. Longer
/// means more packed log for readers of recent samples to scan (a tag's read decodes a packed row per
/// 10 minutes of log) and a bigger log on the disk until the seal.
const SEAL_AGE_MS: i64 = 4 * 3_600_000 - 5 * 60 * 1000;
/// One sealing step (one transaction, between two commits of new samples) takes about this many samples.
const SEAL_STEP_SAMPLES: u64 = 400_000;
/// One compaction step (one transaction, between two commits of new samples) reads at most this many
/// chunk rows and merges about this many samples (a few tens of milliseconds).
const COMPACT_STEP: CompactLimits = CompactLimits {
    rows: 4096,
    samples: 100_000,
};
/// One retention step (one transaction) looks at most at this many tags and empties or deletes at
/// most this many chunks.
const RETAIN_STEP: RetainLimits = RetainLimits {
    tags: 4096,
    chunks: 2000,
};
/// The disk guard reads the filesystem's free space at most this often (and before each seal step).
const DISK_CHECK_EVERY: Duration = Duration::from_secs(2);
/// While the disk is low the log is sealed once its oldest row is this old (compact chunks take a
/// fraction of the log's bytes)...
const LOW_DISK_SEAL_AGE_MS: i64 = 60 * 1000;
/// ...and below the floor once it is this old, before older raw samples are dropped for its room.
const SHRINKING_SEAL_AGE_MS: i64 = 5 * 1000;
/// One shedding step (one transaction) empties at most this many chunks.
const SHED_STEP_CHUNKS: u32 = 2000;
/// After a failed commit, wait this long before trying the same batch again.
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// Once asked to close, the writer stores what it can for this long, then gives up on the rest (counted
/// as dropped) so a stop always ends: a full disk or a file another process keeps locked must not hold a
/// service past its stop timeout (systemd's is 90 s). A commit already waiting on a lock when the close
/// request comes may take up to the busy timeout (5 s) more; after it, one waits at most
/// `CLOSE_BUSY_TIMEOUT`. A seal left unfinished is finished by the next writer.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);
/// The busy timeout of the write connection while closing.
const CLOSE_BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// The queue between the sinks and the writer holds at most this many samples (about 40 MB)...
const QUEUE_MIN_SAMPLES: usize = 1_000_000;
/// ...or this many per plant tag if that is more (two full scans of a big plant, so a seal step or a
/// slow commit never drops samples of a healthy file).
const QUEUE_SAMPLES_PER_TAG: usize = 2;

/// Counters shared between the writer thread, its sinks and whoever watches them.
pub(crate) struct Counters {
    stored: AtomicU64,
    batches: AtomicU64,
    pub(crate) pending: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    /// The last commit or seal step failed (cleared by the next that succeeds).
    failing: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// The disk guard's view: the level (`DiskLevel as u8`), the free bytes at the last check and the
    /// resolved `min_free` (`u64::MAX`: not checked yet).
    disk_level: AtomicU8,
    disk_free: AtomicU64,
    min_free: AtomicU64,
    /// Raw samples dropped because the disk was below the floor, and the latest end of the chunks they
    /// were in (`i64::MIN`: none).
    shed_samples: AtomicU64,
    shed_until: AtomicI64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            stored: AtomicU64::default(),
            batches: AtomicU64::default(),
            pending: AtomicU64::default(),
            dropped: AtomicU64::default(),
            errors: AtomicU64::default(),
            failing: AtomicBool::default(),
            last_error: Mutex::default(),
            disk_level: AtomicU8::new(DiskLevel::Plenty as u8),
            disk_free: AtomicU64::new(u64::MAX),
            min_free: AtomicU64::new(u64::MAX),
            shed_samples: AtomicU64::default(),
            shed_until: AtomicI64::new(i64::MIN),
        }
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> WriterStats {
        WriterStats {
            stored: self.stored.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            pending: self.pending.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            failing: self.failing.load(Ordering::Relaxed),
            disk_low: self.disk_low(),
            disk_free: Some(self.disk_free.load(Ordering::Relaxed)).filter(|&f| f != u64::MAX),
            min_free: Some(self.min_free.load(Ordering::Relaxed)).filter(|&f| f != u64::MAX),
            shed_samples: self.shed_samples.load(Ordering::Relaxed),
            shed_until: Some(self.shed_until.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN),
        }
    }

    fn disk_low(&self) -> bool {
        self.disk_level.load(Ordering::Relaxed) != DiskLevel::Plenty as u8
    }

    /// Counts samples that were pending as dropped.
    pub(crate) fn give_up(&self, n: u64) {
        self.pending.fetch_sub(n, Ordering::Relaxed);
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    fn record_error(&self, error: &HistoryError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.failing.store(true, Ordering::Relaxed);
        tracing::warn!("{error}");
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_string());
        }
    }
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Samples committed to the database (a sample replaced by a later one at the same millisecond counts).
    pub stored: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Samples handed to a sink and not committed yet (queued, or in the batch being committed).
    pub pending: u64,
    /// Samples that could not be stored: the oldest queued ones pushed out of a full queue (the file
    /// refused commits for long), those still unstored when a close ran out of time, those sent after
    /// close, and those of a tag outside the plant.
    pub dropped: u64,
    /// Failed commits (each retried, except on close after several tries).
    pub errors: u64,
    /// The last error, as text.
    pub last_error: Option<String>,
    /// The file refuses commits right now (the last try failed): samples wait, and drop once the queue
    /// is full.
    pub failing: bool,
    /// The history's filesystem has less free space than `[history] min_free` (and has not been back
    /// above it by a tenth since): the system alarm "history disk low" is raised.
    pub disk_low: bool,
    /// Free bytes on the history's filesystem at the last check (every few seconds); `None` before the
    /// first.
    pub disk_free: Option<u64>,
    /// The `min_free` in force (configured, or the default for the filesystem's size).
    pub min_free: Option<u64>,
    /// Raw samples dropped, oldest first, because free space fell below half of `min_free` (their
    /// chunks' summaries stay).
    pub shed_samples: u64,
    /// Raw samples up to this time (UTC ms) were dropped for disk space.
    pub shed_until: Option<i64>,
}

/// Whether the history disk is low, for whoever raises the alarm; cheap to clone, one atomic load to
/// read.
#[derive(Clone)]
pub struct DiskWatch(Arc<Counters>);

impl DiskWatch {
    /// True while the history's filesystem is below `min_free` (see [`WriterStats::disk_low`]).
    pub fn low(&self) -> bool {
        self.0.disk_low()
    }
}

/// The one writer of a history file. A thread owns the write connection; sinks hand it samples through a
/// bounded queue, so the poll loop never waits on the disk. Samples are batched into one transaction
/// that starts at most half a second after the oldest was sent (at once when 100,000 are waiting), so a
/// `kill -9` loses at most the last second and never corrupts the file (SQLite's WAL journal). Samples of
/// one tag at the same millisecond keep the last one sent (`INSERT OR REPLACE`). It stores every sample it
/// is given: choosing which samples are worth keeping is [`crate::worth_storing`]'s job, before the sink.
///
/// While the file refuses commits (a full disk, another process holding a lock) the writer retries its
/// batch and the queue fills; when it is full the oldest queued samples are dropped and counted, so
/// memory stays bounded. [`HistoryWriter::close`] always returns within about [`CLOSE_WITHIN`], counting
/// what it could not store.
pub struct HistoryWriter {
    path: PathBuf,
    sink: SampleSink,
    counters: Arc<Counters>,
    thread: JoinHandle<()>,
    _close_on_drop: CloseOnDrop,
}

/// Asks the writer thread to close when the [`HistoryWriter`] is dropped without [`HistoryWriter::close`]
/// (an error path): otherwise the thread would wait for samples forever, holding the file's lock.
struct CloseOnDrop(Arc<Queue>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.ask_close();
    }
}

/// How a writer runs beyond its file and plant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterOptions {
    /// The most samples the queue between sinks and writer holds; `None`: the larger of a million and
    /// two per plant tag. (While a commit keeps failing, the writer's own batch holds up to 100,000
    /// more.)
    pub queue_samples: Option<usize>,
}

/// Where samples go to be stored. Cheap to clone, shareable between threads; `send` never blocks on
/// the disk.
#[derive(Clone)]
pub struct SampleSink {
    queue: Arc<Queue>,
    counters: Arc<Counters>,
}

impl SampleSink {
    /// Queues samples for the writer. Never waits on the disk; when the queue is full the oldest queued
    /// samples are dropped (and counted), and after the writer has closed the samples are counted as
    /// dropped.
    pub fn send(&self, samples: Vec<Sample>) {
        self.queue.push(samples, &self.counters);
    }
}

/// The samples sent and not yet taken by the writer thread, oldest first, and whether the writer was
/// asked to close.
struct Queue {
    state: Mutex<QueueState>,
    /// Signalled when samples arrive or close is asked.
    changed: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct QueueState {
    /// Samples and when they were sent (the commit deadline counts from the oldest waiting).
    messages: VecDeque<(Vec<Sample>, Instant)>,
    samples: usize,
    /// Close was asked: the writer stores what is queued and stops.
    closing: bool,
    /// The writer thread has ended: sends are dropped.
    closed: bool,
}

/// How long [`Queue::pop`] waits for samples.
#[derive(Clone, Copy)]
enum Wait {
    /// Until samples arrive or close is asked.
    Forever,
    /// Until this instant at the latest.
    Until(Instant),
}

/// What [`Queue::pop`] found.
enum Popped {
    Samples(Vec<Sample>, Instant),
    /// Nothing queued, and close was asked.
    Closing,
    /// Nothing queued before the wait ended.
    Nothing,
}

impl Queue {
    fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(QueueState::default()),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, samples: Vec<Sample>, counters: &Counters) {
        let n = samples.len();
        if n == 0 {
            return;
        }
        let mut state = self.lock();
        if state.closed {
            counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
        counters.pending.fetch_add(n as u64, Ordering::Relaxed);
        state.messages.push_back((samples, Instant::now()));
        state.samples += n;
        // Full: the file has refused commits for long. The oldest unsent samples go first: when it comes
        // back, the newest are what the operator needs.
        while state.samples > self.capacity {
            let Some((oldest, _)) = state.messages.pop_front() else {
                break;
            };
            state.samples -= oldest.len();
            counters.give_up(oldest.len() as u64);
        }
        drop(state);
        self.changed.notify_one();
    }

    /// Takes the oldest queued samples, waiting as `wait` says when there are none.
    fn pop(&self, wait: Wait) -> Popped {
        let mut state = self.lock();
        loop {
            if let Some((samples, sent)) = state.messages.pop_front() {
                state.samples -= samples.len();
                return Popped::Samples(samples, sent);
            }
            if state.closing {
                return Popped::Closing;
            }
            state = match wait {
                Wait::Forever => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Wait::Until(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return Popped::Nothing;
                    };
                    self.changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }

    fn ask_close(&self) {
        self.lock().closing = true;
        self.changed.notify_all();
    }

    fn closing(&self) -> bool {
        self.lock().closing
    }

    /// Sleeps for `pause`, or less when close is asked meanwhile.
    fn pause_unless_closing(&self, pause: Duration) {
        let deadline = Instant::now() + pause;
        let mut state = self.lock();
        while !state.closing {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Marks the writer gone and takes what is still queued (later sends are dropped at once).
    fn finish(&self) -> u64 {
        let mut state = self.lock();
        state.closed = true;
        state.closing = true;
        let left = state.samples as u64;
        state.messages.clear();
        state.samples = 0;
        left
    }
}

impl HistoryWriter {
    /// Opens (creating if needed) the history file, brings its schema up to date (refusing one written
    /// by a newer Plantwatch), registers the plant's tags by full id and starts the writer thread.
    pub fn open(path: &Path, plant: &Plant) -> Result<HistoryWriter, HistoryError> {
        HistoryWriter::open_with(path, plant, WriterOptions::default())
    }

    /// [`HistoryWriter::open`] with options.
    pub fn open_with(
        path: &Path,
        plant: &Plant,
        options: WriterOptions,
    ) -> Result<HistoryWriter, HistoryError> {
        let counters = Arc::new(Counters::default());
        let thread_state = WriterThread::open(path, plant, Clock::System, counters.clone())?;
        let capacity = options.queue_samples.unwrap_or_else(|| {
            QUEUE_MIN_SAMPLES.max(plant.tag_count().saturating_mul(QUEUE_SAMPLES_PER_TAG))
        });
        let queue = Arc::new(Queue::new(capacity));
        let thread = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn({
                let queue = queue.clone();
                move || thread_state.run(&queue)
            })
            .map_err(|e| HistoryError::WriterStopped {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(HistoryWriter {
            path: path.to_path_buf(),
            _close_on_drop: CloseOnDrop(queue.clone()),
            sink: SampleSink {
                queue,
                counters: counters.clone(),
            },
            counters,
            thread,
        })
    }

    /// A sink for samples; clone it freely.
    pub fn sink(&self) -> SampleSink {
        self.sink.clone()
    }

    /// Whether the history disk is low, for the alarm service.
    pub fn disk_watch(&self) -> DiskWatch {
        DiskWatch(self.counters.clone())
    }

    /// The writer's counters right now.
    pub fn stats(&self) -> WriterStats {
        self.counters.snapshot()
    }

    /// Stores everything sent so far, stops the thread and returns the final counters. Returns within
    /// about [`CLOSE_WITHIN`] whatever the file does: samples it could not store by then are counted as
    /// dropped (`pending` is 0 afterwards). Samples sent through remaining sinks afterwards are dropped
    /// (and counted).
    pub fn close(self) -> Result<WriterStats, HistoryError> {
        // The thread may already be gone (it panicked); joining tells.
        self.sink.queue.ask_close();
        if self.thread.join().is_err() {
            return Err(HistoryError::WriterStopped {
                path: self.path,
                reason: "the writer thread panicked".into(),
            });
        }
        Ok(self.counters.snapshot())
    }
}

/// Makes sure every plant tag has a row in `tags` (updating unit and type to the current config) and
/// returns the database id of each, by plant tag index (a rowid: a file with four billion tags is refused
/// here rather than misfiled).
fn register_tags(conn: &Connection, plant: &Plant) -> Result<TagIds, rusqlite::Error> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let mut slots = TagIds::default();
    {
        let mut upsert = tx.prepare(
            "INSERT INTO tags (full_id, unit, type) VALUES (?1, ?2, ?3)
             ON CONFLICT (full_id) DO UPDATE SET unit = excluded.unit, type = excluded.type
             RETURNING id",
        )?;
        for (_, device, tag) in plant.tags() {
            let full_id = format!("{}/{}", device.id, tag.id());
            let type_name = tag.value_type.name();
            let id: u32 = upsert.query_row((&full_id, tag.unit(), type_name), |row| row.get(0))?;
            slots.push(id);
        }
    }
    tx.commit()?;
    Ok(slots)
}

/// Each plant tag's id in the `tags` table, by plant tag index, as runs of consecutive ids: a file
/// written for this plant in config order is one run (a few bytes instead of 4 MB for a million tags);
/// any order works, each break costing one run.
#[derive(Debug, Default)]
struct TagIds {
    /// (first plant index, its id) of each run, by index.
    runs: Vec<(u32, u32)>,
    len: u32,
}

impl TagIds {
    /// Adds the id of the next plant tag.
    fn push(&mut self, id: u32) {
        let continues = self.runs.last().is_some_and(|&(start, first)| {
            u64::from(first) + u64::from(self.len - start) == u64::from(id)
        });
        if !continues {
            self.runs.push((self.len, id));
        }
        self.len += 1;
    }

    /// The id of the plant tag at `index`, if the plant has one.
    fn get(&self, index: u32) -> Option<u32> {
        if index >= self.len {
            return None;
        }
        let run = self
            .runs
            .partition_point(|&(start, _)| start <= index)
            .checked_sub(1)?;
        let (start, first) = self.runs[run];
        Some(first + (index - start))
    }
}

/// The state the writer thread owns.
pub(crate) struct WriterThread {
    path: PathBuf,
    conn: Connection,
    /// Each plant tag's id in `tags`, by plant tag index.
    tags: TagIds,
    /// Samples in the log, and when its oldest row was written (UTC ms).
    pub(crate) log_samples: u64,
    log_oldest: Option<i64>,
    /// The same of the log's rows not packed yet.
    plain_samples: u64,
    plain_oldest: Option<i64>,
    /// The packing in progress (never beside a seal).
    pack: Option<PackJob>,
    /// The seal in progress.
    pub(crate) job: Option<SealJob>,
    /// The compaction pass in progress: started when the writer opens (over every chunk) and after each
    /// seal (over the tags with chunks since the last pass that ended), it runs between commits while no
    /// seal does.
    compaction: Option<CompactionPass>,
    /// Chunks with ids up to this were looked at by a pass that ended.
    compacted_upto: Option<i64>,
    /// How long history is kept.
    retention: RetentionPlan,
    /// The retention pass in progress: started when the writer opens and after each seal (when the
    /// plant drops anything), it runs before compaction.
    retain: Option<RetainCursor>,
    /// The clock of the last retention pass that ended.
    retained_at: Option<i64>,
    /// The disk guard's state.
    disk: DiskGuard,
    ends: ChunkEnds,
    counters: Arc<Counters>,
    /// What the writer takes for now.
    pub(crate) clock: Clock,
    /// Held until the thread has stored its last sample and ends.
    _lock: WriterLock,
}

/// Where the disk guard stands (see `guard`).
struct DiskGuard {
    /// `min_free` as configured (bytes); `None`: the default for the filesystem.
    configured: Option<u64>,
    /// Resolved at the first check, once the filesystem's size is known.
    thresholds: Option<Thresholds>,
    level: DiskLevel,
    next_check: Instant,
}

/// A compaction pass: what it looks at, how far it got, and the highest chunk id when it started.
struct CompactionPass {
    scope: CompactScope,
    cursor: CompactCursor,
    base: i64,
}

/// What the writer takes for "now": the time a log row is written at, which says when the log is old
/// enough to seal, and retention's present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// The system's clock (live collection).
    System,
    /// A time the caller sets (UTC ms): a backfill writes on its data's clock (see [`crate::Backfill`]).
    At(i64),
}

impl Clock {
    pub(crate) fn now(self) -> i64 {
        match self {
            Clock::System => plantwatch_core::Timestamp::now().as_millis(),
            Clock::At(ms) => ms,
        }
    }
}

impl WriterThread {
    /// Takes the file's lock, opens the write connection, brings the schema up to date, registers the
    /// plant's tags and reads where the log, a seal and compaction stand: everything a writer does before
    /// its first commit.
    pub(crate) fn open(
        path: &Path,
        plant: &Plant,
        clock: Clock,
        counters: Arc<Counters>,
    ) -> Result<WriterThread, HistoryError> {
        // Before anything is written: a second writer of the file is refused here.
        let lock = WriterLock::acquire(path)?;
        let conn = schema::open_connection(path)?;
        schema::migrate(&conn, layout::COMPONENT, layout::STEPS).map_err(|source| {
            HistoryError::Schema {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let sql_err = |what| {
            move |source| HistoryError::Sql {
                path: path.to_path_buf(),
                what,
                source,
            }
        };
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(sql_err("setting the page cache"))?;
        store::convert_version_1(&conn).map_err(sql_err("converting version 1 samples"))?;
        let tags = register_tags(&conn, plant).map_err(sql_err("registering tags"))?;
        let store::LogState {
            all: (log_samples, log_oldest),
            plain: (plain_samples, plain_oldest),
        } = store::log_state(&conn).map_err(sql_err("reading the log"))?;
        let job = store::unfinished_seal(&conn).map_err(sql_err("reading the seal progress"))?;
        // A seal in progress takes every row a packing left (see `store::start_seal`).
        let pack = match job {
            Some(_) => None,
            None => store::unfinished_pack(&conn).map_err(sql_err("reading the pack progress"))?,
        };
        let last_chunk = compact::last_chunk_id(&conn).map_err(sql_err("reading the chunks"))?;
        let retention = RetentionPlan::new(
            plant.retention.keep,
            plant.retention.keep_summaries,
            plant
                .tags()
                .filter_map(|(index, _, tag)| Some((tags.get(index.0)?, tag.keep()?))),
        );

        Ok(WriterThread {
            path: path.to_path_buf(),
            conn,
            tags,
            log_samples,
            log_oldest,
            plain_samples,
            plain_oldest,
            pack,
            job,
            // Chunks an older writer left small (or an older Plantwatch) are merged from the start.
            compaction: Some(CompactionPass {
                scope: CompactScope::All,
                cursor: CompactCursor::START,
                base: last_chunk,
            }),
            compacted_upto: None,
            retain: (!retention.keeps_everything()).then(|| RetainCursor::start(clock.now(), None)),
            retained_at: None,
            retention,
            disk: DiskGuard {
                // The plant's `[history] min_free`; none: 2 GB or a tenth of the filesystem.
                configured: plant.retention.min_free.map(|size| size.bytes()),
                thresholds: None,
                level: DiskLevel::Plenty,
                next_check: Instant::now(),
            },
            ends: ChunkEnds::default(),
            counters,
            clock,
            _lock: lock,
        })
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    fn run(mut self, queue: &Queue) {
        let mut batch: Vec<Sample> = Vec::new();
        // When the oldest sample of `batch` was sent (kept across a failed commit).
        let mut oldest = Instant::now();
        // Set when close is asked: stop trying to store at this instant.
        let mut close_by: Option<Instant> = None;
        loop {
            if close_by.is_none() && queue.closing() {
                close_by = Some(Instant::now() + CLOSE_WITHIN);
                // A file another process keeps locked must not hold each try for the full timeout.
                let _ = self.conn.busy_timeout(CLOSE_BUSY_TIMEOUT);
            }
            if close_by.is_some_and(|by| Instant::now() >= by) {
                break;
            }
            if close_by.is_none() {
                self.guard_step();
            }
            if batch.is_empty() {
                // With background work to do, only look at the queue; otherwise wait for samples, or
                // for the next look at the disk.
                let wait = if close_by.is_none() && self.has_background_work() {
                    Wait::Until(Instant::now())
                } else if close_by.is_none() {
                    Wait::Until(self.disk.next_check)
                } else {
                    Wait::Forever
                };
                match queue.pop(wait) {
                    Popped::Samples(samples, sent) => (batch, oldest) = (samples, sent),
                    Popped::Closing => break,
                    Popped::Nothing => {
                        if !self.background_step() {
                            queue.pause_unless_closing(RETRY_AFTER);
                        }
                        continue;
                    }
                }
            }
            // Gather until the deadline of the oldest waiting sample or a full batch; when closing, or
            // behind (the last commit was slow), only what is queued already, so a backlog is stored in
            // a few large transactions rather than one small one per message.
            let deadline = oldest + COMMIT_EVERY;
            while batch.len() < MAX_BATCH {
                let wait = if queue.closing() {
                    Wait::Until(Instant::now())
                } else {
                    Wait::Until(deadline)
                };
                match queue.pop(wait) {
                    Popped::Samples(mut samples, _) => batch.append(&mut samples),
                    Popped::Closing | Popped::Nothing => break,
                }
            }
            match self.store(&mut batch) {
                Ok(()) => {
                    if close_by.is_none() {
                        self.background_step();
                    }
                }
                Err(error) => {
                    self.counters.record_error(&error);
                    // The batch is kept and tried again; the queue meanwhile is bounded (see `push`).
                    if close_by.is_none() {
                        queue.pause_unless_closing(RETRY_AFTER);
                    } else {
                        std::thread::sleep(RETRY_AFTER.min(CLOSE_BUSY_TIMEOUT));
                    }
                }
            }
        }
        // A graceful stop leaves the file compact (everything in chunks, the log empty) if time allows;
        // an unfinished seal is finished by the next writer.
        let close_by = close_by.unwrap_or_else(|| Instant::now() + CLOSE_WITHIN);
        while (self.job.is_some() || self.log_samples > 0) && Instant::now() < close_by {
            if !self.seal_if_due(true) {
                std::thread::sleep(RETRY_AFTER);
            }
        }
        // What could not be stored in time, and what raced with close into the queue.
        let left = batch.len() as u64 + queue.finish();
        self.counters.give_up(left);
        if left > 0 {
            tracing::warn!(
                "history file {}: {left} samples could not be stored before close",
                self.path.display()
            );
        }
    }

    /// Writes `batch` as one log row in one transaction and empties it; on failure the batch is kept for
    /// a retry.
    pub(crate) fn store(&mut self, batch: &mut Vec<Sample>) -> Result<(), HistoryError> {
        let n = batch.len() as u64;
        let (runs, known) = self.runs(batch);
        let in_runs = runs.len() as u64;
        let written = self.now();
        let commit = || -> rusqlite::Result<()> {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            store::append_log(&tx, written, &runs)?;
            tx.commit()
        };
        commit().map_err(|source| HistoryError::Sql {
            path: self.path.clone(),
            what: "storing samples",
            source,
        })?;
        self.log_samples += in_runs;
        self.log_oldest.get_or_insert(written);
        self.plain_samples += in_runs;
        self.plain_oldest.get_or_insert(written);
        batch.clear();
        let c = &self.counters;
        c.pending.fetch_sub(n, Ordering::Relaxed);
        // A sample replaced by a later one at the same millisecond counts as stored.
        c.stored.fetch_add(known, Ordering::Relaxed);
        c.dropped.fetch_add(n - known, Ordering::Relaxed);
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.failing.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// The batch as runs by tag id (ascending), each sorted by time with the last sample at a millisecond
    /// kept, and how many samples are of plant tags. Samples of tags outside the plant are left out (the
    /// caller counts them as dropped).
    fn runs(&self, batch: &[Sample]) -> (Runs, u64) {
        // (id, time, place in the batch): sorting these rather than the samples moves 16 bytes instead
        // of 40, and of two samples at the same millisecond the later-sent one comes last and wins.
        let mut order: Vec<(u32, i64, u32)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((self.tags.get(s.tag.0)?, s.time.0, i as u32)))
            .collect();
        order.sort_unstable();
        let mut runs = Runs::default();
        for &(id, _, i) in &order {
            runs.push(id, Rec::of(&batch[i as usize]));
        }
        (runs, order.len() as u64)
    }

    /// True when a packing, a seal, a retention pass or a compaction pass is in progress.
    pub(crate) fn has_background_work(&self) -> bool {
        self.pack.is_some()
            || self.job.is_some()
            || self.retain.is_some()
            || self.compaction.is_some()
    }

    /// One step of background work between commits: a packing step when a packing is in progress or
    /// due (and no seal is in progress), otherwise a seal step when a seal is due or in progress,
    /// otherwise a retention step, otherwise a compaction step. Returns false when its transaction
    /// failed.
    pub(crate) fn background_step(&mut self) -> bool {
        if self.pack.is_some() || (self.job.is_none() && self.pack_due()) {
            return self.pack_step();
        }
        let sealing = self.job.is_some() || self.seal_due(false);
        if sealing || (self.retain.is_none() && self.compaction.is_none()) {
            return self.seal_if_due(false);
        }
        if self.retain.is_some() {
            return self.retain_step();
        }
        self.compact_step()
    }

    /// The log's rows not packed yet are many or old enough to pack.
    pub(crate) fn pack_due(&self) -> bool {
        self.plain_samples >= PACK_SAMPLES
            || self
                .plain_oldest
                .is_some_and(|t| self.now() - t >= PACK_AGE_MS)
    }

    /// Starts a packing when none is in progress and does one step of it in its own transaction.
    /// Returns false when that transaction failed (the packing starts again when next due: a step
    /// leaves the log whole either way).
    fn pack_step(&mut self) -> bool {
        let step = || -> rusqlite::Result<Option<PackJob>> {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let job = match self.pack {
                Some(job) => job,
                None => match store::start_pack(&tx)? {
                    Some(job) => job,
                    None => return Ok(None),
                },
            };
            let left = store::pack_step(&tx, job, PACK_STEP_SAMPLES)?;
            tx.commit()?;
            Ok(left)
        };
        match step() {
            Ok(left) => {
                self.pack = left;
                if left.is_none() {
                    self.refresh_log_state();
                }
                true
            }
            Err(source) => {
                self.pack = None;
                self.refresh_log_state();
                self.counters.record_error(&HistoryError::Sql {
                    path: self.path.clone(),
                    what: "packing the log",
                    source,
                });
                false
            }
        }
    }

    /// One retention step in its own transaction. Returns false when that transaction failed (the pass
    /// resumes where it stood).
    fn retain_step(&mut self) -> bool {
        let Some(cursor) = self.retain else {
            return true;
        };
        let step = || -> rusqlite::Result<Option<RetainCursor>> {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let (next, _) = retain::retain_step(&tx, &self.retention, cursor, RETAIN_STEP)?;
            tx.commit()?;
            Ok(next)
        };
        match step() {
            Ok(next) => {
                self.retain = next;
                if next.is_none() {
                    self.retained_at = Some(cursor.now());
                }
                true
            }
            Err(source) => {
                self.counters.record_error(&HistoryError::Sql {
                    path: self.path.clone(),
                    what: "dropping history older than its keep",
                    source,
                });
                false
            }
        }
    }

    /// One compaction step in its own transaction. Returns false when that transaction failed: the pass
    /// is given up then (a damaged chunk would fail it every time), and the next seal starts another.
    fn compact_step(&mut self) -> bool {
        let Some(pass) = &self.compaction else {
            return true;
        };
        let step = || -> rusqlite::Result<Option<CompactCursor>> {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let (next, _) = compact::compact_step(&tx, &pass.scope, pass.cursor, COMPACT_STEP)?;
            tx.commit()?;
            Ok(next)
        };
        match step() {
            Ok(Some(next)) => {
                if let Some(pass) = &mut self.compaction {
                    pass.cursor = next;
                }
                true
            }
            Ok(None) => {
                self.compacted_upto = Some(pass.base);
                self.compaction = None;
                true
            }
            Err(source) => {
                self.compaction = None;
                self.counters.record_error(&HistoryError::Sql {
                    path: self.path.clone(),
                    what: "compacting chunks",
                    source,
                });
                false
            }
        }
    }

    /// Starts a compaction pass over the tags with chunks written since the last pass that ended (every
    /// chunk when none has), replacing a pass in progress (the new one covers what it had left).
    fn start_compaction(&mut self) {
        let start = || -> rusqlite::Result<CompactionPass> {
            let base = compact::last_chunk_id(&self.conn)?;
            let scope = match self.compacted_upto {
                Some(id) => CompactScope::since(&self.conn, id)?,
                None => CompactScope::All,
            };
            Ok(CompactionPass {
                scope,
                cursor: CompactCursor::START,
                base,
            })
        };
        match start() {
            Ok(pass) => self.compaction = Some(pass),
            Err(source) => {
                self.compaction = None;
                self.counters.record_error(&HistoryError::Sql {
                    path: self.path.clone(),
                    what: "finding chunks to compact",
                    source,
                });
            }
        }
    }

    /// A seal is due: the log is big or old enough, or (`all`: the writer is closing) holds anything.
    /// A low disk seals sooner (see `LOW_DISK_SEAL_AGE_MS`).
    pub(crate) fn seal_due(&self, all: bool) -> bool {
        let age = match self.disk.level {
            DiskLevel::Plenty => SEAL_AGE_MS,
            DiskLevel::Low => LOW_DISK_SEAL_AGE_MS,
            DiskLevel::Shrinking => SHRINKING_SEAL_AGE_MS,
        };
        self.log_samples >= SEAL_SAMPLES
            || self.log_oldest.is_some_and(|t| self.now() - t >= age)
            || (all && self.log_samples > 0)
    }

    /// Looks at the disk when due (or `now`), logs a change of level and publishes it.
    fn check_disk(&mut self, now: bool) {
        let at = Instant::now();
        if !now && at < self.disk.next_check {
            return;
        }
        self.disk.next_check = at + DISK_CHECK_EVERY;
        let space = match guard::disk_space(&self.path) {
            Ok(space) => space,
            Err(e) => {
                // Not knowing is no reason to raise the alarm or drop anything; say so once a check.
                tracing::debug!(
                    "history file {}: cannot read the free space: {e}",
                    self.path.display()
                );
                return;
            }
        };
        let thresholds = *self
            .disk
            .thresholds
            .get_or_insert_with(|| Thresholds::new(self.disk.configured, space.total));
        let was = self.disk.level;
        let level = thresholds.level(space.free, was);
        let c = &self.counters;
        c.disk_free.store(space.free, Ordering::Relaxed);
        c.min_free.store(thresholds.min_free, Ordering::Relaxed);
        c.disk_level.store(level as u8, Ordering::Relaxed);
        self.disk.level = level;
        if level == was {
            return;
        }
        let (free, min_free) = (
            plantwatch_core::ByteSize(space.free),
            plantwatch_core::ByteSize(thresholds.min_free),
        );
        match level {
            DiskLevel::Plenty => tracing::info!(
                "history disk no longer low: {free} free for {} (min_free {min_free})",
                self.path.display()
            ),
            DiskLevel::Low => tracing::warn!(
                "history disk low: {free} free for {} (min_free {min_free}); the log is sealed early",
                self.path.display()
            ),
            DiskLevel::Shrinking => tracing::warn!(
                "history disk below half of min_free: {free} free for {} (min_free {min_free}); \
                 the oldest raw samples are dropped as new ones need the room",
                self.path.display()
            ),
        }
    }

    /// The disk guard's turn: looks at the disk when due and, below the floor with the file's free
    /// pages used up, drops the oldest raw samples in one bounded step of its own transaction.
    fn guard_step(&mut self) {
        self.check_disk(false);
        let Some(thresholds) = self.disk.thresholds else {
            return;
        };
        if self.disk.level != DiskLevel::Shrinking {
            return;
        }
        let step = || -> rusqlite::Result<Option<guard::Shed>> {
            let (file, room) = guard::file_pages(&self.conn)?;
            let reserve = thresholds.reserve(file);
            if room >= reserve {
                return Ok(None);
            }
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let shed = guard::shed_step(&tx, reserve - room, SHED_STEP_CHUNKS)?;
            tx.commit()?;
            Ok(Some(shed))
        };
        match step() {
            Ok(Some(shed)) if shed.chunks > 0 => {
                let c = &self.counters;
                c.shed_samples.fetch_add(shed.samples, Ordering::Relaxed);
                if let Some(until) = shed.until {
                    c.shed_until.fetch_max(until, Ordering::Relaxed);
                }
                let time = |t: Option<i64>| {
                    t.map(|t| plantwatch_core::Timestamp(t).to_string())
                        .unwrap_or_default()
                };
                tracing::warn!(
                    "history disk below half of min_free: dropped {} raw samples from {} to {} \
                     ({} chunks, {}; their summaries stay)",
                    shed.samples,
                    time(shed.from),
                    time(shed.until),
                    shed.chunks,
                    plantwatch_core::ByteSize(shed.bytes)
                );
            }
            Ok(_) => {}
            Err(source) => self.counters.record_error(&HistoryError::Sql {
                path: self.path.clone(),
                what: "dropping the oldest raw samples for disk space",
                source,
            }),
        }
    }

    /// Starts a seal when the log is big or old enough (or `all`: the writer is closing), and does one
    /// step of the seal in progress in its own transaction. Returns false when that transaction failed.
    pub(crate) fn seal_if_due(&mut self, all: bool) -> bool {
        if self.job.is_none() && !self.seal_due(all) {
            return true;
        }
        // A seal step writes hundreds of thousands of samples: look at the disk first.
        self.check_disk(true);
        let mut step = || -> rusqlite::Result<Option<SealJob>> {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let job = match self.job {
                Some(job) => job,
                None => match store::start_seal(&tx)? {
                    Some(job) => job,
                    None => return Ok(None),
                },
            };
            let left = store::seal_step(&tx, job, SEAL_STEP_SAMPLES, &mut self.ends)?;
            tx.commit()?;
            Ok(left)
        };
        match step() {
            Ok(left) => {
                self.job = left;
                // Starting, the seal took the rows of a packing in progress and ended it.
                self.pack = None;
                if left.is_none() {
                    self.refresh_log_state();
                    // The seal added chunks, small ones at the end of each tag's: merge them.
                    self.start_compaction();
                    if !self.retention.keeps_everything() && self.retain.is_none() {
                        self.retain = Some(RetainCursor::start(self.now(), self.retained_at));
                    }
                }
                true
            }
            Err(source) => {
                // Rolled back: what the writer remembers of chunk ends may be ahead of the file.
                self.ends.forget();
                self.counters.record_error(&HistoryError::Sql {
                    path: self.path.clone(),
                    what: "sealing the log into chunks",
                    source,
                });
                false
            }
        }
    }

    fn refresh_log_state(&mut self) {
        match store::log_state(&self.conn) {
            Ok(state) => {
                (self.log_samples, self.log_oldest) = state.all;
                (self.plain_samples, self.plain_oldest) = state.plain;
            }
            Err(source) => self.counters.record_error(&HistoryError::Sql {
                path: self.path.clone(),
                what: "reading the log",
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TagIds;

    #[test]
    fn tag_ids_in_config_order_are_one_run_and_any_order_reads_back() {
        let mut ids = TagIds::default();
        for id in 1..=1000 {
            ids.push(id);
        }
        assert_eq!(ids.runs.len(), 1, "a file written for this plant");
        assert_eq!(
            (ids.get(0), ids.get(999), ids.get(1000)),
            (Some(1), Some(1000), None)
        );

        let shuffled = [7u32, 8, 9, 3, 4, 100, 2, 1, u32::MAX];
        let mut ids = TagIds::default();
        for &id in &shuffled {
            ids.push(id);
        }
        assert_eq!(ids.runs.len(), 6);
        let back: Vec<Option<u32>> = (0..=shuffled.len() as u32).map(|i| ids.get(i)).collect();
        let mut expected: Vec<Option<u32>> = shuffled.iter().map(|&id| Some(id)).collect();
        expected.push(None);
        assert_eq!(back, expected);
    }
}
