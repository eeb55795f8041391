//! The front service of the REST API: `POST /v2/models/{name}[/versions/{version}]/infer`, the
//! one hot path, is matched by hand and served without the router, its per-route layers and the
//! request's header map clone; every other request goes to the [`axum::Router`].
//!
//! This file is the one place that decides what the fast path takes, with one set of rules:
//!
//! - per server ([`FastPath::rules`]): off when a router layer it does not reproduce would act on
//!   every request: CORS (`cors_settings`), a `root_path` (nested routes, whose metrics label is
//!   the prefixed template), or the per-request trace layer (DEBUG logging of `tower_http`). Which
//!   rule turned it off is logged once at start-up ([`FastPath::log`]);
//! - per request ([`FastPath::takes`]): `POST` to exactly one of the two infer routes with plain
//!   segments, no `Content-Encoding` (gzip bodies go through the router's decompression layer),
//!   and a `Content-Length` within the body limit (chunked or oversized bodies get the router's
//!   413).
//!
//! What it reproduces it takes from where the router takes it: the route templates and
//! compression rules from `rest/layers.rs`, the `rest_server_*` series from
//! [`crate::metrics::RestSeries`], the answer from [`super::infer::serve`] (the router's handler).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::{ACCEPT_ENCODING, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH};
use axum::http::{HeaderValue, Method, Version};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::layers::{self, INFER, VERSION_INFER};
use crate::error::ServeError;
use crate::metrics::RestSeries;
use crate::state::AppState;

/// The REST API as one service: the inference fast path in front of `router`.
#[derive(Clone)]
pub struct RestService {
    router: Router,
    /// Readiness: while shutting down, HTTP/1.x responses close their connection.
    readiness: Arc<crate::shutdown::Readiness>,
    /// `None` when the fast path is off (see [`FastPath::rules`]).
    fast: Option<Arc<FastPath>>,
}

