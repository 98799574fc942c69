//! `plantwatch scan`: find what is on a link, for commissioning.
//!
//! - `plantwatch scan LINK [--units 1-247] [--timeout-ms 200] [--pace-ms 0] [--identify]`: one line per
//!   unit that answered (`unit 1: holding 0 = 0x0001 (1)`), with `--identify` its identification
//!   objects below it;
//! - `plantwatch scan LINK --unit N [--table holding] [--from 0] [--to 9999]`: the readable ranges
//!   (`holding 0-15, 40-59`), and on stderr how many requests it took;
//! - `plantwatch scan LINK --unit N --identify`: the device's identification objects;
//! - `plantwatch scan rtu:PATH --baud auto [--unit N]`: the common serial settings, each with what it got;
//! - `plantwatch scan --ports`: the machine's serial ports.
//!
//! Exit codes: 0 something answered (or a port is listed), 1 nothing did (or the link failed),
//! 2 bad arguments.

use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use plantwatch_core::{Link, Table};
use plantwatch_modbus::scan::describe_ranges;
use plantwatch_modbus::{
    identify, probe_serial, scan_ranges, scan_units, serial_ports, IdentifyError, LinkError,
    RangeScan, SerialSettings, UnitScan,
};

use super::link_args::{parse_link, parse_link_with_baud, Baud, SerialArgs};

/// Find devices on a link.
#[derive(clap::Args)]
pub struct Args {
    /// The link: tcp://HOST[:PORT], rtu-over-tcp://HOST[:PORT] (port 502 when left out), or rtu:SERIAL_PORT.
    #[arg(required_unless_present = "ports", conflicts_with = "ports")]
    pub link: Option<String>,
    /// List the machine's serial ports instead (pseudo-terminals are not listed: type their path).
    #[arg(long)]
    pub ports: bool,
    /// Unit ids to ask: FIRST-LAST or one id, within 1-247.
    #[arg(long, default_value = "1-247")]
    pub units: String,
    /// One unit: scan its readable ranges (or, with --identify, read its identification).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=247))]
    pub unit: Option<u8>,
    /// The table to scan with --unit: coil | discrete | input | holding.
    #[arg(long, default_value = "holding", requires = "unit")]
    pub table: String,
    /// First address of the range scan.
    #[arg(long, default_value_t = 0, requires = "unit")]
    pub from: u16,
    /// Last address of the range scan (included).
    #[arg(long, default_value_t = 9999, requires = "unit")]
    pub to: u16,
    /// How long to wait for each reply, 1 to 60000 ms.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,
    /// Silence between two requests, 0 to 60000 ms.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub pace_ms: u64,
    /// Read device identification (FC 43/14) of --unit, or of every unit found.
    #[arg(long)]
    pub identify: bool,
    #[command(flatten)]
    pub serial: SerialArgs,
}

/// What to do, from validated arguments.
enum Job {
    Ports,
    Units {
        link: Link,
        scan: UnitScan,
        identify: bool,
    },
    Ranges {
        link: Link,
        unit: u8,
        table: Table,
        from: u16,
        to: u16,
        scan: RangeScan,
    },
    Identify {
        link: Link,
        unit: u8,
        timeout: Duration,
    },
    Probe {
        path: String,
        unit: u8,
        timeout: Duration,
    },
}

/// How a scan ended: something answered, nothing did, or the link failed (exit 1 for both).
enum Outcome {
    Answered,
    Nothing,
}

