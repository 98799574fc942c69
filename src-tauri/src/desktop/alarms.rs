//! The alarm screens' side: the engine's alarm picture as the UI sees it, operator actions, and the
//! journal (read straight from the plant's database, read-only).

use std::path::Path;
use std::time::Duration;

use plantwatch_alarm::health::{self, HealthReport};
use plantwatch_alarm::{
    AlarmCommand, AlarmSnapshot, AlarmState, AlarmStatus, JournalEntry,
    JournalQuery as AlarmJournalQuery, JournalReader, OperatorAction,
};
use plantwatch_core::{Role, Timestamp};
use plantwatch_engine::Engine;

use crate::csv;

use super::wire::{
    AlarmActionKind, AlarmActionRequest, AlarmFlood, AlarmHealth, AlarmRow, AlarmStateName,
    AlarmView, ChatteringAlarm, ErrorCode, FrequentAlarm, HealthPeriod, JournalQuery, JournalRow,
    PriorityCounts, PriorityName, UiError,
};

/// The engine's alarm picture, or "unavailable" when it runs without the alarm service.
pub fn view(engine: &Engine) -> AlarmView {
    engine
        .alarms()
        .map_or_else(AlarmView::unavailable, |service| {
            view_of(&service.snapshot())
        })
}

/// Converts the alarm service's snapshot (already sorted by priority, then newest first).
pub fn view_of(snapshot: &AlarmSnapshot) -> AlarmView {
    let mut counts = PriorityCounts::default();
    for a in &snapshot.alarms {
        if a.state.is_active() {
            counts.add(a.priority.into());
        }
    }
    AlarmView {
        available: true,
        counts,
        unacknowledged: snapshot.unacked.total(),
        newest: snapshot.newest_unacked.as_ref().map(row),
        alarms: snapshot.alarms.iter().map(row).collect(),
        shelved: snapshot.shelved.iter().map(row).collect(),
        out_of_service: snapshot.out_of_service.iter().map(row).collect(),
    }
}

fn row(s: &AlarmStatus) -> AlarmRow {
    AlarmRow {
        id: s.key.clone(),
        source: s.source.clone(),
        kind: s.kind.name().to_string(),
        priority: s.priority.into(),
        state: match s.state {
            AlarmState::Normal => AlarmStateName::Normal,
            AlarmState::ActiveUnacked => AlarmStateName::ActiveUnacked,
            AlarmState::ActiveAcked => AlarmStateName::ActiveAcked,
            AlarmState::ReturnedUnacked => AlarmStateName::ReturnedUnacked,
        },
        message: s.message.clone(),
        value: s.current_value.or(s.value),
        limit: s.limit,
        since: s.activated.map(Timestamp::as_millis),
        changed: [
            s.activated,
            s.cleared,
            s.acknowledged.as_ref().map(|a| a.at),
        ]
        .into_iter()
        .flatten()
        .max()
        .map_or(0, Timestamp::as_millis),
        shelved_until: s.shelve.as_ref().map(|sh| sh.until.as_millis()),
        shelved: s.shelve.is_some(),
        out_of_service: s.out_of_service.is_some(),
    }
}

/// The operator's action as the alarm service takes it.
pub fn action_of(request: &AlarmActionRequest) -> Result<OperatorAction, UiError> {
    let user = request.user.trim().to_string();
    if user.is_empty() {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            "enter the operator's name first",
        ));
    }
    let ids = request.ids.clone();
    if !request.all && ids.is_empty() {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            "select one or more alarms first",
        ));
    }
    let command = match request.action {
        AlarmActionKind::Acknowledge if request.all => AlarmCommand::AcknowledgeAllVisible,
        AlarmActionKind::Acknowledge => AlarmCommand::Acknowledge(ids),
        AlarmActionKind::Shelve => {
            let minutes = request.shelve_minutes.unwrap_or(60).max(1);
            AlarmCommand::Shelve {
                alarms: ids,
                duration: Duration::from_secs(u64::from(minutes) * 60),
            }
        }
        AlarmActionKind::Unshelve => AlarmCommand::Unshelve(ids),
        AlarmActionKind::OutOfService => AlarmCommand::RemoveFromService(ids),
        AlarmActionKind::ReturnToService => AlarmCommand::ReturnToService(ids),
    };
    let comment = request
        .comment
        .as_ref()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    // Shelving hides an alarm from the operator, so ISA-18.2 asks why: the comment is the reason, and no
    // default stands in for it.
    if matches!(command, AlarmCommand::Shelve { .. }) && comment.is_none() {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            "the shelve reason (comment) is required: say why the alarm is shelved",
        ));
    }
    Ok(OperatorAction {
        user,
        comment,
        command,
    })
}

