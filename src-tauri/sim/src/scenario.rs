//! Scenarios: what happens to the plant, as TOML files.
//!
//! The built-in scenarios live in `assets/sim/*.toml` and are embedded in the binary, so
//! `plantwatch simulate --scenario storm` works from any folder; a path to a file of the same form
//! works too. Unknown keys are errors, and every value is checked once here, so the plant model trusts
//! what it gets.
//!
//! ```toml
//! description = "A normal dry-weather day"
//! start_hour = 8.0          # time of day on the plant clock at start (inflow follows the day)
//!
//! [initial]
//! level_m = 1.6             # wet-well level at start
//! pumps_running = 1         # pumps already running at start (0, 1 or 2)
//!
//! [inflow]
//! base_lps = 24.0           # mean inflow
//! daily_swing_lps = 10.0    # amplitude of the daily pattern (peak mid-morning)
//! noise_lps = 1.5           # spread of the inflow's slow random wander
//!
//! [comm]
//! latency_ms = 0            # every answer waits this long ...
//! jitter_ms = 0             # ... plus up to this much more
//! drop_every = 0            # close the connection instead of answering every Nth request (0: never)
//!
//! [[events]]                # any number, any order; times on the plant clock, seconds from start
//! kind = "storm"            # storm | pump_trip | drive_offline | gas_release | door_open | power_fail
//! at_s = 60.0               #   | drop_connections
//! for_s = 900.0
//! ramp_s = 120.0
//! peak_lps = 200.0
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The scenarios shipped with Plantwatch, by name, with their TOML text.
pub const BUILT_IN: [(&str, &str); 5] = [
    ("normal", include_str!("../../../assets/sim/normal.toml")),
    ("storm", include_str!("../../../assets/sim/storm.toml")),
    (
        "pump-trip",
        include_str!("../../../assets/sim/pump-trip.toml"),
    ),
    (
        "gas-flood",
        include_str!("../../../assets/sim/gas-flood.toml"),
    ),
    (
        "comm-faults",
        include_str!("../../../assets/sim/comm-faults.toml"),
    ),
];

/// A scenario that could not be found or understood.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("no scenario named '{name}' (built in: normal, storm, pump-trip, gas-flood, comm-faults; or give a path to a .toml file)")]
    UnknownName { name: String },
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("scenario {origin}: event {index} ({kind}): {problem}")]
    BadEvent {
        origin: String,
        index: usize,
        kind: &'static str,
        problem: String,
    },
    #[error("scenario {origin}: {problem}")]
    BadValue { origin: String, problem: String },
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The built-in name, or the file stem of a scenario file.
    pub name: String,
    pub description: String,
    /// Time of day (hours, 0-24) on the plant clock when the simulation starts.
    pub start_hour: f64,
    pub initial: Initial,
    pub inflow: Inflow,
    pub comm: Comm,
    pub events: Vec<Event>,
}

/// The plant's state at start.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Initial {
    #[serde(default = "default_level")]
    pub level_m: f64,
    #[serde(default = "default_pumps_running")]
    pub pumps_running: u8,
}

/// Dry-weather inflow to the wet well.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inflow {
    #[serde(default = "default_base_inflow")]
    pub base_lps: f64,
    #[serde(default = "default_daily_swing")]
    pub daily_swing_lps: f64,
    #[serde(default = "default_inflow_noise")]
    pub noise_lps: f64,
}

/// Communication faults applied to every answer.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comm {
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
    /// Close the connection instead of answering every Nth request; 0 never does.
    #[serde(default)]
    pub drop_every: u64,
}

/// Something that happens to the plant at a time on its clock (seconds since start).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// Storm water: inflow rises by `peak_lps` over `ramp_s`, holds, and falls back over `ramp_s`;
    /// `for_s` counts from the start of the rise to the end of the fall.
    Storm {
        at_s: f64,
        for_s: f64,
        ramp_s: f64,
        peak_lps: f64,
    },
    /// The pump clogs: its current climbs over `build_up_s`, then its drive trips with `fault`.
    PumpTrip {
        at_s: f64,
        pump: u8,
        #[serde(default = "default_fault")]
        fault: u16,
        #[serde(default = "default_build_up")]
        build_up_s: f64,
    },
    /// The pump's drive stops answering (the gateway answers 0B for it), then comes back;
    /// with `repeat_every_s` it happens again and again.
    DriveOffline {
        at_s: f64,
        for_s: f64,
        pump: u8,
        repeat_every_s: Option<f64>,
    },
    /// Hydrogen sulphide comes in bursts of `period_s`, each peaking at `h2s_peak_ppm`; oxygen dips to
    /// `o2_low_pct` at each peak.
    GasRelease {
        at_s: f64,
        for_s: f64,
        h2s_peak_ppm: f64,
        period_s: f64,
        #[serde(default = "default_o2_low")]
        o2_low_pct: f64,
    },
    /// The station door stands open.
    DoorOpen { at_s: f64, for_s: f64 },
    /// Mains power fails: pumps stop, the power-fail input is set.
    PowerFail { at_s: f64, for_s: f64 },
    /// Every open connection is closed at its next request (a gateway rebooting).
    DropConnections { at_s: f64 },
}

