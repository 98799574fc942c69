//! The commissioning scanner: which unit ids answer on a link, which addresses of a table a device
//! lets us read, and which serial settings a device on a serial line answers to.
//!
//! Every scan opens its own [`Connection`] and talks one request at a time. Cancelling a scan is
//! dropping its future: the connection (socket or serial port) is dropped with it and closed, so
//! nothing is left half-open and no late reply can reach a later scan.
//!
//! - [`scan_units`]: one cheap read (holding register 0, one register) per unit id. An answer, even an
//!   exception, proves a device is there; exceptions 0A and 0B come from a gateway and mean that no
//!   device answered behind it. A timeout poisons the connection (RTU has no transaction id to tell a
//!   late reply from the next one), so it is reopened before the next unit.
//! - [`scan_ranges`]: reads the table in blocks of the protocol maximum and splits a refused block as
//!   the engine's [`read_block`] does, so a 10,000-address table costs a few hundred requests, not ten
//!   thousand. A device that refuses large reads (exception 03) gets a learned cap on the block size.
//! - [`probe_serial`]: the unit read again under each candidate serial setting. A pseudo-terminal
//!   ignores the baud rate and parity, so on a socat pty every candidate answers: only a real line
//!   tells the settings apart.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use plantwatch_core::{Device, Link, Parity, SerialLine, Table, Tag, ValueType};
use serde::Serialize;

use crate::link::{exception_name, Connection, LinkError, Payload};
use crate::plan::{block_limit, BadRanges, Block, MAX_REGISTERS};
use crate::reader::read_block;
use crate::traffic::TrafficMonitor;

/// Opening a connection may take longer than a reply: a TCP handshake, a USB adapter waking up.
const MIN_OPEN_TIMEOUT: Duration = Duration::from_secs(1);

/// How to scan unit ids.
#[derive(Debug, Clone)]
pub struct UnitScan {
    /// The unit ids to ask, 1-247 by default (0 is broadcast, 248-255 reserved).
    pub units: RangeInclusive<u8>,
    /// How long to wait for each unit's reply.
    pub timeout: Duration,
    /// Silence between two requests, for slow devices or busy gateways.
    pub pace: Duration,
    /// Where the scan's frames are recorded, if anywhere (the window's traffic panel).
    pub monitor: Option<TrafficMonitor>,
}

impl Default for UnitScan {
    fn default() -> Self {
        UnitScan {
            units: 1..=247,
            timeout: Duration::from_millis(200),
            pace: Duration::ZERO,
            monitor: None,
        }
    }
}

/// What a present device answered to the cheap read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitAnswer {
    /// The value of holding register 0.
    Register(u16),
    /// An exception code (a device that refuses the read is still a device).
    Exception(u8),
}

/// A unit id that answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitFound {
    pub unit: u8,
    pub answer: UnitAnswer,
}

impl fmt::Display for UnitAnswer {
    /// `holding 0 = 0x0001 (1)` or `exception 02 illegal data address`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitAnswer::Register(value) => write!(f, "holding 0 = 0x{value:04X} ({value})"),
            UnitAnswer::Exception(code) => {
                write!(f, "exception {code:02X} {}", exception_name(*code))
            }
        }
    }
}

impl fmt::Display for UnitFound {
    /// `unit 1: holding 0 = 0x0001 (1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unit {}: {}", self.unit, self.answer)
    }
}

/// Progress of a unit scan, reported after each unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitProgress {
    /// Units asked so far.
    pub asked: u16,
    /// Units to ask in all.
    pub total: u16,
    /// The unit just asked, when it answered.
    pub found: Option<UnitFound>,
}

/// Asks each unit id of `options.units` for holding register 0 and lists those that answered.
/// The error is the link failing to open (or to reopen after a timeout); units that stay silent,
/// answer garbage or answer through a gateway that nobody is behind (0A, 0B) are simply not found.
pub async fn scan_units(
    link: &Link,
    options: &UnitScan,
    progress: &mut (dyn FnMut(UnitProgress) + Send),
) -> Result<Vec<UnitFound>, LinkError> {
    let total = options.units.clone().count() as u16;
    let open_timeout = options.timeout.max(MIN_OPEN_TIMEOUT);
    let mut connection =
        Connection::open_with(link, open_timeout, options.monitor.as_ref()).await?;
    let mut found = Vec::new();
    for (asked, unit) in options.units.clone().enumerate() {
        if asked > 0 && !options.pace.is_zero() {
            tokio::time::sleep(options.pace).await;
        }
        if !connection.is_open() {
            connection =
                Connection::open_with(link, open_timeout, options.monitor.as_ref()).await?;
        }
        let answer = ask_unit(&mut connection, unit, options.timeout).await?;
        let this = answer.map(|answer| UnitFound { unit, answer });
        if let Some(unit_found) = &this {
            found.push(unit_found.clone());
        }
        progress(UnitProgress {
            asked: asked as u16 + 1,
            total,
            found: this,
        });
    }
    connection.close().await;
    Ok(found)
}

