//! `[northbound.sparkplug]`: the plant as a Sparkplug B edge node (brokers, ids, credentials by
//! environment variable name, TLS files, primary host, commands).

use std::ops::Range;
use std::path::Path;

use plantwatch_core::{BrokerAddress, Role, SparkplugId, SparkplugSettings, TlsFiles};
use toml::de::DeValue;

use crate::error::ConfigErrorKind;
use crate::fields::{At, Field, Section};

const NORTHBOUND_KEYS: &[&str] = &["sparkplug"];
const SPARKPLUG_KEYS: &[&str] = &[
    "broker",
    "brokers",
    "group",
    "node",
    "username",
    "password_env",
    "ca_file",
    "client_cert",
    "client_key",
    "primary_host",
    "commands",
    "command_role",
];

/// Reads `[northbound]` from the top of the file. `Some(None)`: no northbound; `None`: it is there but
/// wrong (reported). `plant_name` gives the default edge node id; `config` resolves the TLS files.
pub(crate) fn read_northbound(
    top: &Section<'_, '_>,
    plant_name: Option<&str>,
    config: &Path,
) -> Option<Option<SparkplugSettings>> {
    let report = top.report();
    let northbound = match top.table("northbound") {
        Field::Absent => return Some(None),
        Field::Invalid => return None,
        Field::Present(at) => {
            Section::open(at.value, at.span, "[northbound]", NORTHBOUND_KEYS, report)
        }
    };
    let sparkplug = match northbound.table("sparkplug") {
        Field::Absent => return Some(None),
        Field::Invalid => return None,
        Field::Present(at) => Section::open(
            at.value,
            at.span,
            "[northbound.sparkplug]",
            SPARKPLUG_KEYS,
            report,
        ),
    };
    read_sparkplug(&sparkplug, plant_name, config).map(Some)
}

fn read_sparkplug(
    section: &Section<'_, '_>,
    plant_name: Option<&str>,
    config: &Path,
) -> Option<SparkplugSettings> {
    let report = section.report();
    let brokers = read_brokers(section);
    let group = section.required(
        "group",
        "the Sparkplug group id this edge node belongs to",
        sparkplug_id(section, "group"),
    );
    let node = match sparkplug_id(section, "node") {
        Field::Absent => plant_name.map(SparkplugId::made_from),
        Field::Invalid => None,
        Field::Present(at) => Some(at.value),
    };
    let username = section
        .string("username")
        .check(report, |u| {
            if u.is_empty() {
                Err("'username' must not be empty (leave it out for none)".to_string())
            } else {
                Ok(())
            }
        })
        .optional();
    let password_env = section
        .string("password_env")
        .check(report, |name| {
            if is_env_name(name) {
                Ok(())
            } else {
                // The value is not echoed: it may be the password itself, written in the wrong place.
                Err("'password_env' must be the NAME of an environment variable (A-Z, a-z, 0-9 and _, \
                     not starting with a digit); the password itself never goes in the plant file"
                    .to_string())
            }
        })
        .optional();
    let folder = config.parent().unwrap_or(Path::new(""));
    let ca = existing_file(section, "ca_file", folder);
    let cert = existing_file(section, "client_cert", folder);
    let key = existing_file(section, "client_key", folder);
    let client = match (cert, key) {
        (Field::Present(cert), Field::Present(key)) => Some(Some((cert.value, key.value))),
        (Field::Absent, Field::Absent) => Some(None),
        (Field::Present(_), Field::Absent) => {
            section.forbid(
                "client_cert",
                "needs 'client_key' too (mutual TLS takes both)",
            );
            None
        }
        (Field::Absent, Field::Present(_)) => {
            section.forbid(
                "client_key",
                "needs 'client_cert' too (mutual TLS takes both)",
            );
            None
        }
        _ => None,
    };
    let primary_host = sparkplug_id(section, "primary_host").optional();
    let commands = section.boolean("commands").or_default(false);
    let command_role = section
        .choice(
            "command_role",
            &[
                ("viewer", Role::Viewer),
                ("operator", Role::Operator),
                ("engineer", Role::Engineer),
                ("admin", Role::Admin),
            ],
        )
        .or_default(Role::Operator);

    // TLS files only mean something to an mqtts:// broker; on a plain connection they would be
    // silently unused, and the user would believe the link encrypted.
    let plain_only = brokers.as_ref().is_some_and(|b| !b.iter().any(|b| b.tls));
    if plain_only {
        for key in ["ca_file", "client_cert", "client_key"] {
            section.forbid(
                key,
                "is for TLS, but no broker is mqtts://; use mqtts://HOST:PORT or leave it out",
            );
        }
        if ["ca_file", "client_cert", "client_key"]
            .iter()
            .any(|k| section.has(k))
        {
            return None;
        }
    }
    let brokers = brokers?;
    let ca = ca.optional()?;
    let client = client?;
    Some(SparkplugSettings {
        brokers,
        group: group?.value,
        node: node?,
        username: username?,
        password_env: password_env?,
        tls: TlsFiles { ca, client },
        primary_host: primary_host?,
        commands: commands?,
        command_role: command_role?,
    })
}

