//! The OpenAPI 3.1 document, derived from the handlers and the response types (so it cannot drift
//! from the code), served at `/api/v1/openapi.json` without a token.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;
use crate::routes::{alarm_actions, alarms, history, live, plant, write};

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plantwatch local API",
        description = "The plant's configuration, live values, device status, history and alarms, read \
                       with a bearer token (`plantwatch tokens --db FILE add NAME --scope read`); tag \
                       writes and alarm actions with a write token made for a user (`--scope write \
                       --user USER`). Times \
                       are RFC 3339 UTC; `from`/`to` also take relative times such as -1h.",
    ),
    paths(
        plant::plant,
        plant::values,
        plant::devices,
        live::live,
        history::raw,
        history::aggregate,
        history::thinned,
        alarms::active,
        alarms::journal,
        alarms::health,
        write::write,
        alarm_actions::act,
    ),
    components(schemas(
        crate::error::ErrorBody,
        live::LiveSubscribe,
        live::LiveBatch,
        live::LiveError
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "plant", description = "The plant, current values and device status, from the running collector"),
        (name = "history", description = "Stored samples: raw, aggregated per interval, thinned to columns"),
        (name = "alarms", description = "Active alarms, the alarm journal, alarm health; alarm actions (scope write)"),
        (name = "write", description = "Tag writes with a write token acting as its user: role, range, read-back, audit"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pwt_ followed by 64 hex digits")
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`: the document is the same for the life of the binary, so it is built and
/// serialised once (building it walks every schema: four times the cost of a one-tag `values` answer).
pub async fn document() -> Response {
    static DOCUMENT: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    match DOCUMENT.get_or_init(|| serde_json::to_vec(&ApiDoc::openapi()).map_err(|e| e.to_string()))
    {
        Ok(bytes) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            bytes.clone(),
        )
            .into_response(),
        Err(e) => ApiError::unavailable(format!("the OpenAPI document: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_lists_every_endpoint() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        for path in [
            "/api/v1/plant",
            "/api/v1/values",
            "/api/v1/devices",
            "/api/v1/live",
            "/api/v1/history/raw",
            "/api/v1/history/aggregate",
            "/api/v1/history/thinned",
            "/api/v1/alarms/active",
            "/api/v1/alarms/journal",
            "/api/v1/alarms/health",
            "/api/v1/tags/{device}/{tag}/write",
            "/api/v1/alarms/{action}",
        ] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        let value = &doc["components"]["schemas"]["TagValueBody"]["properties"]["value"];
        assert!(
            value.get("type").is_none(),
            "a value may be a number, a boolean, a string or null: {value}"
        );
    }
}
