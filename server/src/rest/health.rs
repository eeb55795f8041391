//! Liveness, readiness and server metadata. "Not ready" is HTTP 400, as MLServer answers
//! (`to_status_code`: True->200, False->400). MLServer's bodies are empty; ironflow answers the
//! Open Inference Protocol's JSON bodies (`{"live": true}`, `{"ready": ...}`, and
//! `{"name": ..., "ready": ...}` for a model), which KServe's Python SDK reads
//! (`InferenceRESTClient.is_server_live` / `is_server_ready` / `is_model_ready` call
//! `response.json()`), with the same status codes. See docs/compat.md, "Health".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ServeError;
use crate::state::AppState;

/// `GET /v2/health/live`: `{"live": true}`.
pub async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

/// `GET /v2/health/ready`: 200 once every model to load at startup has settled, 400 before
/// that and from the moment shutdown begins; `{"ready": true|false}`.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ready = state.ready();
    (status_of(ready), Json(json!({ "ready": ready })))
}

/// `GET /v2/models/{name}/ready`: 200 when READY, 400 when loading or failed, 404 when unknown
/// or unloaded (MLServer drops unloaded models from its registry); `{"name": ..., "ready": ...}`.
pub async fn model_ready(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Value>), ServeError> {
    model_status(&state, &name, None)
}

/// `GET /v2/models/{name}/versions/{version}/ready`.
pub async fn model_version_ready(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ServeError> {
    model_status(&state, &name, Some(&version))
}

fn model_status(
    state: &AppState,
    name: &str,
    version: Option<&str>,
) -> Result<(StatusCode, Json<Value>), ServeError> {
    let ready = match state.model(name, version) {
        Ok(_) => true,
        Err(ServeError::ModelNotReady { .. }) => false,
        Err(e) => return Err(e),
    };
    Ok((
        status_of(ready),
        Json(json!({ "name": name, "ready": ready })),
    ))
}

fn status_of(ready: bool) -> StatusCode {
    if ready {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// The server metadata answer.
#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    name: String,
    version: String,
    extensions: Vec<&'static str>,
}

/// `GET /v2`: `settings.json`'s `server_name` / `server_version` (`MLSERVER_SERVER_NAME`,
/// `MLSERVER_SERVER_VERSION`), else `ironflow` and its version.
pub async fn server_metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    Json(ServerMetadata {
        name: state.server_name().to_owned(),
        version: state.server_version().to_owned(),
        // The REST binary tensor data extension (rest/binary.rs, docs/compat.md §3.3).
        extensions: vec!["binary_tensor_data"],
    })
}
