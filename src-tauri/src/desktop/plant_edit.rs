//! Changing the open plant file from the window: a tag promoted in the workbench, a tag list exported
//! or imported as CSV. The file is edited as a document by `plantwatch_config::edit` (its comments and
//! layout stay, the result is checked before it is written, the write is atomic); the commands wrap each
//! change in `Control::change_plant_file` (engineer or admin, audited) and then reload the plant.

use std::path::Path;
use std::str::FromStr;

use plantwatch_config::edit::{self, DeviceDraft, EditError, TagDraft};
use plantwatch_config::tag_list::{self, ImportError, Imported};
use plantwatch_core::{Plant, ValueKind, WordOrder};

use super::session::problems_of;
use super::wire::{ConfigProblem, ErrorCode, PromoteRequest, PromoteTarget, TagDraftView, UiError};

fn bad_request(message: impl Into<String>) -> UiError {
    UiError::new(ErrorCode::BadRequest, message)
}

/// A plant file change refused: the file's problems in place for a check that failed, else the reason.
fn edit_error(e: EditError) -> UiError {
    match &e {
        EditError::Invalid(errors) | EditError::WouldBeInvalid(errors) => UiError {
            code: ErrorCode::ConfigInvalid,
            message: e.to_string(),
            problems: problems_of(errors),
        },
        EditError::Read { .. } | EditError::Write { .. } => {
            UiError::new(ErrorCode::Io, e.to_string())
        }
        _ => bad_request(e.to_string()),
    }
}

/// The typed tag the page described (the words it sends are the plant file's own).
pub fn tag_draft(view: &TagDraftView) -> Result<TagDraft, UiError> {
    let kind =
        ValueKind::from_str(&view.value_type).map_err(|e| bad_request(format!("type: {e}")))?;
    let mut draft = TagDraft::new(view.id.trim(), view.table.into(), view.address, kind);
    draft.name = view.name.clone().filter(|n| !n.trim().is_empty());
    if let Some(order) = &view.order {
        draft.order = WordOrder::from_str(order).map_err(|e| bad_request(format!("order: {e}")))?;
    }
    for (what, value) in [("scale", view.scale), ("offset", view.offset)] {
        if value.is_some_and(|v| !v.is_finite()) {
            return Err(bad_request(format!("{what}: not a finite number")));
        }
    }
    draft.scale = view.scale.unwrap_or(1.0);
    draft.offset = view.offset.unwrap_or(0.0);
    draft.unit = view.unit.clone().filter(|u| !u.trim().is_empty());
    Ok(draft)
}

/// Adds the promoted tag to the plant file at `path`, to an existing device or with a new device on the
/// workbench's link; returns what to record in the audit trail.
pub fn promote(path: &Path, request: &PromoteRequest) -> Result<String, UiError> {
    let tag = tag_draft(&request.tag)?;
    match &request.target {
        PromoteTarget::Device { device } => {
            edit::add_tag(path, device, &tag).map_err(edit_error)?;
            Ok(format!("tag {device}/{} added", tag.id))
        }
        PromoteTarget::NewDevice {
            id,
            name,
            link,
            unit,
        } => {
            let device = DeviceDraft {
                id: id.trim().to_string(),
                name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
                link: link.to_link().map_err(bad_request)?,
                unit: *unit,
            };
            edit::add_device(path, &device, &tag).map_err(edit_error)?;
            Ok(format!(
                "device {} with tag {}/{} added",
                device.id, device.id, tag.id
            ))
        }
    }
}

/// The plant's tags (or one device's) as the tag list CSV `plantwatch tags export` writes.
pub fn export_csv(plant: &Plant, device: Option<&str>) -> Result<String, UiError> {
    let rows = tag_list::export(plant, device).map_err(|e| bad_request(e.to_string()))?;
    Ok(crate::cli::tags::write_csv(&rows))
}

/// Imports the tag list at `csv` into the plant file at `path`: every bad row comes back as a problem
/// at its CSV line, and then nothing was written.
pub fn import(path: &Path, csv: &Path, device: Option<&str>) -> Result<Imported, UiError> {
    tag_list::import(path, csv, device).map_err(|e| match e {
        ImportError::Rows(rows) => UiError {
            code: ErrorCode::ConfigInvalid,
            message: format!("{}: the tag list has problems", rows.csv.display()),
            problems: rows
                .errors
                .iter()
                .map(|r| ConfigProblem {
                    line: u32::try_from(r.line).unwrap_or(u32::MAX),
                    col: 0,
                    message: r.message.clone(),
                })
                .collect(),
        },
        ImportError::Plant(e) => edit_error(e),
        e @ ImportError::ReadCsv { .. } => UiError::new(ErrorCode::Io, e.to_string()),
    })
}
