//! The config parser on arbitrary text: `plantwatch_config::parse` must return a plant or errors, never
//! panic, and every error must render (positions are computed from byte offsets into the text, where a
//! multi-byte character or a span past the end would otherwise slice badly).

use std::path::Path;

/// Parses `data` as a plant config (when it is UTF-8, as `load` requires), then renders the outcome.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match plantwatch_config::parse(text, Path::new("fuzz/plant.toml")) {
        Ok(plant) => {
            let _ = plantwatch_config::summary(&plant);
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejected config names its problems");
            let _ = errors.to_string();
        }
    }
}
