//! The rules the router's layers apply and the fast path (`rest/fast.rs`) must apply alike, kept
//! in one place: the inference route templates (the metrics' `path` label), response compression
//! and its `Vary` header, and whether the per-request trace layer is on.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_RANGE, VARY};
use axum::http::HeaderValue;
use axum::response::Response;
use tower::{Layer, ServiceExt};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tracing::Level;

/// The route template of `POST /v2/models/{name}/infer`, as the router names it.
pub const INFER: &str = "/v2/models/{name}/infer";
/// The route template of `POST /v2/models/{name}/versions/{version}/infer`.
pub const VERSION_INFER: &str = "/v2/models/{name}/versions/{version}/infer";

/// The smallest response body that is compressed: MLServer's `GZipMiddleware(minimum_size=500)`.
/// Smaller bodies (error bodies, one-row answers) go out plain, which some clients need
/// (tritonclient's aio client reads error bodies without inflating them).
pub const COMPRESS_MIN_SIZE: u16 = 500;

/// The smallest body that gets `Vary: accept-encoding` (the compression predicate's size rule).
pub const VARY_MIN_SIZE: usize = COMPRESS_MIN_SIZE as usize;

/// Which responses may be compressed: at least [`COMPRESS_MIN_SIZE`] bytes, and not gRPC,
/// images or event streams (tower-http's default predicate with MLServer's size).
pub type CompressPredicate = tower_http::compression::predicate::And<
    tower_http::compression::predicate::And<
        tower_http::compression::predicate::And<SizeAbove, NotForContentType>,
        NotForContentType,
    >,
    NotForContentType,
>;

fn predicate() -> CompressPredicate {
    SizeAbove::new(COMPRESS_MIN_SIZE)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
}

/// The response compression of `gzip_enabled`, shared by the router and the fast path so both
/// compress (and add `Vary`) alike.
pub fn compression_layer() -> CompressionLayer<CompressPredicate> {
    CompressionLayer::new()
        .gzip(true)
        .compress_when(predicate())
}

/// Whether the per-request trace layer is on (DEBUG logging of `tower_http`).
pub fn tracing_layer() -> bool {
    tracing::enabled!(target: "tower_http::trace::on_response", Level::DEBUG)
}

/// Runs `response` through [`compression_layer`] for a client whose `Accept-Encoding` values are
/// `accept`, so it is gzipped (or not) and given `Vary` exactly as the router would.
pub async fn compress(accept: Vec<HeaderValue>, response: Response) -> Response {
    let mut request = Request::new(Body::empty());
    for value in accept {
        request.headers_mut().append(ACCEPT_ENCODING, value);
    }
    let mut response = Some(response);
    let answer = tower::service_fn(move |_: Request| {
        std::future::ready(Ok::<_, Infallible>(response.take().unwrap_or_default()))
    });
    match compression_layer().layer(answer).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

/// Adds `Vary: accept-encoding` where [`compression_layer`] does: to every response it could
/// compress (its predicate), whether or not this client accepts gzip.
pub fn vary(response: &mut Response) {
    let headers = response.headers();
    if headers.contains_key(CONTENT_ENCODING)
        || headers.contains_key(CONTENT_RANGE)
        || !predicate().should_compress(response)
    {
        return;
    }
    let listed = response.headers().get_all(VARY).iter().any(|value| {
        value
            .as_bytes()
            .windows(ACCEPT_ENCODING.as_str().len())
            .any(|w| w.eq_ignore_ascii_case(ACCEPT_ENCODING.as_str().as_bytes()))
    });
    if !listed {
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("accept-encoding"));
    }
}
