//! `plantwatch report` end to end, on a history made the real way: `collect` from `plantwatch simulate`,
//! with the simulator stopped for a while (the devices offline) and the collector stopped for a while
//! (no data). The report's numbers are checked against an independent Python computation over
//! `plantwatch export` and `plantwatch alarms` of the same span (`tests/peers/report_check.py`, also reading
//! the workbook with openpyxl); its gaps against the outages the test made; the PDF through poppler's `pdftotext` and
//! `pdftoppm` (a picture of page 1 in `tests/out/report/page1.png`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use plantwatch_core::Timestamp;
use plantwatch_history::{HistoryReader, SampleQuery};
use plantwatch_system_tests::engine_support::{run_collect, stored, wait_until};
use plantwatch_system_tests::sim_support::{demo_plant_copy, SimProcess};
use plantwatch_system_tests::{data, out_dir, peer, plantwatch_bin, python};

const POLL_MS: i64 = 200;
const MAX_GAP_MS: i64 = 5000;
/// The reconnect back-off reaches 3.2 s in the outage (100 ms doubling): the collector may see the
/// device back up to that long after it is.
const BACKOFF_MS: i64 = 3200;

/// The history with its outages, as the test's clock saw them (milliseconds since the epoch).
struct History {
    _dir: tempfile::TempDir,
    db: PathBuf,
    /// The simulator stopped and started again.
    offline: (i64, i64),
    /// The first collector ended and the second was started.
    not_collecting: (i64, i64),
    /// The report's window: a second inside the first and last stored samples.
    window: (i64, i64),
}

fn make_history() -> History {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = SimProcess::tcp(&[]);
    let port = sim.port();
    // Every tag stores a sample at least once a second (heartbeat), also while its device is offline.
    let config = demo_plant_copy(dir.path(), port, POLL_MS as u32);
    let text = std::fs::read_to_string(&config).expect("read the plant copy");
    std::fs::write(
        &config,
        text.replace("[[devices.tags]]\n", "[[devices.tags]]\nheartbeat_s = 1\n"),
    )
    .expect("write the plant copy");
    let db = dir.path().join("plant.db");

    let (config1, db1) = (config.clone(), db.clone());
    let first = thread::spawn(move || run_collect(&config1, &db1, "12s"));
    wait_until("the first samples", Duration::from_secs(10), || {
        has_samples(&db)
    });
    // Fixed waits from here on: time itself is under test (a device kept down, a collector kept off).
    thread::sleep(Duration::from_secs(3));
    let off = Timestamp::now().0;
    sim.terminate();
    thread::sleep(Duration::from_secs(3));
    let sim = SimProcess::start(&["--listen", &format!("127.0.0.1:{port}")]);
    let on = Timestamp::now().0;
    let output = first.join().expect("the first collector");
    assert_collected(&output);
    let stopped = Timestamp::now().0;
    thread::sleep(Duration::from_secs(7));
    let started = Timestamp::now().0;
    assert_collected(&run_collect(&config, &db, "5s"));
    drop(sim);

    let all = stored(&db);
    let first_time = all
        .values()
        .filter_map(|s| s.first())
        .map(|s| s.time.0)
        .min();
    let last_time = all
        .values()
        .filter_map(|s| s.last())
        .map(|s| s.time.0)
        .max();
    let (first_time, last_time) = (first_time.expect("samples"), last_time.expect("samples"));
    History {
        _dir: dir,
        db,
        offline: (off, on),
        not_collecting: (stopped, started),
        window: (first_time + 1000, last_time - 1000),
    }
}

/// True once the history file has its tables and a sample (the collector creates both).
fn has_samples(db: &Path) -> bool {
    let Ok(reader) = HistoryReader::open(db) else {
        return false;
    };
    let mut any = false;
    let query = SampleQuery::default();
    let _ = reader.for_each_sample_while(&query, |_| {
        any = true;
        false
    });
    any
}

