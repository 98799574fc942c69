//! The local API: the plant, its live values, device status, history and alarms over HTTP(S), for
//! plant apps (dashboards, MES connectors, scripts), read with a bearer token.
//!
//! [`ApiServer::start`] takes the running [`Engine`] (one engine, no second poller) and the plant's
//! `[api]` settings, binds, and serves `/api/v1/...` until [`ApiServer::stop`]. Every route but the
//! OpenAPI document needs a token of scope `read` ([`auth`]); a client address that fails to
//! authenticate 10 times in a minute gets 429 for the rest of it. Connections are served by hyper over
//! plain TCP or rustls, at most [`MAX_CONNECTIONS`] at once, each with a header timeout. CORS headers are
//! sent only to origins the plant lists.

pub mod auth;
pub mod error;
pub mod openapi;
mod params;
pub mod routes;
pub mod screens;
mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use plantwatch_access::{AccessError, TokenScope, Tokens};
use plantwatch_core::{ApiSecurity, ApiSettings};
use plantwatch_engine::Engine;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The types a [`ScreensBackend`] answers with, so that it needs no HTTP crate of its own.
pub use axum::http::StatusCode;
pub use error::{ApiError, ErrorBody};
pub use futures_util::future::BoxFuture;
pub use screens::{BrowserSession, ScreensBackend, ScreensFailure};
pub use tls::TlsError;

use auth::{AuthState, ClientAddr, FailureLimiter};
use routes::AppState;

/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// The largest request body accepted (the read endpoints take none).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most bytes of request line and headers buffered per connection.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a client has to send its request headers, or finish the TLS handshake.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `stop` lets requests in progress finish.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiStartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("the token store: {0}")]
    Tokens(#[from] AccessError),
    #[error("'cors' origin {0:?} cannot be a header value")]
    Cors(String),
}

/// The routes under `/api/v1/`, with authentication, CORS and the body limit, and the browser screens
/// (`screens`, when the plant serves them). Long-lived sessions end when `stopping` turns true.
pub fn router(
    engine: Arc<Engine>,
    tokens: Arc<Tokens>,
    cors: &[String],
    screens: Option<Arc<dyn ScreensBackend>>,
    stopping: watch::Receiver<bool>,
) -> Result<Router, ApiStartError> {
    let limiter = Arc::new(FailureLimiter::default());
    let screens =
        screens.map(|backend| screens::router(backend, limiter.clone(), stopping.clone()));
    let read = AuthState {
        tokens: tokens.clone(),
        limiter: limiter.clone(),
        needs: TokenScope::Read,
    };
    let write = AuthState {
        tokens,
        limiter,
        needs: TokenScope::Write,
    };
    let state = AppState { engine, stopping };
    // Writes and alarm actions: a write token, acting as its user.
    let writes = Router::new()
        .route("/tags/{device}/{tag}/write", post(routes::write::write))
        .route("/alarms/{action}", post(routes::alarm_actions::act))
        .route_layer(axum::middleware::from_fn_with_state(
            write,
            auth::require_token,
        ))
        .with_state(state.clone());
    let api = Router::new()
        .route("/plant", get(routes::plant::plant))
        .route("/values", get(routes::plant::values))
        .route("/devices", get(routes::plant::devices))
        .route("/history/raw", get(routes::history::raw))
        .route("/history/aggregate", get(routes::history::aggregate))
        .route("/history/thinned", get(routes::history::thinned))
        .route("/alarms/active", get(routes::alarms::active))
        .route("/alarms/journal", get(routes::alarms::journal))
        .route("/alarms/health", get(routes::alarms::health))
        .route("/live", get(routes::live::live))
        .route_layer(axum::middleware::from_fn_with_state(
            read,
            auth::require_token,
        ))
        .route("/openapi.json", get(openapi::document))
        .with_state(state);
    let mut app = Router::new().nest("/api/v1", api.merge(writes));
    app = match screens {
        Some(screens) => app.merge(screens),
        None => app.fallback(|| async { ApiError::no_route() }),
    };
    let mut app = app.layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    if let Some(cors) = cors_layer(cors)? {
        app = app.layer(cors);
    }
    Ok(app)
}

/// The CORS layer for the listed origins: only `GET` with `Authorization`; `None` (no CORS headers at
/// all) when the plant lists none.
fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, ApiStartError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|_| ApiStartError::Cors(o.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET])
            .allow_headers([axum::http::header::AUTHORIZATION]),
    ))
}

