//! One pass over a parsed SVG: keep what is safe, read each element's bindings, and write the sanitised
//! picture back out with a `data-pw-id` on every bound element.

use std::path::Path;

use plantwatch_core::Plant;
use roxmltree::{Attribute, Document, Node};

use crate::binding::{self, Axis, Binding, BindingProblem, TagRef, Tags};
use crate::error::{PictureError, Position};
use crate::sanitise::{
    escape_attribute, escape_text, judge_attribute, judge_element, Removal, XLINK_NS, XML_NS,
};

/// The binding attributes, in the order they are read (a click without a tag of its own uses the tag of
/// the bindings before it).
pub const BINDING_ATTRIBUTES: &[&str] = &[
    "text",
    "format",
    "fill",
    "stroke",
    "level",
    "level-axis",
    "visible",
    "rotate",
    "click",
];

/// A picture ready for the webview: the sanitised SVG and what its bound elements show.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// The sanitised SVG document.
    pub svg: String,
    /// Every element with bindings, in document order; `id` is its `data-pw-id`.
    pub elements: Vec<BoundElement>,
    /// What the sanitiser removed, in document order.
    pub removed: Vec<Removal>,
}

/// An element of the picture bound to tags.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundElement {
    /// Its `data-pw-id` in the sanitised SVG (0, 1, 2, ... in document order).
    pub id: u32,
    /// Where it is in the source file.
    pub position: Position,
    pub bindings: Vec<Binding>,
}

impl BoundElement {
    /// The tags the element reads, each once.
    pub fn tags(&self) -> Vec<&TagRef> {
        let mut tags: Vec<&TagRef> = Vec::new();
        for tag in self.bindings.iter().flat_map(Binding::tags) {
            if !tags.iter().any(|t| t.index == tag.index) {
                tags.push(tag);
            }
        }
        tags
    }
}

