//! The local API under load (issue 13): requests per second for the current values of 1,000 tags and for
//! a 7-day thinned history, live values per second delivered to 20 WebSocket clients, and the poll
//! path's read rate with the API idle and under load. One table; every figure beside a peer measured in
//! the same run, as a ratio.
//!
//! Run: `cargo build --release -p plantwatch && cargo bench -p plantwatch-system-tests --bench api_serve`
//! (`PLANTWATCH_BIN` picks the binary; `target/release/plantwatch` is used when it exists, else the debug
//! build, which is much slower and says so). Sizes: `PLANTWATCH_BENCH_ROUNDS` (3), `PLANTWATCH_BENCH_SECONDS`
//! (per HTTP measurement, 5), `PLANTWATCH_BENCH_CONNECTIONS` (concurrent keep-alive connections, 8),
//! `PLANTWATCH_BENCH_CLIENTS` (WebSocket clients, 20). About two minutes with the defaults.
//!
//! The plant: one device of 1,000 u16 holding registers on the engine's bench server
//! (`tests/peers/engine_bench_server.c`, every register given a new random value once a second on
//! average, in ten steps), polled every 100 ms by the real `plantwatch collect` with `[api]` on a free
//! loopback port, deadband 0 and a one-hour heartbeat (so every stored sample is a change). Before
//! collect starts, 7 days of 1-second history of four of its tags are written into the same file with
//! `HistoryWriter`, as `desktop_trend` does.
//!
//! HTTP: a small HTTP/1.1 client here (keep-alive over a `TcpStream`, Content-Length or chunked bodies;
//! no client library, so the client costs as little of the two cores as possible) runs N connections
//! back to back for a few seconds per endpoint. The peer is the same client on the same server's
//! cheapest answer, `GET /api/v1/values?tag=...` of one tag, measured just before in the same round:
//! routing, the token check (a SQLite read per request, which every endpoint but the OpenAPI document
//! pays) and a small JSON body, so the ratio says what the endpoint's own work (1,000 values; thinning
//! 7 days) costs on top, whatever the machine. The OpenAPI document was meant as that ceiling (no
//! token), but it pays no token check, so it is not the same work; it is measured as a row of its own
//! (this bench found it rebuilt for every request, at a quarter of a one-tag answer; it is now built
//! once, and runs at about 3.5 times a one-tag answer).
//!
//! Live: N WebSocket clients (tokio-tungstenite, already in the tree under axum) subscribe to `dev0/*`
//! and count the values they receive whose reading time lies in a window of the run. The peer is the
//! engine's own count of changes in that window: the samples it stored (every change, with deadband 0
//! and no heartbeat due), read back from the file with `HistoryReader`. delivered / changed is 1.00 per
//! client when every change reached every client; a seq gap, a resync snapshot or a `lagged` would
//! show as less and is printed.
//!
//! Poll path: the measurement of `poll_read_rate` (an engine polling 125 registers of the libmodbus test
//! server back to back, whole poll path), run here in rounds of three: the API idle, the API serving a
//! paced load (`values` of 1,000 tags, 100 requests a second over 4 connections, a busy plant app), and
//! the API saturated (N connections back to back); each loaded figure against the idle one of its
//! round. Collect's own 100 ms poll of the 1,000 tags (missed cycles over the whole run, from
//! `/api/v1/devices`) is printed under the table. Polling back to back already keeps the engine and the
//! libmodbus server busy on both cores of a two-core machine, so a saturating load generator and the
//! API serving it must take a share of the cores from it: the saturated ratio measures that share, not
//! a lock or a queue between the API and the engine; the paced ratio and the missed cycles are the ones
//! to judge "the poll path unchanged" by.

