//! The v2 REST API (KServe Open Inference Protocol), with MLServer's paths and error bodies.

mod binary;
mod body;
pub mod cloudevents;
mod cors;
mod fast;
mod health;
mod invocations;
pub mod mlflow_input;
mod models;
mod openapi;
pub mod repository;
mod stream;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ServeError;
use crate::state::AppState;

pub use fast::RestService;

/// The REST API as served: the inference fast path ([`RestService`]) in front of [`router`].
pub fn service(state: AppState) -> RestService {
    // The fast path reproduces neither CORS, nor the root path's nesting, nor the trace layer.
    let fast = state.server.cors.is_none() && state.server.root_path.is_none() && !tracing_layer();
    RestService::new(router(state.clone()), state, fast)
}

/// The response compression of `gzip_enabled`, shared by the router and the fast path so both
/// compress (and add `Vary`) alike.
fn compression_layer() -> CompressionLayer {
    CompressionLayer::new().gzip(true)
}

/// Whether the per-request trace layer is on (DEBUG logging of `tower_http`).
fn tracing_layer() -> bool {
    tracing::enabled!(target: "tower_http::trace::on_response", Level::DEBUG)
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
        .route("/v2/models/{name}/infer", post(cloudevents::infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(models::version_metadata),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(health::model_version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(cloudevents::version_infer),
        )
        .route("/v2/models/{name}/generate", post(cloudevents::infer))
        .route(
            "/v2/models/{name}/versions/{version}/generate",
            post(cloudevents::version_infer),
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
