//! Operator control from the window: signing in and out, tag writes, alarm actions under the
//! signed-in user's name, and the audit trail.
//!
//! Users, passwords and the audit trail live in the plant's database (`plantwatch-access`); who is
//! signed in on this window lives here, on the Rust side ([`Presence`]), never in the page. Every
//! command that acts asks [`Control`] for the actor; a write then goes through the engine's one write
//! path, which checks role, range and type again and records every attempt in the audit trail.
//! Everything here touches SQLite (and argon2 for a sign-in): call it off the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use plantwatch_access::{AuditAction, AuditEntry, AuditTrail, Password, User, Users};
use plantwatch_core::{Role, Timestamp};
use plantwatch_engine::write::{Actor, WriteOutcome, WriteReport};

use super::presence::{Ended, Presence};
use super::wire::{
    AlarmActionRequest, AuditEntries, AuditQuery, AuditRow, ErrorCode, SessionView, UiError,
    WireValue, WriteRequest, WriteResult, WriteResultKind,
};

/// The window's sign-in state, shared by the commands (cheap to clone).
#[derive(Clone, Default)]
pub struct Control {
    presence: Arc<Mutex<Presence>>,
}

/// A refusal (wrong password, unknown user, no users) as the page shows it; a database failure apart.
fn access_error(e: plantwatch_access::AccessError) -> UiError {
    let code = if e.is_refusal() {
        ErrorCode::SignInFailed
    } else {
        ErrorCode::History
    };
    UiError::new(code, e.to_string())
}

impl Control {
    fn presence(&self) -> MutexGuard<'_, Presence> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The plant's users, and how long a session may stay unused.
    fn users(db: &Path) -> Result<(Users, Duration), UiError> {
        let users = Users::open(db).map_err(access_error)?;
        let idle = users.idle_lock().map_err(access_error)?;
        Ok((users, idle))
    }

    /// Ends a session that was idle too long or belongs to another plant (recording its sign-out in
    /// its own plant's database), and marks the window used when `active`.
    fn refresh(&self, db: &Path, idle: Duration, active: bool) {
        let now = Instant::now();
        let ended = {
            let mut presence = self.presence();
            let ended = presence.expire(db, idle, now);
            if active {
                presence.touch(now);
            }
            ended
        };
        if let Some((session, why)) = ended {
            let reason = match why {
                Ended::Idle => "idle lock",
                Ended::PlantChanged => "another plant was opened",
            };
            let user = User {
                name: session.name,
                role: session.role,
            };
            let recorded =
                Users::open(&session.db).and_then(|users| users.sign_out_with(&user, Some(reason)));
            if let Err(e) = recorded {
                tracing::warn!("cannot record the sign-out of {}: {e}", user.name);
            }
        }
    }

    /// Who acts from the window now; `active` says the user just used it (the idle time restarts).
    pub fn view(&self, db: &Path, active: bool) -> Result<SessionView, UiError> {
        let (users, idle) = Self::users(db)?;
        self.refresh(db, idle, active);
        let has_users = !users.is_empty().map_err(access_error)?;
        Ok(self.view_of(has_users, idle))
    }

    fn view_of(&self, has_users: bool, idle: Duration) -> SessionView {
        let presence = self.presence();
        SessionView {
            user: presence.current().map(|s| s.name.clone()),
            role: presence.role().into(),
            users: has_users,
            alarm_actions: presence.alarm_actor(has_users).is_ok(),
            audit: presence.may_audit(),
            idle_lock_s: u32::try_from(idle.as_secs()).unwrap_or(u32::MAX),
            locked: presence.locked().map(String::from),
        }
    }

    /// Checks a name and password against the plant's users (the attempt is audited either way) and
    /// signs the user in on this window.
    pub fn sign_in(&self, db: &Path, name: &str, password: &str) -> Result<SessionView, UiError> {
        let (users, idle) = Self::users(db)?;
        let user = users
            .sign_in(name.trim(), &Password::new(password))
            .map_err(access_error)?;
        // Whoever was signed in before is signed out once the new user's password is checked (a
        // failed attempt leaves them signed in), so the trail shows the hand-over.
        let before = self.presence().sign_out();
        if let Some(before) = before {
            let before = User {
                name: before.name,
                role: before.role,
            };
            if let Err(e) = users.sign_out_with(&before, Some("another user signed in")) {
                tracing::warn!("cannot record a sign-out: {e}");
            }
        }
        self.presence()
            .sign_in(user.name, user.role, db.to_path_buf(), Instant::now());
        Ok(self.view_of(true, idle))
    }

