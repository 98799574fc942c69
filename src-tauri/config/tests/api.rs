//! `[api]` maps to the settings it describes, with the safe defaults; the broken cases are in
//! `tests/data/config/broken/api_*.toml` (checked by `plantwatch check`).

use std::path::{Path, PathBuf};

use plantwatch_core::ApiSecurity;

fn shared_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/config")
        .join(name)
}

fn parse(text: &str) -> Result<plantwatch_core::Plant, plantwatch_config::ConfigErrors> {
    plantwatch_config::parse(text, Path::new("plant.toml"))
}

#[test]
fn a_full_api_section_gives_every_setting() {
    let path = shared_data("valid/api.toml");
    let plant = plantwatch_config::load(&path).expect("the example is valid");
    let api = plant.api.as_ref().expect("the plant has an API");
    assert_eq!(api.listen, "0.0.0.0:8443".parse().expect("an address"));
    let folder = path.parent().expect("a folder");
    assert_eq!(
        api.security,
        ApiSecurity::Tls {
            cert: folder.join("sparkplug-ca.pem"),
            key: folder.join("sparkplug-ca.pem"),
        },
        "TLS files relative to the plant file"
    );
    assert!(api.browser);
    assert_eq!(
        api.cors,
        vec!["https://dashboard.example:8443", "http://10.0.0.5:3000"]
    );
    assert_eq!(
        plantwatch_config::api_summary(&plant).as_deref(),
        Some(
            "api: https://0.0.0.0:8443 (TLS), CORS for https://dashboard.example:8443 \
             http://10.0.0.5:3000"
        )
    );
}

#[test]
fn without_an_api_section_there_is_no_api() {
    let plant = parse("[plant]\nname = \"x\"\n").expect("valid");
    assert_eq!(plant.api, None);
    assert_eq!(plantwatch_config::api_summary(&plant), None);
}

#[test]
fn loopback_is_plain_http_without_cors_or_browser_by_default() {
    let plant =
        parse("[plant]\nname = \"x\"\n[api]\nlisten = \"127.0.0.1:8181\"\n").expect("valid");
    let api = plant.api.as_ref().expect("an API");
    assert_eq!(api.security, ApiSecurity::Loopback);
    assert!(!api.browser);
    assert!(api.cors.is_empty(), "no CORS unless listed");
    assert_eq!(
        plantwatch_config::api_summary(&plant).as_deref(),
        Some("api: http://127.0.0.1:8181 (loopback only)")
    );
    let plant = parse("[plant]\nname = \"x\"\n[api]\nlisten = \"[::1]:0\"\n").expect("valid");
    assert_eq!(
        plant.api.map(|a| a.security),
        Some(ApiSecurity::Loopback),
        "IPv6 loopback too"
    );
}

#[test]
fn a_network_address_in_clear_text_must_say_insecure() {
    let plant = parse("[plant]\nname = \"x\"\n[api]\nlisten = \"0.0.0.0:8181\"\ninsecure = true\n")
        .expect("valid");
    assert_eq!(
        plant.api.as_ref().map(|a| &a.security),
        Some(&ApiSecurity::Insecure)
    );
    assert_eq!(
        plantwatch_config::api_summary(&plant).as_deref(),
        Some("api: http://0.0.0.0:8181 (INSECURE: tokens in clear text on the network)")
    );
}
