//! `GET /live`: a WebSocket of value changes. The client names the tags it wants
//! (`{"subscribe": ["plc/level", "pump/*"]}`, ids or patterns as in `values?pattern=`); the server answers
//! with the current values of those tags, then every [`BATCH_EVERY`] a batch of the changes since the
//! last one, each batch's `seq` one more than the last, so a client sees at once whether it missed any.
//!
//! The changes come from [`Engine::subscribe`], as in the desktop's live view: every change of value or
//! quality in every poll, so a batch agrees with `GET /values`. (`subscribe_stored` is what the history
//! keeps, after deadband and heartbeat: right for replaying history, wrong for showing the plant now.)
//!
//! A client that does not read as fast as the plant changes is not buffered for without end: its
//! batches wait in a queue of [`QUEUE_BATCHES`], and every [`PING_EVERY`] it is pinged; when the queue
//! is full, or a ping is not answered within [`PONG_WITHIN`] (the kernel's socket buffers can hide a
//! stalled reader for minutes; the ping cannot pass them), the client gets a last
//! `{"error": "lagged", ...}` (if its socket takes it within [`FAREWELL_WITHIN`]) and is dropped.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use plantwatch_core::{Plant, Sample, TagIndex};
use plantwatch_engine::EngineEvent;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use utoipa::ToSchema;

use super::{time_text, value_json, AppState, QualityBody};
use crate::auth::ClientAddr;
use crate::error::{ApiError, ErrorBody};

/// How often changes are sent, at most.
pub const BATCH_EVERY: Duration = Duration::from_millis(100);
/// Batches waiting for a slow client at most (5 s of batches); one more and it is dropped.
pub const QUEUE_BATCHES: usize = 50;
/// How often a client is pinged (when no ping is outstanding).
pub const PING_EVERY: Duration = Duration::from_secs(2);
/// How long a client may take to answer a ping (it reads everything sent before the ping first).
pub const PONG_WITHIN: Duration = Duration::from_secs(10);
/// How long the last message to a dropped client may take before the connection is simply closed.
pub const FAREWELL_WITHIN: Duration = Duration::from_secs(1);
/// The largest message a client may send (a subscription).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// The most ids and patterns one subscription may name.
pub const MAX_SUBSCRIBE: usize = 1000;

/// What a client sends: the tags it wants, by full id (`plc/level`) or pattern (`plc/*`). A new
/// subscription replaces the last and is answered with the current values of its tags.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveSubscribe {
    #[schema(example = json!(["plc/level", "pump/*"]))]
    pub subscribe: Vec<String>,
}

/// What the server sends: the current values (first, `snapshot` true) or the changes since the last
/// batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveBatch {
    /// One more than the last batch's; the first is 1.
    pub seq: u64,
    /// True when `values` holds every subscribed tag's current reading: after a subscription, and after
    /// the server itself fell behind the engine (the changes in between are not sent).
    pub snapshot: bool,
    pub values: Vec<LiveValue>,
}

/// One reading in a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveValue {
    #[schema(example = "plc/level")]
    pub tag: String,
    /// A number, `true`/`false`, a string, or `null`.
    #[schema(example = 2.5)]
    pub value: serde_json::Value,
    pub quality: QualityBody,
    /// When it was read, RFC 3339 UTC (absent before the first reading).
    pub time: Option<String>,
}

/// An error message: a bad subscription (the connection stays open for a better one), or `lagged`
/// (the last message before the server drops a client that fell behind).
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveError {
    /// `bad_request`, `unknown_tag`, `lagged`.
    #[schema(example = "lagged")]
    pub error: &'static str,
    pub message: String,
}

/// Live value changes over a WebSocket (send the bearer token in the upgrade request's
/// `Authorization` header). Send `LiveSubscribe`; receive `LiveBatch`es (or `LiveError`).
#[utoipa::path(
    get, path = "/api/v1/live", tag = "plant",
    security(("bearer" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol. Client to server: \
            LiveSubscribe; server to client: LiveBatch every 100 ms with changes (seq +1 each), or \
            LiveError; a client more than 50 batches behind gets LiveError 'lagged' and is dropped."),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn live(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|e| {
        ApiError::bad_parameter(format!(
            "/live is a WebSocket: connect with a WebSocket client ({e})"
        ))
    })?;
    let peer = client.map(|Extension(ClientAddr(a))| a);
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session(socket, state, peer)))
}

