//! Prometheus metrics under MLServer's names (docs/compat.md §1.8), served on `GET /metrics` of the
//! HTTP port and of the separate metrics port (`--metrics-port`, default 8082).
//!
//! - `model_infer_request_success_total` / `model_infer_request_failure_total` {model, version}:
//!   counters (`version="None"` when the request names none, as MLServer writes it).
//! - `model_infer_request_duration` {model, version}: a **summary** (sum and count only, no
//!   quantiles), as MLServer's `prometheus_client.Summary`.
//! - `rest_server_requests_total`, `rest_server_request_duration_seconds` (histogram, the
//!   starlette_exporter buckets) {method, path, status_code, app_name} and
//!   `rest_server_requests_in_progress` {method, app_name}. `path` is the route template with
//!   MLServer's parameter names (`/v2/models/{model_name}/infer`), never the raw path;
//!   unmatched paths are not recorded (starlette_exporter's `filter_unhandled_paths`).
//!
//!
//! - `grpc_server_started_total`, `grpc_server_handled_total` (+ `grpc_code`) and
//!   `grpc_server_handling_seconds` (histogram) {grpc_type, grpc_service, grpc_method}: the
//!   names and labels of py-grpc-prometheus, which MLServer's gRPC server uses.
//!
//! ironflow's own, beside MLServer's names:
//! - `ironflow_model_queue_depth` {model}: a gauge of the requests admitted to the model's
//!   bounded queue (waiting or running), see [`crate::batching`].
//! - `ironflow_model_request_duration_seconds` {model, version}: a histogram of inference request
//!   durations, with buckets from 0.25 ms (the summary above has no distribution).
//!
//! A small hand-written registry rather than the `prometheus` crate: that crate has no summary
//! type (MLServer's duration metric is one), and these six families need only a mutex-guarded
//! map each and a text encoder. The registry is process-wide, like `prometheus_client`'s default
//! registry, so the gRPC service counts into the same families.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

/// The `app_name` label MLServer's REST metrics carry.
const APP_NAME: &str = "mlserver";

