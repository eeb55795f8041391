//! `GET /v2/docs/dataplane.json`: the OpenAPI 3 document of the REST endpoints ironflow serves
//! (`dataplane.json` beside this file, compiled in), as MLServer serves its own at that path.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::IntoResponse;

/// The document.
pub const DATAPLANE: &str = include_str!("dataplane.json");

/// `GET /v2/docs`, `/v2/models/{name}/docs`: a Swagger UI page over the document (the UI's
/// script and style come from the jsDelivr CDN, as FastAPI's docs page that MLServer serves).
pub async fn docs() -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        DOCS_PAGE,
    )
}

const DOCS_PAGE: &str = r##"<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>ironflow - v2 inference API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/v2/docs/dataplane.json", dom_id: "#swagger-ui"});</script>
<noscript>The OpenAPI document is at <a href="/v2/docs/dataplane.json">/v2/docs/dataplane.json</a>.</noscript>
</body>
</html>
"##;

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
