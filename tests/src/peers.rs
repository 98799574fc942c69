//! Independent Modbus peers for the system tests: a pymodbus server (TCP, RTU over TCP, RTU on a
//! serial port), a socat pseudo-terminal pair, the libmodbus C server and client bench, and a TCP
//! server that accepts but never answers.
//!
//! Every peer binds 127.0.0.1 port 0 and reports its real port; readiness is a line the peer prints,
//! never a sleep. Every process is killed when its handle drops.
//!
//! ```no_run
//! use plantwatch_system_tests::peers::PymodbusServer;
//! let spec = serde_json::json!({"units": {"1": {"holding": {"0": [1, 2, 3]}}}});
//! let server = PymodbusServer::tcp(&spec);
//! println!("pymodbus listens on 127.0.0.1:{}", server.port());
//! ```

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{peer, python};

/// How long a peer may take to report that it is ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A child process killed (and reaped) on drop, with its stdout lines arriving on a channel. Every
/// test peer that reports readiness on stdout (the Python servers, the C server, `plantwatch
/// simulate`) runs as one.
pub(crate) struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Peer {
    /// Starts `command` with stdin and stdout piped; stderr stays as the command has it (inherited
    /// unless the caller set it).
    pub(crate) fn spawn(name: &str, mut command: Command) -> Peer {
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            name: name.to_string(),
            child,
            stdin,
            lines,
        }
    }

    /// The peer's process id (benchmarks read its CPU time).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the next stdout line, failing the test if the peer exits or stays silent.
    pub(crate) fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(READY_WITHIN) {
            Ok(line) => line,
            Err(_) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "{} printed nothing within {READY_WITHIN:?} (exit status: {status:?})",
                    self.name
                )
            }
        }
    }

    /// Waits for the `PORT <n>` line.
    pub(crate) fn port(&mut self) -> u16 {
        let line = self.next_line();
        line.strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{} printed {line:?}, expected `PORT <n>`", self.name))
    }

    /// Writes a command line to the peer's stdin and returns its answer (the next stdout line).
    pub(crate) fn ask(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot write to {}: {e}", self.name));
        self.next_line()
    }

    /// Sends SIGTERM, as a service manager would, and waits for the exit code.
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.map(|s| s.success()).unwrap_or(false),
            "could not send SIGTERM to {} ({pid})",
            self.name
        );
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a Python Modbus server from `tests/peers/` is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Modbus TCP on 127.0.0.1.
    Tcp,
    /// RTU frames over TCP on 127.0.0.1 (a serial-to-Ethernet gateway).
    RtuOverTcp,
    /// RTU on a serial port, 8 data bits, 1 stop bit.
    Serial {
        path: PathBuf,
        baud: u32,
        parity: char,
    },
}

/// A Python Modbus server script from `tests/peers/` (`modbus_server.py`, `engine_plant_server.py`):
/// both take `--framer`, `--port`, `--serial`, `--baud` and `--parity`, print `PORT <n>` once listening
/// on TCP or `READY` once on a serial port, and answer commands on stdin with one line. It can be
/// stopped and started again on the same port: a device that dies and comes back.
pub(crate) struct PythonServer {
    script: &'static str,
    /// The script's own arguments (its spec).
    args: Vec<OsString>,
    transport: Transport,
    /// Send its stderr to /dev/null rather than the test's output.
    quiet: bool,
    port: u16,
    peer: Option<Peer>,
}