    /// Signs out whoever is signed in (audited).
    pub fn sign_out(&self, db: &Path) -> Result<SessionView, UiError> {
        let (users, idle) = Self::users(db)?;
        let session = self.presence().sign_out();
        if let Some(session) = session {
            let user = User {
                name: session.name,
                role: session.role,
            };
            Users::open(&session.db)
                .and_then(|own| own.sign_out(&user))
                .map_err(access_error)?;
        }
        let has_users = !users.is_empty().map_err(access_error)?;
        Ok(self.view_of(has_users, idle))
    }

    /// Who writes: the signed-in user, or nobody, a viewer with an empty name as the audit trail records
    /// nobody (the engine refuses and records the attempt). Using a write control counts as using the
    /// window.
    pub fn write_actor(&self, db: &Path) -> Result<Actor, UiError> {
        let (_, idle) = Self::users(db)?;
        self.refresh(db, idle, true);
        let presence = self.presence();
        Ok(match presence.current() {
            Some(s) => Actor {
                user: s.name.clone(),
                role: s.role,
            },
            None => Actor {
                user: String::new(),
                role: Role::Viewer,
            },
        })
    }

    /// Who acts on alarms: on a plant with users the signed-in operator (or more), whatever name the
    /// page sent, and nobody else; on a plant without users the typed name. Returns the request to
    /// send to the alarm service and the role to audit the action under.
    pub fn alarm_request(
        &self,
        db: &Path,
        request: AlarmActionRequest,
    ) -> Result<(AlarmActionRequest, Role), UiError> {
        let (users, idle) = Self::users(db)?;
        self.refresh(db, idle, true);
        let has_users = !users.is_empty().map_err(access_error)?;
        let presence = self.presence();
        let role = presence.role();
        match presence.alarm_actor(has_users) {
            Ok(None) => Ok((request, role)),
            Ok(Some(name)) => Ok((
                AlarmActionRequest {
                    user: name.to_string(),
                    ..request
                },
                role,
            )),
            Err(needed) => Err(UiError::new(
                ErrorCode::Denied,
                format!("denied: sign in as an {needed} (or more) to act on alarms"),
            )),
        }
    }

    /// Changes the plant file as the signed-in engineer or admin, and records the change (or its
    /// refusal) in the audit trail: `change` does the edit and returns what to record as the requested
    /// value. Nobody signed in, or a lesser role, is refused and recorded too, like a write.
    pub fn change_plant_file<T>(
        &self,
        db: &Path,
        file: &Path,
        what: &str,
        change: impl FnOnce() -> Result<T, UiError>,
    ) -> Result<T, UiError> {
        let actor = self.write_actor(db)?;
        let record = |result: &str, comment: Option<String>| {
            let mut entry = AuditEntry::new(
                Timestamp::now(),
                &actor.user,
                actor.role,
                AuditAction::PlantFileChanged,
                &file.display().to_string(),
                result,
            );
            entry.requested = Some(what.to_string());
            entry.comment = comment;
            AuditTrail::open(db)
                .and_then(|trail| trail.append(&entry))
                .map_err(access_error)
        };
        if !actor.role.allows(Role::Engineer) {
            record(
                plantwatch_access::outcome::DENIED,
                Some("needs an engineer or admin".into()),
            )?;
            return Err(UiError::new(
                ErrorCode::Denied,
                "denied: sign in as an engineer or admin to change the plant file",
            ));
        }
        match change() {
            Ok(done) => {
                record(plantwatch_access::outcome::OK, None)?;
                Ok(done)
            }
            Err(e) => {
                record(plantwatch_access::outcome::REFUSED, Some(e.message.clone()))?;
                Err(e)
            }
        }
    }

    /// The audit entries for the Audit screen, with the actions to filter by.
    pub fn audit_entries(&self, db: &Path, query: &AuditQuery) -> Result<AuditEntries, UiError> {
        Ok(AuditEntries {
            entries: self.audit_rows(db, query)?,
            actions: AuditAction::ALL
                .iter()
                .map(|a| a.name().to_string())
                .collect(),
        })
    }

