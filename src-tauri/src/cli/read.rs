//! `plantwatch read`: the technician's one-shot read, like mbpoll.
//!
//! Either a link on the command line and a range to read:
//!   `plantwatch read tcp://10.0.0.5:502 --unit 1 --table holding --address 0 --count 10 --type f32 --order CDAB`
//! printing one line per value: address, raw registers in hex, decoded value;
//! or every tag of one configured device: `plantwatch read --config plant.toml --device plc`.
//!
//! Exit codes: 0 every value read; 1 the link failed or the device refused a read (exception);
//! 2 bad arguments or config.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use plantwatch_core::{Device, Link, Table, Tag, ValueKind, ValueType, WordOrder};
use plantwatch_modbus::link::exception_name;
use plantwatch_modbus::plan::{MAX_BITS, MAX_REGISTERS};
use plantwatch_modbus::{
    decode_bit, decode_registers, plan_device, read_block, BadRanges, Connection, LinkError,
    Payload,
};

use super::link_args::{parse_link, SerialArgs};

/// Read a device once.
#[derive(clap::Args)]
pub struct Args {
    /// The link: tcp://HOST[:PORT], rtu-over-tcp://HOST[:PORT] (port 502 when left out), or rtu:SERIAL_PORT.
    #[arg(required_unless_present = "config", conflicts_with_all = ["config", "device"])]
    pub link: Option<String>,
    /// Unit id (slave address).
    #[arg(long, default_value_t = 1)]
    pub unit: u8,
    /// coil | discrete | input | holding.
    #[arg(long, default_value = "holding")]
    pub table: String,
    /// First 0-based protocol address.
    #[arg(long, default_value_t = 0)]
    pub address: u16,
    /// Number of values (each spans the registers of its type).
    #[arg(long, default_value_t = 1)]
    pub count: u16,
    /// bool | u16 | i16 | u32 | i32 | u64 | i64 | f32 | f64 | bit | string (u16 for registers, bool for bits).
    #[arg(long = "type")]
    pub value_type: Option<String>,
    /// Register order for wide types: ABCD | CDAB | BADC | DCBA, or `all` to show the four side by side.
    #[arg(long, default_value = "ABCD")]
    pub order: String,
    /// For --type bit: the bit of the register, 0 = least significant.
    #[arg(long)]
    pub bit: Option<u8>,
    /// For --type string: registers per string.
    #[arg(long)]
    pub length: Option<u16>,
    /// Engineering value = raw * scale + offset.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Added after scaling (see --scale).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub offset: f64,
    #[command(flatten)]
    pub serial: SerialArgs,
    /// How long to wait for the connection and for each reply, 1 to 60000 ms (as a device's timeout_ms).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,
    /// Read every tag of a configured device instead (with --device).
    #[arg(long, requires = "device")]
    pub config: Option<PathBuf>,
    /// The device id in --config.
    #[arg(long, requires = "config")]
    pub device: Option<String>,
}