pub fn run(args: Args) -> ExitCode {
    let job = match job(&args) {
        Ok(job) => job,
        Err(message) => {
            eprintln!("plantwatch scan: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("plantwatch scan: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(perform(job)) {
        Ok(Outcome::Answered) => ExitCode::SUCCESS,
        Ok(Outcome::Nothing) => ExitCode::from(1),
        Err(message) => {
            eprintln!("plantwatch scan: {message}");
            ExitCode::from(1)
        }
    }
}

fn job(args: &Args) -> Result<Job, String> {
    if args.ports {
        return Ok(Job::Ports);
    }
    let text = args.link.as_deref().ok_or("give a link or --ports")?;
    let timeout = Duration::from_millis(args.timeout_ms);
    if args.serial.baud == Baud::Auto {
        let Some(path) = text.strip_prefix("rtu:").filter(|p| !p.is_empty()) else {
            return Err("--baud auto needs a serial link, rtu:SERIAL_PORT".into());
        };
        // Checks the other serial flags the same way a fixed baud rate would.
        parse_link_with_baud(text, &args.serial, 19200)?;
        return Ok(Job::Probe {
            path: path.to_string(),
            unit: args.unit.unwrap_or(1),
            timeout,
        });
    }
    let link = parse_link(text, &args.serial)?;
    Ok(match (args.unit, args.identify) {
        (Some(unit), true) => Job::Identify {
            link,
            unit,
            timeout,
        },
        (Some(unit), false) => {
            let table: Table = args.table.parse().map_err(|e| format!("--table: {e}"))?;
            if args.from > args.to {
                return Err(format!(
                    "--from {} is above --to {}: nothing to scan",
                    args.from, args.to
                ));
            }
            Job::Ranges {
                link,
                unit,
                table,
                from: args.from,
                to: args.to,
                scan: RangeScan {
                    timeout,
                    pace: Duration::from_millis(args.pace_ms),
                    monitor: None,
                },
            }
        }
        (None, identify) => Job::Units {
            link,
            scan: UnitScan {
                units: parse_units(&args.units)?,
                timeout,
                pace: Duration::from_millis(args.pace_ms),
                monitor: None,
            },
            identify,
        },
    })
}

/// `--units 1-247` or `--units 37`.
fn parse_units(text: &str) -> Result<RangeInclusive<u8>, String> {
    let bad = || format!("--units: '{text}' is not FIRST-LAST or one unit id within 1-247");
    let id = |part: &str| match part.trim().parse::<u8>() {
        Ok(id @ 1..=247) => Ok(id),
        _ => Err(bad()),
    };
    let (first, last) = match text.split_once('-') {
        Some((first, last)) => (id(first)?, id(last)?),
        None => {
            let one = id(text)?;
            (one, one)
        }
    };
    if first > last {
        return Err(bad());
    }
    Ok(first..=last)
}

async fn perform(job: Job) -> Result<Outcome, String> {
    match job {
        Job::Ports => {
            let ports = serial_ports();
            for port in &ports {
                println!("{port}");
            }
            if ports.is_empty() {
                eprintln!("plantwatch scan: the system lists no serial ports");
                return Ok(Outcome::Nothing);
            }
            Ok(Outcome::Answered)
        }
        Job::Units {
            link,
            scan,
            identify: with_identity,
        } => {
            // Each unit is printed the moment it answers: a full scan of a slow line takes minutes.
            let found = scan_units(&link, &scan, &mut |progress| {
                if let Some(found) = progress.found {
                    println!("{found}");
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            if with_identity {
                for unit in &found {
                    println!("unit {}:", unit.unit);
                    print_identity(identify(&link, unit.unit, scan.timeout).await, "  ");
                }
            }
            Ok(answered(!found.is_empty()))
        }
        Job::Ranges {
            link,
            unit,
            table,
            from,
            to,
            scan,
        } => {
            let started = Instant::now();
            let mut requests = 0;
            let ranges = scan_ranges(&link, unit, table, from, to, &scan, &mut |progress| {
                requests = progress.requests;
            })
            .await
            .map_err(|e: LinkError| e.to_string())?;
            println!("{}", describe_ranges(table, &ranges));
            eprintln!(
                "plantwatch scan: {} addresses in {requests} requests, {} ms",
                u32::from(to) - u32::from(from) + 1,
                started.elapsed().as_millis()
            );
            Ok(answered(!ranges.is_empty()))
        }
        Job::Identify {
            link,
            unit,
            timeout,
        } => {
            let result = identify(&link, unit, timeout).await;
            let ok = result.is_ok();
            if let Err(IdentifyError::Link(e)) = result {
                return Err(e.to_string());
            }
            print_identity(result, "");
            Ok(answered(ok))
        }
        Job::Probe {
            path,
            unit,
            timeout,
        } => {
            let results = probe_serial(
                &path,
                unit,
                &SerialSettings::common(),
                timeout,
                &mut |progress| println!("{}", progress.result),
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "plantwatch scan: a pseudo-terminal ignores baud and parity, so there every setting answers alike"
            );
            Ok(answered(results.iter().any(|r| r.answered())))
        }
    }
}

fn answered(yes: bool) -> Outcome {
    if yes {
        Outcome::Answered
    } else {
        Outcome::Nothing
    }
}

fn print_identity(result: Result<plantwatch_modbus::DeviceIdentity, IdentifyError>, indent: &str) {
    match result {
        Ok(identity) => {
            for object in &identity.objects {
                println!("{indent}{object}");
            }
        }
        Err(e) => println!("{indent}({e})"),
    }
}
