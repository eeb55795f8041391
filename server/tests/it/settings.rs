//! MLServer's `settings.json` and `model-settings.json` fields that ironflow honours (issue 4
//! part 6, docs/compat.md §1.4, §1.5), each on a running server: the server's name and version in
//! `GET /v2`, gRPC and the CloudEvents headers; `gzip_enabled`; `root_path`; `cors_settings`;
//! `metrics_endpoint: null` and `metrics_port`; `platform`, `versions`, `inputs`, `outputs` and
//! `parameters.content_type` of a model; `MLSERVER_MODEL_PLATFORM` / `MLSERVER_MODEL_CONTENT_TYPE`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ironflow_proto::inference::{ModelMetadataRequest, ServerMetadataRequest};
use serde_json::{json, Value};

use crate::harness::{
    compare_outputs, corpus, example, read_json, serve_args, GrpcServer, TestServer,
};
use crate::process::{
    free_port, http_request, serve_command, sigterm, tempdir, wait_for_200, wait_with_stderr,
};

const IRIS: &str = "iris-logreg-onnx";

/// A repository holding `settings` as its `settings.json` and the iris ONNX model as `iris`
/// (with `model_settings` as its `model-settings.json`, the model under `iris/model`).
fn repository(tag: &str, settings: Value, model_settings: Value) -> PathBuf {
    let root = tempdir(&format!("settings-{tag}"));
    std::fs::write(root.join("settings.json"), settings.to_string()).expect("write");
    std::fs::create_dir_all(root.join("iris")).expect("mkdir");
    let mut model_settings = model_settings;
    model_settings["name"] = json!("iris");
    model_settings["parameters"]["uri"] = json!("./model");
    std::fs::write(
        root.join("iris/model-settings.json"),
        model_settings.to_string(),
    )
    .expect("write");
    let model = example(IRIS).join("model").canonicalize().expect("model");
    std::os::unix::fs::symlink(model, root.join("iris/model")).expect("symlink");
    root
}

async fn serve(root: &Path) -> TestServer {
    TestServer::start(root, "iris").await
}

fn iris_request() -> Value {
    read_json(&example(IRIS).join("request.json"))
}

/// The iris request with a 600-byte id, which the answer echoes: an answer big enough
/// (>= 500 bytes) to be compressed.
fn big_iris_request() -> Value {
    let mut request = iris_request();
    request["id"] = json!("r".repeat(600));
    request
}

async fn get_json(server: &TestServer, path: &str) -> Value {
    let (status, text) = server.get(path).await;
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).expect("json")
}

