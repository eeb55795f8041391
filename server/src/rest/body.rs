//! A JSON body extractor whose rejections are [`ServeError`]s, so malformed or oversized bodies
//! get the same `{"error": ...}` body as every other failure.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ServeError;
use crate::state::AppState;

/// A request body parsed as JSON into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ServeError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServeError::PayloadTooLarge {
                    limit: state.max_body_bytes,
                }
            } else {
                ServeError::MalformedBody(rejection.body_text())
            }
        })?;
        if bytes.is_empty() {
            return Err(ServeError::MalformedBody("the body is empty".into()));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ServeError::MalformedBody(e.to_string()))
    }
}

