//! The write path's audit hook over the plant's audit trail (`plantwatch-access`): every write attempt
//! becomes one chained entry. The engine opens the trail of its own history file unless told otherwise,
//! so no engine writes unaudited.

use plantwatch_access::{AuditAction, AuditEntry, AuditTrail};
use plantwatch_core::Timestamp;

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

#[cfg(test)]
mod tests {
    use plantwatch_core::{Role, Value};

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
}
