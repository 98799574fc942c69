//! The plant's screens in a browser (`[api] browser = true`): the built UI's files at `/`, and the
//! transport the UI uses instead of Tauri's IPC when it runs in a browser (`/ui/...`).
//!
//! This crate knows nothing of the screens' commands or their shapes: the program that embeds the UI
//! hands in a [`ScreensBackend`] that runs the window's commands by name and publishes its live batches
//! as JSON. What lives here is the HTTP side: which routes exist, who is signed in on which browser
//! (opaque session tokens, in memory, bounded), the failed sign-in limit shared with the API's tokens,
//! and the live WebSocket with its back-pressure.
//!
//! Without sign-in a browser sees everything read-only: the backend is called with no session, so a
//! write or an alarm action is refused by the same rules (and audit entry) as in a window where nobody
//! signed in. `/ui/...` is the UI's private transport, not a public contract: plant apps use
//! `/api/v1/...`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{ClientAddr, FailureLimiter};

/// A browser's sign-in as the backend knows it: a number the API chose, never the token itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrowserSession(pub u64);

/// A command's failure as the UI reads it: an HTTP status by meaning and the UI's own error body
/// (`{code, message, problems}`), passed through unchanged.
#[derive(Debug)]
pub struct ScreensFailure {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

/// What runs the screens for a browser: the program that embeds the UI implements it over the same
/// code its window calls.
pub trait ScreensBackend: Send + Sync + 'static {
    /// Runs the window's command `command` (its Rust name, e.g. `plant_info`) with the arguments the UI
    /// would have passed to Tauri's `invoke`, for `session` (`None`: nobody signed in). A command the
    /// browser may not run (opening a plant file, the workbench) fails with 404.
    fn call(
        &self,
        session: Option<BrowserSession>,
        command: String,
        args: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, ScreensFailure>>;

    /// Forgets a session (signed out, or evicted); records the sign-out.
    fn end(&self, session: BrowserSession);

    /// The live batches, each a JSON text as the window's channel gets it, about ten a second.
    fn live(&self) -> broadcast::Receiver<Arc<str>>;

    /// A file of the built UI by its path (`index.html`, `assets/index-abc.js`); `None` when there is
    /// no such file.
    fn asset(&self, path: &str) -> Option<Cow<'static, [u8]>>;
}

/// Signed-in browsers remembered at most; the least recently used is signed out to make room.
pub const MAX_SESSIONS: usize = 256;
/// A session unused this long is forgotten (the plant's idle lock signs the user out much sooner; this
/// only bounds the map).
pub const SESSION_FORGOTTEN_AFTER: Duration = Duration::from_secs(12 * 3600);
/// How long one live message may take to reach a browser before the browser is dropped.
const SEND_WITHIN: Duration = Duration::from_secs(5);

/// The tokens of signed-in browsers, each naming its [`BrowserSession`].
#[derive(Default)]
struct Sessions {
    next: AtomicU64,
    map: Mutex<HashMap<String, (BrowserSession, Instant)>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (BrowserSession, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_session(&self) -> BrowserSession {
        BrowserSession(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Remembers `token` for `session`; returns the sessions pushed out to make room.
    fn insert(&self, token: String, session: BrowserSession, now: Instant) -> Vec<BrowserSession> {
        let mut map = self.lock();
        let mut gone = Vec::new();
        map.retain(|_, (s, used)| {
            let keep = now.duration_since(*used) < SESSION_FORGOTTEN_AFTER;
            if !keep {
                gone.push(*s);
            }
            keep
        });
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(t, _)| t.clone())
            else {
                break;
            };
            if let Some((s, _)) = map.remove(&oldest) {
                gone.push(s);
            }
        }
        map.insert(token, (session, now));
        gone
    }

    /// The session of `token`, marked used.
    fn find(&self, token: &str, now: Instant) -> Option<BrowserSession> {
        let mut map = self.lock();
        let entry = map.get_mut(token)?;
        entry.1 = now;
        Some(entry.0)
    }

    fn remove(&self, token: &str) -> Option<BrowserSession> {
        self.lock().remove(token).map(|(s, _)| s)
    }
}

#[derive(Clone)]
struct ScreensState {
    backend: Arc<dyn ScreensBackend>,
    sessions: Arc<Sessions>,
    limiter: Arc<FailureLimiter>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// The routes of the browser screens: `/ui/call/{command}`, `/ui/sign-in`, `/ui/sign-out`, `/ui/live`,
/// and the UI's files for every other GET.
pub fn router(
    backend: Arc<dyn ScreensBackend>,
    limiter: Arc<FailureLimiter>,
    stopping: tokio::sync::watch::Receiver<bool>,
) -> Router {
    let state = ScreensState {
        backend,
        sessions: Arc::new(Sessions::default()),
        limiter,
        stopping,
    };
    Router::new()
        .route("/ui/call/{command}", post(call))
        .route("/ui/sign-in", post(sign_in))
        .route("/ui/sign-out", post(sign_out))
        .route("/ui/live", get(live))
        .route("/", get(file))
        .route("/{*path}", get(file))
        .with_state(state)
}

/// The UI's error body, for failures this layer finds itself.
fn failure(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "code": code, "message": message.into(), "problems": [] });
    (status, Json(body)).into_response()
}

fn client_ip(client: Option<Extension<ClientAddr>>) -> IpAddr {
    client
        .map(|Extension(ClientAddr(a))| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The browser session a request carries: `Ok(None)` without a token, `Err` for one this server does
/// not know (it restarted, or the session was pushed out): the page then signs in again.
fn session_of(
    state: &ScreensState,
    headers: &HeaderMap,
) -> Result<Option<BrowserSession>, Box<Response>> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token.and_then(|t| state.sessions.find(t, Instant::now())) {
        Some(session) => Ok(Some(session)),
        None => Err(Box::new(failure(
            StatusCode::UNAUTHORIZED,
            "sessionEnded",
            "this browser's sign-in has ended (the server restarted or forgot it); sign in again",
        ))),
    }
}

fn answer(result: Result<serde_json::Value, ScreensFailure>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(ScreensFailure { status, body }) => (status, Json(body)).into_response(),
    }
}

/// Runs one of the window's commands for this browser.
async fn call(
    State(state): State<ScreensState>,
    Path(command): Path<String>,
    headers: HeaderMap,
    body: Option<Json<serde_json::Value>>,
) -> Response {
    let session = match session_of(&state, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    // Sign-in hands out a token, so it has its own route.
    if command == "sign_in" || command == "sign_out" {
        return failure(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("'{command}' is POST /ui/{}", command.replace('_', "-")),
        );
    }
    let args = body
        .map(|Json(v)| v)
        .unwrap_or(serde_json::Value::Object(Default::default()));
    answer(state.backend.call(session, command, args).await)
}

/// Checks a name and password (counted against the client's failed authentications) and answers
/// `{token, session}`: the token to send as `Authorization: Bearer` from now on.
async fn sign_in(
    State(state): State<ScreensState>,
    client: Option<Extension<ClientAddr>>,
    body: Option<Json<serde_json::Value>>,
) -> Response {
    let ip = client_ip(client);
    let now = Instant::now();
    if let Some(wait) = state.limiter.blocked(ip, now) {
        return failure(
            StatusCode::TOO_MANY_REQUESTS,
            "signInFailed",
            format!("too many failed sign-ins from this address; try again in {wait} s"),
        );
    }
    let args = body
        .map(|Json(v)| v)
        .unwrap_or(serde_json::Value::Object(Default::default()));
    let session = state.sessions.new_session();
    match state
        .backend
        .call(Some(session), "sign_in".to_string(), args)
        .await
    {
        Ok(view) => {
            let token = match new_token() {
                Ok(t) => t,
                Err(e) => {
                    state.backend.end(session);
                    return failure(StatusCode::SERVICE_UNAVAILABLE, "engine", e);
                }
            };
            for gone in state.sessions.insert(token.clone(), session, now) {
                state.backend.end(gone);
            }
            Json(serde_json::json!({ "token": token, "session": view })).into_response()
        }
        Err(refused) => {
            state.backend.end(session);
            if refused.status == StatusCode::UNAUTHORIZED {
                state.limiter.fail(ip, now);
            }
            answer(Err(refused))
        }
    }
}

/// Signs this browser's user out (audited) and forgets its token; answers the session as it is now.
async fn sign_out(State(state): State<ScreensState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_string());
    let session = token.as_deref().and_then(|t| state.sessions.remove(t));
    let result = match session {
        Some(session) => {
            let result = state
                .backend
                .call(Some(session), "sign_out".to_string(), serde_json::json!({}))
                .await;
            state.backend.end(session);
            result
        }
        None => {
            state
                .backend
                .call(
                    None,
                    "session".to_string(),
                    serde_json::json!({"active": false}),
                )
                .await
        }
    };
    answer(result)
}

/// `pws_` and 32 random bytes in hex: as unguessable as an API token.
fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("pws_{hex}"))
}

