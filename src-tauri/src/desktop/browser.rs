//! The screens for a browser (`[api] browser = true`): the window's own commands, run for each browser
//! by the local API (`plantwatch_api::screens`), over the same engine and the same modules the Tauri
//! commands call, so a screen in a browser and in the window cannot disagree.
//!
//! Each signed-in browser has its own [`Control`] (who is signed in, the idle lock, the audited
//! sign-in and sign-out); a browser that has not signed in acts as a window where nobody did: it reads
//! everything, and a write or an alarm action is refused and recorded. Commands that reach the machine
//! the window runs on (opening plant files, exports to its folders, the commissioning workbench) are
//! not served. The UI's files come from the same bundle the window shows, embedded in the binary.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plantwatch_api::{BoxFuture, BrowserSession, ScreensBackend, ScreensFailure, StatusCode};
use plantwatch_engine::Engine;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use super::control::{self, Control};
use super::wire::{
    AlarmActionRequest, AuditQuery, ErrorCode, JournalQuery, PlantInfo, SessionView, TrendRequest,
    UiError, WriteRequest,
};
use super::{alarms, live, screens, trend};

/// Live batches kept for browsers that are a little behind; one further behind is dropped (and
/// reconnects). About 6 s of batches.
const LIVE_BUFFER: usize = 64;

/// The UI's files, read once from the bundle Tauri embedded (decompressed), by path without the
/// leading slash. Empty in a build without the bundle (a development build that loads the UI from
/// Vite's server).
pub struct UiFiles(HashMap<String, Vec<u8>>);

impl UiFiles {
    /// The files of the UI embedded in this binary.
    pub fn embedded() -> UiFiles {
        let context = super::context();
        let assets = context.assets();
        let keys: Vec<String> = assets.iter().map(|(k, _)| k.into_owned()).collect();
        let mut files = HashMap::new();
        for key in keys {
            let asset_key = tauri::utils::assets::AssetKey::from(key.as_str());
            if let Some(bytes) = assets.get(&asset_key) {
                files.insert(
                    key.trim_start_matches('/').to_string(),
                    strip_meta_csp(&key, bytes.into_owned()),
                );
            }
        }
        UiFiles(files)
    }
}

/// The window's page may carry the window's policy as a `<meta>` tag (Tauri's IPC as the only place to
/// connect to); a browser gets the API's own policy as a header instead, so the tag goes.
fn strip_meta_csp(key: &str, bytes: Vec<u8>) -> Vec<u8> {
    if !key.ends_with(".html") {
        return bytes;
    }
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        return bytes;
    };
    let lower = text.to_ascii_lowercase();
    let Some(at) = lower.find("<meta http-equiv=\"content-security-policy\"") else {
        return bytes;
    };
    let Some(end) = lower[at..].find('>') else {
        return bytes;
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..at]);
    out.push_str(&text[at + end + 1..]);
    out.into_bytes()
}

/// The browser screens for a plant that asks for them (`[api] browser = true`): `Err` says why they
/// cannot be served (this binary carries no UI bundle), `Ok(None)` when the plant does not ask.
pub fn for_plant(
    engine: &Arc<Engine>,
    simulated: bool,
) -> Result<Option<Arc<dyn ScreensBackend>>, String> {
    if !engine.plant().api.as_ref().is_some_and(|api| api.browser) {
        return Ok(None);
    }
    let files = UiFiles::embedded();
    if !files.0.contains_key("index.html") {
        return Err(
            "this build carries no UI bundle (a development build): the browser screens \
                    are not served; build with `--features desktop,tauri/custom-protocol`"
                .to_string(),
        );
    }
    Ok(Some(BrowserScreens::start(
        engine.clone(),
        simulated,
        files,
    )))
}

/// The window's commands for browsers, over one engine.
pub struct BrowserScreens {
    engine: Arc<Engine>,
    simulated: bool,
    files: UiFiles,
    sessions: Mutex<HashMap<BrowserSession, Control>>,
    live: broadcast::Sender<Arc<str>>,
    forward: tokio::task::JoinHandle<()>,
}

