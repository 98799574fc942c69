//! The plant the window shows: its engine, and the in-process simulator when it is the demo plant.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plantwatch_core::Plant;
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_modbus::TrafficMonitor;
use plantwatch_northbound::{Northbound, NorthboundStatus};
use plantwatch_sim::{Scenario, SimOptions, SimServer};

use super::wire::{ConfigProblem, ErrorCode, UiError};

/// How the simulated plant runs (the environment can choose a scenario and speed, which the end-to-end
/// tests use to make alarms happen quickly).
#[derive(Debug, Clone)]
pub struct SimChoice {
    /// A built-in scenario name or a scenario file.
    pub scenario: String,
    pub speed: f64,
    /// Also serve the unconfigured mystery device (the workbench's training ground).
    pub mystery: bool,
}

impl SimChoice {
    /// `PLANTWATCH_SIM_SCENARIO` (default `normal`), `PLANTWATCH_SIM_SPEED` (default 1) and
    /// `PLANTWATCH_SIM_MYSTERY=1` (default off; the window's setting turns it on too).
    pub fn from_env() -> SimChoice {
        SimChoice {
            scenario: std::env::var("PLANTWATCH_SIM_SCENARIO")
                .unwrap_or_else(|_| "normal".to_string()),
            speed: std::env::var("PLANTWATCH_SIM_SPEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1.0),
            mystery: std::env::var("PLANTWATCH_SIM_MYSTERY").is_ok_and(|v| v == "1"),
        }
    }
}

/// A running plant.
pub struct Session {
    /// Shared with the northbound node, which writes through it (Sparkplug commands).
    pub engine: Arc<Engine>,
    /// The Sparkplug B edge node, when the plant has `[northbound.sparkplug]`.
    northbound: Option<NorthboundSlot>,
    /// The in-process simulator, for the demo plant.
    sim: Option<SimServer>,
}

/// The northbound link of a plant that configures one: running, or why it could not start (an unset
/// password variable, an unreadable TLS file). A plant whose link cannot start is still monitored: the
/// window shows the reason on the Devices screen instead of refusing the plant, and the history keeps
/// every sample for the replay once the link starts.
enum NorthboundSlot {
    Running(Northbound),
    Failed(String),
}

/// How long closing a plant waits for the northbound node to let go of the engine.
const RECLAIM_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

impl Session {
    pub fn plant(&self) -> &Arc<Plant> {
        self.engine.plant()
    }

    pub fn simulated(&self) -> bool {
        self.sim.is_some()
    }

    /// The northbound link's status, or the reason it did not start; `None` for a plant without one.
    pub fn northbound(&self) -> Option<Result<NorthboundStatus, String>> {
        self.northbound.as_ref().map(|slot| match slot {
            NorthboundSlot::Running(node) => Ok(node.status()),
            NorthboundSlot::Failed(why) => Err(why.clone()),
        })
    }

    /// Starts polling a validated plant (see [`load_plant`]), and its northbound link when it has one.
    pub async fn start(plant: Plant, traffic: &TrafficMonitor) -> Result<Session, UiError> {
        let engine = Arc::new(start_engine(plant, traffic).await?);
        let northbound = start_northbound(&engine);
        Ok(Session {
            engine,
            northbound,
            sim: None,
        })
    }

    /// Starts the built-in simulated lift station on a free loopback port and monitors it, with its
    /// history in `history`.
    pub async fn open_simulated(
        history: PathBuf,
        choice: &SimChoice,
        traffic: &TrafficMonitor,
    ) -> Result<Session, UiError> {
        let scenario = Scenario::load(&choice.scenario)
            .map_err(|e| UiError::new(ErrorCode::Engine, format!("simulator scenario: {e}")))?;
        let options = SimOptions {
            scenario,
            speed: choice.speed,
            with_mystery: choice.mystery,
            ..SimOptions::default()
        };
        let sim = SimServer::start(options).await.map_err(|e| {
            UiError::new(
                ErrorCode::Engine,
                format!("cannot start the simulated plant: {e}"),
            )
        })?;
        let addr: SocketAddr = sim.local_addr().ok_or_else(|| {
            UiError::new(ErrorCode::Engine, "the simulated plant has no TCP address")
        })?;
        let plant = plantwatch_sim::demo_plant_with_history(addr, history);
        let engine = match start_engine(plant, traffic).await {
            Ok(engine) => Arc::new(engine),
            Err(e) => {
                sim.shutdown().await;
                return Err(e);
            }
        };
        Ok(Session {
            engine,
            northbound: None,
            sim: Some(sim),
        })
    }