impl PythonServer {
    /// Starts `tests/peers/<script>` with `args` and waits until it is ready.
    pub(crate) fn start(
        script: &'static str,
        args: Vec<OsString>,
        transport: Transport,
        quiet: bool,
    ) -> PythonServer {
        let mut server = PythonServer {
            script,
            args,
            transport,
            quiet,
            port: 0,
            peer: None,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let mut command = Command::new(python());
        command.arg(peer(self.script)).args(&self.args);
        match &self.transport {
            Transport::Tcp => {
                command.args(["--port", &self.port.to_string()]);
            }
            Transport::RtuOverTcp => {
                command.args(["--framer", "rtu", "--port", &self.port.to_string()]);
            }
            Transport::Serial { path, baud, parity } => {
                command.arg("--serial").arg(path);
                command.args(["--baud", &baud.to_string(), "--parity", &parity.to_string()]);
            }
        }
        if self.quiet {
            command.stderr(Stdio::null());
        }
        let mut peer = Peer::spawn(self.script, command);
        if let Transport::Serial { .. } = self.transport {
            let line = peer.next_line();
            assert_eq!(line, "READY", "{} on a serial port", self.script);
        } else {
            self.port = peer.port();
        }
        self.peer = Some(peer);
    }

    /// The TCP port (0 on a serial port).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server: the device is gone. Its port stays reserved for [`PythonServer::restart`].
    pub(crate) fn stop(&mut self) {
        self.peer = None;
    }

    /// Starts it again with the same arguments, on the same port, its values as at the start.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Sends a command line to the running server and returns its answer.
    pub(crate) fn ask(&mut self, line: &str) -> String {
        let script = self.script;
        self.peer
            .as_mut()
            .unwrap_or_else(|| panic!("{script} is not running"))
            .ask(line)
    }
}

/// A pymodbus 3.7 server (`tests/peers/modbus_server.py`) with a sparse datastore.
///
/// The spec is JSON: `{"units": {"1": {"holding": {"0": 17, "10": [1, 2, 3]}, "input": {...},
/// "coil": {"0": true}, "discrete": {...}, "delay_ms": 0, "mute": false}}}`. A list fills consecutive
/// addresses; an address not listed answers exception 02; `delay_ms` slows a unit's answers and
/// `mute` makes it never answer. Several unit ids share one server.
pub struct PymodbusServer {
    server: PythonServer,
    /// Holds the spec file for restarts.
    _dir: tempfile::TempDir,
}

impl PymodbusServer {
    /// Modbus TCP on 127.0.0.1, a free port.
    pub fn tcp(spec: &serde_json::Value) -> PymodbusServer {
        PymodbusServer::start(spec, Transport::Tcp)
    }

    /// RTU framing over TCP (as a serial-to-Ethernet gateway speaks) on 127.0.0.1, a free port.
    pub fn rtu_over_tcp(spec: &serde_json::Value) -> PymodbusServer {
        PymodbusServer::start(spec, Transport::RtuOverTcp)
    }

    /// RTU on a serial port (for example one end of a [`SocatPair`]), 8 data bits, 1 stop bit.
    pub fn serial(
        spec: &serde_json::Value,
        path: &Path,
        baud: u32,
        parity: char,
    ) -> PymodbusServer {
        PymodbusServer::start(
            spec,
            Transport::Serial {
                path: path.to_path_buf(),
                baud,
                parity,
            },
        )
    }

    fn start(spec: &serde_json::Value, transport: Transport) -> PymodbusServer {
        let dir = tempfile::tempdir().expect("temp dir for the spec");
        let spec_path = dir.path().join("spec.json");
        let spec_text = serde_json::to_string_pretty(spec).expect("spec is JSON");
        std::fs::write(&spec_path, spec_text).expect("write spec");
        let args = vec!["--spec".into(), spec_path.into_os_string()];
        PymodbusServer {
            server: PythonServer::start("modbus_server.py", args, transport, false),
            _dir: dir,
        }
    }

    /// The TCP port (0 for a serial server).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Stops the server (a device that dies). Its port stays reserved for [`PymodbusServer::restart`].
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Starts the server again with the original spec, on the same port (a device that comes back).
    pub fn restart(&mut self) {
        self.server.restart();
    }

