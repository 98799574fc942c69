//! The lift station's physics and control on the plant clock, with no network.
//!
//! A wet well of [`WELL_AREA_M2`] fills with inflow and is emptied by two pumps on variable-speed
//! drives. The station PLC's level controller latches a stage (0, 1 or 2 pumps) from the level and the
//! setpoints, runs the lead pump first, substitutes the other pump for a tripped one, and alternates the
//! lead after every pump-down. Drive frequency ramps, current, power, torque, DC-link voltage and heat
//! follow each pump; the power meter sums the loads and integrates energy; run hours and start counters
//! advance. Scenario events (storms, trips, gas, faults) are applied on the same clock.
//!
//! The model only moves in fixed steps of [`STEP_S`] seconds of plant time and draws every random number
//! from one seeded generator, so the plant at a given plant time is the same for the same seed and
//! scenario, however fast the clock runs (as long as no client writes to it).

use crate::rng::Rng;
use crate::scenario::{Event, Scenario};

/// One step of the model, in seconds of plant time.
pub const STEP_S: f64 = 0.1;
/// Wet-well floor area: every 1000 L of imbalance moves the level by 1/7 m.
pub const WELL_AREA_M2: f64 = 7.0;
/// The emergency overflow: the level cannot rise above this.
pub const OVERFLOW_M: f64 = 4.0;
/// The high-level float switch (a backup for the level transmitter) closes at this level.
pub const FLOAT_SWITCH_M: f64 = 3.4;
/// Pumps in manual do not run below this level (dry-run protection).
pub const DRY_RUN_M: f64 = 0.5;

/// Drive fault code: overcurrent.
pub const FAULT_OVERCURRENT: u16 = 1;
/// Drive fault code: DC-link overvoltage.
pub const FAULT_OVERVOLTAGE: u16 = 2;
/// Drive fault code: DC-link undervoltage (mains lost while running).
pub const FAULT_UNDERVOLTAGE: u16 = 3;
/// Drive fault code: motor overload (I²t), what a clogged pump ends in.
pub const FAULT_MOTOR_OVERLOAD: u16 = 4;

/// Nominal motor torque (18.5 kW at 1480 rpm), the 100 % of the torque register.
const NOMINAL_TORQUE_NM: f64 = 119.4;
/// Supply voltage line to line.
const MAINS_V: f64 = 400.0;

/// The level controller's setpoints (the PLC's holding registers, in their raw units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setpoints {
    /// All pumps stop at or below this level (mm).
    pub stop_mm: u16,
    /// The lead pump starts at or above this level (mm).
    pub lead_start_mm: u16,
    /// The lag pump starts at or above this level (mm).
    pub lag_start_mm: u16,
    /// Drive speed at the stop level (0.01 Hz).
    pub min_speed_chz: u16,
    /// Drive speed at the lag start level and above, and in manual (0.01 Hz).
    pub max_speed_chz: u16,
}

impl Default for Setpoints {
    fn default() -> Self {
        Setpoints {
            stop_mm: 800,
            lead_start_mm: 2000,
            lag_start_mm: 2600,
            min_speed_chz: 3500,
            max_speed_chz: 5000,
        }
    }
}

impl Setpoints {
    /// Whether a set of setpoints makes a working controller: stop < lead start <= lag start <= overflow,
    /// and 20 Hz <= min speed <= max speed <= 50 Hz.
    pub fn is_valid(&self) -> bool {
        self.stop_mm >= 100
            && self.stop_mm < self.lead_start_mm
            && self.lead_start_mm <= self.lag_start_mm
            && f64::from(self.lag_start_mm) <= OVERFLOW_M * 1000.0
            && self.min_speed_chz >= 2000
            && self.min_speed_chz <= self.max_speed_chz
            && self.max_speed_chz <= 5000
    }
}