/// Walks `doc` (read from `file`) and builds the picture, or returns every problem found.
pub(crate) fn build(
    doc: &Document<'_>,
    file: &Path,
    plant: &Plant,
) -> Result<Picture, Vec<PictureError>> {
    let at = |offset: usize| {
        let pos = doc.text_pos_at(offset);
        Position {
            line: pos.row,
            column: pos.col,
        }
    };
    let root = doc.root_element();
    let mut errors = Vec::new();
    if root.tag_name().namespace() != Some(crate::sanitise::SVG_NS)
        || root.tag_name().name() != "svg"
    {
        errors.push(PictureError {
            file: file.to_path_buf(),
            position: Some(at(root.range().start)),
            message: format!(
                "the picture's root element must be <svg> in the SVG namespace (xmlns=\"{}\"), not <{}>",
                crate::sanitise::SVG_NS,
                root.tag_name().name()
            ),
        });
        return Err(errors);
    }

    let tags = Tags { plant };
    let mut out = String::with_capacity(doc.input_text().len());
    let mut elements = Vec::new();
    let mut removed = Vec::new();
    // While inside a removed element, the element that opened the removal.
    let mut skipping: Option<Node<'_, '_>> = None;
    for edge in traverse(root) {
        match edge {
            Edge::Open(node) if skipping.is_none() => {
                if node.is_text() {
                    escape_text(&mut out, node.text().unwrap_or(""));
                    continue;
                }
                if !node.is_element() {
                    // Comments and processing instructions (`<?xml-stylesheet href=...?>`) are dropped.
                    continue;
                }
                if let Some(reason) = judge_element(node) {
                    removed.push(Removal {
                        position: at(node.range().start),
                        what: format!("<{}>", qualified(node)),
                        reason,
                    });
                    skipping = Some(node);
                    continue;
                }
                out.push('<');
                out.push_str(node.tag_name().name());
                if node == root {
                    out.push_str(" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"");
                    if root.attribute("viewBox").is_none() {
                        if let Some(view_box) = view_box_from_size(root) {
                            out.push_str(&format!(" viewBox=\"{view_box}\""));
                        }
                    }
                }
                let mut bound = Vec::new();
                for attribute in node.attributes() {
                    if attribute.namespace().is_none() && attribute.name() == "data-pw-id" {
                        // Ours to give: a picture saved from the webview carries old ones.
                        continue;
                    }
                    if attribute.namespace().is_none() && attribute.name().starts_with("data-pw-") {
                        bound.push(attribute);
                        continue;
                    }
                    if let Some(reason) = judge_attribute(&attribute) {
                        removed.push(Removal {
                            position: at(attribute.range().start),
                            what: format!("{}=", qualified_attribute(node, &attribute)),
                            reason,
                        });
                        continue;
                    }
                    out.push(' ');
                    match attribute.namespace() {
                        Some(XLINK_NS) => out.push_str("xlink:"),
                        Some(XML_NS) => out.push_str("xml:"),
                        _ => {}
                    }
                    out.push_str(attribute.name());
                    out.push_str("=\"");
                    escape_attribute(&mut out, attribute.value());
                    out.push('"');
                }
                if !bound.is_empty() {
                    match read_bindings(doc, &bound, &tags) {
                        Ok(bindings) => {
                            let id = elements.len() as u32;
                            out.push_str(&format!(" data-pw-id=\"{id}\""));
                            elements.push(BoundElement {
                                id,
                                position: at(node.range().start),
                                bindings,
                            });
                        }
                        Err((offset, message)) => errors.push(PictureError {
                            file: file.to_path_buf(),
                            position: Some(at(offset)),
                            message,
                        }),
                    }
                }
                out.push('>');
            }
            Edge::Open(_) => {}
            Edge::Close(node) => {
                if skipping == Some(node) {
                    skipping = None;
                } else if skipping.is_none() && node.is_element() {
                    out.push_str("</");
                    out.push_str(node.tag_name().name());
                    out.push('>');
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Picture {
            svg: out,
            elements,
            removed,
        })
    } else {
        Err(errors)
    }
}

/// Where an element or text starts and ends, in document order.
enum Edge<'a, 'i> {
    Open(Node<'a, 'i>),
    Close(Node<'a, 'i>),
}

/// Every node under `root` (itself included) as open and close edges, in document order, without
/// recursion: a hostile file nested a million deep must not overflow the stack.
fn traverse<'a, 'i>(root: Node<'a, 'i>) -> impl Iterator<Item = Edge<'a, 'i>> {
    let mut stack = vec![Edge::Open(root)];
    std::iter::from_fn(move || {
        let edge = stack.pop()?;
        if let Edge::Open(node) = edge {
            stack.push(Edge::Close(node));
            let children: Vec<Node<'a, 'i>> = node.children().collect();
            stack.extend(children.into_iter().rev().map(Edge::Open));
        }
        Some(edge)
    })
}

fn locate(doc: &Document<'_>, attribute: &Attribute<'_, '_>, p: BindingProblem) -> (usize, String) {
    (offset_in(doc, attribute, p.offset), p.message)
}

/// The element's name as written, with its prefix.
fn qualified(node: Node<'_, '_>) -> String {
    let name = node.tag_name();
    match name.namespace().and_then(|ns| node.lookup_prefix(ns)) {
        Some(prefix) => format!("{prefix}:{}", name.name()),
        None => name.name().to_string(),
    }
}

fn qualified_attribute(node: Node<'_, '_>, attribute: &Attribute<'_, '_>) -> String {
    match attribute.namespace().and_then(|ns| node.lookup_prefix(ns)) {
        Some(prefix) => format!("{prefix}:{}", attribute.name()),
        None => attribute.name().to_string(),
    }
}

/// `0 0 W H` from the root's `width` and `height` (plain numbers or pixels), so a picture drawn without a
/// viewBox still scales to the window.
fn view_box_from_size(root: Node<'_, '_>) -> Option<String> {
    let size = |name: &str| -> Option<f64> {
        let text = root.attribute(name)?.trim();
        let number = text.strip_suffix("px").unwrap_or(text);
        number
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n > 0.0)
    };
    Some(format!("0 0 {} {}", size("width")?, size("height")?))
}

/// The byte offset in the file of `offset` inside `attribute`'s value. Exact when the value was written
/// without entities; otherwise the value's start.
fn offset_in(doc: &Document<'_>, attribute: &Attribute<'_, '_>, offset: usize) -> usize {
    let range = attribute.range_value();
    let raw = doc.input_text().get(range.clone());
    if raw == Some(attribute.value()) {
        range.start + offset
    } else {
        range.start
    }
}

/// Reads an element's `data-pw-*` attributes into bindings. The error is the first problem, at its byte
/// offset in the file.
fn read_bindings(
    doc: &Document<'_>,
    attributes: &[Attribute<'_, '_>],
    tags: &Tags<'_>,
) -> Result<Vec<Binding>, (usize, String)> {
    let mut by_key: Vec<(&str, &Attribute<'_, '_>)> = Vec::new();
    for attribute in attributes {
        let key = &attribute.name()["data-pw-".len()..];
        if !BINDING_ATTRIBUTES.contains(&key) {
            return Err((
                attribute.range().start,
                format!(
                    "unknown binding attribute '{}'; expected one of: {}",
                    attribute.name(),
                    BINDING_ATTRIBUTES
                        .iter()
                        .map(|k| format!("data-pw-{k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        by_key.push((key, attribute));
    }
    let get = |key: &str| by_key.iter().find(|(k, _)| *k == key).map(|(_, a)| *a);
    let requires = |dependent: &str, on: &str| -> Result<(), (usize, String)> {
        match (get(dependent), get(on)) {
            (Some(a), None) => Err((
                a.range().start,
                format!("data-pw-{dependent} needs a data-pw-{on} on the same element"),
            )),
            _ => Ok(()),
        }
    };
    requires("format", "text")?;
    requires("level-axis", "level")?;

    let mut bindings = Vec::new();
    if let Some(a) = get("text") {
        let decimals = match get("format") {
            Some(f) => Some(binding::format(f.value()).map_err(|p| locate(doc, f, p))?),
            None => None,
        };
        bindings.push(binding::text(a.value(), decimals, tags).map_err(|p| locate(doc, a, p))?);
    }
    if let Some(a) = get("fill") {
        let rules = binding::colour_rules(a.value(), tags).map_err(|p| locate(doc, a, p))?;
        bindings.push(Binding::Fill { rules });
    }
    if let Some(a) = get("stroke") {
        let rules = binding::colour_rules(a.value(), tags).map_err(|p| locate(doc, a, p))?;
        bindings.push(Binding::Stroke { rules });
    }
    if let Some(a) = get("level") {
        let axis = match get("level-axis") {
            Some(x) => binding::axis(x.value()).map_err(|p| locate(doc, x, p))?,
            None => Axis::Y,
        };
        bindings.push(binding::level(a.value(), axis, tags).map_err(|p| locate(doc, a, p))?);
    }
    if let Some(a) = get("visible") {
        bindings.push(binding::visible(a.value(), tags).map_err(|p| locate(doc, a, p))?);
    }
    if let Some(a) = get("rotate") {
        bindings.push(binding::rotate(a.value(), tags).map_err(|p| locate(doc, a, p))?);
    }
    if let Some(a) = get("click") {
        let mut own: Vec<&TagRef> = Vec::new();
        for tag in bindings.iter().flat_map(Binding::tags) {
            if !own.iter().any(|t| t.index == tag.index) {
                own.push(tag);
            }
        }
        let single = if own.len() == 1 {
            own.first().copied()
        } else {
            None
        };
        let click = binding::click(a.value(), single, tags).map_err(|p| locate(doc, a, p))?;
        bindings.push(click);
    }
    Ok(bindings)
}
