//! Which samples are worth storing: the exception test of process historians (deadband plus heartbeat),
//! and every quality change.

use std::time::Duration;

use plantwatch_core::{Plant, Quality, Sample, Timestamp, Value};

/// Decides which samples are stored: the value moved by more than the tag's deadband since the last
/// stored sample, the quality changed, or the tag's heartbeat has passed since the last stored sample.
/// Pure and per tag: it only remembers what it admitted, so it can run anywhere (the engine runs it before
/// handing samples to the [`crate::HistoryWriter`], which stores everything it is given).
pub struct StoreFilter {
    tags: Vec<TagFilter>,
}

struct TagFilter {
    deadband: f64,
    heartbeat_ms: i64,
    last: Option<Stored>,
}

/// What was last admitted for a tag.
struct Stored {
    time: Timestamp,
    value: Option<Value>,
    quality: Quality,
}

impl StoreFilter {
    /// A filter for every tag of the plant, with nothing stored yet (so each tag's first sample passes).
    pub fn new(plant: &Plant) -> Self {
        let tags = plant
            .tags()
            .map(|(_, _, tag)| TagFilter {
                deadband: tag.deadband,
                heartbeat_ms: duration_ms(tag.heartbeat()),
                last: None,
            })
            .collect();
        StoreFilter { tags }
    }

    /// True when `sample` should be stored; it then becomes the tag's reference for later samples.
    /// Samples of a tag the plant does not have are admitted, so the writer can count them.
    pub fn admit(&mut self, sample: &Sample) -> bool {
        let Some(tag) = self.tags.get_mut(sample.tag.0 as usize) else {
            return true;
        };
        let admit = match &tag.last {
            None => true,
            Some(last) => {
                last.quality != sample.quality
                    || sample.time.millis_since(last.time) >= tag.heartbeat_ms
                    || moved(last.value.as_ref(), sample.value.as_ref(), tag.deadband)
            }
        };
        if admit {
            tag.last = Some(Stored {
                time: sample.time,
                value: sample.value.clone(),
                quality: sample.quality,
            });
        }
        admit
    }
}