mod poll_support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use plantwatch_core::{Quality, Sample, TagIndex, Timestamp, Value};
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_history::{HistoryReader, HistoryWriter, SampleQuery, WriterOptions};
use plantwatch_system_tests::peers::LibmodbusServer;
use plantwatch_system_tests::workspace_root;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const TAGS: u16 = 1000;
/// Tags with 7 days of 1-second history (the first ones of the device).
const HISTORY_TAGS: u32 = 4;
const DAYS: i64 = 7;
/// How long one poll-path measurement takes (as in `poll_read_rate`).
const POLL_MEASURE: Duration = Duration::from_secs(2);
/// The paced API load during a poll-path round: this many connections, each asking for the values of
/// the 1,000 tags once per [`PACED_EVERY`] (100 requests a second, a busy plant app's polling).
const PACED_CONNECTIONS: usize = 4;
const PACED_EVERY: Duration = Duration::from_millis(40);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The binary measured: `$PLANTWATCH_BIN`, else the release build, else the debug build.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PLANTWATCH_BIN") {
        return PathBuf::from(path);
    }
    let release = workspace_root().join("target/release/plantwatch");
    if release.exists() {
        return release;
    }
    eprintln!(
        "warning: target/release/plantwatch is missing: measuring the DEBUG build \
         (cargo build --release -p plantwatch for real figures)"
    );
    workspace_root().join("target/debug/plantwatch")
}

/// The bench plant: one device of [`TAGS`] u16 holding registers on the bench server, polled every
/// 100 ms, deadband 0 and a heartbeat of an hour, with the API on a free loopback port.
fn write_plant(dir: &Path, port: u16) -> PathBuf {
    let mut text = String::from(
        "[plant]\nname = \"API bench\"\n\n[history]\npath = \"bench.db\"\n\n\
         [api]\nlisten = \"127.0.0.1:0\"\n\n",
    );
    text.push_str(&format!(
        "[[devices]]\nid = \"dev0\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         unit = 1\npoll_ms = 100\ntimeout_ms = 1000\nmax_block = 125\nmax_gap = 16\ntags = [\n"
    ));
    for r in 0..TAGS {
        text.push_str(&format!(
            "  {{ id = \"r{r}\", table = \"holding\", address = {r}, type = \"u16\", heartbeat_s = 3600 }},\n"
        ));
    }
    text.push_str("]\n");
    let path = dir.join("plant.toml");
    std::fs::write(&path, text).expect("write the bench plant");
    path
}

/// 7 days of 1-second samples of the first [`HISTORY_TAGS`] tags, ending at `end`.
fn write_history(db: &Path, plant: &plantwatch_core::Plant, end: i64) -> u64 {
    let unbounded = WriterOptions {
        queue_samples: Some(usize::MAX),
    };
    let writer = HistoryWriter::open_with(db, plant, unbounded).expect("open the bench history");
    let sink = writer.sink();
    let start = end - DAYS * 86_400_000;
    let mut batch = Vec::with_capacity(40_000);
    let mut written = 0;
    for s in 0..DAYS * 86_400 {
        let time = Timestamp(start + s * 1000);
        let day = (s as f64) / 86_400.0 * std::f64::consts::TAU;
        for tag in 0..HISTORY_TAGS {
            // A daily swing with a faster ripple, so min/max columns have something to show.
            let v = 30_000.0
                + 10_000.0 * (day + f64::from(tag)).sin()
                + 2_000.0 * (s as f64 / 37.0 + f64::from(tag)).sin();
            batch.push(Sample {
                tag: TagIndex(tag),
                time,
                value: Some(Value::Number(v.round())),
                quality: Quality::Good,
            });
            written += 1;
        }
        if batch.len() >= 40_000 {
            sink.send(std::mem::take(&mut batch));
        }
    }
    sink.send(batch);
    writer.close().expect("flush the bench history");
    written
}

