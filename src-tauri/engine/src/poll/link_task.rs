//! One task per link: it owns the connection, polls its devices when they are due, one request at a
//! time, and carries out writes between polls.
//!
//! Failures are kept to the device that caused them. A device that does not answer costs its
//! link-mates at most one timeout per attempt, and its attempts back off (100 ms doubling to 10 s), so
//! a dead unit on a shared serial line or gateway hardly slows the others. After a timeout the
//! connection is dropped and reopened before the next request, because a late reply could otherwise
//! be taken for the answer to the next request.

use std::sync::Arc;
use std::time::Duration;

use plantwatch_core::{Link, Table, Timestamp};
use plantwatch_modbus::link::{Connection, LinkError, Payload};
use plantwatch_modbus::plan::{split_block, Block};
use plantwatch_modbus::TrafficMonitor;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::poll::device::DevicePoll;
use crate::poll::schedule::Backoff;
use crate::poll::Outputs;
use crate::write::{carry_out, Command, MaskWrite, Sender, Sent, WriteOutcome};

/// How long a write may wait for its turn on a busy link before it is given up unsent. A write goes
/// ahead of queued polls, so it waits at most for the device read in progress; this bounds a link whose
/// reads all time out.
pub const WRITE_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// A write asked of a link task: one checked command (see [`crate::write`]).
pub(crate) struct WriteRequest {
    /// Index into `Plant::devices`.
    pub device: usize,
    /// Position of the tag in the device's tags.
    pub tag: u32,
    pub command: Command,
    /// Read the tag back and compare (not for the first half of a pulse).
    pub read_back: bool,
    /// Not sent at all after this.
    pub deadline: Instant,
    pub reply: oneshot::Sender<Sent>,
}

/// The engine's side of a write: sends commands to one device's link task and waits, with a bound.
pub(crate) struct LinkSender {
    pub writes: mpsc::Sender<WriteRequest>,
    pub device: usize,
    pub tag: u32,
    /// The device's timeout: each of the write's three exchanges is bounded by it.
    pub timeout: Duration,
}

impl Sender for LinkSender {
    async fn send(&mut self, command: Command, read_back: bool) -> Sent {
        let failed = |reason: &str| Sent {
            old: None,
            readback: None,
            outcome: WriteOutcome::Failed {
                reason: reason.to_string(),
            },
        };
        let deadline = Instant::now() + WRITE_QUEUE_WAIT;
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            device: self.device,
            tag: self.tag,
            command,
            read_back,
            deadline,
            reply,
        };
        if self.writes.send(request).await.is_err() {
            return failed("not sent: the engine is stopping");
        }
        // The link task answers every request it takes (a late one unsent); this bound only
        // guards against a task that is gone.
        let bound = deadline + self.timeout * 4 + Duration::from_secs(1);
        match tokio::time::timeout_at(bound, answer).await {
            Ok(Ok(sent)) => sent,
            Ok(Err(_)) => failed("no answer: the engine is stopping"),
            Err(_) => failed("no answer from the link within the write's deadline"),
        }
    }
}

/// The state of one link: its connection and its devices.
pub struct LinkTask {
    link: Link,
    devices: Vec<DevicePoll>,
    conn: Option<Connection>,
    /// True once a connection was opened (later opens count as reconnects).
    opened_once: bool,
    /// Back-off of opening the link itself (refused, no such port).
    open_backoff: Backoff,
    open_retry_at: Option<Instant>,
    outputs: Arc<Outputs>,
    writes: mpsc::Receiver<WriteRequest>,
    /// Whether each device (by position in `devices`) takes the mask write, FC 22.
    mask_writes: Vec<MaskWrite>,
    stop: watch::Receiver<bool>,
    /// The engine's traffic monitor: every connection this task opens is attached to it.
    traffic: TrafficMonitor,
}

/// What one read came to.
enum ReadResult {
    Data(Payload),
    Exception(u8),
    /// The link failed or the device did not answer: the device's cycle ends here.
    Failed,
}

impl LinkTask {
    pub(crate) fn new(
        link: Link,
        devices: Vec<DevicePoll>,
        outputs: Arc<Outputs>,
        writes: mpsc::Receiver<WriteRequest>,
        stop: watch::Receiver<bool>,
        traffic: TrafficMonitor,
    ) -> LinkTask {
        LinkTask {
            link,
            mask_writes: vec![MaskWrite::Untried; devices.len()],
            devices,
            conn: None,
            opened_once: false,
            open_backoff: Backoff::standard(),
            open_retry_at: None,
            outputs,
            writes,
            stop,
            traffic,
        }
    }

