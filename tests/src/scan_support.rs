//! Support for the scanner's system tests: `tests/peers/scan_server.py` (pymodbus with the units and
//! identification objects of `tests/data/scan/bus.json`) over TCP or a serial port.

use std::path::Path;

use crate::data;
use crate::peers::{PythonServer, Transport};

/// A running scan peer, stopped on drop.
pub struct ScanServer {
    server: PythonServer,
}

impl ScanServer {
    /// Modbus TCP on 127.0.0.1, a free port.
    pub fn tcp() -> ScanServer {
        ScanServer::start(Transport::Tcp)
    }

    /// RTU on a serial port (one end of a socat pair), 8 data bits, 1 stop bit.
    pub fn serial(path: &Path, baud: u32, parity: char) -> ScanServer {
        ScanServer::start(Transport::Serial {
            path: path.to_path_buf(),
            baud,
            parity,
        })
    }

    fn start(transport: Transport) -> ScanServer {
        let args = vec!["--bus".into(), data("scan/bus.json").into_os_string()];
        ScanServer {
            server: PythonServer::start("scan_server.py", args, transport, false),
        }
    }

    /// The TCP port (0 for a serial server).
    pub fn port(&self) -> u16 {
        self.server.port()
    }
}

/// The scan tests' bus description, `tests/data/scan/bus.json`.
pub fn bus() -> serde_json::Value {
    let text =
        std::fs::read_to_string(data("scan/bus.json")).expect("read tests/data/scan/bus.json");
    serde_json::from_str(&text).expect("tests/data/scan/bus.json is JSON")
}
