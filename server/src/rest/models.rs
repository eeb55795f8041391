//! Model metadata and inference endpoints.

use axum::extract::{Path, State};
use axum::Json;

use super::body::RawBody;
use crate::codec::{InferRequest, InferResponse};
use crate::error::ServeError;
use crate::metadata::ModelMetadata;
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

/// `POST /v2/models/{name}/infer`.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: RawBody,
) -> Result<Json<InferResponse>, ServeError> {
    let served = state.model(&name, None)?;
    let request: InferRequest = body.parse()?;
    crate::infer::infer(&state, served, request).await.map(Json)
}

/// `POST /v2/models/{name}/versions/{version}/infer`.
pub async fn version_infer(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    body: RawBody,
) -> Result<Json<InferResponse>, ServeError> {
    let served = state.model(&name, Some(&version))?;
    let request: InferRequest = body.parse()?;
    crate::infer::infer(&state, served, request).await.map(Json)
}