    /// Reads the audit trail for an engineer or an admin.
    pub fn audit_rows(&self, db: &Path, query: &AuditQuery) -> Result<Vec<AuditRow>, UiError> {
        let (_, idle) = Self::users(db)?;
        self.refresh(db, idle, true);
        if !self.presence().may_audit() {
            return Err(UiError::new(
                ErrorCode::Denied,
                "denied: the audit trail is for engineers and admins; sign in as one",
            ));
        }
        let trail = AuditTrail::open_read_only(db).map_err(access_error)?;
        let entries = trail
            .entries(query.from.map(Timestamp), query.to.map(Timestamp))
            .map_err(access_error)?;
        Ok(filter_audit(
            entries.iter().map(|(id, e)| audit_row(*id, e)),
            query,
        ))
    }
}

/// Writes a tag of `engine`'s plant as `actor` through the engine's one write path (which checks role,
/// range and type, reads back, and records the attempt in the audit trail); the window's command and
/// the browser screens both call this.
pub async fn write(
    engine: &plantwatch_engine::Engine,
    actor: &Actor,
    request: WriteRequest,
) -> Result<WriteResult, UiError> {
    let tag = plantwatch_core::TagIndex(request.tag);
    if engine.plant().tag(tag).is_none() {
        return Err(UiError::new(
            ErrorCode::NotFound,
            format!("no tag {}", request.tag),
        ));
    }
    let comment = request
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let report = engine
        .write_tag(tag, request.value.into(), actor, comment)
        .await;
    Ok(write_result(request.tag, &report))
}

/// A write's report as the window shows it.
pub fn write_result(tag: u32, report: &WriteReport) -> WriteResult {
    let mut result = WriteResult {
        tag,
        result: WriteResultKind::Done,
        old: report.old.as_ref().map(WireValue::from),
        requested: WireValue::from(&report.requested),
        readback: report.readback.as_ref().map(WireValue::from),
        code: None,
        needed: None,
        min: None,
        max: None,
        reason: None,
        message: report.message(),
        audit_error: report.audit_error.clone(),
    };
    result.result = match &report.outcome {
        WriteOutcome::Done => WriteResultKind::Done,
        WriteOutcome::Mismatch => WriteResultKind::Mismatch,
        WriteOutcome::Refused { code } => {
            result.code = Some(*code);
            WriteResultKind::Refused
        }
        WriteOutcome::Failed { reason } => {
            result.reason = Some(reason.clone());
            WriteResultKind::Failed
        }
        WriteOutcome::Denied { needed } => {
            result.needed = Some((*needed).into());
            WriteResultKind::Denied
        }
        WriteOutcome::OutOfRange { min, max } => {
            result.min = *min;
            result.max = *max;
            WriteResultKind::OutOfRange
        }
        WriteOutcome::Invalid { reason } => {
            result.reason = Some(reason.clone());
            WriteResultKind::Invalid
        }
    };
    result
}

fn audit_row(id: i64, e: &AuditEntry) -> AuditRow {
    AuditRow {
        id,
        time: e.time.as_millis(),
        user: e.user.clone(),
        role: e.role.into(),
        action: e.action.name().to_string(),
        target: e.target.clone(),
        old: e.old.clone(),
        requested: e.requested.clone(),
        readback: e.readback.clone(),
        result: e.result.clone(),
        comment: e.comment.clone(),
    }
}

/// The rows matching a query's user, action and text, newest first, at most `limit`.
pub fn filter_audit(rows: impl Iterator<Item = AuditRow>, query: &AuditQuery) -> Vec<AuditRow> {
    let needle = query
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase);
    let user = query
        .user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let action = query.action.as_deref().filter(|a| !a.is_empty());
    let mut out: Vec<AuditRow> = rows
        .filter(|r| user.is_none_or(|u| r.user == u))
        .filter(|r| action.is_none_or(|a| r.action == a))
        .filter(|r| {
            needle.as_deref().is_none_or(|n| {
                [Some(&r.target), Some(&r.result), r.comment.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|f| f.to_lowercase().contains(n))
            })
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.id));
    out.truncate(query.limit.max(1) as usize);
    out
}