/// One pump and its drive.
#[derive(Debug, Clone)]
pub struct Pump {
    /// The PLC's manual start coil.
    pub manual: bool,
    /// The drive has tripped and waits for a reset.
    pub tripped: bool,
    /// The drive's fault code (0: none).
    pub fault: u16,
    /// Extra load from a clog, 0 (clean) to about 0.35 (about to trip).
    pub clog: f64,
    /// Whether the drive answers on its serial line.
    pub online: bool,
    /// Output frequency (Hz).
    pub freq_hz: f64,
    /// Motor current (A).
    pub current_a: f64,
    /// Shaft power (kW).
    pub power_kw: f64,
    /// Motor speed (rpm).
    pub speed_rpm: f64,
    /// Torque (% of nominal).
    pub torque_pct: f64,
    /// DC-link voltage (V).
    pub dc_link_v: f64,
    /// Heatsink temperature (°C).
    pub heatsink_c: f64,
    /// Total running time (s), including the hours the pump had before the simulation.
    pub run_s: f64,
    /// Starts since commissioning.
    pub starts: u32,
    /// Drive parameters: acceleration time 0-50 Hz (0.1 s), deceleration time (0.1 s), motor nominal
    /// current (0.01 A), motor nominal speed (rpm).
    pub params: [u16; 4],
    was_running: bool,
}

impl Pump {
    fn new(run_hours: f64, starts: u32) -> Pump {
        Pump {
            manual: false,
            tripped: false,
            fault: 0,
            clog: 0.0,
            online: true,
            freq_hz: 0.0,
            current_a: 0.0,
            power_kw: 0.0,
            speed_rpm: 0.0,
            torque_pct: 0.0,
            dc_link_v: 563.0,
            heatsink_c: 28.0,
            run_s: run_hours * 3600.0,
            starts,
            params: [50, 50, 3200, 1480],
            was_running: false,
        }
    }

    /// The drive turns the pump (the PLC's run feedback).
    pub fn is_running(&self) -> bool {
        self.freq_hz > 0.5
    }

    /// Flow this pump delivers alone (L/s): nothing below 15 Hz against the static head, 40 L/s at
    /// 35 Hz, 70 L/s at 50 Hz, less when clogged.
    fn flow_lps(&self, level_m: f64) -> f64 {
        if self.freq_hz <= 15.0 {
            return 0.0;
        }
        70.0 * (self.freq_hz - 15.0) / 35.0 * (1.0 - self.clog) * (1.0 + 0.03 * (level_m - 2.0))
    }
}

/// The power meter's readings.
#[derive(Debug, Clone)]
pub struct Meter {
    /// Phase currents L1, L2, L3 (A).
    pub currents_a: [f64; 3],
    /// Voltages L1-L2, L2-L3, L3-L1 (V).
    pub voltages_v: [f64; 3],
    pub freq_hz: f64,
    pub power_factor: f64,
    pub power_kw: f64,
    /// Imported energy (Wh), including what the meter counted before the simulation.
    pub energy_wh: f64,
}

/// Slowly wandering noise (an Ornstein-Uhlenbeck process): stationary spread `sigma`, memory `tau_s`.
#[derive(Debug, Clone)]
struct Wander {
    value: f64,
    sigma: f64,
    tau_s: f64,
}

impl Wander {
    fn new(sigma: f64, tau_s: f64) -> Wander {
        Wander {
            value: 0.0,
            sigma,
            tau_s,
        }
    }

    fn step(&mut self, rng: &mut Rng, dt: f64) -> f64 {
        self.value +=
            -self.value * dt / self.tau_s + rng.normal(self.sigma * (2.0 * dt / self.tau_s).sqrt());
        self.value
    }
}

