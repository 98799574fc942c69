//! Who may call: a bearer token from the plant's token table, checked on every request, and a limit on
//! failed attempts per client address so tokens cannot be guessed at speed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plantwatch_access::{TokenInfo, TokenScope, Tokens};
use plantwatch_core::Timestamp;

use crate::error::ApiError;

/// Failed authentications a client address may make within [`FAILURE_WINDOW`] before it gets 429.
pub const MAX_FAILURES: u32 = 10;
/// The window failures are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; the map never grows past it, whoever connects.
pub const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The address a connection came from, put on each of its requests by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Failed authentications per client address, in fixed windows, in a bounded map.
#[derive(Default)]
pub struct FailureLimiter {
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimiter {
    /// `Some(seconds to wait)` when `ip` has used up its failures in the current window.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let (start, failures) = clients.get(&ip)?;
        let ends = *start + FAILURE_WINDOW;
        (*failures >= MAX_FAILURES && now < ends)
            .then(|| ends.saturating_duration_since(now).as_secs().max(1))
    }

    /// Counts one failure of `ip`.
    pub fn fail(&self, ip: IpAddr, now: Instant) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.len() >= MAX_TRACKED_CLIENTS && !clients.contains_key(&ip) {
            clients.retain(|_, (start, _)| now.duration_since(*start) < FAILURE_WINDOW);
            if clients.len() >= MAX_TRACKED_CLIENTS {
                // Still full of fresh windows: forget the oldest to make room (bounded either way).
                if let Some(oldest) = clients.iter().min_by_key(|(_, (s, _))| *s).map(|(k, _)| *k) {
                    clients.remove(&oldest);
                }
            }
        }
        let entry = clients.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= FAILURE_WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Addresses remembered now.
    pub fn tracked(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// What the authentication layer needs.
#[derive(Clone)]
pub struct AuthState {
    pub tokens: Arc<Tokens>,
    pub limiter: Arc<FailureLimiter>,
    /// The scope every route behind this layer needs.
    pub needs: TokenScope,
}

/// The token behind a request, for handlers that want to know who asked.
#[derive(Debug, Clone)]
pub struct Caller(pub TokenInfo);

/// Checks the bearer token before the handler runs: 429 while the address is blocked, 401 for a
/// missing or refused token (counted), 403 for a token whose scope is too small.
pub async fn require_token(
    State(auth): State<AuthState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = request
        .extensions()
        .get::<ClientAddr>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let now = Instant::now();
    if let Some(wait) = auth.limiter.blocked(ip, now) {
        return ApiError::rate_limited(wait).into_response();
    }
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // The scheme's name is case-insensitive (RFC 9110); the token is not.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let Some(presented) = presented else {
        auth.limiter.fail(ip, now);
        return ApiError::unauthorized().into_response();
    };
    let tokens = auth.tokens.clone();
    let checked =
        tokio::task::spawn_blocking(move || tokens.check(&presented, Timestamp::now())).await;
    let info = match checked {
        Ok(Ok(Ok(info))) => info,
        Ok(Ok(Err(refusal))) => {
            tracing::debug!("API token refused from {ip}: {refusal:?}");
            auth.limiter.fail(ip, now);
            return ApiError::unauthorized().into_response();
        }
        Ok(Err(e)) => {
            tracing::warn!("API token check failed: {e}");
            return ApiError::unavailable("the token store cannot be read now; try again")
                .into_response();
        }
        Err(_) => return ApiError::unavailable("the token check stopped").into_response(),
    };
    if !info.scope.allows(auth.needs) {
        return ApiError::forbidden(info.scope, auth.needs).into_response();
    }
    request.extensions_mut().insert(Caller(info));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_block_an_address_for_the_rest_of_the_minute() {
        let limiter = FailureLimiter::default();
        let ip = IpAddr::from([10, 0, 0, 7]);
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(limiter.blocked(ip, start), None);
            limiter.fail(ip, start);
        }
        assert!(limiter.blocked(ip, start).is_some());
        assert_eq!(
            limiter.blocked(IpAddr::from([10, 0, 0, 8]), start),
            None,
            "others are not blocked"
        );
        assert_eq!(
            limiter.blocked(ip, start + FAILURE_WINDOW),
            None,
            "a new window"
        );
    }

    #[test]
    fn the_map_stays_bounded_whoever_connects() {
        let limiter = FailureLimiter::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED_CLIENTS as u32 + 500) {
            limiter.fail(IpAddr::from(i.to_be_bytes()), now);
        }
        assert_eq!(limiter.tracked(), MAX_TRACKED_CLIENTS);
    }
}