#[tokio::test]
async fn server_name_and_version_name_the_server_and_its_cloudevents() {
    let root = repository(
        "identity",
        json!({"server_name": "iris-server", "server_version": "1.2.3"}),
        json!({}),
    );
    let server = serve(&root).await;
    let meta = get_json(&server, "/v2").await;
    assert_eq!(meta["name"], "iris-server");
    assert_eq!(meta["version"], "1.2.3");
    let response = server
        .client
        .post(format!("{}/v2/models/iris/infer", server.base))
        .header("content-type", "application/json")
        .body(iris_request().to_string())
        .send()
        .await
        .expect("infer");
    assert_eq!(response.status(), 200);
    let source = response.headers()["ce-source"].to_str().expect("ascii");
    assert!(
        source == "io.seldon.serving.deployment.iris-server"
            || source.starts_with("io.seldon.serving.deployment.iris-server."),
        "{source}"
    );
    assert_eq!(response.headers()["ce-inferenceservicename"], "iris-server");

    let grpc = GrpcServer::start(&serve_args(&[root.as_os_str()])).await;
    let meta = grpc
        .client
        .clone()
        .server_metadata(ServerMetadataRequest {})
        .await
        .expect("server metadata")
        .into_inner();
    assert_eq!(
        (meta.name.as_str(), meta.version.as_str()),
        ("iris-server", "1.2.3")
    );

    // Without them: ironflow's own name in /v2, MLServer's default in the CloudEvents.
    let plain = repository("identity-default", json!({}), json!({}));
    let server = serve(&plain).await;
    let meta = get_json(&server, "/v2").await;
    assert_eq!(meta["name"], "ironflow");
    assert_eq!(meta["version"], env!("CARGO_PKG_VERSION"));
    let response = server
        .client
        .post(format!("{}/v2/models/iris/infer", server.base))
        .body(iris_request().to_string())
        .send()
        .await
        .expect("infer");
    assert_eq!(response.headers()["ce-inferenceservicename"], "mlserver");
    for dir in [root, plain] {
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

#[tokio::test]
async fn gzip_enabled_false_leaves_responses_uncompressed() {
    let on = repository("gzip-on", json!({}), json!({}));
    let off = repository("gzip-off", json!({"gzip_enabled": false}), json!({}));
    for (root, compressed) in [(&on, true), (&off, false)] {
        let server = serve(root).await;
        let response = server
            .client
            .get(format!("{}/v2/models/iris", server.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("metadata");
        assert_eq!(response.status(), 200);
        let encoded = response.headers().get("content-encoding").is_some();
        let bytes = response.bytes().await.expect("body");
        let size = if encoded {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .expect("gunzip");
            text.len()
        } else {
            bytes.len()
        };
        // MLServer's GZipMiddleware(minimum_size=500): only bodies of 500 bytes or more.
        assert_eq!(encoded, compressed && size >= 500, "{size} bytes");
        // A gzipped request body is still read.
        let response = server
            .client
            .post(format!("{}/v2/models/iris/infer", server.base))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("accept-encoding", "gzip")
            .body(gzip(big_iris_request().to_string().as_bytes()))
            .send()
            .await
            .expect("infer");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers().get("content-encoding").is_some(),
            compressed
        );
        if !compressed {
            let got: Value = response.json().await.expect("json");
            compare_outputs(&got, &read_json(&example(IRIS).join("expected.json")))
                .expect("outputs");
        }
        // A plain body with `Accept-Encoding` (what HTTP client libraries send by default) takes
        // the inference fast path: gzipped as the router would, same answer.
        let response = server
            .client
            .post(format!("{}/v2/models/iris/infer", server.base))
            .header("content-type", "application/json")
            .header("accept-encoding", "gzip, deflate")
            .body(big_iris_request().to_string())
            .send()
            .await
            .expect("infer");
        assert_eq!(response.status(), 200);
        let encoding = response.headers().get("content-encoding").cloned();
        assert_eq!(encoding.is_some(), compressed, "{:?}", response.headers());
        assert_eq!(response.headers().get("vary").is_some(), compressed);
        let bytes = response.bytes().await.expect("body");
        let text = if compressed {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .expect("gunzip");
            text
        } else {
            String::from_utf8(bytes.to_vec()).expect("utf-8")
        };
        let got: Value = serde_json::from_str(&text).expect("json");
        compare_outputs(&got, &read_json(&example(IRIS).join("expected.json"))).expect("outputs");
    }
    for dir in [on, off] {
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

/// Bodies under 500 bytes go out plain even to a client accepting gzip (MLServer's
/// `GZipMiddleware(minimum_size=500)`; tritonclient's aio client reads error bodies without
/// inflating them): error bodies, on the fast path and through the router.
#[tokio::test]
async fn small_bodies_are_not_compressed() {
    let root = repository("gzip-small", json!({}), json!({}));
    let server = serve(&root).await;
    let send = |path: &str, body: String| {
        server
            .client
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .header("accept-encoding", "gzip")
            .body(body)
            .send()
    };
    let bad_input =
        json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]});
    for (path, body, status) in [
        ("/v2/models/iris/infer", bad_input.to_string(), 400),
        ("/v2/models/nope/infer", iris_request().to_string(), 404),
        ("/v2/models/iris/infer", "{".to_owned(), 400),
        ("/invocations", "[".to_owned(), 400),
    ] {
        let response = send(path, body).await.expect("send");
        assert_eq!(response.status(), status, "{path}");
        assert!(
            response.headers().get("content-encoding").is_none(),
            "{path}: {:?}",
            response.headers()
        );
        let bytes = response.bytes().await.expect("body");
        assert!(bytes.len() < 500, "{path}");
        let _: Value = serde_json::from_slice(&bytes).expect("plain JSON");
    }
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn root_path_serves_the_api_under_the_prefix_and_without_it() {
    let root = repository("root-path", json!({"root_path": "/seldon/ns/"}), json!({}));
    let server = serve(&root).await;
    for prefix in ["/seldon/ns", ""] {
        let meta = get_json(&server, &format!("{prefix}/v2/models/iris")).await;
        assert_eq!(meta["name"], "iris");
        let (status, _) = server.get(&format!("{prefix}/v2/health/ready")).await;
        assert_eq!(status, 200, "{prefix}");
        let (status, text) = server
            .post(
                &format!("{prefix}/v2/models/iris/infer"),
                iris_request().to_string(),
            )
            .await;
        assert_eq!(status, 200, "{prefix}: {text}");
        let got: Value = serde_json::from_str(&text).expect("json");
        compare_outputs(&got, &read_json(&example(IRIS).join("expected.json"))).expect("outputs");
        let (status, text) = server
            .post(&format!("{prefix}/v2/models/iris"), "{}".to_owned())
            .await;
        assert_eq!(status, 405, "{prefix}: {text}");
    }
    let (status, text) = server.get("/seldon/ns/v2/nope").await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("/seldon/ns/v2/nope"), "{text}");
    let (status, _) = server.get("/elsewhere/v2/models/iris").await;
    assert_eq!(status, 404);
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn cors_settings_answer_preflights_for_allowed_origins_only() {
    let root = repository(
        "cors",
        json!({"cors_settings": {
            "allow_origins": ["https://ui.example"],
            "allow_methods": ["GET", "POST"],
            "allow_headers": ["x-request-id"],
            "expose_headers": ["ce-id"],
            "max_age": 120
        }}),
        json!({}),
    );
    let server = serve(&root).await;
    let url = format!("{}/v2/models/iris/infer", server.base);
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://ui.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "x-request-id, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 200);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://ui.example");
    let methods = h["access-control-allow-methods"].to_str().expect("ascii");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = h["access-control-allow-headers"].to_str().expect("ascii");
    assert!(
        headers.contains("x-request-id") && headers.contains("content-type"),
        "{headers}"
    );
    assert_eq!(h["access-control-max-age"], "120");

    let response = server
        .client
        .post(&url)
        .header("origin", "https://ui.example")
        .body(iris_request().to_string())
        .send()
        .await
        .expect("infer");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://ui.example"
    );
    assert_eq!(response.headers()["access-control-expose-headers"], "ce-id");

    let other = server
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Without cors_settings there is no CORS at all, as in MLServer.
    let plain = repository("cors-off", json!({}), json!({}));
    let server = serve(&plain).await;
    let response = server
        .client
        .get(format!("{}/v2/models/iris", server.base))
        .header("origin", "https://ui.example")
        .send()
        .await
        .expect("metadata");
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    for dir in [root, plain] {
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

/// As MLServer's MLflow runtime (`_sync_metadata`): `platform` and `versions` always apply; a
/// model with a signature keeps the signature's inputs, outputs and content type.
#[tokio::test]
async fn model_settings_platform_and_versions_apply_but_the_signature_wins() {
    let settings = json!({
        "platform": "onnx",
        "versions": ["a", "b"],
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]}],
        "parameters": {"content_type": "pd"}
    });
    let root = repository("metadata", json!({}), settings);
    let server = serve(&root).await;
    let meta = get_json(&server, "/v2/models/iris").await;
    let plain = TestServer::start(&example(IRIS).join("model"), "iris").await;
    let signature_meta = get_json(&plain, "/v2/models/iris").await;
    assert_eq!(meta["platform"], "onnx");
    assert_eq!(meta["versions"], json!(["a", "b"]));
    for field in ["inputs", "outputs", "parameters"] {
        assert_eq!(meta[field], signature_meta[field], "{field}");
    }
    // The signature's content type (not the settings' pd) decodes requests.
    let (status, text) = server
        .post("/v2/models/iris/infer", iris_request().to_string())
        .await;
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).expect("json");
    compare_outputs(&got, &read_json(&example(IRIS).join("expected.json"))).expect("outputs");

    let grpc = GrpcServer::start(&serve_args(&[root.as_os_str()])).await;
    let meta = grpc
        .client
        .clone()
        .model_metadata(ModelMetadataRequest {
            name: "iris".into(),
            version: String::new(),
        })
        .await
        .expect("model metadata")
        .into_inner();
    assert_eq!(meta.platform, "onnx");
    assert_eq!(meta.versions, ["a", "b"]);
    assert_eq!(meta.inputs[0].name, "float_input");
    std::fs::remove_dir_all(root).expect("cleanup");
}

