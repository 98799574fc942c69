//! Who is signed in on this window, when the session locks itself, and what the signed-in role may do.
//!
//! Pure: the clock is passed in. Users and their passwords live in the plant's database
//! (`plantwatch-access`); this module only remembers who signed in here, in which plant's database,
//! and when they last used the window. The page never says who it is: every command that acts asks
//! this module.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plantwatch_core::Role;

/// A user signed in on this window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub name: String,
    pub role: Role,
    /// The plant database whose users list holds this user (a session never outlives its plant).
    pub db: PathBuf,
    last_used: Instant,
}

/// Why a session ended without a sign-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Unused for the idle time.
    Idle,
    /// Another plant (another database, other users) was opened.
    PlantChanged,
}

/// The window's sign-in state.
#[derive(Debug, Default)]
pub struct Presence {
    current: Option<SignedIn>,
    /// Whose session last locked itself, until someone signs in again.
    locked: Option<String>,
}

impl Presence {
    /// Signs `name` in (replacing whoever was signed in).
    pub fn sign_in(&mut self, name: String, role: Role, db: PathBuf, now: Instant) {
        self.locked = None;
        self.current = Some(SignedIn {
            name,
            role,
            db,
            last_used: now,
        });
    }

    /// Signs out whoever is signed in, and returns them (to record the sign-out).
    pub fn sign_out(&mut self) -> Option<SignedIn> {
        self.current.take()
    }

    /// Ends the session when it was unused for `idle`, or belongs to another plant than the one whose
    /// database is `db`. Returns the ended session (to record its sign-out) and why.
    pub fn expire(&mut self, db: &Path, idle: Duration, now: Instant) -> Option<(SignedIn, Ended)> {
        let why = match &self.current {
            Some(s) if s.db != db => Ended::PlantChanged,
            Some(s) if now.saturating_duration_since(s.last_used) >= idle => Ended::Idle,
            _ => return None,
        };
        let ended = self.current.take()?;
        if why == Ended::Idle {
            self.locked = Some(ended.name.clone());
        }
        Some((ended, why))
    }

    /// Marks the window as used now: the idle time starts again.
    pub fn touch(&mut self, now: Instant) {
        if let Some(s) = &mut self.current {
            s.last_used = now;
        }
    }

    /// The signed-in user, if any (call [`Presence::expire`] first).
    pub fn current(&self) -> Option<&SignedIn> {
        self.current.as_ref()
    }

    /// Whose session last locked itself, while nobody has signed in since.
    pub fn locked(&self) -> Option<&str> {
        self.locked.as_deref()
    }

    /// The role acting from this window: the signed-in user's, else a viewer's.
    pub fn role(&self) -> Role {
        self.current.as_ref().map_or(Role::Viewer, |s| s.role)
    }

    /// Who acts on alarms. On a plant with users only a signed-in operator (or more) may, under their
    /// own name (`Ok(Some(name))`); on a plant without users anyone may, under the name they type
    /// (`Ok(None)`). `Err` carries the least role needed.
    pub fn alarm_actor(&self, plant_has_users: bool) -> Result<Option<&str>, Role> {
        if !plant_has_users {
            return Ok(None);
        }
        match &self.current {
            Some(s) if s.role.allows(Role::Operator) => Ok(Some(&s.name)),
            _ => Err(Role::Operator),
        }
    }

    /// True when the signed-in user may read and export the audit trail (engineers and admins).
    pub fn may_audit(&self) -> bool {
        self.role().allows(Role::Engineer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(15 * 60);

    fn anna_signed_in(at: Instant) -> Presence {
        let mut p = Presence::default();
        p.sign_in(
            "anna".into(),
            Role::Operator,
            PathBuf::from("/plant.db"),
            at,
        );
        p
    }

    #[test]
    fn a_session_locks_itself_after_the_idle_time_unless_used() {
        let start = Instant::now();
        let mut p = anna_signed_in(start);
        let db = Path::new("/plant.db");
        assert_eq!(
            p.expire(db, IDLE, start + IDLE - Duration::from_secs(1)),
            None
        );
        p.touch(start + Duration::from_secs(600));
        assert_eq!(
            p.expire(db, IDLE, start + IDLE),
            None,
            "using the window restarts the idle time"
        );
        let (ended, why) = p
            .expire(db, IDLE, start + Duration::from_secs(600) + IDLE)
            .expect("idle for the whole lock time");
        assert_eq!((ended.name.as_str(), why), ("anna", Ended::Idle));
        assert_eq!(p.current(), None);
        assert_eq!(
            p.locked(),
            Some("anna"),
            "the window says whose session locked"
        );
        assert_eq!(p.role(), Role::Viewer);
    }

    #[test]
    fn a_session_ends_when_another_plant_is_opened() {
        let start = Instant::now();
        let mut p = anna_signed_in(start);
        let (ended, why) = p
            .expire(Path::new("/other.db"), IDLE, start)
            .expect("another plant's users do not include this session");
        assert_eq!(
            (ended.db, why),
            (PathBuf::from("/plant.db"), Ended::PlantChanged)
        );
        assert_eq!(p.locked(), None, "not a lock: nothing to say about it");
    }

    #[test]
    fn signing_in_clears_the_lock_and_signing_out_returns_the_user() {
        let start = Instant::now();
        let mut p = anna_signed_in(start);
        p.expire(Path::new("/plant.db"), IDLE, start + IDLE);
        p.sign_in(
            "ben".into(),
            Role::Engineer,
            PathBuf::from("/plant.db"),
            start + IDLE,
        );
        assert_eq!(p.locked(), None);
        assert_eq!(p.sign_out().map(|s| s.name), Some("ben".to_string()));
        assert_eq!(p.sign_out(), None);
    }

    #[test]
    fn alarms_take_a_typed_name_without_users_and_an_operator_with_them() {
        let mut p = Presence::default();
        assert_eq!(
            p.alarm_actor(false),
            Ok(None),
            "no users: today's typed name"
        );
        assert_eq!(
            p.alarm_actor(true),
            Err(Role::Operator),
            "users: a viewer may not"
        );
        p.sign_in(
            "vic".into(),
            Role::Viewer,
            PathBuf::from("/p.db"),
            Instant::now(),
        );
        assert_eq!(p.alarm_actor(true), Err(Role::Operator));
        p.sign_in(
            "anna".into(),
            Role::Operator,
            PathBuf::from("/p.db"),
            Instant::now(),
        );
        assert_eq!(p.alarm_actor(true), Ok(Some("anna")));
    }

    #[test]
    fn only_engineers_and_admins_read_the_audit_trail() {
        let mut p = Presence::default();
        for (role, may) in [
            (Role::Viewer, false),
            (Role::Operator, false),
            (Role::Engineer, true),
            (Role::Admin, true),
        ] {
            p.sign_in("u".into(), role, PathBuf::from("/p.db"), Instant::now());
            assert_eq!(p.may_audit(), may, "{role}");
        }
        p.sign_out();
        assert!(!p.may_audit(), "nobody signed in");
    }
}
