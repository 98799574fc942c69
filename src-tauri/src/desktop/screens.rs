//! The plant's process pictures for the page: each screen's picture read and checked by
//! `plantwatch-graphics`, as wire types. The demo plant's pictures are embedded in the simulator crate,
//! since an installed program has no `assets/` folder beside it.

use std::path::{Path, PathBuf};

use plantwatch_core::Plant;

use plantwatch_graphics::RenderError;

use super::wire::{ErrorCode, ScreenFormat, ScreenView, UiError};

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

/// Writes a screen's picture as the page shows it (values applied) to `dir` as `screen-ID-TIME.svg`, or
/// drawn as `screen-ID-TIME.png` ([`plantwatch_graphics::DEFAULT_PNG_WIDTH`] wide, by resvg: plotters
/// draws charts, not arbitrary SVG). The page's SVG is sanitised again like any picture file before it is
/// written or drawn, so an export never carries more than the picture itself; `id` must name one of the
/// plant's screens. The file appears whole or not at all.
pub fn export(
    plant: &Plant,
    id: &str,
    svg: &str,
    format: ScreenFormat,
    dir: &Path,
) -> Result<PathBuf, UiError> {
    let screen = plant
        .screens
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| UiError::new(ErrorCode::NotFound, format!("no screen '{id}'")))?;
    let name = Path::new("exported.svg");
    let picture = plantwatch_graphics::parse(svg, name, plant)
        .map_err(|e| UiError::new(ErrorCode::BadRequest, e.to_string()))?;
    let (bytes, ext) = match format {
        ScreenFormat::Svg => {
            let text = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- {}: {} -->\n{}\n",
                plant.name.replace("--", "- -"),
                screen.title.replace("--", "- -"),
                picture.svg
            );
            (text.into_bytes(), "svg")
        }
        ScreenFormat::Png => {
            let png = plantwatch_graphics::render_png(
                &picture.svg,
                plantwatch_graphics::DEFAULT_PNG_WIDTH,
            )
            .map_err(|e| {
                let code = match e {
                    RenderError::NoFonts | RenderError::Encode(_) => ErrorCode::Engine,
                    _ => ErrorCode::BadRequest,
                };
                UiError::new(code, format!("screen '{id}': {e}"))
            })?;
            (png, "png")
        }
    };
    std::fs::create_dir_all(dir).map_err(|e| UiError::new(ErrorCode::Io, e.to_string()))?;
    let stamp = plantwatch_core::Timestamp::now()
        .to_string()
        .replace([':', '.'], "-");
    let path = dir.join(format!("screen-{}-{stamp}.{ext}", screen.id));
    write_whole(&path, &bytes)
        .map_err(|e| UiError::new(ErrorCode::Io, format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so a full disk or a crash
/// leaves no half-written export.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_screen_is_the_sanitised_picture_as_shown() {
        let mut plant = plantwatch_sim::demo_plant_as_shipped();
        let dir = tempfile::tempdir().expect("temp dir");
        let shown = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect data-pw-id="0" style="fill: rgb(34, 170, 34)" height="4" onclick="x()"/><script>x()</script></svg>"#;
        let path =
            export(&plant, "station", shown, ScreenFormat::Svg, dir.path()).expect("exported");
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

        let missing = export(&plant, "nothing", shown, ScreenFormat::Svg, dir.path())
            .expect_err("no such screen");
        assert_eq!(missing.code, ErrorCode::NotFound);
        plant.screens.clear();
        assert!(export(&plant, "station", shown, ScreenFormat::Svg, dir.path()).is_err());
    }

    #[test]
    fn a_screen_is_exported_as_png_drawn_from_the_sanitised_picture() {
        let plant = plantwatch_sim::demo_plant_as_shipped();
        let dir = tempfile::tempdir().expect("temp dir");
        let shown = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50"><rect data-pw-id="0" style="fill: rgb(34, 170, 34)" width="100" height="50"/><text x="5" y="30">2.41 m</text><script>x()</script></svg>"#;
        let path =
            export(&plant, "station", shown, ScreenFormat::Png, dir.path()).expect("exported");
        assert!(path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("screen-station-")));
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("png"));
        let png = std::fs::read(&path).expect("read the export");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: the default width, the picture's 2:1 aspect kept.
        let side = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        assert_eq!(
            (side(16), side(20)),
            (plantwatch_graphics::DEFAULT_PNG_WIDTH, 800)
        );

        // A picture that cannot be drawn leaves no file behind.
        let tall = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 1000"/>"#;
        let refused = export(&plant, "station", tall, ScreenFormat::Png, dir.path())
            .expect_err("too tall to draw");
        assert_eq!(refused.code, ErrorCode::BadRequest);
        assert!(
            refused.message.contains("pixels tall"),
            "{}",
            refused.message
        );
        let files = std::fs::read_dir(dir.path())
            .expect("the export folder")
            .count();
        assert_eq!(files, 1, "only the first export");
    }
}
