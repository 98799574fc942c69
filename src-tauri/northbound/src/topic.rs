//! The Sparkplug B topic namespace: `spBv1.0/<group>/<TYPE>/<node>[/<device>]`, and the primary host's
//! `spBv1.0/STATE/<host>`.

use plantwatch_core::SparkplugId;

/// The namespace every Sparkplug B topic starts with.
pub const NAMESPACE: &str = "spBv1.0";

/// The topics of one edge node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    group: String,
    node: String,
}

/// What an incoming message is, judged by its topic alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A command to the edge node itself (NCMD).
    NodeCommand,
    /// A command to one device of the node (DCMD), by device id.
    DeviceCommand(String),
    /// A primary host application's STATE.
    State(String),
}

impl Topics {
    pub fn new(group: &SparkplugId, node: &SparkplugId) -> Topics {
        Topics {
            group: group.as_str().to_string(),
            node: node.as_str().to_string(),
        }
    }

    fn node_topic(&self, kind: &str) -> String {
        format!("{NAMESPACE}/{}/{kind}/{}", self.group, self.node)
    }

    fn device_topic(&self, kind: &str, device: &str) -> String {
        format!("{NAMESPACE}/{}/{kind}/{}/{device}", self.group, self.node)
    }

    pub fn nbirth(&self) -> String {
        self.node_topic("NBIRTH")
    }
    pub fn ndeath(&self) -> String {
        self.node_topic("NDEATH")
    }
    pub fn ncmd(&self) -> String {
        self.node_topic("NCMD")
    }
    pub fn dbirth(&self, device: &str) -> String {
        self.device_topic("DBIRTH", device)
    }
    pub fn ddeath(&self, device: &str) -> String {
        self.device_topic("DDEATH", device)
    }
    pub fn ddata(&self, device: &str) -> String {
        self.device_topic("DDATA", device)
    }
    /// Every DCMD of this node (a subscription filter).
    pub fn dcmd_filter(&self) -> String {
        self.device_topic("DCMD", "+")
    }

    /// A primary host application's STATE topic (Sparkplug 3.0).
    pub fn state(host: &SparkplugId) -> String {
        format!("{NAMESPACE}/STATE/{host}")
    }

    /// Classifies an incoming topic; `None` for anything not addressed to this node.
    pub fn incoming(&self, topic: &str) -> Option<Incoming> {
        let parts: Vec<&str> = topic.split('/').collect();
        match parts.as_slice() {
            [NAMESPACE, "STATE", host] => Some(Incoming::State((*host).to_string())),
            [NAMESPACE, group, "NCMD", node] if *group == self.group && *node == self.node => {
                Some(Incoming::NodeCommand)
            }
            [NAMESPACE, group, "DCMD", node, device]
                if *group == self.group && *node == self.node =>
            {
                Some(Incoming::DeviceCommand((*device).to_string()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> Topics {
        let id = |s| SparkplugId::new(s).expect("valid");
        Topics::new(&id("pumping"), &id("lift4"))
    }

    #[test]
    fn topics_follow_the_namespace() {
        let t = topics();
        assert_eq!(t.nbirth(), "spBv1.0/pumping/NBIRTH/lift4");
        assert_eq!(t.ndeath(), "spBv1.0/pumping/NDEATH/lift4");
        assert_eq!(t.dbirth("plc"), "spBv1.0/pumping/DBIRTH/lift4/plc");
        assert_eq!(t.ddata("plc"), "spBv1.0/pumping/DDATA/lift4/plc");
        assert_eq!(t.ddeath("plc"), "spBv1.0/pumping/DDEATH/lift4/plc");
        assert_eq!(t.dcmd_filter(), "spBv1.0/pumping/DCMD/lift4/+");
        let host = SparkplugId::new("scada").expect("valid");
        assert_eq!(Topics::state(&host), "spBv1.0/STATE/scada");
    }

    #[test]
    fn incoming_topics_are_classified() {
        let t = topics();
        assert_eq!(
            t.incoming("spBv1.0/pumping/NCMD/lift4"),
            Some(Incoming::NodeCommand)
        );
        assert_eq!(
            t.incoming("spBv1.0/pumping/DCMD/lift4/plc"),
            Some(Incoming::DeviceCommand("plc".into()))
        );
        assert_eq!(
            t.incoming("spBv1.0/STATE/scada"),
            Some(Incoming::State("scada".into()))
        );
        assert_eq!(
            t.incoming("spBv1.0/pumping/NCMD/other"),
            None,
            "another node's"
        );
        assert_eq!(t.incoming("spBv1.0/pumping/DDATA/lift4/plc"), None);
    }
}
