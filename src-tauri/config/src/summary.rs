//! The one-line description of a plant that `plantwatch check` prints.

use plantwatch_core::Plant;

/// `Lift station 4: 3 devices, 42 tags, 12 alarms, history lift4.db` (alarms are the configured alarm
/// rules; every device's communication alarm comes on top).
pub fn summary(plant: &Plant) -> String {
    let alarms: usize = plant.tags().map(|(_, _, tag)| tag.alarms().len()).sum();
    format!(
        "{}: {}, {}, {}, history {}",
        plant.name,
        count(plant.devices.len(), "device"),
        count(plant.tag_count(), "tag"),
        count(alarms, "alarm"),
        plant.history.display()
    )
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
