//! The desktop's state: the open plant (its session), the settings, the live channels, and where files
//! go. Opening or reloading a plant swaps the session without restarting the window.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use plantwatch_engine::alarm_service::AlarmChange;
use tauri::async_runtime::JoinHandle;
use tauri::AppHandle;
use tokio::sync::{broadcast, RwLock};

use super::live::{self, LiveHub};
use super::notify;
use super::session::{self, Session, SimChoice};
use super::settings::SettingsStore;
use super::wire::{ErrorCode, PlantInfo, UiError};

pub struct AppState {
    session: Arc<RwLock<Option<Session>>>,
    /// Serialises plant switches (open, reload) so two never interleave.
    switching: tokio::sync::Mutex<()>,
    /// The open plant's tasks: live values to the page, alarm notifications to the desktop.
    forwarders: Mutex<Vec<JoinHandle<()>>>,
    /// The running app, for desktop notifications; set once the app is built.
    app: OnceLock<AppHandle>,
    pub settings: SettingsStore,
    pub hub: LiveHub,
    /// Where the simulated plant keeps its history, and the settings live.
    pub data_dir: PathBuf,
    /// Where exports are written.
    pub export_dir: PathBuf,
    pub sim: SimChoice,
    /// The commissioning workbench's scans and grid connection.
    pub workbench: super::workbench::Workbench,
}

impl AppState {
    pub fn new(data_dir: PathBuf, export_dir: PathBuf) -> AppState {
        AppState {
            session: Arc::new(RwLock::new(None)),
            switching: tokio::sync::Mutex::new(()),
            forwarders: Mutex::new(Vec::new()),
            app: OnceLock::new(),
            settings: SettingsStore::load(data_dir.join("settings.json")),
            hub: LiveHub::default(),
            data_dir,
            export_dir,
            sim: SimChoice::from_env(),
            workbench: Default::default(),
        }
    }

    /// Lets the state show desktop notifications for the plants opened from now on.
    pub fn attach(&self, app: AppHandle) {
        let _ = self.app.set(app);
    }

    /// Runs `f` on the open plant's session.
    pub async fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, UiError>,
    ) -> Result<T, UiError> {
        let guard = self.session.read().await;
        match guard.as_ref() {
            Some(s) => f(s),
            None => Err(UiError::new(ErrorCode::NoPlant, "no plant is open yet")),
        }
    }

    /// The open plant's session, held open (a plant switch waits) until the guard is dropped: for
    /// commands that await the engine, such as a write.
    pub async fn read_session(&self) -> tokio::sync::RwLockReadGuard<'_, Option<Session>> {
        self.session.read().await
    }

    pub async fn plant_info(&self) -> Result<PlantInfo, UiError> {
        self.with_session(|s| Ok(PlantInfo::from_plant(s.plant(), s.simulated())))
            .await
    }

    /// Opens the plant at start: the last plant file, or the simulated plant when there is none or it
    /// no longer loads (the window must always open on something living).
    pub async fn open_at_start(&self) -> Result<PlantInfo, UiError> {
        if let Some(last) = self.settings.get().last_plant {
            match self.open(Some(PathBuf::from(&last))).await {
                Ok(info) => return Ok(info),
                Err(e) => tracing::warn!(
                    "the last plant {last} did not open ({}); opening the simulated plant",
                    e.message
                ),
            }
        }
        self.open(None).await
    }

    /// Opens a plant file (validated before the running plant is closed, so a broken file leaves the
    /// current plant running), or the simulated plant for `None`.
    pub async fn open(&self, path: Option<PathBuf>) -> Result<PlantInfo, UiError> {
        // Read before taking the switch lock: a file that is slow to read (a hung network mount)
        // must not keep every other plant switch waiting.
        let plant = match &path {
            Some(p) => Some(session::load_plant_off_runtime(absolute(p)).await?),
            None => None,
        };
        let _switch = self.switching.lock().await;
        self.close_current().await;
        let new = match plant {
            Some(plant) => Session::start(plant, self.workbench.traffic()).await?,
            None => {
                // The mystery device is the window's setting (or the environment's, for tests).
                let choice = SimChoice {
                    mystery: self.sim.mystery || self.settings.get().mystery_device,
                    ..self.sim.clone()
                };
                Session::open_simulated(
                    self.data_dir.join("demo-plant.db"),
                    &choice,
                    self.workbench.traffic(),
                )
                .await?
            }
        };
        let info = PlantInfo::from_plant(new.plant(), new.simulated());
        // Subscribed before the plant is shared, so no alarm change falls between the two.
        let changes = new.engine.alarms().map(|service| service.subscribe());
        let plant = new.plant().clone();
        let engine = new.engine.clone();
        *self.session.write().await = Some(new);
        self.start_forwarding(engine, changes, plant);
        if let Err(e) = self
            .settings
            .remember_plant(path.map(|p| absolute(&p)).as_deref())
        {
            tracing::warn!("cannot save the settings: {e}");
        }
        Ok(info)
    }

    /// Re-reads the open plant's file and restarts polling with it.
    pub async fn reload(&self) -> Result<PlantInfo, UiError> {
        let source = self
            .with_session(|s| {
                Ok(if s.simulated() {
                    None
                } else {
                    s.plant().source.clone()
                })
            })
            .await?;
        match source {
            Some(path) => self.open(Some(path)).await,
            None => Err(UiError::new(
                ErrorCode::BadRequest,
                "the simulated plant has no file to reload",
            )),
        }
    }

    /// Stops the open plant (flushing history and the journal).
    pub async fn close_current(&self) {
        for handle in self.lock_forwarders().drain(..) {
            handle.abort();
        }
        if let Some(old) = self.session.write().await.take() {
            old.close().await;
        }
    }

    /// Starts passing the engine's events to the page and its alarm changes to the desktop's
    /// notifications. The tasks hold the engine until `close_current` aborts them.
    fn start_forwarding(
        &self,
        engine: Arc<plantwatch_engine::Engine>,
        changes: Option<broadcast::Receiver<AlarmChange>>,
        plant: Arc<plantwatch_core::Plant>,
    ) {
        let hub = self.hub.clone();
        let mut tasks = vec![tauri::async_runtime::spawn(live::forward(
            engine,
            move |batch| hub.send(&batch),
        ))];
        if let (Some(changes), Some(app)) = (changes, self.app.get()) {
            tasks.push(tauri::async_runtime::spawn(notify::forward(
                changes,
                app.clone(),
                plant,
            )));
        }
        for old in std::mem::replace(&mut *self.lock_forwarders(), tasks) {
            old.abort();
        }
    }

    fn lock_forwarders(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.forwarders.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
