//! The plant the window shows: its engine, and the in-process simulator when it is the demo plant.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plantwatch_api::ApiServer;
use plantwatch_core::{ApiSecurity, Plant};
use plantwatch_engine::{Engine, EngineOptions};
use plantwatch_modbus::TrafficMonitor;
use plantwatch_northbound::{Northbound, NorthboundStatus};
use plantwatch_sim::{Scenario, SimOptions, SimServer};

use super::wire::{ApiView, ConfigProblem, ErrorCode, UiError};

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
    /// The local API over this session's engine, when the plant has `[api]` and it started (why it did
    /// not is in the log; the plant is monitored either way).
    api: Option<ApiServer>,
    /// What the Devices screen says of it.
    api_view: Option<ApiView>,
    /// The in-process simulator, for the demo plant.
    sim: Option<SimServer>,
    /// The plant's `[[reports]]`, made on their schedule while it is open.
    reports: Option<plantwatch_report::schedule::ReportScheduler>,
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

    /// The local API while it serves; `None` for a plant without one, or one that did not start.
    pub fn api(&self) -> Option<&ApiView> {
        self.api_view.as_ref()
    }

    /// The northbound link's status, or the reason it did not start; `None` for a plant without one.
    pub fn northbound(&self) -> Option<Result<NorthboundStatus, String>> {
        self.northbound.as_ref().map(|slot| match slot {
            NorthboundSlot::Running(node) => Ok(node.status()),
            NorthboundSlot::Failed(why) => Err(why.clone()),
        })
    }

    /// Starts polling a validated plant (see [`load_plant`]), its northbound link and its local API
    /// when it has them.
    pub async fn start(plant: Plant, traffic: &TrafficMonitor) -> Result<Session, UiError> {
        let engine = Arc::new(start_engine(plant, traffic).await?);
        let northbound = start_northbound(&engine);
        let (api, api_view) = start_api(&engine).await.unzip();
        let reports = super::reports::start_scheduler(&engine);
        Ok(Session {
            engine,
            northbound,
            api,
            api_view,
            sim: None,
            reports,
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
            api: None,
            api_view: None,
            sim: Some(sim),
            reports: None,
        })
    }

    /// Stops the local API (no request reads a stopping engine, and its hold on the engine ends), the
    /// northbound link (its NDEATH and last acknowledgements while the engine still runs), then polling
    /// (flushing history and the alarm journal), then the simulator.
    pub async fn close(self) {
        // A report being made is finished first (its thread joined off the event loop).
        if let Some(reports) = self.reports {
            let _ = tauri::async_runtime::spawn_blocking(move || reports.stop()).await;
        }
        if let Some(server) = self.api {
            server.stop().await;
        }
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

/// Starts the plant's local API over `engine`, if it configures one, as `plantwatch collect` does;
/// its URL (and the clear-text warning) goes to the log and to the Devices screen.
async fn start_api(engine: &Arc<Engine>) -> Option<(ApiServer, ApiView)> {
    let settings = engine.plant().api.clone()?;
    let screens = super::browser::for_plant(engine, false).unwrap_or_else(|why| {
        tracing::warn!("the browser screens are not served: {why}");
        None
    });
    let serving_screens = screens.is_some();
    match ApiServer::start(&settings, engine.clone(), engine.history_path(), screens).await {
        Ok(server) => {
            // At warn, the window's default log level, so that the user sees where it serves.
            tracing::warn!("the local API serves {}", server.url());
            if serving_screens {
                tracing::warn!("the browser screens are at {}", server.screens_url());
            }
            let view = ApiView {
                url: server.url(),
                screens_url: serving_screens.then(|| server.screens_url()),
                insecure: settings.security == ApiSecurity::Insecure,
            };
            if settings.security == ApiSecurity::Insecure {
                tracing::warn!(
                    "the local API on {} is plain HTTP on the network (insecure = true): tokens \
                     and data travel in clear text; give tls_cert and tls_key",
                    server.local_addr()
                );
            }
            Some((server, view))
        }
        Err(e) => {
            // A taken port or an unreadable certificate: the plant is monitored all the same.
            tracing::warn!("the local API did not start: {e}");
            None
        }
    }
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

#[cfg(test)]
impl Session {
    /// Where the local API serves, for the tests.
    fn api_url(&self) -> Option<String> {
        self.api.as_ref().map(ApiServer::url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// `GET /api/v1/openapi.json` (no token needed) over a plain socket: the status line.
    fn status_line(addr: SocketAddr) -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        stream.write_all(
            b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer.lines().next().unwrap_or_default().to_string())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_plant_with_api_serves_it_while_open_and_stops_it_on_close() {
        let dir = tempfile::tempdir().expect("temp dir");
        // No device answers on port 1: the plant is monitored (offline), and the API serves anyway.
        let mut plant = plantwatch_sim::demo_plant_with_history(
            SocketAddr::from(([127, 0, 0, 1], 1)),
            dir.path().join("plant.db"),
        );
        plant.api = Some(plantwatch_core::ApiSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            security: ApiSecurity::Loopback,
            browser: false,
            cors: Vec::new(),
        });
        let session = Session::start(plant, &TrafficMonitor::default())
            .await
            .expect("the session starts");
        let url = session.api_url().expect("the API runs");
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches("/api/v1/")
            .parse()
            .expect("an address in the URL");
        let line = tokio::task::spawn_blocking(move || status_line(addr))
            .await
            .expect("joined")
            .expect("the API answers");
        assert_eq!(line, "HTTP/1.1 200 OK");
        session.close().await;
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "the API stopped with the plant"
        );
    }
}
