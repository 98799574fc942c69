//! The fonts plotters lays out chart texts with. plotters (with `ab_glyph`, which the desktop build turns
//! on) measures text with fonts registered by family name, so each language's face is read from the
//! system once and registered under its real family name: the SVG then names a family that usvg (the
//! PDF) and a browser (the HTML) find on the system too. Debian's fonts-noto-cjk gives the Chinese face;
//! the desktop's trend exports draw with the same faces.

use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::Language;

const LATIN_FILES: [(&str, &str); 3] = [
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "DejaVu Sans",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "Noto Sans",
    ),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVu Sans"),
];

/// Collections (or plain files) with a Simplified Chinese face, and the family name that face carries.
const CHINESE_FILES: [(&str, &str); 4] = [
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "Noto Sans CJK SC",
    ),
    (
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "Noto Sans CJK SC",
    ),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "Noto Sans CJK SC",
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "WenQuanYi Micro Hei",
    ),
];

/// The family a chart in `language` is drawn with, registered with plotters; `None` when the system has
/// no font for it (the chart is then drawn without text rather than not at all).
pub fn family(language: Language) -> Option<&'static str> {
    static LATIN: OnceLock<Option<&'static str>> = OnceLock::new();
    static CHINESE: OnceLock<Option<&'static str>> = OnceLock::new();
    match language {
        Language::English => *LATIN.get_or_init(|| {
            LATIN_FILES.iter().find_map(|(path, name)| {
                let bytes = std::fs::read(path).ok()?;
                register(name, bytes).then_some(*name)
            })
        }),
        Language::SimplifiedChinese => *CHINESE.get_or_init(|| {
            CHINESE_FILES.iter().find_map(|(path, name)| {
                let face = face_named(&std::fs::read(path).ok()?, name)?;
                register(name, face).then_some(*name)
            })
        }),
    }
}

fn register(family: &str, bytes: Vec<u8>) -> bool {
    // plotters keeps fonts for the life of the process; leaking one file per language once is the price.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(family, FontStyle::Normal, bytes).is_ok()
}

/// The face of a font file whose `name` table carries `name`: the file itself when it is a single font
/// that does, or that face of a collection (`.ttc`) as a font file of its own. plotters reads only the
/// first face of a collection, which in Noto Sans CJK is the Japanese one.
pub fn face_named(file: &[u8], name: &str) -> Option<Vec<u8>> {
    if file.get(0..4)? != b"ttcf" {
        return has_name(file, 0, name).then(|| file.to_vec());
    }
    let count = be32(file, 8)? as usize;
    (0..count.min(64))
        .filter_map(|i| be32(file, 12 + 4 * i))
        .find(|&offset| has_name(file, offset as usize, name))
        .and_then(|offset| standalone_face(file, offset as usize))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The (offset, length) of each table of the face whose table directory starts at `face`; offsets are
/// from the start of the file, as in a collection.
fn tables(file: &[u8], face: usize) -> Option<Vec<([u8; 4], usize, usize)>> {
    let count = be16(file, face + 4)? as usize;
    (0..count)
        .map(|t| {
            let record = face + 12 + 16 * t;
            let tag: [u8; 4] = file.get(record..record + 4)?.try_into().ok()?;
            Some((
                tag,
                be32(file, record + 8)? as usize,
                be32(file, record + 12)? as usize,
            ))
        })
        .collect()
}

/// Whether the face's `name` table holds `name` (family names are stored as UTF-16BE for Windows and
/// Unicode platforms).
fn has_name(file: &[u8], face: usize, name: &str) -> bool {
    let wanted: Vec<u8> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
    tables(file, face)
        .and_then(|all| all.into_iter().find(|(tag, _, _)| tag == b"name"))
        .and_then(|(_, offset, length)| file.get(offset..offset + length))
        .is_some_and(|table| table.windows(wanted.len()).any(|w| w == wanted.as_slice()))
}

/// One face of a collection as a font file: its table directory, then its tables, each at its new
/// offset (4-byte aligned). Table checksums are kept (the data is unchanged).
fn standalone_face(file: &[u8], face: usize) -> Option<Vec<u8>> {
    let all = tables(file, face)?;
    let directory = 12 + 16 * all.len();
    let mut out = file.get(face..face + directory)?.to_vec();
    for (t, (_, offset, length)) in all.into_iter().enumerate() {
        let data = file.get(offset..offset.checked_add(length)?)?;
        let at = u32::try_from(out.len()).ok()?;
        let record = 12 + 16 * t;
        out[record + 8..record + 12].copy_from_slice(&at.to_be_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_a_chart_font() {
        assert_eq!(
            family(Language::SimplifiedChinese),
            Some("Noto Sans CJK SC"),
            "fonts-noto-cjk"
        );
        assert!(family(Language::English).is_some());
    }

    #[test]
    fn the_simplified_chinese_face_is_taken_out_of_the_noto_collection() {
        let (path, name) = CHINESE_FILES[0];
        let file = std::fs::read(path).unwrap_or_else(|e| {
            panic!("{path}: {e} (Debian's fonts-noto-cjk, installed by .ci/setup)")
        });
        let face = face_named(&file, name).expect("the collection has a Simplified Chinese face");
        assert_ne!(&face[0..4], b"ttcf", "a single font, not the collection");
        assert!(has_name(&face, 0, name), "the face taken is {name}");
        assert!(
            !has_name(&face, 0, "Noto Sans CJK JP"),
            "not the Japanese face plotters would read first"
        );
        assert!(face_named(&file, "No Such Family").is_none());
    }

    #[test]
    fn a_damaged_file_is_no_face_and_no_panic() {
        assert!(face_named(b"ttcf\0\x01\0\0\0\0\0\x09", "x").is_none());
        assert!(face_named(b"", "x").is_none());
        assert!(face_named(&[0xff; 40], "x").is_none());
    }
}
