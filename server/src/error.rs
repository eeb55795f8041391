//! [`ServeError`]: everything a request can fail with, mapped once to an HTTP status and the
//! `{"error": "..."}` body MLServer and KServe clients expect.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ironflow_loader::PredictError;

use crate::codec::DecodeError;

/// A request failure.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No model of that name is served.
    #[error("Model {0} not found")]
    ModelNotFound(String),
    /// The model is served, but not with that version.
    #[error("Model {name} with version {version} not found")]
    VersionNotFound {
        /// The model.
        name: String,
        /// The version asked for.
        version: String,
    },
    /// The body is not JSON of the expected shape.
    #[error("invalid request body: {0}")]
    MalformedBody(String),
    /// The body is larger than the configured limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// An input cannot be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The inputs do not fit the model, or the model failed.
    #[error(transparent)]
    Predict(#[from] PredictError),
    /// No route matches the path.
    #[error("no route for {0}")]
    RouteNotFound(String),
    /// The route exists but not for this method.
    #[error("method {method} not allowed on {path}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path.
        path: String,
    },
    /// A server-side failure (an inference task that panicked or was cancelled).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServeError {
    /// The HTTP status the error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ModelNotFound(_) | Self::VersionNotFound { .. } | Self::RouteNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Self::MalformedBody(_) | Self::Decode(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Predict(e) => match e {
                PredictError::UnknownInput { .. }
                | PredictError::MissingInput { .. }
                | PredictError::DuplicateInput { .. }
                | PredictError::Datatype { .. }
                | PredictError::Shape { .. }
                | PredictError::RowCount { .. }
                | PredictError::InvalidValue { .. } => StatusCode::BAD_REQUEST,
                PredictError::Runtime(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(%status, "{self}");
        } else {
            tracing::debug!(%status, "{self}");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
