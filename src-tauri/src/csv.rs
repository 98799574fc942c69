//! The one CSV writer: fields per RFC 4180 with formula cells neutralised, the number formats, and the
//! alarm journal's row. The CLI (`export`, `alarms`, `audit`, `users`) and the desktop's exports (trend
//! CSV, alarm journal CSV) all write through it, so the same data gives the same bytes everywhere.

use std::fmt;

use plantwatch_alarm::JournalEntry;
use plantwatch_core::Timestamp;

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

/// A sample's value as history holds it: the shortest text that reads back to the same f64, so an
/// export loses nothing (`0.10000000149011612` for a device's f32 0.1).
pub fn sample(value: f64) -> impl fmt::Display {
    value
}

/// A reading shown to people (alarm values and limits), or nothing: rounded by [`tidy`].
pub fn number(value: Option<f64>) -> impl fmt::Display {
    value.map(tidy).map_or_else(String::new, |v| v.to_string())
}

/// A value rounded to 12 significant digits, so scaling noise (`101 * 0.1` = 10.100000000000001) does
/// not reach the reader; far beyond what any plant instrument resolves.
pub fn tidy(value: f64) -> f64 {
    format!("{value:.11e}").parse().unwrap_or(value)
}

/// The alarm journal's CSV header (`plantwatch alarms` and the desktop's journal export).
pub const JOURNAL_HEADER: &str = "time,tag,kind,priority,state,value,limit,message,user,comment";

/// One alarm journal row as CSV, without the line end.
pub struct JournalLine<'a> {
    pub time: Timestamp,
    pub tag: &'a str,
    pub kind: &'a str,
    pub priority: &'a str,
    pub state: &'a str,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub message: &'a str,
    pub user: Option<&'a str>,
    pub comment: Option<&'a str>,
}

impl<'a> From<&'a JournalEntry> for JournalLine<'a> {
    fn from(e: &'a JournalEntry) -> Self {
        JournalLine {
            time: e.time,
            tag: &e.tag,
            kind: e.kind.name(),
            priority: e.priority.name(),
            state: e.state.name(),
            value: e.value,
            limit: e.limit,
            message: &e.message,
            user: e.user.as_deref(),
            comment: e.comment.as_deref(),
        }
    }
}

impl fmt::Display for JournalLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{},{},{},{},{},{}",
            self.time,
            field(self.tag),
            field(self.kind),
            field(self.priority),
            field(self.state),
            number(self.value),
            number(self.limit),
            field(self.message),
            field(self.user.unwrap_or("")),
            field(self.comment.unwrap_or("")),
        )
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

    #[test]
    fn readings_lose_scaling_noise_and_samples_keep_every_digit() {
        assert_eq!(number(Some(101.0 * 0.1)).to_string(), "10.1");
        assert_eq!(number(Some(-1.5)).to_string(), "-1.5");
        assert_eq!(number(None).to_string(), "");
        assert_eq!(
            sample(f64::from(0.1_f32)).to_string(),
            "0.10000000149011612"
        );
    }
}
