//! Frames on the wire (pure): where a request or reply frame ends in a byte stream, and what its
//! header says (unit, function, address, count, exception, CRC).
//!
//! Two framings: MBAP (Modbus TCP: a 7-byte header whose length field gives the frame's size) and RTU
//! (serial lines and RTU over TCP: no length field, so the size follows from the function code, a byte
//! count or the fixed size of the answer; a CRC-16 ends every frame).

/// How a link frames its PDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Modbus TCP: MBAP header, no CRC.
    Mbap,
    /// RTU: unit, PDU, CRC-16 (low byte first).
    Rtu,
}

/// Which way a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From Plantwatch to the device.
    Request,
    /// From the device back.
    Response,
}

/// Where the frame at the start of a buffer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameEnd {
    /// The frame is this many bytes long (it may not all be there yet).
    At(usize),
    /// More bytes are needed to tell.
    NotYet,
    /// The size cannot be told from the bytes (an RTU function this module does not know): the frame
    /// ends where the exchange does.
    Unknown,
}

/// What a frame's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Header {
    pub unit: u8,
    /// The function code asked for (without the exception bit).
    pub function: u8,
    pub address: Option<u16>,
    pub count: Option<u16>,
    /// The exception code, when the function code carries the exception bit (function | 0x80).
    pub exception: Option<u8>,
    /// RTU only: whether the CRC matches.
    pub crc_ok: Option<bool>,
}

/// The size of the frame at the start of `bytes`.
pub(crate) fn frame_end(framing: Framing, direction: Direction, bytes: &[u8]) -> FrameEnd {
    match framing {
        Framing::Mbap => match bytes.get(4..6) {
            Some(len) => FrameEnd::At(6 + usize::from(u16::from_be_bytes([len[0], len[1]]))),
            None => FrameEnd::NotYet,
        },
        Framing::Rtu => match direction {
            Direction::Request => rtu_request_end(bytes),
            Direction::Response => rtu_response_end(bytes),
        },
    }
}

/// The RTU size of a frame with a byte count at `at`: the bytes before it, the count, that many bytes
/// and the CRC.
fn counted(bytes: &[u8], at: usize) -> FrameEnd {
    match bytes.get(at) {
        Some(&n) => FrameEnd::At(at + 1 + usize::from(n) + 2),
        None => FrameEnd::NotYet,
    }
}

fn rtu_request_end(bytes: &[u8]) -> FrameEnd {
    let Some(&function) = bytes.get(1) else {
        return FrameEnd::NotYet;
    };
    match function {
        1..=6 | 8 => FrameEnd::At(8),
        7 | 11 | 12 | 17 => FrameEnd::At(4),
        15 | 16 => counted(bytes, 6),
        22 => FrameEnd::At(10),
        23 => counted(bytes, 10),
        43 => match bytes.get(2) {
            Some(14) => FrameEnd::At(7),
            Some(_) => FrameEnd::Unknown,
            None => FrameEnd::NotYet,
        },
        _ => FrameEnd::Unknown,
    }
}

fn rtu_response_end(bytes: &[u8]) -> FrameEnd {
    let Some(&function) = bytes.get(1) else {
        return FrameEnd::NotYet;
    };
    if function & 0x80 != 0 {
        return FrameEnd::At(5);
    }
    match function {
        1..=4 | 12 | 17 | 23 => counted(bytes, 2),
        5 | 6 | 8 | 11 | 15 | 16 => FrameEnd::At(8),
        7 => FrameEnd::At(5),
        22 => FrameEnd::At(10),
        43 => device_identification_end(bytes),
        _ => FrameEnd::Unknown,
    }
}

/// FC 43/14 reply: unit, 43, 14, read code, conformity, more follows, next object, object count, then
/// each object as id, length, value; then the CRC.
fn device_identification_end(bytes: &[u8]) -> FrameEnd {
    match bytes.get(2) {
        Some(14) => {}
        Some(_) => return FrameEnd::Unknown,
        None => return FrameEnd::NotYet,
    }
    let Some(&objects) = bytes.get(7) else {
        return FrameEnd::NotYet;
    };
    let mut at = 8;
    for _ in 0..objects {
        let Some(&len) = bytes.get(at + 1) else {
            return FrameEnd::NotYet;
        };
        at += 2 + usize::from(len);
    }
    FrameEnd::At(at + 2)
}