/// Applies an operator action as `role` through the engine, which journals it and records it in the
/// audit trail, refused or not.
pub fn act(engine: &Engine, request: &AlarmActionRequest, role: Role) -> Result<(), UiError> {
    let action = action_of(request)?;
    engine
        .act_on_alarms(action, role)
        .map_err(|e| UiError::new(ErrorCode::Alarm, e.to_string()))
}

/// Journal entries matching a query, newest first.
pub fn journal(db: &Path, query: &JournalQuery) -> Result<Vec<JournalRow>, UiError> {
    if !db.exists() {
        return Ok(Vec::new());
    }
    let reader =
        JournalReader::open(db).map_err(|e| UiError::new(ErrorCode::History, e.to_string()))?;
    let range = AlarmJournalQuery {
        from: query.from.map(Timestamp),
        to: query.to.map(Timestamp),
    };
    let needle = query.text.as_ref().map(|t| t.to_lowercase());
    let mut rows = Vec::new();
    reader
        .for_each(range, |e| {
            if matches(&e, needle.as_deref(), query.priority) {
                rows.push(journal_row(&e));
            }
        })
        .map_err(|e| UiError::new(ErrorCode::History, e.to_string()))?;
    rows.reverse();
    rows.truncate(query.limit.max(1) as usize);
    Ok(rows)
}

fn matches(e: &JournalEntry, needle: Option<&str>, priority: Option<PriorityName>) -> bool {
    let text_ok = needle
        .is_none_or(|n| e.tag.to_lowercase().contains(n) || e.message.to_lowercase().contains(n));
    let priority_ok = priority.is_none_or(|p| PriorityName::from(e.priority) == p);
    text_ok && priority_ok
}

fn journal_row(e: &JournalEntry) -> JournalRow {
    JournalRow {
        time: e.time.as_millis(),
        tag: e.tag.clone(),
        kind: e.kind.name().to_string(),
        priority: e.priority.name().to_string(),
        state: e.state.name().to_string(),
        value: e.value,
        limit: e.limit,
        message: e.message.clone(),
        user: e.user.clone(),
        comment: e.comment.clone(),
    }
}

/// Alarm health from `from` (inclusive) to `to` (exclusive), as `plantwatch alarms --health` reports it.
pub fn health(db: &Path, from: i64, to: i64) -> Result<AlarmHealth, UiError> {
    if to <= from {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            "the range must end after it starts",
        ));
    }
    let range = AlarmJournalQuery {
        from: Some(Timestamp(from)),
        to: Some(Timestamp(to)),
    };
    let entries = if db.exists() {
        JournalReader::open(db)
            .and_then(|reader| reader.entries(range))
            .map_err(|e| UiError::new(ErrorCode::History, e.to_string()))?
    } else {
        Vec::new()
    };
    Ok(health_of(
        &health::analyse(&entries, range.from, range.to),
        from,
        to,
    ))
}

/// The health report as the UI sees it.
pub fn health_of(r: &HealthReport, from: i64, to: i64) -> AlarmHealth {
    let period = |p: &health::Period| HealthPeriod {
        start: p.start.as_millis(),
        alarms: p.alarms,
    };
    AlarmHealth {
        from,
        to,
        activations: r.activations,
        average_per_10_minutes: r.average_per_10_minutes,
        busiest: r.busiest.as_ref().map(period),
        per_10_minutes: r.per_10_minutes.iter().map(period).collect(),
        floods: r
            .floods
            .iter()
            .map(|f| AlarmFlood {
                start: f.start.as_millis(),
                end: f.end.as_millis(),
                alarms: f.alarms,
                peak: f.peak,
            })
            .collect(),
        chattering: r
            .chattering
            .iter()
            .map(|c| ChatteringAlarm {
                alarm: c.alarm.key(),
                most_per_minute: c.most_per_minute,
                activations: c.activations,
                first: c.first.as_millis(),
            })
            .collect(),
        most_frequent: r
            .most_frequent
            .iter()
            .map(|f| FrequentAlarm {
                alarm: f.alarm.key(),
                priority: f.priority.into(),
                activations: f.activations,
            })
            .collect(),
    }
}

