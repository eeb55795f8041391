//! Prometheus metrics under MLServer's names, on the HTTP port and the metrics port.

use serde_json::json;

use crate::harness::{corpus, read_json, TestServer};

/// The value of the sample whose line starts with `prefix` (0 when absent).
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn counters_increase_on_both_ports() {
    let model = "metrics-logreg";
    let server = TestServer::start(&corpus("sk-logreg-multiclass-new").join("model"), model).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics_base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        ironflow_server::metrics::serve_on(listener, "/metrics", async {
            let _ = stopped.await;
        })
        .await
    });
    let scrape = |base: String| {
        let client = server.client.clone();
        async move {
            let r = client
                .get(format!("{base}/metrics"))
                .send()
                .await
                .expect("scrape");
            assert_eq!(r.status().as_u16(), 200);
            assert!(r.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/plain"));
            r.text().await.expect("text")
        }
    };
    let success =
        format!("model_infer_request_success_total{{model=\"{model}\",version=\"None\"}}");
    let failure =
        format!("model_infer_request_failure_total{{model=\"{model}\",version=\"None\"}}");
    let rest_ok = "rest_server_requests_total{app_name=\"mlserver\",method=\"POST\",path=\"/v2/models/{model_name}/infer\",status_code=\"200\"}";
    let before = scrape(server.base.clone()).await;

    let request = read_json(&corpus("sk-logreg-multiclass-new").join("request.json"));
    let (status, _) = server.infer(&request).await;
    assert_eq!(status, 200);
    let (status, _) = server
        .infer(
            &json!({"inputs": [{"name": "nope", "shape": [1], "datatype": "FP64", "data": [1.0]}]}),
        )
        .await;
    assert_eq!(status, 400);

    for base in [server.base.clone(), metrics_base.clone()] {
        let after = scrape(base.clone()).await;
        assert_eq!(
            sample(&after, &success),
            sample(&before, &success) + 1.0,
            "{base}\n{after}"
        );
        assert_eq!(
            sample(&after, &failure),
            sample(&before, &failure) + 1.0,
            "{base}\n{after}"
        );
        assert!(sample(&after, rest_ok) >= 1.0, "{after}");
        for family in [
            "# TYPE model_infer_request_duration summary",
            "# TYPE rest_server_request_duration_seconds histogram",
            "# TYPE rest_server_requests_in_progress gauge",
        ] {
            assert!(after.contains(family), "{family} missing:\n{after}");
        }
        // Route templates, never raw paths.
        assert!(
            !after.contains(&format!("/v2/models/{model}/infer")),
            "{after}"
        );
    }
    let _ = stop.send(());
}

/// gRPC calls count into py-grpc-prometheus's families, as MLServer's gRPC server exposes them.
#[tokio::test]
async fn grpc_calls_are_counted_by_method_and_code() {
    use crate::harness::{proto_request, serve_args, GrpcServer};
    use ironflow_proto::inference::ServerLiveRequest;

    let dir = corpus("sk-logreg-multiclass-new");
    let server = GrpcServer::start(&serve_args(&[dir.join("model").as_os_str()])).await;
    let labels = |method: &str| {
        format!("grpc_method=\"{method}\",grpc_service=\"inference.GRPCInferenceService\",grpc_type=\"UNARY\"")
    };
    let before = ironflow_server::metrics::render();
    let started = |text: &str| {
        sample(
            text,
            &format!("grpc_server_started_total{{{}}}", labels("ModelInfer")),
        )
    };
    let handled = |text: &str, code: &str| {
        sample(
            text,
            &format!(
                "grpc_server_handled_total{{grpc_code=\"{code}\",{}}}",
                labels("ModelInfer")
            ),
        )
    };
    let mut client = server.client.clone();
    let request = proto_request("model", &read_json(&dir.join("request.json")));
    client.model_infer(request.clone()).await.expect("infer");
    let mut bad = request;
    bad.model_name = "nosuchmodel".to_owned();
    client.model_infer(bad).await.expect_err("unknown model");
    client
        .server_live(ServerLiveRequest {})
        .await
        .expect("live");
    let after = ironflow_server::metrics::render();
    // Other tests share the process-wide registry: compare counts, at least ours were added.
    assert!(started(&after) >= started(&before) + 2.0, "{after}");
    assert!(
        handled(&after, "OK") >= handled(&before, "OK") + 1.0,
        "{after}"
    );
    assert!(
        handled(&after, "NOT_FOUND") >= handled(&before, "NOT_FOUND") + 1.0,
        "{after}"
    );
    assert!(after.contains("# TYPE grpc_server_handling_seconds histogram"));
    assert!(after.contains(&format!(
        "grpc_server_handling_seconds_count{{{}}}",
        labels("ServerLive")
    )));
}
