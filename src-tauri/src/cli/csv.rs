//! CSV fields per RFC 4180, shared by the commands that print CSV (`export`, `alarms`).

use std::fmt;

/// A field as it is written: in double quotes (with quotes inside doubled) when it holds a comma, a
/// quote or a line break, or when asked to be quoted always; as it is otherwise.
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

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !(self.always_quote || self.text.contains([',', '"', '\n', '\r'])) {
            return f.write_str(self.text);
        }
        f.write_str("\"")?;
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
}