/// The cheap read. `Ok(None)` when nobody answered (the connection may then be poisoned).
async fn ask_unit(
    connection: &mut Connection,
    unit: u8,
    timeout: Duration,
) -> Result<Option<UnitAnswer>, LinkError> {
    match connection.read(unit, Table::Holding, 0, 1, timeout).await {
        Ok(Ok(Payload::Registers(values))) => Ok(values.first().copied().map(UnitAnswer::Register)),
        Ok(Ok(Payload::Bits(_))) => Ok(None),
        // The gateway answered for a device that did not.
        Ok(Err(0x0A | 0x0B)) => Ok(None),
        Ok(Err(code)) => Ok(Some(UnitAnswer::Exception(code))),
        Err(LinkError::InvalidRequest { reason }) => Err(LinkError::InvalidRequest { reason }),
        // Silence, garbage (another baud rate, a collision) or a dropped connection: nobody here.
        Err(_) => Ok(None),
    }
}

/// How to scan a table's addresses.
#[derive(Debug, Clone)]
pub struct RangeScan {
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// Silence between two blocks.
    pub pace: Duration,
    /// Where the scan's frames are recorded, if anywhere.
    pub monitor: Option<TrafficMonitor>,
}

impl Default for RangeScan {
    fn default() -> Self {
        RangeScan {
            timeout: Duration::from_millis(1000),
            pace: Duration::ZERO,
            monitor: None,
        }
    }
}

/// Progress of a range scan, reported after each block of the protocol maximum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RangeProgress {
    /// Addresses settled so far.
    pub done: u32,
    /// Addresses to settle in all.
    pub total: u32,
    /// Requests sent so far.
    pub requests: u32,
    /// The readable ranges found so far (the last may still grow).
    pub found: Vec<RangeInclusive<u16>>,
}

/// The readable ranges of `table` on `unit` between `from` and `to` (both included), in address
/// order, adjacent readable addresses merged. An address is readable when a read that holds it is
/// answered with data; addresses refused with any exception (02 unmapped, 03 refused, 01 table not
/// implemented) are not. The error is a link failure (including a timeout: a device that stays silent
/// for unmapped addresses cannot be scanned this way).
pub async fn scan_ranges(
    link: &Link,
    unit: u8,
    table: Table,
    from: u16,
    to: u16,
    options: &RangeScan,
    progress: &mut (dyn FnMut(RangeProgress) + Send),
) -> Result<Vec<RangeInclusive<u16>>, LinkError> {
    if from > to {
        return Err(LinkError::InvalidRequest {
            reason: format!("the range {from}-{to} is empty"),
        });
    }
    let device = scan_device(link, unit, table, from, to, options.timeout);
    let total = u32::from(to) - u32::from(from) + 1;
    let mut connection = Connection::open_with(
        link,
        options.timeout.max(MIN_OPEN_TIMEOUT),
        options.monitor.as_ref(),
    )
    .await?;
    let mut bad = BadRanges::new();
    let mut readable: Vec<(u32, u32)> = Vec::new();
    let mut requests = 0u32;
    let end = u32::from(to) + 1;
    let mut start = u32::from(from);
    while start < end {
        if start > u32::from(from) && !options.pace.is_zero() {
            tokio::time::sleep(options.pace).await;
        }
        // The cap learnt from earlier blocks (exception 03 on large reads) applies from here on.
        let stop = (start + u32::from(block_limit(&device, table, &bad))).min(end);
        let block = Block {
            table,
            start: start as u16,
            count: (stop - start) as u16,
            tags: (start - u32::from(from)..stop - u32::from(from)).collect(),
        };
        let reads = read_block(&mut connection, &device, &block, &mut bad, options.timeout).await?;
        // Every split sends both halves: a tree of n reads answered took 2n - 1 requests.
        requests += 2 * reads.len() as u32 - 1;
        for read in reads.iter().filter(|read| read.result.is_ok()) {
            merge(&mut readable, u32::from(read.block.start), read.block.end());
        }
        start = stop;
        progress(RangeProgress {
            done: start - u32::from(from),
            total,
            requests,
            found: inclusive(&readable),
        });
    }
    connection.close().await;
    Ok(inclusive(&readable))
}

