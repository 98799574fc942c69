//! Links: one connection to a Modbus TCP server, a serial port (RTU) or a serial gateway (RTU over
//! TCP), carrying one request at a time (`&mut self` makes that a compile-time fact).
//!
//! Timeouts: tokio-modbus has none, so every exchange runs under `tokio::time::timeout`. After a
//! timeout the reply may still arrive later and be taken for the answer to the next request (RTU has no
//! transaction id at all), so the connection is *poisoned*: the failing call returns
//! [`LinkError::Timeout`] and every later call fails at once with [`LinkError::Closed`] until the caller
//! opens a new connection. Any transport error or malformed frame poisons it the same way, since the
//! byte stream can no longer be trusted. Exception responses do not: the device answered properly.
//!
//! Serial pacing: RTU frames must be separated by 3.5 character times of silence, which tokio-modbus
//! does not keep. Before each request on a serial line this module waits until that silence has passed
//! since the last traffic (4.0 ms at 9600 baud 8E1, 2.0 ms at 19200, a fixed 1.75 ms above 19200).
//! Stray input (a late reply of a device that timed out) is discarded before every request (see
//! [`crate::serial`]).

use std::fmt;
use std::io;
use std::time::Duration;

use plantwatch_core::{Link, SocketEndpoint, Table};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_modbus::client::{Client, Context};
use tokio_modbus::prelude::{
    ReadCode, ReadDeviceIdentificationResponse, Request, Response, Slave, SlaveContext,
};

use crate::plan::{MAX_BITS, MAX_REGISTERS};
use crate::serial;
use crate::traffic::tap::Tap;
use crate::traffic::wire::Framing;
use crate::traffic::TrafficMonitor;

/// Most registers FC16 may write.
pub const MAX_WRITE_REGISTERS: u16 = 123;
/// Most coils FC15 may write.
pub const MAX_WRITE_COILS: u16 = 1968;

/// What a read returns, or a write sends: registers for register tables, bits for bit tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Registers(Vec<u16>),
    Bits(Vec<bool>),
}

impl Payload {
    /// Number of items (registers or bits).
    pub fn len(&self) -> usize {
        match self {
            Payload::Registers(r) => r.len(),
            Payload::Bits(b) => b.len(),
        }
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why the link (not the device) failed. Device exceptions are not link errors: they come back as the
/// inner `Err(code)` of [`Connection::read`] and [`Connection::write`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The connection could not be opened (refused, unknown host, no such serial port, too slow).
    #[error("cannot open {link}: {reason}")]
    Connect { link: String, reason: String },
    /// No complete reply within the timeout; the connection is now poisoned.
    #[error("no reply within {} ms", after.as_millis())]
    Timeout { after: Duration },
    /// The transport failed during an exchange (reset, closed by the peer, serial I/O error).
    #[error("link failed: {reason}")]
    Io { kind: io::ErrorKind, reason: String },
    /// A reply arrived that does not belong to the request (wrong unit, function, length, CRC).
    #[error("bad reply: {reason}")]
    BadFrame { reason: String },
    /// An earlier failure poisoned this connection; open a new one.
    #[error("connection closed after an earlier failure; reopen it")]
    Closed,
    /// The request itself is not allowed (zero or too many items, a write to a read-only table, a
    /// payload that does not match the table). Nothing was sent; the connection stays usable.
    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },
}

impl LinkError {
    /// True when the device (or something on its link) answered with a malformed frame: wrong length,
    /// function, unit, transaction id or CRC. Its tags get the cause `bad_reply`, not a lost connection.
    pub fn is_bad_reply(&self) -> bool {
        matches!(self, LinkError::BadFrame { .. })
    }

    /// True when the connection is unusable after this error and must be reopened.
    pub fn needs_reopen(&self) -> bool {
        !matches!(self, LinkError::InvalidRequest { .. })
    }
}

/// The name of a Modbus exception code, for messages: `illegal data address` for 02.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "illegal function",
        0x02 => "illegal data address",
        0x03 => "illegal data value",
        0x04 => "server device failure",
        0x05 => "acknowledge",
        0x06 => "server device busy",
        0x08 => "memory parity error",
        0x0A => "gateway path unavailable",
        0x0B => "gateway target device failed to respond",
        _ => "unknown exception",
    }
}

/// One open link. Devices that share a link share one `Connection` (and so take turns).
pub struct Connection {
    link: Link,
    /// `None` once poisoned.
    context: Option<Context>,
    /// Serial lines only: silence required between frames.
    frame_gap: Option<Duration>,
    /// When the line last carried a frame (serial pacing).
    last_traffic: Instant,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("link", &self.link)
            .field("open", &self.is_open())
            .finish()
    }
}

impl Connection {
    /// Opens a link, giving up after `timeout`.
    pub async fn open(link: &Link, timeout: Duration) -> Result<Connection, LinkError> {
        Connection::open_with(link, timeout, None).await
    }

