//! The commissioning workbench behind the window's Workbench screen: scans, device identification, the
//! serial port list, the live register grid with every word order, and the traffic monitor.
//!
//! Every exchange goes over connections of the workbench's own, never the running poll's, so a scan
//! cannot disturb the plant's polling beyond sharing the bus; they are attached to the engine's traffic
//! monitor, so the Traffic panel shows the poll's frames and the workbench's side by side. One scan runs
//! at a time: a new one stops the one before, and `cancel` stops it (the scan's future is dropped, which
//! closes its connection; the channel then gets `cancelled`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use plantwatch_core::{Link, Table, Timestamp};
use plantwatch_modbus::orders::{decode_window, RegisterDecodings};
use plantwatch_modbus::scan::{self, RangeScan, SerialSettings, UnitScan};
use plantwatch_modbus::{
    exception_name, ident, ports, Connection, Direction, LinkError, Payload, TrafficMonitor,
};
use tauri::ipc::Channel;
use tokio::sync::oneshot;

use super::wire::{
    AddressRange, Decoded, ErrorCode, FrameView, GridRequest, GridRow, GridView, IdentityObject,
    LinkSpec, NumberType, RangeScanRequest, ScanEvent, SerialPortView, SerialProbeRequest,
    TrafficView, UiError, UnitScanRequest, UsbAdapter,
};

/// The workbench's state: the running scan's stop, the grid's connection kept between reads, and the
/// window's one traffic monitor (the engine of whichever plant is open records into it too, so the
/// capture and its switch survive opening or reloading a plant).
#[derive(Default)]
pub struct Workbench {
    scan: Mutex<Option<oneshot::Sender<()>>>,
    grid: tokio::sync::Mutex<Option<Connection>>,
    traffic: TrafficMonitor,
}

fn bad_request(message: impl Into<String>) -> UiError {
    UiError::new(ErrorCode::BadRequest, message)
}

fn link_of(spec: &LinkSpec) -> Result<Link, UiError> {
    spec.to_link().map_err(bad_request)
}

fn millis(ms: u32, what: &str, range: std::ops::RangeInclusive<u32>) -> Result<Duration, UiError> {
    if range.contains(&ms) {
        Ok(Duration::from_millis(u64::from(ms)))
    } else {
        Err(bad_request(format!(
            "{what}: {ms} ms is outside {}-{} ms",
            range.start(),
            range.end()
        )))
    }
}

impl Workbench {
    /// The traffic monitor of the window: the open plant's links, the scans and the grid.
    pub fn traffic(&self) -> &TrafficMonitor {
        &self.traffic
    }

    /// Runs `scan` on its own task, reporting on `channel`; stops the scan that was running. The scan
    /// reports its own progress and result events; this adds the last one: `done`, `failed` or
    /// `cancelled`.
    fn run<F>(&self, channel: Channel<ScanEvent>, scan: F)
    where
        F: std::future::Future<Output = Result<u32, String>> + Send + 'static,
    {
        let (stop_tx, stop_rx) = oneshot::channel();
        if let Some(previous) = self.lock_scan().replace(stop_tx) {
            let _ = previous.send(());
        }
        tauri::async_runtime::spawn(async move {
            let started = Instant::now();
            let last = tokio::select! {
                result = scan => match result {
                    Ok(found) => ScanEvent::Done { found, elapsed_ms: started.elapsed().as_secs_f64() * 1000.0 },
                    Err(message) => ScanEvent::Failed { message },
                },
                _ = stop_rx => ScanEvent::Cancelled,
            };
            let _ = channel.send(last);
        });
    }

    /// Stops the running scan, if any.
    pub fn cancel(&self) {
        if let Some(stop) = self.lock_scan().take() {
            let _ = stop.send(());
        }
    }

