//! `POST /v2/models/{name}[/versions/{v}]/infer_stream` and `/generate_stream`: MLServer's
//! Server-Sent Events form of inference (docs/compat.md §1.1). ironflow's models answer a request
//! with one response, so the stream carries one event, `data: <response JSON>\n\n`, then ends.
//! Errors found before the stream starts are ordinary `{"error": ...}` answers.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::body::RawBody;
use super::infer::infer_response;
use crate::codec::{BinaryError, InferResponse};
use crate::error::ServeError;
use crate::state::AppState;

/// `POST /v2/models/{name}/infer_stream` (and `/generate_stream`).
pub async fn infer_stream(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ServeError> {
    stream(&state, &name, None, &headers, body).await
}

/// `POST /v2/models/{name}/versions/{version}/infer_stream` (and `/generate_stream`).
pub async fn version_infer_stream(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ServeError> {
    stream(&state, &name, Some(&version), &headers, body).await
}

async fn stream(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: RawBody,
) -> Result<Response, ServeError> {
    let RawBody(body) = body;
    let response = infer_response(state, name, version, headers, body).await?;
    if response.binary.is_some() {
        return Err(BinaryError::StreamedBinary.into());
    }
    let event = event(&response)?;
    let mut answer_headers = state
        .cloudevents
        .headers(&response.model_name, &response.id);
    answer_headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    answer_headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok((answer_headers, event).into_response())
}

/// One Server-Sent Event holding the response as JSON (JSON has no raw newlines to escape).
fn event(response: &InferResponse) -> Result<String, ServeError> {
    let json = serde_json::to_string(response).map_err(|e| ServeError::Internal(e.to_string()))?;
    Ok(format!("data: {json}\n\n"))
}
