//! The write path's audit hook over the plant's audit trail (`plantwatch-access`): every write attempt
//! becomes one chained entry. The engine opens the trail of its own history file unless told otherwise,
//! so no engine writes unaudited.

use plantwatch_access::{AuditAction, AuditEntry, AuditTrail};
use plantwatch_alarm::{AlarmCommand, OperatorAction};
use plantwatch_core::{Role, Timestamp};

use crate::write::{WriteAudit, WriteReport};

impl WriteAudit for AuditTrail {
    fn record(&self, report: &WriteReport, comment: Option<&str>) -> Result<(), String> {
        self.append(&entry_of(report, comment, Timestamp::now()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The audit entry of one write attempt: the outcome's word as the result, and the reason of a refusal
/// after the user's comment (the trail's `comment` column is all the context an auditor gets).
pub fn entry_of(report: &WriteReport, comment: Option<&str>, time: Timestamp) -> AuditEntry {
    let mut entry = AuditEntry::new(
        time,
        &report.actor.user,
        report.actor.role,
        AuditAction::Write,
        &report.tag,
        report.outcome.word(),
    );
    entry.old = report.old.as_ref().map(ToString::to_string);
    entry.requested = Some(report.requested.to_string());
    entry.readback = report.readback.as_ref().map(ToString::to_string);
    let why = match &report.outcome {
        crate::write::WriteOutcome::Done | crate::write::WriteOutcome::Mismatch => None,
        _ => Some(report.message()),
    };
    entry.comment = match (comment, why) {
        (Some(c), Some(w)) => Some(format!("{c} ({w})")),
        (Some(c), None) => Some(c.to_string()),
        (None, w) => w,
    };
    entry
}

/// The audit entry of an operator's alarm action: one entry per action, naming every alarm it named.
pub fn entry_of_alarm_action(
    action: &OperatorAction,
    role: Role,
    result: &str,
    refusal: Option<String>,
    time: Timestamp,
) -> AuditEntry {
    let (kind, target, requested) = match &action.command {
        AlarmCommand::Acknowledge(keys) => (AuditAction::AlarmAcknowledged, keys.join(" "), None),
        AlarmCommand::AcknowledgeAllVisible => (
            AuditAction::AlarmAcknowledged,
            "all visible".to_string(),
            None,
        ),
        AlarmCommand::Shelve { alarms, duration } => (
            AuditAction::AlarmShelved,
            alarms.join(" "),
            Some(format!("{}s", duration.as_secs())),
        ),
        AlarmCommand::Unshelve(keys) => (AuditAction::AlarmUnshelved, keys.join(" "), None),
        AlarmCommand::RemoveFromService(keys) => {
            (AuditAction::AlarmOutOfService, keys.join(" "), None)
        }
        AlarmCommand::ReturnToService(keys) => (AuditAction::AlarmInService, keys.join(" "), None),
    };
    let mut entry = AuditEntry::new(time, &action.user, role, kind, &target, result);
    entry.requested = requested;
    entry.comment = match (action.comment.as_deref(), refusal) {
        (Some(c), Some(r)) => Some(format!("{c} ({r})")),
        (Some(c), None) => Some(c.to_string()),
        (None, r) => r,
    };
    entry
}

#[cfg(test)]
mod tests {
    use plantwatch_core::Value;

    use super::*;
    use crate::write::{Actor, WriteOutcome};

    #[test]
    fn a_refused_write_keeps_the_comment_and_says_why() {
        let report = WriteReport {
            tag: "plc/start_level".into(),
            actor: Actor {
                user: "olga".into(),
                role: Role::Operator,
            },
            old: Some(Value::Number(1.2)),
            requested: Value::Number(9.0),
            readback: None,
            outcome: WriteOutcome::OutOfRange {
                min: Some(0.5),
                max: Some(3.0),
            },
            audit_error: None,
        };
        let entry = entry_of(&report, Some("storm coming"), Timestamp(5));
        assert_eq!(entry.result, "out of range");
        assert_eq!(entry.old.as_deref(), Some("1.2"));
        assert_eq!(entry.requested.as_deref(), Some("9"));
        assert_eq!(
            entry.comment.as_deref(),
            Some("storm coming (out of range: 9 for plc/start_level is outside 0.5 to 3)")
        );
    }

    #[test]
    fn a_shelve_names_its_alarms_its_time_and_its_reason() {
        let action = OperatorAction {
            user: "olga".into(),
            comment: Some("sensor cleaning".into()),
            command: AlarmCommand::Shelve {
                alarms: vec!["plc/level:hi".into(), "plc/level:hihi".into()],
                duration: std::time::Duration::from_secs(1800),
            },
        };
        let entry = entry_of_alarm_action(&action, Role::Operator, "ok", None, Timestamp(9));
        assert_eq!(entry.action, AuditAction::AlarmShelved);
        assert_eq!(entry.target, "plc/level:hi plc/level:hihi");
        assert_eq!(entry.requested.as_deref(), Some("1800s"));
        assert_eq!(entry.comment.as_deref(), Some("sensor cleaning"));
        assert_eq!(
            (entry.user.to_string(), entry.role),
            ("olga".to_string(), Role::Operator)
        );
    }
}
