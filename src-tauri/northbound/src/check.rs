//! `plantwatch sparkplug CONFIG --check`: the installer's first test. Connects to the first broker
//! that answers, publishes NBIRTH and every DBIRTH, waits for their PUBACKs, leaves with NDEATH, and
//! reports what it did.

use std::time::{Duration, Instant};

use plantwatch_core::{Plant, SparkplugSettings, Timestamp};
use rumqttc::{LastWill, QoS};

use crate::connection::{Connection, Connector, Happening};
use crate::payload;
use crate::seq::{BdSeq, Seq};
use crate::topic::Topics;
use crate::NodeError;

/// How long the births' acknowledgements may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the check did.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// The broker that took the births.
    pub broker: String,
    pub group: String,
    pub node: String,
    pub devices: usize,
    pub metrics: usize,
    /// Messages published and acknowledged (NBIRTH + DBIRTHs).
    pub messages: usize,
    /// From sending the first birth to the last PUBACK.
    pub round_trip: Duration,
    /// Brokers tried before it, with why each failed.
    pub failed_brokers: Vec<String>,
}

/// Runs the check. The births carry no values (nothing is polled): every metric is born null with its
/// datatype and properties. Fails with the reason of every broker when none took the births.
pub async fn check(plant: &Plant, settings: &SparkplugSettings) -> Result<CheckReport, NodeError> {
    let connector = Connector::load(settings, "-check")?;
    let topics = Topics::new(&settings.group, &settings.node);
    let bd_seq = BdSeq(0);
    let mut failed = Vec::new();
    for broker in &settings.brokers {
        let will = LastWill::new(
            topics.ndeath(),
            payload::encode(&payload::node_death(bd_seq, Timestamp::now())),
            QoS::AtLeastOnce,
            false,
        );
        let mut connection = match Connection::<()>::open(&connector, broker, will).await {
            Ok(c) => c,
            Err(e) => {
                failed.push(e.to_string());
                continue;
            }
        };
        let started = Instant::now();
        let now = Timestamp::now();
        let mut seq = Seq::start();
        let mut messages = 0;
        let publish = async {
            connection
                .publish(
                    topics.nbirth(),
                    payload::encode(&payload::node_birth(bd_seq, now)),
                    (),
                )
                .await?;
            messages += 1;
            let _ = seq.take();
            for (d, device) in plant.devices.iter().enumerate() {
                let birth = payload::device_birth(plant, d, &[], now, seq.take());
                connection
                    .publish(topics.dbirth(&device.id), payload::encode(&birth), ())
                    .await?;
                messages += 1;
            }
            let mut acked = 0;
            while acked < messages {
                match tokio::time::timeout(ACK_TIMEOUT, connection.next()).await {
                    Err(_) => {
                        return Err(format!(
                            "{} of {messages} births were not acknowledged within {} s",
                            messages - acked,
                            ACK_TIMEOUT.as_secs()
                        ))
                    }
                    Ok(Happening::Acked(())) => acked += 1,
                    Ok(Happening::Message { .. }) => {}
                    Ok(Happening::Lost(why)) => return Err(why),
                }
            }
            Ok(())
        };
        let result: Result<(), String> = publish.await;
        let round_trip = started.elapsed();
        match result {
            Ok(()) => {
                let death = payload::node_death(bd_seq, Timestamp::now());
                let _ = connection
                    .publish(topics.ndeath(), payload::encode(&death), ())
                    .await;
                let _ = tokio::time::timeout(Duration::from_secs(2), connection.next()).await;
                connection.close().await;
                return Ok(CheckReport {
                    broker: broker.to_string(),
                    group: settings.group.to_string(),
                    node: settings.node.to_string(),
                    devices: plant.devices.len(),
                    metrics: plant.tag_count(),
                    messages,
                    round_trip,
                    failed_brokers: failed,
                });
            }
            Err(why) => failed.push(
                NodeError::Connect {
                    broker: broker.to_string(),
                    reason: why,
                }
                .to_string(),
            ),
        }
    }
    Err(NodeError::NoBroker(failed))
}