/// The journal rows as CSV, oldest first, written by the CLI's journal writer (`plantwatch alarms`),
/// so both give the same bytes.
pub fn journal_csv(rows: &[JournalRow]) -> String {
    use std::fmt::Write;
    let mut out = format!("{}\n", csv::JOURNAL_HEADER);
    for r in rows.iter().rev() {
        let line = csv::JournalLine {
            time: Timestamp(r.time),
            tag: &r.tag,
            kind: &r.kind,
            priority: &r.priority,
            state: &r.state,
            value: r.value,
            limit: r.limit,
            message: &r.message,
            user: r.user.as_deref(),
            comment: r.comment.as_deref(),
        };
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(action: AlarmActionKind, ids: &[&str], all: bool) -> AlarmActionRequest {
        AlarmActionRequest {
            action,
            ids: ids.iter().map(|s| s.to_string()).collect(),
            all,
            user: " ann ".to_string(),
            comment: Some("  checked the float  ".to_string()),
            shelve_minutes: Some(30),
        }
    }

    #[test]
    fn acknowledging_all_visible_needs_no_selection() {
        let a = action_of(&request(AlarmActionKind::Acknowledge, &[], true)).expect("valid");
        assert_eq!(a.command, AlarmCommand::AcknowledgeAllVisible);
        assert_eq!(a.user, "ann", "names are trimmed");
        assert_eq!(a.comment.as_deref(), Some("checked the float"));
    }

    #[test]
    fn a_shelve_carries_its_duration() {
        let a =
            action_of(&request(AlarmActionKind::Shelve, &["plc/level:hi"], false)).expect("valid");
        assert_eq!(
            a.command,
            AlarmCommand::Shelve {
                alarms: vec!["plc/level:hi".to_string()],
                duration: Duration::from_secs(1800)
            }
        );
    }

    #[test]
    fn acting_on_nothing_or_anonymously_is_refused() {
        let none = action_of(&request(AlarmActionKind::Acknowledge, &[], false))
            .expect_err("no selection");
        assert_eq!(none.code, ErrorCode::BadRequest);
        let mut anonymous = request(AlarmActionKind::Acknowledge, &["x"], false);
        anonymous.user = "  ".to_string();
        assert_eq!(
            action_of(&anonymous).expect_err("no user").code,
            ErrorCode::BadRequest
        );
    }

    #[test]
    fn a_shelve_without_a_reason_is_refused_naming_the_field() {
        for blank in [None, Some(""), Some("   \t")] {
            let mut r = request(AlarmActionKind::Shelve, &["plc/level:hi"], false);
            r.comment = blank.map(str::to_string);
            let e = action_of(&r).expect_err("a shelve needs a reason");
            assert_eq!(e.code, ErrorCode::BadRequest, "for comment {blank:?}");
            assert!(
                e.message.contains("reason"),
                "the message names the field: {}",
                e.message
            );
        }
    }

    #[test]
    fn a_shelve_carries_its_reason_and_other_actions_need_none() {
        let a =
            action_of(&request(AlarmActionKind::Shelve, &["plc/level:hi"], false)).expect("valid");
        assert_eq!(a.comment.as_deref(), Some("checked the float"));
        let mut ack = request(AlarmActionKind::Acknowledge, &["plc/level:hi"], false);
        ack.comment = None;
        assert_eq!(action_of(&ack).expect("valid").comment, None);
    }

    fn status(
        key: &str,
        priority: plantwatch_core::Priority,
        state: AlarmState,
        activated: i64,
    ) -> AlarmStatus {
        AlarmStatus {
            key: key.to_string(),
            source: key.split(':').next().unwrap_or(key).to_string(),
            kind: plantwatch_alarm::AlarmKind::Hi,
            priority,
            message: format!("{key} message"),
            limit: Some(3.2),
            state,
            value: Some(3.3),
            current_value: Some(3.4),
            activated: Some(Timestamp(activated)),
            cleared: None,
            acknowledged: None,
            shelve: None,
            out_of_service: None,
        }
    }

    #[test]
    fn the_view_counts_active_alarms_and_names_the_newest_unacknowledged() {
        use plantwatch_core::Priority::{Critical, High};
        let snapshot = AlarmSnapshot::build(
            Timestamp(100),
            [
                status("plc/level:hi", High, AlarmState::ActiveUnacked, 10),
                status("plc/h2s:hi", Critical, AlarmState::ActiveAcked, 20),
                status("plc/o2:lo", High, AlarmState::ReturnedUnacked, 30),
            ],
        );
        let view = view_of(&snapshot);
        assert!(view.available);
        assert_eq!(
            (view.counts.critical, view.counts.high),
            (1, 1),
            "a returned alarm is not active"
        );
        assert_eq!(view.unacknowledged, 2);
        assert_eq!(
            view.newest.as_ref().map(|a| a.id.as_str()),
            Some("plc/o2:lo")
        );
        assert_eq!(view.alarms[0].id, "plc/h2s:hi", "critical first");
        assert_eq!(
            view.alarms[1].value,
            Some(3.4),
            "the current value is shown"
        );
        assert_eq!(
            view.alarms[1].state,
            AlarmStateName::ReturnedUnacked,
            "then the newest high"
        );
    }

    fn activation(tag: &str, time: i64) -> JournalEntry {
        JournalEntry {
            time: Timestamp(time),
            tag: tag.to_string(),
            kind: plantwatch_alarm::AlarmKind::Hi,
            priority: plantwatch_core::Priority::High,
            state: plantwatch_alarm::Transition::Active,
            value: Some(1.0),
            limit: Some(0.5),
            message: String::new(),
            user: None,
            comment: None,
            shelved_until: None,
        }
    }

    #[test]
    fn health_shows_floods_and_chattering_alarms_by_key() {
        // plc/level trips 4 times in 40 s, then ten other alarms a minute apart: one flood.
        let mut entries: Vec<JournalEntry> = (0..4)
            .map(|i| activation("plc/level", 600_000 + i * 10_000))
            .collect();
        entries.extend((0..10).map(|i| activation(&format!("plc/t{i}"), 660_000 + i * 30_000)));
        let from = 0;
        let to = 3_600_000;
        let report = health::analyse(&entries, Some(Timestamp(from)), Some(Timestamp(to)));
        let wire = health_of(&report, from, to);
        assert_eq!(wire.activations, 14);
        assert_eq!(wire.floods.len(), 1);
        assert_eq!(wire.floods[0].start, 600_000);
        assert_eq!(wire.floods[0].alarms, 14);
        assert_eq!(wire.chattering.len(), 1);
        assert_eq!(wire.chattering[0].alarm, "plc/level:hi");
        assert_eq!(wire.chattering[0].most_per_minute, 4);
        assert_eq!(wire.most_frequent[0].alarm, "plc/level:hi");
        assert_eq!(wire.most_frequent[0].priority, PriorityName::High);
        assert_eq!(wire.per_10_minutes[0].start, 600_000);
    }

    #[test]
    fn health_of_an_empty_range_is_refused_and_a_missing_journal_is_empty() {
        let db = Path::new("/nonexistent/plantwatch-health.db");
        assert_eq!(
            health(db, 10, 10).expect_err("empty range").code,
            ErrorCode::BadRequest
        );
        let empty = health(db, 0, 10).expect("no database, no alarms");
        assert_eq!((empty.activations, empty.floods.len()), (0, 0));
    }

    #[test]
    fn the_journal_export_writes_the_same_bytes_as_plantwatch_alarms_csv() {
        let scaled = JournalEntry {
            value: Some(101.0 * 0.1),
            limit: Some(10.0),
            message: "level, high \"again\"".into(),
            ..activation("plc/level", 1_000)
        };
        let acknowledged = JournalEntry {
            state: plantwatch_alarm::Transition::Acknowledged,
            user: Some("=HYPERLINK(\"x\")".into()),
            comment: Some("checked\non site".into()),
            ..activation("plc/level", 2_000)
        };
        // The journal is read oldest first; the desktop holds its rows newest first.
        let entries = [scaled, acknowledged];
        let mut cli = format!("{}\n", csv::JOURNAL_HEADER).into_bytes();
        for e in &entries {
            crate::cli::alarms::entry_csv(&mut cli, e).expect("written to memory");
        }
        let rows: Vec<JournalRow> = entries.iter().rev().map(journal_row).collect();
        let desktop = journal_csv(&rows);
        assert_eq!(
            desktop,
            String::from_utf8(cli).expect("utf-8"),
            "byte for byte"
        );
        assert!(desktop.contains(",10.1,10,"), "no scaling noise: {desktop}");
        assert!(
            desktop.contains("\"'=HYPERLINK"),
            "formula neutralised: {desktop}"
        );
    }
}
