//! `GET /plant`, `GET /values`, `GET /devices`: what the plant is and how it is now, from the running
//! engine (no second poller, no database read).

use axum::extract::{RawQuery, State};
use axum::Json;
use plantwatch_core::{Plant, TagIndex};
use serde::Serialize;
use utoipa::ToSchema;

use super::{time_text, value_json, AppState, QualityBody};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;

/// The plant: its devices and their tags, in config order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlantBody {
    pub name: String,
    pub devices: Vec<DeviceBody>,
}

/// One device of the plant.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceBody {
    #[schema(example = "plc")]
    pub id: String,
    pub name: Option<String>,
    /// `tcp`, `rtu-over-tcp` or `rtu`.
    pub transport: &'static str,
    /// The Modbus unit id.
    pub unit: u8,
    pub poll_period_ms: u64,
    pub tags: Vec<TagBody>,
}

/// One tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagBody {
    /// The full id, `device/tag`: what `values` and `history` take.
    #[schema(example = "plc/level")]
    pub id: String,
    pub name: Option<String>,
    pub unit: Option<String>,
    /// The config's type: `bool`, `u16`, `i16`, `u32`, `i32`, `f32`, `u64`, `i64`, `f64`, `string`.
    #[serde(rename = "type")]
    #[schema(example = "f32")]
    pub value_type: String,
    /// Present when the tag may be written (by the window, `plantwatch write`, or `POST .../write` here).
    pub writable: Option<WritableBody>,
}

/// How a tag may be written.
#[derive(Debug, Serialize, ToSchema)]
pub struct WritableBody {
    /// The least role allowed: `operator` or `engineer`.
    pub role: &'static str,
    /// Lowest value accepted, in engineering units.
    pub min: Option<f64>,
    /// Highest value accepted, in engineering units.
    pub max: Option<f64>,
}

fn plant_body(plant: &Plant) -> PlantBody {
    PlantBody {
        name: plant.name.clone(),
        devices: plant
            .devices
            .iter()
            .map(|d| DeviceBody {
                id: d.id.clone(),
                name: d.name.clone(),
                transport: d.link.transport_name(),
                unit: d.unit,
                poll_period_ms: d.poll_period.as_millis() as u64,
                tags: d
                    .tags
                    .iter()
                    .map(|t| TagBody {
                        id: format!("{}/{}", d.id, t.id()),
                        name: t.name().map(str::to_string),
                        unit: t.unit().map(str::to_string),
                        value_type: t.value_type.name().to_string(),
                        writable: t.write_spec().map(|w| WritableBody {
                            role: w.role.name(),
                            min: w.min,
                            max: w.max,
                        }),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The plant: devices and tags with id, name, unit, type and writable range.
#[utoipa::path(
    get, path = "/api/v1/plant", tag = "plant",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plant", body = PlantBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 429, description = "Too many failed authentications", body = ErrorBody),
    )
)]
pub async fn plant(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PlantBody>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    Ok(Json(plant_body(state.engine.plant())))
}

/// The current values.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValuesBody {
    pub values: Vec<TagValueBody>,
}

/// The latest reading of one tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagValueBody {
    #[schema(example = "plc/level")]
    pub tag: String,
    /// A number, `true`/`false`, a string, or `null` before the first reading.
    #[schema(example = 2.5)]
    pub value: serde_json::Value,
    pub quality: QualityBody,
    /// When the tag was last read (or failed to be), RFC 3339 UTC.
    pub time: Option<String>,
    /// When its value or quality last changed.
    pub changed: Option<String>,
}

/// Whether `id` matches `pattern`, where `*` stands for any run of characters (`plc/*`, `*/level`).
pub(crate) fn matches(pattern: &str, id: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = id.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The tags a `values` request names, in the order asked (tags), or in config order (pattern, all).
fn select(plant: &Plant, params: &Params) -> Result<Vec<TagIndex>, ApiError> {
    let tags = params.all("tag");
    let pattern = params.one("pattern")?;
    match (tags.is_empty(), pattern) {
        (false, Some(_)) => Err(ApiError::bad_parameter(
            "give either 'tag' (repeatable) or 'pattern', not both",
        )),
        (false, None) => tags
            .iter()
            .map(|id| {
                plant.find_tag(id).ok_or_else(|| {
                    ApiError::unknown_tag(format!(
                        "unknown tag '{}'; GET /api/v1/plant lists the tags",
                        plantwatch_core::echo::escape(id)
                    ))
                })
            })
            .collect(),
        (true, Some(pattern)) => matching(plant, pattern),
        (true, None) => Ok(plant.tags().map(|(i, _, _)| i).collect()),
    }
}

/// The tags whose full id matches `pattern`, in config order; none is an error.
pub(crate) fn matching(plant: &Plant, pattern: &str) -> Result<Vec<TagIndex>, ApiError> {
    let found: Vec<TagIndex> = plant
        .tags()
        .filter(|(_, d, t)| matches(pattern, &format!("{}/{}", d.id, t.id())))
        .map(|(i, _, _)| i)
        .collect();
    if found.is_empty() {
        return Err(ApiError::unknown_tag(format!(
            "no tag matches the pattern '{}' ('*' stands for any characters, as in plc/*)",
            plantwatch_core::echo::escape(pattern)
        )));
    }
    Ok(found)
}

/// Current values with quality and time: every tag, the tags named (`tag`, repeatable), or those
/// matching a pattern (`pattern=plc/*`).
#[utoipa::path(
    get, path = "/api/v1/values", tag = "plant",
    security(("bearer" = [])),
    params(
        ("tag" = Option<Vec<String>>, Query, description = "A tag's full id (device/tag); repeat for several"),
        ("pattern" = Option<String>, Query, description = "Tags whose full id matches; '*' stands for any characters, as in plc/*"),
    ),
    responses(
        (status = 200, description = "The latest reading of each tag", body = ValuesBody),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "An unknown tag, or a pattern matching none", body = ErrorBody),
    )
)]
pub async fn values(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ValuesBody>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["tag", "pattern"])?;
    let plant = state.engine.plant();
    let wanted = select(plant, &params)?;
    let live = state.engine.live();
    let values = wanted
        .into_iter()
        .map(|index| {
            let reading = live.get(index.0 as usize).cloned().unwrap_or_default();
            TagValueBody {
                tag: plant.full_id(index).unwrap_or_default(),
                value: value_json(reading.value.as_ref()),
                quality: reading.quality.into(),
                time: reading.time.map(time_text),
                changed: reading.changed.map(time_text),
            }
        })
        .collect();
    Ok(Json(ValuesBody { values }))
}