/// A model logged without a signature takes `inputs`, `outputs` and `parameters.content_type`
/// from its `model-settings.json`; the content type then decodes requests that name none.
#[tokio::test]
async fn model_settings_describe_a_model_without_signature() {
    let case = corpus("sk-no-signature-new");
    let root = tempdir("settings-no-signature");
    std::fs::create_dir_all(root.join("wine")).expect("mkdir");
    std::fs::write(
        root.join("wine/model-settings.json"),
        json!({
            "name": "wine",
            "inputs": [{"name": "alcohol", "datatype": "FP64", "shape": [-1, 1]}],
            "outputs": [{"name": "output-1", "datatype": "INT64", "shape": [-1, 1]}],
            "parameters": {"uri": "./model", "content_type": "pd"}
        })
        .to_string(),
    )
    .expect("write");
    let model = case.join("model").canonicalize().expect("model");
    std::os::unix::fs::symlink(model, root.join("wine/model")).expect("symlink");
    let server = TestServer::start(&root, "wine").await;
    let meta = get_json(&server, "/v2/models/wine").await;
    assert_eq!(
        meta["inputs"],
        json!([{"name": "alcohol", "datatype": "FP64", "shape": [-1, 1], "parameters": {}}])
    );
    assert_eq!(meta["outputs"][0]["name"], "output-1");
    assert_eq!(meta["parameters"]["content_type"], "pd");
    // The corpus request without its content type: the settings' pd decodes it.
    let mut request = read_json(&case.join("request.json"));
    if let Some(p) = request.get_mut("parameters").and_then(Value::as_object_mut) {
        p.remove("content_type");
    }
    let (status, text) = server
        .post("/v2/models/wine/infer", request.to_string())
        .await;
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).expect("json");
    compare_outputs(&got, &read_json(&case.join("expected.json"))).expect("outputs");
    std::fs::remove_dir_all(root).expect("cleanup");
}

