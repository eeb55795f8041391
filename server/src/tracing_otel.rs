//! OpenTelemetry traces over OTLP/gRPC, only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Spans: `load` (a model load), `inference` (one v2 REST or gRPC request, a child of the W3C
//! `traceparent` the request carries), and inside it `decode`, `queue` (waiting for an
//! inference slot), `predict` and `encode`. They are `tracing` spans of target
//! [`TARGET`] (plus the batcher's `predict`), which the log output filters out; when the
//! variable is unset no layer wants them, so each span site costs one cached check.
//! The exporter honours the standard `OTEL_EXPORTER_OTLP_*` and `OTEL_SERVICE_NAME` variables;
//! spans are sent in batches and flushed at exit ([`shutdown`]).

use std::sync::OnceLock;

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The `tracing` target of the spans exported as traces.
pub const TARGET: &str = "ironflow::trace";

/// The environment variable that turns tracing on.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The provider (flushed at exit) and the runtime its gRPC channel lives on.
struct Exporting {
    provider: SdkTracerProvider,
    _runtime: tokio::runtime::Runtime,
}

static EXPORTING: OnceLock<Exporting> = OnceLock::new();

/// Whether traces are exported (the endpoint variable was set and the exporter started).
pub fn enabled() -> bool {
    EXPORTING.get().is_some()
}

/// The OpenTelemetry layer, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (a failure to build the
/// exporter is printed to stderr and leaves tracing off).
pub fn layer<S>() -> Option<impl Layer<S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    std::env::var(ENDPOINT_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    // The tonic channel's connection task runs on a small runtime of its own, so the exporter
    // works from the batch processor's thread whatever the command's runtime is.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .map_err(|e| eprintln!("OpenTelemetry off: cannot start its runtime: {e}"))
        .ok()?;
    let exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| eprintln!("OpenTelemetry off: cannot build the OTLP exporter: {e}"))
            .ok()?
    };
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "ironflow".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("ironflow");
    let _ = EXPORTING.set(Exporting {
        provider,
        _runtime: runtime,
    });
    let targets = Targets::new()
        .with_target(TARGET, tracing::Level::TRACE)
        .with_target("ironflow_server::batching", tracing::Level::DEBUG);
    Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(targets),
    )
}

/// Flushes the spans not yet sent and stops the exporter (at exit).
pub fn shutdown() {
    if let Some(exporting) = EXPORTING.get() {
        let _ = exporting.provider.force_flush();
        let _ = exporting.provider.shutdown();
    }
}

/// Makes the request's W3C `traceparent` (and `tracestate`) the parent of `span`; nothing
/// when tracing is off or the header is absent or invalid.
pub fn set_parent_from(span: &tracing::Span, headers: &HeaderMap) {
    if !enabled() {
        return;
    }
    let context = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    set_parent(span, context);
}

/// The same from gRPC metadata (`traceparent` as an ASCII metadata entry).
pub fn set_parent_from_metadata(span: &tracing::Span, metadata: &tonic::metadata::MetadataMap) {
    if !enabled() {
        return;
    }
    set_parent_from(span, &metadata.clone().into_headers());
}

fn set_parent(span: &tracing::Span, context: opentelemetry::Context) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let _ = span.set_parent(context);
}

/// HTTP headers as an OpenTelemetry propagation carrier.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
