//! The front service of the REST API: `POST /v2/models/{name}[/versions/{version}]/infer`, the
//! one hot path, is matched by hand and served without the router, its per-route layers and the
//! request's header map clone; every other request (and any inference request the fast path
//! would not answer exactly as the router does) goes to the [`axum::Router`].
//!
//! The fast path answers only when none of the router's outer layers would act: no CORS, no
//! tracing layer, no root path, no `Content-Encoding` (gzip request bodies), and a
//! `Content-Length` within the body limit. It counts the
//! request into the same `rest_server_*` series under the same route template as
//! [`crate::metrics::RestMetrics`] does, and answers with the same handler code
//! ([`super::cloudevents::answer`]), so status, body and headers are the router's. When gzip is
//! on, a client that sent `Accept-Encoding` gets the answer through the router's own compression
//! layer; others get the `Vary` header that layer adds.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, VARY};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::{Layer, ServiceExt};
use tower_http::compression::predicate::{DefaultPredicate, Predicate};

use super::body::RawBody;
use crate::error::ServeError;
use crate::metrics::RestSeries;
use crate::state::AppState;

/// The route template of `POST /v2/models/{name}/infer`, as the router names it.
const INFER: &str = "/v2/models/{name}/infer";
/// The route template of `POST /v2/models/{name}/versions/{version}/infer`.
const VERSION_INFER: &str = "/v2/models/{name}/versions/{version}/infer";

/// The REST API as one service: the inference fast path in front of `router`.
#[derive(Clone)]
pub struct RestService {
    router: Router,
    /// `None` when the fast path is off (a layer of the router would act on every request).
    fast: Option<Arc<FastPath>>,
}

struct FastPath {
    state: AppState,
    /// Whether responses may be gzipped (`gzip_enabled`).
    gzip: bool,
    /// The `rest_server_*` series of `POST` [`INFER`] and [`VERSION_INFER`], looked up by the
    /// first request of each (so an unused route is not listed, as under the router).
    series: [OnceLock<RestSeries>; 2],
}

impl RestService {
    /// Wraps the REST `router` built from `state`; `fast` is false when the router applies a
    /// layer the fast path does not reproduce (CORS, root path, request tracing).
    pub(super) fn new(router: Router, state: AppState, fast: bool) -> Self {
        let gzip = state.server.gzip_enabled;
        Self {
            router,
            fast: fast.then(|| {
                Arc::new(FastPath {
                    state,
                    gzip,
                    series: Default::default(),
                })
            }),
        }
    }
}

/// The model name and version of an inference path, when it is exactly one of the two infer
/// routes with plain (not percent-encoded) non-empty segments.
fn infer_route(path: &str) -> Option<(&str, Option<&str>)> {
    let inner = path.strip_prefix("/v2/models/")?.strip_suffix("/infer")?;
    if inner.contains('%') {
        return None;
    }
    let mut segments = inner.split('/');
    let name = segments.next().filter(|s| !s.is_empty())?;
    match (segments.next(), segments.next(), segments.next()) {
        (None, _, _) => Some((name, None)),
        (Some("versions"), Some(version), None) if !version.is_empty() => {
            Some((name, Some(version)))
        }
        _ => None,
    }
}

impl FastPath {
    /// Whether the fast path answers `request` exactly as the router would.
    fn takes(&self, request: &Request) -> bool {
        if request.method() != Method::POST {
            return false;
        }
        let headers = request.headers();
        if headers.contains_key(CONTENT_ENCODING) {
            return false;
        }
        // Without a length (chunked) or over the limit, the router's body limit answers.
        headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|length| length <= self.state.max_body_bytes)
    }
}

/// Serves one inference request as the router's `cloudevents::infer` handler under
/// `RestMetricsLayer` does.
async fn infer(fast: Arc<FastPath>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some((name, version)) = infer_route(parts.uri.path()) else {
        // `takes` matched the path already.
        return ServeError::RouteNotFound(parts.uri.path().to_owned()).into_response();
    };
    let (slot, template) = if version.is_some() {
        (1, VERSION_INFER)
    } else {
        (0, INFER)
    };
    // `takes` let only `POST` through.
    let metrics = fast.series[slot]
        .get_or_init(|| RestSeries::resolve(&Method::POST, template))
        .start();
    let state = &fast.state;
    // With gzip on, a client that sent `Accept-Encoding` is answered through the compression
    // layer; the others get the `Vary` header it adds.
    let accept: Option<Vec<HeaderValue>> = fast.gzip.then(|| {
        parts
            .headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .cloned()
            .collect()
    });
    let add_vary = accept.as_ref().is_some_and(Vec::is_empty);
    let answered = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Err(e) => Err(ServeError::MalformedBody(format!(
            "Failed to buffer the body: {e}"
        ))),
        Ok(bytes) => {
            let started = Instant::now();
            let result =
                super::binary::infer(state, name, version, &parts.headers, RawBody(bytes)).await;
            super::cloudevents::answer(state, name, version, started, result, add_vary)
        }
    };
    let mut response = match answered {
        // `respond` added `Vary` already.
        Ok(response) => response,
        Err(e) => {
            let mut response = e.into_response();
            if add_vary {
                vary(&mut response);
            }
            response
        }
    };
    if let Some(accept) = accept.filter(|a| !a.is_empty()) {
        response = compress(accept, response).await;
    }
    metrics.finish(response.status());
    response
}

