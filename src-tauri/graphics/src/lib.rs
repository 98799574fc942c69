//! Process pictures (issue 16): SVG files drawn in any editor, with parts bound to tags through
//! `data-pw-*` attributes.
//!
//! [`parse`] reads a picture once: it sanitises it (the SVG is data, never code: see [`sanitise`]),
//! parses every binding into a typed [`Binding`] with its tags resolved against the [`Plant`], and writes
//! the sanitised SVG back out with a `data-pw-id` on each bound element. Every problem is located as
//! `station.svg:LINE:COL`. [`render_png`] draws a picture (values applied) as PNG for exports. Pure but for
//! [`load`] reading the file and [`render_png`] the system's fonts; no Tauri, no webview.

mod binding;
mod error;
mod picture;
mod raster;
pub mod sanitise;

use std::io::Read;
use std::path::Path;

use plantwatch_core::{Plant, Screen};

pub use binding::{
    Axis, Binding, ClickAction, Colour, ColourRule, Compare, Condition, Match, Span, TagRef,
};
pub use error::{PictureError, PictureErrors, Position};
pub use picture::{BoundElement, Picture, BINDING_ATTRIBUTES};
pub use raster::{render_png, RenderError, DEFAULT_PNG_WIDTH, MAX_PNG_SIDE};
pub use sanitise::{Reason, Removal};

/// The largest picture read: far above any hand-drawn plant, small enough for the webview.
pub const MAX_PICTURE_BYTES: u64 = 16 * 1024 * 1024;

/// The most XML nodes a picture may have, which also bounds entity expansion.
const MAX_NODES: u32 = 1_000_000;

/// Reads the picture at `file` and checks it against `plant`.
pub fn load(file: &Path, plant: &Plant) -> Result<Picture, PictureErrors> {
    let text = read(file).map_err(|message| PictureErrors {
        errors: vec![PictureError {
            file: file.to_path_buf(),
            position: None,
            message,
        }],
    })?;
    parse(&text, file, plant)
}

/// Reads and checks each of the plant's screens, in config order.
pub fn load_screens(plant: &Plant) -> Vec<(&Screen, Result<Picture, PictureErrors>)> {
    plant
        .screens
        .iter()
        .map(|screen| (screen, load(&screen.file, plant)))
        .collect()
}

/// Checks picture `text` (from `file`, named in errors) against `plant`.
pub fn parse(text: &str, file: &Path, plant: &Plant) -> Result<Picture, PictureErrors> {
    let options = roxmltree::ParsingOptions {
        // Some editors write a DOCTYPE; roxmltree bounds entity expansion, and MAX_NODES the rest.
        allow_dtd: true,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        let message = e.to_string();
        // roxmltree ends its messages with " at LINE:COL"; the position goes in front instead.
        let message = match message.rsplit_once(" at ") {
            Some((head, _)) => head.to_string(),
            None => message,
        };
        PictureErrors {
            errors: vec![PictureError {
                file: file.to_path_buf(),
                position: Some(Position {
                    line: pos.row,
                    column: pos.col,
                }),
                message: format!("not well-formed XML: {message}"),
            }],
        }
    })?;
    picture::build(&doc, file, plant).map_err(|errors| PictureErrors { errors })
}

/// The file's text, or why it cannot be had.
fn read(file: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read the picture: {e}"))?;
    if !meta.is_file() {
        return Err("cannot read the picture: not a regular file".to_string());
    }
    if meta.len() > MAX_PICTURE_BYTES {
        return Err(format!(
            "the picture is {} bytes; at most {MAX_PICTURE_BYTES} are read",
            meta.len()
        ));
    }
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_PICTURE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read the picture: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests;
