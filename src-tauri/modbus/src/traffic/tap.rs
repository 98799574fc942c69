//! The tap: a byte stream (TCP socket, serial port) that copies the link's frames to a
//! [`TrafficMonitor`] while the monitor is on.
//!
//! tokio-modbus writes one request per exchange (possibly in several partial writes) and then reads its
//! reply in whatever pieces the transport hands over. The tap collects written bytes until they make a
//! whole request frame, and read bytes until they make a whole reply frame ([`wire::frame_end`]); an RTU
//! frame of an unknown function ends where the exchange ends (the next request, a flush, or the
//! connection closing). Capture starts at the first write after the monitor was switched on, so it
//! never begins in the middle of a reply.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::wire::{self, Direction, FrameEnd, Framing};
use super::{Captured, TrafficMonitor};

/// A stream whose frames a monitor sees while it is on.
pub(crate) struct Tap<S> {
    stream: S,
    monitor: TrafficMonitor,
    link: Arc<str>,
    framing: Framing,
    /// True from the first write seen with the monitor on until a read or write sees it off.
    capturing: bool,
    /// Bytes of the request being written.
    sent: Vec<u8>,
    /// Bytes of the reply being read.
    received: Vec<u8>,
    /// The last request recorded and not answered yet.
    asked: Option<Asked>,
}

/// A recorded request, for its reply's pairing and latency.
#[derive(Clone, Copy)]
struct Asked {
    seq: u64,
    at: Instant,
    address: Option<u16>,
    count: Option<u16>,
}

impl<S: fmt::Debug> fmt::Debug for Tap<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap")
            .field("stream", &self.stream)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl<S> Tap<S> {
    /// Taps `stream`, a link shown as `link` that frames as `framing`.
    pub(crate) fn new(stream: S, monitor: TrafficMonitor, link: &str, framing: Framing) -> Tap<S> {
        Tap {
            stream,
            monitor,
            link: Arc::from(link),
            framing,
            capturing: false,
            sent: Vec::new(),
            received: Vec::new(),
            asked: None,
        }
    }

    /// The monitor was switched off: forget the frames in progress.
    fn stop_capturing(&mut self) {
        self.capturing = false;
        self.sent.clear();
        self.received.clear();
        self.asked = None;
    }

    fn wrote(&mut self, bytes: &[u8]) {
        if !self.capturing {
            self.capturing = true;
        }
        if self.sent.is_empty() {
            // A new request: whatever came back before it is the end of the last exchange.
            self.end_reply();
        }
        self.sent.extend_from_slice(bytes);
        while let FrameEnd::At(len) = wire::frame_end(self.framing, Direction::Request, &self.sent)
        {
            if len > self.sent.len() {
                break;
            }
            let rest = self.sent.split_off(len);
            let frame = std::mem::replace(&mut self.sent, rest);
            self.record_request(frame);
        }
    }

    /// A flush ends the request being written, whatever its size.
    fn flushed(&mut self) {
        if !self.sent.is_empty() {
            let frame = std::mem::take(&mut self.sent);
            self.record_request(frame);
        }
    }

    fn read(&mut self, bytes: &[u8]) {
        self.received.extend_from_slice(bytes);
        while let FrameEnd::At(len) =
            wire::frame_end(self.framing, Direction::Response, &self.received)
        {
            if len > self.received.len() {
                break;
            }
            let rest = self.received.split_off(len);
            let frame = std::mem::replace(&mut self.received, rest);
            self.record_reply(frame);
        }
    }

    /// Records what was read of a reply that never became whole by its own length.
    fn end_reply(&mut self) {
        if !self.received.is_empty() {
            let frame = std::mem::take(&mut self.received);
            self.record_reply(frame);
        }
    }

    fn record_request(&mut self, bytes: Vec<u8>) {
        let header = wire::header(self.framing, Direction::Request, &bytes);
        let seq = self.monitor.record(Captured {
            link: self.link.clone(),
            direction: Direction::Request,
            header,
            request_seq: None,
            latency: None,
            bytes,
        });
        self.asked = Some(Asked {
            seq,
            at: Instant::now(),
            address: header.address,
            count: header.count,
        });
    }

    fn record_reply(&mut self, bytes: Vec<u8>) {
        let mut header = wire::header(self.framing, Direction::Response, &bytes);
        let asked = self.asked.take();
        if let Some(asked) = asked {
            // A read reply or an exception names no address: its request's are the ones it answers.
            if header.address.is_none() {
                header.address = asked.address;
                header.count = asked.count;
            }
        }
        self.monitor.record(Captured {
            link: self.link.clone(),
            direction: Direction::Response,
            header,
            request_seq: asked.map(|a| a.seq),
            latency: asked.map(|a| a.at.elapsed()),
            bytes,
        });
    }
}

