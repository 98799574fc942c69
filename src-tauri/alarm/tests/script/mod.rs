//! Reads and runs one alarm script (see `tests/data/alarms/README.md`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_alarm::{
    AlarmCommand, AlarmEvent, AlarmManager, AlarmState, AlarmStatus, OperatorAction,
};
use plantwatch_core::{
    testing, AlarmCondition, AlarmRule, AlarmSettings, Cause, Device, LimitKind, Plant, Priority,
    Quality, Sample, Table, Tag, Timestamp, Value, ValueType,
};

/// The scripts' time zero: every script time is seconds after this.
const START: i64 = 1_795_651_200_000; // 2026-11-26T00:00:00Z

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/alarms")
}

fn seconds(text: &str) -> Duration {
    if let Ok(s) = text.parse::<f64>() {
        return Duration::from_secs_f64(s);
    }
    plantwatch_core::parse_duration(text).unwrap_or_else(|e| panic!("{e}"))
}

fn time(text: &str) -> Timestamp {
    Timestamp(START + seconds(text).as_millis() as i64)
}

/// `key=value` options after the positional words.
fn option<'a>(words: &'a [String], name: &str) -> Option<&'a str> {
    words
        .iter()
        .filter(|w| is_option(w))
        .find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

fn is_option(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    })
}

fn positional(words: &[String]) -> Vec<&str> {
    words
        .iter()
        .filter(|w| !is_option(w))
        .map(String::as_str)
        .collect()
}

#[derive(Default)]
struct PlantBuilder {
    devices: Vec<Device>,
    settings: AlarmSettings,
}

impl PlantBuilder {
    fn device(&mut self, id: &str) {
        self.devices.push(testing::device(id, Vec::new()));
    }

    fn tag(&mut self, full_id: &str, kind: &str, name: Option<&str>) {
        let (dev, tag) = full_id.split_once('/').expect("tag ids are device/tag");
        let device = self
            .devices
            .iter_mut()
            .find(|d| d.id == dev)
            .expect("declare the device first");
        let (table, value_type) = if kind == "bool" {
            (Table::Discrete, ValueType::Bool)
        } else {
            (Table::Input, ValueType::F32)
        };
        let address = device.tags.len() as u16 * 2;
        let plain = Tag::new(tag, table, address, value_type);
        device.tags.push(match name {
            Some(name) => plain.with_name(name),
            None => plain,
        });
    }

    fn rule(&mut self, w: &[String]) {
        let p = positional(w);
        let (dev, tag) = p[1].split_once('/').expect("rule on device/tag");
        let condition = match p[2] {
            "state" => AlarmCondition::State {
                value: p[3] == "true",
            },
            kind => AlarmCondition::Limit {
                kind: match kind {
                    "hihi" => LimitKind::HiHi,
                    "hi" => LimitKind::Hi,
                    "lo" => LimitKind::Lo,
                    "lolo" => LimitKind::LoLo,
                    other => panic!("unknown rule kind {other}"),
                },
                limit: p[3].parse().expect("limit is a number"),
            },
        };
        let rule = AlarmRule {
            condition,
            priority: Priority::from_name(p[4]).expect("priority"),
            deadband: option(w, "deadband").map_or(0.0, |d| d.parse().expect("deadband")),
            on_delay: option(w, "on").map_or(Duration::ZERO, seconds),
            off_delay: option(w, "off").map_or(Duration::ZERO, seconds),
            message: option(w, "message").map(str::to_string),
            message_zh: None,
        };
        let device = self
            .devices
            .iter_mut()
            .find(|d| d.id == dev)
            .expect("device");
        let tag = device
            .tags
            .iter_mut()
            .find(|t| t.id() == tag)
            .expect("declare the tag first");
        let alarms = tag.alarms().iter().cloned().chain([rule]).collect();
        *tag = tag.clone().with_alarms(alarms);
    }

    fn build(&self, history: PathBuf) -> Plant {
        Plant::new(
            "script",
            history,
            self.settings.clone(),
            self.devices.clone(),
            None,
        )
    }
}

