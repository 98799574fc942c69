//! The machine's serial ports, as the operating system lists them, with what it knows of USB adapters
//! (vendor and product ids and names, serial number) so a technician can tell two adapters apart.
//!
//! On Linux the list comes from sysfs (`/sys/class/tty`): serialport is built without libudev here, so
//! no system library is needed and USB details are still read. Pseudo-terminals (socat ptys, the
//! simulator's test lines) are not serial devices to the system and are not listed: type their path by
//! hand.

use std::fmt;

use serde::Serialize;

/// One serial port the system knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SerialPortInfo {
    /// What to open: `/dev/ttyUSB0`, `COM3`.
    pub path: String,
    pub kind: PortKind,
    /// For USB adapters, what the adapter says about itself.
    pub usb: Option<UsbAdapter>,
}

/// What kind of port it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortKind {
    Usb,
    Pci,
    Bluetooth,
    Other,
}

/// A USB serial adapter's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbAdapter {
    pub vendor_id: u16,
    pub product_id: u16,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial_number: Option<String>,
}

/// The serial ports of this machine, sorted by path. Empty when the system lists none or cannot be
/// asked (no sysfs in a container): a missing list is not an error for a technician choosing a port.
pub fn serial_ports() -> Vec<SerialPortInfo> {
    // serialport's sysfs walk panics when /sys/class/tty is missing instead of returning an error.
    #[cfg(target_os = "linux")]
    if !std::path::Path::new("/sys/class/tty").is_dir() {
        return Vec::new();
    }
    let mut ports: Vec<SerialPortInfo> = match tokio_serial::available_ports() {
        Ok(ports) => ports.into_iter().map(SerialPortInfo::from).collect(),
        Err(e) => {
            tracing::warn!("cannot list serial ports: {e}");
            Vec::new()
        }
    };
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    ports
}

impl From<tokio_serial::SerialPortInfo> for SerialPortInfo {
    fn from(info: tokio_serial::SerialPortInfo) -> SerialPortInfo {
        let (kind, usb) = match info.port_type {
            tokio_serial::SerialPortType::UsbPort(usb) => (
                PortKind::Usb,
                Some(UsbAdapter {
                    vendor_id: usb.vid,
                    product_id: usb.pid,
                    manufacturer: usb.manufacturer,
                    product: usb.product,
                    serial_number: usb.serial_number,
                }),
            ),
            tokio_serial::SerialPortType::PciPort => (PortKind::Pci, None),
            tokio_serial::SerialPortType::BluetoothPort => (PortKind::Bluetooth, None),
            tokio_serial::SerialPortType::Unknown => (PortKind::Other, None),
        };
        SerialPortInfo {
            path: info.port_name,
            kind,
            usb,
        }
    }
}

impl fmt::Display for SerialPortInfo {
    /// `/dev/ttyUSB0  usb 0403:6001 FTDI FT232R USB UART (serial A10K1234)`, `/dev/ttyS0  other`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            PortKind::Usb => "usb",
            PortKind::Pci => "pci",
            PortKind::Bluetooth => "bluetooth",
            PortKind::Other => "other",
        };
        write!(f, "{}  {kind}", self.path)?;
        if let Some(usb) = &self.usb {
            write!(f, " {:04x}:{:04x}", usb.vendor_id, usb.product_id)?;
            for name in [&usb.manufacturer, &usb.product].into_iter().flatten() {
                write!(f, " {name}")?;
            }
            if let Some(serial) = &usb.serial_number {
                write!(f, " (serial {serial})")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usb_adapter_shows_its_ids_names_and_serial() {
        let port = SerialPortInfo {
            path: "/dev/ttyUSB0".into(),
            kind: PortKind::Usb,
            usb: Some(UsbAdapter {
                vendor_id: 0x0403,
                product_id: 0x6001,
                manufacturer: Some("FTDI".into()),
                product: Some("FT232R USB UART".into()),
                serial_number: Some("A10K1234".into()),
            }),
        };
        assert_eq!(
            port.to_string(),
            "/dev/ttyUSB0  usb 0403:6001 FTDI FT232R USB UART (serial A10K1234)"
        );
    }

    #[test]
    fn listing_the_ports_never_fails() {
        // Whatever this machine has (often nothing in a container), the list comes back sorted.
        let ports = serial_ports();
        assert!(ports.windows(2).all(|w| w[0].path <= w[1].path));
    }
}
