//! The register map: how each simulated device answers a Modbus request, from the station's state.
//!
//! This is a pure function of the [`Station`] and the request (no network, no clock), so the physics
//! tests can read the plant exactly as a client would. The map itself is documented in the crate docs
//! and in `assets/demo-plant.toml`; the constants here are its single source.
//!
//! Each device checks a request in the order real devices do: the function (01 if it does not support
//! it), the quantity (03 outside the protocol's limits or the device's own cap), the address range (02
//! if any address in it is unmapped, like the PLC's deliberate hole), then for writes the value (03 if
//! the device refuses it).

use tokio_modbus::{ExceptionCode, Request, Response};

use crate::station::{Setpoints, Station};

/// The station PLC's unit id.
pub const PLC_UNIT: u8 = 1;
/// The drives' unit ids, pump 1 then pump 2.
pub const DRIVE_UNITS: [u8; 2] = [11, 12];
/// The power meter's unit id.
pub const METER_UNIT: u8 = 21;
/// The mystery device's unit id (see [`crate::mystery`]); only there with `--with-mystery`.
pub const MYSTERY_UNIT: u8 = 37;
/// The most registers one read from a drive may ask for.
pub const DRIVE_READ_CAP: u16 = 16;
/// The PLC's station name, in holding registers 100-107.
pub const STATION_NAME: &str = "Lift station 4";

/// The PLC's speed setpoints are clamped into 20.00-50.00 Hz (0.01 Hz units).
const SPEED_MIN_CHZ: u16 = 2000;
const SPEED_MAX_CHZ: u16 = 5000;
/// A drive's ramp times are clamped into 1.0-60.0 s (0.1 s units).
const RAMP_MIN_DS: u16 = 10;
const RAMP_MAX_DS: u16 = 600;

/// Protocol limits (Modbus application protocol v1.1b3).
const MAX_READ_BITS: u16 = 2000;
const MAX_READ_REGISTERS: u16 = 125;
const MAX_WRITE_BITS: usize = 1968;
const MAX_WRITE_REGISTERS: usize = 123;

/// A simulated device on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Plc,
    /// Drive of pump 1 (index 0) or pump 2 (index 1).
    Drive(usize),
    Meter,
}

impl Device {
    /// The device behind a unit id, if there is one.
    pub fn from_unit(unit: u8) -> Option<Device> {
        match unit {
            PLC_UNIT => Some(Device::Plc),
            u if u == DRIVE_UNITS[0] => Some(Device::Drive(0)),
            u if u == DRIVE_UNITS[1] => Some(Device::Drive(1)),
            METER_UNIT => Some(Device::Meter),
            _ => None,
        }
    }

    /// Whether the device answers on its line right now (drives can be taken offline by a scenario).
    pub fn is_online(self, station: &Station) -> bool {
        match self {
            // The PLC rides through a power failure on its UPS.
            Device::Plc => true,
            Device::Drive(i) => station.pump(i).online,
            // The meter is powered from the mains it measures.
            Device::Meter => !station.power_fail(),
        }
    }

    /// Function codes the device implements.
    fn supports(self, function: u8) -> bool {
        match self {
            // Read coils, discrete inputs, holding and input registers; write single and multiple.
            Device::Plc => matches!(function, 1 | 2 | 3 | 4 | 5 | 6 | 15 | 16),
            // Drives keep everything in holding registers.
            Device::Drive(_) => matches!(function, 3 | 6 | 16),
            // The meter is read-only, all in input registers.
            Device::Meter => function == 4,
        }
    }

    /// The most registers (or bits) one read may ask for.
    fn read_cap(self, bits: bool) -> u16 {
        match (self, bits) {
            (_, true) => MAX_READ_BITS,
            (Device::Drive(_), false) => DRIVE_READ_CAP,
            (_, false) => MAX_READ_REGISTERS,
        }
    }
}

