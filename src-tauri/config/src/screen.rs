//! `[[screens]]`: the plant's process pictures (issue 16). Each names an SVG file beside the config; the
//! first is the home screen. Only the list is checked here (ids, titles, file names); the pictures
//! themselves are read and checked by `plantwatch-graphics`, which knows SVG.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use plantwatch_core::Screen;
use toml::de::DeTable;

use crate::error::ConfigErrorKind;
use crate::fields::{Report, Section};
use crate::ids::read_id;

const SCREEN_KEYS: &[&str] = &["id", "title", "file"];

/// Reads every `[[screens]]` entry; `None` when any is wrong (each problem reported). `config` is the
/// config file's path, against whose folder the `file`s are resolved.
pub(crate) fn read_screens(
    entries: Vec<(&DeTable<'_>, Range<usize>)>,
    config: &Path,
    report: &Report,
) -> Option<Vec<Screen>> {
    let folder = config.parent().unwrap_or(Path::new(""));
    let mut screens = Vec::new();
    let mut valid = true;
    // Where each screen id was first written.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (table, span) in entries {
        let section = Section::open(table, span, "[[screens]]", SCREEN_KEYS, report);
        let id = read_id(&section, "screen");
        if let Some(id) = &id {
            match seen.get(&id.value) {
                Some(&first) => {
                    report.add(
                        id.span.clone(),
                        ConfigErrorKind::Duplicate,
                        format!(
                            "duplicate screen id '{}'; the first is at line {}",
                            id.value,
                            report.line(first)
                        ),
                    );
                    valid = false;
                }
                None => {
                    seen.insert(id.value.clone(), id.span.start);
                }
            }
        }
        let title = section.string("title").check(report, |t| {
            if t.trim().is_empty() {
                Err("'title' must not be empty".to_string())
            } else {
                Ok(())
            }
        });
        let title = section.required("title", "the name shown in the navigation", title);
        let file = section.string("file").check(report, |f| {
            if f.trim().is_empty() {
                Err("'file' must name an SVG file (relative to the config's folder)".to_string())
            } else {
                Ok(())
            }
        });
        let file = section.required(
            "file",
            "the SVG picture, relative to the config's folder",
            file,
        );
        match (id, title, file) {
            (Some(id), Some(title), Some(file)) => screens.push(Screen {
                id: id.value,
                title: title.value,
                file: folder.join(file.value),
            }),
            _ => valid = false,
        }
    }
    valid.then_some(screens)
}