/// Formats an event the way `=>` lines write it, so a mismatch shows both side by side.
fn describe(e: &AlarmEvent) -> String {
    let secs = (e.entry.time.0 - START) as f64 / 1000.0;
    let mut s = format!(
        "{secs} {} {} {}",
        e.entry.tag,
        e.entry.kind.name(),
        e.entry.state.name()
    );
    if let Some(v) = e.entry.value {
        s += &format!(" value={v}");
    }
    if let Some(u) = &e.entry.user {
        s += &format!(" user={u}");
    }
    if let Some(c) = &e.entry.comment {
        s += &format!(" comment=\"{c}\"");
    }
    if let Some(t) = e.entry.shelved_until {
        s += &format!(" until={}", (t.0 - START) as f64 / 1000.0);
    }
    s
}

/// Does an event match an expected `=>` line? Time, tag, kind, state, user and comment always count;
/// value and until only when the line gives them.
fn matches(e: &AlarmEvent, w: &[String]) -> bool {
    let p = positional(w);
    let value_ok = option(w, "value").is_none_or(|v| {
        if v == "-" {
            e.entry.value.is_none()
        } else {
            e.entry
                .value
                .is_some_and(|x| (x - v.parse::<f64>().expect("value")).abs() < 1e-9)
        }
    });
    let until_ok = option(w, "until").is_none_or(|t| e.entry.shelved_until == Some(time(t)));
    p.len() == 5
        && e.entry.time == time(p[1])
        && e.entry.tag == p[2]
        && e.entry.kind.name() == p[3]
        && e.entry.state.name() == p[4]
        && e.entry.user.as_deref() == option(w, "user")
        && e.entry.comment.as_deref() == option(w, "comment")
        && value_ok
        && until_ok
}

fn keys(p: &[&str]) -> Vec<String> {
    p.iter().map(|k| k.to_string()).collect()
}