/// Answers one request as `device` would. `Err` is the exception the device sends back.
pub fn answer(
    station: &mut Station,
    device: Device,
    request: &Request<'_>,
) -> Result<Response, ExceptionCode> {
    let function = request.function_code().value();
    if !device.supports(function) {
        return Err(ExceptionCode::IllegalFunction);
    }
    match request {
        Request::ReadCoils(addr, qty) => {
            read_range(device, true, *addr, *qty, |a| plc_coil(station, a)).map(Response::ReadCoils)
        }
        Request::ReadDiscreteInputs(addr, qty) => {
            read_range(device, true, *addr, *qty, |a| plc_discrete(station, a))
                .map(Response::ReadDiscreteInputs)
        }
        Request::ReadInputRegisters(addr, qty) => {
            let words = read_range(device, false, *addr, *qty, |a| match device {
                Device::Plc => plc_input(station, a),
                Device::Meter => meter_input(station, a),
                Device::Drive(_) => None,
            })?;
            Ok(Response::ReadInputRegisters(words))
        }
        Request::ReadHoldingRegisters(addr, qty) => {
            let words = read_range(device, false, *addr, *qty, |a| match device {
                Device::Plc => plc_holding(station, a),
                Device::Drive(i) => drive_holding(station, i, a),
                Device::Meter => None,
            })?;
            Ok(Response::ReadHoldingRegisters(words))
        }
        Request::WriteSingleCoil(addr, on) => {
            write_coils(station, *addr, &[*on])?;
            Ok(Response::WriteSingleCoil(*addr, *on))
        }
        Request::WriteMultipleCoils(addr, coils) => {
            if coils.is_empty() || coils.len() > MAX_WRITE_BITS {
                return Err(ExceptionCode::IllegalDataValue);
            }
            write_coils(station, *addr, coils)?;
            Ok(Response::WriteMultipleCoils(*addr, coils.len() as u16))
        }
        Request::WriteSingleRegister(addr, word) => {
            write_registers(station, device, *addr, &[*word])?;
            Ok(Response::WriteSingleRegister(*addr, *word))
        }
        Request::WriteMultipleRegisters(addr, words) => {
            if words.is_empty() || words.len() > MAX_WRITE_REGISTERS {
                return Err(ExceptionCode::IllegalDataValue);
            }
            write_registers(station, device, *addr, words)?;
            Ok(Response::WriteMultipleRegisters(*addr, words.len() as u16))
        }
        // Every other function is refused above; this arm keeps the match honest if `supports` grows.
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

/// Reads `qty` items from `addr` after the quantity and address checks.
fn read_range<T>(
    device: Device,
    bits: bool,
    addr: u16,
    qty: u16,
    item: impl Fn(u16) -> Option<T>,
) -> Result<Vec<T>, ExceptionCode> {
    if qty == 0 || qty > device.read_cap(bits) {
        return Err(ExceptionCode::IllegalDataValue);
    }
    if u32::from(addr) + u32::from(qty) > 0x1_0000 {
        return Err(ExceptionCode::IllegalDataAddress);
    }
    (addr..addr + qty)
        .map(|a| item(a).ok_or(ExceptionCode::IllegalDataAddress))
        .collect()
}

/// Registers of a value to a register, big-endian words (ABCD), then `word` picks one.
fn u32_word(value: u32, offset: u16) -> u16 {
    let words = [(value >> 16) as u16, value as u16];
    words[usize::from(offset)]
}

fn u64_word(value: u64, offset: u16) -> u16 {
    (value >> (48 - 16 * u32::from(offset))) as u16
}

/// A float32 in CDAB order (low word first), as the PLC's flow meter card sends it.
fn f32_cdab_word(value: f32, offset: u16) -> u16 {
    let bits = value.to_bits();
    let words = [bits as u16, (bits >> 16) as u16];
    words[usize::from(offset)]
}

/// Rounds a reading to its raw register unit, clamped to the register's range.
fn raw(value: f64, per_unit: f64, max: f64) -> f64 {
    (value / per_unit).round().clamp(0.0, max)
}

fn u16_of(value: f64, per_unit: f64) -> u16 {
    raw(value, per_unit, f64::from(u16::MAX)) as u16
}

fn i16_of(value: f64, per_unit: f64) -> u16 {
    ((value / per_unit)
        .round()
        .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16) as u16
}

fn u32_of(value: f64, per_unit: f64) -> u32 {
    raw(value, per_unit, f64::from(u32::MAX)) as u32
}

/// PLC input registers (FC4).
fn plc_input(s: &Station, addr: u16) -> Option<u16> {
    Some(match addr {
        0 => u16_of(s.level_reading_m(), 0.001),
        1 => u16_of(s.pressure_bar(), 0.01),
        2 | 3 => f32_cdab_word(s.flow_reading_lps() as f32, addr - 2),
        4 => u16_of(s.h2s_ppm(), 0.1),
        5 => u16_of(s.o2_pct(), 0.1),
        // 6-9: the deliberate hole (spare analog card slots): unmapped, exception 02.
        10 | 11 => u32_word(u32_of(s.pump(0).run_s / 3600.0, 0.01), addr - 10),
        12 | 13 => u32_word(u32_of(s.pump(1).run_s / 3600.0, 0.01), addr - 12),
        14 => s.pump(0).starts as u16,
        15 => s.pump(1).starts as u16,
        16 | 17 => f32_cdab_word(s.inflow_reading_lps() as f32, addr - 16),
        _ => return None,
    })
}

/// PLC holding registers (FC3, FC6, FC16).
fn plc_holding(s: &Station, addr: u16) -> Option<u16> {
    let sp = s.setpoints();
    Some(match addr {
        0 => sp.stop_mm,
        1 => sp.lead_start_mm,
        2 => sp.lag_start_mm,
        3 => sp.min_speed_chz,
        4 => sp.max_speed_chz,
        100..=107 => {
            let bytes = STATION_NAME.as_bytes();
            let i = usize::from(addr - 100) * 2;
            let hi = bytes.get(i).copied().unwrap_or(0);
            let lo = bytes.get(i + 1).copied().unwrap_or(0);
            u16::from_be_bytes([hi, lo])
        }
        _ => return None,
    })
}

/// PLC coils (FC1, FC5, FC15).
fn plc_coil(s: &Station, addr: u16) -> Option<bool> {
    Some(match addr {
        0 => s.pump(0).manual,
        1 => s.pump(1).manual,
        // The reset coil is a pulse: it reads back 0 once the PLC has acted on it.
        2 => false,
        3 => s.lead() == 1,
        4 => s.auto_alternate(),
        _ => return None,
    })
}

/// PLC discrete inputs (FC2).
fn plc_discrete(s: &Station, addr: u16) -> Option<bool> {
    Some(match addr {
        0 => s.pump(0).is_running(),
        1 => s.pump(0).tripped,
        2 => s.pump(1).is_running(),
        3 => s.pump(1).tripped,
        4 => s.float_high(),
        5 => s.door_open(),
        6 => s.power_fail(),
        _ => return None,
    })
}

/// Drive status word bits.
pub mod status_bits {
    /// Ready: mains present and no fault.
    pub const READY: u16 = 1 << 0;
    /// The motor turns.
    pub const RUNNING: u16 = 1 << 1;
    /// Tripped; the fault code says why.
    pub const FAULT: u16 = 1 << 2;
    /// Warning: motor current above its nominal current.
    pub const WARNING: u16 = 1 << 3;
    /// Controlled remotely (by the PLC's hard-wired run command).
    pub const REMOTE: u16 = 1 << 4;
}

/// Drive holding registers (FC3; FC6/FC16 on the parameters 20-23).
fn drive_holding(s: &Station, pump: usize, addr: u16) -> Option<u16> {
    let p = s.pump(pump);
    Some(match addr {
        0 => {
            let mut word = status_bits::REMOTE;
            if !p.tripped && !s.power_fail() {
                word |= status_bits::READY;
            }
            if p.is_running() {
                word |= status_bits::RUNNING;
            }
            if p.tripped {
                word |= status_bits::FAULT;
            }
            if p.current_a * 100.0 > f64::from(p.params[2]) {
                word |= status_bits::WARNING;
            }
            word
        }
        1 => u16_of(p.freq_hz, 0.01),
        2 => u16_of(p.current_a, 0.01),
        3 => u16_of(p.speed_rpm, 1.0),
        4 => i16_of(p.torque_pct, 0.1),
        5 => u16_of(p.power_kw, 0.1),
        6 => u16_of(p.dc_link_v, 0.1),
        7 => p.fault,
        8 => i16_of(p.heatsink_c, 0.1),
        20..=23 => p.params[usize::from(addr - 20)],
        _ => return None,
    })
}

/// Meter input registers (FC4).
fn meter_input(s: &Station, addr: u16) -> Option<u16> {
    let m = s.meter();
    Some(match addr {
        0..=5 => u32_word(u32_of(m.currents_a[usize::from(addr / 2)], 0.001), addr % 2),
        6..=11 => u32_word(
            u32_of(m.voltages_v[usize::from((addr - 6) / 2)], 0.1),
            addr % 2,
        ),
        12 => u16_of(m.freq_hz, 0.01),
        13 => u16_of(m.power_factor, 0.01),
        14 | 15 => u32_word(u32_of(m.power_kw, 0.01), addr - 14),
        16..=19 => u64_word(m.energy_wh.max(0.0).round() as u64, addr - 16),
        _ => return None,
    })
}

/// Writes PLC coils: manual starts, the reset pulse, lead select, auto-alternate.
fn write_coils(station: &mut Station, addr: u16, coils: &[bool]) -> Result<(), ExceptionCode> {
    let end = u32::from(addr) + coils.len() as u32;
    if end > 5 {
        return Err(ExceptionCode::IllegalDataAddress);
    }
    for (a, &on) in (addr..).zip(coils) {
        match a {
            0 => station.set_manual(0, on),
            1 => station.set_manual(1, on),
            2 if on => station.reset_trips(),
            2 => {}
            3 => station.set_lead(usize::from(on)),
            _ => station.set_auto_alternate(on),
        }
    }
    Ok(())
}

/// Writes holding registers: the PLC's setpoints (0-4) or a drive's parameters (20-23). The whole
/// write is checked before anything changes.
fn write_registers(
    station: &mut Station,
    device: Device,
    addr: u16,
    words: &[u16],
) -> Result<(), ExceptionCode> {
    let end = u32::from(addr) + words.len() as u32;
    match device {
        Device::Plc => {
            if end > 5 {
                return Err(ExceptionCode::IllegalDataAddress);
            }
            let mut raw = {
                let sp = station.setpoints();
                [
                    sp.stop_mm,
                    sp.lead_start_mm,
                    sp.lag_start_mm,
                    sp.min_speed_chz,
                    sp.max_speed_chz,
                ]
            };
            raw[usize::from(addr)..end as usize].copy_from_slice(words);
            // The speed setpoints are clamped to what the drives can run (20-50 Hz), as PLCs clamp
            // analog setpoints, rather than refused: a client that reads back sees the clamped value.
            for speed in &mut raw[3..5] {
                *speed = (*speed).clamp(SPEED_MIN_CHZ, SPEED_MAX_CHZ);
            }
            let setpoints = Setpoints {
                stop_mm: raw[0],
                lead_start_mm: raw[1],
                lag_start_mm: raw[2],
                min_speed_chz: raw[3],
                max_speed_chz: raw[4],
            };
            if station.set_setpoints(setpoints) {
                Ok(())
            } else {
                Err(ExceptionCode::IllegalDataValue)
            }
        }
        Device::Drive(pump) => {
            if addr < 20 || end > 24 {
                return Err(ExceptionCode::IllegalDataAddress);
            }
            let mut trial = station.pump(pump).params;
            trial[usize::from(addr - 20)..(end - 20) as usize].copy_from_slice(words);
            // Drives clamp ramp times to their range (1-60 s) instead of refusing them; the nominal
            // motor data must be right and is refused when out of range.
            for ramp in &mut trial[0..2] {
                *ramp = (*ramp).clamp(RAMP_MIN_DS, RAMP_MAX_DS);
            }
            // Check every value first, so a refused write changes nothing.
            if !trial
                .iter()
                .enumerate()
                .all(|(i, &v)| Station::drive_param_valid(i, v))
            {
                return Err(ExceptionCode::IllegalDataValue);
            }
            for (i, &v) in trial.iter().enumerate() {
                station.set_drive_param(pump, i, v);
            }
            Ok(())
        }
        Device::Meter => Err(ExceptionCode::IllegalFunction),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn station() -> Station {
        Station::new(&Scenario::normal(), 1)
    }

    fn holding(s: &mut Station, device: Device, addr: u16) -> u16 {
        match answer(s, device, &Request::ReadHoldingRegisters(addr, 1)) {
            Ok(Response::ReadHoldingRegisters(words)) => words[0],
            other => panic!("reading holding {addr}: {other:?}"),
        }
    }

    #[test]
    fn speed_setpoints_and_ramp_times_are_clamped_like_real_devices_do() {
        let mut s = station();
        // 55 Hz for the maximum speed: the PLC keeps 50 Hz.
        assert!(answer(&mut s, Device::Plc, &Request::WriteSingleRegister(4, 5500)).is_ok());
        assert_eq!(holding(&mut s, Device::Plc, 4), 5000);
        // A 90 s ramp: the drive keeps 60 s.
        let drive = Device::Drive(0);
        assert!(answer(&mut s, drive, &Request::WriteSingleRegister(20, 900)).is_ok());
        assert_eq!(holding(&mut s, drive, 20), 600);
    }

    #[test]
    fn read_only_registers_and_unworkable_values_are_refused() {
        let mut s = station();
        let cases = [
            // The station name is read-only: 02.
            (Device::Plc, 100, 0x4142, ExceptionCode::IllegalDataAddress),
            // A drive's status word is read-only: 02.
            (Device::Drive(0), 0, 0, ExceptionCode::IllegalDataAddress),
            // A lead start above the lag start: 03.
            (Device::Plc, 1, 3000, ExceptionCode::IllegalDataValue),
            // A motor current of 200 A: 03.
            (
                Device::Drive(1),
                22,
                20_000,
                ExceptionCode::IllegalDataValue,
            ),
        ];
        for (device, addr, word, code) in cases {
            assert_eq!(
                answer(&mut s, device, &Request::WriteSingleRegister(addr, word)),
                Err(code),
                "{device:?} holding {addr} := {word}"
            );
        }
    }

    /// When the lead pump first starts, on the plant clock, after the lead start level is set to
    /// `lead_start_mm` at time 0 (both pumps stopped and the level below every start level).
    fn first_start_s(lead_start_mm: u16) -> f64 {
        let mut s = station();
        s.set_manual(0, false);
        s.set_manual(1, false);
        // Begin from a pump-down: wait until both pumps are off.
        let mut waited = 0.0;
        while (s.pump(0).is_running() || s.pump(1).is_running()) && waited < 3600.0 {
            s.advance(1.0);
            waited += 1.0;
        }
        assert!(answer(
            &mut s,
            Device::Plc,
            &Request::WriteSingleRegister(1, lead_start_mm)
        )
        .is_ok());
        let start = s.clock_s();
        while !(s.pump(0).is_running() || s.pump(1).is_running()) {
            s.advance(1.0);
            assert!(
                s.clock_s() - start < 4.0 * 3600.0,
                "no pump started within 4 h"
            );
        }
        s.clock_s() - start
    }

    #[test]
    fn raising_the_start_level_makes_the_pumps_start_later() {
        let at_2_0 = first_start_s(2000);
        let at_2_4 = first_start_s(2400);
        assert!(
            at_2_4 > at_2_0 + 30.0,
            "a lead start at 2.4 m starts the pump later than at 2.0 m: {at_2_4} s vs {at_2_0} s"
        );
        // The same plant clock and seed give the same answer: the physics is deterministic.
        assert_eq!(first_start_s(2400), at_2_4);
    }
}
