//! The plant's process pictures for the page: each screen's picture read and checked by
//! `plantwatch-graphics`, as wire types. The demo plant's pictures are embedded in the simulator crate,
//! since an installed program has no `assets/` folder beside it.

use plantwatch_core::Plant;

use super::wire::ScreenView;

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
