//! Device and tag ids: short, lower-case names that appear in full tag ids (`plc/flow`), file names and
//! command lines, so they are limited to characters that need no quoting anywhere.

use crate::fields::{At, Section};

/// Reads the required `id` of a device or tag (`what`) and checks its characters.
pub(crate) fn read_id(section: &Section<'_, '_>, what: &str) -> Option<At<String>> {
    let id = section.string("id").check(section.report(), |id| {
        if is_valid_id(id) {
            Ok(())
        } else {
            Err(format!(
                "'id' must be made of a-z, 0-9, _ and - only, not {id:?}"
            ))
        }
    });
    section.required(
        "id",
        &format!("every {what} needs an id of a-z, 0-9, _ and -"),
        id,
    )
}

/// `[a-z0-9_-]+`.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::is_valid_id;

    #[test]
    fn ids_are_lower_case_words_with_digits_dashes_and_underscores() {
        for good in ["plc", "drive-11", "pump_1", "0"] {
            assert!(is_valid_id(good), "{good} should be a valid id");
        }
        for bad in ["", "PLC", "pump 1", "plc/flow", "pümpe", "a.b"] {
            assert!(!is_valid_id(bad), "{bad:?} should be rejected");
        }
    }
}
