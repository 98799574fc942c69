//! The plant the window shows: its engine, and the in-process simulator when it is the demo plant.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plantwatch_core::Plant;
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_sim::{Scenario, SimOptions, SimServer};

use super::wire::{ConfigProblem, ErrorCode, UiError};

/// How the simulated plant runs (the environment can choose a scenario and speed, which the end-to-end
/// tests use to make alarms happen quickly).
#[derive(Debug, Clone)]
pub struct SimChoice {
    /// A built-in scenario name or a scenario file.
    pub scenario: String,
    pub speed: f64,
}

impl SimChoice {
    /// `PLANTWATCH_SIM_SCENARIO` (default `normal`) and `PLANTWATCH_SIM_SPEED` (default 1).
    pub fn from_env() -> SimChoice {
        SimChoice {
            scenario: std::env::var("PLANTWATCH_SIM_SCENARIO")
                .unwrap_or_else(|_| "normal".to_string()),
            speed: std::env::var("PLANTWATCH_SIM_SPEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1.0),
        }
    }
}

/// A running plant.
pub struct Session {
    pub engine: Engine,
    /// The in-process simulator, for the demo plant.
    sim: Option<SimServer>,
}

impl Session {
    pub fn plant(&self) -> &Arc<Plant> {
        self.engine.plant()
    }

    pub fn simulated(&self) -> bool {
        self.sim.is_some()
    }

    /// Starts polling a validated plant (see [`load_plant`]).
    pub async fn start(plant: Plant) -> Result<Session, UiError> {
        let engine = start_engine(plant).await?;
        Ok(Session { engine, sim: None })
    }

    /// Starts the built-in simulated lift station on a free loopback port and monitors it, with its
    /// history in `history`.
    pub async fn open_simulated(history: PathBuf, choice: &SimChoice) -> Result<Session, UiError> {
        let scenario = Scenario::load(&choice.scenario)
            .map_err(|e| UiError::new(ErrorCode::Engine, format!("simulator scenario: {e}")))?;
        let options = SimOptions {
            scenario,
            speed: choice.speed,
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
        let engine = match start_engine(plant).await {
            Ok(engine) => engine,
            Err(e) => {
                sim.shutdown().await;
                return Err(e);
            }
        };
        Ok(Session {
            engine,
            sim: Some(sim),
        })
    }

    /// Stops polling (flushing history and the alarm journal), then the simulator.
    pub async fn close(self) {
        if let Err(error) = self.engine.stop().await {
            tracing::warn!("stopping the engine: {error}");
        }
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}

async fn start_engine(plant: Plant) -> Result<Engine, UiError> {
    let options = EngineOptions {
        history: None,
        alarms: true,
        ..EngineOptions::default()
    };
    Engine::start(Arc::new(plant), options)
        .await
        .map_err(|e| UiError::new(ErrorCode::Engine, format!("cannot start the engine: {e}")))
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