/// starlette_exporter's default histogram buckets (seconds).
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Buckets of `ironflow_model_request_duration_seconds` (seconds): finer at the low end, where
/// native inference answers.
const MODEL_BUCKETS: [f64; 14] = [
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// gRPC call type, service and method.
type GrpcKey = (&'static str, String, String);

#[derive(Debug, Clone)]
struct Histogram<const N: usize> {
    buckets: [u64; N],
    sum: f64,
    count: u64,
}

impl<const N: usize> Default for Histogram<N> {
    fn default() -> Self {
        Self {
            buckets: [0; N],
            sum: 0.0,
            count: 0,
        }
    }
}

impl<const N: usize> Histogram<N> {
    fn observe(&mut self, bounds: &[f64; N], seconds: f64) {
        for (slot, bound) in self.buckets.iter_mut().zip(bounds) {
            if seconds <= *bound {
                *slot += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64; N]) {
        for (bound, n) in bounds.iter().zip(self.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound:?}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// One model's (and version's) inference counts.
#[derive(Debug, Default)]
struct ModelEntry {
    success: u64,
    failure: u64,
    duration: Histogram<{ MODEL_BUCKETS.len() }>,
}

/// One (method, route, status)'s REST requests.
#[derive(Debug, Default, Clone)]
struct RestEntry {
    duration: Histogram<{ BUCKETS.len() }>,
}

/// The registry. Model and REST entries are nested maps keyed by `String`, so the hot path looks
/// them up by `&str` and allocates only the first time a key is seen.
#[derive(Debug, Default)]
struct Families {
    /// model -> version -> counts.
    models: BTreeMap<String, BTreeMap<String, ModelEntry>>,
    /// method -> route template (axum's, e.g. `/v2/models/{name}/infer`) -> status -> counts.
    rest: BTreeMap<String, BTreeMap<String, Arc<RouteSeries>>>,
    /// method -> requests in progress.
    rest_in_progress: BTreeMap<String, Arc<AtomicI64>>,
    queue_depth: Vec<(String, Arc<AtomicI64>)>,
    grpc_started: BTreeMap<GrpcKey, u64>,
    grpc_handled: BTreeMap<(GrpcKey, String), u64>,
    grpc_duration: BTreeMap<GrpcKey, Histogram<{ BUCKETS.len() }>>,
}

/// `map[key]`, inserted with its default the first time, looked up without allocating after.
fn slot<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    // Inserted just above when missing.
    map.get_mut(key)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

/// One (method, route template)'s REST requests by status, behind its own lock, so a request
/// holding a [`RestSeries`] counts itself without the registry's lock or its lookups.
type RouteSeries = Mutex<BTreeMap<u16, RestEntry>>;

static FAMILIES: LazyLock<Mutex<Families>> = LazyLock::new(Mutex::default);

/// `mutex`'s guard; a panic while holding it leaves plain counters behind: still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn families() -> MutexGuard<'static, Families> {
    lock(&FAMILIES)
}

/// Counts one inference request of `model` (`version` as the request named it).
pub fn record_infer(model: &str, version: Option<&str>, success: bool, elapsed: Duration) {
    let mut f = families();
    let entry = slot(slot(&mut f.models, model), version.unwrap_or("None"));
    if success {
        entry.success += 1;
    } else {
        entry.failure += 1;
    }
    entry
        .duration
        .observe(&MODEL_BUCKETS, elapsed.as_secs_f64());
}

/// A new queue-depth gauge for `model`, counted in `ironflow_model_queue_depth` (summed with
/// the other gauges of the same name). The caller moves it with atomic adds, so admitting a
/// request takes no lock.
pub fn queue_depth_gauge(model: &str) -> Arc<AtomicI64> {
    let gauge = Arc::new(AtomicI64::new(0));
    let mut f = families();
    // Gauges of models no longer served are dropped (their count is back to 0 by then).
    f.queue_depth.retain(|(_, g)| Arc::strong_count(g) > 1);
    f.queue_depth.push((model.to_owned(), gauge.clone()));
    gauge
}

/// Counts a gRPC call as started (`grpc_type` is `UNARY`, `SERVER_STREAMING`, ...).
pub fn record_grpc_started(grpc_type: &'static str, service: &str, method: &str) {
    let key = (grpc_type, service.to_owned(), method.to_owned());
    *families().grpc_started.entry(key).or_default() += 1;
}

/// Counts a gRPC call as handled with its status code name (`OK`, `INVALID_ARGUMENT`, ...).
pub fn record_grpc_handled(
    grpc_type: &'static str,
    service: &str,
    method: &str,
    code: &str,
    elapsed: Duration,
) {
    let key = (grpc_type, service.to_owned(), method.to_owned());
    let mut f = families();
    *f.grpc_handled
        .entry((key.clone(), code.to_owned()))
        .or_default() += 1;
    f.grpc_duration
        .entry(key)
        .or_default()
        .observe(&BUCKETS, elapsed.as_secs_f64());
}

/// The layer counting REST requests by method, route template and status
/// ([`RestMetrics`]); applied per route, so unmatched paths are not counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestMetricsLayer;

impl<S> tower::Layer<S> for RestMetricsLayer {
    type Service = RestMetrics<S>;

    fn layer(&self, inner: S) -> RestMetrics<S> {
        RestMetrics { inner }
    }
}

/// Counts each request of the wrapped route into `rest_server_*`. A plain tower service rather
/// than an `axum::middleware::from_fn`, which clones the whole inner route on every request.
#[derive(Debug, Clone)]
pub struct RestMetrics<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RestMetrics<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(matched) = request.extensions().get::<MatchedPath>().cloned() else {
            return Box::pin(self.inner.call(request));
        };
        let counted = RestRequest::start(request.method(), RouteLabel::Matched(matched));
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            counted.finish(response.status());
            Ok(response)
        })
    }
}

/// The `rest_server_*` series of one method and route template, looked up once: the in-progress
/// gauge of the method and the route's durations by status. A caller that serves one route
/// (the inference fast path) keeps it and [starts](RestSeries::start) each request from it.
#[derive(Debug, Clone)]
pub struct RestSeries {
    in_progress: Arc<AtomicI64>,
    route: Arc<RouteSeries>,
}

impl RestSeries {
    /// The series of requests of `method` to the route template `route`, created the first time.
    pub fn resolve(method: &Method, route: &str) -> Self {
        let mut f = families();
        let in_progress = slot(&mut f.rest_in_progress, method.as_str()).clone();
        let route = slot(slot(&mut f.rest, method.as_str()), route).clone();
        Self { in_progress, route }
    }

    /// Counts a request as in progress until it [finishes](RestRequest::finish).
    pub fn start(&self) -> RestRequest {
        self.in_progress.fetch_add(1, Ordering::Relaxed);
        RestRequest {
            _in_progress: InProgress(self.in_progress.clone()),
            route: self.route.clone(),
            started: Instant::now(),
        }
    }
}

/// One REST request being counted into `rest_server_*` (in progress until it finishes, then
/// its duration by method, route template and status): what [`RestMetrics`] counts per routed
/// request, also used by the inference fast path in front of the router.
pub struct RestRequest {
    /// Leaves the in-progress count when dropped: after [`RestRequest::finish`], or when the
    /// client goes away mid-request.
    _in_progress: InProgress,
    route: Arc<RouteSeries>,
    started: Instant,
}