/// `[lo, hi)` ranges within one table as inclusive address ranges.
fn inclusive(ranges: &[(u32, u32)]) -> Vec<RangeInclusive<u16>> {
    ranges
        .iter()
        .map(|&(lo, hi)| lo as u16..=(hi - 1) as u16)
        .collect()
}

/// A device with one single-item tag per address of the range, so the engine's block reader can
/// split a refused block down to single addresses.
fn scan_device(
    link: &Link,
    unit: u8,
    table: Table,
    from: u16,
    to: u16,
    timeout: Duration,
) -> Device {
    let value_type = if table.is_bits() {
        ValueType::Bool
    } else {
        ValueType::U16
    };
    Device {
        id: "scan".into(),
        name: None,
        link: link.clone(),
        unit,
        poll_period: Duration::from_secs(1),
        timeout,
        max_block: MAX_REGISTERS,
        max_gap: 0,
        tags: (from..=to)
            .map(|address| Tag::new(&format!("a{address}"), table, address, value_type))
            .collect(),
    }
}

/// Adds `[lo, hi)` to sorted, disjoint ranges that arrive in address order, joining a range it touches.
fn merge(ranges: &mut Vec<(u32, u32)>, lo: u32, hi: u32) {
    match ranges.last_mut() {
        Some(last) if last.1 >= lo => last.1 = last.1.max(hi),
        _ => ranges.push((lo, hi)),
    }
}

/// Ranges as the technician writes them: `holding 0-15, 40-59`; a single address alone (`7`).
pub fn describe_ranges(table: Table, ranges: &[RangeInclusive<u16>]) -> String {
    if ranges.is_empty() {
        return format!("{} (nothing readable)", table.name());
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|r| {
            if r.start() == r.end() {
                r.start().to_string()
            } else {
                format!("{}-{}", r.start(), r.end())
            }
        })
        .collect();
    format!("{} {}", table.name(), parts.join(", "))
}

/// One serial setting to try: baud rate, parity, data and stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialSettings {
    pub baud: u32,
    pub parity: Parity,
    /// 7 or 8.
    pub data_bits: u8,
    /// 1 or 2.
    pub stop_bits: u8,
}

impl SerialSettings {
    /// The settings most devices ship with: 9600 to 115200 baud, 8 data bits, no parity or even or odd
    /// parity, one stop bit (8N1 is not what the standard asks, 8N2, but what most devices do).
    pub fn common() -> Vec<SerialSettings> {
        [9600, 19200, 38400, 57600, 115200]
            .into_iter()
            .flat_map(|baud| {
                [Parity::Even, Parity::None, Parity::Odd].map(|parity| SerialSettings {
                    baud,
                    parity,
                    data_bits: 8,
                    stop_bits: 1,
                })
            })
            .collect()
    }

    /// The serial line on `path` with these settings.
    pub fn line(&self, path: &str) -> SerialLine {
        SerialLine {
            path: path.to_string(),
            baud: self.baud,
            parity: self.parity,
            data_bits: self.data_bits,
            stop_bits: self.stop_bits,
        }
    }
}

impl fmt::Display for SerialSettings {
    /// `19200 8E1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}{}",
            self.baud,
            self.data_bits,
            self.parity.letter(),
            self.stop_bits
        )
    }
}

impl Serialize for SerialSettings {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let parity = match self.parity {
            Parity::None => "none",
            Parity::Even => "even",
            Parity::Odd => "odd",
        };
        let mut s = serializer.serialize_struct("SerialSettings", 4)?;
        s.serialize_field("baud", &self.baud)?;
        s.serialize_field("parity", parity)?;
        s.serialize_field("data_bits", &self.data_bits)?;
        s.serialize_field("stop_bits", &self.stop_bits)?;
        s.end()
    }
}

/// What one serial setting got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub settings: SerialSettings,
    pub outcome: ProbeOutcome,
}

