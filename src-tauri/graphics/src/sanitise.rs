//! What of an SVG may reach the webview. The picture is data, never code: scripts, event handlers,
//! `foreignObject`, references outside the document, `javascript:` URLs and style sheets that fetch are
//! removed, and so is anything outside the SVG namespace (an XHTML `<script>` is a script too). Each
//! removal is kept so `plantwatch check` can name it.
//!
//! The rules are decisions on one element or attribute at a time, without I/O; `picture` applies them.

use std::fmt;

use roxmltree::{Attribute, Node};

use crate::error::Position;

/// The SVG namespace; every element kept is in it.
pub(crate) const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// XLink, for `xlink:href` (kept only when it points inside the document).
pub(crate) const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
/// XHTML, whose elements are never kept.
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";
/// The `xml:` prefix (`xml:space`).
pub(crate) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Why something was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `<script>` (or an SVG Tiny `<handler>`).
    Script,
    /// `<foreignObject>`, which embeds HTML.
    ForeignObject,
    /// An `on*` attribute.
    EventHandler,
    /// A link or `url(...)` to anything but a `#fragment` of the picture itself.
    ExternalReference,
    /// A `javascript:` (or `vbscript:`) URL anywhere in a value.
    ScriptUrl,
    /// A style sheet or `style` that imports, fetches or hides its text behind CSS escapes.
    UnsafeStyle,
    /// An animation that would set a link or an event handler.
    UnsafeAnimation,
    /// HTML inside the picture (an XHTML element, where `<h:script>` would run).
    Html,
    /// An element or attribute outside SVG and HTML: an editor's metadata (`sodipodi:`, `inkscape:`, RDF).
    ForeignNamespace,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Script => "a script",
            Reason::ForeignObject => "foreignObject embeds HTML",
            Reason::EventHandler => "an event handler",
            Reason::ExternalReference => "a reference outside the picture",
            Reason::ScriptUrl => "a javascript: URL",
            Reason::UnsafeStyle => "a style that imports or fetches",
            Reason::UnsafeAnimation => "an animation of a link or handler",
            Reason::Html => "HTML inside the picture",
            Reason::ForeignNamespace => "editor metadata, not SVG",
        })
    }
}

/// One thing removed from a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Where it was.
    pub position: Position,
    /// `<script>` or `onload` (attributes as `name=`), as written.
    pub what: String,
    pub reason: Reason,
}

impl Removal {
    /// Whether it is only an editor's bookkeeping (Inkscape's `sodipodi:` and `inkscape:` names, RDF
    /// metadata), which `plantwatch check` counts rather than lists.
    pub fn is_editor_metadata(&self) -> bool {
        self.reason == Reason::ForeignNamespace
    }
}

impl fmt::Display for Removal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: removed {} ({})",
            self.position, self.what, self.reason
        )
    }
}

/// Why an element must go with everything in it, or `None` to keep it.
pub(crate) fn judge_element(node: Node<'_, '_>) -> Option<Reason> {
    let name = node.tag_name();
    match name.namespace() {
        Some(SVG_NS) => {}
        Some(XHTML_NS) => return Some(Reason::Html),
        _ => return Some(Reason::ForeignNamespace),
    }
    let local = name.name();
    if local.eq_ignore_ascii_case("script") || local.eq_ignore_ascii_case("handler") {
        return Some(Reason::Script);
    }
    if local.eq_ignore_ascii_case("foreignObject") {
        return Some(Reason::ForeignObject);
    }
    if matches!(
        local,
        "animate" | "set" | "animateMotion" | "animateTransform" | "animateColor"
    ) {
        let target = node
            .attributes()
            .find(|a| a.name() == "attributeName")
            .map(|a| a.value().trim().to_ascii_lowercase());
        if target.is_some_and(|t| t.starts_with("on") || t.ends_with("href") || t == "style") {
            return Some(Reason::UnsafeAnimation);
        }
    }
    if local == "style" {
        let text: String = node
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        return judge_css(&text);
    }
    None
}

/// Why an attribute must go, or `None` to keep it. `data-pw-*` attributes are read by `picture` and
/// never reach this.
pub(crate) fn judge_attribute(attribute: &Attribute<'_, '_>) -> Option<Reason> {
    match attribute.namespace() {
        None | Some(XLINK_NS) | Some(XML_NS) => {}
        Some(_) => return Some(Reason::ForeignNamespace),
    }
    let name = attribute.name();
    let value = attribute.value();
    if name.len() >= 2 && name[..2].eq_ignore_ascii_case("on") {
        return Some(Reason::EventHandler);
    }
    if has_script_url(value) {
        return Some(Reason::ScriptUrl);
    }
    if name.eq_ignore_ascii_case("href") && !value.trim_start().starts_with('#') {
        return Some(Reason::ExternalReference);
    }
    if name == "style" {
        return judge_css(value);
    }
    if !css_urls_are_local(value) {
        return Some(Reason::ExternalReference);
    }
    None
}

/// `javascript:` with any case, white space or control characters inside, as browsers read it.
fn has_script_url(value: &str) -> bool {
    let squeezed: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    squeezed.contains("javascript:") || squeezed.contains("vbscript:")
}

/// A style sheet or `style` value is kept when it neither imports nor fetches, and has no escapes (with
/// which `u\72l(` would hide a `url(` from the check).
fn judge_css(text: &str) -> Option<Reason> {
    let lower = text.to_ascii_lowercase();
    if has_script_url(text) {
        Some(Reason::ScriptUrl)
    } else if lower.contains("@import")
        || lower.contains('\\')
        || lower.contains("expression(")
        || lower.contains("-moz-binding")
        || !css_urls_are_local(text)
    {
        Some(Reason::UnsafeStyle)
    } else {
        None
    }
}

/// Every `url(...)` in `text` points at a `#fragment`.
fn css_urls_are_local(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let target = rest
            .trim_start()
            .trim_start_matches(['"', '\''])
            .trim_start();
        if !target.starts_with('#') {
            return false;
        }
    }
    true
}

/// Appends `text` escaped for XML character data.
pub(crate) fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Appends `text` escaped for a double-quoted attribute value.
pub(crate) fn escape_attribute(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Kept as references so an attribute's line breaks and tabs survive re-parsing.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_urls_are_found_through_case_and_spacing() {
        assert!(has_script_url("javascript:alert(1)"));
        assert!(has_script_url(" JaVa\tScRipt:alert(1)"));
        assert!(has_script_url("java\u{0}script:x"));
        assert!(!has_script_url("#pump1"));
    }

    #[test]
    fn only_fragment_urls_are_local() {
        assert!(css_urls_are_local("fill: url(#grad); stroke: url( '#b')"));
        assert!(!css_urls_are_local(
            "fill: url(https://evil.example/x.svg#a)"
        ));
        assert!(!css_urls_are_local(
            "background: URL(data:image/png;base64,AAAA)"
        ));
    }

    #[test]
    fn style_sheets_that_import_or_hide_text_are_unsafe() {
        assert_eq!(
            judge_css("@import 'https://x/y.css';"),
            Some(Reason::UnsafeStyle)
        );
        assert_eq!(
            judge_css(".a { fill: u\\72l(x) }"),
            Some(Reason::UnsafeStyle)
        );
        assert_eq!(judge_css(".pump { fill: #2a2 }"), None);
    }
}
