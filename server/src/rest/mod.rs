//! The v2 REST API (KServe Open Inference Protocol), with MLServer's paths and error bodies.

pub mod arrow;
mod binary;
mod body;
pub mod cloudevents;
mod cors;
mod fast;
mod health;
pub mod infer;
mod invocations;
pub mod layers;
mod models;
mod openapi;
pub mod repository;
mod response;
mod stream;
pub mod v1;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use axum::Router;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ServeError;
use crate::state::AppState;

pub use fast::{FastPathOff, RestService};
use layers::{compression_layer, tracing_layer, INFER, VERSION_INFER};

/// The REST API as served: the inference fast path ([`RestService`]) in front of [`router`].
pub fn service(state: AppState) -> RestService {
    RestService::new(router(state.clone()), state)
}

/// Builds the REST router, with `settings.json`'s `root_path` (the API also answers under that
/// prefix), `gzip_enabled` and `cors_settings` applied.
pub fn router(state: AppState) -> Router {
    let limit = state.max_body_bytes;
    let settings = state.server.clone();
    let app = match &settings.root_path {
        // As behind a proxy that may or may not strip the prefix: both forms answer.
        Some(prefix) => Router::new().nest(prefix, routes()).merge(routes()),
        None => routes(),
    };
    let app = app
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        // Outside the body limit, so the limit counts decompressed bytes (a gzip bomb is 413).
        .layer(RequestDecompressionLayer::new().gzip(true));
    let app = if settings.gzip_enabled {
        app.layer(compression_layer())
    } else {
        app
    };
    let app = match &settings.cors {
        Some(cors) => app.layer(cors::layer(cors)),
        None => app,
    };
    // Per-request spans and response logs are DEBUG events: the layer is only worth its cost
    // (a span and a log call per request) when DEBUG logging is on.
    let app = if tracing_layer() {
        app.layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::DEBUG))
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
    } else {
        app
    };
    app.with_state(state)
}

/// Every REST route, with the request metrics around them.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2", get(health::server_metadata))
        .route("/v2/health/live", get(health::live))
        .route("/v2/health/ready", get(health::ready))
        .route("/v2/models/{name}", get(models::metadata))
        .route("/v2/models/{name}/ready", get(health::model_ready))
        .route(INFER, post(infer::infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(models::version_metadata),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(health::model_version_ready),
        )
        .route(VERSION_INFER, post(infer::version_infer))
        .route("/v2/models/{name}/generate", post(infer::infer))
        .route(
            "/v2/models/{name}/versions/{version}/generate",
            post(infer::version_infer),
        )
        .route("/v2/models/{name}/infer_stream", post(stream::infer_stream))
        .route(
            "/v2/models/{name}/generate_stream",
            post(stream::infer_stream),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer_stream",
            post(stream::version_infer_stream),
        )
        .route(
            "/v2/models/{name}/versions/{version}/generate_stream",
            post(stream::version_infer_stream),
        )
        .route("/v2/docs", get(crate::docs::page))
        .route("/v2/docs/dataplane.json", get(openapi::dataplane))
        .route("/v2/models/{name}/docs", get(crate::docs::page))
        .route(
            "/v2/models/{name}/docs/example.json",
            get(crate::docs::model_example),
        )
        .route(
            "/v2/models/{name}/docs/dataplane.json",
            get(openapi::dataplane),
        )
        .route(
            "/v2/models/{name}/versions/{version}/docs/dataplane.json",
            get(openapi::dataplane),
        )
        .route("/v2/repository/index", post(repository::index))
        .route("/v2/repository/models/{name}/load", post(repository::load))
        .route(
            "/v2/repository/models/{name}/unload",
            post(repository::unload),
        )
        // KServe's v1 protocol (sklearnserver / xgbserver / lgbserver).
        .route("/v1/models", get(v1::list))
        .route("/v1/models/{name}", get(v1::status).post(v1::predict))
        .route("/invocations", post(invocations::invocations))
        .route("/ping", get(invocations::ping))
        .route("/health", get(invocations::ping))
        .route("/version", get(invocations::version))
        .route("/metrics", get(crate::metrics::handler))
        .route_layer(crate::metrics::RestMetricsLayer)
}

async fn route_not_found(uri: Uri) -> ServeError {
    ServeError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ServeError {
    ServeError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}
