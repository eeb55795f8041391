//! Prometheus metrics under MLServer's names (COMPAT.md §1.8), served on `GET /metrics` of the
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
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
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

type ModelKey = (String, String);
type RestKey = (String, String, u16);
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

#[derive(Debug, Default)]
struct Families {
    infer_success: BTreeMap<ModelKey, u64>,
    infer_failure: BTreeMap<ModelKey, u64>,
    infer_duration: BTreeMap<ModelKey, (f64, u64)>,
    rest_requests: BTreeMap<RestKey, u64>,
    rest_duration: BTreeMap<RestKey, Histogram<{ BUCKETS.len() }>>,
    rest_in_progress: BTreeMap<String, i64>,
    model_duration: BTreeMap<ModelKey, Histogram<{ MODEL_BUCKETS.len() }>>,
    queue_depth: Vec<(String, Arc<AtomicI64>)>,
    grpc_started: BTreeMap<GrpcKey, u64>,
    grpc_handled: BTreeMap<(GrpcKey, String), u64>,
    grpc_duration: BTreeMap<GrpcKey, Histogram<{ BUCKETS.len() }>>,
}

static FAMILIES: LazyLock<Mutex<Families>> = LazyLock::new(Mutex::default);

fn families() -> MutexGuard<'static, Families> {
    // A panic while holding the lock leaves plain counters behind: still usable.
    FAMILIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts one inference request of `model` (`version` as the request named it).
pub fn record_infer(model: &str, version: Option<&str>, success: bool, elapsed: Duration) {
    let key = (model.to_owned(), version.unwrap_or("None").to_owned());
    let mut f = families();
    let counter = if success {
        &mut f.infer_success
    } else {
        &mut f.infer_failure
    };
    *counter.entry(key.clone()).or_default() += 1;
    let seconds = elapsed.as_secs_f64();
    f.model_duration
        .entry(key.clone())
        .or_default()
        .observe(&MODEL_BUCKETS, seconds);
    let (sum, count) = f.infer_duration.entry(key).or_default();
    *sum += seconds;
    *count += 1;
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

/// Middleware counting REST requests by method, route template and status.
pub async fn track_rest(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let Some(matched) = matched else {
        return next.run(request).await;
    };
    let method = request.method().as_str().to_owned();
    let path = label_path(matched.as_str());
    let _in_progress = InProgress::enter(&method);
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let key = (method, path, response.status().as_u16());
    let mut f = families();
    *f.rest_requests.entry(key.clone()).or_default() += 1;
    f.rest_duration
        .entry(key)
        .or_default()
        .observe(&BUCKETS, seconds);
    response
}

/// The route template with MLServer's parameter names, so dashboards built on MLServer match.
fn label_path(template: &str) -> String {
    template
        .replace("{name}", "{model_name}")
        .replace("{version}", "{model_version}")
}

/// Counts a request in progress until dropped (also when the client goes away mid-request).
struct InProgress(String);

impl InProgress {
    fn enter(method: &str) -> Self {
        *families()
            .rest_in_progress
            .entry(method.to_owned())
            .or_default() += 1;
        Self(method.to_owned())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        *families()
            .rest_in_progress
            .entry(self.0.clone())
            .or_default() -= 1;
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
        |(m, v): &ModelKey| format!("model=\"{}\",version=\"{}\"", escape(m), escape(v));
    let rest_labels = |(method, path, status): &RestKey| {
        format!(
            "app_name=\"{APP_NAME}\",method=\"{}\",path=\"{}\",status_code=\"{status}\"",
            escape(method),
            escape(path)
        )
    };
    header(
        &mut out,
        "model_infer_request_success_total",
        "Model infer request success count",
        "counter",
    );
    for (k, v) in &f.infer_success {
        let _ = writeln!(
            out,
            "model_infer_request_success_total{{{}}} {v}",
            model_labels(k)
        );
    }
    header(
        &mut out,
        "model_infer_request_failure_total",
        "Model infer request failure count",
        "counter",
    );
    for (k, v) in &f.infer_failure {
        let _ = writeln!(
            out,
            "model_infer_request_failure_total{{{}}} {v}",
            model_labels(k)
        );
    }
    header(
        &mut out,
        "model_infer_request_duration",
        "Model infer request duration",
        "summary",
    );
    for (k, (sum, count)) in &f.infer_duration {
        let l = model_labels(k);
        let _ = writeln!(out, "model_infer_request_duration_count{{{l}}} {count}");
        let _ = writeln!(out, "model_infer_request_duration_sum{{{l}}} {sum}");
    }
    header(
        &mut out,
        "rest_server_requests_total",
        "Total HTTP requests",
        "counter",
    );
    for (k, v) in &f.rest_requests {
        let _ = writeln!(out, "rest_server_requests_total{{{}}} {v}", rest_labels(k));
    }
    header(
        &mut out,
        "rest_server_request_duration_seconds",
        "HTTP request duration, in seconds",
        "histogram",
    );
    for (k, h) in &f.rest_duration {
        h.render(
            &mut out,
            "rest_server_request_duration_seconds",
            &rest_labels(k),
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
    for (k, h) in &f.model_duration {
        h.render(
            &mut out,
            "ironflow_model_request_duration_seconds",
            &model_labels(k),
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
}