/// The header of one whole frame. Read replies carry no address or count: the caller takes them from
/// the request they answer.
pub(crate) fn header(framing: Framing, direction: Direction, frame: &[u8]) -> Header {
    let (unit, pdu, crc_ok) = match framing {
        Framing::Mbap => (frame.get(6).copied(), frame.get(7..).unwrap_or(&[]), None),
        Framing::Rtu => {
            let body = frame.len().saturating_sub(2);
            let ok = frame.len() >= 4 && crc16(&frame[..body]).to_le_bytes() == frame[body..];
            (
                frame.first().copied(),
                frame.get(1..body).unwrap_or(&[]),
                Some(ok),
            )
        }
    };
    let mut header = Header {
        unit: unit.unwrap_or_default(),
        crc_ok,
        ..Header::default()
    };
    let Some(&code) = pdu.first() else {
        return header;
    };
    header.function = code & 0x7F;
    if code & 0x80 != 0 {
        header.exception = pdu.get(1).copied();
        return header;
    }
    let word = |at: usize| {
        pdu.get(at..at + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
    };
    match (direction, code) {
        (Direction::Request, 1..=4 | 15 | 16 | 23) | (Direction::Response, 15 | 16) => {
            header.address = word(1);
            header.count = word(3);
        }
        (_, 5 | 6 | 22) => {
            header.address = word(1);
            header.count = Some(1);
        }
        // Device identification: the object asked for (or, in a reply, the next one to ask for).
        (Direction::Request, 43) if pdu.get(1) == Some(&14) => {
            header.address = pdu.get(3).map(|&id| u16::from(id));
        }
        _ => {}
    }
    header
}

/// The Modbus CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF), as sent low byte first.
pub(crate) fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &byte in bytes {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Bytes as upper-case hex pairs separated by spaces: `01 03 00 00`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RTU frame: `body` and its CRC.
    fn rtu(body: &[u8]) -> Vec<u8> {
        let mut frame = body.to_vec();
        frame.extend_from_slice(&crc16(body).to_le_bytes());
        frame
    }

    #[test]
    fn the_crc_is_the_one_of_the_specification() {
        // Read 2 holding registers at 0 of unit 1: the textbook frame 01 03 00 00 00 02 C4 0B.
        assert_eq!(
            rtu(&[1, 3, 0, 0, 0, 2]),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B]
        );
        assert_eq!(hex(&[0x01, 0xC4, 0x0B]), "01 C4 0B");
    }

    #[test]
    fn an_mbap_frame_ends_where_its_length_field_says() {
        let request = [0, 7, 0, 0, 0, 6, 1, 3, 0, 10, 0, 4];
        assert_eq!(
            frame_end(Framing::Mbap, Direction::Request, &request[..5]),
            FrameEnd::NotYet
        );
        assert_eq!(
            frame_end(Framing::Mbap, Direction::Request, &request),
            FrameEnd::At(12)
        );
        let h = header(Framing::Mbap, Direction::Request, &request);
        assert_eq!(
            (h.unit, h.function, h.address, h.count, h.crc_ok),
            (1, 3, Some(10), Some(4), None)
        );
    }

    #[test]
    fn an_rtu_reply_ends_by_its_byte_count_its_fixed_size_or_its_exception() {
        let read = rtu(&[1, 3, 4, 0, 1, 0, 2]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &read[..2]),
            FrameEnd::NotYet
        );
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &read[..3]),
            FrameEnd::At(9)
        );
        let echo = rtu(&[1, 16, 0, 5, 0, 2]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &echo),
            FrameEnd::At(8)
        );
        let h = header(Framing::Rtu, Direction::Response, &echo);
        assert_eq!(
            (h.address, h.count, h.crc_ok),
            (Some(5), Some(2), Some(true))
        );
        let refused = rtu(&[7, 0x83, 2]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &refused),
            FrameEnd::At(5)
        );
        let h = header(Framing::Rtu, Direction::Response, &refused);
        assert_eq!((h.unit, h.function, h.exception), (7, 3, Some(2)));
    }

    #[test]
    fn an_rtu_write_request_ends_by_its_byte_count() {
        let write = rtu(&[1, 16, 0, 5, 0, 2, 4, 0, 1, 0, 2]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Request, &write[..7]),
            FrameEnd::At(13)
        );
        let both = rtu(&[1, 23, 0, 1, 0, 2, 0, 9, 0, 1, 2, 0, 7]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Request, &both),
            FrameEnd::At(both.len())
        );
        let h = header(Framing::Rtu, Direction::Request, &both);
        assert_eq!((h.function, h.address, h.count), (23, Some(1), Some(2)));
    }

    #[test]
    fn a_device_identification_reply_ends_after_its_last_object() {
        let reply = rtu(&[
            1, 43, 14, 1, 0x81, 0, 0, 2, // header: two objects
            0, 3, b'A', b'C', b'M', // vendor
            1, 2, b'X', b'1', // product code
        ]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &reply[..10]),
            FrameEnd::NotYet
        );
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &reply),
            FrameEnd::At(reply.len())
        );
        let ask = rtu(&[1, 43, 14, 1, 0]);
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Request, &ask),
            FrameEnd::At(7)
        );
    }

    #[test]
    fn a_bad_crc_is_flagged() {
        let mut read = rtu(&[1, 3, 2, 0, 9]);
        read[3] ^= 0x40;
        assert_eq!(
            header(Framing::Rtu, Direction::Response, &read).crc_ok,
            Some(false)
        );
    }

    #[test]
    fn an_unknown_rtu_function_has_no_size() {
        assert_eq!(
            frame_end(Framing::Rtu, Direction::Response, &[1, 0x41, 0]),
            FrameEnd::Unknown
        );
    }
}
