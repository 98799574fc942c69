//! The local API (issue 13, first slice) end to end: `plantwatch simulate` as the plant, `plantwatch
//! collect` serving `[api]` on a free port, tokens made with `plantwatch tokens`, and an independent
//! Python client (`tests/peers/api_client.py`: `requests`, `openapi-spec-validator`) calling every
//! endpoint and error path. The raw history the API serves, and the live stream's values
//! (`tests/peers/api_live.py record`), must equal what `plantwatch export` prints for the same window
//! afterwards. The 409 and 503 answers come from real causes (`tests/peers/api_errors.py`): the
//! simulated PLC refusing and clamping setpoints, a stopped simulator, the database moved away.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use plantwatch_system_tests::sim_support::{demo_plant_copy, SimProcess};
use plantwatch_system_tests::{peer, plantwatch_bin, python};

/// How long collect may take to bind the API and say where.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A running `plantwatch collect`, its stderr in a file; killed on drop if the test did not stop it.
struct Collect {
    child: Option<Child>,
    log: PathBuf,
}

impl Collect {
    fn start(config: &Path, db: &Path) -> Collect {
        let log = db.with_extension("collect.log");
        let file = std::fs::File::create(&log).expect("create the collect log");
        let child = Command::new(plantwatch_bin())
            .arg("collect")
            .arg(config)
            .arg("--db")
            .arg(db)
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

    /// The URL from collect's `HH:MM:SS api: URL` line, polled for with a deadline.
    fn api_url(&mut self) -> String {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let text = self.stderr();
            if let Some(url) = text.lines().find_map(|l| {
                l.split_once(" api: ")
                    .map(|(_, url)| url.trim().to_string())
            }) {
                return url;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "collect exited ({exited:?}):\n{text}");
            assert!(
                Instant::now() < deadline,
                "collect printed no api line within {READY_WITHIN:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, as a service manager stops it; the exit code.
    fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
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

fn run(args: &[&str]) -> Output {
    Command::new(plantwatch_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run plantwatch")
}

/// `plantwatch tokens --db DB add NAME --scope SCOPE [extra]`: the token it prints.
fn add_token(db: &Path, name: &str, scope: &str, extra: &[&str]) -> String {
    let db = db.to_str().expect("utf-8 path");
    let mut args = vec!["tokens", "--db", db, "add", name, "--scope", scope];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "tokens add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("pwt_"), "{token}");
    token
}

/// The demo plant on a fresh simulator, with `api` appended; polled every 100 ms.
fn plant_with_api(dir: &Path, sim: &SimProcess, api: &str) -> (PathBuf, PathBuf) {
    let config = demo_plant_copy(dir, sim.port(), 100);
    let mut text = std::fs::read_to_string(&config).expect("read the plant copy");
    text.push_str(api);
    std::fs::write(&config, text).expect("write the plant copy");
    (config, dir.join("plant.db"))
}

/// `export --format jsonl` of plc/level in `[from, to)`, one JSON object per sample.
fn export(db: &Path, from: &str, to: &str) -> Vec<serde_json::Value> {
    export_tags(db, &["plc/level"], from, to)
}

/// `export --format jsonl` of `tags` in `[from, to)`, one JSON object per sample.
fn export_tags(db: &Path, tags: &[&str], from: &str, to: &str) -> Vec<serde_json::Value> {
    let mut args = vec!["export", "--db", db.to_str().expect("utf-8")];
    for tag in tags {
        args.extend(["--tag", tag]);
    }
    args.extend(["--from", from, "--to", to, "--format", "jsonl"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Waits until the history holds `n` samples of plc/level since `from` (export reads the file beside
/// the running collector) and returns them.
fn wait_for_samples(db: &Path, from: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if db.exists() {
            let rows = export(db, from, "now");
            if rows.len() >= n {
                return rows;
            }
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {n} samples of plc/level stored within a minute"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_endpoint_and_error_path_answers_a_python_client_and_history_equals_export() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&["--speed", "10"]);
    let (config, db) = plant_with_api(dir.path(), &sim, "\n[api]\nlisten = \"127.0.0.1:0\"\n");
    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/v1/"),
        "{url}"
    );

    // Tokens made while collect runs: the API reads the table on every request.
    let token = add_token(&db, "dashboard", "read", &[]);
    let revoked = add_token(&db, "old-laptop", "read", &[]);
    let out = run(&[
        "tokens",
        "--db",
        db.to_str().expect("utf-8"),
        "revoke",
        "old-laptop",
    ]);
    assert!(out.status.success());
    let expired = add_token(&db, "short", "read", &["--expires", "1ms"]);

    // A window of samples already committed: from the first stored one to the last seen (exclusive).
    let start =
        plantwatch_core::Timestamp(plantwatch_core::Timestamp::now().0 - 60_000).to_string();
    let rows = wait_for_samples(&db, &start, 8);
    let from = rows[0]["time"].as_str().expect("time").to_string();
    let to = rows[rows.len() - 1]["time"]
        .as_str()
        .expect("time")
        .to_string();

    let raw_file = dir.path().join("raw.json");
    let client = Command::new(python())
        .arg(peer("api_client.py"))
        .args(["full", "--url", &url, "--token", &token])
        .args(["--revoked", &revoked, "--expired", &expired])
        .args(["--from", &from, "--to", &to])
        .arg("--out")
        .arg(&raw_file)
        .output()
        .expect("run the Python client");
    let said = String::from_utf8_lossy(&client.stdout);
    assert!(
        client.status.success(),
        "the Python client failed: {}{}",
        said,
        String::from_utf8_lossy(&client.stderr)
    );
    eprintln!("api_client.py full: {}", said.trim());

    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());
    let log = collect.stderr();
    assert!(log.contains("SIGTERM: stopping"), "{log}");
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/api/v1/");
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "the API stopped with collect"
    );

    // What the API served is what export prints for the same window, sample for sample.
    let served: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&raw_file).expect("raw.json")).expect("JSON");
    let exported = export(&db, &from, &to);
    assert_eq!(served.len(), exported.len(), "samples in the window");
    assert!(!served.is_empty());
    for (api, csv) in served.iter().zip(&exported) {
        let quality = match api["quality"]["cause"].as_str() {
            Some(cause) => format!("{}:{cause}", api["quality"]["level"].as_str().unwrap_or("")),
            None => api["quality"]["level"].as_str().unwrap_or("").to_string(),
        };
        assert_eq!(
            (&api["time"], &api["value"], quality.as_str()),
            (
                &csv["time"],
                &csv["value"],
                csv["quality"].as_str().unwrap_or("")
            ),
            "one sample"
        );
    }

    // Every token change is in the audit trail.
    let audit = run(&["audit", "--db", db.to_str().expect("utf-8")]);
    let trail = String::from_utf8_lossy(&audit.stdout);
    for line in [
        "token_added,dashboard",
        "token_added,old-laptop",
        "token_revoked,old-laptop",
        "token_added,short",
    ] {
        assert!(trail.contains(line), "{line} in the trail:\n{trail}");
    }
    assert!(
        !trail.contains(&token),
        "the token itself is never in the trail"
    );
    drop(sim);
}

#[test]
fn tls_with_a_self_signed_certificate_made_by_the_cli_is_verified_by_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join("plantwatch.crt");
    let key = dir.path().join("plantwatch.key");
    let made = run(&[
        "tokens",
        "make-cert",
        "localhost",
        "--cert",
        cert.to_str().expect("utf-8"),
        "--key",
        key.to_str().expect("utf-8"),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).expect("key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key is its owner's alone");
    let again = run(&[
        "tokens",
        "make-cert",
        "localhost",
        "--cert",
        cert.to_str().expect("utf-8"),
        "--key",
        key.to_str().expect("utf-8"),
    ]);
    assert_eq!(again.status.code(), Some(2), "never overwrites");

    let sim = SimProcess::tcp(&[]);
    let api = "\n[api]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"plantwatch.crt\"\ntls_key = \"plantwatch.key\"\n";
    let (config, db) = plant_with_api(dir.path(), &sim, api);
    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let token = add_token(&db, "dashboard", "read", &[]);
    // The certificate names localhost: connect by that name.
    let url = url.replace("127.0.0.1", "localhost");
    let client = Command::new(python())
        .arg(peer("api_client.py"))
        .args(["tls", "--url", &url, "--token", &token, "--cafile"])
        .arg(&cert)
        .output()
        .expect("run the Python client");
    assert!(
        client.status.success(),
        "the Python client failed: {}{}",
        String::from_utf8_lossy(&client.stdout),
        String::from_utf8_lossy(&client.stderr)
    );
    eprintln!(
        "api_client.py tls: {}",
        String::from_utf8_lossy(&client.stdout).trim()
    );
    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());
}

#[test]
fn plain_http_on_a_network_address_runs_only_when_insecure_and_warns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&[]);
    let (config, db) = plant_with_api(dir.path(), &sim, "\n[api]\nlisten = \"0.0.0.0:0\"\n");
    let check = run(&["check", config.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("is reachable from the network"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let text = std::fs::read_to_string(&config).expect("read") + "insecure = true\n";
    std::fs::write(&config, text).expect("write");
    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    let log = collect.stderr();
    assert!(
        log.contains("WARNING: the API on 0.0.0.0:") && log.contains("clear text"),
        "{log}"
    );
    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());
}

#[test]
fn the_tokens_command_lists_without_secrets_and_needs_an_admin_once_the_plant_has_users() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let db_arg = db.to_str().expect("utf-8");
    add_token(&db, "before-users", "read", &[]);

    // The first user, an admin; from now on tokens need --as ADMIN.
    let mut users = Command::new(plantwatch_bin())
        .args(["users", "--db", db_arg, "add", "ada", "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run users add");
    use std::io::Write;
    users
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"ada-password\n")
        .expect("write the password");
    assert!(users.wait().expect("users add").success());

    let refused = run(&["tokens", "--db", db_arg, "add", "x", "--scope", "read"]);
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("needs an admin") && said.contains("--as USER"),
        "{said}"
    );
    assert!(refused.stdout.is_empty(), "no token printed");

    let added = Command::new(plantwatch_bin())
        .args([
            "tokens", "--db", db_arg, "--as", "ada", "add", "mes", "--scope", "write",
        ])
        .args(["--user", "ada"])
        .args(["--expires", "90d"])
        .env("PLANTWATCH_PASSWORD", "ada-password")
        .stdin(Stdio::null())
        .output()
        .expect("run tokens add");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = String::from_utf8_lossy(&added.stdout).trim().to_string();

    let list = run(&["tokens", "--db", db_arg, "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "name,scope,created,expires");
    assert!(
        lines[1].starts_with("before-users,read,") && lines[1].ends_with(','),
        "{text}"
    );
    assert!(lines[2].starts_with("mes,write,"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        !text.contains("pwt_") && !text.contains(&token[4..]),
        "{text}"
    );

    let trail = run(&["audit", "--db", db_arg]);
    let trail = String::from_utf8_lossy(&trail.stdout);
    assert!(trail.contains(",ada,admin,token_added,mes,"), "{trail}");
    assert!(
        trail.contains(",,viewer,token_added,x,,read,,denied,"),
        "{trail}"
    );

    let bad = run(&["tokens", "--db", db_arg, "add", "y", "--scope", "admin"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "clap refuses a scope that is not read or write"
    );
    let bad = run(&[
        "tokens",
        "--db",
        db_arg,
        "add",
        "y",
        "--scope",
        "read",
        "--expires",
        "soon",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// The resident memory of a process, in kB, from /proc.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in kB")
}

#[test]
fn the_live_stream_sends_current_values_then_numbered_batches_and_drops_a_client_that_stops_reading(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&["--speed", "10"]);
    let (config, db) = plant_with_api(dir.path(), &sim, "\n[api]\nlisten = \"127.0.0.1:0\"\n");
    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();
    let token = add_token(&db, "dashboard", "read", &[]);

    let client = Command::new(python())
        .arg(peer("api_live.py"))
        .args(["stream", "--url", &url, "--token", &token])
        .output()
        .expect("run the Python client");
    assert!(
        client.status.success(),
        "the Python client failed: {}{}",
        String::from_utf8_lossy(&client.stdout),
        String::from_utf8_lossy(&client.stderr)
    );
    eprintln!(
        "api_live.py stream: {}",
        String::from_utf8_lossy(&client.stdout).trim()
    );

    // A client that stops reading: dropped once its queue is full, and the server's memory stays put.
    let pid = collect.child.as_ref().expect("running").id();
    let mut slow = Command::new(python())
        .arg(peer("api_live.py"))
        .args(["slow", "--url", &url, "--token", &token, "--pause", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the slow client");
    let mut said = std::io::BufReader::new(slow.stdout.take().expect("stdout"));
    let mut line = String::new();
    use std::io::BufRead;
    said.read_line(&mut line).expect("read the client");
    assert_eq!(line.trim(), "subscribed", "{line}");
    let paused = Instant::now();
    let before = rss_kb(pid);
    let bound = Duration::from_secs(25);
    loop {
        if collect.stderr().contains("fell behind; dropped") {
            break;
        }
        assert!(
            paused.elapsed() < bound,
            "the slow client was not dropped within {bound:?}:\n{}",
            collect.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dropped_after = paused.elapsed();
    let after = rss_kb(pid);
    let done = slow.wait_with_output().expect("the slow client ends");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut said, &mut rest).expect("read the client");
    assert!(
        done.status.success(),
        "the slow client failed: {rest}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    eprintln!(
        "slow client dropped {:.1} s after it stopped reading; collect RSS {before} kB before, \
         {after} kB after; api_live.py slow: {}",
        dropped_after.as_secs_f64(),
        rest.trim()
    );
    assert!(
        after < before + 20_000,
        "the server grew by {} kB for a slow client",
        after.saturating_sub(before)
    );

    // Stopping with a client subscribed: its session lets go of the engine, and collect ends cleanly.
    let mut open = Command::new(python())
        .arg(peer("api_live.py"))
        .args(["slow", "--url", &url, "--token", &token, "--pause", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run a client that stays");
    let mut said = std::io::BufReader::new(open.stdout.take().expect("stdout"));
    let mut line = String::new();
    said.read_line(&mut line).expect("read the client");
    assert_eq!(line.trim(), "subscribed", "{line}");
    let stopping = Instant::now();
    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "collect took {:?} to stop with a live client",
        stopping.elapsed()
    );
    let _ = open.wait();
    drop(sim);
}

/// A quality as export writes it (`good`, `bad:comm_lost`) from the API's `{"level", "cause"}`.
fn quality_word(quality: &serde_json::Value) -> String {
    let level = quality["level"].as_str().unwrap_or("?");
    match quality["cause"].as_str() {
        Some(cause) => format!("{level}:{cause}"),
        None => level.to_string(),
    }
}

/// The same reading: numbers exactly equal (no tolerance), booleans whether export writes them as
/// `true`/`false` or `1`/`0`, text and null as they are.
fn same_value(streamed: &serde_json::Value, exported: &serde_json::Value) -> bool {
    match (streamed, exported) {
        (serde_json::Value::Bool(b), serde_json::Value::Number(n)) => {
            n.as_f64() == Some(f64::from(u8::from(*b)))
        }
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// The live stream's values equal what `export` prints afterwards for the same tags (issue 13's
/// acceptance).
///
/// The two are not the same list, by design: the stream sends every change of value or quality of
/// every poll (what the desktop shows), while the history stores what its filter admits: a change
/// beyond the tag's deadband, a quality change, or a heartbeat repeating an unchanged value
/// (`poll::device::take_outcome`: stored = admitted changes + heartbeats). So the relation asserted is
/// the one that holds for every stored sample: its value and quality are the tag's streamed reading as
/// of its time (the last streamed sample at or before it). For a stored change that sample has exactly
/// the stored time; only a heartbeat may repeat an earlier streamed reading at a later time. The other
/// direction is not equality: a streamed change within the deadband is rightly not stored.
#[test]
fn the_live_stream_s_values_equal_what_export_prints_afterwards_for_the_same_tags() {
    const TAGS: [&str; 4] = ["plc/level", "plc/flow", "plc/pressure", "plc/pump1_running"];
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&["--speed", "10"]);
    let (config, db) = plant_with_api(dir.path(), &sim, "\n[api]\nlisten = \"127.0.0.1:0\"\n");
    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();
    let token = add_token(&db, "dashboard", "read", &[]);

    let recorded = dir.path().join("live.jsonl");
    let client = Command::new(python())
        .arg(peer("api_live.py"))
        .args(["record", "--url", &url, "--token", &token, "--seconds", "5"])
        .arg("--tags")
        .args(TAGS)
        .arg("--out")
        .arg(&recorded)
        .output()
        .expect("run the Python client");
    assert!(
        client.status.success(),
        "the Python client failed: {}{}",
        String::from_utf8_lossy(&client.stdout),
        String::from_utf8_lossy(&client.stderr)
    );
    eprintln!(
        "api_live.py record: {}",
        String::from_utf8_lossy(&client.stdout).trim()
    );
    // Stopped cleanly, so every sample the engine handed to history is in the file.
    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());

    let streamed: Vec<serde_json::Value> = std::fs::read_to_string(&recorded)
        .expect("the recording")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    // Times are RFC 3339 UTC with milliseconds, one width, so they order as text.
    let time = |v: &serde_json::Value| v["time"].as_str().expect("a time").to_string();
    // The window: from each tag's first streamed reading (the subscription's snapshot) to the last
    // streamed time, exclusive. The engine hands a poll's changes to listeners in poll order, so every
    // change read before the last streamed one has been streamed.
    let end = streamed.iter().map(time).max().expect("values streamed");
    let mut checked = 0;
    let mut exact = 0;
    for tag in TAGS {
        let of_tag: Vec<&serde_json::Value> = streamed.iter().filter(|v| v["tag"] == tag).collect();
        let first = of_tag
            .iter()
            .find(|v| v["snapshot"] == true)
            .unwrap_or_else(|| panic!("{tag} is in the snapshot"));
        let start = time(first);
        // A tag that did not change in the window (a pump that kept running) has nothing stored in it.
        let stored = export_tags(&db, &[tag], &start, &end);
        for sample in &stored {
            let at = sample["time"].as_str().expect("time");
            assert_eq!(at.len(), end.len(), "{at} and {end} have one format");
            let reading = of_tag
                .iter()
                .filter(|v| time(v).as_str() <= at)
                .max_by(|a, b| (time(a), a["seq"].as_u64()).cmp(&(time(b), b["seq"].as_u64())))
                .unwrap_or_else(|| panic!("{tag}: nothing streamed at or before {at}"));
            assert!(
                same_value(&reading["value"], &sample["value"])
                    && quality_word(&reading["quality"])
                        == sample["quality"].as_str().unwrap_or(""),
                "{tag} at {at}: export has {} ({}), the stream's reading then was {} ({}) of {}",
                sample["value"],
                sample["quality"],
                reading["value"],
                quality_word(&reading["quality"]),
                time(reading)
            );
            checked += 1;
            if time(reading) == at {
                exact += 1;
            }
        }
    }
    eprintln!(
        "{} values streamed; {checked} samples exported in the window, each the stream's reading at \
         its time, {exact} of them streamed at exactly that time",
        streamed.len()
    );
    // At 10x speed the level and the flow change every poll: most stored samples are changes
    // (heartbeats come a minute after the last stored sample, longer than this test).
    assert!(checked >= 10, "only {checked} samples stored in the window");
    assert_eq!(
        exact, checked,
        "within a minute of the start no heartbeat is due: every stored sample was streamed as is"
    );
    drop(sim);
}

/// `plantwatch users --db DB [--as ada] add NAME --role ROLE`, the passwords on stdin.
fn add_user(db: &Path, name: &str, role: &str) {
    let db = db.to_str().expect("utf-8 path");
    let (args, stdin): (Vec<&str>, String) = if role == "admin" {
        (
            vec!["users", "--db", db, "add", name, "--role", role],
            format!("{name}-password\n"),
        )
    } else {
        (
            vec![
                "users", "--db", db, "--as", "ada", "add", name, "--role", role,
            ],
            format!("ada-password\n{name}-password\n"),
        )
    };
    let mut child = Command::new(plantwatch_bin())
        .args(&args)
        .env_remove("PLANTWATCH_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run users add");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the passwords");
    let out = child.wait_with_output().expect("users add");
    assert!(
        out.status.success(),
        "users add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `plantwatch tokens --db DB --as ada add ...` with ada's password: the output.
fn tokens_as_ada(db: &Path, args: &[&str]) -> Output {
    let db = db.to_str().expect("utf-8 path");
    let mut all = vec!["tokens", "--db", db, "--as", "ada", "add"];
    all.extend_from_slice(args);
    Command::new(plantwatch_bin())
        .args(&all)
        .env("PLANTWATCH_PASSWORD", "ada-password")
        .stdin(Stdio::null())
        .output()
        .expect("run tokens add")
}

fn token_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tokens add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_write_token_writes_as_its_user_with_role_range_read_back_and_audit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&[]);
    let (config, db) = plant_with_api(dir.path(), &sim, "\n[api]\nlisten = \"127.0.0.1:0\"\n");
    add_user(&db, "ada", "admin");
    add_user(&db, "otto", "operator");
    add_user(&db, "vera", "viewer");

    let no_user = tokens_as_ada(&db, &["mes", "--scope", "write"]);
    assert_eq!(no_user.status.code(), Some(2), "a write token needs a user");
    assert!(
        String::from_utf8_lossy(&no_user.stderr).contains("--user NAME"),
        "{}",
        String::from_utf8_lossy(&no_user.stderr)
    );
    let nobody = tokens_as_ada(&db, &["mes", "--scope", "write", "--user", "nobody"]);
    assert_eq!(nobody.status.code(), Some(2), "the user must exist");
    let write = token_of(&tokens_as_ada(
        &db,
        &["mes", "--scope", "write", "--user", "otto"],
    ));
    let viewer = token_of(&tokens_as_ada(
        &db,
        &["kiosk", "--scope", "write", "--user", "vera"],
    ));
    let read = token_of(&tokens_as_ada(&db, &["dashboard", "--scope", "read"]));

    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();
    let client = Command::new(python())
        .arg(peer("api_write.py"))
        .args(["--url", &url, "--write", &write, "--read", &read])
        .args(["--viewer", &viewer])
        .output()
        .expect("run the Python client");
    assert!(
        client.status.success(),
        "the Python client failed: {}{}",
        String::from_utf8_lossy(&client.stdout),
        String::from_utf8_lossy(&client.stderr)
    );
    eprintln!(
        "api_write.py: {}",
        String::from_utf8_lossy(&client.stdout).trim()
    );
    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());

    // The device holds it: read back by the CLI over a connection of its own.
    let out = run(&[
        "read",
        "--config",
        config.to_str().expect("utf-8"),
        "--device",
        "plc",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.contains("stop_level") && l.contains("0.75")),
        "plantwatch read: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The trail names the user and the token, for the write, the refusals and the alarm actions.
    let audit = run(&["audit", "--db", db.to_str().expect("utf-8")]);
    let trail = String::from_utf8_lossy(&audit.stdout);
    let lines: Vec<&str> = trail.lines().collect();
    let has = |words: &[&str]| lines.iter().any(|l| words.iter().all(|w| l.contains(w)));
    assert!(
        has(&[
            ",otto,operator,write,plc/stop_level,",
            ",done,",
            "from the MES (API token 'mes')"
        ]),
        "the write:\n{trail}"
    );
    assert!(
        has(&[
            ",otto,operator,write,plc/stop_level,",
            "out of range",
            "API token 'mes'"
        ]),
        "the refused write:\n{trail}"
    );
    assert!(
        has(&[
            ",vera,viewer,write,plc/stop_level,",
            "denied",
            "API token 'kiosk'"
        ]),
        "the viewer's write:\n{trail}"
    );
    assert!(
        has(&[
            ",otto,operator,",
            "plc/level:hi",
            "sensor maintenance (API token 'mes')"
        ]),
        "the alarm taken out of service:\n{trail}"
    );
    drop(sim);
}

/// Runs `tests/peers/api_errors.py MODE --url URL` with `args`; fails the test with its reason.
fn api_errors(mode: &str, url: &str, args: &[&str]) {
    let client = Command::new(python())
        .arg(peer("api_errors.py"))
        .args([mode, "--url", url])
        .args(args)
        .output()
        .expect("run the Python client");
    assert!(
        client.status.success(),
        "api_errors.py {mode} failed: {}{}",
        String::from_utf8_lossy(&client.stdout),
        String::from_utf8_lossy(&client.stderr)
    );
    eprintln!(
        "api_errors.py {mode}: {}",
        String::from_utf8_lossy(&client.stdout).trim()
    );
}

/// The 409 and 503 answers, each from a real cause through the real binary: the simulated PLC refuses
/// a setpoint (Modbus exception 03: 409 `refused`) and clamps another (409 `mismatch`); with the
/// simulator stopped a write gets no answer (503 `failed`); with the plant's database moved away under
/// the running collector the history and the journal cannot be read (503 `unavailable`) while the live
/// values still answer, and once it is back they read again. Every write attempt is in the audit trail.
///
/// Not here: 503 from the token store. The API checks tokens over a connection it opened at start,
/// and SQLite in WAL mode lets a reader through whatever another process holds, so no outside event
/// short of damaging the file makes that check fail.
#[test]
fn refused_and_clamped_writes_are_409_a_stopped_device_and_a_missing_history_503() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&[]);
    let (config, db) = plant_with_api(dir.path(), &sim, "\n[api]\nlisten = \"127.0.0.1:0\"\n");
    add_user(&db, "ada", "admin");
    add_user(&db, "erik", "engineer");
    let write = token_of(&tokens_as_ada(
        &db,
        &["commissioning", "--scope", "write", "--user", "erik"],
    ));
    let read = token_of(&tokens_as_ada(&db, &["dashboard", "--scope", "read"]));
    let mut collect = Collect::start(&config, &db);
    let url = collect.api_url();

    api_errors("conflict", &url, &["--write", &write]);

    // No device answers any more: the engine's link fails and so does the write.
    assert_eq!(sim.terminate(), Some(0), "the simulator stops on SIGTERM");
    api_errors("failed", &url, &["--write", &write]);

    // The file moved away (as by someone tidying the folder): the collector keeps its open handles,
    // every new reader finds nothing.
    let away = dir.path().join("moved-away.db");
    std::fs::rename(&db, &away).expect("move the database away");
    api_errors("unavailable", &url, &["--read", &read]);
    std::fs::rename(&away, &db).expect("move the database back");
    api_errors("recovered", &url, &["--read", &read]);

    assert_eq!(collect.terminate(), Some(0), "{}", collect.stderr());
    let audit = run(&["audit", "--db", db.to_str().expect("utf-8")]);
    let trail = String::from_utf8_lossy(&audit.stdout);
    let lines: Vec<&str> = trail.lines().collect();
    let has = |words: &[&str]| lines.iter().any(|l| words.iter().all(|w| l.contains(w)));
    for (tag, outcome, comment) in [
        ("plc/lead_start_level", ",refused", "above the lag start"),
        ("plc/max_speed", ",mismatch", "test the limit"),
        ("plc/stop_level", ",failed", "simulator stopped"),
    ] {
        assert!(
            has(&[
                &format!(",erik,engineer,write,{tag},"),
                outcome,
                &format!("{comment} (API token 'commissioning')"),
            ]),
            "{tag} {outcome} in the trail:\n{trail}"
        );
    }
}