impl Event {
    /// The config spelling of the event kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Storm { .. } => "storm",
            Event::PumpTrip { .. } => "pump_trip",
            Event::DriveOffline { .. } => "drive_offline",
            Event::GasRelease { .. } => "gas_release",
            Event::DoorOpen { .. } => "door_open",
            Event::PowerFail { .. } => "power_fail",
            Event::DropConnections { .. } => "drop_connections",
        }
    }

    /// Checks the numbers of one event; the message says which key is wrong.
    fn check(&self) -> Result<(), String> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a positive number, not {v}"))
            }
        };
        let at = |v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("at_s must be zero or more, not {v}"))
            }
        };
        let pump_no = |p: u8| {
            if p == 1 || p == 2 {
                Ok(())
            } else {
                Err(format!("pump must be 1 or 2, not {p}"))
            }
        };
        match *self {
            Event::Storm {
                at_s,
                for_s,
                ramp_s,
                peak_lps,
            } => {
                at(at_s)?;
                positive("for_s", for_s)?;
                positive("peak_lps", peak_lps)?;
                if !(ramp_s >= 0.0 && 2.0 * ramp_s <= for_s) {
                    return Err(format!(
                        "ramp_s ({ramp_s}) must be between 0 and half of for_s ({for_s})"
                    ));
                }
                Ok(())
            }
            Event::PumpTrip {
                at_s,
                pump,
                fault,
                build_up_s,
            } => {
                at(at_s)?;
                pump_no(pump)?;
                if fault == 0 {
                    return Err("fault must be a non-zero drive fault code".into());
                }
                if !(build_up_s >= 0.0 && build_up_s <= at_s) {
                    return Err(format!(
                        "build_up_s ({build_up_s}) must be between 0 and at_s ({at_s})"
                    ));
                }
                Ok(())
            }
            Event::DriveOffline {
                at_s,
                for_s,
                pump,
                repeat_every_s,
            } => {
                at(at_s)?;
                positive("for_s", for_s)?;
                pump_no(pump)?;
                if let Some(every) = repeat_every_s {
                    if !(every.is_finite() && every > for_s) {
                        return Err(format!(
                            "repeat_every_s ({every}) must be longer than for_s ({for_s})"
                        ));
                    }
                }
                Ok(())
            }
            Event::GasRelease {
                at_s,
                for_s,
                h2s_peak_ppm,
                period_s,
                o2_low_pct,
            } => {
                at(at_s)?;
                positive("for_s", for_s)?;
                positive("h2s_peak_ppm", h2s_peak_ppm)?;
                positive("period_s", period_s)?;
                if !(0.0..=20.9).contains(&o2_low_pct) {
                    return Err(format!(
                        "o2_low_pct must be between 0 and 20.9, not {o2_low_pct}"
                    ));
                }
                Ok(())
            }
            Event::DoorOpen { at_s, for_s } | Event::PowerFail { at_s, for_s } => {
                at(at_s)?;
                positive("for_s", for_s)
            }
            Event::DropConnections { at_s } => at(at_s),
        }
    }
}

/// The file form, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    description: String,
    #[serde(default = "default_start_hour")]
    start_hour: f64,
    #[serde(default = "Initial::default")]
    initial: Initial,
    #[serde(default = "Inflow::default")]
    inflow: Inflow,
    #[serde(default)]
    comm: Comm,
    #[serde(default)]
    events: Vec<Event>,
}

impl Default for Initial {
    fn default() -> Self {
        Initial {
            level_m: default_level(),
            pumps_running: default_pumps_running(),
        }
    }
}

impl Default for Inflow {
    fn default() -> Self {
        Inflow {
            base_lps: default_base_inflow(),
            daily_swing_lps: default_daily_swing(),
            noise_lps: default_inflow_noise(),
        }
    }
}

fn default_level() -> f64 {
    1.6
}
fn default_pumps_running() -> u8 {
    1
}
fn default_base_inflow() -> f64 {
    24.0
}
fn default_daily_swing() -> f64 {
    10.0
}
fn default_inflow_noise() -> f64 {
    1.5
}
fn default_start_hour() -> f64 {
    8.0
}
fn default_fault() -> u16 {
    crate::station::FAULT_MOTOR_OVERLOAD
}
fn default_build_up() -> f64 {
    0.0
}
fn default_o2_low() -> f64 {
    19.0
}

