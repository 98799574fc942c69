//! The traffic monitor: every request and response of the links it is attached to, as [`Frame`]s in a
//! ring of the last [`RING_CAPACITY`], for a window that polls it and for a text export.
//!
//! Capture happens on the bytes: [`Connection::open_with`](crate::Connection::open_with) wraps the
//! link's byte stream in a tap (`traffic::tap`) that copies what goes out and what comes back, cuts it
//! into frames (`traffic::wire`) and records them here. A monitor starts switched off, and while it is
//! off the tap costs one relaxed atomic load per read or write of the stream: no copy, no lock, no
//! allocation. A connection opened without a monitor has no tap at all.
//!
//! Sequence numbers go up by one per frame for the monitor's whole life (a [`TrafficMonitor::clear`]
//! does not restart them), so a window asks for [`TrafficMonitor::snapshot`] of what came after the
//! last frame it has shown.

pub(crate) mod tap;
pub(crate) mod wire;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use plantwatch_core::Timestamp;

pub use wire::Direction;

/// How many frames a monitor keeps: the oldest is dropped (and counted) to make room.
pub const RING_CAPACITY: usize = 10_000;

/// One request or response as it went over the wire.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    /// Position in the monitor's whole capture, from 1.
    pub seq: u64,
    /// When the frame was complete on the wire, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// The link, as it is written in a plant file (`tcp://10.0.0.5:502`, `rtu:///dev/ttyUSB0?...`).
    pub link: String,
    pub direction: Direction,
    /// The unit id (slave address) the frame names.
    pub unit: u8,
    /// The function code, without the exception bit.
    pub function: u8,
    /// The first address, for the functions that have one (FC 1-6, 15, 16, 22, 23 (its read part));
    /// FC 43/14: the object id asked for. A read reply carries its request's.
    pub address: Option<u16>,
    /// How many items, for the functions that have a count (FC 1-6, 15, 16, 22, 23 (its read part)). A
    /// read reply carries its request's.
    pub count: Option<u16>,
    /// The exception code of an exception response (function code | 0x80 on the wire).
    pub exception: Option<u8>,
    /// A response: the `seq` of the request it answers.
    pub request_seq: Option<u64>,
    /// A response: microseconds from the end of its request to its own end.
    pub latency_us: Option<u64>,
    /// RTU frames (serial lines and RTU over TCP): whether the CRC matches. `None` on Modbus TCP.
    pub crc_ok: Option<bool>,
    /// The whole frame in hex pairs (`01 03 00 00 00 02 C4 0B`): the MBAP frame on Modbus TCP, the RTU
    /// frame with its CRC otherwise.
    pub bytes: String,
}

/// A frame before the monitor numbers and stamps it.
pub(crate) struct Captured {
    pub link: Arc<str>,
    pub direction: Direction,
    pub header: wire::Header,
    pub request_seq: Option<u64>,
    pub latency: Option<Duration>,
    pub bytes: Vec<u8>,
}

/// Records the traffic of the links it is attached to. Cheap to clone: clones share one capture.
#[derive(Clone, Default)]
pub struct TrafficMonitor {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Read by every tap on every read and write of its stream, so relaxed: a tap that sees a switch a
    /// few bytes late only starts or stops at the next frame.
    enabled: AtomicBool,
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for TrafficMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrafficMonitor")
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl TrafficMonitor {
    /// A monitor, switched off, keeping the last [`RING_CAPACITY`] frames.
    pub fn new() -> TrafficMonitor {
        TrafficMonitor::default()
    }

    /// Starts (`true`) or stops capturing. Frames already captured stay.
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Whether the monitor captures now.
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled.load(Ordering::Relaxed)
    }

    /// The frames kept whose `seq` is above `since_seq`, oldest first (`0` for all of them).
    pub fn snapshot(&self, since_seq: u64) -> Vec<Frame> {
        self.ring().after(since_seq)
    }