/// Runs `response` through the router's compression layer for a client whose `Accept-Encoding`
/// values are `accept`, so it is gzipped (or not) and given `Vary` exactly as the router would.
async fn compress(accept: Vec<HeaderValue>, response: Response) -> Response {
    let mut request = Request::new(Body::empty());
    for value in accept {
        request.headers_mut().append(ACCEPT_ENCODING, value);
    }
    let mut response = Some(response);
    let answer = tower::service_fn(move |_: Request| {
        std::future::ready(Ok::<_, Infallible>(response.take().unwrap_or_default()))
    });
    match super::compression_layer()
        .layer(answer)
        .oneshot(request)
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

/// Adds `Vary: accept-encoding` where the router's `CompressionLayer` does: to every response
/// it could compress (its default predicate), whether or not this client accepts gzip.
fn vary(response: &mut Response) {
    let headers = response.headers();
    if headers.contains_key(CONTENT_ENCODING)
        || headers.contains_key(CONTENT_RANGE)
        || !DefaultPredicate::new().should_compress(response)
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

impl tower::Service<Request> for RestService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(fast) = &self.fast {
            if infer_route(request.uri().path()).is_some() && fast.takes(&request) {
                let fast = fast.clone();
                return Box::pin(async move { Ok(infer(fast, request).await) });
            }
        }
        Box::pin(tower::ServiceExt::oneshot(self.router.clone(), request))
    }
}

impl<L: axum::serve::Listener> tower::Service<axum::serve::IncomingStream<'_, L>> for RestService {
    type Response = Self;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _connection: axum::serve::IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_two_infer_routes() {
        assert_eq!(infer_route("/v2/models/iris/infer"), Some(("iris", None)));
        assert_eq!(
            infer_route("/v2/models/iris/versions/v1/infer"),
            Some(("iris", Some("v1")))
        );
        assert_eq!(
            infer_route("/v2/models/versions/infer"),
            Some(("versions", None))
        );
        for path in [
            "/v2/models//infer",
            "/v2/models/iris/infer/",
            "/v2/models/iris/versions/infer",
            "/v2/models/iris/versions//infer",
            "/v2/models/iris/docs/v1/infer",
            "/v2/models/iris/versions/v1/x/infer",
            "/v2/models/ir%69s/infer",
            "/v2/models/iris/generate",
            "/prefix/v2/models/iris/infer",
        ] {
            assert_eq!(infer_route(path), None, "{path}");
        }
    }

    fn response(binary: Option<Vec<u8>>) -> crate::codec::InferResponse {
        use ironflow_loader::tensor::tensor1;
        let mut parameters = crate::codec::Parameters::new();
        parameters.insert("content_type".into(), "np".into());
        let output = ironflow_loader::NamedTensor::new("label", tensor1(&[1i64]));
        let mut output = crate::codec::encode_output(output).expect("encode");
        if binary.is_some() {
            output.data = None;
        }
        crate::codec::InferResponse {
            model_name: "iris".into(),
            model_version: None,
            id: "req-1".into(),
            parameters,
            outputs: vec![output],
            binary,
        }
    }

    /// `respond` with `vary` gives the headers the router's compression layer gives a client
    /// without `Accept-Encoding`, and the headers `vary` gives.
    #[tokio::test]
    async fn respond_adds_vary_as_the_compression_layer_does() {
        use crate::rest::binary::respond;
        use crate::rest::cloudevents::CloudEvents;
        let events = CloudEvents::new("mlserver");
        let pairs = |r: &Response| {
            r.headers()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        for binary in [None, Some(vec![1, 0, 0, 0, 0, 0, 0, 0])] {
            let fast = respond(response(binary.clone()), &events, true).expect("respond");
            let plain = respond(response(binary.clone()), &events, false).expect("respond");
            let mut by_vary = respond(response(binary), &events, false).expect("respond");
            vary(&mut by_vary);
            let layered = compress(Vec::new(), plain).await;
            assert_eq!(pairs(&fast), pairs(&layered));
            assert_eq!(pairs(&fast), pairs(&by_vary));
            assert!(fast.headers().contains_key(VARY));
        }
    }
}
