//! The one-line description of a plant that `plantwatch check` prints.

use plantwatch_core::{ApiSecurity, Plant};

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

/// The line `plantwatch check` prints about `[api]`, when the plant has one:
/// `api: https://0.0.0.0:8443 (TLS)`, `api: http://127.0.0.1:8181 (loopback only)` or
/// `api: http://0.0.0.0:8181 (INSECURE: tokens in clear text on the network)`.
pub fn api_summary(plant: &Plant) -> Option<String> {
    let api = plant.api.as_ref()?;
    let how = match api.security {
        ApiSecurity::Tls { .. } => "TLS",
        ApiSecurity::Loopback => "loopback only",
        ApiSecurity::Insecure => "INSECURE: tokens in clear text on the network",
    };
    let mut line = format!("api: {}://{} ({how})", api.scheme(), api.listen);
    if !api.cors.is_empty() {
        line.push_str(&format!(", CORS for {}", api.cors.join(" ")));
    }
    Some(line)
}
