//! The alarm part of a report: activations by priority and the ten most frequent alarms over the
//! window, from the journal (the same counting as `plantwatch alarms --health`).

use plantwatch_alarm::health::{self, Frequent};
use plantwatch_alarm::{JournalEntry, Transition};
use plantwatch_core::{Priority, Timestamp};

/// Alarm counts of a window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmSummary {
    /// Activations per priority, in `Priority::ALL` order (every priority, zeros included).
    pub by_priority: Vec<(Priority, u32)>,
    pub activations: u32,
    /// The most frequent alarms, most first (at most ten).
    pub most_frequent: Vec<Frequent>,
}

/// Counts the activations among `entries` (the journal over the window).
pub fn summarise(entries: &[JournalEntry], from: Timestamp, to: Timestamp) -> AlarmSummary {
    let by_priority = Priority::ALL
        .into_iter()
        .map(|p| {
            let n = entries
                .iter()
                .filter(|e| e.state == Transition::Active && e.priority == p)
                .count();
            (p, n as u32)
        })
        .collect();
    let health = health::analyse(entries, Some(from), Some(to));
    AlarmSummary {
        by_priority,
        activations: health.activations,
        most_frequent: health.most_frequent,
    }
}
