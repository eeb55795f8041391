//! Liveness, readiness and server metadata. Bodies of the health endpoints are empty, as
//! MLServer answers; a model is only registered once it has loaded, so ready means ready.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use crate::error::ServeError;
use crate::state::AppState;

/// `GET /v2/health/live`.
pub async fn live() -> StatusCode {
    StatusCode::OK
}

/// `GET /v2/health/ready`: 200 once every model has loaded (which precedes serving).
pub async fn ready() -> StatusCode {
    StatusCode::OK
}

/// `GET /v2/models/{name}/ready`.
pub async fn model_ready(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ServeError> {
    state.model(&name, None).map(|_| StatusCode::OK)
}

/// `GET /v2/models/{name}/versions/{version}/ready`.
pub async fn model_version_ready(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<StatusCode, ServeError> {
    state.model(&name, Some(&version)).map(|_| StatusCode::OK)
}

/// The server metadata answer.
#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    name: &'static str,
    version: &'static str,
    extensions: Vec<&'static str>,
}

/// `GET /v2`.
pub async fn server_metadata() -> Json<ServerMetadata> {
    Json(ServerMetadata {
        name: "ironflow",
        version: env!("CARGO_PKG_VERSION"),
        extensions: vec![],
    })
}
