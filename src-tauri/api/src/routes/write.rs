//! `POST /tags/{device}/{tag}/write`: a tag write through the product's one write path
//! ([`Engine::write_tag`](plantwatch_engine::Engine::write_tag)): the token's user and their role now,
//! the tag's role and range, the read-back, and an audit entry naming the user and the token.
//!
//! A write token is made for a user (`plantwatch tokens add NAME --scope write --user USER`); it
//! stands for that user's signed-in session, as `plantwatch write --user` does after the password.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use plantwatch_core::{Tag, Value, ValueType};
use plantwatch_engine::write::{Actor, WriteOutcome, WriteReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{value_json, AppState};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// What to write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteRequest {
    /// In engineering units: a number; `true`/`false` for coils and bits; text for string tags.
    #[schema(example = 2.5)]
    pub value: serde_json::Value,
    /// Why, for the audit trail.
    pub comment: Option<String>,
}

/// A write the device took and reads back as asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteDoneBody {
    #[schema(example = "plc/start_level")]
    pub tag: String,
    /// The user the token acts as.
    pub user: String,
    pub requested: serde_json::Value,
    /// The value before the write, when it was read.
    pub old: serde_json::Value,
    /// The value read back after the write.
    pub readback: serde_json::Value,
}

/// Writes one tag as the token's user; the answer says what came of it.
#[utoipa::path(
    post, path = "/api/v1/tags/{device}/{tag}/write", tag = "write",
    security(("bearer" = [])),
    params(
        ("device" = String, Path, description = "The device's id"),
        ("tag" = String, Path, description = "The tag's id within the device"),
    ),
    request_body = WriteRequest,
    responses(
        (status = 200, description = "Done: written and read back", body = WriteDoneBody),
        (status = 400, description = "Out of range (the message names the range) or not a value this tag takes", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A read token, a token without a user, or the user's role is below the tag's", body = ErrorBody),
        (status = 404, description = "No such tag", body = ErrorBody),
        (status = 409, description = "The device refused the write (Modbus exception) or reads back another value", body = ErrorBody),
        (status = 503, description = "No answer from the device (timeout, link down, link busy): try again", body = ErrorBody),
    )
)]
pub async fn write(
    State(state): State<AppState>,
    Extension(Caller(token)): Extension<Caller>,
    Path((device, tag)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<WriteDoneBody>, ApiError> {
    let request: WriteRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_parameter(format!(
            "the body must be {{\"value\": ..., \"comment\": \"...\"}}: {e}"
        ))
    })?;
    let actor = actor_of(&token)?;
    let plant = state.engine.plant();
    let full_id = format!("{device}/{tag}");
    let index = plant.find_tag(&full_id).ok_or_else(|| {
        ApiError::unknown_tag(format!(
            "unknown tag '{}'; GET /api/v1/plant lists the tags",
            plantwatch_core::echo::escape(&full_id)
        ))
    })?;
    let Some((_, spec)) = plant.tag(index) else {
        return Err(ApiError::unknown_tag(full_id));
    };
    let value = value_for(spec, &request.value)?;
    // The audit entry names the user (the actor) and the token (in the comment).
    let comment = match request.comment.as_deref().map(str::trim) {
        Some(c) if !c.is_empty() => format!("{c} (API token '{}')", token.name),
        _ => format!("API token '{}'", token.name),
    };
    let report = state
        .engine
        .write_tag(index, value, &actor, Some(&comment))
        .await;
    answer(report)
}

/// The user a token acts as, with their role now: 403 for a token made without one, or whose user is
/// gone.
pub(crate) fn actor_of(token: &plantwatch_access::TokenInfo) -> Result<Actor, ApiError> {
    match &token.user {
        Some(plantwatch_access::TokenUser {
            name,
            role: Some(role),
        }) => Ok(Actor {
            user: name.clone(),
            role: *role,
        }),
        Some(user) => Err(ApiError::denied(format!(
            "token '{}' acts as user '{}', who no longer exists",
            token.name, user.name
        ))),
        None => Err(ApiError::denied(format!(
            "token '{}' acts as no user; make a write token with `plantwatch tokens add NAME \
             --scope write --user USER`",
            token.name
        ))),
    }
}

/// The JSON value as the tag's kind of value; the write path checks range and type again.
fn value_for(tag: &Tag, value: &serde_json::Value) -> Result<Value, ApiError> {
    let expected = if tag.table.is_bits() || tag.value_type.is_boolean() {
        value.as_bool().map(Value::Bool).ok_or("true or false")
    } else if matches!(tag.value_type, ValueType::String { .. }) {
        value
            .as_str()
            .map(|t| Value::Text(t.into()))
            .ok_or("a string")
    } else {
        value
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Value::Number)
            .ok_or("a number (in engineering units)")
    };
    expected.map_err(|wanted| {
        ApiError::bad_parameter(format!(
            "'value' must be {wanted} for this tag, not {value}"
        ))
    })
}

/// The report as an HTTP answer: done 200; every other outcome an error naming it.
fn answer(report: WriteReport) -> Result<Json<WriteDoneBody>, ApiError> {
    let status = match &report.outcome {
        WriteOutcome::Done => {
            return Ok(Json(WriteDoneBody {
                tag: report.tag.clone(),
                user: report.actor.user.clone(),
                requested: value_json(Some(&report.requested)),
                old: value_json(report.old.as_ref()),
                readback: value_json(report.readback.as_ref()),
            }))
        }
        WriteOutcome::Denied { .. } => StatusCode::FORBIDDEN,
        WriteOutcome::OutOfRange { .. } | WriteOutcome::Invalid { .. } => StatusCode::BAD_REQUEST,
        WriteOutcome::Refused { .. } | WriteOutcome::Mismatch => StatusCode::CONFLICT,
        WriteOutcome::Failed { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    let code = match &report.outcome {
        WriteOutcome::OutOfRange { .. } => "out_of_range",
        other => other.word(),
    };
    // The message names the range, the exception, the read-back, and a failed audit.
    Err(ApiError::outcome(status, code, report.message()))
}
