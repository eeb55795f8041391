//! Model metadata endpoints (inference is `rest/binary.rs`, behind `rest/cloudevents.rs`).

use axum::extract::{Path, State};
use axum::Json;

use crate::codec::metadata::ModelMetadata;
use crate::error::ServeError;
use crate::state::AppState;

/// `GET /v2/models/{name}`.
pub async fn metadata(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ModelMetadata>, ServeError> {
    Ok(Json(state.model(&name, None)?.metadata.clone()))
}

/// `GET /v2/models/{name}/versions/{version}`.
pub async fn version_metadata(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<ModelMetadata>, ServeError> {
    Ok(Json(state.model(&name, Some(&version))?.metadata.clone()))
}