/// The audit rows as CSV, oldest first, with the header of `plantwatch audit`.
pub fn audit_csv(rows: &[AuditRow]) -> String {
    let mut out =
        String::from("time,user,role,action,target,old,requested,readback,result,comment\n");
    for r in rows.iter().rev() {
        let fields = [
            Timestamp(r.time).to_string(),
            r.user.clone(),
            Role::from(r.role).to_string(),
            r.action.clone(),
            r.target.clone(),
            r.old.clone().unwrap_or_default(),
            r.requested.clone().unwrap_or_default(),
            r.readback.clone().unwrap_or_default(),
            r.result.clone(),
            r.comment.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields
            .iter()
            .map(|f| crate::csv::field(f).to_string())
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Where an audit export goes.
pub fn export_path(dir: &Path) -> PathBuf {
    let stamp = Timestamp::now().to_string().replace([':', '.'], "-");
    dir.join(format!("audit-{stamp}.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::wire::AlarmActionKind;
    use plantwatch_core::Value;

    /// A plant database with the admin `anna` and the operator `otto` (passwords `secret-anna`,
    /// `secret-otto`).
    fn plant_with_users() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db = dir.path().join("plant.db");
        let users = Users::open(&db).expect("open the users");
        users
            .add("anna", Role::Admin, &Password::new("secret-anna"), None)
            .expect("the first user, an admin");
        let anna = users
            .sign_in("anna", &Password::new("secret-anna"))
            .expect("anna signs in");
        users
            .add(
                "otto",
                Role::Operator,
                &Password::new("secret-otto"),
                Some(&anna),
            )
            .expect("an operator added by the admin");
        (dir, db)
    }

    fn acknowledge(user: &str) -> AlarmActionRequest {
        AlarmActionRequest {
            action: AlarmActionKind::Acknowledge,
            ids: vec!["plc/level:hi".into()],
            all: false,
            user: user.into(),
            comment: Some("seen".into()),
            shelve_minutes: None,
        }
    }

    fn audit_all() -> AuditQuery {
        AuditQuery {
            from: None,
            to: None,
            user: None,
            action: None,
            text: None,
            limit: 1000,
        }
    }

    #[test]
    fn a_wrong_password_signs_nobody_in_and_says_so() {
        let (_dir, db) = plant_with_users();
        let control = Control::default();
        let refused = control
            .sign_in(&db, "otto", "guess")
            .expect_err("a wrong password");
        assert_eq!(refused.code, ErrorCode::SignInFailed);
        let view = control.view(&db, false).expect("the session");
        assert_eq!((view.user, view.users), (None, true));
    }

    #[test]
    fn a_signed_in_operator_acts_on_alarms_under_their_own_name_and_a_viewer_may_not() {
        let (_dir, db) = plant_with_users();
        let control = Control::default();
        let denied = control
            .alarm_request(&db, acknowledge("typed-name"))
            .expect_err("nobody signed in on a plant with users");
        assert_eq!(denied.code, ErrorCode::Denied);

        let view = control
            .sign_in(&db, "otto", "secret-otto")
            .expect("otto signs in");
        assert_eq!(view.user.as_deref(), Some("otto"));
        assert!(
            view.alarm_actions && !view.audit,
            "an operator acts on alarms, reads no audit"
        );
        let (request, role) = control
            .alarm_request(&db, acknowledge("typed-name"))
            .expect("an operator may");
        assert_eq!(
            (request.user.as_str(), role),
            ("otto", Role::Operator),
            "the page's name is ignored"
        );
    }

    #[test]
    fn a_plant_without_users_keeps_the_typed_name_for_alarms() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db = dir.path().join("plant.db");
        let control = Control::default();
        let view = control.view(&db, false).expect("the session");
        assert!(!view.users && view.alarm_actions && view.user.is_none());
        let (request, role) = control
            .alarm_request(&db, acknowledge("typed-name"))
            .expect("anyone may, under a typed name");
        assert_eq!((request.user.as_str(), role), ("typed-name", Role::Viewer));
    }

    #[test]
    fn the_audit_trail_is_for_engineers_and_admins_and_holds_alarm_actions() {
        let (_dir, db) = plant_with_users();
        let control = Control::default();
        control
            .sign_in(&db, "otto", "secret-otto")
            .expect("otto signs in");
        let (request, role) = control
            .alarm_request(&db, acknowledge("typed-name"))
            .expect("an operator may");
        // What Engine::act_on_alarms records for it (the engine applies and audits alarm actions).
        let action = crate::desktop::alarms::action_of(&request).expect("a valid action");
        AuditTrail::open(&db)
            .and_then(|trail| {
                trail.append(&plantwatch_engine::audit::entry_of_alarm_action(
                    &action,
                    role,
                    "ok",
                    None,
                    Timestamp::now(),
                ))
            })
            .expect("record the acknowledgement");
        let denied = control
            .audit_rows(&db, &audit_all())
            .expect_err("an operator reads no audit");
        assert_eq!(denied.code, ErrorCode::Denied);

        control
            .sign_in(&db, "anna", "secret-anna")
            .expect("anna signs in");
        let rows = control
            .audit_rows(&db, &audit_all())
            .expect("an admin reads it");
        let actions: Vec<(&str, &str)> = rows
            .iter()
            .rev()
            .map(|r| (r.action.as_str(), r.user.as_str()))
            .filter(|(a, _)| *a != "user_added")
            .collect();
        assert_eq!(
            actions,
            [
                ("sign_in", "anna"),
                ("sign_in", "otto"),
                ("alarm_acknowledged", "otto"),
                ("sign_in", "anna"),
                ("sign_out", "otto"),
            ],
            "oldest first: anna's sign-in (checked first) signs otto out"
        );
        let ack = rows
            .iter()
            .find(|r| r.action == "alarm_acknowledged")
            .expect("the acknowledgement");
        assert_eq!(
            (ack.target.as_str(), ack.comment.as_deref(), ack.role),
            ("plc/level:hi", Some("seen"), Role::Operator.into())
        );
    }

    #[test]
    fn the_audit_filter_matches_user_action_and_text_newest_first() {
        let row = |id: i64, user: &str, action: &str, target: &str| AuditRow {
            id,
            time: id * 1000,
            user: user.into(),
            role: Role::Operator.into(),
            action: action.into(),
            target: target.into(),
            old: None,
            requested: None,
            readback: None,
            result: "done".into(),
            comment: None,
        };
        let rows = || {
            vec![
                row(1, "otto", "write", "plc/lead_start_level"),
                row(2, "anna", "write", "plc/stop_level"),
                row(3, "otto", "sign_out", "otto"),
                row(4, "otto", "write", "plc/stop_level"),
            ]
            .into_iter()
        };
        let ids = |query: AuditQuery| -> Vec<i64> {
            filter_audit(rows(), &query).iter().map(|r| r.id).collect()
        };
        assert_eq!(ids(audit_all()), [4, 3, 2, 1]);
        let otto_writes = AuditQuery {
            user: Some("otto".into()),
            action: Some("write".into()),
            ..audit_all()
        };
        assert_eq!(ids(otto_writes), [4, 1]);
        let stop = AuditQuery {
            text: Some(" STOP_level ".into()),
            limit: 1,
            ..audit_all()
        };
        assert_eq!(ids(stop), [4]);
    }

    #[test]
    fn the_audit_export_has_the_columns_of_plantwatch_audit_oldest_first() {
        let rows = [AuditRow {
            id: 2,
            time: 1_700_000_000_000,
            user: "otto".into(),
            role: Role::Operator.into(),
            action: "write".into(),
            target: "plc/lead_start_level".into(),
            old: Some("2".into()),
            requested: Some("1.5".into()),
            readback: Some("1.5".into()),
            result: "done".into(),
            comment: Some("lower, \"as asked\"".into()),
        }];
        assert_eq!(
            audit_csv(&rows),
            format!(
                "time,user,role,action,target,old,requested,readback,result,comment\n\
                 {},otto,operator,write,plc/lead_start_level,2,1.5,1.5,done,\"lower, \"\"as asked\"\"\"\n",
                Timestamp(1_700_000_000_000)
            )
        );
    }

    #[test]
    fn a_write_report_keeps_each_outcome_s_details() {
        let report = |outcome: WriteOutcome| WriteReport {
            tag: "plc/lead_start_level".into(),
            actor: Actor {
                user: "otto".into(),
                role: Role::Operator,
            },
            old: Some(Value::Number(2.0)),
            requested: Value::Number(1.5),
            readback: None,
            outcome,
            audit_error: None,
        };
        let refused = write_result(7, &report(WriteOutcome::Refused { code: 3 }));
        assert_eq!(
            (refused.result, refused.code),
            (WriteResultKind::Refused, Some(3))
        );
        let denied = write_result(
            7,
            &report(WriteOutcome::Denied {
                needed: Role::Engineer,
            }),
        );
        assert_eq!(denied.needed, Some(Role::Engineer.into()));
        let out = write_result(
            7,
            &report(WriteOutcome::OutOfRange {
                min: Some(0.3),
                max: Some(3.6),
            }),
        );
        assert_eq!(
            (out.result, out.min, out.max, out.old),
            (
                WriteResultKind::OutOfRange,
                Some(0.3),
                Some(3.6),
                Some(WireValue::Number(2.0))
            )
        );
    }
}
