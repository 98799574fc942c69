//! Modbus for a polling client: register decoding, request planning (coalescing), and links (TCP, RTU,
//! RTU over TCP).
//!
//! - [`decode`]: registers and bits to engineering values and back (pure).
//! - [`plan`]: which reads cover a device's tags, and what the device refused (pure).
//! - [`link`]: one connection, one request at a time, timeouts that poison the connection.
//! - [`reader`]: a planned block read with splitting on exception 02/03.
//! - [`traffic`]: the traffic monitor, a capture of a link's frames taken from its bytes.
//!
//! This crate knows nothing of history, alarms, the engine's scheduling or the terminal.

pub mod decode;
pub mod link;
pub mod plan;
pub mod reader;
pub mod serial;
pub mod traffic;

pub use decode::{
    bit_masks, decode_bit, decode_registers, encode_bit, encode_coil, encode_registers, with_bit,
    DecodeError,
};
pub use link::{exception_name, Connection, LinkError, Payload};
pub use plan::{plan_device, split_block, BadRanges, Block};
pub use reader::{read_block, BlockRead};
pub use traffic::{Direction, Frame, TrafficMonitor};
