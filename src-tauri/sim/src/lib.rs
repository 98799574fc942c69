//! The built-in simulated plant: a duplex lift station served over Modbus (a tokio-modbus server).
//!
//! A new user has no PLC on the desk; this crate gives them (and our tests) a living plant. It has four
//! layers, each usable on its own:
//!
//! - [`Station`] ([`station`]): the physics and the PLC's level control on a plant clock, stepped in
//!   fixed steps with one seeded generator, so a seed and a scenario fix the whole run. No network.
//! - [`registers`]: how each device answers a Modbus request from the station's state (the register
//!   map below, the exceptions, the writes). A pure function, also used by the physics tests.
//! - [`Scenario`] ([`scenario`]): what happens to the plant, from `assets/sim/*.toml` (embedded) or a
//!   file: `normal`, `storm`, `pump-trip`, `gas-flood`, `comm-faults`.
//! - [`SimServer`]: serves the station over Modbus TCP, RTU over TCP or RTU on a serial port, one
//!   listener answering every unit id like a TCP-to-RTU gateway, runs the plant clock `speed` times
//!   faster than real time, and injects latency and dropped connections.
//!
//! [`demo_plant`] returns the matching plant config (`assets/demo-plant.toml`, embedded, parsed with
//! `plantwatch-config`) pointed at a running simulator, so the desktop can monitor an in-process
//! simulator with no second program.
//!
//! # The register map
//!
//! Addresses are 0-based protocol addresses. Multi-register values are big-endian (ABCD) unless noted.
//!
//! **Station PLC, unit 1** (functions 1, 2, 3, 4, 5, 6, 15, 16)
//!
//! | table | address | value | type | unit |
//! |---|---|---|---|---|
//! | input | 0 | wet-well level | u16 | 0.001 m |
//! | input | 1 | discharge pressure | u16 | 0.01 bar |
//! | input | 2-3 | discharge flow | f32 **CDAB** | L/s |
//! | input | 4 | H2S | u16 | 0.1 ppm |
//! | input | 5 | O2 | u16 | 0.1 % |
//! | input | 6-9 | *the deliberate hole: exception 02* | | |
//! | input | 10-11, 12-13 | pump 1, pump 2 run hours | u32 | 0.01 h |
//! | input | 14, 15 | pump 1, pump 2 starts | u16 | |
//! | input | 16-17 | inflow (estimated) | f32 **CDAB** | L/s |
//! | discrete | 0-6 | pump 1 running, pump 1 tripped, pump 2 running, pump 2 tripped, high-level float (3.4 m), door open, power fail | bit | |
//! | coil | 0, 1 | pump 1, pump 2 manual start (runs at max speed above 0.5 m) | bit | |
//! | coil | 2 | fault reset: writing 1 resets tripped drives (reads 0) | bit | |
//! | coil | 3 | lead pump select: 0 pump 1, 1 pump 2 | bit | |
//! | coil | 4 | alternate the lead after each pump-down | bit | |
//! | holding | 0, 1, 2 | stop 800, lead start 2000, lag start 2600 | u16 | mm |
//! | holding | 3, 4 | drive speed at the stop level 3500, at the lag start 5000 | u16 | 0.01 Hz |
//! | holding | 100-107 | station name "Lift station 4" (read-only) | string, 8 registers | |
//!
//! Setpoint writes that would not make a working controller (stop < lead start <= lag start <= 4 m,
//! min speed <= max speed) answer 03 and change nothing. The speed setpoints are first clamped to
//! 20-50 Hz, as PLCs clamp analog setpoints, so a write of 55 Hz reads back 50 Hz; likewise the drives
//! clamp their ramp times (parameters 20 and 21) to 1-60 s and refuse motor data out of range with 03.
//!
//! **Drives, units 11 (pump 1) and 12 (pump 2)** (functions 3, 6, 16; reads of at most 16 registers)
//!
//! | holding | value | type | unit |
//! |---|---|---|---|
//! | 0 | status word: bit 0 ready, 1 running, 2 fault, 3 current above nominal, 4 remote | u16 | |
//! | 1 | output frequency (35-50 running) | u16 | 0.01 Hz |
//! | 2 | motor current (about 20-30 running) | u16 | 0.01 A |
//! | 3 | motor speed | u16 | rpm |
//! | 4 | torque | i16 | 0.1 % |
//! | 5 | shaft power | u16 | 0.1 kW |
//! | 6 | DC-link voltage (540-565) | u16 | 0.1 V |
//! | 7 | fault code: 0 none, 1 overcurrent, 2 overvoltage, 3 undervoltage, 4 motor overload | u16 | |
//! | 8 | heatsink temperature | i16 | 0.1 °C |
//! | 9-19 | *unmapped: exception 02* | | |
//! | 20-23 | parameters (read/write): acceleration, deceleration time 0-50 Hz (0.1 s); motor nominal current (0.01 A); nominal speed (rpm) | u16 | |
//!
//! **Power meter, unit 21** (function 4 only)
//!
//! | input | value | type | unit |
//! |---|---|---|---|
//! | 0-1, 2-3, 4-5 | phase currents L1, L2, L3 | u32 | 0.001 A |
//! | 6-7, 8-9, 10-11 | voltages L1-L2, L2-L3, L3-L1 (400 nominal) | u32 | 0.1 V |
//! | 12 | frequency | u16 | 0.01 Hz |
//! | 13 | power factor | u16 | 0.01 |
//! | 14-15 | active power | u32 | 0.01 kW |
//! | 16-19 | imported energy | u64 | 0.001 kWh (Wh) |
//!
//! **Mystery device, unit 37** ([`mystery`]; only with [`SimOptions::with_mystery`], else absent like any
//! unit without a device) (functions 3, 4, 43/14; reads of at most 125 registers)
//!
//! | table | address | value | type |
//! |---|---|---|---|
//! | holding | 0 | status word 0x0005: bit 0 ready, bit 2 remote | u16 |
//! | holding | 1, 2 | 230, 1200 | u16 |
//! | holding | 3-4 | temperature near 42.5 °C, moving a little | f32 **CDAB** |
//! | holding | 5 | 1450 | u16 |
//! | holding | 6-9 | energy counter, Wh, one more each plant second | u64 **GHEFCDAB** |
//! | holding | 100-123 | parameters 1, 11, 21, ... 231 | u16 |
//! | holding | 3000-3015 | 37, 192, then zeros | u16 |
//! | input | 0-7 | 1000, 1111, ... 1777 | u16 |
//!
//! Everything else answers 02. Device identification (FC 43/14, regular conformity 0x82): VendorName
//! "Plantwatch Training", ProductCode "PWT-MB37", MajorMinorRevision "1.4", ProductName "Mystery box",
//! ModelName "MB-37 rev B".
//!
//! # Exceptions
//!
//! 01 for a function the device does not implement; 03 for a quantity outside the protocol's limits
//! (1-125 registers, 1-2000 bits, 1-123 registers or 1-1968 coils written) or over a drive's 16-register
//! cap; 02 when any address of the range is unmapped (checked after the quantity); 03 for a refused
//! write value. Over Modbus TCP, unit ids with no device and drives taken offline answer 0B (gateway
//! target device failed to respond); over RTU and RTU over TCP they do not answer at all, as on a real
//! line. Unit 0 (broadcast) is never answered.

pub mod demo;
pub mod mystery;
pub mod registers;
pub mod rng;
pub mod scenario;
pub mod server;
mod service;
pub mod station;

pub use demo::{
    default_listen, demo_picture, demo_plant, demo_plant_as_shipped, demo_plant_with_history,
    DEMO_PLANT_TOML,
};
pub use scenario::{Scenario, ScenarioError};
pub use server::{SerialPort, SimError, SimOptions, SimServer, Transport, MAX_SPEED};
pub use station::Station;