/// The live batches over a WebSocket, as the window's channel gets them. A browser that cannot keep up
/// (the batches it has not taken overflow the shared buffer, or one message takes longer than
/// [`SEND_WITHIN`]) is told so and dropped; the page reconnects and reads a fresh snapshot.
async fn live(
    State(state): State<ScreensState>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(1024)
            .on_upgrade(move |socket| live_session(socket, state)),
        Err(e) => failure(
            StatusCode::BAD_REQUEST,
            "badRequest",
            format!("/ui/live is a WebSocket ({e})"),
        ),
    }
}

async fn live_session(socket: WebSocket, state: ScreensState) {
    let (mut sink, mut incoming) = socket.split();
    let mut batches = state.backend.live();
    let mut stopping = state.stopping.clone();
    let close = |reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code: axum::extract::ws::close_code::AWAY,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    loop {
        let message = tokio::select! {
            _ = stopping.changed() => {
                let _ = tokio::time::timeout(SEND_WITHIN, sink.send(close("the server is stopping"))).await;
                return;
            }
            from_browser = incoming.next() => match from_browser {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                // The browser has nothing to say on this socket; pings are answered by the socket.
                Some(Ok(_)) => continue,
            },
            batch = batches.recv() => match batch {
                Ok(json) => Message::Text(Utf8Bytes::from(json.as_ref())),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!("browser screens: a live client missed {missed} batches; dropped");
                    let _ = tokio::time::timeout(SEND_WITHIN, sink.send(Message::Close(Some(CloseFrame {
                        code: axum::extract::ws::close_code::POLICY,
                        reason: Utf8Bytes::from_static("lagged"),
                    })))).await;
                    return;
                }
                Err(RecvError::Closed) => {
                    let _ = tokio::time::timeout(SEND_WITHIN, sink.send(close("the plant closed"))).await;
                    return;
                }
            },
        };
        match tokio::time::timeout(SEND_WITHIN, sink.send(message)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// The content type of a UI file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The policy the window's pages run under (tauri.conf.json), with the page's own origin in place of
/// Tauri's IPC for `fetch` and the live WebSocket.
const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// A file of the UI: `/` is `index.html`; hashed assets are cached for long, the page never.
async fn file(State(state): State<ScreensState>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") || path.starts_with("ui/") {
        return crate::error::ApiError::no_route().into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(bytes) = state.backend.asset(path) else {
        return failure(
            StatusCode::NOT_FOUND,
            "notFound",
            format!(
                "no file '{}' in the screens",
                plantwatch_core::echo::escape(path)
            ),
        );
    };
    let mut response = Response::new(Body::from(bytes.into_owned()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_map_stays_bounded_and_pushes_out_the_least_recently_used() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let mut pushed = Vec::new();
        for i in 0..(MAX_SESSIONS + 3) {
            let s = sessions.new_session();
            let at = start + Duration::from_secs(i as u64);
            pushed.extend(sessions.insert(format!("t{i}"), s, at));
        }
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
        assert_eq!(
            pushed,
            vec![BrowserSession(1), BrowserSession(2), BrowserSession(3)],
            "the oldest go first"
        );
        assert_eq!(sessions.find("t0", start), None);
        assert!(sessions.find("t5", start).is_some());
    }

    #[test]
    fn a_session_unused_for_half_a_day_is_forgotten() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let first = sessions.new_session();
        sessions.insert("old".into(), first, start);
        let later = start + SESSION_FORGOTTEN_AFTER;
        let gone = sessions.insert("new".into(), sessions.new_session(), later);
        assert_eq!(gone, vec![first]);
        assert_eq!(sessions.find("old", later), None);
    }

    #[test]
    fn tokens_are_distinct_and_long() {
        let a = new_token().expect("random");
        let b = new_token().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
    }
}
