//! Predictable start-up (issue 16 item 3) and the log it writes (item 4): one model below the
//! served folder is served as that model under `--name`; a requested name that is not loaded
//! keeps readiness false and the log says why; repository mode only when asked for or when
//! there are several models; the log has no colour off a terminal, each load error once, and
//! plain numbers.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{compare_outputs, example, read_json, serve_args, TestServer};
use crate::process::{serve_on_free_ports, sigterm, tempdir, wait_for_200, wait_with_stderr};

const IRIS: &str = "iris-logreg-onnx";
const OTHER: &str = "gb-regressor-onnx";

/// `root/<at>` as a link to the fixture `case`'s MLflow model folder.
fn link_model(case: &str, root: &Path, at: &str) {
    let target = example(case).join("model").canonicalize().expect("fixture");
    let at = root.join(at);
    std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

/// KServe's common layout: the storageUri is `artifacts/`, the model is `artifacts/model/`.
fn artifacts(tag: &str) -> PathBuf {
    let root = tempdir(&format!("startup-{tag}"));
    link_model(IRIS, &root, "model");
    root
}

async fn start(args: &[&str]) -> (TestServer, bool) {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let args = serve_args(&args);
    let (state, startup) = ironflow_server::prepare_state(&args)
        .await
        .expect("prepare");
    let single = startup.single;
    startup.run(state.clone()).await.expect("startup");
    let name = args.name.clone().unwrap_or_default();
    (TestServer::serve(state, &name).await, single)
}

async fn assert_iris_answers(server: &TestServer, name: &str) {
    let request = read_json(&example(IRIS).join("request.json"));
    let (status, text) = server
        .post(&format!("/v2/models/{name}/infer"), request.to_string())
        .await;
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).expect("json");
    compare_outputs(&got, &read_json(&example(IRIS).join("expected.json"))).expect("outputs");
}

#[tokio::test]
async fn the_folder_above_one_model_serves_it_under_the_requested_name() {
    let root = artifacts("above");
    let (server, single) = start(&[root.to_str().expect("utf-8"), "--name", "iris"]).await;
    assert!(single, "one model below the folder is a single model");
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    assert_eq!(server.get("/v2/models/iris/ready").await.0, 200);
    assert_eq!(server.get("/v2/models/model/ready").await.0, 404);
    assert_iris_answers(&server, "iris").await;
    drop(server);

    // No name: the model's own folder names it.
    let (server, single) = start(&[root.to_str().expect("utf-8")]).await;
    assert!(single);
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    assert_iris_answers(&server, "model").await;
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn repository_mode_when_asked_for_names_its_own_models() {
    let root = artifacts("asked");
    let path = root.to_str().expect("utf-8");
    let (server, single) = start(&[path, "--repository", "--name", "iris"]).await;
    assert!(!single);
    // The repository names its model `model`; the requested `iris` is not waited for (KServe
    // passes the InferenceService's name to a repository too).
    assert_eq!(server.get("/v2/models/model/ready").await.0, 200);
    assert_eq!(server.get("/v2/models/iris/ready").await.0, 404);
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    assert_iris_answers(&server, "model").await;
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn several_models_are_a_repository_ready_only_with_the_requested_one() {
    let root = tempdir("startup-several");
    link_model(IRIS, &root, "iris");
    link_model(OTHER, &root, "gbr");
    let path = root.to_str().expect("utf-8");

    let (server, single) = start(&[path, "--name", "iris"]).await;
    assert!(!single);
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    assert_eq!(server.get("/v2/models/gbr/ready").await.0, 200);
    assert_iris_answers(&server, "iris").await;
    drop(server);

    let (server, _) = start(&[path, "--name", "missing"]).await;
    assert_eq!(server.get("/v2/health/ready").await.0, 400);
    // Loading a model of that name through the repository API makes the server ready.
    link_model(IRIS, &root, "missing");
    assert_eq!(
        server
            .post("/v2/repository/models/missing/load", "")
            .await
            .0,
        200
    );
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    drop(server);

    // Without a name, a repository is ready once its models have settled.
    let (server, _) = start(&[path]).await;
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn one_model_settings_below_the_folder_is_a_single_model_and_its_name_wins() {
    let root = tempdir("startup-settings");
    link_model(IRIS, &root, "flower/model");
    std::fs::write(
        root.join("flower/model-settings.json"),
        json!({"name": "flower", "parameters": {"uri": "./model"}}).to_string(),
    )
    .expect("write");
    let path = root.to_str().expect("utf-8");
    let (server, single) = start(&[path, "--name", "flower"]).await;
    assert!(single);
    assert_eq!(server.get("/v2/health/ready").await.0, 200);
    assert_iris_answers(&server, "flower").await;
    drop(server);

    // The file names the model `flower`; `iris` is requested: served as `flower`, not ready.
    let (server, single) = start(&[path, "--name", "iris"]).await;
    assert!(single);
    assert_eq!(server.get("/v2/models/flower/ready").await.0, 200);
    assert_eq!(server.get("/v2/health/ready").await.0, 400);
    std::fs::remove_dir_all(root).expect("cleanup");
}

/// The real binary with stderr going to a file: no colour codes, and the reason readiness is
/// false is in the log; load times are plain numbers.
#[test]
fn the_log_in_a_file_says_why_not_ready_without_colour() {
    let root = tempdir("startup-log");
    link_model(IRIS, &root, "iris");
    link_model(OTHER, &root, "gbr");
    let log = root.join("stderr.log");
    let (mut command, port) = serve_on_free_ports(&root);
    let mut child = command
        .args(["--name", "wanted"])
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log file")))
        .spawn()
        .expect("spawn");
    wait_for_200(port, "/v2/models/gbr/ready", Duration::from_secs(30));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline
        && !std::fs::read_to_string(&log)
            .expect("read log")
            .contains("asks for model")
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm(&child);
    let status = child.wait().expect("wait");
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(status.success(), "{text}");
    assert!(!text.contains("\x1b["), "colour codes in a file: {text}");
    assert!(
        text.contains(r#"asks for model "wanted", which is not loaded"#),
        "{text}"
    );
    for line in text.lines().filter(|l| l.contains("model loaded")) {
        let ms = line
            .split("load_ms=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no load_ms: {line}"));
        let decimals = ms.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 2, "not a plain number: {line}");
    }
    std::fs::remove_dir_all(root).expect("cleanup");
}

/// A model that cannot load: the binary exits non-zero and the reason is in the log once.
#[test]
fn a_load_error_is_logged_once() {
    let dir = tempdir("startup-broken");
    std::fs::write(
        dir.join("MLmodel"),
        "flavors:\n  onnx:\n    data: model.onnx\n",
    )
    .expect("write");
    std::fs::write(dir.join("model.onnx"), b"\x08\x07\x12\x04trunc").expect("write");
    let (mut command, _) = serve_on_free_ports(&dir);
    let mut child = command
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (status, stderr) = wait_with_stderr(&mut child);
    assert!(!status.success());
    let mentions = stderr.lines().filter(|l| l.contains("model.onnx")).count();
    assert_eq!(mentions, 1, "{stderr}");
    assert!(!stderr.contains("\x1b["), "{stderr}");

    // MLServer's structured logging from the environment: JSON lines, the error still once.
    let (mut command, _) = serve_on_free_ports(&dir);
    let mut child = command
        .env_remove("RUST_LOG")
        .env("MLSERVER_USE_STRUCTURED_LOGGING", "true")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (status, stderr) = wait_with_stderr(&mut child);
    assert!(!status.success());
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0]["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("model.onnx")),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}
