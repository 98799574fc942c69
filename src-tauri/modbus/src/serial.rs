//! Serial lines for RTU: opening a port with the line's settings, the 3.5-character silence between
//! frames, and a port wrapper that drops stray input before each request.
//!
//! A device that answers after its timeout leaves its late reply on the line. TCP links leave such
//! replies behind with the old socket, but a serial port is the same port after reopening, so the reply
//! would be read as the answer to the next request (to possibly another unit). Nothing may legitimately
//! arrive before a request is sent, so [`QuietLine`] flushes the driver's input buffer whenever a
//! request starts going out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use plantwatch_core::{Parity, SerialLine};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::{SerialPort as _, SerialPortBuilderExt as _, SerialStream};

/// Opens the port of `line` (its speed, parity, data and stop bits), with stale input dropped.
pub fn open(line: &SerialLine) -> io::Result<QuietLine> {
    let parity = match line.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let data_bits = match line.data_bits {
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    };
    let stop_bits = match line.stop_bits {
        2 => tokio_serial::StopBits::Two,
        _ => tokio_serial::StopBits::One,
    };
    let port = tokio_serial::new(&line.path, line.baud)
        .parity(parity)
        .data_bits(data_bits)
        .stop_bits(stop_bits)
        .open_native_async()
        .map_err(io::Error::from)?;
    let line = QuietLine {
        port,
        sending: false,
    };
    line.drop_input()?;
    Ok(line)
}

/// 3.5 character times at the line's speed: start bit, data bits, parity bit and stop bits per
/// character; a fixed 1.75 ms above 19200 baud, as the Modbus serial line specification says.
pub fn frame_gap(line: &SerialLine) -> Duration {
    if line.baud > 19_200 || line.baud == 0 {
        return Duration::from_micros(1750);
    }
    let parity_bits = u32::from(line.parity != Parity::None);
    let bits_per_char = 1 + u32::from(line.data_bits) + parity_bits + u32::from(line.stop_bits);
    Duration::from_micros(u64::from(bits_per_char) * 3_500_000 / u64::from(line.baud))
}

/// A serial port that discards pending input when a request starts going out.
#[derive(Debug)]
pub struct QuietLine {
    port: SerialStream,
    /// True between the first write of a request and the next read: the rest of the request must not
    /// flush again (nothing arrives mid-request, but a reply may start right after the last byte).
    sending: bool,
}

impl QuietLine {
    fn drop_input(&self) -> io::Result<()> {
        self.port
            .clear(tokio_serial::ClearBuffer::Input)
            .map_err(io::Error::from)
    }
}

impl AsyncRead for QuietLine {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.sending = false;
        Pin::new(&mut self.port).poll_read(cx, buf)
    }
}

impl AsyncWrite for QuietLine {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.sending {
            self.drop_input()?;
            self.sending = true;
        }
        Pin::new(&mut self.port).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.port).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.port).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_gap_is_three_and_a_half_characters() {
        let line = |baud, parity| SerialLine {
            path: "/dev/null".into(),
            baud,
            parity,
            data_bits: 8,
            stop_bits: 1,
        };
        // 11 bits a character (8E1) at 9600 baud: 3.5 * 11 / 9600 s.
        assert_eq!(
            frame_gap(&line(9600, Parity::Even)),
            Duration::from_micros(4010)
        );
        // 10 bits a character (8N1) at 19200 baud.
        assert_eq!(
            frame_gap(&line(19200, Parity::None)),
            Duration::from_micros(1822)
        );
        assert_eq!(
            frame_gap(&line(115200, Parity::Even)),
            Duration::from_micros(1750)
        );
    }
}