/// Every device's communication state and counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevicesBody {
    pub devices: Vec<DeviceStatusBody>,
}

/// One device's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceStatusBody {
    pub id: String,
    /// `connecting`, `online`, `degraded` or `offline`.
    pub state: &'static str,
    /// When the last poll cycle finished.
    pub last_poll: Option<String>,
    pub counters: CountersBody,
    /// The most recent errors, newest last (a handful).
    pub last_errors: Vec<DeviceErrorBody>,
}

/// A device's counters since the collector started.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountersBody {
    pub requests: u64,
    pub responses: u64,
    pub timeouts: u64,
    /// Modbus exceptions that left a tag unread, all codes together.
    pub exceptions: u64,
    pub link_errors: u64,
    pub bad_replies: u64,
    pub reconnects: u64,
    pub missed_cycles: u64,
    pub latency_last_us: u64,
    pub latency_avg_us: u64,
    pub latency_max_us: u64,
}

/// One recent error of a device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceErrorBody {
    pub time: String,
    pub message: String,
}

/// Device status: state, last poll, counters and recent errors, in config order.
#[utoipa::path(
    get, path = "/api/v1/devices", tag = "plant",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every device's state", body = DevicesBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn devices(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DevicesBody>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let plant = state.engine.plant();
    let devices = state
        .engine
        .devices()
        .into_iter()
        .map(|s| {
            let c = &s.counters;
            DeviceStatusBody {
                id: plant
                    .devices
                    .get(s.device)
                    .map(|d| d.id.clone())
                    .unwrap_or_default(),
                state: s.state.name(),
                last_poll: s.last_poll.map(time_text),
                counters: CountersBody {
                    requests: c.requests,
                    responses: c.responses,
                    timeouts: c.timeouts,
                    exceptions: c.exceptions.values().sum(),
                    link_errors: c.link_errors,
                    bad_replies: c.bad_replies,
                    reconnects: c.reconnects,
                    missed_cycles: c.missed_cycles,
                    latency_last_us: c.latency_last_us,
                    latency_avg_us: c.latency_avg_us,
                    latency_max_us: c.latency_max_us,
                },
                last_errors: s
                    .last_errors
                    .iter()
                    .map(|(t, m)| DeviceErrorBody {
                        time: time_text(*t),
                        message: m.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(DevicesBody { devices }))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_match_with_stars() {
        assert!(matches("plc/*", "plc/level"));
        assert!(!matches("plc/*", "pump/level"));
        assert!(matches("*/level", "pump/level"));
        assert!(matches("p*/l*l", "pump/level"));
        assert!(matches("plc/level", "plc/level"));
        assert!(!matches("plc/level", "plc/levels"));
        assert!(matches("*", "a/b"));
        assert!(!matches("a*a", "a"), "one 'a' cannot be both ends");
    }
}
