//! The `ironflow` binary itself: `serve` exits non-zero with one clear message on a model that
//! cannot load, and exits 0 after SIGTERM.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::example;
use crate::process::{
    free_port, http_request, serve_command, serve_on_free_ports, sigterm, tempdir, wait_for_200,
    wait_with_stderr,
};

#[test]
fn a_model_that_cannot_load_exits_non_zero_naming_the_file() {
    let dir = tempdir("broken");
    std::fs::write(
        dir.join("MLmodel"),
        "flavors:\n  onnx:\n    data: model.onnx\n",
    )
    .expect("write");
    std::fs::write(dir.join("model.onnx"), b"\x08\x07\x12\x04trunc").expect("write");
    let out = serve_command(&dir)
        .args(["--http-port", &free_port().to_string()])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.onnx"), "{stderr}");

    let missing = serve_command(Path::new("/nonexistent/model"))
        .output()
        .expect("run");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("MLmodel"));
}

#[test]
fn sigterm_stops_the_server_with_exit_0() {
    let port = free_port();
    let mut child = serve_command(&example("iris-logreg-onnx").join("model"))
        .env("MLSERVER_HTTP_PORT", port.to_string())
        .env("MLSERVER_GRPC_PORT", free_port().to_string())
        .env("MLSERVER_METRICS_PORT", free_port().to_string())
        .env("MLSERVER_MODEL_NAME", "iris")
        .env("MLSERVER_HOST", "127.0.0.1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_200(port, "/v2/models/iris/ready", Duration::from_secs(30));
    sigterm(&child);
    let (status, stderr) = wait_with_stderr(&mut child);
    assert_eq!(status.code(), Some(0));
    assert!(stderr.contains("model loaded"), "{stderr}");
}

/// KServe without a storageUri: `MLSERVER_LOAD_MODELS_AT_STARTUP=false` and a model folder that
/// does not exist yet. The server starts ready with no model; a model put there later loads
/// through the repository API.
#[test]
fn without_loading_at_startup_a_missing_model_dir_still_serves() {
    let dir = tempdir("lazy").join("models");
    let (mut command, port) = serve_on_free_ports(&dir);
    let mut child = command
        .env("MLSERVER_LOAD_MODELS_AT_STARTUP", "false")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let request = |method: &str, path: &str| http_request(port, method, path);
    wait_for_200(port, "/v2/health/ready", Duration::from_secs(30));
    let index = request("POST", "/v2/repository/index").expect("index");
    assert!(
        index.starts_with("HTTP/1.1 200") && index.ends_with("[]"),
        "{index}"
    );

    let model = dir.join("iris");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::os::unix::fs::symlink(
        example("iris-logreg-onnx")
            .join("model")
            .canonicalize()
            .expect("fixture"),
        &model,
    )
    .expect("symlink");
    let loaded = request("POST", "/v2/repository/models/iris/load").expect("load");
    assert!(loaded.starts_with("HTTP/1.1 200"), "{loaded}");
    let ready = request("GET", "/v2/models/iris/ready").expect("ready");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");

    sigterm(&child);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let _ = std::fs::remove_dir_all(dir.parent().expect("parent"));
}