    /// Opens a link like [`Connection::open`], its frames recorded by `traffic` whenever that monitor
    /// is on (see [`crate::traffic`]).
    pub async fn open_with(
        link: &Link,
        timeout: Duration,
        traffic: Option<&TrafficMonitor>,
    ) -> Result<Connection, LinkError> {
        let connect_error = |reason: String| LinkError::Connect {
            link: link.to_string(),
            reason,
        };
        let opening = async {
            match link {
                Link::Tcp(endpoint) | Link::RtuOverTcp(endpoint) => {
                    let stream = connect_tcp(endpoint).await?;
                    Ok::<_, io::Error>((context_over(link, stream, traffic), None))
                }
                Link::Rtu(line) => {
                    let port = serial::open(line)?;
                    Ok((
                        context_over(link, port, traffic),
                        Some(serial::frame_gap(line)),
                    ))
                }
            }
        };
        let (context, frame_gap) = match tokio::time::timeout(timeout, opening).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(err)) => return Err(connect_error(err.to_string())),
            Err(_) => {
                return Err(connect_error(format!(
                    "no connection within {} ms",
                    timeout.as_millis()
                )))
            }
        };
        Ok(Connection {
            link: link.clone(),
            context: Some(context),
            frame_gap,
            last_traffic: Instant::now(),
        })
    }

    /// A connection over a byte stream that is already open, framed as `link` frames (MBAP for
    /// [`Link::Tcp`], RTU for RTU and RTU over TCP) but without serial pacing. For in-memory peers: the
    /// fuzzer feeds the reply path bytes that no real device would send through it.
    pub fn attach<S>(link: &Link, stream: S) -> Connection
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + fmt::Debug + 'static,
    {
        Connection::attach_with(link, stream, None)
    }

    /// [`Connection::attach`] with its frames recorded by `traffic` whenever that monitor is on.
    pub fn attach_with<S>(link: &Link, stream: S, traffic: Option<&TrafficMonitor>) -> Connection
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + fmt::Debug + 'static,
    {
        Connection {
            link: link.clone(),
            context: Some(context_over(link, stream, traffic)),
            frame_gap: None,
            last_traffic: Instant::now(),
        }
    }

    /// The link this connection was opened on.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// False once a timeout or a link failure has poisoned the connection.
    pub fn is_open(&self) -> bool {
        self.context.is_some()
    }

    /// Reads `count` items of `table` from `start` on unit `unit`. The outer error is the link failing,
    /// the inner one the device answering with an exception code.
    pub async fn read(
        &mut self,
        unit: u8,
        table: Table,
        start: u16,
        count: u16,
        timeout: Duration,
    ) -> Result<Result<Payload, u8>, LinkError> {
        let limit = if table.is_bits() {
            MAX_BITS
        } else {
            MAX_REGISTERS
        };
        if count == 0 || count > limit {
            return Err(invalid(format!(
                "cannot read {count} {} items at once (1-{limit})",
                table.name()
            )));
        }
        if u32::from(start) + u32::from(count) > 0x1_0000 {
            return Err(invalid(format!(
                "{count} items from {start} run past address 65535"
            )));
        }
        let request = match table {
            Table::Coil => Request::ReadCoils(start, count),
            Table::Discrete => Request::ReadDiscreteInputs(start, count),
            Table::Input => Request::ReadInputRegisters(start, count),
            Table::Holding => Request::ReadHoldingRegisters(start, count),
        };
        let response = match self.exchange(unit, request, timeout).await? {
            Ok(response) => response,
            Err(code) => return Ok(Err(code)),
        };
        let expected = usize::from(count);
        let payload = match response {
            // Bits come back padded to whole bytes: keep only the ones asked for.
            Response::ReadCoils(mut bits) | Response::ReadDiscreteInputs(mut bits)
                if bits.len() >= expected =>
            {
                bits.truncate(expected);
                Payload::Bits(bits)
            }
            Response::ReadInputRegisters(regs) | Response::ReadHoldingRegisters(regs)
                if regs.len() == expected =>
            {
                Payload::Registers(regs)
            }
            other => {
                return Err(self.poison(LinkError::BadFrame {
                    reason: format!("asked for {count} items, got {}", describe(&other)),
                }))
            }
        };
        Ok(Ok(payload))
    }

    /// Writes `data` to `table` from `start` on unit `unit`: FC5 or FC15 for coils, FC6 or FC16 for
    /// holding registers (the single-item codes when there is one item).
    pub async fn write(
        &mut self,
        unit: u8,
        table: Table,
        start: u16,
        data: &Payload,
        timeout: Duration,
    ) -> Result<Result<(), u8>, LinkError> {
        let request = match (table, data) {
            (Table::Coil, Payload::Bits(bits)) if bits.len() == 1 => {
                Request::WriteSingleCoil(start, bits[0])
            }
            (Table::Coil, Payload::Bits(bits))
                if !bits.is_empty() && bits.len() <= usize::from(MAX_WRITE_COILS) =>
            {
                Request::WriteMultipleCoils(start, bits.as_slice().into())
            }
            (Table::Holding, Payload::Registers(regs)) if regs.len() == 1 => {
                Request::WriteSingleRegister(start, regs[0])
            }
            (Table::Holding, Payload::Registers(regs))
                if !regs.is_empty() && regs.len() <= usize::from(MAX_WRITE_REGISTERS) =>
            {
                Request::WriteMultipleRegisters(start, regs.as_slice().into())
            }
            (Table::Coil | Table::Holding, _) => {
                return Err(invalid(format!(
                    "cannot write {} items of the wrong kind or count to the {} table",
                    data.len(),
                    table.name()
                )))
            }
            (Table::Input | Table::Discrete, _) => {
                return Err(invalid(format!("the {} table is read-only", table.name())))
            }
        };
        if u32::from(start) + data.len() as u32 > 0x1_0000 {
            return Err(invalid(format!(
                "{} items from {start} run past address 65535",
                data.len()
            )));
        }
        self.exchange_write(unit, request, timeout).await
    }

    /// Sends a write and checks the device's echo (see [`echo_fits`]): a reply naming another address
    /// or count is not the answer to this write (tokio-modbus checks only the function code), so the
    /// connection is poisoned like for any malformed frame.
    async fn exchange_write(
        &mut self,
        unit: u8,
        request: Request<'_>,
        timeout: Duration,
    ) -> Result<Result<(), u8>, LinkError> {
        let sent = format!("{request:?}");
        let echo = match self.exchange(unit, request.clone(), timeout).await? {
            Err(code) => return Ok(Err(code)),
            Ok(response) => response,
        };
        if echo_fits(&request, &echo) {
            Ok(Ok(()))
        } else {
            Err(self.poison(LinkError::BadFrame {
                reason: format!("the write's echo {echo:?} does not answer {sent}"),
            }))
        }
    }

    /// Sets or clears one bit of holding register `address` on the device itself with a mask write
    /// (FC 22), so no other bit can change between a read and a write. Devices that do not implement
    /// FC 22 answer exception 01; the caller then falls back to a read-modify-write.
    pub async fn mask_write(
        &mut self,
        unit: u8,
        address: u16,
        and_mask: u16,
        or_mask: u16,
        timeout: Duration,
    ) -> Result<Result<(), u8>, LinkError> {
        let request = Request::MaskWriteRegister(address, and_mask, or_mask);
        self.exchange_write(unit, request, timeout).await
    }

    /// Reads device identification objects (FC 43 / MEI 14) with read device id `code` from object id
    /// `object`. Used by the scanner ([`crate::ident`]); the engine never sends it.
    pub async fn read_identification(
        &mut self,
        unit: u8,
        code: ReadCode,
        object: u8,
        timeout: Duration,
    ) -> Result<Result<ReadDeviceIdentificationResponse, u8>, LinkError> {
        let request = Request::ReadDeviceIdentification(code, object);
        match self.exchange(unit, request, timeout).await? {
            Err(code) => Ok(Err(code)),
            Ok(Response::ReadDeviceIdentification(answer)) => Ok(Ok(answer)),
            Ok(other) => Err(self.poison(LinkError::BadFrame {
                reason: format!("device identification answered by {}", describe(&other)),
            })),
        }
    }

    /// Closes the connection politely (a dropped connection closes too).
    pub async fn close(mut self) {
        if let Some(mut context) = self.context.take() {
            let _ = context.disconnect().await;
        }
    }

    /// One request and its reply, under the timeout; poisons the connection on any link failure.
    async fn exchange(
        &mut self,
        unit: u8,
        request: Request<'_>,
        timeout: Duration,
    ) -> Result<Result<Response, u8>, LinkError> {
        if let Some(gap) = self.frame_gap {
            tokio::time::sleep_until(self.last_traffic + gap).await;
        }
        let context = self.context.as_mut().ok_or(LinkError::Closed)?;
        context.set_slave(Slave(unit));
        let outcome = tokio::time::timeout(timeout, context.call(request)).await;
        self.last_traffic = Instant::now();
        match outcome {
            Err(_) => Err(self.poison(LinkError::Timeout { after: timeout })),
            Ok(Err(tokio_modbus::Error::Protocol(err))) => Err(self.poison(LinkError::BadFrame {
                reason: err.to_string(),
            })),
            Ok(Err(tokio_modbus::Error::Transport(err))) => Err(self.poison(io_error(err))),
            Ok(Ok(Err(code))) => Ok(Err(u8::from(code))),
            Ok(Ok(Ok(response))) => Ok(Ok(response)),
        }
    }

    fn poison(&mut self, err: LinkError) -> LinkError {
        // Dropping the context closes the socket or the port; a late reply then has nowhere to go.
        self.context = None;
        err
    }
}

