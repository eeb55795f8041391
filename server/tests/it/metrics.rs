//! Prometheus metrics under MLServer's names, on the HTTP port and the metrics port.

use serde_json::{json, Value};

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

/// Every transport counts its inferences in the same model metrics (recorded once, in the
/// pipeline, as MLServer counts in its data plane): the REST fast path, REST through the router
/// (a gzip body), the event stream, gRPC `ModelInfer` and MLflow's `/invocations` each add one
/// to `model_infer_request_success_total`, and a bad request of each one to the failures.
#[tokio::test]
async fn every_transport_counts_model_inferences() {
    use std::ffi::OsStr;
    use std::io::Write;

    use crate::harness::{proto_request, serve_args, GrpcServer};

    let model = "metrics-transports";
    let dir = corpus("sk-logreg-multiclass-new");
    let model_dir = dir.join("model");
    let args = serve_args(&[
        model_dir.as_os_str(),
        OsStr::new("--name"),
        OsStr::new(model),
    ]);
    let state = ironflow_server::load_state(&args).await.expect("load");
    let rest = crate::harness::TestServer::serve(state.clone(), model).await;
    let grpc = GrpcServer::serve(state, 64 * 1024 * 1024).await;
    let success =
        format!("model_infer_request_success_total{{model=\"{model}\",version=\"None\"}}");
    let failure =
        format!("model_infer_request_failure_total{{model=\"{model}\",version=\"None\"}}");
    let counts = || {
        let text = ironflow_server::metrics::render();
        (sample(&text, &success), sample(&text, &failure))
    };
    let request = read_json(&dir.join("request.json"));
    let bad =
        json!({"inputs": [{"name": "nope", "shape": [1], "datatype": "FP64", "data": [1.0]}]});
    // The same rows as an MLflow `dataframe_split` body.
    let inputs = request["inputs"].as_array().expect("inputs");
    let columns: Vec<&Value> = inputs.iter().map(|i| &i["name"]).collect();
    let rows = inputs[0]["data"].as_array().expect("data").len();
    let data: Vec<Vec<Value>> = (0..rows)
        .map(|r| inputs.iter().map(|i| i["data"][r].clone()).collect())
        .collect();
    let split = json!({"dataframe_split": {"columns": columns, "data": data}});
    let gzip = |bytes: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).expect("gzip");
        enc.finish().expect("gzip")
    };
    let post = |path: &str, body: Vec<u8>, gzipped: bool| {
        let mut builder = rest
            .client
            .post(format!("{}{path}", rest.base))
            .header("content-type", "application/json");
        if gzipped {
            builder = builder.header("content-encoding", "gzip");
        }
        async move {
            builder
                .body(body)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    let infer = format!("/v2/models/{model}/infer");
    let stream = format!("/v2/models/{model}/infer_stream");
    let ok = request.to_string().into_bytes();
    let no = bad.to_string().into_bytes();
    let mut client = grpc.client.clone();
    // Each transport in turn, counting before and after.
    let check = |what: &str, before: (f64, f64), after: (f64, f64), failed: f64| {
        assert_eq!(after.0, before.0 + 1.0, "{what}: successes");
        assert_eq!(after.1, before.1 + failed, "{what}: failures");
    };
    for (what, path, gzipped) in [
        ("REST fast path", infer.as_str(), false),
        ("REST router", infer.as_str(), true),
        ("REST stream", stream.as_str(), false),
    ] {
        let before = counts();
        let body = |b: &Vec<u8>| if gzipped { gzip(b) } else { b.clone() };
        assert_eq!(post(path, body(&ok), gzipped).await, 200, "{what}");
        assert_eq!(post(path, body(&no), gzipped).await, 400, "{what}");
        check(what, before, counts(), 1.0);
    }
    let before = counts();
    assert_eq!(
        post("/invocations", split.to_string().into_bytes(), false).await,
        200
    );
    assert_eq!(
        post("/invocations", b"{\"inputs\": 1}".to_vec(), false).await,
        400
    );
    check("/invocations", before, counts(), 1.0);
    // KServe v1: a body that does not decode is a failure too (issue 19).
    let v1 = format!("/v1/models/{model}:predict");
    let instances: Vec<Value> = data.iter().map(|row| json!(row)).collect();
    let before = counts();
    assert_eq!(
        post(
            &v1,
            json!({"instances": instances}).to_string().into_bytes(),
            false
        )
        .await,
        200
    );
    for bad in [
        &b"not json"[..],
        b"{\"instances\": 1}",
        b"{\"instances\": []}",
    ] {
        assert_eq!(post(&v1, bad.to_vec(), false).await, 400);
    }
    check("KServe v1", before, counts(), 3.0);
    let before = counts();
    let mut good = proto_request(model, &request);
    good.model_name = model.to_owned();
    client.model_infer(good.clone()).await.expect("gRPC infer");
    let mut wrong = good;
    wrong.inputs.truncate(1);
    client
        .model_infer(wrong)
        .await
        .expect_err("gRPC missing inputs");
    check("gRPC ModelInfer", before, counts(), 1.0);
}