/// One client, until it leaves, falls behind, or the server stops.
async fn session(socket: WebSocket, state: AppState, peer: Option<SocketAddr>) {
    let who = peer.map_or_else(|| "a client".to_string(), |p| p.to_string());
    let (sink, mut incoming) = socket.split();
    let (queue, queued) = mpsc::channel::<Message>(QUEUE_BATCHES);
    let (lagged_tx, lagged) = oneshot::channel::<LiveError>();
    let writer = tokio::spawn(write_loop(sink, queued, lagged));
    let mut lagged_tx = Some(lagged_tx);

    // Subscribed before any snapshot is taken, so no change falls between the two.
    let mut events = state.engine.subscribe();
    let mut stopping = state.stopping.clone();
    let mut wanted: HashSet<TagIndex> = HashSet::new();
    let mut changes: Vec<Sample> = Vec::new();
    let mut seq: u64 = 0;
    let mut resync = false;
    let mut ticker = tokio::time::interval(BATCH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut pinger = tokio::time::interval(PING_EVERY);
    pinger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // When the oldest unanswered ping was queued.
    let mut unanswered: Option<tokio::time::Instant> = None;
    let mut lag: Option<String> = None;

    let why = loop {
        let outgoing = tokio::select! {
            _ = stopping.changed() => {
                let _ = queue.try_send(Message::Close(Some(CloseFrame {
                    code: axum::extract::ws::close_code::AWAY,
                    reason: Utf8Bytes::from_static("the server is stopping"),
                })));
                break "the server stopped";
            }
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => match subscription(state.engine.plant(), &text) {
                    Ok(tags) => {
                        wanted = tags.into_iter().collect();
                        changes.clear();
                        seq += 1;
                        Some(batch_json(seq, true, &snapshot(&state, &wanted), state.engine.plant()))
                    }
                    Err(e) => Some(error_json(&e)),
                },
                Some(Ok(Message::Binary(_))) => Some(error_json(&LiveError {
                    error: "bad_request",
                    message: "send text: {\"subscribe\": [\"plc/level\", \"pump/*\"]}".into(),
                })),
                Some(Ok(Message::Pong(_))) => {
                    unanswered = None;
                    None
                }
                // Pings are answered by the socket itself.
                Some(Ok(Message::Ping(_))) => None,
                Some(Ok(Message::Close(_))) | None => break "the client left",
                Some(Err(_)) => break "the connection failed",
            },
            now = pinger.tick() => match unanswered {
                Some(since) if now.duration_since(since) >= PONG_WITHIN => {
                    lag = Some(format!(
                        "this client did not answer a ping within {} s: it reads too slowly or \
                         not at all; reconnect and subscribe again",
                        PONG_WITHIN.as_secs()
                    ));
                    None
                }
                Some(_) => None,
                None => {
                    unanswered = Some(now);
                    Some(Message::Ping(axum::body::Bytes::from_static(b"plantwatch")))
                }
            },
            _ = ticker.tick() => {
                loop {
                    match events.try_recv() {
                        Ok(EngineEvent::Samples(samples)) => changes.extend(
                            samples.iter().filter(|s| wanted.contains(&s.tag)).cloned(),
                        ),
                        Ok(EngineEvent::DeviceState { .. }) => {}
                        Err(TryRecvError::Lagged(_)) => resync = true,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => break,
                    }
                }
                if wanted.is_empty() {
                    changes.clear();
                    None
                } else if resync {
                    // The engine's events overflowed under this session: what was missed is lost,
                    // so send the current state instead of a batch with a hole in it.
                    resync = false;
                    changes.clear();
                    seq += 1;
                    Some(batch_json(seq, true, &snapshot(&state, &wanted), state.engine.plant()))
                } else if changes.is_empty() {
                    None
                } else {
                    seq += 1;
                    let batch = batch_json(seq, false, &changes, state.engine.plant());
                    changes.clear();
                    Some(batch)
                }
            }
        };
        if let Some(outgoing) = outgoing {
            match queue.try_send(outgoing) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    lag = Some(format!(
                        "this client fell {QUEUE_BATCHES} messages behind (batch {seq} could not \
                         be queued); reconnect and subscribe again"
                    ));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break "the connection failed",
            }
        }
        if let Some(message) = lag.take() {
            tracing::warn!("API: live client {who} fell behind; dropped: {message}");
            if let Some(tx) = lagged_tx.take() {
                let _ = tx.send(LiveError {
                    error: "lagged",
                    message,
                });
            }
            break "it fell behind";
        }
    };
    tracing::debug!("API: live session of {who} ended: {why}");
    drop(queue);
    drop(lagged_tx);
    let _ = writer.await;
}

