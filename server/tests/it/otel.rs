//! OpenTelemetry (issue 20): `ironflow serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an
//! in-process OTLP/gRPC receiver (opentelemetry-proto's TraceService) sends the model's `load`
//! span and, per inference, `inference` with `decode`, `queue`/`predict` and `encode` children,
//! all in the trace of the request's W3C `traceparent`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio_stream::wrappers::TcpListenerStream;

use crate::harness::{corpus, read_json};
use crate::process::{serve_on_free_ports, sigterm, wait_for_200, wait_with_stderr};

/// Collects every span exported to it.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().expect("lock");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_in_the_requests_trace() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let otlp_port = listener.local_addr().expect("addr").port();
    let service = TraceServiceServer::new(receiver.clone());
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    let case = corpus("sk-rf-classifier-new");
    let (mut command, port) = serve_on_free_ports(&case.join("model"));
    let mut child = command
        .env("MLSERVER_MODEL_NAME", "m")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp_port}"),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let body = read_json(&case.join("request.json")).to_string();
    let answer = tokio::task::spawn_blocking(move || {
        wait_for_200(port, "/v2/models/m/ready", Duration::from_secs(30));
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            stream,
            "POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             traceparent: 00-{TRACE_ID}-00f067aa0ba902b7-01\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    })
    .await
    .expect("request");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    sigterm(&child);
    let (status, stderr) = tokio::task::spawn_blocking(move || wait_with_stderr(&mut child))
        .await
        .expect("wait");
    assert_eq!(status.code(), Some(0), "{stderr}");

    // The exporter flushes at exit; give the receiver a moment to record the last batch.
    let mut spans = Vec::new();
    for _ in 0..50 {
        spans = receiver.0.lock().expect("lock").clone();
        if spans.iter().any(|s| s.name == "encode") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.abort();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for expected in ["load", "inference", "decode", "predict", "encode"] {
        assert!(names.contains(&expected), "no {expected} span in {names:?}");
    }
    let hex = |id: &[u8]| id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let inference = spans
        .iter()
        .find(|s| s.name == "inference")
        .expect("inference span");
    assert_eq!(hex(&inference.trace_id), TRACE_ID);
    assert_eq!(hex(&inference.parent_span_id), "00f067aa0ba902b7");
    for child in ["decode", "predict", "encode"] {
        let span = spans.iter().find(|s| s.name == child).expect("span");
        assert_eq!(hex(&span.trace_id), TRACE_ID, "{child}");
    }
    let load = spans.iter().find(|s| s.name == "load").expect("load");
    assert_ne!(hex(&load.trace_id), TRACE_ID, "a load is its own trace");
}
