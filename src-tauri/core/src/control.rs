//! The vocabulary of acting on the plant: who may act ([`Role`]) and how a tag may be written
//! ([`WriteSpec`]). The checks themselves live in the engine's one write path; this module only names
//! things, so the config, the engine, the users' store and the UI agree on them.

use std::fmt;
use std::str::FromStr;

use crate::plant::{by_name, UnknownName};

/// What a signed-in user may do. Ordered from least to most: a role may do everything the roles below
/// it may, so "the least role allowed" is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Role {
    /// Sees everything, writes nothing, cannot acknowledge. Nobody signed in is a viewer.
    #[default]
    Viewer,
    /// Writes tags whose role is `operator`, acknowledges and shelves alarms.
    Operator,
    /// Every tag write, plant files.
    Engineer,
    /// Everything, and manages users.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Engineer, Role::Admin];

    /// The spelling in configs, commands and the audit trail: `viewer`, `operator`, `engineer`, `admin`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
        }
    }

    /// True when this role is at least `least`.
    pub fn allows(self, least: Role) -> bool {
        self >= least
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Read like every other word users type (tables, types, orders): a wrong one lists the allowed ones.
impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Role, UnknownName> {
        by_name("role", text, &Role::ALL, Role::name)
    }
}

/// How a tag may be written (the config's `write = { ... }`); a tag without one is read-only.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSpec {
    /// The least role allowed to write (`operator` or `engineer`).
    pub role: Role,
    /// Lowest value accepted, in engineering units (after scale and offset).
    pub min: Option<f64>,
    /// Highest value accepted, in engineering units.
    pub max: Option<f64>,
    /// A question the user must confirm before the write is sent (e.g. "Start pump 1?").
    pub confirm: Option<Box<str>>,
    /// A momentary command: write `true`, then `false` after this many milliseconds.
    pub pulse_ms: Option<u32>,
}

impl WriteSpec {
    /// True when `value` (engineering units) lies within the configured range.
    pub fn in_range(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_order_and_allow_the_roles_below_them() {
        assert_eq!("engineer".parse::<Role>(), Ok(Role::Engineer));
        assert_eq!(
            "root".parse::<Role>().map_err(|e| e.to_string()),
            Err(
                "unknown role 'root': expected one of viewer, operator, engineer, admin"
                    .to_string()
            )
        );
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Engineer));
        assert!(!Role::Viewer.allows(Role::Operator));
    }

    #[test]
    fn a_range_is_inclusive_and_open_where_unset() {
        let spec = WriteSpec {
            role: Role::Operator,
            min: Some(0.5),
            max: Some(3.0),
            confirm: None,
            pulse_ms: None,
        };
        assert!(spec.in_range(0.5) && spec.in_range(3.0));
        assert!(!spec.in_range(0.49) && !spec.in_range(3.01) && !spec.in_range(f64::NAN));
        let open = WriteSpec {
            min: None,
            max: None,
            ..spec
        };
        assert!(open.in_range(-1e300));
    }
}
