//! A model repository (issue 4 part 6): a folder of real models (one with `model-settings.json`,
//! one bare MLflow folder, one broken), served over REST and gRPC: the index and its states,
//! inference on each model, unload and load again, and repository calls while another model is
//! being queried.

use std::path::{Path, PathBuf};

use ironflow_proto::health::health_check_response::ServingStatus;
use ironflow_proto::health::health_client::HealthClient;
use ironflow_proto::health::HealthCheckRequest;
use ironflow_proto::inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use ironflow_proto::inference::{
    ModelInferRequest, ModelReadyRequest, RepositoryIndexRequest, RepositoryModelLoadRequest,
    RepositoryModelUnloadRequest, ServerReadyRequest,
};
use serde_json::{json, Value};
use tonic::transport::Channel;
use tonic::Code;

use crate::harness::{
    compare_outputs, corpus, example, proto_request, read_json, serve_args, GrpcServer, TestServer,
};

/// `iris` (model-settings.json, version 1, an ONNX model), `logreg` (a bare sklearn MLflow
/// folder) and `broken` (an MLmodel whose ONNX file is truncated).
fn build_repository(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("ironflow-repo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("iris")).expect("mkdir");
    std::fs::write(
        root.join("iris/model-settings.json"),
        json!({
            "name": "iris",
            "implementation": "mlserver_mlflow.MLflowRuntime",
            "parameters": {"uri": "./model", "version": "1"}
        })
        .to_string(),
    )
    .expect("write");
    link(
        &example("iris-logreg-onnx").join("model"),
        &root.join("iris/model"),
    );
    link(
        &corpus("sk-logreg-multiclass-new").join("model"),
        &root.join("logreg"),
    );
    std::fs::create_dir_all(root.join("broken")).expect("mkdir");
    std::fs::write(
        root.join("broken/MLmodel"),
        "flavors:\n  onnx:\n    data: model.onnx\n",
    )
    .expect("write");
    std::fs::write(root.join("broken/model.onnx"), b"\x08\x07\x12\x04trunc").expect("write");
    root
}

fn link(target: &Path, at: &Path) {
    let target = target.canonicalize().expect("model fixture");
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

fn iris_request() -> Value {
    read_json(&example("iris-logreg-onnx").join("request.json"))
}

fn logreg_request() -> Value {
    read_json(&corpus("sk-logreg-multiclass-new").join("request.json"))
}

async fn index(s: &TestServer, body: &str) -> Vec<Value> {
    let (status, text) = s.post("/v2/repository/index", body.to_owned()).await;
    assert_eq!(status, 200, "{text}");
    let value: Value = serde_json::from_str(&text).expect("json");
    value.as_array().expect("array").clone()
}

fn entry<'a>(index: &'a [Value], name: &str) -> &'a Value {
    index
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {index:?}"))
}

async fn infer_ok(s: &TestServer, model: &str, request: &Value, expected: &Path) {
    let (status, text) = s
        .post(&format!("/v2/models/{model}/infer"), request.to_string())
        .await;
    assert_eq!(status, 200, "{model}: {text}");
    let got: Value = serde_json::from_str(&text).expect("json");
    compare_outputs(&got, &read_json(expected)).unwrap_or_else(|e| panic!("{model}: {e}"));
}

