//! A link as the command line spells it, shared by `plantwatch read` and `plantwatch scan`:
//! `tcp://HOST[:PORT]`, `rtu-over-tcp://HOST[:PORT]` (port 502 when left out) or `rtu:SERIAL_PORT`,
//! with the serial settings in `--baud --parity --data-bits --stop-bits`.

use std::fmt;
use std::str::FromStr;

use plantwatch_core::{Link, Parity, SerialLine, SocketEndpoint};

/// The serial flags of a link given on the command line (used by `rtu:` links only).
#[derive(clap::Args, Debug, Clone)]
pub struct SerialArgs {
    /// Serial speed (rtu); `plantwatch scan` also takes `auto`: try the common settings.
    #[arg(long, default_value = "19200")]
    pub baud: Baud,
    /// Serial parity (rtu): none | even | odd.
    #[arg(long, default_value = "even")]
    pub parity: String,
    /// Serial data bits (rtu): 7 or 8.
    #[arg(long, default_value_t = 8)]
    pub data_bits: u8,
    /// Serial stop bits (rtu): 1 or 2.
    #[arg(long, default_value_t = 1)]
    pub stop_bits: u8,
}

/// `--baud`: a rate, or `auto` to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baud {
    Rate(u32),
    Auto,
}

impl FromStr for Baud {
    type Err = String;

    fn from_str(text: &str) -> Result<Baud, String> {
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Baud::Auto);
        }
        match text.parse::<u32>() {
            Ok(rate) if rate > 0 => Ok(Baud::Rate(rate)),
            _ => Err(format!(
                "'{text}' is not a baud rate (a number above 0, or auto)"
            )),
        }
    }
}

impl fmt::Display for Baud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Baud::Rate(rate) => write!(f, "{rate}"),
            Baud::Auto => f.write_str("auto"),
        }
    }
}

/// Parses a link; the error is the message for the user (exit 2). `--baud auto` is refused here: only
/// the caller that probes knows what to do with it (see [`parse_link_with_baud`]).
pub fn parse_link(text: &str, serial: &SerialArgs) -> Result<Link, String> {
    match serial.baud {
        Baud::Rate(rate) => parse_link_with_baud(text, serial, rate),
        Baud::Auto if text.starts_with("rtu:") => {
            Err("--baud auto is for plantwatch scan; give a baud rate".into())
        }
        // TCP links ignore the serial flags.
        Baud::Auto => parse_link_with_baud(text, serial, 19200),
    }
}

/// Parses a link with `baud` in place of `--baud`.
pub fn parse_link_with_baud(text: &str, serial: &SerialArgs, baud: u32) -> Result<Link, String> {
    let endpoint = |rest: &str| -> Result<SocketEndpoint, String> {
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse()
                    .map_err(|_| format!("bad port '{port}' in '{text}'"))?;
                (host, port)
            }
            None => (rest, 502),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("no host in '{text}'"));
        }
        Ok(SocketEndpoint {
            host: host.to_string(),
            port,
        })
    };
    if let Some(rest) = text.strip_prefix("tcp://") {
        return Ok(Link::Tcp(endpoint(rest)?));
    }
    if let Some(rest) = text.strip_prefix("rtu-over-tcp://") {
        return Ok(Link::RtuOverTcp(endpoint(rest)?));
    }
    if let Some(path) = text.strip_prefix("rtu:") {
        let parity = parse_parity(&serial.parity)?;
        if !matches!(serial.data_bits, 7 | 8) || !matches!(serial.stop_bits, 1 | 2) || baud == 0 {
            return Err(
                "serial settings: --data-bits 7 or 8, --stop-bits 1 or 2, --baud above 0".into(),
            );
        }
        if path.is_empty() {
            return Err("no serial port in 'rtu:' (for example rtu:/dev/ttyUSB0)".into());
        }
        return Ok(Link::Rtu(SerialLine {
            path: path.to_string(),
            baud,
            parity,
            data_bits: serial.data_bits,
            stop_bits: serial.stop_bits,
        }));
    }
    Err(format!(
        "unknown link '{text}' (tcp://HOST[:PORT], rtu-over-tcp://HOST[:PORT], rtu:/dev/ttyUSB0)"
    ))
}

fn parse_parity(text: &str) -> Result<Parity, String> {
    match text.to_ascii_lowercase().as_str() {
        "none" | "n" => Ok(Parity::None),
        "even" | "e" => Ok(Parity::Even),
        "odd" | "o" => Ok(Parity::Odd),
        other => Err(format!("unknown parity '{other}' (none, even, odd)")),
    }
}
