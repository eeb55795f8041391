//! Counts gRPC calls into py-grpc-prometheus's metric families, as MLServer's gRPC server
//! exposes them (docs/compat.md §1.8): `grpc_server_started_total`, `grpc_server_handled_total`
//! (with `grpc_code`) and `grpc_server_handling_seconds`, labelled `grpc_type`, `grpc_service`,
//! `grpc_method`. A tower layer around every gRPC service of the server.
//!
//! The code is the `grpc-status` of the response head (where tonic puts every error of a unary
//! call); a response head without one is `OK`. For the streaming calls the head comes when the
//! stream opens, so a status sent later in the trailers is not seen.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::{HeaderMap, Request, Response};
use tower::{Layer, Service};

use crate::metrics;

/// Adds [`GrpcMetrics`] around a service.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

/// A gRPC service whose calls are counted and timed.
#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for GrpcMetrics<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (service, method) = service_and_method(request.uri().path());
        let kind = call_type(&service, &method);
        metrics::record_grpc_started(kind, &service, &method);
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let code = match &result {
                Ok(response) => status_name(response.headers()),
                // The transport failed before any status: what the client sees as UNAVAILABLE.
                Err(_) => "UNAVAILABLE",
            };
            metrics::record_grpc_handled(kind, &service, &method, code, started.elapsed());
            result
        })
    }
}

/// `/inference.GRPCInferenceService/ModelInfer` → (`inference.GRPCInferenceService`,
/// `ModelInfer`).
fn service_and_method(path: &str) -> (String, String) {
    let path = path.trim_start_matches('/');
    match path.split_once('/') {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => (path.to_owned(), String::new()),
    }
}

/// The py-grpc-prometheus `grpc_type` of the calls the server offers.
fn call_type(service: &str, method: &str) -> &'static str {
    match (service, method) {
        (_, "ModelStreamInfer") => "BIDI_STREAMING",
        ("grpc.health.v1.Health", "Watch") => "SERVER_STREAMING",
        _ => "UNARY",
    }
}

/// The name of the `grpc-status` in a response head (`OK` when there is none).
fn status_name(headers: &HeaderMap) -> &'static str {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0);
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_types_and_codes() {
        assert_eq!(
            service_and_method("/inference.GRPCInferenceService/ModelInfer"),
            ("inference.GRPCInferenceService".into(), "ModelInfer".into())
        );
        assert_eq!(
            call_type("inference.GRPCInferenceService", "ModelStreamInfer"),
            "BIDI_STREAMING"
        );
        assert_eq!(
            call_type("inference.GRPCInferenceService", "ModelInfer"),
            "UNARY"
        );
        let mut headers = HeaderMap::new();
        assert_eq!(status_name(&headers), "OK");
        headers.insert("grpc-status", "3".parse().expect("header"));
        assert_eq!(status_name(&headers), "INVALID_ARGUMENT");
    }
}