/// Exactly one of `broker = "URL"` and `brokers = ["URL", ...]`.
fn read_brokers(section: &Section<'_, '_>) -> Option<Vec<BrokerAddress>> {
    let report = section.report();
    match (section.get("broker"), section.get("brokers")) {
        (Some(_), Some(_)) => {
            section.forbid(
                "brokers",
                "and 'broker' are both given; write one broker as broker = \"URL\" or several as \
                 brokers = [\"URL\", ...]",
            );
            None
        }
        (None, None) => {
            section.missing(
                "broker",
                "the MQTT broker as mqtt://HOST:PORT or mqtts://HOST:PORT, or brokers = [...] to fail over",
            );
            None
        }
        (Some(_), None) => {
            let at = section.required("broker", "", section.string("broker"))?;
            let broker = parse_broker(&at.value).map_err(|why| {
                report.add(
                    at.span.clone(),
                    ConfigErrorKind::BadValue,
                    format!("'broker' {why}"),
                )
            });
            broker.ok().map(|b| vec![b])
        }
        (None, Some(value)) => {
            let DeValue::Array(items) = value.get_ref() else {
                report.add(
                    value.span(),
                    ConfigErrorKind::WrongType,
                    "'brokers' must be an array of broker URLs ([\"mqtts://a:8883\", ...])",
                );
                return None;
            };
            if items.is_empty() {
                report.add(
                    value.span(),
                    ConfigErrorKind::BadValue,
                    "'brokers' must name at least one broker",
                );
                return None;
            }
            let mut brokers = Vec::new();
            let mut fine = true;
            for item in items.iter() {
                let parsed = match item.get_ref() {
                    DeValue::String(url) => parse_broker(url),
                    _ => Err("must be broker URLs in strings".to_string()),
                };
                match parsed {
                    Ok(b) => brokers.push(b),
                    Err(why) => {
                        report.add(
                            item.span(),
                            ConfigErrorKind::BadValue,
                            format!("'brokers' {why}"),
                        );
                        fine = false;
                    }
                }
            }
            fine.then_some(brokers)
        }
    }
}

/// `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (IPv6 hosts in brackets); the error says what is
/// wrong, after the key's name.
pub(crate) fn parse_broker(url: &str) -> Result<BrokerAddress, String> {
    let shown = plantwatch_core::echo::escape(url);
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err(format!(
            "must start with mqtt:// or mqtts://, not {shown:?}"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@']) || rest.chars().any(char::is_whitespace) {
        return Err(format!(
            "must be SCHEME://HOST[:PORT] with no path, user or spaces, not {shown:?}"
        ));
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(format!("has an unclosed '[' in {shown:?}"));
        };
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(format!("has no host in {shown:?}"));
    }
    let port = match port {
        None => BrokerAddress::default_port(tls),
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("has a port that is not 1-65535 in {shown:?}")),
        },
    };
    Ok(BrokerAddress {
        tls,
        host: host.to_string(),
        port,
    })
}

/// A Sparkplug id: not empty, none of `/ + #`.
fn sparkplug_id(section: &Section<'_, '_>, key: &str) -> Field<SparkplugId> {
    let report = section.report();
    section.string(key).map(|at: At<String>| {
        let id = SparkplugId::new(&at.value);
        if id.is_none() {
            report.add(
                at.span,
                ConfigErrorKind::BadValue,
                format!(
                    "'{key}' must be a Sparkplug id: not empty and without '/', '+' or '#', not {:?}",
                    plantwatch_core::echo::escape(&at.value)
                ),
            );
        }
        id
    })
}

/// A file named relative to the plant file's folder, which must exist (a missing CA found now, not at
/// the first connect hours later).
fn existing_file(section: &Section<'_, '_>, key: &str, folder: &Path) -> Field<std::path::PathBuf> {
    let report = section.report();
    section.string(key).map(|at| {
        let path = folder.join(&at.value);
        if at.value.is_empty() || !path.is_file() {
            report.add(
                span(&at),
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

fn span<T>(at: &At<T>) -> Range<usize> {
    at.span.clone()
}

/// `[A-Za-z_][A-Za-z0-9_]*`: a name every shell can set.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_give_scheme_host_and_port() {
        let b = parse_broker("mqtts://broker.example:8883").expect("valid");
        assert_eq!(
            (b.tls, b.host.as_str(), b.port),
            (true, "broker.example", 8883)
        );
        let b = parse_broker("mqtt://127.0.0.1").expect("valid");
        assert_eq!((b.tls, b.port), (false, 1883), "the scheme's default port");
        let b = parse_broker("mqtt://[::1]:1884").expect("valid");
        assert_eq!((b.host.as_str(), b.port), ("::1", 1884));
        for bad in [
            "tcp://a:1883",
            "mqtt://",
            "mqtt://a:0",
            "mqtt://a:70000",
            "mqtt://a/b",
            "mqtt://u@a",
        ] {
            assert!(parse_broker(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn password_env_is_a_variable_name() {
        assert!(is_env_name("PLANTWATCH_MQTT_PASSWORD"));
        assert!(!is_env_name("hunter2!"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name(""));
    }
}
