//! The report as PDF: the SVG pages of `page` drawn by krilla (typst's PDF writer) through krilla-svg,
//! text kept as text (selectable, found by `pdftotext`) in subsets of the system's fonts.

use std::sync::{Arc, OnceLock};

use krilla::geom::Size;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::Document;
use krilla_svg::{SurfaceExt, SvgSettings};

use crate::page;
use crate::Report;

/// The system's fonts, read once per process (usvg picks each text's face from them).
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_system_fonts();
            db.set_sans_serif_family("DejaVu Sans");
            Arc::new(db)
        })
        .clone()
}

pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let options = usvg::Options {
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let size = Size::from_wh(page::WIDTH as f32, page::HEIGHT as f32)
        .ok_or_else(|| "bad page size".to_string())?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(report.title.clone())
            .creator("Plantwatch".to_string())
            .language(report.language.to_string()),
    );
    for (n, svg) in page::pages(report).iter().enumerate() {
        let tree =
            usvg::Tree::from_str(svg, &options).map_err(|e| format!("page {}: {e}", n + 1))?;
        let mut page = document.start_page_with(PageSettings::new(size));
        let mut surface = page.surface();
        surface
            .draw_svg(&tree, size, SvgSettings::default())
            .ok_or_else(|| format!("page {}: krilla could not draw it", n + 1))?;
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| format!("{e:?}"))
}