/// A tokio-modbus client over `stream`, framed as `link` frames (MBAP for [`Link::Tcp`], RTU for RTU and
/// RTU over TCP), through a traffic tap when there is a monitor (none: the stream as it is).
fn context_over<S>(link: &Link, stream: S, traffic: Option<&TrafficMonitor>) -> Context
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + fmt::Debug + 'static,
{
    let framing = match link {
        Link::Tcp(_) => Framing::Mbap,
        Link::RtuOverTcp(_) | Link::Rtu(_) => Framing::Rtu,
    };
    match (traffic, framing) {
        (None, Framing::Mbap) => tokio_modbus::client::tcp::attach(stream),
        (None, Framing::Rtu) => tokio_modbus::client::rtu::attach(stream),
        (Some(monitor), framing) => {
            let tap = Tap::new(stream, monitor.clone(), &link.to_string(), framing);
            match framing {
                Framing::Mbap => tokio_modbus::client::tcp::attach(tap),
                Framing::Rtu => tokio_modbus::client::rtu::attach(tap),
            }
        }
    }
}

fn invalid(reason: String) -> LinkError {
    LinkError::InvalidRequest { reason }
}

fn io_error(err: io::Error) -> LinkError {
    match err.kind() {
        // The codecs report malformed frames (bad CRC, bad length) as invalid data.
        io::ErrorKind::InvalidData => LinkError::BadFrame {
            reason: err.to_string(),
        },
        kind => LinkError::Io {
            kind,
            reason: err.to_string(),
        },
    }
}