/// True when `new` differs from `old` by more than `deadband` (numbers) or at all (anything else).
fn moved(old: Option<&Value>, new: Option<&Value>, deadband: f64) -> bool {
    match (old, new) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            if a.is_nan() || b.is_nan() {
                // NaN never equals itself; a tag stuck at NaN is unchanged, a move to or from NaN is news.
                a.is_nan() != b.is_nan()
            } else {
                (a - b).abs() > deadband
            }
        }
        (a, b) => a != b,
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use plantwatch_core::*;

    use super::*;

    fn plant(deadband: f64, heartbeat_s: u64) -> Plant {
        let flow = testing::tag("flow", ValueType::F32)
            .with_deadband(deadband)
            .with_heartbeat(Duration::from_secs(heartbeat_s));
        testing::plant("test", Path::new("test.db"), vec![("plc", vec![flow])])
    }

    /// One reading: seconds since start, value, quality.
    type Reading = (i64, Option<Value>, Quality);

    /// Runs `readings` through a filter for one tag and returns which were admitted.
    fn admitted(deadband: f64, heartbeat_s: u64, readings: &[Reading]) -> Vec<bool> {
        let mut filter = StoreFilter::new(&plant(deadband, heartbeat_s));
        readings
            .iter()
            .map(|(s, value, quality)| {
                filter.admit(&Sample {
                    tag: TagIndex(0),
                    time: Timestamp(s * 1000),
                    value: value.clone(),
                    quality: *quality,
                })
            })
            .collect()
    }

    fn n(v: f64) -> Option<Value> {
        Some(Value::Number(v))
    }

    const GOOD: Quality = Quality::Good;
    const LOST: Quality = Quality::Bad(Cause::CommLost);

    #[test]
    fn deadband_is_measured_from_the_last_stored_value() {
        // 10.0 stored; 10.3 and 10.5 are within 0.5 of it; 10.6 is beyond; then 10.2 is 0.4 from 10.6.
        let readings = [
            (0, n(10.0), GOOD),
            (1, n(10.3), GOOD),
            (2, n(10.5), GOOD),
            (3, n(10.6), GOOD),
            (4, n(10.2), GOOD),
        ];
        assert_eq!(
            admitted(0.5, 60, &readings),
            [true, false, false, true, false]
        );
    }

    #[test]
    fn slow_drift_is_caught_once_it_adds_up() {
        // Each step is 0.2 (within the deadband) but the drift from the stored 0.0 passes 0.5 at 0.6;
        // 0.8 is then only 0.2 from the newly stored 0.6.
        let readings: Vec<Reading> = (0..5).map(|i| (i, n(i as f64 * 0.2), GOOD)).collect();
        assert_eq!(
            admitted(0.5, 60, &readings),
            [true, false, false, true, false]
        );
    }

    #[test]
    fn zero_deadband_stores_every_change_and_no_repeat() {
        let readings = [
            (0, n(1.0), GOOD),
            (1, n(1.0), GOOD),
            (2, n(1.0001), GOOD),
            (3, n(1.0001), GOOD),
        ];
        assert_eq!(admitted(0.0, 60, &readings), [true, false, true, false]);
    }

    #[test]
    fn heartbeat_stores_an_unchanged_value_once_due() {
        let readings = [
            (0, n(5.0), GOOD),
            (30, n(5.0), GOOD),
            (59, n(5.0), GOOD),
            (60, n(5.0), GOOD),
            (119, n(5.0), GOOD),
            (120, n(5.0), GOOD),
        ];
        assert_eq!(
            admitted(0.5, 60, &readings),
            [true, false, false, true, false, true]
        );
    }

    #[test]
    fn heartbeat_counts_from_the_last_stored_sample_not_the_last_seen() {
        // The change at 50 s restarts the heartbeat, so 60 s is not due; 110 s is.
        let readings = [
            (0, n(1.0), GOOD),
            (50, n(9.0), GOOD),
            (60, n(9.0), GOOD),
            (110, n(9.0), GOOD),
        ];
        assert_eq!(admitted(0.5, 60, &readings), [true, true, false, true]);
    }

    #[test]
    fn every_quality_change_is_stored_even_without_a_value_change() {
        let readings = [
            (0, n(1.0), GOOD),
            (1, n(1.0), LOST),
            (2, n(1.0), LOST),
            (3, n(1.0), Quality::Bad(Cause::Exception(4))),
            (4, n(1.0), Quality::Uncertain(Cause::Stale)),
            (5, n(1.0), GOOD),
        ];
        assert_eq!(
            admitted(0.5, 60, &readings),
            [true, true, false, true, true, true]
        );
    }

    #[test]
    fn booleans_text_and_missing_values_are_stored_on_any_change() {
        let text = |s: &str| Some(Value::Text(Arc::from(s)));
        let readings = [
            (0, None, Quality::Bad(Cause::NoConnectionYet)),
            (1, None, Quality::Bad(Cause::NoConnectionYet)),
            (2, Some(Value::Bool(false)), GOOD),
            (3, Some(Value::Bool(false)), GOOD),
            (4, Some(Value::Bool(true)), GOOD),
            (5, text("RUN"), GOOD),
            (6, text("RUN"), GOOD),
            (7, text("STOP"), GOOD),
        ];
        assert_eq!(
            admitted(100.0, 60, &readings),
            [true, false, true, false, true, true, false, true]
        );
    }

    #[test]
    fn nan_is_news_once() {
        let readings = [
            (0, n(1.0), GOOD),
            (1, n(f64::NAN), GOOD),
            (2, n(f64::NAN), GOOD),
            (3, n(1.0), GOOD),
        ];
        assert_eq!(admitted(0.5, 60, &readings), [true, true, false, true]);
    }

    #[test]
    fn tags_are_filtered_apart_and_unknown_tags_pass() {
        let mut filter = StoreFilter::new(&plant(0.5, 60));
        let sample = |tag, v| Sample {
            tag: TagIndex(tag),
            time: Timestamp(0),
            value: n(v),
            quality: GOOD,
        };
        assert!(filter.admit(&sample(0, 1.0)));
        assert!(!filter.admit(&sample(0, 1.0)));
        assert!(
            filter.admit(&sample(7, 1.0)),
            "a tag outside the plant is left to the writer to count"
        );
        assert!(filter.admit(&sample(7, 1.0)));
    }
}
