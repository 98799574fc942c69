//! How fast the alarm service's state machine takes samples: 1000 tags with three limit alarms each
//! (hihi, hi with deadband and delays, lo), fed a sine wave that crosses the limits now and then.
//! Pure evaluation (AlarmMachine) and evaluation with the SQLite journal (AlarmManager, one transaction
//! per batch of one poll's samples). Prints a table; run with `cargo bench -p plantwatch-system-tests
//! --bench alarm_eval`.

use std::time::{Duration, Instant};

use plantwatch_alarm::{AlarmMachine, AlarmManager};
use plantwatch_core::{
    AlarmCondition, AlarmRule, LimitKind, Plant, Priority, Quality, Sample, TagIndex, Timestamp,
    Value,
};
use plantwatch_system_tests::history_support::numeric_plant;

const DEVICES: usize = 10;
const TAGS_EACH: usize = 100;
const POLLS: usize = 300;

fn rule(kind: LimitKind, limit: f64, priority: Priority, delays: bool) -> AlarmRule {
    AlarmRule {
        condition: AlarmCondition::Limit { kind, limit },
        priority,
        deadband: if delays { 0.05 } else { 0.0 },
        on_delay: if delays {
            Duration::from_secs(2)
        } else {
            Duration::ZERO
        },
        off_delay: if delays {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        },
        message: None,
        message_zh: None,
    }
}

fn plant(db: &std::path::Path) -> Plant {
    let base = numeric_plant(db, DEVICES, TAGS_EACH);
    let mut devices = base.devices.clone();
    for device in &mut devices {
        for tag in &mut device.tags {
            *tag = tag.clone().with_alarms(vec![
                rule(LimitKind::HiHi, 0.99, Priority::Critical, false),
                rule(LimitKind::Hi, 0.9, Priority::High, true),
                rule(LimitKind::Lo, -0.9, Priority::Medium, false),
            ]);
        }
    }
    Plant::new(
        base.name.clone(),
        base.history.clone(),
        base.alarm_settings.clone(),
        devices,
        None,
    )
}

/// One poll's samples per device, 1 s apart: each tag a sine with its own phase.
fn polls() -> Vec<Vec<Sample>> {
    let start = Timestamp::now().as_millis();
    let mut out = Vec::new();
    for p in 0..POLLS {
        for d in 0..DEVICES {
            out.push(
                (0..TAGS_EACH)
                    .map(|t| {
                        let i = d * TAGS_EACH + t;
                        let phase = i as f64 * 0.37;
                        Sample {
                            tag: TagIndex(i as u32),
                            time: Timestamp(start + p as i64 * 1000),
                            value: Some(Value::Number((p as f64 * 0.05 + phase).sin())),
                            quality: Quality::Good,
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    let plant = plant(&db);
    let batches = polls();
    let samples: usize = batches.iter().map(Vec::len).sum();

    println!(
        "alarm evaluation: {} tags x 3 limit alarms, {} samples in batches of {TAGS_EACH}",
        DEVICES * TAGS_EACH,
        samples
    );
    println!(
        "{:<34} {:>12} {:>14} {:>12}",
        "case", "transitions", "samples/s", "ns/sample"
    );

    let mut machine = AlarmMachine::new(&plant);
    let mut events = Vec::new();
    let t = Instant::now();
    for batch in &batches {
        for s in batch {
            machine.sample(s, &mut events);
        }
    }
    report(
        "machine (pure, no journal)",
        events.len(),
        samples,
        t.elapsed(),
    );

    let mut manager = AlarmManager::open(&plant, &db).expect("open journal");
    let mut transitions = 0;
    let t = Instant::now();
    for batch in &batches {
        transitions += manager.samples(batch).len();
        manager.flush(Timestamp::now()).expect("journal");
    }
    report(
        "manager (journal, SQLite WAL)",
        transitions,
        samples,
        t.elapsed(),
    );
}

fn report(case: &str, transitions: usize, samples: usize, took: Duration) {
    let secs = took.as_secs_f64();
    println!(
        "{case:<34} {transitions:>12} {:>14.0} {:>12.0}",
        samples as f64 / secs,
        secs * 1e9 / samples as f64
    );
}