/// The whole lift station.
#[derive(Debug, Clone)]
pub struct Station {
    scenario: Scenario,
    rng: Rng,
    /// Plant seconds since start.
    clock_s: f64,
    steps: u64,
    /// True wet-well level (m).
    level_m: f64,
    /// Inflow (L/s).
    inflow_lps: f64,
    /// Discharge flow (L/s).
    flow_lps: f64,
    /// What the instruments show, with their noise: level (m), flow and inflow (L/s).
    level_reading_m: f64,
    flow_reading_lps: f64,
    inflow_reading_lps: f64,
    /// Discharge pressure (bar).
    pressure_bar: f64,
    h2s_ppm: f64,
    o2_pct: f64,
    door_open: bool,
    power_fail: bool,
    /// Index (0 or 1) of the lead pump: the PLC's lead-select coil.
    lead: usize,
    /// Alternate the lead after every pump-down (the PLC's auto-alternate coil).
    auto_alternate: bool,
    /// Pumps the level controller asks for (0, 1 or 2), latched between the levels.
    stage: u8,
    setpoints: Setpoints,
    pumps: [Pump; 2],
    meter: Meter,
    /// How many times every open connection was told to drop (the service compares).
    drop_generation: u64,
    fired: Vec<bool>,
    noise: Noise,
}

#[derive(Debug, Clone)]
struct Noise {
    inflow: Wander,
    h2s: Wander,
    voltage: Wander,
    grid_freq: Wander,
    aux_kw: Wander,
}

impl Station {
    /// The station at the start of a scenario, its noise fixed by `seed`.
    pub fn new(scenario: &Scenario, seed: u64) -> Station {
        let mut pumps = [Pump::new(12_345.67, 4321), Pump::new(12_298.1, 4310)];
        let setpoints = Setpoints::default();
        let level_m = scenario.initial.level_m;
        let stage = scenario.initial.pumps_running.min(2);
        let mut station = Station {
            scenario: scenario.clone(),
            rng: Rng::new(seed),
            clock_s: 0.0,
            steps: 0,
            level_m,
            inflow_lps: scenario.inflow.base_lps,
            flow_lps: 0.0,
            level_reading_m: level_m,
            flow_reading_lps: 0.0,
            inflow_reading_lps: 0.0,
            pressure_bar: 3.3,
            h2s_ppm: 1.2,
            o2_pct: 20.9,
            door_open: false,
            power_fail: false,
            lead: 0,
            auto_alternate: true,
            stage,
            setpoints,
            pumps: {
                // Pumps running at start are already at speed, as if the simulation joined a pump-down.
                let speed = speed_reference(&setpoints, level_m);
                for pump in pumps.iter_mut().take(stage as usize) {
                    pump.freq_hz = speed;
                    pump.was_running = true;
                }
                pumps
            },
            meter: Meter {
                currents_a: [0.0; 3],
                voltages_v: [MAINS_V; 3],
                freq_hz: 50.0,
                power_factor: 0.9,
                power_kw: 0.0,
                energy_wh: 1_845_230_500.0,
            },
            drop_generation: 0,
            fired: vec![false; scenario.events.len()],
            noise: Noise {
                inflow: Wander::new(scenario.inflow.noise_lps, 60.0),
                h2s: Wander::new(0.4, 120.0),
                voltage: Wander::new(1.5, 120.0),
                grid_freq: Wander::new(0.015, 30.0),
                aux_kw: Wander::new(0.05, 60.0),
            },
        };
        // Settle the derived readings (drive current, meter) before anyone reads them.
        station.step();
        station.clock_s = 0.0;
        station.steps = 0;
        station
    }

    /// Runs the plant for `seconds` of plant time, in whole steps.
    pub fn advance(&mut self, seconds: f64) {
        let target = self.steps + (seconds / STEP_S).round().max(0.0) as u64;
        while self.steps < target {
            self.step();
        }
    }

    /// Runs whole steps until the plant clock reaches `clock_s`.
    pub fn advance_to(&mut self, clock_s: f64) {
        let target = (clock_s / STEP_S).floor().max(0.0) as u64;
        while self.steps < target {
            self.step();
        }
    }

