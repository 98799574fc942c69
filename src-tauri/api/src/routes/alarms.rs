//! `GET /alarms/active`, `/alarms/journal`, `/alarms/health`: read from the plant's alarm journal with
//! the same reader and health analysis `plantwatch alarms` uses.

use std::path::PathBuf;

use axum::extract::{RawQuery, State};
use axum::Json;
use plantwatch_alarm::health::{self, HealthReport};
use plantwatch_alarm::{AlarmError, AlarmStatus, JournalEntry, JournalQuery, JournalReader};
use plantwatch_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::{number_json, time_text, AppState};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;

/// The most journal entries one `alarms/journal` answer holds, and one `alarms/health` analyses; a
/// range holding more is refused (400, `too_much`).
pub const MAX_JOURNAL_ENTRIES: usize = 100_000;

async fn read<T: Send + 'static>(
    db: PathBuf,
    work: impl FnOnce(&JournalReader) -> Result<T, AlarmError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let reader = JournalReader::open(&db)?;
        work(&reader)
    })
    .await
    .map_err(|_| ApiError::unavailable("the journal read stopped"))?
    .map_err(|e| ApiError::unavailable(format!("the alarm journal cannot be read now: {e}")))
}

/// Reads the journal entries of a range, refusing more than [`MAX_JOURNAL_ENTRIES`].
async fn entries(db: PathBuf, query: JournalQuery) -> Result<Vec<JournalEntry>, ApiError> {
    let (entries, over) = read(db, move |reader| {
        let mut entries = Vec::new();
        let mut over = false;
        reader.for_each(query, |e| {
            if entries.len() == MAX_JOURNAL_ENTRIES {
                over = true;
            } else {
                entries.push(e);
            }
        })?;
        Ok((entries, over))
    })
    .await?;
    if over {
        return Err(ApiError::too_much(format!(
            "the range holds more than {MAX_JOURNAL_ENTRIES} journal entries; narrow 'from'..'to'"
        )));
    }
    Ok(entries)
}

/// The alarms that are active, unacknowledged, shelved or out of service now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveBody {
    pub alarms: Vec<AlarmBody>,
}

/// One alarm's current state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmBody {
    /// The alarm's key: `plc/level:hi`, `plc:comm`.
    pub key: String,
    /// The tag's full id, or the device id for a comm alarm.
    pub tag: String,
    pub kind: &'static str,
    /// `critical`, `high`, `medium` or `low`.
    pub priority: &'static str,
    pub state: &'static str,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub message: String,
    pub activated: Option<String>,
    pub cleared: Option<String>,
    /// Who acknowledged it, when it is.
    pub acknowledged_by: Option<String>,
    /// Until when it is shelved, when it is.
    pub shelved_until: Option<String>,
    /// Who took it out of service, when it is.
    pub out_of_service_by: Option<String>,
}

impl From<&AlarmStatus> for AlarmBody {
    fn from(s: &AlarmStatus) -> AlarmBody {
        AlarmBody {
            key: s.key.clone(),
            tag: s.source.clone(),
            kind: s.kind.name(),
            priority: s.priority.name(),
            state: s.state.name(),
            value: number_json(s.value),
            limit: number_json(s.limit),
            message: s.message.clone(),
            activated: s.activated.map(time_text),
            cleared: s.cleared.map(time_text),
            acknowledged_by: s.acknowledged.as_ref().map(|a| a.by.clone()),
            shelved_until: s.shelve.as_ref().map(|x| time_text(x.until)),
            out_of_service_by: s.out_of_service.as_ref().map(|x| x.by.clone()),
        }
    }
}

/// The alarms active now (as `plantwatch alarms --active`).
#[utoipa::path(
    get, path = "/api/v1/alarms/active", tag = "alarms",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current alarms", body = ActiveBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 503, description = "The journal cannot be read now", body = ErrorBody),
    )
)]
pub async fn active(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ActiveBody>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let db = state.engine.history_path().to_path_buf();
    let current = read(db, |reader| reader.current()).await?;
    Ok(Json(ActiveBody {
        alarms: current.iter().map(AlarmBody::from).collect(),
    }))
}

/// Journal entries of a range.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalBody {
    pub entries: Vec<JournalEntryBody>,
}

/// One journal row.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalEntryBody {
    pub time: String,
    pub tag: String,
    pub kind: &'static str,
    pub priority: &'static str,
    /// The transition: `active`, `cleared`, `acknowledged`, `shelved`, ...
    pub state: &'static str,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub message: String,
    pub user: Option<String>,
    pub comment: Option<String>,
    pub shelved_until: Option<String>,
}