/// Why the fast path is off for a server: a router layer it does not reproduce is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastPathOff {
    /// `cors_settings`: the CORS layer answers preflights and adds headers.
    Cors,
    /// `root_path`: the routes are nested under a prefix as well.
    RootPath,
    /// DEBUG logging of `tower_http`: the trace layer logs each request.
    Tracing,
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
    /// Wraps the REST `router` built from `state`, with the fast path in front when
    /// [`FastPath::rules`] allow it.
    pub(super) fn new(router: Router, state: AppState) -> Self {
        let readiness = state.readiness_handle();
        let fast = match FastPath::rules(&state) {
            Ok(()) => Some(Arc::new(FastPath {
                gzip: state.server.gzip_enabled,
                state,
                series: Default::default(),
            })),
            Err(off) => {
                FastPath::log(off);
                None
            }
        };
        Self {
            router,
            readiness,
            fast,
        }
    }

    /// Whether inference requests may take the fast path (for tests and diagnostics).
    pub fn fast_path(&self) -> bool {
        self.fast.is_some()
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
    /// Whether a server with `state`'s settings may have the fast path, or which rule turns it off.
    pub fn rules(state: &AppState) -> Result<(), FastPathOff> {
        if state.server.cors.is_some() {
            Err(FastPathOff::Cors)
        } else if state.server.root_path.is_some() {
            Err(FastPathOff::RootPath)
        } else if layers::tracing_layer() {
            Err(FastPathOff::Tracing)
        } else {
            Ok(())
        }
    }

    /// Says once, at start-up, why inference requests go through the router only.
    fn log(off: FastPathOff) {
        let why = match off {
            FastPathOff::Cors => "cors_settings are set",
            FastPathOff::RootPath => "root_path is set",
            FastPathOff::Tracing => "tower_http request tracing (DEBUG) is on",
        };
        tracing::info!(
            "REST inference fast path off: {why}; every request goes through the router"
        );
    }

    /// Whether the fast path answers `request` exactly as the router would.
    fn takes(&self, request: &Request) -> bool {
        if request.method() != Method::POST || infer_route(request.uri().path()).is_none() {
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

/// Serves one inference request as the router's `infer::infer` handler under
/// `RestMetricsLayer` (and the compression layer, when on) does.
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
            super::infer::serve(state, name, version, &parts.headers, bytes, add_vary).await
        }
    };
    let mut response = match answered {
        // `respond` added `Vary` already.
        Ok(response) => response,
        Err(e) => {
            let mut response = e.into_response();
            if add_vary {
                layers::vary(&mut response);
            }
            response
        }
    };
    if let Some(accept) = accept.filter(|a| !a.is_empty()) {
        response = layers::compress(accept, response).await;
    }
    metrics.finish(response.status());
    response
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
        // Shutting down: an HTTP/1.x client must not reuse this connection, which closes when
        // the shutdown delay ends (HTTP/2 gets GOAWAY instead; `shutdown.rs`).
        let close = self.readiness.is_stopping() && request.version() < Version::HTTP_2;
        let answer: Self::Future = match &self.fast {
            Some(fast) if fast.takes(&request) => {
                let fast = fast.clone();
                Box::pin(async move { Ok(infer(fast, request).await) })
            }
            _ => Box::pin(tower::ServiceExt::oneshot(self.router.clone(), request)),
        };
        if !close {
            return answer;
        }
        Box::pin(async move {
            let mut response = answer.await?;
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        })
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

    /// While shutting down, HTTP/1.x answers (router and fast path alike) close their
    /// connection; HTTP/2 ones do not carry the header (it is not valid there).
    #[tokio::test]
    async fn responses_close_http1_connections_while_stopping() {
        use axum::body::Body;
        use axum::http::Version;
        use tower::ServiceExt;
        let state = AppState::new(Vec::new(), 1, 1024);
        let service = super::super::service(state.clone());
        let send = |path: &'static str, method: Method, version: Version| {
            let service = service.clone();
            async move {
                let mut request = Request::new(Body::from("{}"));
                *request.method_mut() = method;
                *request.uri_mut() = path.parse().expect("uri");
                *request.version_mut() = version;
                request
                    .headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from_static("2"));
                let response = service.oneshot(request).await.expect("infallible");
                response.headers().get(CONNECTION).cloned()
            }
        };
        let infer = "/v2/models/m/infer";
        assert!(service.fast_path());
        assert_eq!(
            send("/v2/health/live", Method::GET, Version::HTTP_11).await,
            None
        );
        assert_eq!(send(infer, Method::POST, Version::HTTP_11).await, None);
        state.readiness().set_stopping();
        let close = Some(HeaderValue::from_static("close"));
        assert_eq!(
            send("/v2/health/live", Method::GET, Version::HTTP_11).await,
            close
        );
        assert_eq!(send(infer, Method::POST, Version::HTTP_11).await, close);
        assert_eq!(send(infer, Method::POST, Version::HTTP_10).await, close);
        assert_eq!(send(infer, Method::POST, Version::HTTP_2).await, None);
    }

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
        use crate::rest::cloudevents::CloudEvents;
        use crate::rest::layers::{compress, vary};
        use crate::rest::response::respond;
        let events = CloudEvents::new("mlserver");
        let pairs = |r: &Response| {
            r.headers()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        // Bodies below and above the compression threshold (MLServer's 500 bytes).
        for binary in [None, Some(vec![1, 0, 0, 0, 0, 0, 0, 0]), Some(vec![7; 600])] {
            let large = binary.as_ref().is_some_and(|b| b.len() >= 500);
            let fast = respond(response(binary.clone()), &events, true).expect("respond");
            let plain = respond(response(binary.clone()), &events, false).expect("respond");
            let mut by_vary = respond(response(binary), &events, false).expect("respond");
            vary(&mut by_vary);
            let layered = compress(Vec::new(), plain).await;
            assert_eq!(pairs(&fast), pairs(&layered));
            assert_eq!(pairs(&fast), pairs(&by_vary));
            assert_eq!(fast.headers().contains_key(axum::http::header::VARY), large);
        }
    }
}