/// Why `read` stopped: bad input (exit 2) or a failed read (exit 1).
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(plantwatch_config::ConfigErrors),
    #[error("{0}")]
    Link(LinkError),
    #[error("{what}: exception {code:02X} ({})", exception_name(*code))]
    Exception { what: String, code: u8 },
    #[error("{failed} of {total} tags could not be read")]
    SomeTags { failed: usize, total: usize },
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("plantwatch read: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = match (&args.config, &args.device) {
        (Some(config), Some(device)) => {
            let (config, device) = (config.clone(), device.clone());
            runtime.block_on(read_device(
                &config,
                &device,
                Duration::from_millis(args.timeout_ms),
            ))
        }
        _ => match Range::from_args(&args) {
            Ok(range) => runtime.block_on(read_range(range)),
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(ReadError::Config(errors)) => {
            eprintln!("{errors}");
            ExitCode::from(2)
        }
        Err(e @ ReadError::Usage(_)) => {
            eprintln!("plantwatch read: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("plantwatch read: {e}");
            ExitCode::from(1)
        }
    }
}

/// A validated command-line read: a link, a unit, and the values to read.
struct Range {
    link: Link,
    unit: u8,
    /// Decoding recipe; its address is the first value's.
    tag: Tag,
    count: u16,
    /// Decode in all four orders side by side.
    all_orders: bool,
    timeout: Duration,
}

impl Range {
    fn from_args(args: &Args) -> Result<Range, ReadError> {
        let usage = |m: String| ReadError::Usage(m);
        let link_text = args
            .link
            .as_deref()
            .ok_or_else(|| usage("give a link or --config and --device".into()))?;
        let link = parse_link(link_text, &args.serial).map_err(usage)?;
        let table: Table = args
            .table
            .parse()
            .map_err(|e| usage(format!("--table: {e}")))?;
        let value_type = parse_type(args, table)?;
        let (order, all_orders) = match args.order.to_ascii_uppercase().as_str() {
            "ALL" => (WordOrder::Abcd, true),
            name => {
                let order: WordOrder = name
                    .parse()
                    .map_err(|e| usage(format!("--order: {e} (or all)")))?;
                (order, false)
            }
        };
        if args.count == 0 {
            return Err(usage("--count must be at least 1".into()));
        }
        let width = if table.is_bits() {
            1
        } else {
            u32::from(value_type.registers())
        };
        let end = u32::from(args.address) + u32::from(args.count) * width;
        if end > 0x1_0000 {
            return Err(usage(format!(
                "{} values from address {} run past 65535",
                args.count, args.address
            )));
        }
        let tag = Tag::new("value", table, args.address, value_type)
            .with_order(order)
            .with_scale(args.scale)
            .with_offset(args.offset);
        let timeout = Duration::from_millis(args.timeout_ms.max(1));
        Ok(Range {
            link,
            unit: args.unit,
            tag,
            count: args.count,
            all_orders,
            timeout,
        })
    }
}

fn parse_type(args: &Args, table: Table) -> Result<ValueType, ReadError> {
    let usage = |m: String| ReadError::Usage(m);
    let kind = match args.value_type.as_deref() {
        Some(name) => name
            .parse::<ValueKind>()
            .map_err(|e| usage(format!("--type: {e}")))?,
        None if table.is_bits() => ValueKind::Bool,
        None => ValueKind::U16,
    };
    let value_type = match (kind, kind.plain_type()) {
        (_, Some(plain)) => plain,
        (ValueKind::Bit, None) => match args.bit {
            Some(bit) if bit <= 15 => ValueType::Bit(bit),
            _ => return Err(usage("--type bit needs --bit 0-15".into())),
        },
        (_, None) => match args.length.and_then(|n| u8::try_from(n).ok()) {
            Some(registers @ 1..=125) => ValueType::String { registers },
            _ => {
                return Err(usage(
                    "--type string needs --length 1-125 (registers)".into(),
                ))
            }
        },
    };
    if table.is_bits() && value_type != ValueType::Bool {
        return Err(usage(format!(
            "the {} table holds bits: --type bool only",
            table.name()
        )));
    }
    Ok(value_type)
}

async fn read_range(range: Range) -> Result<(), ReadError> {
    let mut connection = Connection::open(&range.link, range.timeout)
        .await
        .map_err(ReadError::Link)?;
    let table = range.tag.table;
    let width = range.tag.width();
    let limit = if table.is_bits() {
        MAX_BITS
    } else {
        MAX_REGISTERS
    };
    // Whole values per request, as many as the protocol allows.
    let per_request = (limit / width).max(1);
    let mut done = 0u16;
    while done < range.count {
        let values = per_request.min(range.count - done);
        let start = range.tag.address + done * width;
        let what = format!(
            "unit {} {} {}..{}",
            range.unit,
            table.name(),
            start,
            u32::from(start) + u32::from(values * width)
        );
        let payload = connection
            .read(range.unit, table, start, values * width, range.timeout)
            .await
            .map_err(ReadError::Link)?
            .map_err(|code| ReadError::Exception { what, code })?;
        for i in 0..values {
            let address = start + i * width;
            let slot = usize::from(i * width)..usize::from((i + 1) * width);
            println!("{}", value_line(&range, address, &payload, slot));
        }
        done += values;
    }
    connection.close().await;
    Ok(())
}

/// `ADDRESS  RAW...  VALUE`, e.g. `   2  0x47F1 0x2000  123456`; with `--order all`, one decoding per
/// order: `ABCD=123456 CDAB=... BADC=... DCBA=...`.
fn value_line(
    range: &Range,
    address: u16,
    payload: &Payload,
    slot: std::ops::Range<usize>,
) -> String {
    match payload {
        Payload::Bits(bits) => {
            let bit = bits[slot.start];
            format!(
                "{address:>5}  {}  {}",
                u8::from(bit),
                decode_bit(&range.tag, bit)
            )
        }
        Payload::Registers(regs) => {
            let regs = &regs[slot];
            let raw: Vec<String> = regs.iter().map(|r| format!("0x{r:04X}")).collect();
            let decoded = |order: WordOrder| {
                let tag = range.tag.clone().with_order(order);
                match decode_registers(&tag, regs) {
                    Ok(value) => show(&value),
                    Err(e) => format!("({e})"),
                }
            };
            let value = if range.all_orders {
                WordOrder::ALL
                    .iter()
                    .map(|&o| format!("{}={}", o.name(), decoded(o)))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                decoded(range.tag.order)
            };
            format!("{address:>5}  {}  {value}", raw.join(" "))
        }
    }
}

/// Values as on screen: text quoted (it may hold spaces or be empty), very large or small numbers in
/// exponent form (a wrong word order gives such numbers, and 40 digits help nobody), the rest plain.
fn show(value: &plantwatch_core::Value) -> String {
    match value {
        plantwatch_core::Value::Text(text) => format!("{:?}", text.as_ref()),
        plantwatch_core::Value::Number(n)
            if *n != 0.0 && n.is_finite() && (n.abs() < 1e-6 || n.abs() >= 1e15) =>
        {
            format!("{n:e}")
        }
        other => other.to_string(),
    }
}

async fn read_device(
    config: &std::path::Path,
    device_id: &str,
    timeout: Duration,
) -> Result<(), ReadError> {
    let plant = plantwatch_config::load(config).map_err(ReadError::Config)?;
    let device: &Device = plant
        .devices
        .iter()
        .find(|d| d.id == device_id)
        .ok_or_else(|| {
            let known: Vec<&str> = plant.devices.iter().map(|d| d.id.as_str()).collect();
            ReadError::Usage(format!(
                "no device '{device_id}' in {} (devices: {})",
                config.display(),
                known.join(", ")
            ))
        })?;
    let timeout = timeout.max(device.timeout);
    let mut connection = Connection::open(&device.link, timeout)
        .await
        .map_err(ReadError::Link)?;
    let mut bad = BadRanges::new();
    let mut lines: Vec<(u32, String, bool)> = Vec::new();
    for block in plan_device(device, &bad) {
        for read in read_block(&mut connection, device, &block, &mut bad, timeout)
            .await
            .map_err(ReadError::Link)?
        {
            for &position in &read.block.tags {
                let tag = &device.tags[position as usize];
                lines.push((
                    position,
                    tag_line(device, tag, &read.block, &read.result),
                    read.result.is_err(),
                ));
            }
        }
    }
    connection.close().await;
    // Config order reads best; the plan groups by table.
    lines.sort_by_key(|(position, _, _)| *position);
    let failed = lines.iter().filter(|(_, _, failed)| *failed).count();
    for (_, line, _) in &lines {
        println!("{line}");
    }
    if failed > 0 {
        return Err(ReadError::SomeTags {
            failed,
            total: lines.len(),
        });
    }
    Ok(())
}

/// `device/tag  table address  RAW...  VALUE [unit]`, or `... exception 02 (illegal data address)`.
fn tag_line(
    device: &Device,
    tag: &Tag,
    block: &plantwatch_modbus::Block,
    result: &Result<Payload, u8>,
) -> String {
    let head = format!(
        "{}/{}  {} {}",
        device.id,
        tag.id(),
        tag.table.name(),
        tag.address
    );
    let unit = tag.unit().map(|u| format!(" {u}")).unwrap_or_default();
    let Some(slot) = block.slot(tag) else {
        return format!("{head}  (not in its block)");
    };
    match result {
        Err(code) => format!("{head}  exception {code:02X} ({})", exception_name(*code)),
        Ok(Payload::Bits(bits)) => {
            let bit = bits[slot.start];
            format!("{head}  {}  {}{unit}", u8::from(bit), decode_bit(tag, bit))
        }
        Ok(Payload::Registers(regs)) => {
            let regs = &regs[slot];
            let raw: Vec<String> = regs.iter().map(|r| format!("0x{r:04X}")).collect();
            match decode_registers(tag, regs) {
                Ok(value) => format!("{head}  {}  {}{unit}", raw.join(" "), show(&value)),
                Err(e) => format!("{head}  {}  ({e})", raw.join(" ")),
            }
        }
    }
}