fn assert_collected(output: &Output) {
    assert!(
        output.status.success(),
        "collect: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn time(ms: i64) -> String {
    Timestamp(ms).to_string()
}

fn report(h: &History, out: &Path, lang: &str) {
    let output = Command::new(plantwatch_bin())
        .arg("report")
        .arg("--db")
        .arg(&h.db)
        .args(["--template"])
        .arg(data("report/test_template.toml"))
        .args(["--from", &time(h.window.0), "--to", &time(h.window.1)])
        .arg("--out")
        .arg(out)
        .args(["--lang", lang])
        .output()
        .expect("run plantwatch report");
    assert!(
        output.status.success(),
        "report {}: {:?}\n{}",
        out.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (poppler-utils, installed by .ci/setup)"));
    assert!(output.status.success(), "{program} {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The report's `gap` rows of one tag: (cause, from, to) in milliseconds.
fn gaps_of(csv: &str, tag: &str) -> Vec<(String, i64, i64)> {
    let ms = |t: &str| {
        plantwatch_core::parse_time(t, Timestamp::now())
            .unwrap_or_else(|e| panic!("{t}: {e}"))
            .0
    };
    csv.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[0] == "gap" && cells[1] == tag)
                .then(|| (cells[2].to_string(), ms(cells[4]), ms(cells[5])))
        })
        .collect()
}

#[test]
fn a_report_over_a_history_with_outages_shows_its_gaps_and_agrees_with_an_independent_computation()
{
    let h = make_history();
    let dir = out_dir("report");
    let path = |name: &str| dir.join(name);
    for name in ["report.csv", "report.xlsx", "report.pdf", "report.html"] {
        report(&h, &path(name), "en");
    }

    // The export of the same tags over the window and a max_gap beyond each end (what the report reads).
    let tags = [
        "plc/level",
        "plc/pressure",
        "plc/flow",
        "plc/pump1_running",
        "drive1/frequency",
        "meter/power",
        "meter/voltage_l1_l2",
    ];
    let export = path("export.csv");
    let mut command = Command::new(plantwatch_bin());
    command.arg("export").arg("--db").arg(&h.db);
    for tag in tags {
        command.args(["--tag", tag]);
    }
    let (from, to) = (h.window.0 - MAX_GAP_MS, h.window.1 + MAX_GAP_MS);
    let status = command
        .args(["--from", &time(from), "--to", &time(to), "--out"])
        .arg(&export)
        .status()
        .expect("run plantwatch export");
    assert!(status.success());
    // The journal over the window, for the alarm counts.
    let alarms = Command::new(plantwatch_bin())
        .arg("alarms")
        .arg("--db")
        .arg(&h.db)
        .args(["--from", &time(h.window.0), "--to", &time(h.window.1)])
        .output()
        .expect("run plantwatch alarms");
    assert!(alarms.status.success(), "{alarms:?}");
    let journal = path("journal.csv");
    std::fs::write(&journal, &alarms.stdout).expect("write the journal");
    let check = Command::new(python())
        .arg(peer("report_check.py"))
        .arg("--export")
        .arg(&export)
        .arg("--report")
        .arg(path("report.csv"))
        .args(["--from", &time(h.window.0), "--to", &time(h.window.1)])
        .args([
            "--max-gap-ms",
            &MAX_GAP_MS.to_string(),
            "--bool",
            "plc/pump1_running",
        ])
        .arg("--xlsx")
        .arg(path("report.xlsx"))
        .arg("--journal")
        .arg(&journal)
        .output()
        .expect("run report_check.py");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    println!("report_check.py: {said}");

    // The outages, as the test made them, are the report's gaps, with their causes.
    let csv = std::fs::read_to_string(path("report.csv")).expect("read the CSV report");
    let gaps = gaps_of(&csv, "plc/level");
    println!(
        "plc/level gaps: {gaps:?}; offline {:?}, not collecting {:?}",
        h.offline, h.not_collecting
    );
    let comm: Vec<_> = gaps.iter().filter(|g| g.0 == "bad:comm_lost").collect();
    assert_eq!(comm.len(), 1, "one outage of the link: {gaps:?}");
    let (_, a, b) = comm[0];
    // Seen within a poll of the simulator's stop; seen back within the back-off of its start.
    assert!(
        (a - h.offline.0).abs() <= POLL_MS + 100,
        "{a} vs {}",
        h.offline.0
    );
    assert!(
        *b >= h.offline.1 - POLL_MS && *b <= h.offline.1 + BACKOFF_MS + POLL_MS,
        "{b} vs {}",
        h.offline.1
    );
    let no_data: Vec<_> = gaps.iter().filter(|g| g.0 == "no_data").collect();
    assert_eq!(no_data.len(), 1, "one stop of the collector: {gaps:?}");
    let (_, a, b) = no_data[0];
    // The last sample is stored within a poll of the end; the second collector's first within a poll
    // of its start (plus the process start-up, under a second).
    assert!(
        (a - h.not_collecting.0).abs() <= POLL_MS + 200,
        "{a} vs {}",
        h.not_collecting.0
    );
    assert!(
        *b >= h.not_collecting.1 && *b <= h.not_collecting.1 + 1000 + POLL_MS,
        "{b} vs {}",
        h.not_collecting.1
    );
    for tag in tags {
        assert!(
            gaps_of(&csv, tag).iter().any(|g| g.0 == "no_data"),
            "{tag} shows the collector's stop"
        );
    }

    // The PDF opens: its text has the title, the tags and a gap line; page 1 as a picture.
    let pdf = path("report.pdf");
    let text = run("pdftotext", &[pdf.to_str().expect("utf-8 path"), "-"]);
    for wanted in [
        "Test shift report",
        "plc/level",
        "meter/power",
        "no data (collector not running)",
        "bad:comm_lost",
    ] {
        assert!(text.contains(wanted), "pdftotext lacks {wanted:?}:\n{text}");
    }
    let picture = path("page1");
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf.to_str().expect("utf-8"),
            picture.to_str().expect("utf-8"),
        ],
    );
    let png = std::fs::read(path("page1.png")).expect("pdftoppm wrote page1.png");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");

    let html = std::fs::read_to_string(path("report.html")).expect("read the HTML report");
    assert!(
        html.contains("<svg")
            && html.contains("Test shift report")
            && html.contains("no data (collector not running)")
    );

    // The built-in templates (every tag, a group per device) and the demo plant's own shift and daily
    // templates (every tag they name is a demo tag) run on the same history.
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/reports");
    let demo_shift = assets.join("shift.toml");
    let demo_daily = assets.join("daily.toml");
    for (name, template) in [
        ("shift", "shift"),
        ("daily", "daily"),
        ("demo-shift", demo_shift.to_str().expect("utf-8")),
        ("demo-daily", demo_daily.to_str().expect("utf-8")),
    ] {
        let out = path(&format!("{name}.pdf"));
        let output = Command::new(plantwatch_bin())
            .arg("report")
            .arg("--db")
            .arg(&h.db)
            .args([
                "--template",
                template,
                "--from",
                &time(h.window.0),
                "--to",
                &time(h.window.1),
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run plantwatch report");
        assert!(output.status.success(), "{name}: {output:?}");
    }
    // A template tag the history lacks is bad input: exit 2, named, and no file.
    let template = path("unknown_tag.toml");
    std::fs::write(
        &template,
        "title = \"T\"\n[[groups]]\nname = \"G\"\ntags = [\"plc/levle\"]\n",
    )
    .expect("write the template");
    let out = path("unknown_tag.csv");
    let _ = std::fs::remove_file(&out);
    let output = Command::new(plantwatch_bin())
        .arg("report")
        .arg("--db")
        .arg(&h.db)
        .arg("--template")
        .arg(&template)
        .args(["--from", &time(h.window.0), "--to", &time(h.window.1)])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run plantwatch report");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tag 'plc/levle' is not in the history"),
        "{stderr}"
    );
    assert!(!out.exists());

    // In Chinese: the title and the headings in Chinese, in a face that has the glyphs.
    let zh = path("report-zh.pdf");
    report(&h, &zh, "zh-CN");
    let text = run("pdftotext", &[zh.to_str().expect("utf-8 path"), "-"]);
    for wanted in ["测试班报", "数据缺口", "plc/level"] {
        assert!(
            text.contains(wanted),
            "pdftotext of the Chinese report lacks {wanted:?}:\n{text}"
        );
    }
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            zh.to_str().expect("utf-8"),
            path("page1-zh").to_str().expect("utf-8"),
        ],
    );
}

