//! Support for the simulator's system tests (and the alarm tests that collect from it): the
//! `plantwatch simulate` process, the demo plant pointed at it, the pymodbus probe
//! (`tests/peers/sim_probe.py`) and mbpoll as independent clients, and decoding of their raw registers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::peers::Peer;
use crate::{peer, plantwatch_bin, python};

/// A running `plantwatch simulate`, killed (and reaped) on drop.
pub struct SimProcess {
    peer: Peer,
    /// The line it printed: `plantwatch simulate: serving the lift station (...) on tcp 127.0.0.1:PORT`.
    pub banner: String,
}

impl SimProcess {
    /// `plantwatch simulate --listen 127.0.0.1:0` plus `args`; waits for the banner.
    pub fn tcp(args: &[&str]) -> SimProcess {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        SimProcess::start(&all)
    }

    /// `plantwatch simulate` with exactly `args`; waits for the banner line on stdout.
    pub fn start(args: &[&str]) -> SimProcess {
        let mut command = Command::new(plantwatch_bin());
        command.arg("simulate").args(args);
        let mut peer = Peer::spawn(&format!("plantwatch simulate {args:?}"), command);
        let banner = peer.next_line();
        SimProcess { peer, banner }
    }

    /// The TCP port from the banner.
    pub fn port(&self) -> u16 {
        self.banner
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port at the end of the banner {:?}", self.banner))
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        self.peer.terminate()
    }
}

/// A temp copy of `assets/demo-plant.toml` pointed at a simulator on `port`, polling every `poll_ms`
/// (a sped-up plant needs faster polls to see the same plant-time detail). Its history is
/// `demo-plant.db` beside it.
pub fn demo_plant_copy(dir: &Path, port: u16, poll_ms: u32) -> PathBuf {
    let text = plantwatch_sim::DEMO_PLANT_TOML;
    assert!(
        text.contains("port = 5020") && text.contains("poll_ms = 1000"),
        "the demo plant's defaults moved"
    );
    let text = text
        .replace("port = 5020", &format!("port = {port}"))
        .replace("poll_ms = 1000", &format!("poll_ms = {poll_ms}"));
    let path = dir.join("demo-plant.toml");
    std::fs::write(&path, text).expect("write the plant copy");
    path
}

/// Where the pymodbus probe connects.
#[derive(Debug, Clone, Copy)]
pub enum ProbeLink<'a> {
    Tcp(u16),
    RtuOverTcp(u16),
    Serial(&'a Path),
}

/// Runs `requests` (see `tests/peers/sim_probe.py`) through pymodbus and returns one result per request.
pub fn probe(link: ProbeLink<'_>, requests: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut command = Command::new(python());
    command.arg(peer("sim_probe.py"));
    match link {
        ProbeLink::Tcp(port) => command.args(["--tcp", &port.to_string()]),
        ProbeLink::RtuOverTcp(port) => command.args(["--tcp", &port.to_string(), "--rtu-framer"]),
        ProbeLink::Serial(path) => command.arg("--serial").arg(path),
    };
    let input = tempfile::NamedTempFile::new().expect("temp file for the probe's requests");
    std::fs::write(input.path(), requests.to_string()).expect("write the probe's requests");
    let file = std::fs::File::open(input.path()).expect("open the probe's requests");
    let output = command
        .stdin(file)
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sim_probe.py: {e}"));
    let text = String::from_utf8_lossy(&output.stdout);
    let results: Vec<serde_json::Value> = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("sim_probe.py printed {text:?}: {e}"));
    results
}

/// Where mbpoll connects.
#[derive(Debug, Clone, Copy)]
pub enum MbpollLink<'a> {
    Tcp(u16),
    Serial(&'a Path),
}

/// What mbpoll got for one read.
#[derive(Debug, Clone, PartialEq)]
pub enum MbpollAnswer {
    /// The values it printed, as text, in address order (`[N]: value` lines).
    Values(Vec<String>),
    /// The exception code behind its error message.
    Exception(u8),
    /// Anything else (timeout, refused), with its output.
    Failed(String),
}

/// One read with mbpoll (Debian's libmodbus client): `data_type` is mbpoll's `-t` (0 coils,
/// 1 discrete inputs, 3 input registers, 4 holding, `3:float` ...), `address` 0-based.
pub fn mbpoll(
    link: MbpollLink<'_>,
    unit: u8,
    data_type: &str,
    address: u16,
    count: u16,
) -> MbpollAnswer {
    let mut command = Command::new("mbpoll");
    match link {
        MbpollLink::Tcp(port) => command.args(["-m", "tcp", "-p", &port.to_string()]),
        MbpollLink::Serial(_) => command.args(["-m", "rtu", "-b", "19200", "-P", "none"]),
    };
    command.args([
        "-a",
        &unit.to_string(),
        "-t",
        data_type,
        "-0",
        "-r",
        &address.to_string(),
    ]);
    command.args(["-c", &count.to_string(), "-1", "-o", "1"]);
    match link {
        MbpollLink::Tcp(_) => command.arg("127.0.0.1"),
        MbpollLink::Serial(path) => command.arg(path),
    };
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run mbpoll: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let values: Vec<String> = stdout
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix('[')
                .and_then(|l| l.split_once("]:"))
        })
        .map(|(_, v)| v.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    if !values.is_empty() {
        return MbpollAnswer::Values(values);
    }
    // libmodbus's messages for the exception codes (modbus_strerror).
    let known = [
        ("Illegal function", 0x01),
        ("Illegal data address", 0x02),
        ("Illegal data value", 0x03),
        ("Target device failed to respond", 0x0B),
        ("Gateway path unavailable", 0x0A),
    ];
    for (message, code) in known {
        if stderr.contains(message) || stdout.contains(message) {
            return MbpollAnswer::Exception(code);
        }
    }
    MbpollAnswer::Failed(format!("{stdout}{stderr}"))
}

/// Decodes a value from raw registers, independently of Plantwatch's own decoder: `kind` is `u16`,
/// `i16`, `u32` (ABCD), `u64` (ABCD), `f32_cdab` or `string`.
pub fn decode(kind: &str, words: &[u16]) -> serde_json::Value {
    let be = |n: usize| {
        words[..n]
            .iter()
            .fold(0u64, |acc, w| (acc << 16) | u64::from(*w))
    };
    match kind {
        "u16" => serde_json::json!(words[0]),
        "i16" => serde_json::json!(words[0] as i16),
        "u32" => serde_json::json!(be(2)),
        "u64" => serde_json::json!(be(4)),
        "f32_cdab" => serde_json::json!(f32::from_bits(
            (u32::from(words[1]) << 16) | u32::from(words[0])
        )),
        "string" => {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            let text = String::from_utf8_lossy(&bytes)
                .trim_end_matches('\0')
                .to_string();
            serde_json::json!(text)
        }
        other => panic!("decode() does not know {other}"),
    }
}

/// Width in registers of a [`decode`] kind.
pub fn width(kind: &str, length: usize) -> usize {
    match kind {
        "u16" | "i16" => 1,
        "u32" | "f32_cdab" => 2,
        "u64" => 4,
        _ => length,
    }
}