/// The running API.
pub struct ApiServer {
    addr: SocketAddr,
    scheme: &'static str,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// Binds `settings.listen` and serves the API over `engine`, checking tokens in the database at `db`;
    /// with `screens`, also the browser screens (the caller passes them only when the plant says
    /// `browser = true`).
    pub async fn start(
        settings: &ApiSettings,
        engine: Arc<Engine>,
        db: &Path,
        screens: Option<Arc<dyn ScreensBackend>>,
    ) -> Result<ApiServer, ApiStartError> {
        let tls = match &settings.security {
            ApiSecurity::Tls { cert, key } => Some(tokio_rustls::TlsAcceptor::from(
                tls::server_config(cert, key)?,
            )),
            ApiSecurity::Loopback | ApiSecurity::Insecure => None,
        };
        let tokens = Arc::new(Tokens::open(db)?);
        let (stop, stopped) = watch::channel(false);
        let app = router(engine, tokens, &settings.cors, screens, stopped.clone())?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| ApiStartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ApiStartError::Bind {
                addr: settings.listen,
                source,
            })?;
        let task = tokio::spawn(accept_loop(listener, tls, app, stopped));
        Ok(ApiServer {
            addr,
            scheme: settings.scheme(),
            stop,
            task,
        })
    }

    /// The address it listens on (the bound port when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:8181/api/v1/` or `https://...`.
    pub fn url(&self) -> String {
        format!("{}://{}/api/v1/", self.scheme, self.addr)
    }

    /// Where a browser opens the screens: `http://127.0.0.1:8181/` or `https://...`.
    pub fn screens_url(&self) -> String {
        format!("{}://{}/", self.scheme, self.addr)
    }

    /// Stops accepting, lets requests in progress finish for a moment, and closes every connection.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stopped.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: pause instead of spinning.
                    tracing::warn!("API: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        // Reap finished connections so the set stays as small as the live ones.
        while connections.try_join_next().is_some() {}
        let app = app.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            match tls {
                None => serve(stream, peer, app).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve(stream, peer, app).await,
                        Ok(Err(e)) => tracing::debug!("API: TLS handshake with {peer} failed: {e}"),
                        Err(_) => tracing::debug!("API: TLS handshake with {peer} timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    let grace = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, grace).await.is_err() {
        connections.shutdown().await;
    }
}

/// Serves HTTP/1.1 on one connection, tagging each request with the client's address.
async fn serve<S>(stream: S, peer: SocketAddr, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ClientAddr(peer));
            let app = app.clone();
            async move {
                let response = app
                    .oneshot(request.map(axum::body::Body::new))
                    .await
                    .unwrap_or_else(|e: Infallible| match e {});
                Ok::<_, Infallible>(response)
            }
        });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(stream), service)
        // The live stream takes the connection over after its upgrade.
        .with_upgrades()
        .await;
    if let Err(e) = result {
        tracing::debug!("API: connection from {peer} ended: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use plantwatch_access::{Password, TokenGrant, Users};

    /// A route behind the token check, needing `needs`, over a fresh token table with one read and
    /// one write token.
    fn guarded(needs: TokenScope) -> (tempfile::TempDir, Router, String, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("plant.db");
        let users = Users::open(&db).expect("open");
        let read = users
            .add_token("r", &TokenGrant::Read, None, None)
            .expect("add");
        users
            .add(
                "ada",
                plantwatch_core::Role::Admin,
                &Password::new("ada-password"),
                None,
            )
            .expect("first user");
        let ada = users
            .sign_in("ada", &Password::new("ada-password"))
            .expect("sign in");
        let write = users
            .add_token(
                "w",
                &TokenGrant::Write { user: "ada".into() },
                None,
                Some(&ada),
            )
            .expect("add");
        let auth = AuthState {
            tokens: Arc::new(Tokens::open(&db).expect("tokens")),
            limiter: Arc::new(FailureLimiter::default()),
            needs,
        };
        let app = Router::new()
            .route("/x", get(|| async { "done" }))
            .route_layer(axum::middleware::from_fn_with_state(
                auth,
                auth::require_token,
            ));
        (
            dir,
            app,
            read.reveal().to_string(),
            write.reveal().to_string(),
        )
    }

    async fn status(
        app: &Router,
        token: Option<&str>,
        origin: Option<&str>,
    ) -> (StatusCode, Option<String>) {
        let mut request = Request::get("/x");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let mut request = request.body(Body::empty()).expect("request");
        request
            .extensions_mut()
            .insert(ClientAddr(SocketAddr::from(([127, 0, 0, 1], 5000))));
        let response = app.clone().oneshot(request).await.expect("infallible");
        let allowed = response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (response.status(), allowed)
    }

    #[tokio::test]
    async fn a_read_token_may_not_do_what_needs_write() {
        let (_dir, app, read, write) = guarded(TokenScope::Write);
        assert_eq!(
            status(&app, Some(&read), None).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(status(&app, Some(&write), None).await.0, StatusCode::OK);
        assert_eq!(status(&app, None, None).await.0, StatusCode::UNAUTHORIZED);
        let (_dir, app, read, _) = guarded(TokenScope::Read);
        assert_eq!(status(&app, Some(&read), None).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn the_scheme_name_is_case_insensitive_and_the_token_is_not() {
        let (_dir, app, read, _) = guarded(TokenScope::Read);
        let call = |header: String| {
            let app = app.clone();
            async move {
                let mut request = Request::get("/x")
                    .header("Authorization", header)
                    .body(Body::empty())
                    .expect("request");
                request
                    .extensions_mut()
                    .insert(ClientAddr(SocketAddr::from(([127, 0, 0, 1], 5000))));
                app.oneshot(request).await.expect("infallible").status()
            }
        };
        assert_eq!(call(format!("bearer {read}")).await, StatusCode::OK);
        assert_eq!(call(format!("BEARER {read}")).await, StatusCode::OK);
        assert_eq!(
            call(format!("Bearer {}", read.to_uppercase())).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(format!("Basic {read}")).await,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn cors_headers_go_only_to_listed_origins() {
        let (_dir, app, read, _) = guarded(TokenScope::Read);
        let listed = vec!["https://dashboard.example".to_string()];
        let app = app.layer(cors_layer(&listed).expect("valid").expect("a layer"));
        assert_eq!(
            status(&app, Some(&read), Some("https://dashboard.example")).await,
            (
                StatusCode::OK,
                Some("https://dashboard.example".to_string())
            )
        );
        assert_eq!(
            status(&app, Some(&read), Some("https://elsewhere.example")).await,
            (StatusCode::OK, None)
        );
        assert!(
            cors_layer(&[]).expect("valid").is_none(),
            "no origins, no layer"
        );
    }
}
