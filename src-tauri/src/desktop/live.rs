//! Live values to the UI: engine events are gathered and sent as one batch per tick (100 ms), so the UI
//! repaints at most ten times a second whatever the number of tags, and a tag that changed five times
//! in a tick is sent once, with its newest reading.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plantwatch_core::Timestamp;
use plantwatch_engine::alarm_service::AlarmChange;
use plantwatch_engine::{Engine, EngineEvent};
use tauri::ipc::Channel;
use tokio::sync::broadcast::error::TryRecvError;

use super::alarms;
use super::wire::{quality_parts, AlarmView, DeviceView, LiveBatch, TagUpdate, WireValue};

/// How often a batch goes out.
pub const TICK: Duration = Duration::from_millis(100);
/// Device counters go out every this many ticks (about once a second), state changes at once.
const DEVICE_EVERY: u32 = 10;

/// Gathers engine events between two ticks.
#[derive(Default)]
pub struct Batcher {
    tags: BTreeMap<u32, TagUpdate>,
    device_state_changed: bool,
    lagged: bool,
    urgent: Vec<String>,
}

impl Batcher {
    /// Takes one engine event in.
    pub fn add(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Samples(samples) => {
                for s in samples.iter() {
                    let (q, cause) = quality_parts(s.quality);
                    // The engine sends a sample only when the value or quality changed, so its time is
                    // also the time of the last change.
                    let update = TagUpdate {
                        i: s.tag.0,
                        v: s.value.as_ref().map(WireValue::from),
                        q,
                        cause,
                        t: Some(s.time.as_millis()),
                        c: Some(s.time.as_millis()),
                    };
                    self.tags.insert(s.tag.0, update);
                }
            }
            EngineEvent::DeviceState { .. } => self.device_state_changed = true,
        }
    }

    /// Takes one alarm change in: the alarm service's verdict that it should interrupt the operator is
    /// passed on as is.
    pub fn alarm(&mut self, change: &AlarmChange) {
        if change.notify {
            self.urgent.push(change.key.clone());
        }
    }

    /// The alarms that became urgent since the last call, in the order they did.
    pub fn take_urgent(&mut self) -> Vec<String> {
        std::mem::take(&mut self.urgent)
    }

    /// The receiver fell behind and events were lost: the UI must re-read every tag.
    pub fn lagged(&mut self) {
        self.lagged = true;
    }

    /// Empties the batcher: the changed tags (in index order), whether a device changed state, and
    /// whether the UI must resynchronise.
    pub fn take(&mut self) -> (Vec<TagUpdate>, bool, bool) {
        let tags = std::mem::take(&mut self.tags).into_values().collect();
        let changed = std::mem::take(&mut self.device_state_changed);
        let lagged = std::mem::take(&mut self.lagged);
        (tags, changed, lagged)
    }
}

/// The UI's live channels (one per window load; a reloaded page subscribes again).
#[derive(Default, Clone)]
pub struct LiveHub {
    channels: Arc<Mutex<Vec<Channel<LiveBatch>>>>,
}

impl LiveHub {
    pub fn add(&self, channel: Channel<LiveBatch>) {
        self.lock().push(channel);
    }

