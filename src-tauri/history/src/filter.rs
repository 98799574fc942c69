//! Which samples are worth storing: the exception test of process historians (deadband plus heartbeat),
//! and every quality change.

use std::time::Duration;

use plantwatch_core::{Quality, Sample, Timestamp, Value};

/// What history last stored of a tag: the reference a new sample is judged against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastStored<'a> {
    pub time: Timestamp,
    /// `None` when the stored sample had no value (for example no connection yet).
    pub value: Option<&'a Value>,
    pub quality: Quality,
}

/// True when `sample` is worth storing, given what was last stored of its tag (`None`: nothing yet,
/// so a tag's first sample always is): its quality differs, its tag's `heartbeat` has passed since the
/// last stored sample, or its value moved by more than `deadband` (numbers) or at all (booleans, text,
/// a value appearing or going away).
///
/// Pure, and the one definition of "worth storing": the engine keeps each tag's last stored sample
/// with the tag's live state and asks this before handing a sample to the [`crate::HistoryWriter`],
/// which stores everything it is given.
pub fn worth_storing(
    last: Option<LastStored<'_>>,
    sample: &Sample,
    deadband: f64,
    heartbeat: Duration,
) -> bool {
    let Some(last) = last else {
        return true;
    };
    last.quality != sample.quality
        || sample.time.millis_since(last.time) >= duration_ms(heartbeat)
        || moved(last.value, sample.value.as_ref(), deadband)
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
    use std::sync::Arc;

    use plantwatch_core::*;

    use super::*;

    /// One reading: seconds since start, value, quality.
    type Reading = (i64, Option<Value>, Quality);

    /// Runs `readings` of one tag through [`worth_storing`], keeping the last admitted one as the
    /// reference the way the engine does, and returns which were admitted.
    fn admitted(deadband: f64, heartbeat_s: u64, readings: &[Reading]) -> Vec<bool> {
        let heartbeat = Duration::from_secs(heartbeat_s);
        let mut last: Option<Sample> = None;
        readings
            .iter()
            .map(|(s, value, quality)| {
                let sample = Sample {
                    tag: TagIndex(0),
                    time: Timestamp(s * 1000),
                    value: value.clone(),
                    quality: *quality,
                };
                let reference = last.as_ref().map(|l| LastStored {
                    time: l.time,
                    value: l.value.as_ref(),
                    quality: l.quality,
                });
                let admit = worth_storing(reference, &sample, deadband, heartbeat);
                if admit {
                    last = Some(sample);
                }
                admit
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
}
