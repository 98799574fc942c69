//! The `alarms` of a tag (issue 5): limit alarms on numbers, state alarms on booleans and bits.

use std::ops::Range;
use std::time::Duration;

use plantwatch_core::{AlarmCondition, AlarmRule, LimitKind, Priority, ValueType};
use toml::de::DeTable;

use crate::error::ConfigErrorKind;
use crate::fields::{At, Field, Report, Section};
use crate::tag::is_numeric;

const ALARM_KEYS: &[&str] = &[
    "kind",
    "limit",
    "value",
    "priority",
    "deadband",
    "on_delay_s",
    "off_delay_s",
    "message",
    "message_zh",
];

/// The alarm kinds as written in the config; `None` is a state alarm.
const KINDS: &[(&str, Option<LimitKind>)] = &[
    ("hihi", Some(LimitKind::HiHi)),
    ("hi", Some(LimitKind::Hi)),
    ("lo", Some(LimitKind::Lo)),
    ("lolo", Some(LimitKind::LoLo)),
    ("state", None),
];

const PRIORITIES: &[(&str, Priority)] = &[
    ("critical", Priority::Critical),
    ("high", Priority::High),
    ("medium", Priority::Medium),
    ("low", Priority::Low),
];

/// One alarm as read, with where its kind and limit were written (for the checks across alarms).
struct ReadAlarm {
    kind: At<Option<LimitKind>>,
    limit: Option<At<f64>>,
}

/// Reads the `alarms` of a tag whose type is `value_type` (`None` when the type itself was wrong: then
/// the checks that depend on it are skipped). `None` when any alarm was wrong.
pub(crate) fn read_alarms(
    tag: &Section<'_, '_>,
    value_type: Option<ValueType>,
) -> Option<Vec<AlarmRule>> {
    let report = tag.report();
    let tables = match tag.tables(
        "alarms",
        "alarms = [{ kind = \"hi\", limit = ..., priority = ... }]",
    ) {
        Field::Absent => return Some(Vec::new()),
        Field::Invalid => return None,
        Field::Present(at) => at.value,
    };
    let mut rules = Vec::new();
    let mut read = Vec::new();
    let mut all_valid = true;
    for (table, span) in tables {
        let (rule, alarm) = read_alarm(table, span, value_type, report);
        all_valid &= rule.is_some();
        rules.extend(rule);
        read.extend(alarm);
    }
    all_valid &= check_across(&read, report);
    all_valid.then_some(rules)
}

