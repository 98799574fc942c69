//! `[api]`: the local HTTP API (listen address, TLS files, the explicit `insecure` opt-out, the browser
//! screens, the CORS allow-list).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use plantwatch_core::{ApiSecurity, ApiSettings};
use toml::de::DeValue;

use crate::error::ConfigErrorKind;
use crate::fields::{Field, Section};

const API_KEYS: &[&str] = &[
    "listen", "tls_cert", "tls_key", "insecure", "browser", "cors",
];

/// Reads `[api]` from the top of the file. `Some(None)`: no API; `None`: it is there but wrong
/// (reported). `config` resolves the TLS files.
pub(crate) fn read_api(top: &Section<'_, '_>, config: &Path) -> Option<Option<ApiSettings>> {
    let report = top.report();
    let section = match top.table("api") {
        Field::Absent => return Some(None),
        Field::Invalid => return None,
        Field::Present(at) => Section::open(at.value, at.span, "[api]", API_KEYS, report),
    };
    let listen = section.string("listen").map(|at| {
        let parsed = at.value.parse::<SocketAddr>();
        if parsed.is_err() {
            report.add(
                at.span,
                ConfigErrorKind::BadValue,
                format!(
                    "'listen' must be IP:PORT (such as \"127.0.0.1:8181\" or \"[::1]:8181\"), not {:?}",
                    plantwatch_core::echo::escape(&at.value)
                ),
            );
        }
        parsed.ok()
    });
    let listen = section.required(
        "listen",
        "the address and port the API listens on, such as \"127.0.0.1:8181\"",
        listen,
    );
    let folder = config.parent().unwrap_or(Path::new(""));
    let cert = existing_file(&section, "tls_cert", folder);
    let key = existing_file(&section, "tls_key", folder);
    let insecure = section.boolean("insecure").or_default(false);
    let browser = section.boolean("browser").or_default(false);
    let cors = read_cors(&section);

    let tls = match (cert, key) {
        (Field::Present(cert), Field::Present(key)) => Some(Some((cert.value, key.value))),
        (Field::Absent, Field::Absent) => Some(None),
        (Field::Present(_), Field::Absent) => {
            section.forbid("tls_cert", "needs 'tls_key' too (TLS takes both)");
            None
        }
        (Field::Absent, Field::Present(_)) => {
            section.forbid("tls_key", "needs 'tls_cert' too (TLS takes both)");
            None
        }
        _ => None,
    };
    let listen = listen?.value;
    let tls = tls?;
    let insecure = insecure?;
    let security = match (tls, insecure) {
        (Some(_), true) => {
            section.forbid(
                "insecure",
                "cannot be true with 'tls_cert' and 'tls_key'; leave it out to use TLS",
            );
            return None;
        }
        (Some((cert, key)), false) => ApiSecurity::Tls { cert, key },
        (None, true) if listen.ip().is_loopback() => {
            section.forbid(
                "insecure",
                "is only for a network address; a loopback 'listen' is plain HTTP already",
            );
            return None;
        }
        (None, true) => ApiSecurity::Insecure,
        (None, false) if listen.ip().is_loopback() => ApiSecurity::Loopback,
        (None, false) => {
            let span = section
                .get("listen")
                .map(|v| v.span())
                .unwrap_or_else(|| section.span.clone());
            report.add(
                span,
                ConfigErrorKind::Conflict,
                format!(
                    "'listen' {listen} is reachable from the network: give 'tls_cert' and 'tls_key' \
                     (`plantwatch tokens make-cert HOST` makes a first pair), or set insecure = true \
                     to send tokens in clear text, or listen on 127.0.0.1"
                ),
            );
            return None;
        }
    };
    Some(Some(ApiSettings {
        listen,
        security,
        browser: browser?,
        cors: cors?,
    }))
}

/// `cors = ["https://origin", ...]`: exact origins (scheme://host[:port], no path).
fn read_cors(section: &Section<'_, '_>) -> Option<Vec<String>> {
    let report = section.report();
    let Some(value) = section.get("cors") else {
        return Some(Vec::new());
    };
    let DeValue::Array(items) = value.get_ref() else {
        report.add(
            value.span(),
            ConfigErrorKind::WrongType,
            "'cors' must be an array of origins ([\"https://dashboard.example:8443\", ...])",
        );
        return None;
    };
    let mut origins = Vec::new();
    let mut fine = true;
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(origin) if is_origin(origin) => origins.push(origin.to_string()),
            other => {
                let message = match other {
                    DeValue::String(text) => format!(
                        "'cors' entries must be origins as http://HOST[:PORT] or https://HOST[:PORT] \
                         with no path, not {:?}",
                        plantwatch_core::echo::escape(text)
                    ),
                    _ => "'cors' entries must be strings holding origins, such as \
                          \"https://dashboard.example:8443\""
                        .to_string(),
                };
                report.add(item.span(), ConfigErrorKind::BadValue, message);
                fine = false;
            }
        }
    }
    fine.then_some(origins)
}

/// `http(s)://host[:port]`: what a browser sends in `Origin`.
fn is_origin(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@'])
            && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// A file named relative to the plant file's folder, which must exist (a missing certificate found
/// by `check`, not when `collect` starts).
fn existing_file(section: &Section<'_, '_>, key: &str, folder: &Path) -> Field<PathBuf> {
    let report = section.report();
    section.string(key).map(|at| {
        let path = folder.join(&at.value);
        if at.value.is_empty() || !path.is_file() {
            report.add(
                at.span,
                ConfigErrorKind::BadValue,
                format!(
                    "'{key}' names no readable file: {} (paths are relative to the plant file)",
                    plantwatch_core::echo::escape(&at.value)
                ),
            );
            None
        } else {
            Some(path)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert!(is_origin("https://dashboard.example"));
        assert!(is_origin("http://10.0.0.5:3000"));
        for bad in [
            "dashboard.example",
            "https://",
            "https://a/b",
            "ftp://a",
            "*",
        ] {
            assert!(!is_origin(bad), "{bad} must be refused");
        }
    }
}
