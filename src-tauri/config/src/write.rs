//! The `write = { min, max, role, confirm, pulse_ms }` of a tag (issue 10): who may write it and how.
//! A tag without it is read-only, which is the default.

use plantwatch_core::{Role, Table, ValueType, WriteSpec};

use crate::error::ConfigErrorKind;
use crate::fields::{Field, Section};

const WRITE_KEYS: &[&str] = &["min", "max", "role", "confirm", "pulse_ms"];

/// The roles a tag may name as the least allowed to write it: a viewer never writes, and every tag an
/// engineer may write an admin may write too, so `admin` would only lock engineers out by mistake.
const WRITE_ROLES: &[(&str, Role)] = &[("operator", Role::Operator), ("engineer", Role::Engineer)];

/// The longest momentary command (`pulse_ms`): a minute. A "pulse" longer than that is a state.
const MAX_PULSE_MS: i64 = 60_000;

/// Reads the `write` of a tag on `table` whose type is `value_type` (either `None` when it was itself
/// wrong: the checks that depend on it are skipped). `Some(None)` when the tag is read-only, `None`
/// when the `write` was wrong.
pub(crate) fn read_write(
    tag: &Section<'_, '_>,
    table: Option<Table>,
    value_type: Option<ValueType>,
) -> Option<Option<WriteSpec>> {
    let report = tag.report();
    let (inline, span) = match tag.table("write") {
        Field::Absent => return Some(None),
        Field::Invalid => return None,
        Field::Present(at) => (at.value, at.span),
    };
    let section = Section::open(inline, span, "write", WRITE_KEYS, report);
    let mut valid = true;

    if let Some(table @ (Table::Input | Table::Discrete)) = table {
        tag.forbid(
            "write",
            &format!(
                "cannot be set on a tag in the {} table, which is read-only (writable: coil, holding)",
                table.name()
            ),
        );
        valid = false;
    }

    let role = read_role(&section);
    let numeric = value_type.map(crate::tag::is_numeric);
    let boolean = value_type.map(|t| matches!(t, ValueType::Bool | ValueType::Bit(_)));
    let min = section.number("min");
    let max = section.number("max");
    if numeric == Some(false) {
        for key in ["min", "max"] {
            section.forbid(
                key,
                "applies only to numeric types (u16 to f64), not to booleans or strings",
            );
        }
        valid &= !section.has("min") && !section.has("max");
    }
    if let (Some(lo), Some(hi)) = (min.at(), max.at()) {
        if lo.value > hi.value {
            report.add(
                lo.span.clone(),
                ConfigErrorKind::Conflict,
                format!(
                    "write 'min' {} must not be above 'max' {}",
                    lo.value, hi.value
                ),
            );
            valid = false;
        }
    }
    let confirm = section.string("confirm").check(report, |text| {
        if text.trim().is_empty() {
            Err("'confirm' must be a question to ask, not empty".to_string())
        } else {
            Ok(())
        }
    });
    let pulse_ms = section.integer("pulse_ms", 1, MAX_PULSE_MS);
    if boolean == Some(false) {
        section.forbid(
            "pulse_ms",
            "applies only to boolean tags (coils, bool, bit): a pulse writes true, then false",
        );
        valid &= !section.has("pulse_ms");
    }

    let spec = WriteSpec {
        role: role?,
        min: min.optional()?,
        max: max.optional()?,
        confirm: confirm.optional()?.map(Box::from),
        pulse_ms: pulse_ms.optional()?.map(|ms| ms as u32),
    };
    valid.then_some(Some(spec))
}

/// The required `role`, one of the write roles; the message for any other word lists them.
fn read_role(section: &Section<'_, '_>) -> Option<Role> {
    let word = section.string("role");
    let word = section.required(
        "role",
        "the least role allowed to write: operator or engineer",
        word,
    )?;
    if let Some(&(_, role)) = WRITE_ROLES.iter().find(|(name, _)| *name == word.value) {
        return Some(role);
    }
    let why = match word.value.parse::<Role>() {
        Ok(Role::Viewer) => "'role' must be operator or engineer, not viewer: a viewer never writes".to_string(),
        Ok(role) => format!(
            "'role' must be operator or engineer, not {role}: it names the least role allowed to write, and an {role} may write every tag an engineer may"
        ),
        Err(_) => format!("'role' must be one of operator, engineer, not {:?}", word.value),
    };
    section
        .report()
        .add(word.span, ConfigErrorKind::BadValue, why);
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use plantwatch_core::{Role, WriteSpec};

    /// The `write` of the one tag of a plant whose tag lines are `tag`.
    fn spec_of(tag: &str) -> Option<WriteSpec> {
        let text = format!(
            "[plant]\nname = \"P\"\n[[devices]]\nid = \"plc\"\ntransport = \"tcp\"\nhost = \"h\"\n[[devices.tags]]\nid = \"t\"\n{tag}\n"
        );
        let plant = crate::parse(&text, Path::new("p.toml")).expect("a valid plant");
        plant.devices[0].tags[0].write_spec().cloned()
    }

    #[test]
    fn a_setpoint_keeps_its_range_and_role_and_a_command_its_pulse() {
        assert_eq!(
            spec_of("table = \"holding\"\naddress = 1\ntype = \"u16\"\nscale = 0.01\nwrite = { min = 0.5, max = 3.0, role = \"operator\" }"),
            Some(WriteSpec {
                role: Role::Operator,
                min: Some(0.5),
                max: Some(3.0),
                confirm: None,
                pulse_ms: None
            })
        );
        assert_eq!(
            spec_of("table = \"coil\"\naddress = 2\nwrite = { role = \"engineer\", pulse_ms = 500, confirm = \"Reset?\" }"),
            Some(WriteSpec {
                role: Role::Engineer,
                min: None,
                max: None,
                confirm: Some("Reset?".into()),
                pulse_ms: Some(500)
            })
        );
        assert_eq!(
            spec_of("table = \"holding\"\naddress = 1\ntype = \"u16\""),
            None,
            "a tag without write is read-only"
        );
    }
}
