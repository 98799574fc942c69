//! The Modbus reply path on arbitrary bytes: a device's planned blocks are read through
//! `plantwatch_modbus::read_block` over a [`ScriptedServer`], an in-memory peer that answers each
//! request with the next piece of the input, and every payload that comes back is decoded into tag
//! values as the engine does. Any reply must end as payloads, exception codes or a `LinkError`, never a
//! panic or a hang (the peer ends the stream when its script runs out, so a short reply is an EOF).
//!
//! Input: the first byte picks the framing (bit 0: Modbus TCP, else RTU over TCP) and the table (bits
//! 1-2); the rest is the script, pieces of one length byte and that many reply bytes.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use plantwatch_core::{testing, Device, Link, SocketEndpoint, Table, Tag, ValueType, WordOrder};
use plantwatch_modbus::{
    decode_bit, decode_registers, plan_device, read_block, BadRanges, Connection, LinkError,
    Payload,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads every block of the chosen device over a peer scripted by `data`.
pub fn run(data: &[u8]) {
    let Some((&shape, script)) = data.split_first() else {
        return;
    };
    let device = device(shape);
    let server = ScriptedServer::new(script);
    runtime().block_on(read_device(&device, server));
}

/// How many tag values the reads of `data` decoded (for checking that seeds reach the decoding).
pub fn values_decoded(data: &[u8]) -> usize {
    let Some((&shape, script)) = data.split_first() else {
        return 0;
    };
    runtime().block_on(read_device(&device(shape), ScriptedServer::new(script)))
}

/// The framing (bit 0) and table (bits 1-2) a first byte picks, for the seeds.
pub fn shape(tcp: bool, table: Table) -> u8 {
    let table_bits = match table {
        Table::Coil => 0,
        Table::Discrete => 1,
        Table::Input => 2,
        Table::Holding => 3,
    };
    u8::from(!tcp) | table_bits << 1
}

/// The device a first byte picks: every value type on a register table (in two coalesced groups with
/// a gap that a refusal can split), or booleans spread over a bit table.
pub fn device(shape: u8) -> Device {
    let endpoint = SocketEndpoint {
        host: "fuzz".into(),
        port: 502,
    };
    let link = if shape & 1 == 0 {
        Link::Tcp(endpoint)
    } else {
        Link::RtuOverTcp(endpoint)
    };
    let table = match shape >> 1 & 0b11 {
        0 => Table::Coil,
        1 => Table::Discrete,
        2 => Table::Input,
        _ => Table::Holding,
    };
    let tags = if table.is_bits() {
        [0, 1, 7, 8, 30]
            .iter()
            .map(|&address| Tag::new(&format!("b{address}"), table, address, ValueType::Bool))
            .collect()
    } else {
        let types = [
            (0, ValueType::U16, WordOrder::Abcd),
            (1, ValueType::I16, WordOrder::Abcd),
            (2, ValueType::U32, WordOrder::Cdab),
            (4, ValueType::I32, WordOrder::Badc),
            (6, ValueType::F32, WordOrder::Dcba),
            (8, ValueType::F64, WordOrder::Abcd),
            (12, ValueType::U64, WordOrder::Cdab),
            (16, ValueType::I64, WordOrder::Abcd),
            (20, ValueType::Bit(3), WordOrder::Abcd),
            (21, ValueType::Bool, WordOrder::Abcd),
            (40, ValueType::String { registers: 4 }, WordOrder::Abcd),
        ];
        types
            .iter()
            .map(|&(address, value_type, order)| {
                Tag::new(&format!("r{address}"), table, address, value_type)
                    .with_order(order)
                    .with_scale(0.5)
            })
            .collect()
    };
    let mut device = testing::device("fuzz", tags);
    device.link = link;
    device.unit = 7;
    device.timeout = Duration::from_secs(1);
    device
}

/// Reads every planned block of `device`, decoding what comes back; returns the values decoded.
async fn read_device(device: &Device, server: ScriptedServer) -> usize {
    let mut decoded = 0;
    let mut connection = Connection::attach(&device.link, server);
    let mut bad = BadRanges::new();
    for block in plan_device(device, &bad) {
        let reads =
            match read_block(&mut connection, device, &block, &mut bad, device.timeout).await {
                Ok(reads) => reads,
                Err(LinkError::InvalidRequest { reason }) => {
                    panic!("a planned read is valid: {reason}")
                }
                // The link failed or the reply was malformed: the connection is poisoned, as it should be.
                Err(_) => {
                    assert!(!connection.is_open(), "a link error poisons the connection");
                    return decoded;
                }
            };
        for read in reads {
            let Ok(payload) = read.result else { continue };
            assert_eq!(
                payload.len(),
                usize::from(read.block.count),
                "a payload has the items asked for"
            );
            for &position in &read.block.tags {
                let tag = &device.tags[position as usize];
                let slot = read.block.slot(tag).expect("a block's tags lie inside it");
                match &payload {
                    Payload::Registers(registers) => {
                        let _ = decode_registers(tag, &registers[slot]);
                    }
                    Payload::Bits(bits) => {
                        let _ = decode_bit(tag, bits[slot.start]);
                    }
                }
                decoded += 1;
            }
        }
    }
    decoded
}

/// One runtime for all inputs (AFL runs many in one process); current-thread like the engine's own.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a Tokio runtime starts")
    })
}

/// An in-memory Modbus server that plays a script: each request (a write and a flush) releases the
/// next piece of the script as its reply; when the script runs out, the stream ends.
#[derive(Debug)]
pub struct ScriptedServer {
    pieces: VecDeque<Vec<u8>>,
    /// The reply being read, and how far.
    reply: Vec<u8>,
    read: usize,
    /// Bytes of a request written since the last reply was released.
    request_pending: bool,
}

impl ScriptedServer {
    /// A server answering with the pieces of `script`: a length byte, then that many bytes (fewer when
    /// the script ends first).
    pub fn new(script: &[u8]) -> ScriptedServer {
        let mut pieces = VecDeque::new();
        let mut rest = script;
        while let Some((&len, tail)) = rest.split_first() {
            let (piece, after) = tail.split_at(usize::from(len).min(tail.len()));
            pieces.push_back(piece.to_vec());
            rest = after;
        }
        ScriptedServer {
            pieces,
            reply: Vec::new(),
            read: 0,
            request_pending: false,
        }
    }
}

impl AsyncRead for ScriptedServer {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Nothing left to say is an end of stream, so the client never waits for a reply that will
        // not come (a real server that hangs is a timeout, which the link tests cover).
        let left = &self.reply[self.read..];
        let n = left.len().min(buf.remaining());
        buf.put_slice(&left[..n]);
        self.read += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ScriptedServer {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.request_pending = true;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if std::mem::take(&mut self.request_pending) {
            // Unread bytes of an earlier reply stay on the stream ahead of the new one, as on TCP.
            let read = std::mem::take(&mut self.read);
            self.reply.drain(..read);
            let next = self.pieces.pop_front().unwrap_or_default();
            self.reply.extend_from_slice(&next);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
