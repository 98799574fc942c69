//! Desktop notifications for new critical and high alarms, shown by the desktop's notification server
//! (on Linux over D-Bus `org.freedesktop.Notifications`) through `tauri-plugin-notification`.
//!
//! The webview's own Notifications API shows nothing inside WebKitGTK, so the shell announces alarms
//! from Rust. Which alarm changes are announced is decided by [`notice`], a pure function; [`forward`]
//! only feeds it the alarm service's changes and shows what it returns.

use std::sync::Arc;

use plantwatch_alarm::JournalEntry;
use plantwatch_core::Plant;
use plantwatch_engine::alarm_service::AlarmChange;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::{self, error::RecvError};

use super::state::AppState;
use super::wire::Language;
use super::words;

/// What one notification says.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// `CRITICAL alarm: plc/level`.
    pub title: String,
    /// The alarm's message, with the value and limit when the alarm has them.
    pub body: String,
}

/// Whether and how the user wants to be told: the `notify` setting, the window's language, and the plant
/// whose alarm rules may give the message in that language (`message_zh`).
pub struct Audience<'a> {
    pub enabled: bool,
    pub language: Language,
    pub plant: &'a Plant,
}

/// The notification for an alarm change, or `None` when the operator should not be interrupted.
///
/// A change is announced when the alarm service marked it `notify` (its one rule, `AlarmMachine::is_urgent`:
/// a new activation of a critical or high alarm that is neither shelved nor out of service) and the
/// user's `notify` setting is on. Acknowledgements, clearings, shelving and the other operator actions
/// never are, and neither are medium and low alarms. Title and reading are in the user's language, and
/// so is the message where the plant gives it in that language.
pub fn notice(change: &AlarmChange, audience: &Audience<'_>) -> Option<Notice> {
    let entry = &change.entry;
    if !audience.enabled || !change.notify {
        return None;
    }
    Some(Notice {
        title: audience.language.alarm_title(entry.priority, &entry.tag),
        body: body(entry, audience),
    })
}

fn body(entry: &JournalEntry, audience: &Audience<'_>) -> String {
    let language = audience.language;
    let mut body = words::alarm_message(audience.plant, language, &entry.tag, entry.kind.name())
        .unwrap_or_else(|| entry.message.clone());
    let reading = entry.value.map(|value| {
        let limit = entry.limit.map(number);
        language.reading(&number(value), limit.as_deref())
    });
    if let Some(reading) = reading {
        if !body.is_empty() {
            body.push_str(language.separator());
        }
        body.push_str(&reading);
    }
    body
}

