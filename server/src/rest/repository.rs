//! The model repository extension (COMPAT §1.1; MLServer's `handlers/model_repository.py`):
//! `POST /v2/repository/index`, `POST /v2/repository/models/{m}/load` and `.../unload`.

use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::body::RawBody;
use crate::error::ServeError;
use crate::repository::IndexEntry;
use crate::state::AppState;

/// The index request: `{"ready": true}` lists READY models only. The body may be empty.
#[derive(Debug, Default, Deserialize)]
pub struct IndexRequest {
    /// Only list models that are READY.
    #[serde(default)]
    pub ready: Option<bool>,
}

/// `POST /v2/repository/index`: `[{"name", "version"?, "state", "reason"}]`.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Json<Vec<IndexEntry>>, ServeError> {
    state.repository_access(authorization(&headers))?;
    let request: IndexRequest = if body.0.iter().all(u8::is_ascii_whitespace) {
        IndexRequest::default()
    } else {
        body.parse()?
    };
    let ready_only = request.ready.unwrap_or(false);
    Ok(Json(index_entries(&state, ready_only).await?))
}

/// The index, read off the async threads (it scans the repository folder).
pub async fn index_entries(
    state: &AppState,
    ready_only: bool,
) -> Result<Vec<IndexEntry>, ServeError> {
    let registry = state.registry().clone();
    tokio::task::spawn_blocking(move || registry.index(ready_only))
        .await
        .map_err(|e| ServeError::Internal(format!("repository index failed: {e}")))
}

/// `POST /v2/repository/models/{name}/load`: 200 with an empty body once loaded; 404 for a
/// model the repository does not hold; 400 with the reason when it fails to load.
pub async fn load(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ServeError> {
    state.repository_access(authorization(&headers))?;
    state.registry().load(&name).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/repository/models/{name}/unload`: 200 with an empty body; 404 when the model is
/// not loaded (unknown, or already unloaded), as MLServer answers.
pub async fn unload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ServeError> {
    state.repository_access(authorization(&headers))?;
    state.registry().unload(&name)?;
    Ok(StatusCode::OK)
}

/// The request's `Authorization` header, for the repository API's token.
fn authorization(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get(AUTHORIZATION).map(|v| v.as_bytes())
}