impl Scenario {
    /// A built-in scenario by name (`normal`, `storm`, ...), or a scenario file when `name_or_path`
    /// names one (it contains a path separator or ends in `.toml`).
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        let looks_like_path = name_or_path.contains(std::path::MAIN_SEPARATOR)
            || name_or_path.contains('/')
            || name_or_path.ends_with(".toml");
        if looks_like_path {
            return Scenario::from_file(Path::new(name_or_path));
        }
        Scenario::built_in(name_or_path)
    }

    /// One of the scenarios shipped in `assets/sim/`.
    pub fn built_in(name: &str) -> Result<Scenario, ScenarioError> {
        let (name, text) = BUILT_IN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            ScenarioError::UnknownName {
                name: name.to_string(),
            }
        })?;
        Scenario::parse(name, text, name)
    }

    /// The normal day, which every built-in default starts from.
    pub fn normal() -> Scenario {
        // The embedded normal.toml is checked by a unit test, so this cannot fail in a release.
        Scenario::built_in("normal")
            .unwrap_or_else(|e| panic!("the built-in normal scenario is broken: {e}"))
    }

    /// A scenario file; its name is the file stem.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Scenario::parse(&name, &text, &path.display().to_string())
    }

    /// Parses and checks scenario text. `origin` names it in error messages (a path or a name).
    pub fn parse(name: &str, text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let bad = |problem: String| ScenarioError::BadValue {
            origin: origin.to_string(),
            problem,
        };
        if !(0.0..24.0).contains(&file.start_hour) {
            return Err(bad(format!(
                "start_hour must be between 0 and 24, not {}",
                file.start_hour
            )));
        }
        if !(0.0..=4.0).contains(&file.initial.level_m) {
            return Err(bad(format!(
                "initial.level_m must be between 0 and 4 m, not {}",
                file.initial.level_m
            )));
        }
        if file.initial.pumps_running > 2 {
            return Err(bad(format!(
                "initial.pumps_running must be 0, 1 or 2, not {}",
                file.initial.pumps_running
            )));
        }
        let inflow = file.inflow;
        for (key, v) in [
            ("base_lps", inflow.base_lps),
            ("daily_swing_lps", inflow.daily_swing_lps),
            ("noise_lps", inflow.noise_lps),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(format!("inflow.{key} must be zero or more, not {v}")));
            }
        }
        if inflow.daily_swing_lps > inflow.base_lps {
            return Err(bad("inflow.daily_swing_lps must not exceed inflow.base_lps (inflow cannot go negative)".into()));
        }
        for (i, event) in file.events.iter().enumerate() {
            event.check().map_err(|problem| ScenarioError::BadEvent {
                origin: origin.to_string(),
                index: i + 1,
                kind: event.kind(),
                problem,
            })?;
        }
        Ok(Scenario {
            name: name.to_string(),
            description: file.description,
            start_hour: file.start_hour,
            initial: file.initial,
            inflow,
            comm: file.comm,
            events: file.events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_parses() {
        for (name, _) in BUILT_IN {
            let scenario = Scenario::built_in(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(scenario.name, name);
            assert!(!scenario.description.is_empty(), "{name} has a description");
        }
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_place() {
        let err = Scenario::parse("x", "description = \"d\"\n[inflow]\nbase = 3\n", "x.toml")
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(
            text.contains("x.toml")
                && text.contains("unknown field `base`")
                && text.contains("line 3"),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_inside_events_are_rejected() {
        let text = "description = \"d\"\n[[events]]\nkind = \"door_open\"\nat_s = 1\nfor_s = 2\ncolour = \"red\"\n";
        let err = Scenario::parse("x", text, "x.toml").expect_err("unknown key in event");
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn event_values_are_checked() {
        let text = "description = \"d\"\n[[events]]\nkind = \"pump_trip\"\nat_s = 10\npump = 3\n";
        let err = Scenario::parse("x", text, "x.toml").expect_err("pump 3");
        assert_eq!(
            err.to_string(),
            "scenario x.toml: event 1 (pump_trip): pump must be 1 or 2, not 3"
        );
    }

    #[test]
    fn unknown_names_list_the_built_in_ones() {
        let err = Scenario::load("hurricane").expect_err("no such scenario");
        assert!(
            err.to_string()
                .contains("normal, storm, pump-trip, gas-flood, comm-faults"),
            "{err}"
        );
    }
}
