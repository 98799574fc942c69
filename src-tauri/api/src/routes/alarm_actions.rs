//! `POST /alarms/{action}`: acknowledge, shelve, unshelve, take out of service or return to service,
//! as the write token's user, through [`Engine::act_on_alarms`](plantwatch_engine::Engine::act_on_alarms)
//! (which journals the action and records it in the audit trail, refused or not).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use plantwatch_alarm::{AlarmCommand, OperatorAction};
use plantwatch_core::Role;
use plantwatch_engine::AlarmActionError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// The actions, as the path names them.
pub const ACTIONS: &[&str] = &[
    "ack",
    "shelve",
    "unshelve",
    "out-of-service",
    "return-to-service",
];
/// How long a shelve lasts when `minutes` is not given (the plant's maximum still caps it).
pub const DEFAULT_SHELVE_MINUTES: u32 = 60;

/// Which alarms, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmActionRequest {
    /// Alarm keys, as `alarms/active` lists them.
    #[schema(example = json!(["plc/level:hi"]))]
    pub alarms: Vec<String>,
    /// Why, for the journal and the audit trail; required to shelve.
    pub comment: Option<String>,
    /// For `shelve`: how long, in minutes (default 60).
    pub minutes: Option<u32>,
}

/// The action was done and journaled.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmActionDone {
    #[schema(example = "ack")]
    pub action: String,
    pub alarms: Vec<String>,
    /// The user the token acts as.
    pub user: String,
}

/// Acts on alarms as the token's user (who must be an operator or above).
#[utoipa::path(
    post, path = "/api/v1/alarms/{action}", tag = "alarms",
    security(("bearer" = [])),
    params(("action" = String, Path, description = "ack, shelve, unshelve, out-of-service or return-to-service")),
    request_body = AlarmActionRequest,
    responses(
        (status = 200, description = "Done and journaled", body = AlarmActionDone),
        (status = 400, description = "A bad body, an unknown action, a shelve without a comment", body = ErrorBody),
        (status = 403, description = "A read token, a token without a user, or a viewer", body = ErrorBody),
        (status = 409, description = "The alarm service refused it (an unknown alarm, ...)", body = ErrorBody),
        (status = 503, description = "No alarm service, or the audit trail could not record it", body = ErrorBody),
    )
)]
pub async fn act(
    State(state): State<AppState>,
    Extension(Caller(token)): Extension<Caller>,
    Path(action): Path<String>,
    body: Bytes,
) -> Result<Json<AlarmActionDone>, ApiError> {
    let request: AlarmActionRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_parameter(format!(
            "the body must be {{\"alarms\": [\"plc/level:hi\"], \"comment\": \"...\"}}: {e}"
        ))
    })?;
    let actor = super::write::actor_of(&token)?;
    if !actor.role.allows(Role::Operator) {
        return Err(ApiError::denied(format!(
            "alarm actions need the operator role; {} is {}",
            actor.user, actor.role
        )));
    }
    if request.alarms.is_empty() {
        return Err(ApiError::bad_parameter("'alarms' names no alarm"));
    }
    let alarms = request.alarms.clone();
    let command = match action.as_str() {
        "ack" => AlarmCommand::Acknowledge(alarms),
        "shelve" => AlarmCommand::Shelve {
            alarms,
            duration: Duration::from_secs(
                u64::from(request.minutes.unwrap_or(DEFAULT_SHELVE_MINUTES).max(1)) * 60,
            ),
        },
        "unshelve" => AlarmCommand::Unshelve(alarms),
        "out-of-service" => AlarmCommand::RemoveFromService(alarms),
        "return-to-service" => AlarmCommand::ReturnToService(alarms),
        other => {
            return Err(ApiError::bad_parameter(format!(
                "unknown alarm action '{}'; allowed: {}",
                plantwatch_core::echo::escape(other),
                ACTIONS.join(", ")
            )))
        }
    };
    let comment = request
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if matches!(command, AlarmCommand::Shelve { .. }) && comment.is_none() {
        return Err(ApiError::bad_parameter(
            "'comment' is required to shelve: say why the alarm is shelved",
        ));
    }
    // The journal and the trail name the user; the comment names the token.
    let comment = Some(match comment {
        Some(c) => format!("{c} (API token '{}')", token.name),
        None => format!("API token '{}'", token.name),
    });
    let operator_action = OperatorAction {
        user: actor.user.clone(),
        comment,
        command,
    };
    let engine = state.engine.clone();
    let role = actor.role;
    let result = tokio::task::spawn_blocking(move || engine.act_on_alarms(operator_action, role))
        .await
        .map_err(|_| ApiError::unavailable("the alarm action stopped"))?;
    match result {
        Ok(()) => Ok(Json(AlarmActionDone {
            action,
            alarms: request.alarms,
            user: actor.user,
        })),
        Err(e @ AlarmActionError::Refused(_)) => Err(ApiError::outcome(
            StatusCode::CONFLICT,
            "refused",
            e.to_string(),
        )),
        Err(e @ (AlarmActionError::NoService | AlarmActionError::NotAudited(_))) => {
            Err(ApiError::unavailable(e.to_string()))
        }
    }
}