    /// Forgets every frame kept and the dropped count; sequence numbers go on from where they were.
    pub fn clear(&self) {
        self.ring().clear();
    }

    /// How many frames were dropped to make room since the monitor was made or cleared.
    pub fn dropped(&self) -> u64 {
        self.ring().dropped
    }

    /// The `seq` of the newest frame captured (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.ring().next_seq - 1
    }

    /// The text export of `frames`: one line per frame in fixed columns under a header line (see the
    /// README's "Traffic monitor" section):
    ///
    /// ```text
    /// seq      time (UTC)               dir  unit fc  address count exc latency_ms crc link                bytes
    ///        1 2026-12-04T02:16:24.123Z req     1 03        0    10 -   -          -   tcp://127.0.0.1:502 00 01 00 00 00 06 01 03 00 00 00 0A
    /// ```
    pub fn to_text(frames: &[Frame]) -> String {
        let link_width = frames
            .iter()
            .map(|f| f.link.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{:<8} {:<24} {:<4} {:>4} {:<3} {:>7} {:>5} {:<3} {:<10} {:<3} {:<link_width$} bytes",
            "seq",
            "time (UTC)",
            "dir",
            "unit",
            "fc",
            "address",
            "count",
            "exc",
            "latency_ms",
            "crc",
            "link"
        );
        for f in frames {
            let dash = || "-".to_string();
            let _ = writeln!(
                text,
                "{:>8} {:<24} {:<4} {:>4} {:<3} {:>7} {:>5} {:<3} {:<10} {:<3} {:<link_width$} {}",
                f.seq,
                Timestamp::from_millis(f.time_ms).to_string(),
                match f.direction {
                    Direction::Request => "req",
                    Direction::Response => "rsp",
                },
                f.unit,
                format!("{:02X}", f.function),
                f.address.map_or_else(dash, |a| a.to_string()),
                f.count.map_or_else(dash, |c| c.to_string()),
                f.exception.map_or_else(dash, |e| format!("{e:02X}")),
                f.latency_us
                    .map_or_else(dash, |us| format!("{:.3}", us as f64 / 1000.0)),
                match f.crc_ok {
                    Some(true) => "ok",
                    Some(false) => "bad",
                    None => "-",
                },
                f.link,
                f.bytes,
            );
        }
        text
    }

    /// Numbers, stamps and keeps one captured frame; returns its `seq`.
    pub(crate) fn record(&self, captured: Captured) -> u64 {
        let frame = Frame {
            seq: 0,
            time_ms: Timestamp::now().as_millis(),
            link: captured.link.to_string(),
            direction: captured.direction,
            unit: captured.header.unit,
            function: captured.header.function,
            address: captured.header.address,
            count: captured.header.count,
            exception: captured.header.exception,
            request_seq: captured.request_seq,
            latency_us: captured
                .latency
                .map(|l| u64::try_from(l.as_micros()).unwrap_or(u64::MAX)),
            crc_ok: captured.header.crc_ok,
            bytes: wire::hex(&captured.bytes),
        };
        self.ring().push(frame)
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves whole frames only: the ring is still good.
        self.shared
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn with_capacity(capacity: usize) -> TrafficMonitor {
        let monitor = TrafficMonitor::new();
        monitor.ring().capacity = capacity;
        monitor
    }
}

/// The frames kept, oldest first, with their numbering.
struct Ring {
    frames: VecDeque<Frame>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
}

impl Default for Ring {
    fn default() -> Self {
        Ring {
            frames: VecDeque::new(),
            capacity: RING_CAPACITY,
            next_seq: 1,
            dropped: 0,
        }
    }
}

impl Ring {
    fn push(&mut self, mut frame: Frame) -> u64 {
        frame.seq = self.next_seq;
        self.next_seq += 1;
        if self.frames.len() >= self.capacity {
            self.frames.pop_front();
            self.dropped += 1;
        }
        self.frames.push_back(frame);
        self.next_seq - 1
    }

