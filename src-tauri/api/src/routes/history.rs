//! `GET /history/raw`, `/history/aggregate`, `/history/thinned`: one tag's stored samples, through the
//! same reader functions `plantwatch export` and the desktop's trends use, on a read-only connection of
//! its own per request (never blocking the engine's writer), bounded in what one answer may hold.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::Json;
use plantwatch_core::Timestamp;
use plantwatch_history::{Aggregate, HistoryError, HistoryReader, SampleQuery};
use serde::Serialize;
use utoipa::ToSchema;

use super::{number_json, time_text, value_json, AppState, QualityBody};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;

/// The most samples one `history/raw` answer holds; a range holding more is refused (400, `too_much`).
pub const MAX_RAW_SAMPLES: usize = 100_000;
/// The most intervals one `history/aggregate` answer may span (`(to - from) / every`).
pub const MAX_INTERVALS: u64 = 100_000;
/// The most columns one `history/thinned` answer may have.
pub const MAX_COLUMNS: usize = 10_000;

/// The tag a history request names, checked against the plant.
fn tag_of(state: &AppState, params: &Params) -> Result<String, ApiError> {
    let tag = params.required("tag", "the tag's full id, device/tag")?;
    if state.engine.plant().find_tag(tag).is_none() {
        return Err(ApiError::unknown_tag(format!(
            "unknown tag '{}'; GET /api/v1/plant lists the tags",
            plantwatch_core::echo::escape(tag)
        )));
    }
    Ok(tag.to_string())
}

/// Runs a history read on a blocking thread with its own read-only connection. A tag of the plant that
/// the file has not stored yet reads as no samples (`None`).
async fn read<T: Send + 'static>(
    db: PathBuf,
    work: impl FnOnce(&HistoryReader) -> Result<T, HistoryError> + Send + 'static,
) -> Result<Option<T>, ApiError> {
    let done = tokio::task::spawn_blocking(move || {
        let reader = HistoryReader::open(&db)?;
        work(&reader)
    })
    .await
    .map_err(|_| ApiError::unavailable("the history read stopped"))?;
    match done {
        Ok(value) => Ok(Some(value)),
        Err(HistoryError::UnknownTag { .. }) => Ok(None),
        Err(e) => Err(ApiError::unavailable(format!(
            "the history cannot be read now: {e}"
        ))),
    }
}

/// Stored samples of one tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct RawBody {
    pub tag: String,
    pub from: String,
    pub to: String,
    pub samples: Vec<SampleBody>,
}

/// One stored sample.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleBody {
    pub time: String,
    /// A number, `true`/`false`, a string, or `null` (a bad reading has none).
    #[schema(example = 2.5)]
    pub value: serde_json::Value,
    pub quality: QualityBody,
}

/// The samples one tag stored in `[from, to)`, at most 100,000 (more: 400 `too_much`, narrow the range).
#[utoipa::path(
    get, path = "/api/v1/history/raw", tag = "history",
    security(("bearer" = [])),
    params(
        ("tag" = String, Query, description = "The tag's full id, device/tag"),
        ("from" = String, Query, description = "Start, inclusive: RFC 3339 (2026-12-04T08:00:00Z) or relative (-1h)"),
        ("to" = Option<String>, Query, description = "End, exclusive; default now"),
    ),
    responses(
        (status = 200, description = "The samples, oldest first", body = RawBody),
        (status = 400, description = "Bad parameters, or more than 100,000 samples", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Unknown tag", body = ErrorBody),
        (status = 503, description = "The history cannot be read now", body = ErrorBody),
    )
)]
pub async fn raw(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RawBody>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["tag", "from", "to"])?;
    let tag = tag_of(&state, &params)?;
    let (from, to) = params.range(Timestamp::now())?;
    let query = SampleQuery {
        tags: vec![tag.clone()],
        from: Some(from),
        to: Some(to),
    };
    let db = state.engine.history_path().to_path_buf();
    let read = read(db, move |reader| {
        let mut samples = Vec::new();
        let mut over = false;
        reader.for_each_sample_while(&query, |s| {
            if samples.len() == MAX_RAW_SAMPLES {
                over = true;
                return false;
            }
            samples.push(SampleBody {
                time: time_text(s.time),
                value: value_json(s.value.as_ref()),
                quality: s.quality.into(),
            });
            true
        })?;
        Ok((samples, over))
    })
    .await?;
    let (samples, over) = read.unwrap_or_default();
    if over {
        return Err(ApiError::too_much(format!(
            "the range holds more than {MAX_RAW_SAMPLES} samples of '{tag}'; narrow 'from'..'to', \
             or use history/aggregate or history/thinned"
        )));
    }
    Ok(Json(RawBody {
        tag,
        from: time_text(from),
        to: time_text(to),
        samples,
    }))
}

/// One tag's aggregates per interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct AggregateBody {
    pub tag: String,
    pub from: String,
    pub to: String,
    /// The interval length in milliseconds.
    pub every_ms: u64,
    /// `avg` (time-weighted), `min`, `max`, `first`, `last` or `count`.
    pub agg: &'static str,
    /// Intervals holding at least one sample, oldest first.
    pub intervals: Vec<IntervalBody>,
}

/// One interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntervalBody {
    /// The interval's start, aligned to multiples of its length since the Unix epoch.
    pub start: String,
    /// The aggregate; `null` when the interval holds no good value.
    pub value: Option<f64>,
    /// Good when the value rests on good samples, else the quality of the interval's last sample.
    pub quality: QualityBody,
}

