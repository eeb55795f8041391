//! A body extractor whose rejections are [`ServeError`]s, so malformed or oversized bodies get
//! the same `{"error": ...}` body as every other failure. Parsing is a separate step, so a
//! handler can answer "model not found" before it looks at the body.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::codec::InferRequest;
use crate::error::ServeError;
use crate::state::AppState;

/// A request body, read up to the configured limit.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl RawBody {
    /// Parses the body as JSON into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ServeError> {
        if self.0.is_empty() {
            return Err(ServeError::MalformedBody("the body is empty".into()));
        }
        // One UTF-8 check of the whole body, so the parser need not check each string again.
        let text = std::str::from_utf8(&self.0)
            .map_err(|e| ServeError::MalformedBody(format!("the body is not UTF-8: {e}")))?;
        serde_json::from_str(text).map_err(|e| ServeError::MalformedBody(e.to_string()))
    }

    /// Parses the body as an inference request: the common shape by the scanner
    /// ([`crate::codec::scan_request`]), anything else (and every error) by [`Self::parse`].
    pub fn parse_request(&self) -> Result<InferRequest, ServeError> {
        if let Some(request) = std::str::from_utf8(&self.0)
            .ok()
            .and_then(crate::codec::scan_request)
        {
            return Ok(request);
        }
        self.parse()
    }
}

impl FromRequest<AppState> for RawBody {
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
        Ok(RawBody(bytes))
    }
}