impl BrowserScreens {
    /// Starts the live batches for browsers over `engine` (from a tokio runtime).
    pub fn start(engine: Arc<Engine>, simulated: bool, files: UiFiles) -> Arc<BrowserScreens> {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let sender = live.clone();
        let forward = tokio::spawn(live::forward(engine.clone(), move |batch| {
            // Serialised once for every browser, and only while one listens.
            if sender.receiver_count() > 0 {
                match serde_json::to_string(&batch) {
                    Ok(json) => {
                        let _ = sender.send(Arc::from(json));
                    }
                    Err(e) => tracing::warn!("browser screens: a live batch: {e}"),
                }
            }
        }));
        Arc::new(BrowserScreens {
            engine,
            simulated,
            files,
            sessions: Mutex::new(HashMap::new()),
            live,
            forward,
        })
    }

    /// The sign-in of `session`, or a window where nobody signed in.
    fn control(&self, session: Option<BrowserSession>) -> Control {
        match session {
            None => Control::default(),
            Some(s) => self
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(s)
                .or_default()
                .clone(),
        }
    }
}

impl Drop for BrowserScreens {
    fn drop(&mut self) {
        // The forwarding task holds the engine: it must end with the screens.
        self.forward.abort();
    }
}

impl ScreensBackend for BrowserScreens {
    fn call(
        &self,
        session: Option<BrowserSession>,
        command: String,
        args: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, ScreensFailure>> {
        // The future must own what it uses: the backend is shared behind an Arc by the API, and each
        // call gets what it needs up front.
        let call = Call {
            engine: self.engine.clone(),
            simulated: self.simulated,
            control: self.control(session),
        };
        Box::pin(async move { call.run(&command, args).await.map_err(failure) })
    }

    fn end(&self, session: BrowserSession) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&session);
    }

    fn live(&self) -> broadcast::Receiver<Arc<str>> {
        self.live.subscribe()
    }

    fn asset(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        self.files.0.get(path).map(|b| Cow::Owned(b.clone()))
    }
}

/// One command for one browser: what it needs, owned, so the call outlives nothing it borrows.
struct Call {
    engine: Arc<Engine>,
    simulated: bool,
    /// The browser's sign-in (a fresh one, nobody signed in, for a browser without a session).
    control: Control,
}

impl Call {
    async fn run(
        self,
        command: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, UiError> {
        let engine = &self.engine;
        let plant = engine.plant().clone();
        let db = engine.history_path().to_path_buf();
        match command {
            "plant_info" => reply(PlantInfo::from_plant(&plant, self.simulated)),
            "plant_screens" => {
                let simulated = self.simulated;
                blocking(move || Ok(screens::views(&plant, simulated))).await
            }
            "live_snapshot" => reply(live::snapshot(engine)),
            "device_statuses" => reply(live::device_views(engine)),
            // The northbound link is the collector's business; its card shows in the window only.
            "northbound_status" => Ok(serde_json::Value::Null),
            // The browser is on the API's address already.
            "api_status" => Ok(serde_json::Value::Null),
            "trend_history" => {
                let request: TrendRequest = arg(&args, "request")?;
                blocking(move || trend::history(&db, &plant, &request)).await
            }
            "alarm_snapshot" => reply(alarms::view(engine)),
            "alarm_act" => {
                let request: AlarmActionRequest = arg(&args, "request")?;
                let control = self.control.clone();
                let (request, role) = blocking_raw(move || {
                    // A window on a plant without users acts under a typed name; a browser is
                    // read-only until a user signs in, users or not.
                    if control.view(&db, true)?.user.is_none() {
                        return Err(UiError::new(
                            ErrorCode::Denied,
                            "denied: sign in to act on alarms from a browser",
                        ));
                    }
                    control.alarm_request(&db, request)
                })
                .await?;
                alarms::act(engine, &request, role).map(|()| serde_json::Value::Null)
            }
            "alarm_journal" => {
                let query: JournalQuery = arg(&args, "query")?;
                blocking(move || alarms::journal(&db, &query)).await
            }
            "alarm_health" => {
                let from: i64 = arg(&args, "from")?;
                let to: i64 = arg(&args, "to")?;
                blocking(move || alarms::health(&db, from, to)).await
            }
            "session" => {
                let active: bool = arg(&args, "active")?;
                let control = self.control.clone();
                blocking(move || control.view(&db, active).map(browser_view)).await
            }
            "sign_in" => {
                let name: String = arg(&args, "name")?;
                let password: String = arg(&args, "password")?;
                let control = self.control.clone();
                blocking(move || control.sign_in(&db, &name, &password).map(browser_view)).await
            }
            "sign_out" => {
                let control = self.control.clone();
                blocking(move || control.sign_out(&db).map(browser_view)).await
            }
            "write_tag" => {
                let request: WriteRequest = arg(&args, "request")?;
                let control = self.control.clone();
                let actor = blocking_raw(move || control.write_actor(&db)).await?;
                reply(control::write(engine, &actor, request).await?)
            }
            "audit_entries" => {
                let query: AuditQuery = arg(&args, "query")?;
                let control = self.control.clone();
                blocking(move || control.audit_entries(&db, &query)).await
            }
            other => Err(UiError::new(
                ErrorCode::NotFound,
                format!(
                    "'{}' is not available in a browser: it runs in the Plantwatch window only",
                    plantwatch_core::echo::escape(other)
                ),
            )),
        }
    }
}

/// Who acts from a browser: as in the window, except that nobody signed in may not act on alarms even
/// on a plant without users.
fn browser_view(mut view: SessionView) -> SessionView {
    if view.user.is_none() {
        view.alarm_actions = false;
    }
    view
}

/// A command's answer as JSON.
fn reply<T: serde::Serialize>(value: T) -> Result<serde_json::Value, UiError> {
    serde_json::to_value(value).map_err(|e| UiError::new(ErrorCode::Engine, e.to_string()))
}

/// Work that touches SQLite or argon2, off the async runtime; its answer as JSON.
async fn blocking<T: serde::Serialize + Send + 'static>(
    f: impl FnOnce() -> Result<T, UiError> + Send + 'static,
) -> Result<serde_json::Value, UiError> {
    reply(blocking_raw(f).await?)
}

