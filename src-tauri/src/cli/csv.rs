//! CSV fields per RFC 4180, shared by the commands that print CSV (`export`, `alarms`).

use std::fmt;

/// A text field as it is written: in double quotes (with quotes inside doubled) when it holds a comma, a
/// quote or a line break, or when asked to be quoted always; as it is otherwise. Text that starts like
/// a spreadsheet formula is neutralised (see [`FORMULA_STARTS`]).
#[derive(Clone, Copy)]
pub struct Field<'a> {
    text: &'a str,
    always_quote: bool,
}

/// A field quoted only when it needs to be.
pub fn field(text: &str) -> Field<'_> {
    Field {
        text,
        always_quote: false,
    }
}

/// A field quoted always, so that text such as `42` stays text for whoever reads the file.
pub fn quoted(text: &str) -> Field<'_> {
    Field {
        text,
        always_quote: true,
    }
}

/// First characters that make a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

impl Field<'_> {
    /// Text a spreadsheet would run as a formula (`=HYPERLINK(...)` in an operator's comment or a device's
    /// string): it is written quoted with a `'` before it, which spreadsheets show as text. Numbers are
    /// written by the caller, never through a `Field`, so `-1.5` stays a number.
    fn is_formula(&self) -> bool {
        self.text.starts_with(FORMULA_STARTS)
    }
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let formula = self.is_formula();
        if !(formula || self.always_quote || self.text.contains([',', '"', '\n', '\r'])) {
            return f.write_str(self.text);
        }
        f.write_str(if formula { "\"'" } else { "\"" })?;
        for (i, part) in self.text.split('"').enumerate() {
            if i > 0 {
                f.write_str("\"\"")?;
            }
            f.write_str(part)?;
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_stays_as_it_is_unless_quoting_is_asked_for() {
        assert_eq!(field("plc/flow").to_string(), "plc/flow");
        assert_eq!(field("").to_string(), "");
        assert_eq!(quoted("42").to_string(), "\"42\"");
        assert_eq!(quoted("").to_string(), "\"\"");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_with_quotes_doubled() {
        assert_eq!(field("a,b").to_string(), "\"a,b\"");
        assert_eq!(field("say \"hi\"").to_string(), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines").to_string(), "\"two\nlines\"");
        assert_eq!(field("cr\r").to_string(), "\"cr\r\"");
        assert_eq!(quoted("\"").to_string(), "\"\"\"\"");
    }

    #[test]
    fn text_that_starts_like_a_formula_is_written_as_text() {
        assert_eq!(field("=1+2").to_string(), "\"'=1+2\"");
        assert_eq!(field("+49 170").to_string(), "\"'+49 170\"");
        assert_eq!(field("-x").to_string(), "\"'-x\"");
        assert_eq!(field("@SUM(A1)").to_string(), "\"'@SUM(A1)\"");
        assert_eq!(
            quoted("=cmd|' /C calc'!A0").to_string(),
            "\"'=cmd|' /C calc'!A0\""
        );
        assert_eq!(field("=\"x\"").to_string(), "\"'=\"\"x\"\"\"");
        // Inside the text the characters are harmless.
        assert_eq!(field("a=b").to_string(), "a=b");
    }
}