/// `plantwatch tokens --db DB add bench --scope read`: the token.
fn read_token(db: &Path) -> String {
    let out = Command::new(binary())
        .args(["tokens", "--db"])
        .arg(db)
        .args(["add", "bench", "--scope", "read"])
        .stdin(Stdio::null())
        .output()
        .expect("run plantwatch tokens");
    assert!(
        out.status.success(),
        "tokens add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `plantwatch collect` serving the API; SIGTERM on drop.
struct Collect {
    child: Option<Child>,
    log: PathBuf,
}

impl Collect {
    fn start(config: &Path, db: &Path) -> Collect {
        let log = db.with_extension("collect.log");
        let file = std::fs::File::create(&log).expect("create the collect log");
        let child = Command::new(binary())
            .arg("collect")
            .arg(config)
            .arg("--db")
            .arg(db)
            .arg("--no-alarms")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start plantwatch collect");
        Collect {
            child: Some(child),
            log,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The API's address, from collect's `HH:MM:SS api: http://127.0.0.1:PORT/api/v1/` line.
    fn api_addr(&mut self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.stderr();
            let url = text
                .lines()
                .find_map(|l| l.split_once(" api: ").map(|(_, u)| u.trim().to_string()));
            if let Some(url) = url {
                let host = url
                    .trim_start_matches("http://")
                    .trim_end_matches("/api/v1/");
                return host.parse().expect("host:port in the api line");
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "collect exited ({exited:?}):\n{text}");
            assert!(
                Instant::now() < deadline,
                "no api line within 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM; the exit code.
    fn stop(mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Collect {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A keep-alive HTTP/1.1 connection that reads whole answers (Content-Length or chunked).
struct Http {
    stream: BufReader<TcpStream>,
    line: String,
    body: Vec<u8>,
}

impl Http {
    async fn connect(addr: SocketAddr) -> std::io::Result<Http> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Http {
            stream: BufReader::with_capacity(64 * 1024, stream),
            line: String::new(),
            body: Vec::new(),
        })
    }

    async fn read_line(&mut self) -> std::io::Result<()> {
        self.line.clear();
        if self.stream.read_line(&mut self.line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Sends `request` (a whole GET) and reads the answer: its status and body length.
    async fn get(&mut self, request: &[u8]) -> std::io::Result<(u16, usize)> {
        self.stream.get_mut().write_all(request).await?;
        self.read_line().await?;
        let status: u16 = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("status line {:?}", self.line)))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            self.read_line().await?;
            if self.line == "\r\n" {
                break;
            }
            let lower = self.line.to_ascii_lowercase();
            if let Some(n) = lower.strip_prefix("content-length:") {
                length = n.trim().parse::<usize>().ok();
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut total = 0;
        if let Some(n) = length {
            self.body.resize(n, 0);
            self.stream.read_exact(&mut self.body).await?;
            total = n;
        } else if chunked {
            loop {
                self.read_line().await?;
                let size =
                    usize::from_str_radix(self.line.trim().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| {
                            std::io::Error::other(format!("chunk size {:?}", self.line))
                        })?;
                // The chunk and its CRLF (after the last chunk: the empty trailer's CRLF).
                self.body.resize(size + 2, 0);
                self.stream.read_exact(&mut self.body).await?;
                total += size;
                if size == 0 {
                    break;
                }
            }
        } else {
            return Err(std::io::Error::other("an answer without a length"));
        }
        Ok((status, total))
    }
}

/// What N connections did in one measurement.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    per_second: f64,
    mb_per_second: f64,
    /// Mean time per request seen by a connection (N / rate).
    ms_per_request: f64,
}

/// `connections` keep-alive connections each sending `requests` (in turn) for `length`: back to back,
/// or each one request per `every` when it is given (a paced load, as a plant app's polling would be).
fn hammer(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    requests: &Arc<Vec<Vec<u8>>>,
    connections: usize,
    length: Duration,
    every: Option<Duration>,
) -> Load {
    runtime.block_on(async {
        let started = Instant::now();
        let deadline = started + length;
        let tasks: Vec<_> = (0..connections)
            .map(|c| {
                let requests = Arc::clone(requests);
                tokio::spawn(async move {
                    let mut http = Http::connect(addr).await.expect("connect to the API");
                    let (mut done, mut bytes) = (0u64, 0u64);
                    let mut i = c;
                    let mut next = tokio::time::Instant::now();
                    while Instant::now() < deadline {
                        if let Some(every) = every {
                            tokio::time::sleep_until(next).await;
                            next += every;
                        }
                        let request = &requests[i % requests.len()];
                        let (status, length) = http.get(request).await.expect("an answer");
                        assert_eq!(
                            status,
                            200,
                            "{}: {}",
                            String::from_utf8_lossy(request)
                                .lines()
                                .next()
                                .unwrap_or(""),
                            String::from_utf8_lossy(&http.body)
                        );
                        done += 1;
                        bytes += length as u64;
                        i += 1;
                    }
                    (done, bytes)
                })
            })
            .collect();
        let (mut done, mut bytes) = (0u64, 0u64);
        for task in tasks {
            let (d, b) = task.await.expect("a connection's task");
            done += d;
            bytes += b;
        }
        let seconds = started.elapsed().as_secs_f64();
        let per_second = done as f64 / seconds;
        Load {
            per_second,
            mb_per_second: bytes as f64 / seconds / 1e6,
            ms_per_request: connections as f64 * 1000.0 / per_second,
        }
    })
}

fn get_request(path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}

/// One GET's JSON body.
fn get_json(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    request: &[u8],
) -> serde_json::Value {
    runtime.block_on(async {
        let mut http = Http::connect(addr).await.expect("connect to the API");
        let (status, _) = http.get(request).await.expect("an answer");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&http.body));
        serde_json::from_slice(&http.body).expect("a JSON answer")
    })
}

/// What one live client received.
#[derive(Debug, Default)]
struct Received {
    /// Values whose reading time lies in the window, from change batches.
    in_window: u64,
    batches: u64,
    /// Seq gaps, snapshots after the first batch, error messages: each means changes were skipped.
    gaps: u64,
    resyncs: u64,
    errors: Vec<String>,
}

/// A WebSocket client subscribed to `dev0/*` until `until`, counting values read in `[from, to)`
/// (RFC 3339 texts of one width, so they compare as text).
async fn live_client(
    addr: SocketAddr,
    token: String,
    from: String,
    to: String,
    until: Instant,
) -> Received {
    let mut request = format!("ws://{addr}/api/v1/live")
        .into_client_request()
        .expect("a WebSocket request");
    request.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value"),
    );
    let stream = TcpStream::connect(addr).await.expect("connect to the API");
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("the WebSocket upgrade");
    ws.send(Message::text(r#"{"subscribe": ["dev0/*"]}"#))
        .await
        .expect("subscribe");
    let mut got = Received::default();
    let mut seq = 0u64;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Reading also answers the server's pings (tungstenite queues the pong and flushes it here).
        let message = match tokio::time::timeout(left, ws.next()).await {
            Err(_) => break,
            Ok(None) => {
                got.errors.push("the server closed the stream".into());
                break;
            }
            Ok(Some(Err(e))) => {
                got.errors.push(e.to_string());
                break;
            }
            Ok(Some(Ok(m))) => m,
        };
        let Message::Text(text) = message else {
            continue;
        };
        let batch: serde_json::Value = serde_json::from_str(&text).expect("a JSON message");
        if let Some(error) = batch.get("error") {
            got.errors.push(format!("{error}: {}", batch["message"]));
            continue;
        }
        let n = batch["seq"].as_u64().expect("seq");
        if n != seq + 1 {
            got.gaps += 1;
        }
        seq = n;
        got.batches += 1;
        if batch["snapshot"] == true {
            if n > 1 {
                got.resyncs += 1;
            }
            continue;
        }
        for value in batch["values"].as_array().into_iter().flatten() {
            if let Some(time) = value["time"].as_str() {
                if time >= from.as_str() && time < to.as_str() {
                    got.in_window += 1;
                }
            }
        }
    }
    let _ = ws.close(None).await;
    got
}

/// Samples of the plant stored with a time in `[from, to)`.
fn stored_between(db: &Path, plant: &plantwatch_core::Plant, from: i64, to: i64) -> u64 {
    let reader = HistoryReader::open(db).expect("open the history read-only");
    let tags = plant
        .tags()
        .map(|(i, _, _)| plant.full_id(i).unwrap_or_default())
        .collect();
    let query = SampleQuery {
        tags,
        from: Some(Timestamp(from)),
        to: Some(Timestamp(to)),
    };
    reader
        .for_each_sample(&query, |_| {})
        .expect("read the history")
}

/// The poll path in one round: reads per second, and CPU time of the engine's poll threads per read.
#[derive(Debug, Clone, Copy)]
struct PollRate {
    per_second: f64,
    cpu_us: f64,
}

/// `poll_read_rate`'s Plantwatch measurement: one device of 125 registers polled back to back (period
/// 0) by an engine started from a multi-thread runtime, as `collect` does. The CPU time is that of the
/// engine's own threads (`plantwatch-poll-N`), so this process's other threads (the load's client) are
/// not counted: it shows whether a read costs the poll path more while the API is busy.
fn poll_reads_per_second(port: u16) -> PollRate {
    let dir = tempfile::tempdir().expect("temp dir");
    let plant = poll_support::plant(1, port, 125, Duration::ZERO, &dir.path().join("poll.db"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let options = EngineOptions {
            history: None,
            alarms: false,
            ..EngineOptions::default()
        };
        let engine = Engine::start(Arc::new(plant), options)
            .await
            .expect("engine starts");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = engine.devices()[0].counters.responses;
        let (t0, threads0) = (Instant::now(), poll_support::thread_cpu_times());
        tokio::time::sleep(POLL_MEASURE).await;
        let after = engine.devices()[0].counters.responses;
        let elapsed = t0.elapsed();
        // /proc shows a thread's name cut to 15 characters: `plantwatch-poll`.
        let cpu = poll_support::thread_cpu_since(&threads0)
            .get("plantwatch-poll")
            .copied()
            .unwrap_or_default();
        let stats = engine.stop().await.expect("engine stops");
        assert_eq!(stats.errors, 0, "no read failed");
        let reads = (after - before) as f64;
        PollRate {
            per_second: reads / elapsed.as_secs_f64(),
            cpu_us: cpu.as_secs_f64() * 1e6 / reads.max(1.0),
        }
    })
}

/// The median and the spread of per-round ratios, as `0.52 [0.48-0.55]`.
fn ratio_text(ratios: &[f64]) -> String {
    let (r, lo, hi) = poll_support::median_and_spread(ratios);
    if r < 0.1 {
        format!("{r:.4} [{lo:.4}-{hi:.4}]")
    } else {
        format!("{r:.2} [{lo:.2}-{hi:.2}]")
    }
}

fn median(figures: &[f64]) -> f64 {
    poll_support::median_and_spread(figures).0
}

fn missed_cycles(runtime: &tokio::runtime::Runtime, addr: SocketAddr, token: &str) -> (u64, u64) {
    let devices = get_json(runtime, addr, &get_request("/api/v1/devices", Some(token)));
    let counters = &devices["devices"][0]["counters"];
    (
        counters["missed_cycles"].as_u64().unwrap_or(0),
        counters["requests"].as_u64().unwrap_or(0),
    )
}

fn main() {
    let rounds = env_number("PLANTWATCH_BENCH_ROUNDS", 3) as usize;
    let seconds = Duration::from_secs(env_number("PLANTWATCH_BENCH_SECONDS", 5));
    let connections = env_number("PLANTWATCH_BENCH_CONNECTIONS", 8) as usize;
    let clients = env_number("PLANTWATCH_BENCH_CLIENTS", 20) as usize;
    let live_seconds = 3 * seconds.as_secs().max(1) as i64;

    let server = poll_support::BenchServer::start(u32::from(TAGS), 1.0, false);
    let poll_server = LibmodbusServer::start(0, 125);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_plant(dir.path(), server.port);
    let plant = plantwatch_config::load(&config).expect("the bench plant parses");
    let db = dir.path().join("bench.db");

    let history_end = Timestamp::now().as_millis() - 1000;
    let started = Instant::now();
    let written = write_history(&db, &plant, history_end);
    eprintln!(
        "wrote {written} samples of history (7 days x {HISTORY_TAGS} tags) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let token = read_token(&db);
    let mut collect = Collect::start(&config, &db);
    let addr = collect.api_addr();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // Warm up: every tag read once, the writer's first compaction pass over the 7 days done.
    let values_all = Arc::new(vec![get_request("/api/v1/values", Some(&token))]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let values = get_json(&runtime, addr, &values_all[0]);
        let read = values["values"]
            .as_array()
            .map_or(0, |v| v.iter().filter(|v| v["time"].is_string()).count());
        if read == usize::from(TAGS) {
            break;
        }
        assert!(Instant::now() < deadline, "not every tag read within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    let (missed_before, polls_before) = missed_cycles(&runtime, addr, &token);
    eprintln!("collect serves {addr}; measuring");

    // HTTP endpoints, each against the ceiling measured just before it in the same round.
    let from = Timestamp(history_end - DAYS * 86_400_000).to_string();
    let to = Timestamp(history_end + 1).to_string();
    let ceiling = Arc::new(vec![get_request(
        "/api/v1/values?tag=dev0/r500",
        Some(&token),
    )]);
    let endpoints: Vec<(String, Arc<Vec<Vec<u8>>>)> = vec![
        ("GET /values, 1,000 tags".into(), Arc::clone(&values_all)),
        (
            "GET /history/thinned, 7 d, 1,000 columns".into(),
            Arc::new(
                (0..HISTORY_TAGS)
                    .map(|t| {
                        get_request(
                            &format!(
                                "/api/v1/history/thinned?tag=dev0/r{t}&from={from}&to={to}&columns=1000"
                            ),
                            Some(&token),
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "GET /openapi.json (no token)".into(),
            Arc::new(vec![get_request("/api/v1/openapi.json", None)]),
        ),
    ];
    // The thinned columns really hold the 7 days.
    let thinned = get_json(&runtime, addr, &endpoints[1].1[0]);
    let counted: u64 = thinned["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        counted,
        (DAYS * 86_400) as u64,
        "every sample of the 7 days in the columns"
    );

    let mut ceilings: Vec<Load> = Vec::new();
    let mut loads: Vec<Vec<Load>> = vec![Vec::new(); endpoints.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); endpoints.len()];
    for round in 0..rounds {
        for (e, (_, requests)) in endpoints.iter().enumerate() {
            let top = hammer(&runtime, addr, &ceiling, connections, seconds, None);
            let load = hammer(&runtime, addr, requests, connections, seconds, None);
            ratios[e].push(load.per_second / top.per_second);
            ceilings.push(top);
            loads[e].push(load);
        }
        eprintln!("HTTP round {} of {rounds} done", round + 1);
    }

    // Live: the window starts once every client has its snapshot and ends a second before they stop.
    let now = Timestamp::now().as_millis();
    let (window_from, window_to) = (now + 2000, now + 2000 + live_seconds * 1000);
    let until = Instant::now() + Duration::from_millis((2000 + live_seconds * 1000 + 1000) as u64);
    let (from_text, to_text) = (
        Timestamp(window_from).to_string(),
        Timestamp(window_to).to_string(),
    );
    let received: Vec<Received> = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                tokio::spawn(live_client(
                    addr,
                    token.clone(),
                    from_text.clone(),
                    to_text.clone(),
                    until,
                ))
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.expect("a live client"));
        }
        all
    });
    // The writer commits within half a second of a sample; give it a second more.
    std::thread::sleep(Duration::from_millis(1500));
    let changed = stored_between(&db, &plant, window_from, window_to);
    let window_s = live_seconds as f64;
    let delivered: u64 = received.iter().map(|r| r.in_window).sum();
    let per_client: Vec<f64> = received
        .iter()
        .map(|r| r.in_window as f64 / changed.max(1) as f64)
        .collect();
    eprintln!("live done");

    // The poll path in rounds of three: the API idle, serving a paced load (PACED_CONNECTIONS
    // connections, each one `values` of 1,000 tags every PACED_EVERY), and saturated.
    let poll_under = |every: Option<Duration>, connections: usize| {
        let load_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let requests = Arc::clone(&values_all);
        // The load runs from before the engine starts until after its measurement ends.
        let load = std::thread::spawn(move || {
            hammer(
                &load_runtime,
                addr,
                &requests,
                connections,
                POLL_MEASURE + Duration::from_millis(2500),
                every,
            )
        });
        std::thread::sleep(Duration::from_millis(300));
        let busy = poll_reads_per_second(poll_server.port());
        let api = load.join().expect("the load thread");
        (busy, api.per_second)
    };
    let mut idle: Vec<PollRate> = Vec::new();
    let (mut paced, mut saturated) = (Vec::new(), Vec::new());
    let (mut paced_ratios, mut saturated_ratios) = (Vec::new(), Vec::new());
    let (mut paced_cpu, mut saturated_cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let quiet = poll_reads_per_second(poll_server.port());
        let light = poll_under(Some(PACED_EVERY), PACED_CONNECTIONS);
        let heavy = poll_under(None, connections);
        idle.push(quiet);
        paced_ratios.push(light.0.per_second / quiet.per_second);
        saturated_ratios.push(heavy.0.per_second / quiet.per_second);
        paced_cpu.push(light.0.cpu_us / quiet.cpu_us);
        saturated_cpu.push(heavy.0.cpu_us / quiet.cpu_us);
        paced.push(light);
        saturated.push(heavy);
    }
    let (missed_after, polls_after) = missed_cycles(&runtime, addr, &token);
    let stderr = collect.stderr();
    let code = collect.stop();

    let load_line = |e: usize| {
        let per_second: Vec<f64> = loads[e].iter().map(|l| l.per_second).collect();
        let mb: Vec<f64> = loads[e].iter().map(|l| l.mb_per_second).collect();
        let ms: Vec<f64> = loads[e].iter().map(|l| l.ms_per_request).collect();
        format!(
            "{:>7.0} req/s {:>6.1} MB/s {:>6.1} ms",
            median(&per_second),
            median(&mb),
            median(&ms)
        )
    };
    let ceiling_rate = median(&ceilings.iter().map(|l| l.per_second).collect::<Vec<_>>());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nLocal API, plantwatch collect ({}), {} cores; median of {rounds} rounds, ratio spread in brackets",
        binary().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(
        out,
        "{:<50} {:>34} {:>32} {:>24}",
        "measured", "figure", "peer in the same run", "ratio"
    );
    for (e, (name, _)) in endpoints.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<50} {:>34} {:>32} {:>24}",
            format!("{name} ({connections} conn.)"),
            load_line(e),
            format!("values, 1 tag {ceiling_rate:>7.0} req/s"),
            ratio_text(&ratios[e])
        );
    }
    let _ = writeln!(
        out,
        "{:<50} {:>34} {:>32} {:>24}",
        format!("live values, {clients} WebSocket clients"),
        format!("{:>7.0} values/s delivered", delivered as f64 / window_s),
        format!("{:>7.0} changes/s x {clients}", changed as f64 / window_s),
        ratio_text(&per_client)
    );
    let idle_rate: Vec<f64> = idle.iter().map(|p| p.per_second).collect();
    let idle_cpu: Vec<f64> = idle.iter().map(|p| p.cpu_us).collect();
    for (name, rounds_of, ratios) in [
        ("paced", &paced, &paced_ratios),
        ("saturated", &saturated, &saturated_ratios),
    ] {
        let busy: Vec<f64> = rounds_of.iter().map(|(b, _)| b.per_second).collect();
        let cpu: Vec<f64> = rounds_of.iter().map(|(b, _)| b.cpu_us).collect();
        let api: Vec<f64> = rounds_of.iter().map(|(_, a)| *a).collect();
        let _ = writeln!(
            out,
            "{:<50} {:>34} {:>32} {:>24}",
            format!("poll path, API at {:.0} req/s ({name})", median(&api)),
            format!(
                "{:>7.0} reads/s {:>5.1} us/read",
                median(&busy),
                median(&cpu)
            ),
            format!(
                "idle {:>6.0} reads/s {:>5.1} us/read",
                median(&idle_rate),
                median(&idle_cpu)
            ),
            ratio_text(ratios)
        );
    }
    let _ = writeln!(
        out,
        "HTTP: ratio = endpoint / GET /values of 1 tag (token check, small body) just before it; ms = mean \
         time per request per connection."
    );
    let gaps: u64 = received.iter().map(|r| r.gaps).sum();
    let resyncs: u64 = received.iter().map(|r| r.resyncs).sum();
    let errors: Vec<&String> = received.iter().flat_map(|r| &r.errors).collect();
    let batches: u64 = received.iter().map(|r| r.batches).sum();
    let _ = writeln!(
        out,
        "live: {window_s:.0} s window; changes = samples the engine stored in it (deadband 0, no \
         heartbeat due), read back from the file: {changed}; ratio = each client's values in the window / \
         changes (1.00: every change reached every client); {batches} batches, {gaps} seq gaps, \
         {resyncs} resyncs, {} errors{}",
        errors.len(),
        errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    let (idle_median, idle_lo, idle_hi) = poll_support::median_and_spread(&idle_rate);
    let _ = writeln!(
        out,
        "poll path: poll_read_rate's engine (in this process) against the libmodbus server, 125 \
         registers back to back, in rounds of API idle / paced ({PACED_CONNECTIONS} connections, GET \
         /values of 1,000 tags every {} ms each) / saturated ({connections} connections back to back); ratio = reads/s loaded / idle \
         of the same round; the idle rounds alone spread {:.2}-{:.2} of their median (the noise). CPU of \
         the poll threads per read, loaded / idle: paced {}, saturated {}. Polling back to back keeps the \
         engine and the server busy on {} cores already, so any other work on the machine takes its \
         share of reads/s.",
        PACED_EVERY.as_millis(),
        idle_lo / idle_median.max(1.0),
        idle_hi / idle_median.max(1.0),
        ratio_text(&paced_cpu),
        ratio_text(&saturated_cpu),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(
        out,
        "collect's own 100 ms poll of the 1,000 tags during the measurements: {} missed cycles in {} \
         requests; collect exited {code:?}",
        missed_after.saturating_sub(missed_before),
        polls_after.saturating_sub(polls_before)
    );
    if code != Some(0) {
        let _ = writeln!(out, "collect's log:\n{stderr}");
    }
}