fn read_alarm(
    table: &DeTable<'_>,
    span: Range<usize>,
    value_type: Option<ValueType>,
    report: &Report,
) -> (Option<AlarmRule>, Option<ReadAlarm>) {
    let section = Section::open(table, span, "alarm", ALARM_KEYS, report);
    let kind = section.required(
        "kind",
        "one of hihi, hi, lo, lolo, state",
        section.choice("kind", KINDS),
    );
    let priority = section.required(
        "priority",
        "one of critical, high, medium, low",
        section.choice("priority", PRIORITIES),
    );
    let deadband = section.number("deadband").check(report, |&d| {
        if d < 0.0 {
            Err(format!("'deadband' must be 0 or more, not {d}"))
        } else {
            Ok(())
        }
    });
    let on_delay = section
        .seconds("on_delay_s", false)
        .or_default(Duration::ZERO);
    let off_delay = section
        .seconds("off_delay_s", false)
        .or_default(Duration::ZERO);
    let message = section.string("message").optional();
    let message_zh = section.string("message_zh").optional();
    let limit = section.number("limit");
    let state_value = section.boolean("value");

    let Some(kind) = kind else {
        return (None, None);
    };
    let condition = match kind.value {
        Some(limit_kind) => {
            if value_type.is_some_and(|t| !is_numeric(t)) {
                report.add(
                    kind.span.clone(),
                    ConfigErrorKind::Conflict,
                    format!(
                        "a {} alarm needs a numeric tag; use kind = \"state\" on a {} tag",
                        limit_kind.name(),
                        type_word(value_type)
                    ),
                );
            }
            section.forbid("value", "applies only to state alarms (kind = \"state\")");
            let limit = section.required(
                "limit",
                &format!("a {} alarm needs its limit", limit_kind.name()),
                limit.clone(),
            );
            limit.map(|l| AlarmCondition::Limit {
                kind: limit_kind,
                limit: l.value,
            })
        }
        None => {
            if value_type.is_some_and(|t| !t.is_boolean()) {
                report.add(
                    kind.span.clone(),
                    ConfigErrorKind::Conflict,
                    format!(
                        "a state alarm needs a bool or bit tag; use hihi, hi, lo or lolo on a {} tag",
                        type_word(value_type)
                    ),
                );
            }
            section.forbid("limit", "applies only to limit alarms (hihi, hi, lo, lolo)");
            section.forbid(
                "deadband",
                "applies only to limit alarms (hihi, hi, lo, lolo)",
            );
            state_value
                .clone()
                .or_default(true)
                .map(|value| AlarmCondition::State { value })
        }
    };
    let type_fits = match (kind.value, value_type) {
        (Some(_), Some(t)) => is_numeric(t),
        (None, Some(t)) => t.is_boolean(),
        (_, None) => false,
    };
    let forbidden_present = (kind.value.is_some() && section.has("value"))
        || (kind.value.is_none() && (section.has("limit") || section.has("deadband")));

    let read = ReadAlarm {
        kind: kind.clone(),
        limit: limit.at().cloned(),
    };
    let rule = (|| {
        if !type_fits || forbidden_present {
            return None;
        }
        Some(AlarmRule {
            condition: condition?,
            priority: priority?.value,
            deadband: deadband.or_default(0.0)?,
            on_delay: on_delay?,
            off_delay: off_delay?,
            message: message?,
            message_zh: message_zh?,
        })
    })();
    (rule, Some(read))
}

/// One alarm of each kind per tag, and the limits in their natural order: hihi above hi, lolo below lo.
/// Returns false when it found a problem.
fn check_across(alarms: &[ReadAlarm], report: &Report) -> bool {
    let mut fine = true;
    for (i, alarm) in alarms.iter().enumerate() {
        if let Some(first) = alarms[..i]
            .iter()
            .find(|a| a.kind.value == alarm.kind.value)
        {
            report.add(
                alarm.kind.span.clone(),
                ConfigErrorKind::Duplicate,
                format!(
                    "this tag already has a {} alarm (line {})",
                    kind_word(alarm.kind.value),
                    report.line(first.kind.span.start)
                ),
            );
            fine = false;
        }
    }
    let limit_of = |kind: LimitKind| {
        alarms
            .iter()
            .find(|a| a.kind.value == Some(kind))
            .and_then(|a| a.limit.as_ref())
    };
    let pairs = [
        (LimitKind::HiHi, LimitKind::Hi, "above"),
        (LimitKind::LoLo, LimitKind::Lo, "below"),
    ];
    for (outer, inner, side) in pairs {
        let (Some(outer_limit), Some(inner_limit)) = (limit_of(outer), limit_of(inner)) else {
            continue;
        };
        let in_order = if side == "above" {
            outer_limit.value > inner_limit.value
        } else {
            outer_limit.value < inner_limit.value
        };
        if !in_order {
            report.add(
                outer_limit.span.clone(),
                ConfigErrorKind::Conflict,
                format!(
                    "the {} limit {:?} must be {side} the {} limit {:?} (line {})",
                    outer.name(),
                    outer_limit.value,
                    inner.name(),
                    inner_limit.value,
                    report.line(inner_limit.span.start)
                ),
            );
            fine = false;
        }
    }
    fine
}

fn kind_word(kind: Option<LimitKind>) -> &'static str {
    kind.map_or("state", LimitKind::name)
}

fn type_word(value_type: Option<ValueType>) -> &'static str {
    value_type.map_or("?", ValueType::name)
}