#[tokio::test]
async fn index_states_inference_unload_and_load_again() {
    let root = build_repository("rest");
    let s = TestServer::start(&root, "iris").await;
    let iris_expected = example("iris-logreg-onnx").join("expected.json");
    let logreg_expected = corpus("sk-logreg-multiclass-new").join("expected.json");

    // The broken model does not hold the server's readiness down; the others serve.
    assert_eq!(
        s.get("/v2/health/ready").await,
        (200, r#"{"ready":true}"#.to_owned())
    );
    let all = index(&s, "{}").await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(
        entry(&all, "iris"),
        &json!({"name": "iris", "version": "1", "state": "READY", "reason": ""})
    );
    // No version: the key is left out, as MLServer answers.
    assert_eq!(
        entry(&all, "logreg"),
        &json!({"name": "logreg", "state": "READY", "reason": ""})
    );
    let broken = entry(&all, "broken");
    assert_eq!(broken["state"], "UNAVAILABLE");
    assert!(
        broken["reason"]
            .as_str()
            .expect("reason")
            .contains("model.onnx"),
        "{broken}"
    );
    let ready = index(&s, r#"{"ready": true}"#).await;
    let mut names: Vec<&str> = ready
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["iris", "logreg"]);
    assert_eq!(index(&s, "").await.len(), 3);

    infer_ok(&s, "iris", &iris_request(), &iris_expected).await;
    infer_ok(&s, "logreg", &logreg_request(), &logreg_expected).await;
    let (status, text) = s
        .post(
            "/v2/models/iris/versions/1/infer",
            iris_request().to_string(),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(s.get("/v2/models/iris/versions/1/ready").await.0, 200);

    // The broken model: known, not ready, with the reason.
    assert_eq!(
        s.get("/v2/models/broken/ready").await,
        (400, r#"{"name":"broken","ready":false}"#.to_owned())
    );
    let (status, text) = s
        .post("/v2/models/broken/infer", iris_request().to_string())
        .await;
    assert_eq!(status, 503, "{text}");
    let error: Value = serde_json::from_str(&text).expect("json");
    let message = error["error"].as_str().expect("error");
    assert!(
        message.starts_with("Model broken is not ready (UNAVAILABLE: ")
            && message.contains("model.onnx"),
        "{message}"
    );
    let (status, text) = s.post("/v2/repository/models/broken/load", "").await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("Model broken failed to load") && text.contains("model.onnx"),
        "{text}"
    );
    assert_eq!(
        entry(&index(&s, "{}").await, "broken")["state"],
        "UNAVAILABLE"
    );

    // Unload: gone as in MLServer (404 on ready and infer, UNAVAILABLE with no reason).
    assert_eq!(
        s.post("/v2/repository/models/logreg/unload", "").await,
        (200, String::new())
    );
    let not_found = (404, r#"{"error":"Model logreg not found"}"#.to_owned());
    assert_eq!(s.get("/v2/models/logreg/ready").await, not_found);
    assert_eq!(
        s.post("/v2/models/logreg/infer", logreg_request().to_string())
            .await,
        not_found
    );
    assert_eq!(
        entry(&index(&s, "{}").await, "logreg"),
        &json!({"name": "logreg", "state": "UNAVAILABLE", "reason": ""})
    );
    assert_eq!(
        s.post("/v2/repository/models/logreg/unload", "").await,
        not_found
    );
    // The other models are untouched.
    infer_ok(&s, "iris", &iris_request(), &iris_expected).await;

    // Load again: read from disk, READY, serving the same answers.
    assert_eq!(
        s.post("/v2/repository/models/logreg/load", "").await,
        (200, String::new())
    );
    assert_eq!(
        s.get("/v2/models/logreg/ready").await,
        (200, r#"{"name":"logreg","ready":true}"#.to_owned())
    );
    infer_ok(&s, "logreg", &logreg_request(), &logreg_expected).await;
    assert_eq!(entry(&index(&s, "{}").await, "logreg")["state"], "READY");
    // Loading a READY model reloads it; it keeps answering.
    assert_eq!(
        s.post("/v2/repository/models/iris/load", "").await,
        (200, String::new())
    );
    infer_ok(&s, "iris", &iris_request(), &iris_expected).await;

    assert_eq!(
        s.post("/v2/repository/models/nosuchmodel/load", "").await,
        (404, r#"{"error":"Model nosuchmodel not found"}"#.to_owned())
    );
    let (status, text) = s.post("/v2/repository/index", "{\"ready\": 3}").await;
    assert_eq!(status, 400, "{text}");
    drop(s);
    std::fs::remove_dir_all(&root).expect("cleanup");
}

#[tokio::test]
async fn repository_calls_while_another_model_is_queried() {
    let root = build_repository("busy");
    let s = std::sync::Arc::new(TestServer::start(&root, "iris").await);
    let expected = example("iris-logreg-onnx").join("expected.json");
    let queries = {
        let s = s.clone();
        tokio::spawn(async move {
            for _ in 0..60 {
                infer_ok(&s, "iris", &iris_request(), &expected).await;
            }
        })
    };
    for _ in 0..5 {
        assert_eq!(
            s.post("/v2/repository/models/logreg/unload", "").await,
            (200, String::new())
        );
        assert_eq!(index(&s, "{}").await.len(), 3);
        assert_eq!(
            s.post("/v2/repository/models/logreg/load", "").await,
            (200, String::new())
        );
        let (status, _) = s.post("/v2/repository/models/broken/load", "").await;
        assert_eq!(status, 400);
    }
    queries.await.expect("every query to iris succeeded");
    assert_eq!(entry(&index(&s, "{}").await, "logreg")["state"], "READY");
    std::fs::remove_dir_all(&root).expect("cleanup");
}

#[tokio::test]
async fn settings_json_can_turn_loading_at_startup_off() {
    let root = build_repository("lazy");
    std::fs::write(
        root.join("settings.json"),
        r#"{"load_models_at_startup": false, "parallel_workers": 0}"#,
    )
    .expect("write");
    let s = TestServer::start(&root, "iris").await;
    assert_eq!(s.get("/v2/health/ready").await.0, 200);
    let all = index(&s, "{}").await;
    assert!(
        all.iter()
            .all(|e| e["state"] == "UNAVAILABLE" && e["reason"] == ""),
        "{all:?}"
    );
    assert_eq!(s.get("/v2/models/iris/ready").await.0, 404);
    assert_eq!(
        s.post("/v2/repository/models/iris/load", "").await,
        (200, String::new())
    );
    infer_ok(
        &s,
        "iris",
        &iris_request(),
        &example("iris-logreg-onnx").join("expected.json"),
    )
    .await;
    std::fs::remove_dir_all(&root).expect("cleanup");
}

/// The server's readiness over gRPC: `ServerReady`, checked to agree with the health service.
async fn grpc_ready(server: &GrpcServer) -> bool {
    let ready = server
        .client
        .clone()
        .server_ready(ServerReadyRequest {})
        .await
        .expect("ready")
        .into_inner()
        .ready;
    let status = HealthClient::new(server.channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("health")
        .into_inner()
        .status;
    let serving = if ready {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    assert_eq!(status, serving as i32);
    ready
}

#[tokio::test]
async fn readiness_waits_for_the_startup_models() {
    let root = build_repository("startup");
    let args = serve_args(&[root.as_os_str()]);
    let (state, startup) = ironflow_server::prepare_state(&args)
        .await
        .expect("prepare");
    assert_eq!(startup.models.len(), 3);
    assert!(!startup.single);
    let rest = TestServer::serve(state.clone(), "logreg").await;
    let grpc = GrpcServer::serve(state.clone(), 64 * 1024 * 1024).await;

    // The ports are open, the models are not loaded yet: not ready anywhere.
    assert_eq!(rest.get("/v2/health/ready").await.0, 400);
    assert!(!grpc_ready(&grpc).await);

    startup
        .run(state.clone())
        .await
        .expect("a repository settles even with a broken model");
    assert_eq!(rest.get("/v2/health/ready").await.0, 200);
    assert_eq!(rest.get("/v2/models/logreg/ready").await.0, 200);
    assert!(grpc_ready(&grpc).await);

    // Shutdown begins: readiness false everywhere, models still answer.
    state.readiness().set_stopping();
    assert_eq!(rest.get("/v2/health/ready").await.0, 400);
    assert_eq!(rest.get("/v2/models/logreg/ready").await.0, 200);
    assert!(!grpc_ready(&grpc).await);
    drop((rest, grpc));
    std::fs::remove_dir_all(&root).expect("cleanup");
}

/// The iris `request.json` as a gRPC request.
fn grpc_iris_request() -> ModelInferRequest {
    proto_request("iris", &iris_request())
}

async fn grpc_index(
    c: &mut GrpcInferenceServiceClient<Channel>,
    ready: bool,
) -> Vec<(String, String, String, bool)> {
    let mut models: Vec<_> = c
        .repository_index(RepositoryIndexRequest {
            ready,
            ..Default::default()
        })
        .await
        .expect("index")
        .into_inner()
        .models
        .into_iter()
        .map(|m| (m.name, m.version, m.state, m.reason.is_empty()))
        .collect();
    models.sort();
    models
}

#[tokio::test]
async fn the_same_over_grpc() {
    let root = build_repository("grpc");
    let server = GrpcServer::start(&serve_args(&[
        root.as_os_str(),
        "--inference-threads".as_ref(),
        "2".as_ref(),
    ]))
    .await;
    let mut c = server.client.clone();
    let expected = read_json(&example("iris-logreg-onnx").join("expected.json"));

    assert!(grpc_ready(&server).await);
    let s = |x: &str| x.to_owned();
    assert_eq!(
        grpc_index(&mut c, false).await,
        vec![
            (s("broken"), s(""), s("UNAVAILABLE"), false),
            (s("iris"), s("1"), s("READY"), true),
            (s("logreg"), s(""), s("READY"), true),
        ]
    );
    assert_eq!(grpc_index(&mut c, true).await.len(), 2);

    let answer = c
        .model_infer(grpc_iris_request())
        .await
        .expect("infer")
        .into_inner();
    assert_eq!(answer.model_version, "1");
    let names: Vec<&str> = answer.outputs.iter().map(|o| o.name.as_str()).collect();
    let expected_names: Vec<&str> = expected["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| {
            o.as_object().expect("output")["name"]
                .as_str()
                .expect("name")
        })
        .collect();
    assert_eq!(names, expected_names);

    let ready = |name: &str| ModelReadyRequest {
        name: name.to_owned(),
        version: String::new(),
    };
    assert!(
        !c.model_ready(ready("broken"))
            .await
            .expect("ready")
            .into_inner()
            .ready
    );
    let err = c
        .model_infer(ModelInferRequest {
            model_name: "broken".to_owned(),
            ..grpc_iris_request()
        })
        .await
        .expect_err("broken");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("not ready (UNAVAILABLE"), "{err:?}");

    let unload = |name: &str| RepositoryModelUnloadRequest {
        model_name: name.to_owned(),
        ..Default::default()
    };
    let load = |name: &str| RepositoryModelLoadRequest {
        model_name: name.to_owned(),
        ..Default::default()
    };
    // Repository calls while iris is queried: every query succeeds.
    let queries = {
        let mut c = c.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                c.model_infer(grpc_iris_request())
                    .await
                    .expect("infer iris");
            }
        })
    };
    for _ in 0..4 {
        c.repository_model_unload(unload("logreg"))
            .await
            .expect("unload");
        let err = c.model_ready(ready("logreg")).await.expect_err("unloaded");
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(err.message(), "Model logreg not found");
        assert!(grpc_index(&mut c, false).await.contains(&(
            s("logreg"),
            s(""),
            s("UNAVAILABLE"),
            true
        )));
        c.repository_model_load(load("logreg")).await.expect("load");
        assert!(
            c.model_ready(ready("logreg"))
                .await
                .expect("ready")
                .into_inner()
                .ready
        );
    }
    queries.await.expect("every query to iris succeeded");

    let err = c.repository_model_unload(unload("logreg")).await;
    assert!(err.is_ok());
    let err = c
        .repository_model_unload(unload("logreg"))
        .await
        .expect_err("twice");
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .repository_model_load(load("nosuchmodel"))
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .repository_model_load(load("broken"))
        .await
        .expect_err("broken");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("model.onnx"), "{err:?}");
    // KServe's proto puts model_name in field 1 (our repository_name): still understood, and
    // the answer carries KServe's `model_name` (1) and `isLoaded` (2).
    let loaded = c
        .repository_model_load(RepositoryModelLoadRequest {
            repository_name: "logreg".to_owned(),
            model_name: String::new(),
        })
        .await
        .expect("load by field 1")
        .into_inner();
    assert_eq!(
        (loaded.model_name.as_str(), loaded.is_loaded),
        ("logreg", true)
    );
    assert!(
        c.model_ready(ready("logreg"))
            .await
            .expect("ready")
            .into_inner()
            .ready
    );
    std::fs::remove_dir_all(&root).expect("cleanup");
}

/// MLServer's second gRPC service, `inference.model_repository.ModelRepositoryService`, answers
/// the same index, load and unload as `inference.GRPCInferenceService`.
#[tokio::test]
async fn mlserver_model_repository_service() {
    use ironflow_proto::inference::model_repository::model_repository_service_client::ModelRepositoryServiceClient;

    let root = build_repository("grpc-model-repository");
    let server = GrpcServer::start(&serve_args(&[root.as_os_str()])).await;
    let mut inference = server.client.clone();
    let mut repo = ModelRepositoryServiceClient::new(server.channel.clone());
    assert!(grpc_ready(&server).await);

    let index = |models: Vec<ironflow_proto::inference::repository_index_response::ModelIndex>| {
        let mut v: Vec<(String, String)> = models.into_iter().map(|m| (m.name, m.state)).collect();
        v.sort();
        v
    };
    let s = |x: &str| x.to_owned();
    let all = repo
        .repository_index(RepositoryIndexRequest::default())
        .await
        .expect("index")
        .into_inner()
        .models;
    assert_eq!(
        index(all),
        vec![
            (s("broken"), s("UNAVAILABLE")),
            (s("iris"), s("READY")),
            (s("logreg"), s("READY")),
        ]
    );
    let unloaded = repo
        .repository_model_unload(RepositoryModelUnloadRequest {
            model_name: s("logreg"),
            ..Default::default()
        })
        .await
        .expect("unload")
        .into_inner();
    assert_eq!(
        (unloaded.model_name.as_str(), unloaded.is_unloaded),
        ("logreg", true)
    );
    let ready = ModelReadyRequest {
        name: s("logreg"),
        version: String::new(),
    };
    let err = inference
        .model_ready(ready.clone())
        .await
        .expect_err("unloaded");
    assert_eq!(err.code(), Code::NotFound);
    repo.repository_model_load(RepositoryModelLoadRequest {
        model_name: s("logreg"),
        ..Default::default()
    })
    .await
    .expect("load");
    assert!(
        inference
            .model_ready(ready)
            .await
            .expect("ready")
            .into_inner()
            .ready
    );
    let err = repo
        .repository_model_load(RepositoryModelLoadRequest {
            model_name: s("nosuchmodel"),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
    std::fs::remove_dir_all(&root).expect("cleanup");
}
