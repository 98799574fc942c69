//! Device identification: function 43 (encapsulated interface), MEI type 14 (read device
//! identification), as the Modbus application protocol v1.1b3 section 6.21 defines it.
//!
//! The basic objects (code 01: VendorName, ProductCode, MajorMinorRevision) are read first, then the
//! regular ones (code 02: VendorUrl, ProductName, ModelName, UserApplicationName) when the device's
//! conformity level says it has them. A device whose answer does not fit in one frame sets "more
//! follows" and names the next object to ask for; the stream is followed to its end.

use std::fmt;
use std::time::Duration;

use plantwatch_core::Link;
use serde::Serialize;

use tokio_modbus::prelude::{ConformityLevel, ReadCode};

use crate::link::{exception_name, Connection, LinkError};
use crate::traffic::TrafficMonitor;

/// A device that keeps saying "more follows" would loop forever; 256 object ids is all there are.
const MAX_FRAMES: usize = 256;

/// What a device says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceIdentity {
    /// The conformity level the device reported (0x01 basic, 0x02 regular, 0x03 extended; +0x80 when
    /// it also answers individual object requests).
    pub conformity: u8,
    /// The objects in id order.
    pub objects: Vec<IdentityObject>,
}

/// One identification object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityObject {
    pub id: u8,
    /// The standard object's name (`VendorName`), or `object 0xNN` for others.
    pub name: String,
    /// The value as text (non-UTF-8 bytes replaced).
    pub value: String,
}

impl fmt::Display for IdentityObject {
    /// `VendorName: Plantwatch Training`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.value)
    }
}

impl fmt::Display for DeviceIdentity {
    /// One object a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, object) in self.objects.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{object}")?;
        }
        Ok(())
    }
}

/// Why a device could not be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyError {
    /// Exception 01: the device does not implement device identification.
    #[error("the device does not support device identification (exception 01 illegal function)")]
    NotSupported,
    /// Another exception (0B: nobody behind the gateway, 02/03: a code it does not know).
    #[error("the device refused device identification: exception {code:02X} {}", exception_name(*code))]
    Exception { code: u8 },
    /// The answer does not parse as a read device identification response.
    #[error("bad device identification answer: {reason}")]
    BadAnswer { reason: String },
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// The name of a standard object id (0x00-0x06), else `object 0xNN`.
pub fn object_name(id: u8) -> String {
    match id {
        0x00 => "VendorName".into(),
        0x01 => "ProductCode".into(),
        0x02 => "MajorMinorRevision".into(),
        0x03 => "VendorUrl".into(),
        0x04 => "ProductName".into(),
        0x05 => "ModelName".into(),
        0x06 => "UserApplicationName".into(),
        other => format!("object 0x{other:02X}"),
    }
}

/// Reads the basic and, where the device has them, the regular identification objects of `unit`.
/// Cancelling is dropping the future (the connection closes with it).
pub async fn identify(
    link: &Link,
    unit: u8,
    timeout: Duration,
) -> Result<DeviceIdentity, IdentifyError> {
    identify_with(link, unit, timeout, None).await
}

/// [`identify`], with the exchange recorded by `monitor` (the window's traffic panel).
pub async fn identify_with(
    link: &Link,
    unit: u8,
    timeout: Duration,
    monitor: Option<&TrafficMonitor>,
) -> Result<DeviceIdentity, IdentifyError> {
    let mut connection =
        Connection::open_with(link, timeout.max(Duration::from_secs(1)), monitor).await?;
    let basic = read_stream(&mut connection, unit, ReadCode::Basic, timeout).await?;
    let mut identity = DeviceIdentity {
        conformity: basic.conformity,
        objects: basic.objects,
    };
    if identity.conformity & 0x7F >= 0x02 {
        // A device claiming more than it answers still gave us the basic objects: keep them.
        match read_stream(&mut connection, unit, ReadCode::Regular, timeout).await {
            Ok(regular) => identity.objects.extend(regular.objects),
            Err(IdentifyError::Exception { .. } | IdentifyError::NotSupported) => {}
            Err(e) => return Err(e),
        }
    }
    identity.objects.sort_by_key(|o| o.id);
    identity.objects.dedup_by_key(|o| o.id);
    connection.close().await;
    Ok(identity)
}

/// One stream (basic or regular), following "more follows" to its end.
async fn read_stream(
    connection: &mut Connection,
    unit: u8,
    code: ReadCode,
    timeout: Duration,
) -> Result<DeviceIdentity, IdentifyError> {
    let mut identity = DeviceIdentity {
        conformity: 0,
        objects: Vec::new(),
    };
    let mut next = 0u8;
    for _ in 0..MAX_FRAMES {
        let answer = match connection
            .read_identification(unit, code, next, timeout)
            .await?
        {
            Ok(answer) => answer,
            Err(0x01) => return Err(IdentifyError::NotSupported),
            Err(exception) => return Err(IdentifyError::Exception { code: exception }),
        };
        identity.conformity = conformity_byte(answer.conformity_level);
        identity.objects.extend(
            answer
                .device_id_objects
                .iter()
                .map(|object| IdentityObject {
                    id: object.id,
                    name: object_name(object.id),
                    value: String::from_utf8_lossy(&object.value).into_owned(),
                }),
        );
        match answer.more_follows {
            true if answer.next_object_id > next => next = answer.next_object_id,
            // No more, or a device naming an id it already gave: stop rather than loop.
            _ => return Ok(identity),
        }
    }
    Ok(identity)
}

/// The conformity level as the device sent it.
fn conformity_byte(level: ConformityLevel) -> u8 {
    match level {
        ConformityLevel::BasicIdentificationStreamOnly => 0x01,
        ConformityLevel::RegularIdentificationStreamOnly => 0x02,
        ConformityLevel::ExtendedIdentificationStreamOnly => 0x03,
        ConformityLevel::BasicIdentification => 0x81,
        ConformityLevel::RegularIdentification => 0x82,
        ConformityLevel::ExtendedIdentification => 0x83,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_objects_have_their_names_and_others_their_id() {
        assert_eq!(object_name(0x00), "VendorName");
        assert_eq!(object_name(0x06), "UserApplicationName");
        assert_eq!(object_name(0x80), "object 0x80");
    }
}
