//! Modbus for a polling client: register decoding, request planning (coalescing), and links (TCP, RTU,
//! RTU over TCP).
//!
//! - [`decode`]: registers and bits to engineering values and back (pure).
//! - [`plan`]: which reads cover a device's tags, and what the device refused (pure).
//! - [`link`]: one connection, one request at a time, timeouts that poison the connection.
//! - [`orders`]: a window of registers decoded in every type and word order side by side (pure).
//! - [`reader`]: a planned block read with splitting on exception 02/03.
//! - [`scan`], [`ident`], [`ports`]: the commissioning scanner (unit ids, readable ranges, serial
//!   settings), device identification (FC 43/14) and the machine's serial ports.
//! - [`traffic`]: the traffic monitor, a capture of a link's frames taken from its bytes.
//!
//! This crate knows nothing of history, alarms, the engine's scheduling or the terminal.

pub mod decode;
pub mod ident;
pub mod link;
pub mod orders;
pub mod plan;
pub mod ports;
pub mod reader;
pub mod scan;
pub mod serial;
pub mod traffic;

pub use decode::{
    bit_masks, decode_bit, decode_registers, encode_bit, encode_coil, encode_registers, with_bit,
    DecodeError,
};
pub use ident::{identify, identify_with, DeviceIdentity, IdentifyError, IdentityObject};
pub use link::{exception_name, Connection, LinkError, Payload};
pub use orders::{
    decode_window, Decoded32, Decoded64, Reading, RegisterDecodings, RegisterOrder64,
};
pub use plan::{plan_device, split_block, BadRanges, Block};
pub use ports::{serial_ports, SerialPortInfo};
pub use reader::{read_block, BlockRead};
pub use scan::{
    probe_serial, scan_ranges, scan_units, ProbeOutcome, ProbeProgress, ProbeResult, RangeProgress,
    RangeScan, SerialSettings, UnitAnswer, UnitFound, UnitProgress, UnitScan,
};
pub use traffic::{Direction, Frame, TrafficMonitor};
