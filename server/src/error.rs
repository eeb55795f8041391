//! [`ServeError`]: everything a request can fail with, mapped once to an HTTP status (with the
//! `{"error": "..."}` body MLServer and KServe clients expect) and once to a `tonic::Status`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ironflow_loader::PredictError;

use crate::repository::AccessError;

use crate::codec::{
    BinaryError, CodecError, ContentTypeError, DecodeError, ParamsError, ScoringError,
};

/// The longest error message a response carries (REST body, gRPC status): messages quote user
/// input (names, values, ids), which must not turn a small error into a huge answer (issue 17).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 2048;

/// `message` cut to [`MAX_ERROR_MESSAGE_BYTES`] (at a character boundary), saying how much was
/// cut.
pub fn capped(mut message: String) -> String {
    if message.len() <= MAX_ERROR_MESSAGE_BYTES {
        return message;
    }
    let total = message.len();
    let mut end = MAX_ERROR_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push_str(&format!("... ({} more bytes cut)", total - end));
    message
}

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
    /// The request does not fit its content types (docs/compat.md §1.6).
    #[error(transparent)]
    ContentType(#[from] ContentTypeError),
    /// MLflow params that do not fit the signature's params schema.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The binary part of a request does not fit its JSON header (docs/compat.md §3.3).
    #[error(transparent)]
    Binary(#[from] BinaryError),
    /// An MLflow scoring request (`/invocations`) cannot be read.
    #[error(transparent)]
    Scoring(#[from] ScoringError),
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
    /// The model's queue is full: `limit` requests are already waiting or running.
    #[error(
        "model {model} is overloaded: {limit} requests are already queued or running; retry later"
    )]
    Overloaded {
        /// The model.
        model: String,
        /// Its queue limit (`max_queue`).
        limit: usize,
    },
    /// The model is known but not serving: LOADING, or UNAVAILABLE after a failed load.
    #[error("Model {name} is not ready ({state}{})", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    ModelNotReady {
        /// The model.
        name: String,
        /// Its state (`LOADING`, `UNAVAILABLE`).
        state: &'static str,
        /// Why, when it failed to load.
        reason: String,
    },
    /// A repository load request failed; the model is left UNAVAILABLE with this reason.
    #[error("Model {name} failed to load: {reason}")]
    ModelLoad {
        /// The model.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The request `id` is longer than the server echoes (in the response and its headers).
    #[error("the request id is {length} bytes long; at most {limit} are accepted")]
    RequestIdTooLong {
        /// Its length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The repository API is off, or the request lacks its token.
    #[error(transparent)]
    RepositoryAccess(#[from] crate::repository::AccessError),
    /// A server-side failure (an inference task that panicked or was cancelled).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<CodecError> for ServeError {
    fn from(error: CodecError) -> Self {
        match error {
            CodecError::Decode(e) => Self::Decode(e),
            CodecError::Binary(e) => Self::Binary(e),
            CodecError::Scoring(e) => Self::Scoring(e),
        }
    }
}

impl ServeError {
    /// The HTTP status the error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ModelNotFound(_) | Self::VersionNotFound { .. } | Self::RouteNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Self::MalformedBody(_)
            | Self::Decode(_)
            | Self::ContentType(_)
            | Self::Params(_)
            | Self::Binary(_)
            | Self::Scoring(_)
            | Self::RequestIdTooLong { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Predict(e) => match e {
                PredictError::UnknownInput { .. }
                | PredictError::MissingInput { .. }
                | PredictError::DuplicateInput { .. }
                | PredictError::Datatype { .. }
                | PredictError::Shape { .. }
                | PredictError::RowCount { .. }
                | PredictError::InvalidValue { .. }
                | PredictError::Output(_) => StatusCode::BAD_REQUEST,
                PredictError::Runtime(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ModelNotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ModelLoad { .. } => StatusCode::BAD_REQUEST,
            Self::RepositoryAccess(AccessError::Disabled) => StatusCode::FORBIDDEN,
            Self::RepositoryAccess(AccessError::Unauthorized) => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Shed requests are expected under overload: logging each would add to the load.
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(%status, "{self}");
        } else {
            tracing::debug!(%status, "{self}");
        }
        let mut response = (
            status,
            Json(serde_json::json!({ "error": capped(self.to_string()) })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The gRPC form of the same mapping, following MLServer's `grpc/utils.py` (400 ->
/// `INVALID_ARGUMENT`, 404 -> `NOT_FOUND`, 500 -> `INTERNAL`).
impl From<ServeError> for tonic::Status {
    fn from(error: ServeError) -> Self {
        use tonic::Code;
        let code = match &error {
            ServeError::ModelNotFound(_)
            | ServeError::VersionNotFound { .. }
            | ServeError::RouteNotFound(_) => Code::NotFound,
            ServeError::MalformedBody(_)
            | ServeError::Decode(_)
            | ServeError::ContentType(_)
            | ServeError::Params(_)
            | ServeError::Binary(_)
            | ServeError::Scoring(_)
            | ServeError::RequestIdTooLong { .. } => Code::InvalidArgument,
            ServeError::PayloadTooLarge { .. } => Code::ResourceExhausted,
            ServeError::MethodNotAllowed { .. } => Code::Unimplemented,
            ServeError::Predict(e) => match e {
                PredictError::UnknownInput { .. }
                | PredictError::MissingInput { .. }
                | PredictError::DuplicateInput { .. }
                | PredictError::Datatype { .. }
                | PredictError::Shape { .. }
                | PredictError::RowCount { .. }
                | PredictError::InvalidValue { .. }
                | PredictError::Output(_) => Code::InvalidArgument,
                PredictError::Runtime(_) => Code::Internal,
            },
            ServeError::Overloaded { .. } => Code::Unavailable,
            ServeError::ModelNotReady { .. } => Code::Unavailable,
            ServeError::ModelLoad { .. } => Code::InvalidArgument,
            ServeError::RepositoryAccess(AccessError::Disabled) => Code::PermissionDenied,
            ServeError::RepositoryAccess(AccessError::Unauthorized) => Code::Unauthenticated,
            ServeError::Internal(_) => Code::Internal,
        };
        if code == Code::Internal {
            tracing::error!(?code, "{error}");
        } else {
            tracing::debug!(?code, "{error}");
        }
        tonic::Status::new(code, capped(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    /// Every kind of failure keeps its HTTP status and its gRPC code, the two agreeing.
    #[test]
    fn http_status_and_grpc_code_per_error() {
        let cases = [
            (ServeError::ModelNotFound("m".into()), 404, Code::NotFound),
            (
                ServeError::VersionNotFound {
                    name: "m".into(),
                    version: "2".into(),
                },
                404,
                Code::NotFound,
            ),
            (ServeError::RouteNotFound("/x".into()), 404, Code::NotFound),
            (
                ServeError::MalformedBody("eof".into()),
                400,
                Code::InvalidArgument,
            ),
            (
                ServeError::Decode(DecodeError::NoData { name: "x".into() }),
                400,
                Code::InvalidArgument,
            ),
            (
                ServeError::Predict(PredictError::MissingInput { name: "x".into() }),
                400,
                Code::InvalidArgument,
            ),
            (
                ServeError::ModelLoad {
                    name: "m".into(),
                    reason: "bad".into(),
                },
                400,
                Code::InvalidArgument,
            ),
            (
                ServeError::PayloadTooLarge { limit: 1 },
                413,
                Code::ResourceExhausted,
            ),
            (
                ServeError::MethodNotAllowed {
                    method: "PUT".into(),
                    path: "/x".into(),
                },
                405,
                Code::Unimplemented,
            ),
            (
                ServeError::Overloaded {
                    model: "m".into(),
                    limit: 1,
                },
                503,
                Code::Unavailable,
            ),
            (
                ServeError::ModelNotReady {
                    name: "m".into(),
                    state: "LOADING",
                    reason: String::new(),
                },
                503,
                Code::Unavailable,
            ),
            (
                ServeError::Predict(PredictError::Runtime("boom".into())),
                500,
                Code::Internal,
            ),
            (ServeError::Internal("panic".into()), 500, Code::Internal),
            (
                ServeError::RequestIdTooLong {
                    length: 5000,
                    limit: 1024,
                },
                400,
                Code::InvalidArgument,
            ),
            (
                ServeError::RepositoryAccess(AccessError::Disabled),
                403,
                Code::PermissionDenied,
            ),
            (
                ServeError::RepositoryAccess(AccessError::Unauthorized),
                401,
                Code::Unauthenticated,
            ),
        ];
        for (error, http, grpc) in cases {
            let message = error.to_string();
            assert_eq!(error.status().as_u16(), http, "{message}");
            let status = tonic::Status::from(error);
            assert_eq!(status.code(), grpc, "{message}");
            assert_eq!(status.message(), message);
        }
    }

    /// A message quoting a huge input is cut, REST and gRPC alike.
    #[test]
    fn messages_are_capped() {
        let long = "é".repeat(100_000);
        let status = tonic::Status::from(ServeError::ModelNotFound(long.clone()));
        assert!(status.message().len() <= MAX_ERROR_MESSAGE_BYTES + 40);
        assert!(status.message().ends_with("more bytes cut)"));
        let short = capped("Model m not found".into());
        assert_eq!(short, "Model m not found");
    }
}