    fn lock_scan(&self) -> std::sync::MutexGuard<'_, Option<oneshot::Sender<()>>> {
        self.scan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks each unit id of the range one cheap read.
    pub fn scan_units(
        &self,
        request: &UnitScanRequest,
        channel: Channel<ScanEvent>,
    ) -> Result<(), UiError> {
        let link = link_of(&request.link)?;
        if request.first == 0 || request.last > 247 || request.first > request.last {
            return Err(bad_request(format!(
                "units: {}-{} is not a range within 1-247",
                request.first, request.last
            )));
        }
        let options = UnitScan {
            units: request.first..=request.last,
            timeout: millis(request.timeout_ms, "timeout", 10..=10_000)?,
            pace: millis(request.pace_ms, "pause", 0..=10_000)?,
            monitor: Some(self.traffic.clone()),
        };
        let events = channel.clone();
        self.run(channel, async move {
            let found = scan::scan_units(&link, &options, &mut |p| {
                if let Some(unit) = &p.found {
                    let _ = events.send(ScanEvent::Unit {
                        unit: unit.unit,
                        answer: unit.answer.to_string(),
                        exception: match unit.answer {
                            scan::UnitAnswer::Exception(code) => Some(code),
                            scan::UnitAnswer::Register(_) => None,
                        },
                    });
                }
                let _ = events.send(ScanEvent::Progress {
                    done: u32::from(p.asked),
                    total: u32::from(p.total),
                });
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok(found.len() as u32)
        });
        Ok(())
    }

    /// Finds the readable ranges of one unit's table.
    pub fn scan_ranges(
        &self,
        request: &RangeScanRequest,
        channel: Channel<ScanEvent>,
    ) -> Result<(), UiError> {
        let link = link_of(&request.link)?;
        if request.from > request.to {
            return Err(bad_request(format!(
                "addresses: {}-{} is empty; the first must not be above the last",
                request.from, request.to
            )));
        }
        let options = RangeScan {
            timeout: millis(request.timeout_ms, "timeout", 10..=10_000)?,
            pace: Duration::ZERO,
            monitor: Some(self.traffic.clone()),
        };
        let (unit, table, from, to) = (
            request.unit,
            Table::from(request.table),
            request.from,
            request.to,
        );
        let events = channel.clone();
        self.run(channel, async move {
            let mut requests = 0;
            let ranges = scan::scan_ranges(&link, unit, table, from, to, &options, &mut |p| {
                requests = p.requests;
                let _ = events.send(ScanEvent::Progress {
                    done: p.done,
                    total: p.total,
                });
            })
            .await
            .map_err(|e| e.to_string())?;
            let ranges: Vec<AddressRange> = ranges
                .iter()
                .map(|r| AddressRange {
                    from: *r.start(),
                    to: *r.end(),
                })
                .collect();
            let found = ranges.len() as u32;
            let _ = events.send(ScanEvent::Ranges { ranges, requests });
            Ok(found)
        });
        Ok(())
    }

    /// Tries the common serial settings on a port.
    pub fn probe_serial(
        &self,
        request: &SerialProbeRequest,
        channel: Channel<ScanEvent>,
    ) -> Result<(), UiError> {
        if request.path.trim().is_empty() {
            return Err(bad_request(
                "serial port: empty; choose a port such as /dev/ttyUSB0",
            ));
        }
        let timeout = millis(request.timeout_ms, "timeout", 10..=10_000)?;
        let (path, unit) = (request.path.trim().to_string(), request.unit);
        let events = channel.clone();
        self.run(channel, async move {
            let candidates = SerialSettings::common();
            let results = scan::probe_serial(&path, unit, &candidates, timeout, &mut |p| {
                if p.result.answered() {
                    let s = p.result.settings;
                    let _ = events.send(ScanEvent::Setting {
                        setting: p.result.to_string(),
                        baud: s.baud,
                        parity: s.parity.into(),
                        data_bits: s.data_bits,
                        stop_bits: s.stop_bits,
                    });
                }
                let _ = events.send(ScanEvent::Progress {
                    done: u32::from(p.tried),
                    total: u32::from(p.total),
                });
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok(results.iter().filter(|r| r.answered()).count() as u32)
        });
        Ok(())
    }

    /// Reads a window of registers (or bits) for the grid over the workbench's kept connection
    /// (reopened when the link changed or a failure poisoned it), and decodes it in every order.
    pub async fn read_grid(&self, request: &GridRequest) -> Result<GridView, UiError> {
        let link = link_of(&request.link)?;
        let timeout = millis(request.timeout_ms, "timeout", 10..=10_000)?;
        let table = Table::from(request.table);
        let mut kept = self.grid.lock().await;
        let reuse = kept
            .as_ref()
            .is_some_and(|c| c.is_open() && c.link() == &link);
        if !reuse {
            if let Some(old) = kept.take() {
                old.close().await;
            }
            let opened = Connection::open_with(&link, timeout, Some(&self.traffic))
                .await
                .map_err(|e| UiError::new(ErrorCode::Engine, e.to_string()))?;
            *kept = Some(opened);
        }
        let Some(connection) = kept.as_mut() else {
            return Err(UiError::new(ErrorCode::Engine, "no connection"));
        };
        let started = Instant::now();
        let read = connection
            .read(request.unit, table, request.address, request.count, timeout)
            .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let payload = match read {
            Ok(Ok(payload)) => payload,
            Ok(Err(code)) => {
                return Err(UiError::new(
                    ErrorCode::Engine,
                    format!(
                        "unit {} answered exception {code:02X} ({}) to a read of {} {}-{}",
                        request.unit,
                        exception_name(code),
                        table.name(),
                        request.address,
                        u32::from(request.address) + u32::from(request.count) - 1
                    ),
                ))
            }
            Err(e @ LinkError::InvalidRequest { .. }) => return Err(bad_request(e.to_string())),
            Err(e) => return Err(UiError::new(ErrorCode::Engine, e.to_string())),
        };
        let at = Timestamp::now().0;
        Ok(match payload {
            Payload::Bits(bits) => GridView {
                rows: bits
                    .iter()
                    .enumerate()
                    .map(|(i, &b)| GridRow {
                        address: request.address.saturating_add(i as u16),
                        raw: u16::from(b),
                        f32: Vec::new(),
                    })
                    .collect(),
                selected: Vec::new(),
                latency_ms,
                at,
            },
            Payload::Registers(registers) => {
                let window = decode_window(request.address, &registers);
                GridView {
                    rows: window.iter().map(grid_row).collect(),
                    selected: request
                        .selected
                        .and_then(|s| window.iter().find(|d| d.address == s))
                        .map(every_order)
                        .unwrap_or_default(),
                    latency_ms,
                    at,
                }
            }
        })
    }
}

/// A float as the grid shows it: the shortest text that reads back the same value, in scientific
/// notation outside 0.0001-10^10, so the denormal a wrong word order makes of a small number reads
/// `4.595e-42` instead of forty zeros.
fn float_text<F>(value: F) -> String
where
    F: Into<f64> + Copy + std::fmt::Display + std::fmt::LowerExp,
{
    let magnitude = value.into().abs();
    if magnitude.is_finite() && magnitude != 0.0 && !(1e-4..1e10).contains(&magnitude) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// A register's row: the raw value and its pair as f32 in the four orders.
fn grid_row(d: &RegisterDecodings) -> GridRow {
    GridRow {
        address: d.address,
        raw: d.raw,
        f32: pair_readings(d)
            .filter(|r| r.number == NumberType::F32)
            .collect(),
    }
}

/// Every 32- and 64-bit reading of the registers starting at one address.
fn every_order(d: &RegisterDecodings) -> Vec<Decoded> {
    pair_readings(d).chain(quad_readings(d)).collect()
}

/// One reading of the registers at `address` as the page shows it.
fn reading(
    address: u16,
    pattern: &str,
    word_order: Option<&str>,
) -> impl Fn(NumberType, String, bool) -> Decoded {
    let pattern = pattern.to_string();
    let word_order = word_order.map(str::to_string);
    move |number, text, plausible| Decoded {
        address,
        number,
        pattern: pattern.clone(),
        word_order: word_order.clone(),
        text,
        plausible,
    }
}

/// f32, u32 and i32 of the register and the next, in each of the four word orders.
fn pair_readings(d: &RegisterDecodings) -> impl Iterator<Item = Decoded> + '_ {
    d.pairs.iter().flat_map(move |p| {
        let of = reading(d.address, p.order.name(), Some(p.order.name()));
        [
            of(NumberType::F32, float_text(p.f32.value), p.f32.plausible),
            of(NumberType::U32, p.u32.value.to_string(), p.u32.plausible),
            of(NumberType::I32, p.i32.value.to_string(), p.i32.plausible),
        ]
    })
}

/// f64, u64 and i64 of four registers in each of the eight byte patterns (four of them plant-file orders).
fn quad_readings(d: &RegisterDecodings) -> impl Iterator<Item = Decoded> + '_ {
    d.quads.iter().flat_map(move |q| {
        let of = reading(
            d.address,
            q.order.pattern(),
            q.order.word_order().map(|o| o.name()),
        );
        [
            of(NumberType::F64, float_text(q.f64.value), q.f64.plausible),
            of(NumberType::U64, q.u64.value.to_string(), q.u64.plausible),
            of(NumberType::I64, q.i64.value.to_string(), q.i64.plausible),
        ]
    })
}

/// Reads the device's identification objects (FC 43/14).
pub async fn identify(
    spec: &LinkSpec,
    unit: u8,
    timeout_ms: u32,
    monitor: &TrafficMonitor,
) -> Result<Vec<IdentityObject>, UiError> {
    let link = link_of(spec)?;
    let timeout = millis(timeout_ms, "timeout", 10..=10_000)?;
    let identity = ident::identify_with(&link, unit, timeout, Some(monitor))
        .await
        .map_err(|e| UiError::new(ErrorCode::Engine, e.to_string()))?;
    Ok(identity
        .objects
        .into_iter()
        .map(|o| IdentityObject {
            id: o.id,
            name: o.name,
            value: o.value,
        })
        .collect())
}

/// The machine's serial ports.
pub fn serial_ports() -> Vec<SerialPortView> {
    ports::serial_ports()
        .into_iter()
        .map(|p| SerialPortView {
            path: p.path,
            usb: p.usb.map(|u| UsbAdapter {
                vendor_id: format!("{:04x}", u.vendor_id),
                product_id: format!("{:04x}", u.product_id),
                manufacturer: u.manufacturer,
                product: u.product,
                serial_number: u.serial_number,
            }),
        })
        .collect()
}

/// The monitor's frames after `since`, as the page shows them.
pub fn traffic_view(monitor: &TrafficMonitor, since: u64) -> TrafficView {
    TrafficView {
        enabled: monitor.is_enabled(),
        frames: monitor
            .snapshot(since)
            .into_iter()
            .map(|f| FrameView {
                seq: f.seq,
                at: f.time_ms,
                link: f.link,
                request: f.direction == Direction::Request,
                unit: f.unit,
                function: f.function,
                address: f.address,
                count: f.count,
                exception: f.exception,
                latency_ms: f.latency_us.map(|us| us as f64 / 1000.0),
                hex: f.bytes,
                crc_ok: f.crc_ok,
            })
            .collect(),
        dropped: monitor.dropped(),
    }
}

#[cfg(test)]
mod tests {
    use super::{every_order, float_text, grid_row};
    use crate::desktop::wire::NumberType;
    use plantwatch_modbus::orders::decode_window;

    #[test]
    fn a_cdab_float_reads_right_in_its_row_and_in_every_order_of_its_register() {
        // 42.5 = 0x422A0000, stored low word first (CDAB) at 3-4; 0x0000 then 0x422A.
        let window = decode_window(2, &[7, 0x0000, 0x422A, 0, 0]);
        let row = grid_row(&window[1]);
        assert_eq!(row.address, 3);
        let f32s: Vec<(&str, &str, bool)> = row
            .f32
            .iter()
            .map(|d| (d.pattern.as_str(), d.text.as_str(), d.plausible))
            .collect();
        assert!(f32s.contains(&("CDAB", "42.5", true)), "{f32s:?}");
        assert_eq!(
            f32s.iter().filter(|(_, _, plausible)| *plausible).count(),
            1
        );

        let all = every_order(&window[1]);
        let count = |n: NumberType| all.iter().filter(|d| d.number == n).count();
        assert_eq!(
            (
                count(NumberType::F32),
                count(NumberType::U32),
                count(NumberType::I32)
            ),
            (4, 4, 4)
        );
        assert_eq!(
            (
                count(NumberType::F64),
                count(NumberType::U64),
                count(NumberType::I64)
            ),
            (8, 8, 8)
        );
        assert!(all.iter().all(|d| d.address == 3));
        // The 64-bit patterns that are no plant-file order carry none.
        let f64_orders = all.iter().filter(|d| d.number == NumberType::F64);
        assert_eq!(f64_orders.filter(|d| d.word_order.is_some()).count(), 4);
    }

    #[test]
    fn a_float_reads_as_its_own_digits_and_extremes_in_scientific_notation() {
        assert_eq!(float_text(42.545_235_f32), "42.545235");
        assert_eq!(float_text(0.0_f32), "0");
        assert_eq!(float_text(f32::from_bits(0x0000_0CD3)), "4.6e-42");
        assert_eq!(float_text(-1.5e12_f64), "-1.5e12");
        assert_eq!(float_text(f32::NAN), "NaN");
    }
}