/// Whether `response` is the echo of the write `request`: the same address, count, coil state and
/// masks. A single register's echo may carry another value: devices that clamp a setpoint echo what
/// they stored, and the read-back that follows every write reports that as a mismatch.
fn echo_fits(request: &Request<'_>, response: &Response) -> bool {
    match (request, response) {
        (Request::WriteSingleCoil(a, on), Response::WriteSingleCoil(ra, ron)) => {
            a == ra && on == ron
        }
        (Request::WriteMultipleCoils(a, bits), Response::WriteMultipleCoils(ra, n)) => {
            a == ra && bits.len() == usize::from(*n)
        }
        (Request::WriteSingleRegister(a, _), Response::WriteSingleRegister(ra, _)) => a == ra,
        (Request::WriteMultipleRegisters(a, words), Response::WriteMultipleRegisters(ra, n)) => {
            a == ra && words.len() == usize::from(*n)
        }
        (Request::MaskWriteRegister(a, and, or), Response::MaskWriteRegister(ra, rand, ror)) => {
            (a, and, or) == (ra, rand, ror)
        }
        _ => false,
    }
}

fn describe(response: &Response) -> String {
    match response {
        Response::ReadCoils(b) | Response::ReadDiscreteInputs(b) => format!("{} bits", b.len()),
        Response::ReadInputRegisters(r) | Response::ReadHoldingRegisters(r) => {
            format!("{} registers", r.len())
        }
        other => format!("{other:?}"),
    }
}

async fn connect_tcp(endpoint: &SocketEndpoint) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
    // Requests are small and latency matters more than packet count.
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_answered_only_by_its_own_echo() {
        let single = Request::WriteSingleRegister(230, 1500);
        assert!(echo_fits(
            &single,
            &Response::WriteSingleRegister(230, 1500)
        ));
        // A device that clamped the value echoes what it stored: the read-back reports it.
        assert!(echo_fits(
            &single,
            &Response::WriteSingleRegister(230, 1000)
        ));
        assert!(!echo_fits(
            &single,
            &Response::WriteSingleRegister(231, 1500)
        ));
        let coil = Request::WriteSingleCoil(1, true);
        assert!(!echo_fits(&coil, &Response::WriteSingleCoil(1, false)));
        let words = [1, 2, 3];
        let many = Request::WriteMultipleRegisters(10, words.as_slice().into());
        assert!(echo_fits(&many, &Response::WriteMultipleRegisters(10, 3)));
        assert!(!echo_fits(&many, &Response::WriteMultipleRegisters(10, 2)));
        let mask = Request::MaskWriteRegister(220, 0xFFF7, 0x0008);
        assert!(echo_fits(
            &mask,
            &Response::MaskWriteRegister(220, 0xFFF7, 0x0008)
        ));
        assert!(!echo_fits(
            &mask,
            &Response::MaskWriteRegister(220, 0xFFFF, 0x0008)
        ));
        assert!(!echo_fits(
            &single,
            &Response::ReadHoldingRegisters(vec![1500])
        ));
    }
}
