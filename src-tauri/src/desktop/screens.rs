//! The plant's process pictures for the page: each screen's picture read and checked by
//! `plantwatch-graphics`, as wire types. The demo plant's pictures are embedded in the simulator crate,
//! since an installed program has no `assets/` folder beside it.

use std::path::{Path, PathBuf};

use plantwatch_core::Plant;

use super::wire::{ErrorCode, ScreenView, UiError};

/// Every screen of `plant`, in config order; a picture that cannot be shown carries its problems.
pub fn views(plant: &Plant, simulated: bool) -> Vec<ScreenView> {
    plant
        .screens
        .iter()
        .map(|screen| {
            let embedded = if simulated {
                plantwatch_sim::demo_picture(&screen.file)
            } else {
                None
            };
            let picture = match embedded {
                Some(text) => plantwatch_graphics::parse(text, &screen.file, plant),
                None => plantwatch_graphics::load(&screen.file, plant),
            };
            match picture {
                Ok(picture) => ScreenView::shown(screen, &picture),
                Err(errors) => ScreenView::failed(screen, errors.to_string()),
            }
        })
        .collect()
}

/// Writes a screen's picture as the page shows it (values applied) to `dir` as
/// `screen-ID-TIME.svg`. The page's SVG is sanitised again like any picture file before it is written, so
/// an export never carries more than the picture itself; `id` must name one of the plant's screens.
/// PNG is not offered: plotters draws charts, not arbitrary SVG (rasterising needs an SVG renderer such as
/// resvg).
pub fn export_svg(plant: &Plant, id: &str, svg: &str, dir: &Path) -> Result<PathBuf, UiError> {
    let screen = plant
        .screens
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| UiError::new(ErrorCode::NotFound, format!("no screen '{id}'")))?;
    let name = Path::new("exported.svg");
    let picture = plantwatch_graphics::parse(svg, name, plant)
        .map_err(|e| UiError::new(ErrorCode::BadRequest, e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| UiError::new(ErrorCode::Io, e.to_string()))?;
    let stamp = plantwatch_core::Timestamp::now()
        .to_string()
        .replace([':', '.'], "-");
    let path = dir.join(format!("screen-{}-{stamp}.svg", screen.id));
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- {}: {} -->\n{}\n",
        plant.name.replace("--", "- -"),
        screen.title.replace("--", "- -"),
        picture.svg
    );
    std::fs::write(&path, text).map_err(|e| UiError::new(ErrorCode::Io, e.to_string()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_screen_is_the_sanitised_picture_as_shown() {
        let mut plant = plantwatch_sim::demo_plant_as_shipped();
        let dir = tempfile::tempdir().expect("temp dir");
        let shown = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect data-pw-id="0" style="fill: rgb(34, 170, 34)" height="4" onclick="x()"/><script>x()</script></svg>"#;
        let path = export_svg(&plant, "station", shown, dir.path()).expect("exported");
        let text = std::fs::read_to_string(&path).expect("read the export");
        assert!(path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("screen-station-")));
        assert!(
            text.contains(r#"<rect style="fill: rgb(34, 170, 34)" height="4"></rect>"#),
            "{text}"
        );
        assert!(
            !text.contains("script") && !text.contains("onclick"),
            "{text}"
        );

        let missing = export_svg(&plant, "nothing", shown, dir.path()).expect_err("no such screen");
        assert_eq!(missing.code, ErrorCode::NotFound);
        plant.screens.clear();
        assert!(export_svg(&plant, "station", shown, dir.path()).is_err());
    }
}