/// The real binary: `metrics_endpoint: null` leaves the metrics port closed (the HTTP port's
/// `/metrics` stays); a path and `metrics_port` move it. A single model folder with
/// `settings.json` beside `MLmodel`, and its platform from the environment.
#[test]
fn metrics_endpoint_null_closes_the_metrics_port() {
    let model = example(IRIS).join("model").canonicalize().expect("model");
    for (tag, endpoint) in [
        ("metrics-null", Value::Null),
        ("metrics-prom", json!("/prom")),
    ] {
        let dir = tempdir(tag);
        for entry in std::fs::read_dir(&model).expect("model dir") {
            let entry = entry.expect("entry");
            // Copied, not symlinked: files linked from outside the model folder are refused (issue 17).
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
        let metrics_port = free_port();
        std::fs::write(
            dir.join("settings.json"),
            json!({"metrics_endpoint": endpoint, "metrics_port": metrics_port}).to_string(),
        )
        .expect("write");
        let port = free_port();
        let mut child = serve_command(&dir)
            .args(["--host", "127.0.0.1", "--http-port", &port.to_string()])
            .args(["--grpc-port", &free_port().to_string(), "--name", "iris"])
            .env("MLSERVER_MODEL_PLATFORM", "onnx-env")
            // Ignored: the model has a signature, whose content type wins (as in MLServer).
            .env("MLSERVER_MODEL_CONTENT_TYPE", "np")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        wait_for_200(port, "/v2/health/ready", Duration::from_secs(30));
        let on_http = http_request(port, "GET", "/metrics");
        let metadata = http_request(port, "GET", "/v2/models/iris");
        let on_metrics = http_request(metrics_port, "GET", "/prom");
        // Stop the server before asserting, so a failure leaves no process behind.
        sigterm(&child);
        let (status, stderr) = wait_with_stderr(&mut child);
        let on_http = on_http.expect("http port");
        assert!(on_http.starts_with("HTTP/1.1 200"), "{on_http}");
        let metadata = metadata.expect("metadata");
        assert!(metadata.contains(r#""platform":"onnx-env""#), "{metadata}");
        // The signature's content type, not the environment's np.
        assert!(
            metadata.ends_with(r#""parameters":{"content_type":"dict"}}"#),
            "{metadata}"
        );
        assert_eq!(status.code(), Some(0), "{stderr}");
        if endpoint.is_null() {
            assert!(on_metrics.is_none(), "{on_metrics:?}");
            assert!(stderr.contains("no metrics server"), "{stderr}");
        } else {
            let reply = on_metrics.expect("metrics port");
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        }
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

/// The real binary: `debug` and `use_structured_logging` in a single model's `settings.json`
/// make the log JSON lines, debug ones included.
#[test]
fn debug_and_structured_logging_shape_the_log() {
    let model = example(IRIS).join("model").canonicalize().expect("model");
    let dir = tempdir("structured-logging");
    for entry in std::fs::read_dir(&model).expect("model dir") {
        let entry = entry.expect("entry");
        // Copied, not symlinked: files linked from outside the model folder are refused (issue 17).
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
    }
    std::fs::write(
        dir.join("settings.json"),
        json!({"debug": true, "use_structured_logging": true}).to_string(),
    )
    .expect("write");
    let port = free_port();
    let mut child = serve_command(&dir)
        .args(["--host", "127.0.0.1", "--http-port", &port.to_string()])
        .args(["--grpc-port", &free_port().to_string()])
        .args(["--metrics-port", &free_port().to_string(), "--name", "iris"])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_200(port, "/v2/models/iris/ready", Duration::from_secs(30));
    sigterm(&child);
    let (status, stderr) = wait_with_stderr(&mut child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "model loaded"),
        "{stderr}"
    );
    assert!(lines.iter().any(|l| l["level"] == "DEBUG"), "{stderr}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}