    /// Plant seconds since start.
    pub fn clock_s(&self) -> f64 {
        self.clock_s
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// True wet-well level (m), without measurement noise.
    pub fn level_m(&self) -> f64 {
        self.level_m
    }

    /// The level transmitter's reading (m): the true level with a few millimetres of noise.
    pub fn level_reading_m(&self) -> f64 {
        self.level_reading_m
    }

    /// True inflow (L/s).
    pub fn inflow_lps(&self) -> f64 {
        self.inflow_lps
    }

    /// The PLC's inflow estimate (L/s), noisier than the flow meter.
    pub fn inflow_reading_lps(&self) -> f64 {
        self.inflow_reading_lps
    }

    /// True discharge flow (L/s).
    pub fn flow_lps(&self) -> f64 {
        self.flow_lps
    }

    /// The flow meter's reading (L/s); zero when nothing flows.
    pub fn flow_reading_lps(&self) -> f64 {
        self.flow_reading_lps
    }

    pub fn pressure_bar(&self) -> f64 {
        self.pressure_bar
    }

    pub fn h2s_ppm(&self) -> f64 {
        self.h2s_ppm
    }

    pub fn o2_pct(&self) -> f64 {
        self.o2_pct
    }

    pub fn door_open(&self) -> bool {
        self.door_open
    }

    pub fn power_fail(&self) -> bool {
        self.power_fail
    }

    /// The float switch closes at [`FLOAT_SWITCH_M`].
    pub fn float_high(&self) -> bool {
        self.level_m >= FLOAT_SWITCH_M
    }

    /// Pump 1 or 2 (index 0 or 1).
    pub fn pump(&self, index: usize) -> &Pump {
        &self.pumps[index.min(1)]
    }

    /// Index (0 or 1) of the lead pump.
    pub fn lead(&self) -> usize {
        self.lead
    }

    pub fn auto_alternate(&self) -> bool {
        self.auto_alternate
    }

    pub fn setpoints(&self) -> Setpoints {
        self.setpoints
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Grows each time a `drop_connections` event fires.
    pub fn drop_generation(&self) -> u64 {
        self.drop_generation
    }

    /// Sets or clears a pump's manual start (coil).
    pub fn set_manual(&mut self, index: usize, on: bool) {
        self.pumps[index.min(1)].manual = on;
    }

    /// Resets tripped drives (the reset coil); a clog is cleared with it, as the crew rods the pump.
    pub fn reset_trips(&mut self) {
        for pump in &mut self.pumps {
            pump.tripped = false;
            pump.fault = 0;
            pump.clog = 0.0;
        }
    }

    /// Selects the lead pump (index 0 or 1).
    pub fn set_lead(&mut self, index: usize) {
        self.lead = index.min(1);
    }

    pub fn set_auto_alternate(&mut self, on: bool) {
        self.auto_alternate = on;
    }

    /// Changes the controller's setpoints; refused (false) when they would not make a working controller.
    pub fn set_setpoints(&mut self, setpoints: Setpoints) -> bool {
        if !setpoints.is_valid() {
            return false;
        }
        self.setpoints = setpoints;
        true
    }

    /// Whether a drive accepts `value` for parameter `index` (into [`Pump::params`]): ramp times
    /// 1-60 s, nominal current 1-100 A, nominal speed 100-3600 rpm.
    pub fn drive_param_valid(index: usize, value: u16) -> bool {
        match index {
            0 | 1 => (10..=600).contains(&value),
            2 => (100..=10_000).contains(&value),
            3 => (100..=3_600).contains(&value),
            _ => false,
        }
    }

    /// Writes a drive parameter (index into [`Pump::params`]); refused (false) when out of range.
    pub fn set_drive_param(&mut self, pump: usize, index: usize, value: u16) -> bool {
        let ok = Station::drive_param_valid(index, value);
        if ok {
            self.pumps[pump.min(1)].params[index] = value;
        }
        ok
    }

    /// One step of [`STEP_S`].
    fn step(&mut self) {
        let dt = STEP_S;
        self.steps += 1;
        self.clock_s = self.steps as f64 * STEP_S;
        let t = self.clock_s;

        let effects = self.apply_events(t);
        self.door_open = effects.door_open;
        self.power_fail = effects.power_fail;
        for (pump, online) in self.pumps.iter_mut().zip(effects.drive_online) {
            pump.online = online;
        }

        // Inflow: the day's pattern (peak mid-morning), a slow wander, and any storm.
        let hour = (self.scenario.start_hour + t / 3600.0) % 24.0;
        let daily = self.scenario.inflow.daily_swing_lps
            * (std::f64::consts::TAU * (hour - 4.0) / 24.0).sin();
        let wander = self.noise.inflow.step(&mut self.rng, dt);
        self.inflow_lps =
            (self.scenario.inflow.base_lps + daily + wander + effects.storm_lps).max(0.0);

        self.control();
        let speed_ref = speed_reference(&self.setpoints, self.level_m);
        let manual_speed = f64::from(self.setpoints.max_speed_chz) / 100.0;
        let stage = self.stage as usize;
        let order = [self.lead, 1 - self.lead];
        let available: Vec<usize> = order
            .into_iter()
            .filter(|&i| !self.pumps[i].tripped)
            .collect();
        let level = self.level_m;
        let power_fail = self.power_fail;
        for (i, pump) in self.pumps.iter_mut().enumerate() {
            let auto_run = available.iter().take(stage).any(|&a| a == i);
            let manual_run = pump.manual && level > DRY_RUN_M;
            let run = (auto_run || manual_run) && !pump.tripped && !power_fail;
            let target = if !run {
                0.0
            } else if manual_run {
                manual_speed
            } else {
                speed_ref
            };
            step_drive(pump, target, power_fail, dt, &mut self.rng);
        }

        // Hydraulics: two pumps on one rising main give less than twice the flow of one.
        let flows: f64 = self.pumps.iter().map(|p| p.flow_lps(level)).sum();
        let both = self.pumps.iter().all(Pump::is_running);
        self.flow_lps = if both { flows * 0.78 } else { flows };
        self.level_m = (self.level_m
            + (self.inflow_lps - self.flow_lps) / 1000.0 * dt / WELL_AREA_M2)
            .clamp(0.0, OVERFLOW_M);
        // The non-return valves hold the static head; friction adds with the square of the flow.
        self.pressure_bar = if power_fail && self.flow_lps == 0.0 {
            3.3
        } else {
            3.3 + 1.5 * (self.flow_lps / 110.0).powi(2)
        };

        // Instruments: an ultrasonic level sensor (about 2 mm of noise), a magnetic flow meter, a pressure
        // transmitter, and the PLC's inflow estimate from the level's slope (noisy).
        self.level_reading_m = (self.level_m + self.rng.normal(0.002)).max(0.0);
        self.flow_reading_lps = if self.flow_lps > 0.0 {
            (self.flow_lps + self.rng.normal(0.4)).max(0.0)
        } else {
            0.0
        };
        self.inflow_reading_lps = (self.inflow_lps + self.rng.normal(1.0)).max(0.0);
        self.pressure_bar += self.rng.normal(0.01);

        // Gas: a little H2S always, bursts during a release; oxygen displaced at each burst.
        let h2s_base = (1.2 + self.noise.h2s.step(&mut self.rng, dt)).max(0.0);
        self.h2s_ppm = h2s_base + effects.h2s_burst_ppm;
        self.o2_pct = 20.9 - effects.o2_dip_pct + self.rng.normal(0.03);

        self.step_meter(dt);
    }

    /// The level controller: latch the stage from the level, alternate after a pump-down.
    fn control(&mut self) {
        let sp = self.setpoints;
        let level_mm = self.level_m * 1000.0;
        let before = self.stage;
        if level_mm <= f64::from(sp.stop_mm) {
            self.stage = 0;
        } else if level_mm >= f64::from(sp.lag_start_mm) {
            self.stage = 2;
        } else if level_mm >= f64::from(sp.lead_start_mm) {
            self.stage = self.stage.max(1);
        }
        if before > 0 && self.stage == 0 && self.auto_alternate {
            self.lead = 1 - self.lead;
        }
    }

    fn step_meter(&mut self, dt: f64) {
        let rng = &mut self.rng;
        let aux_kw = 1.2 + self.noise.aux_kw.step(rng, dt);
        let voltage = MAINS_V + self.noise.voltage.step(rng, dt);
        let grid_freq = 50.0 + self.noise.grid_freq.step(rng, dt);
        let meter = &mut self.meter;
        if self.power_fail {
            meter.currents_a = [0.0; 3];
            meter.voltages_v = [0.0; 3];
            meter.freq_hz = 0.0;
            meter.power_factor = 0.0;
            meter.power_kw = 0.0;
            return;
        }
        let drives_kw: f64 = self.pumps.iter().map(|p| p.power_kw).sum::<f64>() / 0.97;
        let running = self.pumps.iter().any(Pump::is_running);
        meter.power_kw = drives_kw + aux_kw;
        meter.power_factor = ((if running { 0.93 } else { 0.88 }) + rng.normal(0.003)).min(0.99);
        let phase_current = meter.power_kw * 1000.0 / (3f64.sqrt() * voltage * meter.power_factor);
        // Small, fixed imbalances between phases, as on any real supply.
        for (i, (v_offset, i_share)) in [(0.0, 1.0), (0.8, 1.012), (-0.6, 0.988)]
            .into_iter()
            .enumerate()
        {
            meter.voltages_v[i] = voltage + v_offset - 0.02 * phase_current + rng.normal(0.1);
            meter.currents_a[i] = (phase_current * i_share + rng.normal(0.02)).max(0.0);
        }
        meter.freq_hz = grid_freq;
        meter.energy_wh += meter.power_kw * 1000.0 * dt / 3600.0;
    }

    /// What the scenario's events do at plant time `t`; one-shot events fire here once.
    fn apply_events(&mut self, t: f64) -> Effects {
        let mut fx = Effects {
            drive_online: [true, true],
            ..Effects::default()
        };
        let events = self.scenario.events.clone();
        for (i, event) in events.iter().enumerate() {
            match *event {
                Event::Storm {
                    at_s,
                    for_s,
                    ramp_s,
                    peak_lps,
                } => {
                    let x = t - at_s;
                    if x >= 0.0 && x < for_s {
                        let rise = if ramp_s > 0.0 {
                            (x / ramp_s).min(1.0)
                        } else {
                            1.0
                        };
                        let fall = if ramp_s > 0.0 {
                            ((for_s - x) / ramp_s).min(1.0)
                        } else {
                            1.0
                        };
                        fx.storm_lps += peak_lps * rise.min(fall);
                    }
                }
                Event::PumpTrip {
                    at_s,
                    pump,
                    fault,
                    build_up_s,
                } => {
                    let p = usize::from(pump - 1);
                    if !self.fired[i] {
                        if t >= at_s {
                            self.fired[i] = true;
                            self.pumps[p].tripped = true;
                            self.pumps[p].fault = fault;
                        } else if build_up_s > 0.0 && t >= at_s - build_up_s {
                            self.pumps[p].clog = 0.35 * (t - (at_s - build_up_s)) / build_up_s;
                        }
                    }
                }
                Event::DriveOffline {
                    at_s,
                    for_s,
                    pump,
                    repeat_every_s,
                } => {
                    let x = t - at_s;
                    let phase = match repeat_every_s {
                        Some(every) if x >= 0.0 => x % every,
                        _ => x,
                    };
                    if phase >= 0.0 && phase < for_s {
                        fx.drive_online[usize::from(pump - 1)] = false;
                    }
                }
                Event::GasRelease {
                    at_s,
                    for_s,
                    h2s_peak_ppm,
                    period_s,
                    o2_low_pct,
                } => {
                    let x = t - at_s;
                    if x >= 0.0 && x < for_s {
                        // One burst per period, smooth at both ends: sin² of the phase.
                        let pulse = (std::f64::consts::PI * x / period_s).sin().powi(2);
                        fx.h2s_burst_ppm += h2s_peak_ppm * pulse;
                        fx.o2_dip_pct = fx.o2_dip_pct.max((20.9 - o2_low_pct) * pulse);
                    }
                }
                Event::DoorOpen { at_s, for_s } => fx.door_open |= t >= at_s && t < at_s + for_s,
                Event::PowerFail { at_s, for_s } => fx.power_fail |= t >= at_s && t < at_s + for_s,
                Event::DropConnections { at_s } => {
                    if !self.fired[i] && t >= at_s {
                        self.fired[i] = true;
                        self.drop_generation += 1;
                    }
                }
            }
        }
        fx
    }
}

/// What the events do in one step.
#[derive(Debug, Default)]
struct Effects {
    storm_lps: f64,
    drive_online: [bool; 2],
    h2s_burst_ppm: f64,
    o2_dip_pct: f64,
    door_open: bool,
    power_fail: bool,
}

/// The drives' speed in auto: minimum speed at the stop level, rising to the maximum at the lag start.
fn speed_reference(sp: &Setpoints, level_m: f64) -> f64 {
    let stop = f64::from(sp.stop_mm) / 1000.0;
    let lag = f64::from(sp.lag_start_mm) / 1000.0;
    let min = f64::from(sp.min_speed_chz) / 100.0;
    let max = f64::from(sp.max_speed_chz) / 100.0;
    let x = ((level_m - stop) / (lag - stop).max(0.01)).clamp(0.0, 1.0);
    min + (max - min) * x
}

/// One step of a drive: ramp towards the target frequency, then the electrical readings follow.
fn step_drive(pump: &mut Pump, target_hz: f64, power_fail: bool, dt: f64, rng: &mut Rng) {
    let accel = 50.0 / (f64::from(pump.params[0]) / 10.0);
    let decel = 50.0 / (f64::from(pump.params[1]) / 10.0);
    if power_fail {
        // Without mains the drive coasts to a stop at once and its DC link discharges.
        pump.freq_hz = 0.0;
    } else if pump.freq_hz < target_hz {
        pump.freq_hz = (pump.freq_hz + accel * dt).min(target_hz);
    } else {
        pump.freq_hz = (pump.freq_hz - decel * dt).max(target_hz);
    }
    let running = pump.is_running();
    if running && !pump.was_running {
        pump.starts += 1;
    }
    pump.was_running = running;
    let f = pump.freq_hz / 50.0;
    if running {
        pump.run_s += dt;
        pump.current_a = (18.0 + 10.0 * f.powi(3)) * (1.0 + pump.clog) + rng.normal(0.08);
        pump.speed_rpm = pump.freq_hz * 29.6;
        pump.power_kw = 3f64.sqrt() * MAINS_V * pump.current_a * 0.85 * f / 1000.0;
        let omega = std::f64::consts::TAU * pump.speed_rpm / 60.0;
        pump.torque_pct = pump.power_kw * 1000.0 / omega / NOMINAL_TORQUE_NM * 100.0;
    } else {
        pump.freq_hz = 0.0;
        pump.current_a = 0.0;
        pump.speed_rpm = 0.0;
        pump.power_kw = 0.0;
        pump.torque_pct = 0.0;
    }
    pump.dc_link_v = if power_fail {
        0.0
    } else {
        563.0 - 0.6 * pump.current_a + rng.normal(0.4)
    };
    // The heatsink follows the current with a five-minute time constant.
    let heat_target = 28.0 + 0.9 * pump.current_a;
    pump.heatsink_c += (heat_target - pump.heatsink_c) * dt / 300.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_plant() {
        let scenario = Scenario::normal();
        let mut a = Station::new(&scenario, 9);
        let mut b = Station::new(&scenario, 9);
        a.advance(600.0);
        b.advance(600.0);
        assert_eq!(a.level_m(), b.level_m());
        assert_eq!(a.meter().energy_wh, b.meter().energy_wh);
        let mut c = Station::new(&scenario, 10);
        c.advance(600.0);
        assert_ne!(a.level_m(), c.level_m(), "another seed gives other noise");
    }

    #[test]
    fn setpoints_must_make_a_working_controller() {
        assert!(Setpoints::default().is_valid());
        let upside_down = Setpoints {
            stop_mm: 2500,
            ..Setpoints::default()
        };
        assert!(!upside_down.is_valid());
    }
}
