//! The northbound link's validated settings: where the plant's data goes beyond Plantwatch (today one
//! kind, a Sparkplug B edge node over MQTT). Built only by the config parser, trusted downstream.

use std::fmt;
use std::path::PathBuf;

use crate::Role;

/// `[northbound.sparkplug]`: the plant as a Sparkplug B edge node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkplugSettings {
    /// Brokers in the order to try them; never empty.
    pub brokers: Vec<BrokerAddress>,
    /// The Sparkplug group id.
    pub group: SparkplugId,
    /// The edge node id.
    pub node: SparkplugId,
    pub username: Option<String>,
    /// The NAME of the environment variable that holds the password (the secret itself is never in the
    /// plant file, and never printed).
    pub password_env: Option<String>,
    /// TLS files, already resolved against the plant file's folder.
    pub tls: TlsFiles,
    /// Publish only while this primary host application's STATE says online.
    pub primary_host: Option<SparkplugId>,
    /// Accept NCMD/DCMD writes.
    pub commands: bool,
    /// The role commands act in (the engine's write check compares it with each tag's `write.role`).
    pub command_role: Role,
}

/// One broker: `mqtt://host:port` or `mqtts://host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAddress {
    /// `mqtts`: TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl BrokerAddress {
    /// The default port of the scheme: 1883 for `mqtt`, 8883 for `mqtts`.
    pub fn default_port(tls: bool) -> u16 {
        if tls {
            8883
        } else {
            1883
        }
    }
}

impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The certificate files of a TLS connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsFiles {
    /// The CA that signed the broker's certificate (PEM); none: the system's trusted roots.
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// A Sparkplug id (group, edge node, device, host): not empty, and none of `/ + #`, which MQTT topics
/// reserve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SparkplugId(String);

impl SparkplugId {
    /// The id, when `text` is a valid one.
    pub fn new(text: &str) -> Option<SparkplugId> {
        let valid = !text.is_empty() && !text.contains(['/', '+', '#']);
        valid.then(|| SparkplugId(text.to_string()))
    }

    /// A valid id made of any text (the plant's name as the default edge node id): the reserved
    /// characters become `_`, and an empty text becomes `plantwatch`.
    pub fn made_from(text: &str) -> SparkplugId {
        let cleaned: String = text
            .trim()
            .chars()
            .map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c })
            .collect();
        if cleaned.is_empty() {
            SparkplugId("plantwatch".to_string())
        } else {
            SparkplugId(cleaned)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SparkplugId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkplug_ids_refuse_what_topics_reserve() {
        for good in ["pumping", "lift 4", "Lift-4", "a.b"] {
            assert!(SparkplugId::new(good).is_some(), "{good:?} is a valid id");
        }
        for bad in ["", "a/b", "a+", "#"] {
            assert!(SparkplugId::new(bad).is_none(), "{bad:?} is not a valid id");
        }
    }

    #[test]
    fn a_plant_name_becomes_a_valid_node_id() {
        assert_eq!(
            SparkplugId::made_from("Lift 4 / North").as_str(),
            "Lift 4 _ North"
        );
        assert_eq!(SparkplugId::made_from("  ").as_str(), "plantwatch");
    }

    #[test]
    fn broker_addresses_print_as_urls() {
        let b = BrokerAddress {
            tls: true,
            host: "broker.example".into(),
            port: 8883,
        };
        assert_eq!(b.to_string(), "mqtts://broker.example:8883");
    }
}