    /// Stops the northbound link (its NDEATH and last acknowledgements while the engine still runs),
    /// then polling (flushing history and the alarm journal), then the simulator.
    pub async fn close(self) {
        if let Some(NorthboundSlot::Running(node)) = self.northbound {
            node.stop().await;
        }
        match Engine::reclaim(self.engine, RECLAIM_WITHIN).await {
            Some(engine) => {
                if let Err(error) = engine.stop().await {
                    tracing::warn!("stopping the engine: {error}");
                }
            }
            // Only a command still in progress holds it; its link tasks stop when it is dropped.
            None => tracing::warn!("the engine was still in use when the plant closed"),
        }
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}

/// Starts the plant's Sparkplug B edge node, if it configures one.
fn start_northbound(engine: &Arc<Engine>) -> Option<NorthboundSlot> {
    let settings = engine.plant().sparkplug.clone()?;
    Some(match Northbound::start(engine.clone(), settings) {
        Ok(node) => NorthboundSlot::Running(node),
        Err(e) => {
            tracing::warn!("the northbound link did not start: {e}");
            NorthboundSlot::Failed(e.to_string())
        }
    })
}

/// The engine's links record into `traffic`, the window's one monitor (the workbench's panel).
async fn start_engine(plant: Plant, traffic: &TrafficMonitor) -> Result<Engine, UiError> {
    let options = EngineOptions {
        history: None,
        alarms: true,
        traffic: Some(traffic.clone()),
        ..EngineOptions::default()
    };
    Engine::start(Arc::new(plant), options)
        .await
        .map_err(|e| UiError::new(ErrorCode::Engine, format!("cannot start the engine: {e}")))
}

/// How long reading and validating a plant file may take before the window gives up on it.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`load_plant`] on a blocking thread, given up after [`LOAD_TIMEOUT`]. The config reader itself
/// accepts only regular files under a size limit (no FIFO, no `/dev/zero`); the timeout covers a
/// regular file on a mount that stopped answering.
pub async fn load_plant_off_runtime(path: PathBuf) -> Result<Plant, UiError> {
    let shown = path.display().to_string();
    let read = tokio::task::spawn_blocking(move || load_plant(&path));
    match tokio::time::timeout(LOAD_TIMEOUT, read).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(UiError::new(
            ErrorCode::Engine,
            format!("reading the plant file failed: {join}"),
        )),
        Err(_) => Err(UiError::new(
            ErrorCode::Io,
            format!(
                "the plant file {} could not be read within {} s",
                plantwatch_core::echo::escape(&shown),
                LOAD_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Reads and validates a plant file.
pub fn load_plant(path: &Path) -> Result<Plant, UiError> {
    plantwatch_config::load(path).map_err(|errors| {
        let problems = problems_of(&errors);
        let first = errors
            .iter()
            .next()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let message = match errors.len() {
            1 => format!("the plant file has a problem: {first}"),
            n => format!("the plant file has {n} problems; the first: {first}"),
        };
        UiError {
            code: ErrorCode::ConfigInvalid,
            message,
            problems,
        }
    })
}

/// The problems of a plant file with their places (problems of the whole file go on line 1).
pub fn problems_of(errors: &plantwatch_config::ConfigErrors) -> Vec<ConfigProblem> {
    errors
        .iter()
        .map(|e| ConfigProblem {
            line: e.position.map_or(1, |p| p.line as u32),
            col: e.position.map_or(1, |p| p.column as u32),
            message: e.message.clone(),
        })
        .collect()
}
