//! Input echoed in a message, made safe to print: a message that quotes what the user typed must not
//! let that text add lines or terminal control sequences of its own (a key holding a newline and a
//! fake `FILE:LINE:COL:` would otherwise print a spoofed error line).

use std::borrow::Cow;

/// `text` with every control character written as a Rust-style escape (`\n`, `\t`, `\u{1b}`); text
/// without control characters is returned as is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape("pump 1 / Durchfluß"), "pump 1 / Durchfluß");
        assert_eq!(escape("a\nb.toml:1:1: x"), "a\\nb.toml:1:1: x");
        assert_eq!(escape("\u{1b}[31mred\r"), "\\u{1b}[31mred\\r");
    }
}
