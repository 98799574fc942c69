//! The Devices screen's connection test: a fresh connection to the device's link and one read of its
//! first tag, timed. It uses its own connection so a test never disturbs the running poll.

use std::time::Instant;

use plantwatch_core::Device;
use plantwatch_modbus::{exception_name, Connection};

use super::wire::ConnectionTest;

/// Opens the device's link and reads its first tag once.
pub async fn test(device: &Device) -> ConnectionTest {
    let started = Instant::now();
    let elapsed = || started.elapsed().as_secs_f64() * 1000.0;
    let mut conn = match Connection::open(&device.link, device.timeout).await {
        Ok(c) => c,
        Err(e) => {
            return ConnectionTest {
                ok: false,
                latency_ms: elapsed(),
                message: e.to_string(),
            }
        }
    };
    let Some(tag) = device.tags.first() else {
        conn.close().await;
        return ConnectionTest {
            ok: true,
            latency_ms: elapsed(),
            message: "connected (the device has no tags to read)".into(),
        };
    };
    let read = conn
        .read(
            device.unit,
            tag.table,
            tag.address,
            tag.width(),
            device.timeout,
        )
        .await;
    let latency_ms = elapsed();
    conn.close().await;
    match read {
        Ok(Ok(_)) => ConnectionTest {
            ok: true,
            latency_ms,
            message: format!("read {} at {} {}", tag.id(), tag.table.name(), tag.address),
        },
        Ok(Err(code)) => ConnectionTest {
            ok: false,
            latency_ms,
            message: format!(
                "the device answered exception {code:02X} ({}) reading {}",
                exception_name(code),
                tag.id()
            ),
        },
        Err(e) => ConnectionTest {
            ok: false,
            latency_ms,
            message: e.to_string(),
        },
    }
}