/// A reading as an operator writes it: six significant digits at most, without trailing zeros, so
/// values read as 32-bit floats or scaled registers carry no float tails (`3.7`, `14.6`, not
/// `3.700000047683716` or `14.600000000000001`).
fn number(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return v.to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 12) as usize;
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Announces one plant's alarm changes until its alarm service stops (or the task is aborted when the
/// plant is closed). The `notify` and `language` settings are read at each change, so a change of either
/// takes effect at once.
pub async fn forward<R: Runtime>(
    mut changes: broadcast::Receiver<AlarmChange>,
    app: AppHandle<R>,
    plant: Arc<Plant>,
) {
    loop {
        let change = match changes.recv().await {
            Ok(change) => change,
            // Changes missed while the desktop was busy are old news: announcing them late would mislead.
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!("{missed} alarm changes were not checked for notifications");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let settings = app
            .try_state::<AppState>()
            .map(|state| state.settings.get());
        let audience = Audience {
            enabled: settings.as_ref().is_some_and(|s| s.notify),
            language: settings.and_then(|s| s.language).unwrap_or_default(),
            plant: &plant,
        };
        if let Some(n) = notice(&change, &audience) {
            let shown = app
                .notification()
                .builder()
                .title(&n.title)
                .body(&n.body)
                .show();
            // No notification server is not a fault of the plant: the banner still shows the alarm.
            if let Err(e) = shown {
                tracing::warn!("cannot show the notification {:?}: {e}", n.title);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use plantwatch_alarm::{AlarmCommand, OperatorAction, Transition};
    use plantwatch_core::{Plant, Priority, Quality, Sample, Timestamp, Value};
    use plantwatch_engine::alarm_service::AlarmService;
    use plantwatch_engine::EngineEvent;

    use super::*;

    /// A wet well with a critical HIHI, a high HI and a medium LO on its level, and a pump whose trip
    /// is a high state alarm.
    const PLANT: &str = r#"
[plant]
name = "notification test"
[history]
path = "plant.db"
[[devices]]
id = "lift"
transport = "tcp"
host = "127.0.0.1"
port = 5020
unit = 1
[[devices.tags]]
id = "level"
table = "input"
address = 0
type = "f32"
alarms = [
  { kind = "hihi", limit = 3.6, priority = "critical", message = "Wet well overflowing", message_zh = "集水井溢流" },
  { kind = "hi", limit = 3.2, priority = "high" },
  { kind = "lo", limit = 0.5, priority = "medium", message = "Wet well nearly dry" },
]
[[devices.tags]]
id = "trip"
table = "discrete"
address = 0
type = "bool"
alarms = [ { kind = "state", value = true, priority = "high", message = "Pump 1 tripped" } ]
"#;

    /// A real alarm service on a plant in a temporary folder.
    struct Rig {
        plant: Arc<Plant>,
        service: AlarmService,
        changes: broadcast::Receiver<AlarmChange>,
        _dir: tempfile::TempDir,
    }

    impl Rig {
        /// The user of the window: notifications on or off, in English.
        fn told(&self, enabled: bool) -> Audience<'_> {
            Audience {
                enabled,
                language: Language::English,
                plant: &self.plant,
            }
        }

        fn start() -> Rig {
            let dir = tempfile::tempdir().expect("temp dir");
            let plant = Arc::new(
                plantwatch_config::parse(PLANT, &dir.path().join("plant.toml"))
                    .expect("the test plant is valid"),
            );
            let service =
                AlarmService::spawn(plant.clone(), &dir.path().join("plant.db")).expect("spawn");
            let changes = service.subscribe();
            Rig {
                plant,
                service,
                changes,
                _dir: dir,
            }
        }

        fn reading(&self, tag: &str, value: Value) {
            let tag = self.plant.find_tag(tag).expect("tag");
            self.service
                .feed(&EngineEvent::Samples(Arc::from(vec![Sample {
                    tag,
                    time: Timestamp::now(),
                    value: Some(value),
                    quality: Quality::Good,
                }])));
        }

        fn act(&self, command: AlarmCommand) {
            self.service
                .act(OperatorAction {
                    user: "anna".into(),
                    comment: Some("pump seal checked".into()),
                    command,
                })
                .expect("the action applies");
        }

        /// Every change published until none came for a while, with its notice (setting on).
        fn notices(&mut self) -> Vec<(String, Transition, Option<Notice>)> {
            let mut out = Vec::new();
            let mut quiet_since = Instant::now();
            while quiet_since.elapsed() < Duration::from_millis(400) {
                match self.changes.try_recv() {
                    Ok(c) => {
                        out.push((c.key.clone(), c.entry.state, notice(&c, &self.told(true))));
                        quiet_since = Instant::now();
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            out
        }
    }

    fn keys_notified(changes: &[(String, Transition, Option<Notice>)]) -> Vec<&str> {
        changes
            .iter()
            .filter(|(_, _, n)| n.is_some())
            .map(|(k, _, _)| k.as_str())
            .collect()
    }

    #[test]
    fn new_critical_and_high_activations_notify_with_priority_tag_message_and_reading() {
        let mut rig = Rig::start();
        rig.reading("lift/level", Value::Number(3.75));
        let changes = rig.notices();
        assert_eq!(
            keys_notified(&changes),
            ["lift/level:hihi", "lift/level:hi"]
        );
        let critical = changes
            .iter()
            .find_map(|(k, _, n)| (k == "lift/level:hihi").then_some(n.clone()))
            .flatten()
            .expect("a notice");
        assert_eq!(critical.title, "CRITICAL alarm: lift/level");
        assert_eq!(
            critical.body,
            "Wet well overflowing: value 3.75 (limit 3.6)"
        );

        rig.reading("lift/trip", Value::Bool(true));
        let changes = rig.notices();
        assert_eq!(keys_notified(&changes), ["lift/trip:state"]);
        let trip = changes[0].2.clone().expect("a notice");
        assert_eq!(trip.title, "HIGH alarm: lift/trip");
        assert!(trip.body.starts_with("Pump 1 tripped"), "{}", trip.body);
    }

    #[test]
    fn medium_alarms_clearings_and_operator_actions_do_not_notify() {
        let mut rig = Rig::start();
        rig.reading("lift/level", Value::Number(0.2));
        let changes = rig.notices();
        assert_eq!(changes.len(), 1, "the medium LO became active: {changes:?}");
        assert_eq!(keys_notified(&changes), Vec::<&str>::new());

        rig.reading("lift/level", Value::Number(3.4));
        let changes = rig.notices();
        assert!(
            changes.iter().any(|(_, t, _)| *t == Transition::Cleared),
            "LO cleared: {changes:?}"
        );
        assert_eq!(keys_notified(&changes), ["lift/level:hi"]);

        rig.act(AlarmCommand::AcknowledgeAllVisible);
        rig.reading("lift/level", Value::Number(2.0));
        let changes = rig.notices();
        assert!(
            changes
                .iter()
                .any(|(_, t, _)| *t == Transition::Acknowledged)
                && changes.iter().any(|(_, t, _)| *t == Transition::Cleared),
            "acknowledged and cleared: {changes:?}"
        );
        assert_eq!(keys_notified(&changes), Vec::<&str>::new());
    }

    #[test]
    fn shelved_and_out_of_service_alarms_do_not_notify_when_they_trip_again() {
        let mut rig = Rig::start();
        rig.reading("lift/level", Value::Number(3.4));
        rig.reading("lift/level", Value::Number(2.0));
        rig.reading("lift/trip", Value::Bool(true));
        rig.reading("lift/trip", Value::Bool(false));
        assert_eq!(
            keys_notified(&rig.notices()),
            ["lift/level:hi", "lift/trip:state"]
        );

        rig.act(AlarmCommand::Shelve {
            alarms: vec!["lift/level:hi".into()],
            duration: Duration::from_secs(600),
        });
        rig.act(AlarmCommand::RemoveFromService(vec![
            "lift/trip:state".into()
        ]));
        rig.reading("lift/level", Value::Number(3.4));
        rig.reading("lift/trip", Value::Bool(true));
        let changes = rig.notices();
        let activations = changes
            .iter()
            .filter(|(_, t, _)| *t == Transition::Active)
            .count();
        assert_eq!(activations, 2, "both still evaluated: {changes:?}");
        assert_eq!(keys_notified(&changes), Vec::<&str>::new());
    }

    #[test]
    fn nothing_notifies_while_the_setting_is_off() {
        let mut rig = Rig::start();
        rig.reading("lift/level", Value::Number(3.75));
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = 0;
        while seen < 2 && Instant::now() < deadline {
            match rig.changes.try_recv() {
                Ok(change) => {
                    assert!(change.notify, "the service asks for a notification");
                    assert_eq!(
                        notice(&change, &rig.told(false)),
                        None,
                        "but the user said no"
                    );
                    seen += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        assert_eq!(seen, 2, "HIHI and HI activations seen");
    }

    #[test]
    fn readings_are_shown_without_float_tails() {
        assert_eq!(number(f64::from(3.7_f32)), "3.7");
        assert_eq!(number(146.0 * 0.1), "14.6", "a scaled u16 register");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(-12.0), "-12");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.000_123_456_78), "0.000123457");
        assert_eq!(number(415_123.4), "415123");
    }

    #[test]
    fn an_alarm_without_a_reading_still_names_its_message() {
        let entry = JournalEntry {
            time: Timestamp(0),
            tag: "lift".into(),
            kind: plantwatch_alarm::AlarmKind::Comm,
            priority: Priority::High,
            state: Transition::Active,
            value: None,
            limit: None,
            message: "lift is offline".into(),
            user: None,
            comment: None,
            shelved_until: None,
        };
        let rig = Rig::start();
        let change = AlarmChange {
            key: "lift:comm".into(),
            entry,
            notify: true,
        };
        let n = notice(&change, &rig.told(true)).expect("notified");
        assert_eq!(
            (n.title.as_str(), n.body.as_str()),
            ("HIGH alarm: lift", "lift is offline")
        );
        let chinese = Audience {
            language: Language::SimplifiedChinese,
            ..rig.told(true)
        };
        let n = notice(&change, &chinese).expect("notified");
        assert_eq!(
            (n.title.as_str(), n.body.as_str()),
            ("高优先级报警：lift", "lift 离线")
        );
    }

    #[test]
    fn in_chinese_the_title_reading_and_the_plants_chinese_message_are_chinese() {
        let mut rig = Rig::start();
        rig.reading("lift/level", Value::Number(3.75));
        let changes: Vec<AlarmChange> = std::iter::from_fn(|| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(c) = rig.changes.try_recv() {
                    return Some(c);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            None
        })
        .take(2)
        .collect();
        let chinese = Audience {
            enabled: true,
            language: Language::SimplifiedChinese,
            plant: &rig.plant,
        };
        let told: Vec<Notice> = changes.iter().filter_map(|c| notice(c, &chinese)).collect();
        assert_eq!(
            told,
            [
                Notice {
                    title: "紧急报警：lift/level".into(),
                    body: "集水井溢流：数值 3.75（限值 3.6）".into(),
                },
                Notice {
                    // The HI rule gives no message at all: the tag's name and the kind, in Chinese.
                    title: "高优先级报警：lift/level".into(),
                    body: "level 高限：数值 3.75（限值 3.2）".into(),
                },
            ]
        );
    }
}
