//! `GET /v2/docs/dataplane.json`: the OpenAPI 3 document of the REST endpoints ironflow serves
//! (`dataplane.json` beside this file, compiled in), as MLServer serves its own at that path.
//! The pages that show it are [`crate::docs`].

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::IntoResponse;

/// The document.
pub const DATAPLANE: &str = include_str!("dataplane.json");

/// `GET /v2/docs/dataplane.json` (also `/v2/models/{name}[/versions/{v}]/docs/dataplane.json`:
/// every model speaks the same protocol).
pub async fn dataplane() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        DATAPLANE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_json() {
        let doc: serde_json::Value = serde_json::from_str(DATAPLANE).expect("valid JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        assert!(doc["paths"]["/v2/models/{model_name}/infer"]["post"].is_object());
    }
}