    /// Sends a command to the running server and waits for its `ok`: `set UNIT TABLE ADDRESS VALUE...`,
    /// `delay UNIT MS`, `mute UNIT`, `unmute UNIT`.
    pub fn command(&mut self, line: &str) {
        let answer = self.server.ask(line);
        assert_eq!(answer, "ok", "pymodbus server refused `{line}`");
    }
}

/// Two linked pseudo-terminals made by socat: what one end writes, the other reads.
pub struct SocatPair {
    _peer: Peer,
    _dir: tempfile::TempDir,
    /// One end (give it to the server).
    pub a: PathBuf,
    /// The other end (give it to the client).
    pub b: PathBuf,
}

impl SocatPair {
    /// Starts socat and waits until both ends exist.
    pub fn new() -> SocatPair {
        let dir = tempfile::tempdir().expect("temp dir for the ptys");
        let a = dir.path().join("ttyA");
        let b = dir.path().join("ttyB");
        let mut command = Command::new("socat");
        command.arg(format!("pty,raw,echo=0,link={}", a.display()));
        command.arg(format!("pty,raw,echo=0,link={}", b.display()));
        let mut peer = Peer::spawn("socat", command);
        let deadline = Instant::now() + READY_WITHIN;
        while !(a.exists() && b.exists()) {
            if let Ok(Some(status)) = peer.child.try_wait() {
                panic!("socat exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "socat made no ptys within {READY_WITHIN:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        SocatPair {
            _peer: peer,
            _dir: dir,
            a,
            b,
        }
    }
}

impl Default for SocatPair {
    fn default() -> Self {
        SocatPair::new()
    }
}

/// A C program from `tests/peers/` compiled with `cc -O2 ... -lmodbus` into a temp dir.
pub struct CompiledPeer {
    _dir: tempfile::TempDir,
    /// The executable.
    pub path: PathBuf,
}

/// Compiles `tests/peers/<name>.c` against libmodbus.
pub fn compile_libmodbus_peer(name: &str) -> CompiledPeer {
    let dir = tempfile::tempdir().expect("temp dir for the binary");
    let path = dir.path().join(name);
    let output = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&path)
        .arg(peer(&format!("{name}.c")))
        .arg("-lmodbus")
        .output()
        .expect("run cc");
    assert!(
        output.status.success(),
        "cc {name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    CompiledPeer { _dir: dir, path }
}

/// The libmodbus TCP server (`tests/peers/libmodbus_server.c`): `count` coils, discrete inputs,
/// holding and input registers from `start`; holding register N holds `(N * 7) & 0xFFFF`, input register
/// N holds `N ^ 0x5A5A`, coil N is `N % 3 == 0`, discrete input N is `N % 2 == 0`.
pub struct LibmodbusServer {
    _binary: CompiledPeer,
    _peer: Peer,
    port: u16,
}

impl LibmodbusServer {
    /// Compiles and starts the server.
    pub fn start(start: u16, count: u32) -> LibmodbusServer {
        let binary = compile_libmodbus_peer("libmodbus_server");
        let mut command = Command::new(&binary.path);
        command.arg(start.to_string()).arg(count.to_string());
        let mut peer = Peer::spawn("libmodbus server", command);
        let port = peer.port();
        LibmodbusServer {
            _binary: binary,
            _peer: peer,
            port,
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Runs libmodbus's own client (`tests/peers/libmodbus_client_bench.c`): `reads` sequential reads of
/// `count` holding registers from address 0 on 127.0.0.1:`port`. Returns reads per second.
pub fn libmodbus_client_reads_per_second(port: u16, reads: u32, count: u16) -> f64 {
    let binary = compile_libmodbus_peer("libmodbus_client_bench");
    let output = Command::new(&binary.path)
        .args([port.to_string(), reads.to_string(), count.to_string()])
        .output()
        .expect("run the libmodbus client bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "libmodbus client bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "reads_per_second")
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("unexpected libmodbus client bench output: {stdout:?}"))
}

/// A TCP server that accepts connections and never answers: a device slower than any timeout.
pub struct SilentServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SilentServer {
    /// Listens on 127.0.0.1, a free port.
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            // Keep the connections open (and unread) until the server drops.
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        SilentServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A free TCP port on 127.0.0.1 with nothing listening: a device that is down.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A Modbus TCP device on 127.0.0.1 that answers every read with a malformed frame
/// (`tests/peers/bad_reply_server.py`): `mode` is `tid`, `unit`, `function` or `length`, the part of the
/// reply that is wrong.
pub struct BadReplyServer {
    server: PythonServer,
}

impl BadReplyServer {
    /// Starts the server on a free port.
    pub fn start(mode: &str) -> BadReplyServer {
        BadReplyServer {
            server: PythonServer::start(
                "bad_reply_server.py",
                vec![OsString::from(mode)],
                Transport::Tcp,
                false,
            ),
        }
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }
}
