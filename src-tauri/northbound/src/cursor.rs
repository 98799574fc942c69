//! Store-and-forward bookkeeping: what each broker has acknowledged, durably, and the arithmetic that
//! moves it forward.
//!
//! **The cursor's guarantee.** The cursor of a broker is a sample time `C`: every sample the history
//! stored with a time at or before `C` has been published to that broker and acknowledged by it
//! (PUBACK, QoS 1). After a restart (a clean stop, a broker outage or a `kill -9`) the node replays the
//! history's samples in `(C, now]`, so nothing the history holds is lost. The price is duplicates.
//! During a replay the cursor is written as each batch is acknowledged in full, so a `kill -9` sends
//! again at most the batches in flight (the replay's window) and about the last [`LIVE_SETTLE`] of live
//! samples: the cursor passes the live stream only when the replay is done, so the file keeps beside it
//! the span of live samples acknowledged ahead of the replay ([`LiveSpan`]), which the replay after a
//! restart leaves out. The history hands a replay over in bands of minutes, tag by tag within a band, so
//! a batch acknowledged inside a band is kept as the band's progress ([`BandProgress`]) until the band
//! is done. Live, it is written about once a second
//! and trails the newest stored sample by [`LIVE_SETTLE`] (stored samples arrive not quite in time
//! order), so a `kill -9` while live sends again up to that much. A broker outage without a restart
//! sends nothing twice (the node remembers what was acknowledged beyond the cursor).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use plantwatch_core::{BrokerAddress, Timestamp};
use serde::{Deserialize, Serialize};

use crate::seq::BdSeq;

/// How far the live cursor trails the newest stored sample. Stored samples reach the node in batches
/// that are not in strict time order (a device's cycle hands over its samples when it ends); a sample
/// older than this when it arrives could, after a `kill -9`, be missing from the replay.
pub const LIVE_SETTLE_MS: i64 = 10_000;
/// [`LIVE_SETTLE_MS`] as a duration, for the docs.
pub const LIVE_SETTLE: std::time::Duration =
    std::time::Duration::from_millis(LIVE_SETTLE_MS as u64);

/// How far before the node's first start a broker's new cursor starts.
pub const NEW_BROKER_LOOKBACK_MS: i64 = 10_000;

/// The file beside the history that keeps the cursors: `<history file>.sparkplug`.
pub fn cursor_path(history: &Path) -> PathBuf {
    let mut name = history.as_os_str().to_owned();
    name.push(".sparkplug");
    PathBuf::from(name)
}

/// What the cursor file holds (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    /// The format's version: 1.
    pub version: u32,
    /// The bdSeq of the last session started (the next one takes the following number).
    pub bd_seq: u8,
    /// Per broker (its URL, `mqtt://host:port`): through which sample time it acknowledged everything.
    pub brokers: BTreeMap<String, BrokerCursor>,
}

/// One broker's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerCursor {
    /// UTC milliseconds: every stored sample at or before this time was acknowledged.
    pub acked_through_ms: i64,
    /// While a replay runs, the live stream is acknowledged ahead of it: this span of it, so a restart
    /// replays the gap up to the span and goes on after it instead of sending the span twice. Absent
    /// in files of earlier versions and when no replay runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveSpan>,
    /// A replay stopped inside a band: how far into it. Absent in files of earlier versions and
    /// between bands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<BandProgress>,
}

/// How far a replay got inside the band of time after the cursor: every stored sample in
/// `(acked_through_ms, through_ms]` of the history's tags up to and including `tags_through` (the
/// history's own number of a tag, the order it hands tags over in) was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandProgress {
    pub through_ms: i64,
    pub tags_through: u32,
}

/// Every stored sample in `(after_ms, through_ms]` was acknowledged (published live while a replay
/// of what came before `after_ms` was still running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSpan {
    pub after_ms: i64,
    pub through_ms: i64,
}