/// The alarm journal of `[from, to)` (either end may be left open), oldest first; at most 100,000.
#[utoipa::path(
    get, path = "/api/v1/alarms/journal", tag = "alarms",
    security(("bearer" = [])),
    params(
        ("from" = Option<String>, Query, description = "Start, inclusive: RFC 3339 or relative (-1d)"),
        ("to" = Option<String>, Query, description = "End, exclusive"),
    ),
    responses(
        (status = 200, description = "The entries", body = JournalBody),
        (status = 400, description = "Bad parameters, or more than 100,000 entries", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 503, description = "The journal cannot be read now", body = ErrorBody),
    )
)]
pub async fn journal(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<JournalBody>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["from", "to"])?;
    let (from, to) = params.open_range(Timestamp::now())?;
    let db = state.engine.history_path().to_path_buf();
    let entries = entries(db, JournalQuery { from, to }).await?;
    Ok(Json(JournalBody {
        entries: entries
            .iter()
            .map(|e| JournalEntryBody {
                time: time_text(e.time),
                tag: e.tag.clone(),
                kind: e.kind.name(),
                priority: e.priority.name(),
                state: e.state.name(),
                value: number_json(e.value),
                limit: number_json(e.limit),
                message: e.message.clone(),
                user: e.user.clone(),
                comment: e.comment.clone(),
                shelved_until: e.shelved_until.map(time_text),
            })
            .collect(),
    }))
}

/// Alarm health of a range (as `plantwatch alarms --health`).
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    pub from: Option<String>,
    pub to: Option<String>,
    pub activations: u32,
    /// Mean activations per 10 minutes (about 1 is the target in steady operation).
    pub average_per_10_minutes: f64,
    /// Activations per 10-minute period from the first to the last activation.
    pub per_10_minutes: Vec<PeriodBody>,
    /// Stretches of 10 or more activations within 10 minutes.
    pub floods: Vec<FloodBody>,
    /// Alarms with 3 or more trips in a minute.
    pub chattering: Vec<ChatterBody>,
    /// The most frequent alarms, most first (at most 10).
    pub most_frequent: Vec<FrequentBody>,
}

/// Activations in one 10-minute period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodBody {
    pub start: String,
    pub alarms: u32,
}

/// A flood.
#[derive(Debug, Serialize, ToSchema)]
pub struct FloodBody {
    pub start: String,
    pub end: String,
    pub alarms: u32,
    pub peak: u32,
}

/// A chattering alarm.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatterBody {
    pub alarm: String,
    pub most_per_minute: u32,
    pub activations: u32,
    pub first: String,
}

/// A frequent alarm.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrequentBody {
    pub alarm: String,
    pub priority: &'static str,
    pub activations: u32,
}

fn health_body(r: &HealthReport) -> HealthBody {
    HealthBody {
        from: r.from.map(time_text),
        to: r.to.map(time_text),
        activations: r.activations,
        average_per_10_minutes: r.average_per_10_minutes,
        per_10_minutes: r
            .per_10_minutes
            .iter()
            .map(|p| PeriodBody {
                start: time_text(p.start),
                alarms: p.alarms,
            })
            .collect(),
        floods: r
            .floods
            .iter()
            .map(|f| FloodBody {
                start: time_text(f.start),
                end: time_text(f.end),
                alarms: f.alarms,
                peak: f.peak,
            })
            .collect(),
        chattering: r
            .chattering
            .iter()
            .map(|c| ChatterBody {
                alarm: c.alarm.key(),
                most_per_minute: c.most_per_minute,
                activations: c.activations,
                first: time_text(c.first),
            })
            .collect(),
        most_frequent: r
            .most_frequent
            .iter()
            .map(|f| FrequentBody {
                alarm: f.alarm.key(),
                priority: f.priority.name(),
                activations: f.activations,
            })
            .collect(),
    }
}

/// Alarm health of `[from, to)`: rates per 10 minutes, floods, chattering and the most frequent alarms.
#[utoipa::path(
    get, path = "/api/v1/alarms/health", tag = "alarms",
    security(("bearer" = [])),
    params(
        ("from" = Option<String>, Query, description = "Start, inclusive: RFC 3339 or relative (-1d)"),
        ("to" = Option<String>, Query, description = "End, exclusive"),
    ),
    responses(
        (status = 200, description = "The health report", body = HealthBody),
        (status = 400, description = "Bad parameters, or more than 100,000 entries", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 503, description = "The journal cannot be read now", body = ErrorBody),
    )
)]
pub async fn health(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<HealthBody>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["from", "to"])?;
    let (from, to) = params.open_range(Timestamp::now())?;
    let db = state.engine.history_path().to_path_buf();
    let entries = entries(db, JournalQuery { from, to }).await?;
    let report = health::analyse(&entries, from, to);
    Ok(Json(health_body(&report)))
}