/// A route template: the router's, or a constant one.
pub enum RouteLabel {
    /// As the router matched it.
    Matched(MatchedPath),
    /// A template named by the code that serves it.
    Static(&'static str),
}

impl RouteLabel {
    fn as_str(&self) -> &str {
        match self {
            Self::Matched(path) => path.as_str(),
            Self::Static(path) => path,
        }
    }
}

impl RestRequest {
    /// Counts a request of `method` to the route template `route` as in progress.
    pub fn start(method: &Method, route: RouteLabel) -> Self {
        RestSeries::resolve(method, route.as_str()).start()
    }

    /// Counts the request as answered with `status`.
    pub fn finish(self, status: StatusCode) {
        let seconds = self.started.elapsed().as_secs_f64();
        lock(&self.route)
            .entry(status.as_u16())
            .or_default()
            .duration
            .observe(&BUCKETS, seconds);
    }
}

/// The route template with MLServer's parameter names, so dashboards built on MLServer match.
fn label_path(template: &str) -> String {
    template
        .replace("{name}", "{model_name}")
        .replace("{version}", "{model_version}")
}

/// A request counted in progress until dropped.
struct InProgress(Arc<AtomicI64>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /metrics`: every family in the Prometheus text format.
pub async fn handler() -> Response {
    ([(CONTENT_TYPE, TEXT_FORMAT)], render()).into_response()
}

/// Renders every family in the Prometheus text exposition format.
pub fn render() -> String {
    let f = families();
    let mut out = String::new();
    let model_labels =
        |m: &str, v: &str| format!("model=\"{}\",version=\"{}\"", escape(m), escape(v));
    let models: Vec<(String, &ModelEntry)> = f
        .models
        .iter()
        .flat_map(|(m, versions)| versions.iter().map(move |(v, e)| (model_labels(m, v), e)))
        .collect();
    // Sorted by method, path label and status, as the labels read.
    let mut rest: Vec<(&str, String, u16, RestEntry)> = f
        .rest
        .iter()
        .flat_map(|(method, routes)| {
            routes.iter().flat_map(move |(template, series)| {
                let statuses = lock(series).clone();
                statuses
                    .into_iter()
                    .map(move |(status, e)| (method.as_str(), label_path(template), status, e))
            })
        })
        .collect();
    rest.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    let rest: Vec<(String, RestEntry)> = rest
        .into_iter()
        .map(|(method, path, status, entry)| {
            let labels = format!(
                "app_name=\"{APP_NAME}\",method=\"{}\",path=\"{}\",status_code=\"{status}\"",
                escape(method),
                escape(&path)
            );
            (labels, entry)
        })
        .collect();
    header(
        &mut out,
        "model_infer_request_success_total",
        "Model infer request success count",
        "counter",
    );
    for (l, e) in models.iter().filter(|(_, e)| e.success > 0) {
        let _ = writeln!(
            out,
            "model_infer_request_success_total{{{l}}} {}",
            e.success
        );
    }
    header(
        &mut out,
        "model_infer_request_failure_total",
        "Model infer request failure count",
        "counter",
    );
    for (l, e) in models.iter().filter(|(_, e)| e.failure > 0) {
        let _ = writeln!(
            out,
            "model_infer_request_failure_total{{{l}}} {}",
            e.failure
        );
    }
    header(
        &mut out,
        "model_infer_request_duration",
        "Model infer request duration",
        "summary",
    );
    for (l, e) in &models {
        let (sum, count) = (e.duration.sum, e.duration.count);
        let _ = writeln!(out, "model_infer_request_duration_count{{{l}}} {count}");
        let _ = writeln!(out, "model_infer_request_duration_sum{{{l}}} {sum}");
    }
    header(
        &mut out,
        "rest_server_requests_total",
        "Total HTTP requests",
        "counter",
    );
    for (l, e) in &rest {
        let _ = writeln!(
            out,
            "rest_server_requests_total{{{l}}} {}",
            e.duration.count
        );
    }
    header(
        &mut out,
        "rest_server_request_duration_seconds",
        "HTTP request duration, in seconds",
        "histogram",
    );
    for (l, e) in &rest {
        e.duration.render(
            &mut out,
            "rest_server_request_duration_seconds",
            l,
            &BUCKETS,
        );
    }
    header(
        &mut out,
        "rest_server_requests_in_progress",
        "Total HTTP requests currently in progress",
        "gauge",
    );
    for (method, n) in &f.rest_in_progress {
        let n = n.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "rest_server_requests_in_progress{{app_name=\"{APP_NAME}\",method=\"{}\"}} {n}",
            escape(method)
        );
    }
    let grpc_labels = |(kind, service, method): &GrpcKey| {
        format!(
            "grpc_method=\"{}\",grpc_service=\"{}\",grpc_type=\"{kind}\"",
            escape(method),
            escape(service)
        )
    };
    header(
        &mut out,
        "grpc_server_started_total",
        "Total number of RPCs started on the server.",
        "counter",
    );
    for (k, v) in &f.grpc_started {
        let _ = writeln!(out, "grpc_server_started_total{{{}}} {v}", grpc_labels(k));
    }
    header(
        &mut out,
        "grpc_server_handled_total",
        "Total number of RPCs completed on the server, regardless of success or failure.",
        "counter",
    );
    for ((k, code), v) in &f.grpc_handled {
        let _ = writeln!(
            out,
            "grpc_server_handled_total{{grpc_code=\"{}\",{}}} {v}",
            escape(code),
            grpc_labels(k)
        );
    }
    header(
        &mut out,
        "grpc_server_handling_seconds",
        "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
        "histogram",
    );
    for (k, h) in &f.grpc_duration {
        h.render(
            &mut out,
            "grpc_server_handling_seconds",
            &grpc_labels(k),
            &BUCKETS,
        );
    }
    header(
        &mut out,
        "ironflow_model_queue_depth",
        "Requests admitted to the model's queue (waiting or running)",
        "gauge",
    );
    let mut depths: BTreeMap<&str, i64> = BTreeMap::new();
    for (model, gauge) in &f.queue_depth {
        *depths.entry(model).or_default() += gauge.load(Ordering::Relaxed);
    }
    for (model, n) in depths {
        let _ = writeln!(
            out,
            "ironflow_model_queue_depth{{model=\"{}\"}} {n}",
            escape(model)
        );
    }
    header(
        &mut out,
        "ironflow_model_request_duration_seconds",
        "Model inference request duration, in seconds",
        "histogram",
    );
    for (l, e) in &models {
        e.duration.render(
            &mut out,
            "ironflow_model_request_duration_seconds",
            l,
            &MODEL_BUCKETS,
        );
    }
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value (`\`, `"` and newlines), as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics server's router: `GET {endpoint}` only.
pub fn router(endpoint: &str) -> Router {
    let endpoint = if endpoint.starts_with('/') {
        endpoint.to_owned()
    } else {
        format!("/{endpoint}")
    };
    Router::new().route(&endpoint, get(handler))
}

/// Serves the metrics endpoint on a bound listener until `shutdown` resolves.
pub async fn serve_on(
    listener: TcpListener,
    endpoint: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(endpoint))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_mlserver_names() {
        record_infer("unit-model", None, true, Duration::from_millis(3));
        record_infer("unit-model", Some("2"), false, Duration::from_millis(1));
        let text = render();
        assert!(text
            .contains("model_infer_request_success_total{model=\"unit-model\",version=\"None\"} "));
        assert!(
            text.contains("model_infer_request_failure_total{model=\"unit-model\",version=\"2\"} ")
        );
        assert!(text.contains("# TYPE model_infer_request_duration summary"));
        assert!(text.contains(
            "ironflow_model_request_duration_seconds_bucket{model=\"unit-model\",version=\"None\",le=\"0.005\"} "
        ));
        let gauge = queue_depth_gauge("unit-model");
        gauge.fetch_add(2, Ordering::Relaxed);
        gauge.fetch_sub(1, Ordering::Relaxed);
        assert!(render().contains("ironflow_model_queue_depth{model=\"unit-model\"} 1\n"));
        assert_eq!(
            label_path("/v2/models/{name}/versions/{version}/infer"),
            "/v2/models/{model_name}/versions/{model_version}/infer"
        );
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }

    /// A kept series and a per-request lookup count into the same lines; a request dropped
    /// unfinished leaves the in-progress gauge.
    #[test]
    fn kept_series_and_lookups_count_together() {
        let kept = RestSeries::resolve(&Method::PATCH, "/unit/{name}");
        kept.start().finish(StatusCode::OK);
        RestRequest::start(&Method::PATCH, RouteLabel::Static("/unit/{name}"))
            .finish(StatusCode::OK);
        let dropped = kept.start();
        let text = render();
        assert!(text.contains(
            "rest_server_requests_total{app_name=\"mlserver\",method=\"PATCH\",path=\"/unit/{model_name}\",status_code=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "rest_server_requests_in_progress{app_name=\"mlserver\",method=\"PATCH\"} 1\n"
        ));
        drop(dropped);
        assert!(render().contains(
            "rest_server_requests_in_progress{app_name=\"mlserver\",method=\"PATCH\"} 0\n"
        ));
    }
}