#[test]
fn bad_input_exits_2_with_a_located_message_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    // An empty history file is enough: the template is refused before it is read.
    std::fs::write(&db, b"").expect("touch");
    let template = dir.path().join("t.toml");
    std::fs::write(&template, "title = \"T\"\nmax_gap = \"soon\"\n").expect("write");
    let out = dir.path().join("r.pdf");
    let run = |args: &[&str]| {
        Command::new(plantwatch_bin())
            .arg("report")
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .expect("run plantwatch report")
    };
    let t = template.to_str().expect("utf-8");
    let o = out.to_str().expect("utf-8");
    let cases: [(&[&str], String); 4] = [
        (
            &["--template", t, "--from", "-1h", "--to", "now", "--out", o],
            format!("{t}:2:11: max_gap: invalid duration 'soon'"),
        ),
        (
            &[
                "--template",
                "shift",
                "--from",
                "-1h",
                "--to",
                "now",
                "--out",
                "r.docx",
            ],
            "must end in .pdf, .xlsx, .csv or .html".into(),
        ),
        (
            &[
                "--template",
                "shift",
                "--from",
                "now",
                "--to",
                "-1h",
                "--out",
                o,
            ],
            "must be after --from".into(),
        ),
        (
            &[
                "--template",
                "shift",
                "--from",
                "-1h",
                "--to",
                "now",
                "--out",
                o,
                "--lang",
                "fr",
            ],
            "--lang must be en or zh-CN, not \"fr\"".into(),
        ),
    ];
    for (args, expected) in cases {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
    assert!(!out.exists(), "nothing written");
}