/// Runs `tests/data/alarms/<name>.alarms`, panicking with the line of the first difference.
pub fn run(name: &str) {
    let path = data_dir().join(format!("{name}.alarms"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plant.db");
    let mut plant_builder = PlantBuilder::default();
    let mut manager: Option<AlarmManager> = None;
    let mut pending: Vec<AlarmEvent> = Vec::new();
    let mut last_error: Option<String> = None;
    let mut now = Timestamp(START);

    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = format!("{}:{}", path.display(), n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let w = testing::words(line);
        let p = positional(&w);
        match p[0] {
            "device" => plant_builder.device(p[1]),
            "tag" => plant_builder.tag(
                p[1],
                p.get(2).copied().unwrap_or("number"),
                option(&w, "name"),
            ),
            "rule" => plant_builder.rule(&w),
            "max_shelve" => plant_builder.settings.max_shelve = seconds(p[1]),
            "=>" => {
                assert!(
                    !pending.is_empty(),
                    "{at}: expected `{line}`, but nothing (more) happened"
                );
                let got = pending.remove(0);
                assert!(
                    matches(&got, &w),
                    "{at}: expected `{}`\n  got `=> {}`",
                    line,
                    describe(&got)
                );
            }
            "!" => {
                let want = line[1..].trim();
                let got = last_error.take();
                assert!(
                    got.as_deref().is_some_and(|g| g.contains(want)),
                    "{at}: expected the error `{want}`, got {got:?}"
                );
            }
            "?" => {
                let m = manager.as_ref().expect("no event yet");
                check_view(m, now, &p, &at);
            }
            _ => {
                // An event: everything from the previous one must have been expected.
                assert_all_expected(&pending, &last_error, &at, "before this line");
                now = time(p[0]);
                if p[1] == "restart" {
                    drop(manager.take());
                    continue;
                }
                let m = manager.get_or_insert_with(|| {
                    AlarmManager::open(&plant_builder.build(db.clone()), &db)
                        .expect("open the alarm journal")
                });
                match event(m, &plant_builder, &w, &p, now) {
                    Ok(events) => pending = events,
                    Err(e) => last_error = Some(e),
                }
                // Every step is on record before the next, so a `restart` finds what the script did.
                m.flush(now).expect("the journal takes the step");
            }
        }
    }
    assert_all_expected(
        &pending,
        &last_error,
        &path.display().to_string(),
        "at the end",
    );
}

/// Every journal entry and error so far was matched by an expected line (`=>`, `!`).
fn assert_all_expected(pending: &[AlarmEvent], last_error: &Option<String>, at: &str, when: &str) {
    assert!(
        pending.is_empty(),
        "{at}: unexpected journal entries {when}:\n  {}",
        pending
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    assert!(
        last_error.is_none(),
        "{at}: unexpected error {when}: {last_error:?}"
    );
}

fn event(
    m: &mut AlarmManager,
    plant: &PlantBuilder,
    w: &[String],
    p: &[&str],
    now: Timestamp,
) -> Result<Vec<AlarmEvent>, String> {
    let comment = option(w, "comment").map(str::to_string);
    let act = |m: &mut AlarmManager, user: &str, command: AlarmCommand| {
        let action = OperatorAction {
            user: user.to_string(),
            comment: comment.clone(),
            command,
        };
        m.act(&action, now).map_err(|e| e.to_string())
    };
    match p[1] {
        "tick" => Ok(m.tick(now)),
        "offline" | "online" => {
            let device = plant
                .devices
                .iter()
                .position(|d| d.id == p[2])
                .expect("device");
            Ok(m.device(device, p[1] == "offline", now))
        }
        "ack" => act(m, p[2], AlarmCommand::Acknowledge(keys(&p[3..]))),
        "ack-all" => act(m, p[2], AlarmCommand::AcknowledgeAllVisible),
        "shelve" => act(
            m,
            p[2],
            AlarmCommand::Shelve {
                alarms: keys(&p[4..]),
                duration: seconds(p[3]),
            },
        ),
        "unshelve" => act(m, p[2], AlarmCommand::Unshelve(keys(&p[3..]))),
        "oos" => act(m, p[2], AlarmCommand::RemoveFromService(keys(&p[3..]))),
        "in-service" => act(m, p[2], AlarmCommand::ReturnToService(keys(&p[3..]))),
        tag if p.get(2) == Some(&"=") => {
            let plant = plant.build(PathBuf::new());
            let index = plant.find_tag(tag).expect("tag in the script's plant");
            let value = match p[3] {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                "-" => None,
                n => Some(Value::Number(n.parse().expect("value"))),
            };
            let quality = match p.get(4) {
                None => Quality::Good,
                Some(&"bad") => Quality::Bad(Cause::CommLost),
                Some(&"uncertain") => Quality::Uncertain(Cause::Stale),
                Some(q) => panic!("unknown quality {q}"),
            };
            let sample = Sample {
                tag: index,
                time: now,
                value,
                quality,
            };
            Ok(m.samples(std::slice::from_ref(&sample)))
        }
        other => panic!("unknown event `{other}`"),
    }
}

/// `? KEY STATE [visible|shelved|oos]` checks one alarm; `? banner C H M L [newest=KEY]` the unacknowledged
/// counts by priority and the newest unacknowledged alarm.
fn check_view(m: &AlarmManager, now: Timestamp, p: &[&str], at: &str) {
    let snap = m.snapshot(now);
    if p[1] == "banner" {
        let u = snap.unacked;
        let got = [u.critical, u.high, u.medium, u.low]
            .map(|c| c.to_string())
            .join(" ");
        assert_eq!(
            got,
            p[2..6].join(" "),
            "{at}: unacknowledged counts critical high medium low"
        );
        let newest = snap
            .newest_unacked
            .as_ref()
            .map(|s| s.key.as_str())
            .unwrap_or("-");
        if let Some(want) = p.get(6) {
            assert_eq!(newest, *want, "{at}: newest unacknowledged alarm");
        }
        return;
    }
    let key = p[1];
    let find = |list: &[AlarmStatus]| list.iter().find(|s| s.key == key).cloned();
    let (list, status) = if let Some(s) = find(&snap.alarms) {
        ("visible", Some(s))
    } else if let Some(s) = find(&snap.shelved) {
        ("shelved", Some(s))
    } else if let Some(s) = find(&snap.out_of_service) {
        ("oos", Some(s))
    } else {
        ("none", None)
    };
    let state = status.as_ref().map_or(AlarmState::Normal, |s| s.state);
    assert_eq!(state.name(), p[2], "{at}: state of {key}");
    if let Some(want) = p.get(3) {
        assert_eq!(list, *want, "{at}: where {key} is shown");
    }
}
