//! PNG exports of a picture, for reports and shift logs: the SVG drawn by resvg (usvg parses it,
//! tiny-skia rasterises it), text with the system's fonts. Offline: no file or network is read but the
//! fonts; an `<image>` is drawn only from a `data:` URL and only when it is SVG (sanitised pictures carry
//! no images at all).

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

/// The width of a PNG export when the user asks for none: sharp on a printed A4 page and a 4K screen.
pub const DEFAULT_PNG_WIDTH: u32 = 1600;

/// The largest side of a PNG export, in pixels: bounds the memory a render takes (at most 256 MiB).
pub const MAX_PNG_SIDE: u32 = 8192;

/// Why a picture could not be drawn as PNG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the PNG width must be 1..={MAX_PNG_SIDE} pixels, not {0}")]
    Width(u32),
    #[error("the picture cannot be drawn: {0}")]
    Svg(String),
    #[error(
        "the picture drawn {width} pixels wide would be {height} pixels tall; \
         at most {MAX_PNG_SIDE} are drawn (ask for a smaller width)"
    )]
    TooTall { width: u32, height: u64 },
    #[error(
        "the picture has text but no font was found on this system (install e.g. DejaVu Sans)"
    )]
    NoFonts,
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

/// Draws `svg` as a PNG `width` pixels wide, its height keeping the picture's aspect, on white (a
/// transparent export reads badly in viewers with a dark background).
pub fn render_png(svg: &str, width: u32) -> Result<Vec<u8>, RenderError> {
    if width == 0 || width > MAX_PNG_SIDE {
        return Err(RenderError::Width(width));
    }
    let fonts = system_fonts();
    let options = usvg::Options {
        font_family: fonts.default_family.clone(),
        fontdb: Arc::clone(&fonts.db),
        // A picture is data: no file is read through an <image> href, only `data:` URLs.
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| RenderError::Svg(e.to_string()))?;
    if fonts.db.is_empty() && has_text(tree.root()) {
        return Err(RenderError::NoFonts);
    }

    let size = tree.size();
    let scale = width as f32 / size.width();
    let tall = (size.height() * scale).round().max(1.0) as u64;
    let height = u32::try_from(tall)
        .ok()
        .filter(|&h| h <= MAX_PNG_SIDE)
        .ok_or(RenderError::TooTall {
            width,
            height: tall,
        })?;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(RenderError::TooTall {
        width,
        height: tall,
    })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Encode(e.to_string()))
}

/// Whether any node under `group` is text (drawn only with a font).
fn has_text(group: &usvg::Group) -> bool {
    group.children().iter().any(|node| match node {
        usvg::Node::Text(_) => true,
        usvg::Node::Group(g) => has_text(g),
        _ => false,
    })
}

/// The system's fonts, read once per process (reading them takes tens of milliseconds).
struct Fonts {
    db: Arc<usvg::fontdb::Database>,
    /// The family of text that names none, and of the generic families the system lacks.
    default_family: String,
}

/// Families that stand in for `sans-serif`, first found wins; pictures are drawn in a sans face.
const SANS_FAMILIES: [&str; 6] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "Arial",
    "Helvetica",
    "FreeSans",
];

