//! The API's errors: an HTTP status chosen by meaning and a JSON body `{"code": "...", "message": "..."}`
//! whose message names the bad field and, where there is a list, the allowed values.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable word for programs: `bad_parameter`, `unauthorized`, `unknown_tag`, ...
    #[schema(example = "bad_parameter")]
    pub code: String,
    /// What went wrong, for people: the field and the allowed values.
    #[schema(example = "'agg' must be one of avg, min, max, first, last, count, not \"mean\"")]
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: a query parameter is missing, repeated, unknown or malformed.
    pub fn bad_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_parameter", message)
    }

    /// 400: the request asks for more than the documented bounds.
    pub fn too_much(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "too_much", message)
    }

    /// 401: no token, or one that is malformed, unknown, revoked or expired (all alike).
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid token is needed: send 'Authorization: Bearer pwt_...' (make one with \
             `plantwatch tokens --db FILE add NAME --scope read`)",
        )
    }

    /// 403: the token is valid but its scope does not allow this.
    pub fn forbidden(
        has: plantwatch_access::TokenScope,
        needs: plantwatch_access::TokenScope,
    ) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs a token of scope '{needs}'; this token's scope is '{has}'"),
        )
    }

    /// 403: the token's user may not do this (no user, a removed user).
    pub fn denied(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "denied", message)
    }

    /// An outcome of a write or an alarm action that is not success, with its own status and word.
    pub fn outcome(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(status, code, message)
    }

    /// 404: a tag the plant does not have.
    pub fn unknown_tag(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "unknown_tag", message)
    }

    /// 404: no such endpoint.
    pub fn no_route() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; the endpoints are listed in /api/v1/openapi.json",
        )
    }

    /// 429: too many failed authentications from this client.
    pub fn rate_limited(retry_after_s: u64) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many failed authentications from this address; try again in {retry_after_s} s"
            ),
        )
    }

    /// 503: the history, journal or token store cannot answer now.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_string(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
