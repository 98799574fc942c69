//! Support for the write tests (`tests/tests/engine_write.rs`): the write peer
//! (`tests/peers/write_server.py`, pymodbus with a request log, clamped registers, an optional FC 22 and
//! pymodbus's own decoding of what it holds), and an audit trail that keeps what it is given.

use std::sync::Mutex;

use plantwatch_engine::{WriteAudit, WriteReport};

use crate::peers::{PythonServer, Transport};

/// Function codes that change a device: write coil(s), write register(s), mask write.
pub const WRITE_FUNCTIONS: [u8; 5] = [0x05, 0x06, 0x0F, 0x10, 0x16];

/// The write peer, killed on drop.
pub struct WriteServer {
    server: PythonServer,
    _dir: tempfile::TempDir,
}

impl WriteServer {
    /// Starts the peer with `spec` (see the script's docs) on a free TCP port of 127.0.0.1.
    pub fn start(spec: &serde_json::Value) -> WriteServer {
        let dir = tempfile::tempdir().expect("temp dir for the spec");
        let path = dir.path().join("spec.json");
        std::fs::write(&path, spec.to_string()).expect("write the spec");
        let args = vec!["--spec".into(), path.into_os_string()];
        WriteServer {
            server: PythonServer::start("write_server.py", args, Transport::Tcp, false),
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Sends a command and returns what follows its `ok`.
    fn ask(&mut self, line: &str) -> String {
        let answer = self.server.ask(line);
        match answer.strip_prefix("ok") {
            Some(rest) => rest.trim().to_string(),
            None => panic!("write server refused `{line}`: {answer}"),
        }
    }

    /// The function codes of every request since the last [`WriteServer::clear`].
    pub fn requests(&mut self) -> Vec<u8> {
        self.ask("requests")
            .split_whitespace()
            .map(|fc| fc.parse().expect("a function code"))
            .collect()
    }

    /// The writes among [`WriteServer::requests`].
    pub fn writes(&mut self) -> Vec<u8> {
        self.requests()
            .into_iter()
            .filter(|fc| WRITE_FUNCTIONS.contains(fc))
            .collect()
    }

    /// Unit 1 stops answering (`true`) or answers again.
    pub fn mute(&mut self, mute: bool) {
        self.ask(if mute { "mute 1" } else { "unmute 1" });
    }

    /// Forgets the requests logged so far.
    pub fn clear(&mut self) {
        self.ask("clear");
    }

    /// Raw values of unit 1: registers, or 0/1 for coils.
    pub fn get(&mut self, table: &str, address: u16, count: u16) -> Vec<u16> {
        self.ask(&format!("get 1 {table} {address} {count}"))
            .split_whitespace()
            .map(|v| v.parse().expect("a raw value"))
            .collect()
    }

    /// Unit 1's holding registers at `address` decoded by pymodbus as `type_name` in `order`
    /// (`string` takes its length in registers), in Python's repr: `-1234.5`, `'PW42'`.
    pub fn value(&mut self, address: u16, type_name: &str, order: &str, length: u16) -> String {
        self.ask(&format!("value 1 {address} {type_name} {order} {length}"))
    }
}

/// An audit trail that keeps every report with its comment.
#[derive(Default)]
pub struct KeptAudit {
    pub kept: Mutex<Vec<(WriteReport, Option<String>)>>,
}

impl KeptAudit {
    /// The outcome words recorded so far, in order.
    pub fn words(&self) -> Vec<&'static str> {
        self.kept
            .lock()
            .expect("audit lock")
            .iter()
            .map(|(report, _)| report.outcome.word())
            .collect()
    }
}

impl WriteAudit for KeptAudit {
    fn record(&self, report: &WriteReport, comment: Option<&str>) -> Result<(), String> {
        self.kept
            .lock()
            .map_err(|_| "audit lock poisoned".to_string())?
            .push((report.clone(), comment.map(str::to_string)));
        Ok(())
    }
}