/// The unit's answer under one setting, or why there was none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    Answered(UnitAnswer),
    /// Silence or garbage.
    NoAnswer,
    /// The port would not take these settings (some adapters and pseudo-terminals refuse parity).
    PortRefused(String),
}

impl ProbeResult {
    /// True when the unit answered under this setting.
    pub fn answered(&self) -> bool {
        matches!(self.outcome, ProbeOutcome::Answered(_))
    }
}

impl fmt::Display for ProbeResult {
    /// `19200 8E1: holding 0 = 0x0001 (1)`, `9600 8N1: no answer`, `9600 8O1: the port refused: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            ProbeOutcome::Answered(answer) => write!(f, "{}: {answer}", self.settings),
            ProbeOutcome::NoAnswer => write!(f, "{}: no answer", self.settings),
            ProbeOutcome::PortRefused(reason) => {
                write!(f, "{}: the port refused it: {reason}", self.settings)
            }
        }
    }
}

/// Progress of a serial probe, reported after each setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeProgress {
    pub tried: u16,
    pub total: u16,
    pub result: ProbeResult,
}

/// Opens the serial port `path` under each of `candidates` in turn and asks `unit` for holding
/// register 0; returns every setting with what it got (answered first is not best: a wrong parity can
/// still pass a frame now and then, so the caller sees them all). A setting the port refuses is
/// reported as such; the error is the port refusing every setting (no such port, busy).
pub async fn probe_serial(
    path: &str,
    unit: u8,
    candidates: &[SerialSettings],
    timeout: Duration,
    progress: &mut (dyn FnMut(ProbeProgress) + Send),
) -> Result<Vec<ProbeResult>, LinkError> {
    let total = candidates.len() as u16;
    let mut results = Vec::with_capacity(candidates.len());
    let mut first_refusal = None;
    for (tried, settings) in candidates.iter().enumerate() {
        let link = Link::Rtu(settings.line(path));
        let outcome = match Connection::open(&link, timeout.max(MIN_OPEN_TIMEOUT)).await {
            Ok(mut connection) => {
                let answer = ask_unit(&mut connection, unit, timeout).await?;
                // Closed before the next setting opens the port again.
                connection.close().await;
                answer.map_or(ProbeOutcome::NoAnswer, ProbeOutcome::Answered)
            }
            Err(e) => {
                let reason = e.to_string();
                first_refusal.get_or_insert(e);
                ProbeOutcome::PortRefused(reason)
            }
        };
        let result = ProbeResult {
            settings: *settings,
            outcome,
        };
        results.push(result.clone());
        progress(ProbeProgress {
            tried: tried as u16 + 1,
            total,
            result,
        });
    }
    match first_refusal {
        Some(e)
            if results
                .iter()
                .all(|r| matches!(r.outcome, ProbeOutcome::PortRefused(_))) =>
        {
            Err(e)
        }
        _ => Ok(results),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_reads_merge_into_one_range() {
        let mut ranges = Vec::new();
        merge(&mut ranges, 0, 10);
        merge(&mut ranges, 10, 16);
        merge(&mut ranges, 40, 60);
        assert_eq!(ranges, vec![(0, 16), (40, 60)]);
    }

    #[test]
    fn ranges_read_as_the_technician_writes_them() {
        assert_eq!(
            describe_ranges(Table::Holding, &[0..=15, 40..=59, 70..=70]),
            "holding 0-15, 40-59, 70"
        );
        assert_eq!(describe_ranges(Table::Coil, &[]), "coil (nothing readable)");
    }

    #[test]
    fn answers_print_as_the_cli_shows_them() {
        let found = UnitFound {
            unit: 1,
            answer: UnitAnswer::Register(1),
        };
        assert_eq!(found.to_string(), "unit 1: holding 0 = 0x0001 (1)");
        let refused = UnitFound {
            unit: 11,
            answer: UnitAnswer::Exception(2),
        };
        assert_eq!(
            refused.to_string(),
            "unit 11: exception 02 illegal data address"
        );
    }

    #[test]
    fn the_common_settings_are_five_speeds_in_three_parities() {
        let common = SerialSettings::common();
        assert_eq!(common.len(), 15);
        assert_eq!(common[0].to_string(), "9600 8E1");
        assert_eq!(common[14].to_string(), "115200 8O1");
    }
}