async fn blocking_raw<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new(ErrorCode::Engine, e.to_string()))?
}

/// The argument `name` of a command, as `invoke` would have passed it.
fn arg<T: DeserializeOwned>(args: &serde_json::Value, name: &str) -> Result<T, UiError> {
    let value = args.get(name).cloned().unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value).map_err(|e| {
        UiError::new(
            ErrorCode::BadRequest,
            format!("the argument '{name}' is missing or malformed: {e}"),
        )
    })
}

/// A refusal with the HTTP status of its meaning, the UI's error as the body.
fn failure(error: UiError) -> ScreensFailure {
    let status = match error.code {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::BadRequest | ErrorCode::ConfigInvalid => StatusCode::BAD_REQUEST,
        ErrorCode::Denied => StatusCode::FORBIDDEN,
        ErrorCode::SignInFailed => StatusCode::UNAUTHORIZED,
        ErrorCode::NoPlant | ErrorCode::History | ErrorCode::Alarm => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorCode::Io | ErrorCode::Engine => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = serde_json::to_value(&error).unwrap_or_else(
        |_| serde_json::json!({"code": "engine", "message": error.message, "problems": []}),
    );
    ScreensFailure { status, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_csp_meta_tag_is_taken_out_of_html_only() {
        let page = br#"<html><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="connect-src ipc:"><title>P</title></head></html>"#;
        let out = String::from_utf8(strip_meta_csp("/index.html", page.to_vec())).expect("utf-8");
        assert_eq!(
            out,
            r#"<html><head><meta charset="UTF-8"><title>P</title></head></html>"#
        );
        let script = page.to_vec();
        assert_eq!(strip_meta_csp("/assets/a.js", script.clone()), script);
    }

    #[test]
    fn refusals_carry_the_status_of_their_meaning_and_the_uis_error_body() {
        let f = failure(UiError::new(ErrorCode::Denied, "sign in"));
        assert_eq!(f.status, StatusCode::FORBIDDEN);
        assert_eq!(f.body["code"], "denied");
        assert_eq!(
            failure(UiError::new(ErrorCode::SignInFailed, "no")).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            failure(UiError::new(ErrorCode::NotFound, "no")).status,
            StatusCode::NOT_FOUND
        );
    }
}