/// Sends the queued messages in order; on a lag notice, abandons the queue, sends the notice and a
/// close frame (each at most [`FAREWELL_WITHIN`]) and ends, which closes the connection.
async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Message>,
    mut lagged: oneshot::Receiver<LiveError>,
) {
    let notice = loop {
        let next = tokio::select! {
            biased;
            notice = &mut lagged => match notice {
                Ok(notice) => break Some(notice),
                // The session ended without a lag: send what is queued (the close frame last).
                Err(_) => {
                    while let Ok(message) = queued.try_recv() {
                        let farewell = tokio::time::timeout(FAREWELL_WITHIN, sink.send(message));
                        if !matches!(farewell.await, Ok(Ok(()))) {
                            return;
                        }
                    }
                    return;
                }
            },
            next = queued.recv() => next,
        };
        let Some(message) = next else { return };
        // A send blocked by a client that does not read stays interruptible by the lag notice.
        tokio::select! {
            biased;
            notice = &mut lagged => match notice {
                Ok(notice) => break Some(notice),
                Err(_) => break None,
            },
            sent = sink.send(message) => if sent.is_err() { return },
        }
    };
    if let Some(notice) = notice {
        let last = async {
            sink.send(error_json(&notice)).await?;
            sink.send(Message::Close(Some(CloseFrame {
                code: axum::extract::ws::close_code::POLICY,
                reason: Utf8Bytes::from_static("lagged"),
            })))
            .await
        };
        let _ = tokio::time::timeout(FAREWELL_WITHIN, last).await;
    }
}

/// The tags a subscription names: each entry a full id, or a pattern when it has a `*`.
fn subscription(plant: &Plant, text: &str) -> Result<Vec<TagIndex>, LiveError> {
    let request: LiveSubscribe = serde_json::from_str(text).map_err(|e| LiveError {
        error: "bad_request",
        message: format!(
            "expected {{\"subscribe\": [\"plc/level\", \"pump/*\"]}} (tag ids or patterns): {e}"
        ),
    })?;
    if request.subscribe.len() > MAX_SUBSCRIBE {
        return Err(LiveError {
            error: "bad_request",
            message: format!(
                "'subscribe' names {} entries; at most {MAX_SUBSCRIBE} (use a pattern)",
                request.subscribe.len()
            ),
        });
    }
    let mut tags = Vec::new();
    for entry in &request.subscribe {
        let found = if entry.contains('*') {
            super::plant::matching(plant, entry)
        } else {
            plant.find_tag(entry).map(|t| vec![t]).ok_or_else(|| {
                ApiError::unknown_tag(format!(
                    "unknown tag '{}'; GET /api/v1/plant lists the tags",
                    plantwatch_core::echo::escape(entry)
                ))
            })
        };
        tags.extend(found.map_err(|e| LiveError {
            error: e.code,
            message: e.message,
        })?);
    }
    Ok(tags)
}

/// The current reading of every subscribed tag, in config order.
fn snapshot(state: &AppState, wanted: &HashSet<TagIndex>) -> Vec<Sample> {
    let mut tags: Vec<TagIndex> = wanted.iter().copied().collect();
    tags.sort_by_key(|t| t.0);
    let live = state.engine.live();
    tags.into_iter()
        .map(|tag| {
            let reading = live.get(tag.0 as usize).cloned().unwrap_or_default();
            Sample {
                tag,
                time: reading.time.unwrap_or(plantwatch_core::Timestamp(0)),
                value: reading.value,
                quality: reading.quality,
            }
        })
        .collect()
}

fn batch_json(seq: u64, snapshot: bool, samples: &[Sample], plant: &Plant) -> Message {
    let batch = LiveBatch {
        seq,
        snapshot,
        values: samples
            .iter()
            .map(|s| LiveValue {
                tag: plant.full_id(s.tag).unwrap_or_default(),
                value: value_json(s.value.as_ref()),
                quality: s.quality.into(),
                time: (s.time.0 != 0).then(|| time_text(s.time)),
            })
            .collect(),
    };
    Message::Text(serde_json::to_string(&batch).unwrap_or_default().into())
}

fn error_json(error: &LiveError) -> Message {
    Message::Text(serde_json::to_string(error).unwrap_or_default().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> Plant {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo-plant.toml");
        plantwatch_config::load(&path).expect("the demo plant loads")
    }

    #[test]
    fn a_subscription_takes_ids_and_patterns_and_names_what_it_does_not_know() {
        let plant = plant();
        let tags = subscription(&plant, r#"{"subscribe": ["plc/*"]}"#).expect("a pattern");
        assert!(!tags.is_empty());
        let bad = subscription(&plant, r#"{"subscribe": ["plc/nope"]}"#).expect_err("unknown");
        assert_eq!(bad.error, "unknown_tag");
        assert!(bad.message.contains("plc/nope"), "{}", bad.message);
        let bad = subscription(&plant, r#"{"subscribe": "plc/*"}"#).expect_err("not a list");
        assert_eq!(bad.error, "bad_request");
        let bad = subscription(&plant, r#"{"subscribe": [], "x": 1}"#).expect_err("unknown key");
        assert_eq!(bad.error, "bad_request");
    }
}