impl LiveSpan {
    /// Whether a sample of this time lies in the span.
    pub fn holds(&self, time: Timestamp) -> bool {
        time.as_millis() > self.after_ms && time.as_millis() <= self.through_ms
    }
}

/// Why the cursor file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("cannot read the Sparkplug cursor {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the Sparkplug cursor {path} is damaged ({source}); move it aside to replay from now on, or restore it")]
    Damaged {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the Sparkplug cursor {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The cursor file: read once at start, written atomically (temporary file, fsync, rename, fsync of
/// the folder), so a crash leaves the old or the new cursor, never half of one.
#[derive(Debug)]
pub struct CursorFile {
    path: PathBuf,
    pub state: CursorState,
}

impl CursorFile {
    /// Reads the file at `path`, or starts an empty one when there is none. Each broker without a cursor
    /// starts [`NEW_BROKER_LOOKBACK_MS`] before `now`: the node replays nothing older than its first
    /// start, but does publish the samples the engine stored just before the node was started (the first
    /// poll's, in the same millisecond as the start or a little earlier).
    pub fn open(
        path: PathBuf,
        brokers: &[BrokerAddress],
        now: Timestamp,
    ) -> Result<CursorFile, CursorError> {
        let mut state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| CursorError::Damaged {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CursorState {
                version: 1,
                ..CursorState::default()
            },
            Err(source) => return Err(CursorError::Read { path, source }),
        };
        for broker in brokers {
            state
                .brokers
                .entry(broker.to_string())
                .or_insert(BrokerCursor {
                    acked_through_ms: now.add_millis(-NEW_BROKER_LOOKBACK_MS).as_millis(),
                    live: None,
                    band: None,
                });
        }
        Ok(CursorFile { path, state })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The broker's cursor.
    pub fn acked(&self, broker: &BrokerAddress) -> Option<Timestamp> {
        self.state
            .brokers
            .get(&broker.to_string())
            .map(|c| Timestamp(c.acked_through_ms))
    }

    /// The span of live samples the broker acknowledged ahead of an unfinished replay.
    pub fn live_span(&self, broker: &BrokerAddress) -> Option<LiveSpan> {
        self.state.brokers.get(&broker.to_string())?.live
    }

    /// How far the broker's replay got inside the band after its cursor.
    pub fn band(&self, broker: &BrokerAddress) -> Option<BandProgress> {
        self.state.brokers.get(&broker.to_string())?.band
    }

    /// Moves the broker's cursor forward (never back) and records its live span and its progress in
    /// the band after `to` (or none). Returns whether anything changed (and so wants saving).
    pub fn advance(
        &mut self,
        broker: &BrokerAddress,
        to: Timestamp,
        live: Option<LiveSpan>,
        band: Option<BandProgress>,
    ) -> bool {
        let entry = self
            .state
            .brokers
            .entry(broker.to_string())
            .or_insert(BrokerCursor {
                acked_through_ms: to.as_millis(),
                live: None,
                band: None,
            });
        let before = *entry;
        entry.acked_through_ms = entry.acked_through_ms.max(to.as_millis());
        entry.live = live.filter(|span| span.through_ms > entry.acked_through_ms);
        // A band's progress counts from the cursor it was made at.
        let at_cursor = entry.acked_through_ms == to.as_millis();
        entry.band = band.filter(|b| at_cursor && b.through_ms > entry.acked_through_ms);
        *entry != before
    }

    /// Takes the next bdSeq for a new session.
    pub fn next_bd_seq(&mut self) -> BdSeq {
        let next = BdSeq(self.state.bd_seq).following();
        self.state.bd_seq = next.0;
        next
    }

    /// Writes the file atomically.
    pub fn save(&self) -> Result<(), CursorError> {
        let err = |source| CursorError::Write {
            path: self.path.clone(),
            source,
        };
        let mut tmp_name = self.path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(|e| err(e.into()))?;
        {
            let mut file = std::fs::File::create(&tmp).map_err(err)?;
            file.write_all(&bytes).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        // The rename itself is durable once the folder is synced.
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(dir) = std::fs::File::open(folder) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

/// A replay batch's number within a session.
pub type BatchId = u64;

/// The acknowledgement arithmetic of one session with one broker: replay batches and live messages
/// in flight, and how far the cursor may move when their PUBACKs arrive. Pure: times are passed in.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Everything stored at or before this time is acknowledged (the cursor).
    acked: Timestamp,
    /// The end of what must be replayed: live messages carry only samples after it.
    replay_to: Timestamp,
    /// Replay batches not yet acknowledged in full, in order.
    batches: VecDeque<Batch>,
    next_batch: BatchId,
    /// Live messages in flight: the oldest sample time of each, as a multiset.
    live: BTreeMap<Timestamp, u32>,
    /// The newest stored sample seen live.
    live_newest: Option<Timestamp>,
    /// A span acknowledged live before a restart (from the cursor file): the replay skips its samples,
    /// and the cursor jumps over it once it reaches it.
    skip: Option<LiveSpan>,
    /// The live samples acknowledged so far ahead of this session's replay, for the cursor file.
    ahead: Option<LiveSpan>,
    /// How far the replay got inside the band after the cursor.
    band: Option<BandProgress>,
}

#[derive(Debug, Clone)]
struct Batch {
    id: BatchId,
    /// With the batches before it, the batch holds every stored sample through `through` (when
    /// `tags_through` is `None`), or those after the cursor through `through` of the tags up to
    /// `tags_through` (a batch inside a band).
    through: Timestamp,
    tags_through: Option<u32>,
    /// Its messages not yet acknowledged.
    unacked: u32,
    /// Every message of the batch has been published (so `unacked == 0` means done).
    sealed: bool,
}

impl Ledger {
    /// A session that starts with the broker's cursor at `acked` and must replay through `replay_to`.
    pub fn new(acked: Timestamp, replay_to: Timestamp) -> Ledger {
        Ledger {
            acked,
            replay_to: replay_to.max(acked),
            batches: VecDeque::new(),
            next_batch: 0,
            live: BTreeMap::new(),
            live_newest: None,
            skip: None,
            ahead: None,
            band: None,
        }
    }

    /// Like [`Ledger::new`], for a broker whose cursor file holds a live span or a band's progress from
    /// before a restart: what they cover is not replayed.
    pub fn resuming(
        acked: Timestamp,
        replay_to: Timestamp,
        span: Option<LiveSpan>,
        band: Option<BandProgress>,
    ) -> Ledger {
        let mut ledger = Ledger::new(acked, replay_to);
        ledger.skip = span.filter(|s| s.through_ms > acked.as_millis());
        ledger.band = band;
        ledger.pass_skip();
        ledger
    }

    /// How far the replay got inside the band after the cursor: where a new reader starts.
    pub fn band(&self) -> Option<BandProgress> {
        self.band
    }

    /// The span the replay leaves out (acknowledged live before a restart).
    pub fn skip(&self) -> Option<LiveSpan> {
        self.skip
    }

    /// The live span to keep in the cursor file: the restored one until the replay passes it, else
    /// what this session acknowledged live ahead of its replay.
    pub fn durable_span(&self) -> Option<LiveSpan> {
        self.skip.or(self.ahead)
    }

    /// Once the cursor reaches a skipped span, everything in it is acknowledged too (and a band's
    /// progress the cursor passed is done with).
    fn pass_skip(&mut self) {
        if let Some(span) = self.skip {
            if self.acked.as_millis() >= span.after_ms {
                self.acked = self.acked.max(Timestamp(span.through_ms));
                self.skip = None;
            }
        }
        self.band = self.band.filter(|b| b.through_ms > self.acked.as_millis());
    }

    /// The cursor: everything stored at or before it is acknowledged.
    pub fn acked(&self) -> Timestamp {
        self.acked
    }

    /// The end of the span to replay.
    pub fn replay_to(&self) -> Timestamp {
        self.replay_to
    }

    /// More must be replayed (after a lost live span): through `to`. Live messages carry only samples
    /// after it from now on.
    pub fn extend_replay(&mut self, to: Timestamp) {
        if to > self.replay_to {
            // The live span started at the old end: part of it will now be replayed.
            self.ahead = None;
        }
        self.replay_to = self.replay_to.max(to);
    }

    /// True while the cursor has not reached the end of the replay.
    pub fn replaying(&self) -> bool {
        self.acked < self.replay_to
    }

    /// Whether a live sample of this time is published live (later than the replayed span) rather than
    /// left to the replay.
    pub fn is_live(&self, time: Timestamp) -> bool {
        time > self.replay_to
    }

    /// Opens a replay batch that, with those before it, covers every stored sample up to `through`,
    /// or (inside a band) those of the tags up to `tags_through`.
    pub fn open_batch(&mut self, through: Timestamp, tags_through: Option<u32>) -> BatchId {
        let id = self.next_batch;
        self.next_batch += 1;
        self.batches.push_back(Batch {
            id,
            through,
            tags_through,
            unacked: 0,
            sealed: false,
        });
        id
    }

    /// One more message of the batch is in flight.
    pub fn batch_message(&mut self, id: BatchId) {
        if let Some(b) = self.batches.iter_mut().find(|b| b.id == id) {
            b.unacked += 1;
        }
    }

    /// Every message of the batch is published.
    pub fn seal_batch(&mut self, id: BatchId) {
        if let Some(b) = self.batches.iter_mut().find(|b| b.id == id) {
            b.sealed = true;
        }
        self.settle_batches();
    }

    /// A message of the batch was acknowledged.
    pub fn batch_acked(&mut self, id: BatchId) {
        if let Some(b) = self.batches.iter_mut().find(|b| b.id == id) {
            b.unacked = b.unacked.saturating_sub(1);
        }
        self.settle_batches();
    }

    /// Replay batches published and not yet acknowledged.
    pub fn batches_in_flight(&self) -> usize {
        self.batches.len()
    }

    fn settle_batches(&mut self) {
        while let Some(front) = self.batches.front() {
            if !(front.sealed && front.unacked == 0) {
                break;
            }
            match front.tags_through {
                None => {
                    self.acked = self.acked.max(front.through.min(self.replay_to));
                    self.band = None;
                }
                Some(tags_through) => {
                    self.band = Some(BandProgress {
                        through_ms: front.through.as_millis(),
                        tags_through,
                    });
                }
            }
            self.batches.pop_front();
            self.pass_skip();
        }
    }

    /// A live message went out; `oldest` is its oldest sample's time.
    pub fn live_sent(&mut self, oldest: Timestamp) {
        *self.live.entry(oldest).or_insert(0) += 1;
    }

    /// A live message was acknowledged.
    pub fn live_acked(&mut self, oldest: Timestamp) {
        if let Some(n) = self.live.get_mut(&oldest) {
            *n -= 1;
            if *n == 0 {
                self.live.remove(&oldest);
            }
        }
    }

    /// A stored sample of this time arrived live (published or not).
    pub fn live_seen(&mut self, time: Timestamp) {
        self.live_newest = Some(self.live_newest.map_or(time, |t| t.max(time)));
    }

    /// Moves the cursor as far as the live stream allows: once the replay is acknowledged, to just
    /// before the oldest live sample still in flight, and never closer than [`LIVE_SETTLE_MS`] to the
    /// newest stored sample seen (older samples may still be on their way). Returns the cursor.
    pub fn settle_live(&mut self) -> Timestamp {
        let Some(candidate) = self.live_settled() else {
            return self.acked;
        };
        if self.replaying() || !self.batches.is_empty() {
            // The cursor waits for the replay; the live stream's acknowledged span is kept beside it
            // (unless a restored span still waits to be passed: the file holds one span).
            if self.skip.is_none() && candidate > self.replay_to {
                self.ahead = Some(LiveSpan {
                    after_ms: self.replay_to.as_millis(),
                    through_ms: candidate.as_millis(),
                });
            }
            return self.acked;
        }
        self.ahead = None;
        self.acked = self.acked.max(candidate);
        self.acked
    }

    /// How far the live stream is acknowledged for certain: [`LIVE_SETTLE_MS`] behind the newest
    /// stored sample seen, and before the oldest live message still in flight.
    fn live_settled(&self) -> Option<Timestamp> {
        let newest = self.live_newest?;
        let mut candidate = newest.add_millis(-LIVE_SETTLE_MS);
        if let Some((&oldest, _)) = self.live.iter().next() {
            candidate = candidate.min(oldest.add_millis(-1));
        }
        Some(candidate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker() -> BrokerAddress {
        BrokerAddress {
            tls: false,
            host: "127.0.0.1".into(),
            port: 1883,
        }
    }

    #[test]
    fn the_cursor_file_sits_beside_the_history() {
        assert_eq!(
            cursor_path(Path::new("/plants/lift4.db")),
            PathBuf::from("/plants/lift4.db.sparkplug")
        );
    }

    #[test]
    fn a_new_broker_starts_just_before_now_and_the_file_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.db.sparkplug");
        let mut file =
            CursorFile::open(path.clone(), &[broker()], Timestamp(11_000)).expect("open");
        assert_eq!(
            file.acked(&broker()),
            Some(Timestamp(1000)),
            "a little before the start, for what the engine stored just before"
        );
        file.advance(&broker(), Timestamp(5000), None, None);
        file.advance(&broker(), Timestamp(4000), None, None);
        assert_eq!(file.acked(&broker()), Some(Timestamp(5000)), "never back");
        assert_eq!(file.next_bd_seq(), BdSeq(1));
        file.save().expect("save");
        let again = CursorFile::open(path.clone(), &[broker()], Timestamp(9000)).expect("reopen");
        assert_eq!(
            again.acked(&broker()),
            Some(Timestamp(5000)),
            "the saved cursor, not now"
        );
        assert_eq!(again.state.bd_seq, 1);
        assert!(
            !dir.path().join("p.db.sparkplug.tmp").exists(),
            "no temporary left"
        );
    }

    #[test]
    fn a_damaged_cursor_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.db.sparkplug");
        std::fs::write(&path, b"{\"version\": 1, \"bro").expect("write");
        let err = CursorFile::open(path, &[broker()], Timestamp(0)).expect_err("damaged");
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn replay_batches_move_the_cursor_in_order_as_they_are_acknowledged() {
        let mut ledger = Ledger::new(Timestamp(100), Timestamp(400));
        assert!(ledger.replaying());
        let a = ledger.open_batch(Timestamp(200), None);
        ledger.batch_message(a);
        ledger.batch_message(a);
        ledger.seal_batch(a);
        let b = ledger.open_batch(Timestamp(400), None);
        ledger.batch_message(b);
        ledger.seal_batch(b);
        ledger.batch_acked(b);
        assert_eq!(
            ledger.acked(),
            Timestamp(100),
            "b is acknowledged but a is not"
        );
        ledger.batch_acked(a);
        assert_eq!(
            ledger.acked(),
            Timestamp(100),
            "one of a's two messages is still out"
        );
        ledger.batch_acked(a);
        assert_eq!(ledger.acked(), Timestamp(400), "a and then b");
        assert!(!ledger.replaying());
    }

    #[test]
    fn batches_inside_a_band_keep_its_progress_until_the_band_is_done_and_a_restart_resumes_there()
    {
        let mut ledger = Ledger::new(Timestamp(100), Timestamp(900));
        let a = ledger.open_batch(Timestamp(400), Some(7));
        let b = ledger.open_batch(Timestamp(400), Some(12));
        let c = ledger.open_batch(Timestamp(400), None);
        for id in [a, b, c] {
            ledger.batch_message(id);
            ledger.seal_batch(id);
        }
        ledger.batch_acked(b);
        assert_eq!(
            (ledger.acked(), ledger.band()),
            (Timestamp(100), None),
            "a is out"
        );
        ledger.batch_acked(a);
        let progress = BandProgress {
            through_ms: 400,
            tags_through: 12,
        };
        assert_eq!(
            (ledger.acked(), ledger.band()),
            (Timestamp(100), Some(progress)),
            "the band's tags up to 12, not the band"
        );
        // Killed here: the file keeps the progress at the cursor, and the next session starts there.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file =
            CursorFile::open(dir.path().join("p.db.sparkplug"), &[broker()], Timestamp(0))
                .expect("open");
        assert!(file.advance(&broker(), ledger.acked(), None, ledger.band()));
        file.save().expect("save");
        let again =
            CursorFile::open(file.path().to_path_buf(), &[broker()], Timestamp(0)).expect("reopen");
        assert_eq!(again.band(&broker()), Some(progress));
        let resumed = Ledger::resuming(Timestamp(100), Timestamp(900), None, again.band(&broker()));
        assert_eq!(resumed.band(), Some(progress));
        // The band done: the cursor moves to its end and the progress is gone, in the file too.
        ledger.batch_acked(c);
        assert_eq!((ledger.acked(), ledger.band()), (Timestamp(400), None));
        assert!(file.advance(&broker(), ledger.acked(), None, ledger.band()));
        assert_eq!(file.band(&broker()), None);
        assert!(
            !file.advance(&broker(), Timestamp(300), None, Some(progress)),
            "a progress not made at the cursor is not kept"
        );
    }

    #[test]
    fn an_unsealed_batch_holds_the_cursor_even_with_every_message_acknowledged() {
        let mut ledger = Ledger::new(Timestamp(0), Timestamp(50));
        let a = ledger.open_batch(Timestamp(50), None);
        ledger.batch_message(a);
        ledger.batch_acked(a);
        assert_eq!(ledger.acked(), Timestamp(0), "more of the batch may follow");
        ledger.seal_batch(a);
        assert_eq!(ledger.acked(), Timestamp(50));
    }

    #[test]
    fn live_samples_inside_the_replayed_span_are_left_to_the_replay() {
        let ledger = Ledger::new(Timestamp(0), Timestamp(1000));
        assert!(!ledger.is_live(Timestamp(1000)));
        assert!(ledger.is_live(Timestamp(1001)));
    }

    #[test]
    fn live_acknowledgements_move_the_cursor_only_after_the_replay_and_behind_the_settle_time() {
        let mut ledger = Ledger::new(Timestamp(0), Timestamp(1000));
        ledger.live_seen(Timestamp(50_000));
        assert_eq!(ledger.settle_live(), Timestamp(0), "still replaying");
        let a = ledger.open_batch(Timestamp(1000), None);
        ledger.seal_batch(a);
        assert_eq!(ledger.acked(), Timestamp(1000));
        ledger.live_sent(Timestamp(45_000));
        assert_eq!(
            ledger.settle_live(),
            Timestamp(40_000),
            "newest seen minus the settle time"
        );
        ledger.live_sent(Timestamp(38_000));
        assert_eq!(ledger.settle_live(), Timestamp(40_000), "never back");
        ledger.live_acked(Timestamp(38_000));
        ledger.live_seen(Timestamp(70_000));
        assert_eq!(
            ledger.settle_live(),
            Timestamp(44_999),
            "just before the oldest message in flight"
        );
        ledger.live_acked(Timestamp(45_000));
        assert_eq!(ledger.settle_live(), Timestamp(60_000));
    }

    #[test]
    fn a_lost_live_span_is_added_to_the_replay() {
        let mut ledger = Ledger::new(Timestamp(0), Timestamp(0));
        ledger.live_seen(Timestamp(30_000));
        assert_eq!(ledger.settle_live(), Timestamp(20_000));
        ledger.extend_replay(Timestamp(31_000));
        assert!(ledger.replaying());
        assert!(!ledger.is_live(Timestamp(30_500)));
        ledger.live_seen(Timestamp(90_000));
        assert_eq!(
            ledger.settle_live(),
            Timestamp(20_000),
            "held until the span is replayed"
        );
    }

    #[test]
    fn live_acknowledged_ahead_of_the_replay_is_kept_as_a_span_and_skipped_after_a_restart() {
        // The replay of (0, 1000] runs; live samples up to 60 s are acknowledged meanwhile.
        let mut ledger = Ledger::new(Timestamp(0), Timestamp(1000));
        ledger.live_seen(Timestamp(60_000));
        assert_eq!(
            ledger.settle_live(),
            Timestamp(0),
            "the cursor waits for the replay"
        );
        let span = ledger.durable_span().expect("a span");
        assert_eq!((span.after_ms, span.through_ms), (1000, 50_000));
        // Killed here. The restart replays (0, now] but leaves the span out.
        let mut after = Ledger::resuming(Timestamp(0), Timestamp(70_000), Some(span), None);
        assert_eq!(after.skip(), Some(span));
        assert!(span.holds(Timestamp(1001)) && span.holds(Timestamp(50_000)));
        assert!(!span.holds(Timestamp(1000)) && !span.holds(Timestamp(50_001)));
        assert_eq!(after.durable_span(), Some(span), "kept until passed");
        let a = after.open_batch(Timestamp(999), None);
        after.seal_batch(a);
        assert_eq!(after.acked(), Timestamp(999));
        let b = after.open_batch(Timestamp(20_000), None);
        after.seal_batch(b);
        assert_eq!(
            after.acked(),
            Timestamp(50_000),
            "reaching the span's start passes the whole span"
        );
        assert_eq!(after.skip(), None);
        assert_eq!(after.durable_span(), None);
    }

    #[test]
    fn a_span_the_cursor_already_passed_or_a_lost_live_stream_leaves_no_span() {
        let stale = LiveSpan {
            after_ms: 10,
            through_ms: 20,
        };
        let ledger = Ledger::resuming(Timestamp(30), Timestamp(40), Some(stale), None);
        assert_eq!((ledger.skip(), ledger.acked()), (None, Timestamp(30)));
        let inside = Ledger::resuming(
            Timestamp(15),
            Timestamp(40),
            Some(LiveSpan {
                after_ms: 10,
                through_ms: 25,
            }),
            None,
        );
        assert_eq!(
            inside.acked(),
            Timestamp(25),
            "a cursor inside the span passes it"
        );
        let mut ledger = Ledger::new(Timestamp(0), Timestamp(1000));
        ledger.live_seen(Timestamp(60_000));
        ledger.settle_live();
        assert!(ledger.durable_span().is_some());
        ledger.extend_replay(Timestamp(30_000));
        assert_eq!(
            ledger.durable_span(),
            None,
            "live batches were lost: the span is replayed after all"
        );
    }

    #[test]
    fn the_cursor_file_keeps_the_live_span_and_reads_files_without_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.db.sparkplug");
        std::fs::write(
            &path,
            br#"{"version": 1, "bd_seq": 3, "brokers": {"mqtt://127.0.0.1:1883": {"acked_through_ms": 500}}}"#,
        )
        .expect("write");
        let mut file = CursorFile::open(path.clone(), &[broker()], Timestamp(0)).expect("open");
        assert_eq!(file.live_span(&broker()), None);
        let span = LiveSpan {
            after_ms: 600,
            through_ms: 900,
        };
        assert!(file.advance(&broker(), Timestamp(550), Some(span), None));
        assert!(
            !file.advance(&broker(), Timestamp(550), Some(span), None),
            "no change"
        );
        file.save().expect("save");
        let again = CursorFile::open(path, &[broker()], Timestamp(0)).expect("reopen");
        assert_eq!(again.acked(&broker()), Some(Timestamp(550)));
        assert_eq!(again.live_span(&broker()), Some(span));
    }
}