    /// Polls until told to stop.
    pub async fn run(mut self) {
        let mut writes_open = true;
        loop {
            if *self.stop.borrow() {
                break;
            }
            // A write goes ahead of the polls due (it never waits behind a backlog of them).
            if writes_open {
                match self.writes.try_recv() {
                    Ok(request) => {
                        self.write(request).await;
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => writes_open = false,
                    Err(mpsc::error::TryRecvError::Empty) => {}
                }
            }
            let now = Instant::now();
            // The device most overdue goes first.
            let next = (0..self.devices.len()).min_by_key(|&i| self.devices[i].schedule.due());
            let Some(next) = next else { break };
            let due = self.devices[next].schedule.due();
            if due > now {
                let stale_at = self.check_stale(now);
                let wake = stale_at.map_or(due, |s| s.min(due));
                tokio::select! {
                    biased;
                    _ = self.stop.changed() => {}
                    request = self.writes.recv(), if writes_open => match request {
                        Some(request) => self.write(request).await,
                        None => writes_open = false,
                    },
                    _ = tokio::time::sleep_until(wake) => {}
                }
                continue;
            }
            self.poll_device(next).await;
        }
        // Answer writes that arrived too late rather than leaving their callers waiting.
        self.writes.close();
        while let Ok(request) = self.writes.try_recv() {
            let _ = request
                .reply
                .send(not_sent("not sent: the engine is stopping"));
        }
    }

    /// Marks stale values on every device of the link and publishes them; returns the next time a
    /// value would go stale.
    fn check_stale(&mut self, now: Instant) -> Option<Instant> {
        let at = Timestamp::now();
        let mut next: Option<Instant> = None;
        for i in 0..self.devices.len() {
            if let Some(t) = self.devices[i].check_stale(now, at) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            if self.devices[i].has_outcome() {
                self.publish(i);
            }
        }
        next
    }

    /// Opens the connection if it is not open; `false` if it cannot be opened now.
    async fn ensure_open(&mut self, timeout: Duration) -> Result<(), String> {
        if self.conn.is_some() {
            return Ok(());
        }
        if let Some(at) = self.open_retry_at {
            if Instant::now() < at {
                return Err(format!("{}: waiting to reconnect", self.link));
            }
        }
        if self.opened_once {
            for d in &mut self.devices {
                d.counters.reconnects += 1;
            }
        }
        match Connection::open_with(&self.link, timeout, Some(&self.traffic)).await {
            Ok(conn) => {
                self.conn = Some(conn);
                self.opened_once = true;
                self.open_backoff.succeed();
                self.open_retry_at = None;
                Ok(())
            }
            Err(e) => {
                let wait = self.open_backoff.fail();
                self.open_retry_at = Some(Instant::now() + wait);
                Err(format!("{}: {e}", self.link))
            }
        }
    }

    /// Polls every block of one device, then moves its schedule on.
    async fn poll_device(&mut self, i: usize) {
        let timeout = self.devices[i].device().timeout;
        self.devices[i].begin_cycle(Timestamp::now());
        let mut failed = false;

        if let Err(message) = self.ensure_open(timeout).await {
            let at = Timestamp::now();
            if self.devices.len() > 1 && self.open_retry_at.is_some() {
                // The link itself is down: every device on it is unreachable.
                for d in &mut self.devices {
                    if d.state != crate::DeviceState::Offline {
                        d.counters.link_errors += 1;
                        d.on_comm_failure(at, message.clone());
                    }
                }
                for j in 0..self.devices.len() {
                    self.publish(j);
                }
            } else {
                self.devices[i].counters.link_errors += 1;
                self.devices[i].on_comm_failure(at, message);
            }
            failed = true;
        } else {
            for b in 0..self.devices[i].block_count() {
                if self.read_planned(i, b).await.is_err() {
                    failed = true;
                    break;
                }
                if *self.stop.borrow() {
                    break;
                }
            }
        }

        let now = Instant::now();
        let at = Timestamp::now();
        let device = &mut self.devices[i];
        if failed {
            let wait = device.backoff.fail();
            let missed = device.schedule.advance(now);
            // A device that does not answer is retried after its back-off, not every period: that is
            // what keeps it from eating its link-mates' time. Deadlines skipped while backing off are
            // not counted as missed cycles (the device was offline, not late).
            let _ = missed;
            device.schedule.not_before(now + wait);
        } else {
            device.backoff.succeed();
            device.finish_cycle(at, now);
            let missed = device.schedule.advance(now);
            device.counters.missed_cycles += missed;
        }
        device.sweep_heartbeats(at);
        self.publish(i);
    }

    /// Reads the `b`-th planned block of device `i`. `Err` when the link failed (the device's cycle ends).
    async fn read_planned(&mut self, i: usize, b: usize) -> Result<(), ()> {
        let block = self.devices[i].block(b);
        let (table, start, count) = (block.table, block.start, block.count);
        match self.read_once(i, table, start, count).await {
            ReadResult::Data(payload) => {
                let at = Timestamp::now();
                self.devices[i].on_planned_data(b, payload, at, Instant::now());
                Ok(())
            }
            ReadResult::Exception(code) => {
                // Rare: the block is copied only to be split or marked.
                let block = self.devices[i].block(b).clone();
                self.on_exception(i, &block, code).await
            }
            ReadResult::Failed => Err(()),
        }
    }

    /// Reads half of a split block. `Err` when the link failed.
    async fn read_split(&mut self, i: usize, block: &Block) -> Result<(), ()> {
        match self
            .read_once(i, block.table, block.start, block.count)
            .await
        {
            ReadResult::Data(payload) => {
                self.devices[i].on_split_data(block, payload, Timestamp::now());
                Ok(())
            }
            ReadResult::Exception(code) => self.on_exception(i, block, code).await,
            ReadResult::Failed => Err(()),
        }
    }

    /// A block answered with an exception: on 02/03 splits it and reads the halves, learning what the
    /// device refuses; other codes mark the block's tags bad. `Err` when the link failed meanwhile.
    async fn on_exception(&mut self, i: usize, block: &Block, code: u8) -> Result<(), ()> {
        let at = Timestamp::now();
        if !matches!(code, 0x02 | 0x03) {
            self.devices[i].on_exception(block, code, at);
            return Ok(());
        }
        self.devices[i].count_refusal();
        match split_block(block, self.devices[i].device()) {
            None => {
                self.devices[i].on_refused(block, code, at);
                Ok(())
            }
            Some((left, right)) => {
                // Halves are never remembered as planned blocks: the plan is rebuilt after this cycle
                // from what was learned.
                let left_ok = Box::pin(self.read_block_halves(i, &left)).await?;
                let right_ok = Box::pin(self.read_block_halves(i, &right)).await?;
                if left_ok && right_ok {
                    self.devices[i].on_split_read(block, &left, &right);
                }
                Ok(())
            }
        }
    }

    /// Reads half of a refused block; `Ok(true)` when it was read whole without a refusal.
    async fn read_block_halves(&mut self, i: usize, half: &Block) -> Result<bool, ()> {
        let refusals_before = self.devices[i].counters.learned_refusals;
        self.read_split(i, half).await?;
        Ok(self.devices[i].counters.learned_refusals == refusals_before)
    }

    /// Sends one read and waits for its answer, counting and timing it.
    async fn read_once(&mut self, i: usize, table: Table, start: u16, count: u16) -> ReadResult {
        let device = self.devices[i].device();
        let (unit, timeout) = (device.unit, device.timeout);
        let Some(conn) = self.conn.as_mut() else {
            return ReadResult::Failed;
        };
        let sent = Instant::now();
        let result = conn.read(unit, table, start, count, timeout).await;
        let latency = sent.elapsed();
        let device = &mut self.devices[i];
        match result {
            Ok(Ok(payload)) => {
                device.count_request(Some(latency));
                ReadResult::Data(payload)
            }
            Ok(Err(code)) => {
                device.count_request(Some(latency));
                ReadResult::Exception(code)
            }
            Err(error) => {
                device.count_request(None);
                if matches!(error, LinkError::Timeout { .. }) {
                    device.counters.timeouts += 1;
                } else {
                    device.counters.link_errors += 1;
                }
                if error.is_bad_reply() {
                    device.counters.bad_replies += 1;
                }
                // A timed-out or broken connection is never reused: a late reply could be taken for
                // the answer to the next request.
                if error.needs_reopen() {
                    self.conn = None;
                }
                let message = format!("{} {start}+{count}: {error}", table.name());
                if error.is_bad_reply() {
                    device.on_bad_reply(Timestamp::now(), message);
                } else {
                    device.on_comm_failure(Timestamp::now(), message);
                }
                ReadResult::Failed
            }
        }
    }

    /// Carries out one write command between polls: the read, write and read-back run back to back
    /// on the link's connection, so no poll is interleaved (a bit's read-modify-write stays whole).
    async fn write(&mut self, request: WriteRequest) {
        let sent = self.write_inner(&request).await;
        let _ = request.reply.send(sent);
    }

    async fn write_inner(&mut self, request: &WriteRequest) -> Sent {
        if request.reply.is_closed() {
            return not_sent("not sent: the caller is gone");
        }
        if Instant::now() > request.deadline {
            return not_sent(&format!(
                "not sent: the link was busy for {} s",
                WRITE_QUEUE_WAIT.as_secs()
            ));
        }
        let Some(i) = self.devices.iter().position(|d| d.index == request.device) else {
            return not_sent("not sent: the device is not on this link");
        };
        let timeout = self.devices[i].device().timeout;
        if let Err(message) = self.ensure_open(timeout).await {
            return not_sent(&message);
        }
        let Some(conn) = self.conn.as_mut() else {
            return not_sent("not sent: no connection");
        };
        let device = self.devices[i].device();
        let Some(tag) = device.tags.get(request.tag as usize) else {
            return not_sent("not sent: the device has no such tag");
        };
        let sent = carry_out(
            conn,
            device,
            tag,
            &request.command,
            request.read_back,
            &mut self.mask_writes[i],
        )
        .await;
        // A timed-out or broken connection is never reused (see `read_once`).
        if !conn.is_open() {
            self.conn = None;
        }
        sent
    }

    /// Sends what a device's poll produced to listeners, alarms and history, and updates its status.
    fn publish(&mut self, i: usize) {
        let device = &mut self.devices[i];
        self.outputs.deliver(device);
        self.outputs.update_status(device);
    }
}

fn not_sent(reason: &str) -> Sent {
    Sent {
        old: None,
        readback: None,
        outcome: WriteOutcome::Failed {
            reason: reason.to_string(),
        },
    }
}