fn aggregate_of(params: &Params) -> Result<Aggregate, ApiError> {
    let text = params.required("agg", "avg, min, max, first, last or count")?;
    Aggregate::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Aggregate::ALL.iter().map(|a| a.name()).collect();
        ApiError::bad_parameter(format!(
            "'agg' must be one of {}, not {:?}",
            names.join(", "),
            plantwatch_core::echo::escape(text)
        ))
    })
}

/// Aggregates of one tag per interval of `every` (aligned to the epoch, as `export --every`); at most
/// 100,000 intervals in the range.
#[utoipa::path(
    get, path = "/api/v1/history/aggregate", tag = "history",
    security(("bearer" = [])),
    params(
        ("tag" = String, Query, description = "The tag's full id, device/tag"),
        ("from" = String, Query, description = "Start, inclusive: RFC 3339 or relative (-1h)"),
        ("to" = Option<String>, Query, description = "End, exclusive; default now"),
        ("every" = String, Query, description = "Interval length such as 10s, 1m, 1h"),
        ("agg" = String, Query, description = "avg (time-weighted), min, max, first, last or count"),
    ),
    responses(
        (status = 200, description = "The intervals", body = AggregateBody),
        (status = 400, description = "Bad parameters, or more than 100,000 intervals", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Unknown tag", body = ErrorBody),
        (status = 503, description = "The history cannot be read now", body = ErrorBody),
    )
)]
pub async fn aggregate(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AggregateBody>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["tag", "from", "to", "every", "agg"])?;
    let tag = tag_of(&state, &params)?;
    let (from, to) = params.range(Timestamp::now())?;
    let every = params.duration("every", "the interval length, such as 1m")?;
    let agg = aggregate_of(&params)?;
    let every_ms = every.as_millis() as u64;
    if every_ms == 0 {
        return Err(ApiError::bad_parameter("'every' must be at least 1ms"));
    }
    let span_ms = (to.0 - from.0) as u64;
    if span_ms / every_ms >= MAX_INTERVALS {
        return Err(ApiError::too_much(format!(
            "'from'..'to' spans more than {MAX_INTERVALS} intervals of 'every'; choose a longer \
             'every' or a shorter range"
        )));
    }
    let query = SampleQuery {
        tags: vec![tag.clone()],
        from: Some(from),
        to: Some(to),
    };
    let db = state.engine.history_path().to_path_buf();
    let intervals = read(db, move |reader| {
        reader.aggregate(&query, Duration::from_millis(every_ms), agg)
    })
    .await?
    .unwrap_or_default()
    .into_iter()
    .map(|i| IntervalBody {
        start: time_text(i.start),
        value: number_json(i.value),
        quality: i.quality.into(),
    })
    .collect();
    Ok(Json(AggregateBody {
        tag,
        from: time_text(from),
        to: time_text(to),
        every_ms,
        agg: agg.name(),
        intervals,
    }))
}

/// One tag thinned to columns, as the desktop's trends draw it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThinnedBody {
    pub tag: String,
    pub from: String,
    pub to: String,
    /// Every column of `[from, to)`, empty ones with a count of 0.
    pub columns: Vec<ColumnBody>,
}

/// One column of a thinned trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnBody {
    pub start: String,
    /// Exclusive.
    pub end: String,
    /// Good samples with a number in the column.
    pub count: u64,
    /// Samples in the column that were not good (gaps to shade).
    pub not_good: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Plain mean of the good values.
    pub avg: Option<f64>,
    pub first: Option<f64>,
    pub last: Option<f64>,
}

/// One tag's `[from, to)` split into `columns` equal columns (default 1000, at most 10,000), each with
/// min, max, average, first and last of its good samples: the computation the desktop's trends use.
#[utoipa::path(
    get, path = "/api/v1/history/thinned", tag = "history",
    security(("bearer" = [])),
    params(
        ("tag" = String, Query, description = "The tag's full id, device/tag"),
        ("from" = String, Query, description = "Start, inclusive: RFC 3339 or relative (-7d)"),
        ("to" = Option<String>, Query, description = "End, exclusive; default now"),
        ("columns" = Option<usize>, Query, description = "Number of columns, 1 to 10000; default 1000"),
    ),
    responses(
        (status = 200, description = "The columns", body = ThinnedBody),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Unknown tag", body = ErrorBody),
        (status = 503, description = "The history cannot be read now", body = ErrorBody),
    )
)]
pub async fn thinned(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ThinnedBody>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["tag", "from", "to", "columns"])?;
    let tag = tag_of(&state, &params)?;
    let (from, to) = params.range(Timestamp::now())?;
    let columns = params.count("columns", 1, MAX_COLUMNS)?.unwrap_or(1000);
    let db = state.engine.history_path().to_path_buf();
    let id: Arc<str> = Arc::from(tag.as_str());
    let buckets = read(db, move |reader| reader.thinned(&id, from, to, columns))
        .await?
        .unwrap_or_default();
    let columns = buckets
        .into_iter()
        .map(|b| ColumnBody {
            start: time_text(b.start),
            end: time_text(b.end),
            count: b.count,
            not_good: b.not_good,
            min: number_json(b.min),
            max: number_json(b.max),
            avg: number_json(b.avg),
            first: number_json(b.first),
            last: number_json(b.last),
        })
        .collect();
    Ok(Json(ThinnedBody {
        tag,
        from: time_text(from),
        to: time_text(to),
        columns,
    }))
}