fn system_fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        // fontdb maps the generic families to Windows names (Arial, Times New Roman); on a Linux panel PC
        // they are usually missing, and text in a missing family is not drawn at all.
        let installed = |family: &str| {
            db.faces()
                .any(|f| f.families.iter().any(|(n, _)| n == family))
        };
        let default_family = SANS_FAMILIES
            .iter()
            .find(|f| installed(f))
            .map(|f| f.to_string())
            .or_else(|| {
                db.faces()
                    .find_map(|f| f.families.first().map(|(n, _)| n.clone()))
            })
            .unwrap_or_else(|| "sans-serif".to_string());
        let missing = |generic: usvg::fontdb::Family| !installed(db.family_name(&generic));
        let (sans, serif, mono) = (
            missing(usvg::fontdb::Family::SansSerif),
            // usvg falls back to the serif family when a named family is missing.
            missing(usvg::fontdb::Family::Serif),
            missing(usvg::fontdb::Family::Monospace),
        );
        if sans {
            db.set_sans_serif_family(default_family.clone());
        }
        if serif {
            db.set_serif_family(default_family.clone());
        }
        if mono {
            db.set_monospace_family(default_family.clone());
        }
        Fonts {
            db: Arc::new(db),
            default_family,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picture as the page shows it: the pump's fill set red, the level reading written in.
    const SHOWN: &str = include_str!("../../../tests/data/graphics/shown.svg");

    /// An RGBA image decoded by the `png` crate (not by tiny-skia, which encoded it).
    struct Image {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    }

    impl Image {
        fn decode(bytes: &[u8]) -> Image {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().expect("a PNG header");
            let mut rgba = vec![0; reader.output_buffer_size().expect("a buffer size")];
            let frame = reader.next_frame(&mut rgba).expect("a PNG frame");
            assert_eq!(frame.color_type, png::ColorType::Rgba);
            assert_eq!(frame.bit_depth, png::BitDepth::Eight);
            Image {
                width: frame.width,
                height: frame.height,
                rgba,
            }
        }

        fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
            let at = ((y * self.width + x) * 4) as usize;
            [
                self.rgba[at],
                self.rgba[at + 1],
                self.rgba[at + 2],
                self.rgba[at + 3],
            ]
        }

        /// How many pixels in the box `x0..x1`, `y0..y1` are near black.
        fn dark_pixels(&self, (x0, x1): (u32, u32), (y0, y1): (u32, u32)) -> usize {
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| self.pixel(x, y)[..3].iter().all(|&c| c < 96))
                .count()
        }
    }

    #[test]
    fn a_shown_picture_is_drawn_at_the_asked_width_with_its_colours_and_text() {
        let image = Image::decode(&render_png(SHOWN, 400).expect("drawn"));

        assert_eq!(
            (image.width, image.height),
            (400, 200),
            "the aspect is kept"
        );
        // The pump (10..70 x 10..50 units) is drawn in the colour the page gave it, not its file colour.
        assert_eq!(image.pixel(80, 60), [221, 34, 34, 255]);
        // The background: opaque, the picture's own grey.
        assert_eq!(image.pixel(390, 10), [244, 245, 247, 255]);
        // The reading "2.41 m" (24 units high, baseline at y = 60) is drawn in dark glyphs.
        let text = image.dark_pixels((200, 400), (72, 124));
        assert!(text > 200, "{text} dark pixels where the reading is");
        // Nothing dark where there is no text.
        assert_eq!(image.dark_pixels((200, 400), (140, 200)), 0);
        // The flow meter's bad quality: hatched grey (the page's style sheet wins over its green fill).
        let meter: Vec<[u8; 4]> = (124..176)
            .flat_map(|y| (24..136).map(move |x| (x, y)))
            .map(|(x, y)| image.pixel(x, y))
            .collect();
        // Greys at 75 % over the light blue-grey background: never the green.
        let grey = |p: &[u8; 4]| p[0].abs_diff(p[1]) <= 4 && p[1].abs_diff(p[2]) <= 4;
        assert!(meter.iter().all(grey), "only greys where the meter is");
        // #bbb and #777 at 75 % over #f4f5f7: about 201 and 150.
        let (light, dark) = (
            meter.iter().filter(|p| p[0] > 190).count(),
            meter.iter().filter(|p| p[0] < 165).count(),
        );
        assert!(
            light > 500 && dark > 500,
            "hatched: {light} light, {dark} dark"
        );
    }

    #[test]
    fn the_demo_station_is_drawn_at_the_default_width() {
        let station = include_str!("../../../assets/screens/station.svg");
        let image = Image::decode(&render_png(station, DEFAULT_PNG_WIDTH).expect("drawn"));
        // 1000 x 640 units.
        assert_eq!((image.width, image.height), (1600, 1024));
        // The title "Lift station 4" (24 units, bold, baseline y = 40 at x = 24).
        assert!(image.dark_pixels((38, 300), (30, 66)) > 500);
    }

    #[test]
    fn a_picture_that_cannot_be_drawn_says_why() {
        assert_eq!(render_png(SHOWN, 0), Err(RenderError::Width(0)));
        assert_eq!(
            render_png(SHOWN, MAX_PNG_SIDE + 1),
            Err(RenderError::Width(MAX_PNG_SIDE + 1))
        );
        let not_svg = render_png("<html/>", 100).expect_err("not SVG");
        assert!(
            matches!(&not_svg, RenderError::Svg(m) if !m.is_empty()),
            "{not_svg}"
        );
        let tall = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="1000"/>"#;
        assert_eq!(
            render_png(tall, 100),
            Err(RenderError::TooTall {
                width: 100,
                height: 10_000
            })
        );
        assert_eq!(
            RenderError::TooTall {
                width: 100,
                height: 10_000
            }
            .to_string(),
            "the picture drawn 100 pixels wide would be 10000 pixels tall; at most 8192 are drawn \
             (ask for a smaller width)"
        );
    }

    #[test]
    fn no_file_is_read_through_an_image_reference() {
        // A picture that names another picture on disk: drawn without it, as if the image were absent.
        // (Raster images are not drawn at all: sanitised pictures carry none, and resvg is built without
        // its decoders.)
        let dir = std::env::temp_dir().join(format!("pw-raster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let red = dir.join("red.svg");
        std::fs::write(
            &red,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>"#,
        )
        .expect("a red picture on disk");
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image width="10" height="10" xlink:href="{}"/></svg>"#,
            red.display()
        );
        let image = Image::decode(&render_png(&svg, 10).expect("drawn"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(image.pixel(5, 5), [255, 255, 255, 255]);
    }
}