    fn after(&self, since_seq: u64) -> Vec<Frame> {
        // Sequence numbers rise along the ring.
        let first = self.frames.partition_point(|f| f.seq <= since_seq);
        self.frames.range(first..).cloned().collect()
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(unit: u8) -> Captured {
        Captured {
            link: Arc::from("tcp://127.0.0.1:502"),
            direction: Direction::Request,
            header: wire::Header {
                unit,
                function: 3,
                address: Some(0),
                count: Some(10),
                ..wire::Header::default()
            },
            request_seq: None,
            latency: None,
            bytes: vec![0, 1, 0, 0, 0, 6, unit, 3, 0, 0, 0, 10],
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_ten_thousand_and_counts_the_dropped() {
        let monitor = TrafficMonitor::new();
        for i in 0..10_250u32 {
            monitor.record(request((i % 200) as u8));
        }
        let kept = monitor.snapshot(0);
        assert_eq!(kept.len(), RING_CAPACITY);
        assert_eq!(monitor.dropped(), 250);
        assert_eq!(kept.first().map(|f| f.seq), Some(251));
        assert_eq!(kept.last().map(|f| f.seq), Some(10_250));
        assert_eq!(monitor.last_seq(), 10_250);
    }

    #[test]
    fn a_snapshot_gives_what_came_after_the_last_seen_frame() {
        let monitor = TrafficMonitor::with_capacity(4);
        for unit in 1..=6 {
            monitor.record(request(unit));
        }
        // Frames 1 and 2 were dropped: asking from 1 gives what is left.
        let seqs = |frames: Vec<Frame>| frames.iter().map(|f| f.seq).collect::<Vec<_>>();
        assert_eq!(seqs(monitor.snapshot(1)), [3, 4, 5, 6]);
        assert_eq!(seqs(monitor.snapshot(4)), [5, 6]);
        assert!(monitor.snapshot(6).is_empty());
        monitor.clear();
        assert!(monitor.snapshot(0).is_empty());
        assert_eq!(monitor.dropped(), 0);
        monitor.record(request(7));
        assert_eq!(seqs(monitor.snapshot(6)), [7]);
    }

    #[test]
    fn a_monitor_starts_off_and_clones_share_it() {
        let monitor = TrafficMonitor::new();
        assert!(!monitor.is_enabled());
        let clone = monitor.clone();
        clone.set_enabled(true);
        assert!(monitor.is_enabled());
        clone.record(request(1));
        assert_eq!(monitor.snapshot(0).len(), 1);
    }

    #[test]
    fn the_text_export_has_one_line_per_frame_in_fixed_columns() {
        let monitor = TrafficMonitor::new();
        let seq = monitor.record(request(1));
        monitor.record(Captured {
            link: Arc::from("tcp://127.0.0.1:502"),
            direction: Direction::Response,
            header: wire::Header {
                unit: 1,
                function: 3,
                exception: Some(2),
                ..wire::Header::default()
            },
            request_seq: Some(seq),
            latency: Some(Duration::from_micros(1250)),
            bytes: vec![0, 1, 0, 0, 0, 3, 1, 0x83, 2],
        });
        let text = TrafficMonitor::to_text(&monitor.snapshot(0));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("seq      time (UTC)"));
        // Every column starts at the same place on every line: the bytes column too.
        let bytes_at = lines[0].find("bytes").unwrap_or_default();
        assert!(lines[1][bytes_at..].starts_with("00 01 00 00 00 06 01 03 00 00 00 0A"));
        assert!(lines[2][bytes_at..].starts_with("00 01 00 00 00 03 01 83 02"));
        let columns: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            columns[2..11],
            [
                "rsp",
                "1",
                "03",
                "-",
                "-",
                "02",
                "1.250",
                "-",
                "tcp://127.0.0.1:502"
            ]
        );
    }
}