    /// Sends a batch to every channel, dropping the ones whose page is gone.
    pub fn send(&self, batch: &LiveBatch) {
        self.lock().retain(|c| c.send(batch.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Channel<LiveBatch>>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Forwards one engine's events as batches to `send` until aborted (when the plant is closed, or the
/// browser screens stop) or the engine's events end. The window's hub and the browser screens each run
/// one over the same engine.
pub async fn forward(engine: Arc<Engine>, send: impl Fn(LiveBatch) + Send + 'static) {
    let mut events = engine.subscribe();
    let mut alarm_changes = engine.alarms().map(|a| a.subscribe());
    let mut batcher = Batcher::default();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut tick: u32 = 0;
    let mut last_alarms: Option<AlarmView> = None;
    loop {
        ticker.tick().await;
        tick = tick.wrapping_add(1);
        loop {
            match events.try_recv() {
                Ok(event) => batcher.add(&event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => batcher.lagged(),
                Err(TryRecvError::Closed) => return,
            }
        }
        if let Some(changes) = alarm_changes.as_mut() {
            loop {
                match changes.try_recv() {
                    Ok(change) => batcher.alarm(&change),
                    // Changes missed while the page was busy are old news: sounding for them late
                    // would mislead (the alarm picture still shows them).
                    Err(TryRecvError::Lagged(_)) => continue,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
        }
        let (tags, state_changed, resync) = batcher.take();
        let urgent = batcher.take_urgent();
        let devices =
            (state_changed || tick.is_multiple_of(DEVICE_EVERY)).then(|| device_views(&engine));
        let view = alarms::view(&engine);
        let alarms = (last_alarms.as_ref() != Some(&view)).then(|| view.clone());
        last_alarms = Some(view);
        if tags.is_empty() && devices.is_none() && alarms.is_none() && urgent.is_empty() && !resync
        {
            continue;
        }
        send(LiveBatch {
            at: Timestamp::now().as_millis(),
            tags,
            devices,
            alarms,
            urgent,
            resync,
        });
    }
}

/// Every device's status for the UI.
pub fn device_views(engine: &Engine) -> Vec<DeviceView> {
    engine.devices().iter().map(DeviceView::from).collect()
}

/// Every tag's latest reading.
pub fn snapshot(engine: &Engine) -> Vec<TagUpdate> {
    engine
        .live()
        .iter()
        .enumerate()
        .map(|(i, live)| TagUpdate::from_live(i as u32, live))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::wire::WireCause;
    use plantwatch_core::{Cause, Quality, Sample, TagIndex, Value};

    fn sample(tag: u32, ms: i64, value: f64, quality: Quality) -> Sample {
        Sample {
            tag: TagIndex(tag),
            time: Timestamp(ms),
            value: Some(Value::Number(value)),
            quality,
        }
    }

    #[test]
    fn a_tag_changing_often_within_a_tick_is_sent_once_with_its_newest_reading() {
        let mut b = Batcher::default();
        b.add(&EngineEvent::Samples(Arc::from(vec![
            sample(3, 1000, 1.0, Quality::Good),
            sample(1, 1000, 5.0, Quality::Good),
        ])));
        b.add(&EngineEvent::Samples(Arc::from(vec![sample(
            3,
            1100,
            2.0,
            Quality::Bad(Cause::CommLost),
        )])));
        let (tags, state_changed, resync) = b.take();
        assert_eq!(
            tags.iter().map(|t| t.i).collect::<Vec<_>>(),
            vec![1, 3],
            "one update per tag, index order"
        );
        assert_eq!(
            tags[1].v,
            Some(WireValue::Number(2.0)),
            "the newest value wins"
        );
        assert_eq!(tags[1].cause, Some(WireCause::CommLost));
        assert!(!state_changed && !resync);
        assert!(b.take().0.is_empty(), "taking empties the batcher");
    }

    #[test]
    fn the_alarm_services_urgent_verdict_is_passed_on_as_is_and_taken_once() {
        let change = |key: &str, priority: plantwatch_core::Priority, notify: bool| AlarmChange {
            key: key.into(),
            entry: plantwatch_alarm::JournalEntry {
                time: Timestamp(0),
                tag: "lift/level".into(),
                kind: plantwatch_alarm::AlarmKind::Hi,
                priority,
                state: plantwatch_alarm::Transition::Active,
                value: Some(4.0),
                limit: Some(3.6),
                message: String::new(),
                user: None,
                comment: None,
                shelved_until: None,
            },
            notify,
        };
        let mut b = Batcher::default();
        // The verdict is the service's alone: a critical activation it did not mark (the alarm was
        // shelved) is not urgent here, and a change it marked is, whatever the desktop would think.
        b.alarm(&change(
            "lift/level:hihi",
            plantwatch_core::Priority::Critical,
            false,
        ));
        b.alarm(&change(
            "lift/level:hi",
            plantwatch_core::Priority::High,
            true,
        ));
        b.alarm(&change(
            "lift/trip:state",
            plantwatch_core::Priority::High,
            true,
        ));
        assert_eq!(b.take_urgent(), ["lift/level:hi", "lift/trip:state"]);
        assert!(b.take_urgent().is_empty(), "taking empties the list");
    }

    #[test]
    fn device_state_changes_and_lag_are_flagged() {
        let mut b = Batcher::default();
        b.add(&EngineEvent::DeviceState {
            device: 0,
            state: plantwatch_engine::DeviceState::Offline,
            at: Timestamp(5),
        });
        b.lagged();
        let (_, state_changed, resync) = b.take();
        assert!(state_changed && resync);
    }
}
