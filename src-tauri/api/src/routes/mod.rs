//! The endpoints under `/api/v1/`, one module per area, and the shapes they answer with.

pub mod alarm_actions;
pub mod alarms;
pub mod history;
pub mod live;
pub mod plant;
pub mod write;

use std::sync::Arc;

use plantwatch_core::{Quality, Timestamp, Value};
use plantwatch_engine::Engine;
use serde::Serialize;
use utoipa::ToSchema;

/// What every handler reads from.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Turns true when the server stops: long-lived sessions (the live stream) end on it, letting go
    /// of the engine.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// A quality as the API shows it: the level, and the cause when it is not good.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityBody {
    /// `good`, `bad` or `uncertain`.
    #[schema(example = "bad")]
    pub level: &'static str,
    /// Why it is not good: `no_connection`, `comm_lost`, `exception_02`, `config`, `stale`,
    /// `not_a_number`, `bad_reply`; absent when good.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "comm_lost")]
    pub cause: Option<String>,
}

impl From<Quality> for QualityBody {
    fn from(quality: Quality) -> QualityBody {
        match quality {
            Quality::Good => QualityBody {
                level: "good",
                cause: None,
            },
            Quality::Bad(cause) => QualityBody {
                level: "bad",
                cause: Some(cause.to_string()),
            },
            Quality::Uncertain(cause) => QualityBody {
                level: "uncertain",
                cause: Some(cause.to_string()),
            },
        }
    }
}

/// A value as JSON: a number, `true`/`false`, a string, or `null` (none, or a number JSON cannot hold).
pub fn value_json(value: Option<&Value>) -> serde_json::Value {
    match value {
        None => serde_json::Value::Null,
        Some(Value::Bool(b)) => serde_json::Value::Bool(*b),
        Some(Value::Number(n)) => serde_json::Number::from_f64(*n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Some(Value::Text(t)) => serde_json::Value::String(t.to_string()),
    }
}

/// A number as JSON (`null` for NaN and infinities, which JSON has not).
pub fn number_json(n: Option<f64>) -> Option<f64> {
    n.filter(|n| n.is_finite())
}

/// A time as RFC 3339 UTC with milliseconds, as `export` prints it.
pub fn time_text(t: Timestamp) -> String {
    t.to_string()
}