impl<S> Drop for Tap<S> {
    fn drop(&mut self) {
        // A connection dropped mid-reply (a timeout poisons it): keep what did arrive.
        if self.capturing && self.monitor.is_enabled() {
            self.flushed();
            self.end_reply();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.monitor.is_enabled() {
            if this.capturing {
                this.stop_capturing();
            }
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.capturing {
            if let Poll::Ready(Ok(())) = polled {
                this.read(&buf.filled()[before..]);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.monitor.is_enabled() {
            if this.capturing {
                this.stop_capturing();
            }
            return Pin::new(&mut this.stream).poll_write(cx, data);
        }
        let polled = Pin::new(&mut this.stream).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = polled {
            this.wrote(&data[..written]);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        if this.capturing && polled.is_ready() && this.monitor.is_enabled() {
            this.flushed();
        }
        polled
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stream that takes and gives 3 bytes at a time: every frame crosses it in pieces.
    fn narrow_pair() -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
        tokio::io::duplex(3)
    }

    #[tokio::test]
    async fn frames_written_and_read_in_pieces_are_recorded_whole() {
        let monitor = TrafficMonitor::new();
        monitor.set_enabled(true);
        let (ours, mut theirs) = narrow_pair();
        let mut tap = Tap::new(ours, monitor.clone(), "tcp://plc:502", Framing::Mbap);
        let request = [0, 9, 0, 0, 0, 6, 1, 3, 0, 4, 0, 2];
        let reply = [0, 9, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
        let device = async {
            let mut got = [0u8; 12];
            theirs.read_exact(&mut got).await.expect("request");
            theirs.write_all(&reply).await.expect("reply");
            got
        };
        let client = async {
            tap.write_all(&request).await.expect("write");
            tap.flush().await.expect("flush");
            let mut got = [0u8; 13];
            tap.read_exact(&mut got).await.expect("read");
            got
        };
        let (at_device, at_client) = tokio::join!(device, client);
        assert_eq!((at_device, at_client), (request, reply));

        let frames = monitor.snapshot(0);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].bytes, wire::hex(&request));
        assert_eq!(frames[1].bytes, wire::hex(&reply));
        assert_eq!(frames[1].request_seq, Some(frames[0].seq));
        assert_eq!((frames[1].address, frames[1].count), (Some(4), Some(2)));
    }

    #[tokio::test]
    async fn an_rtu_reply_of_an_unknown_function_ends_with_the_exchange() {
        let monitor = TrafficMonitor::new();
        monitor.set_enabled(true);
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut tap = Tap::new(ours, monitor.clone(), "rtu:///dev/ttyUSB0", Framing::Rtu);
        // A vendor function (0x41): neither side's size can be told from its bytes.
        let request = [1, 0x41, 0, 0xAA, 0xBB];
        let reply = [1, 0x41, 7, 0xCC, 0xDD];
        for _ in 0..2 {
            tap.write_all(&request).await.expect("write");
            tap.flush().await.expect("flush");
            let mut got = [0u8; 5];
            theirs.read_exact(&mut got).await.expect("request");
            theirs.write_all(&reply).await.expect("reply");
            tap.read_exact(&mut got).await.expect("read");
        }
        drop(tap);
        let frames = monitor.snapshot(0);
        let seen: Vec<(Direction, &str)> = frames
            .iter()
            .map(|f| (f.direction, f.bytes.as_str()))
            .collect();
        let (ask, answer) = (wire::hex(&request), wire::hex(&reply));
        assert_eq!(
            seen,
            [
                (Direction::Request, ask.as_str()),
                (Direction::Response, answer.as_str()),
                (Direction::Request, ask.as_str()),
                (Direction::Response, answer.as_str()),
            ]
        );
        assert!(frames.iter().all(|f| f.crc_ok == Some(false)));
    }

    #[tokio::test]
    async fn a_switched_off_monitor_sees_nothing_and_starts_at_the_next_request() {
        let monitor = TrafficMonitor::new();
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut tap = Tap::new(ours, monitor.clone(), "tcp://plc:502", Framing::Mbap);
        let request = [0, 1, 0, 0, 0, 6, 1, 6, 0, 4, 0, 2];
        tap.write_all(&request).await.expect("write");
        // Switched on before the reply: capture waits for the next request.
        monitor.set_enabled(true);
        let mut got = [0u8; 12];
        theirs.read_exact(&mut got).await.expect("request");
        theirs.write_all(&request).await.expect("echo");
        tap.read_exact(&mut got).await.expect("read");
        assert!(monitor.snapshot(0).is_empty());
        tap.write_all(&request).await.expect("write");
        assert_eq!(monitor.snapshot(0).len(), 1);
    }
}
