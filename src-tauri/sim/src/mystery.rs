//! The mystery device: an unconfigured device on the simulated bus, for commissioning practice and
//! for the scanner's tests. It is in no plant file; a technician finds it with `plantwatch scan`,
//! maps its ranges, reads its identification and works out its word orders. Off unless
//! [`crate::SimOptions::with_mystery`] is set. Its register map is in the crate docs.
//!
//! A pure function of the plant clock, like [`crate::registers`]: the same clock gives the same answer.

use tokio_modbus::prelude::{
    ConformityLevel, DeviceIdObject, ReadCode, ReadDeviceIdentificationResponse,
};
use tokio_modbus::{ExceptionCode, Request, Response};

use crate::registers::MYSTERY_UNIT;

const MAX_READ_REGISTERS: u16 = 125;

/// Identification objects (id, value): basic 0x00-0x02, regular 0x03-0x06.
pub const IDENTITY: [(u8, &str); 5] = [
    (0x00, "Plantwatch Training"),
    (0x01, "PWT-MB37"),
    (0x02, "1.4"),
    (0x04, "Mystery box"),
    (0x05, "MB-37 rev B"),
];

/// Temperature about which the float in holding 3-4 moves (°C).
pub const TEMPERATURE_C: f32 = 42.5;
/// Energy counter at plant time 0 (Wh); it then counts one Wh per plant second.
pub const ENERGY_START_WH: u64 = 4_294_967_000;
/// Status word in holding 0: bit 0 ready, bit 2 remote.
pub const STATUS_WORD: u16 = 0x0005;

/// The temperature at plant time `clock_s`: within 0.5 °C of [`TEMPERATURE_C`].
pub fn temperature_c(clock_s: f64) -> f32 {
    TEMPERATURE_C + (0.4 * (clock_s / 30.0).sin()) as f32
}

/// The energy counter at plant time `clock_s`.
pub fn energy_wh(clock_s: f64) -> u64 {
    ENERGY_START_WH + clock_s.max(0.0) as u64
}

/// Answers one request to the mystery device (unit [`MYSTERY_UNIT`]).
pub fn answer(clock_s: f64, request: &Request<'_>) -> Result<Response, ExceptionCode> {
    match request {
        Request::ReadHoldingRegisters(addr, qty) => {
            read(*addr, *qty, |a| holding(clock_s, a)).map(Response::ReadHoldingRegisters)
        }
        Request::ReadInputRegisters(addr, qty) => {
            read(*addr, *qty, |a| input(clock_s, a)).map(Response::ReadInputRegisters)
        }
        Request::ReadDeviceIdentification(code, object) => identification(*code, *object),
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

fn read(addr: u16, qty: u16, item: impl Fn(u16) -> Option<u16>) -> Result<Vec<u16>, ExceptionCode> {
    if qty == 0 || qty > MAX_READ_REGISTERS {
        return Err(ExceptionCode::IllegalDataValue);
    }
    if u32::from(addr) + u32::from(qty) > 0x1_0000 {
        return Err(ExceptionCode::IllegalDataAddress);
    }
    (addr..addr + qty)
        .map(|a| item(a).ok_or(ExceptionCode::IllegalDataAddress))
        .collect()
}

/// Holding registers: 0-9, 100-123, 3000-3015; everything else answers 02.
fn holding(clock_s: f64, addr: u16) -> Option<u16> {
    let temperature = temperature_c(clock_s).to_bits();
    let energy = energy_wh(clock_s);
    Some(match addr {
        0 => STATUS_WORD,
        1 => 230,
        2 => 1200,
        // f32 in CDAB: the low word first.
        3 => temperature as u16,
        4 => (temperature >> 16) as u16,
        5 => 1450,
        // u64 in CDAB for 64 bits (GHEFCDAB): the words in reverse order.
        6..=9 => (energy >> (16 * u32::from(addr - 6))) as u16,
        // Parameters p0-p23: 10 times their number plus one.
        100..=123 => (addr - 100) * 10 + 1,
        3000 => u16::from(MYSTERY_UNIT),
        3001 => 192,
        3002..=3015 => 0,
        _ => return None,
    })
}

/// Input registers 0-7: raw analog channels, steady.
fn input(_clock_s: f64, addr: u16) -> Option<u16> {
    (addr < 8).then(|| 1000 + addr * 111)
}

/// FC 43 / MEI 14: codes 01 basic, 02 regular and 03 extended (as regular: there are no extended
/// objects) as streams from the asked object id, 04 one object. Regular conformity, individual
/// access too (0x82); everything fits in one frame.
fn identification(code: ReadCode, object: u8) -> Result<Response, ExceptionCode> {
    let objects: Vec<(u8, &str)> = match code {
        ReadCode::Basic => IDENTITY
            .iter()
            .copied()
            .filter(|(id, _)| *id <= 0x02 && *id >= object)
            .collect(),
        ReadCode::Regular | ReadCode::Extended => IDENTITY
            .iter()
            .copied()
            .filter(|(id, _)| *id >= object)
            .collect(),
        ReadCode::Specific => match IDENTITY.iter().find(|(id, _)| *id == object) {
            Some(&found) => vec![found],
            None => return Err(ExceptionCode::IllegalDataAddress),
        },
    };
    Ok(Response::ReadDeviceIdentification(
        ReadDeviceIdentificationResponse {
            read_code: code,
            conformity_level: ConformityLevel::RegularIdentification,
            more_follows: false,
            next_object_id: 0,
            device_id_objects: objects
                .into_iter()
                .map(|(id, value)| DeviceIdObject {
                    id,
                    value: value.as_bytes().to_vec().into(),
                })
                .collect(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding_at(clock_s: f64, addr: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode> {
        match answer(clock_s, &Request::ReadHoldingRegisters(addr, qty))? {
            Response::ReadHoldingRegisters(words) => Ok(words),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_float_is_in_cdab_and_near_42_5() {
        let words = holding_at(100.0, 3, 2).expect("mapped");
        let value = f32::from_bits((u32::from(words[1]) << 16) | u32::from(words[0]));
        assert!((value - TEMPERATURE_C).abs() <= 0.5, "{value}");
    }

    #[test]
    fn the_energy_counter_is_ghefcdab_and_counts_up() {
        let decode = |w: Vec<u16>| {
            w.iter()
                .rev()
                .fold(0u64, |acc, &word| (acc << 16) | u64::from(word))
        };
        let early = decode(holding_at(10.0, 6, 4).expect("mapped"));
        let later = decode(holding_at(70.0, 6, 4).expect("mapped"));
        assert_eq!(early, ENERGY_START_WH + 10);
        assert_eq!(later, early + 60);
    }

    #[test]
    fn gaps_answer_illegal_data_address() {
        assert_eq!(
            holding_at(0.0, 9, 2),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            holding_at(0.0, 2999, 1),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert!(holding_at(0.0, 100, 24).is_ok());
        assert!(holding_at(0.0, 3000, 16).is_ok());
    }

    #[test]
    fn identification_lists_the_basic_objects_for_code_01() {
        let request = Request::ReadDeviceIdentification(ReadCode::Basic, 0);
        let Ok(Response::ReadDeviceIdentification(answer)) = answer(0.0, &request) else {
            panic!("no identification");
        };
        let ids: Vec<u8> = answer.device_id_objects.iter().map(|o| o.id).collect();
        assert_eq!(ids, [0x00, 0x01, 0x02]);
        assert_eq!(
            answer.device_id_objects[0].value_as_str(),
            Some("Plantwatch Training")
        );
    }
}
