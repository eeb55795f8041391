//! The `ironflow` binary itself: `serve` exits non-zero with one clear message on a model that
//! cannot load, and exits 0 after SIGTERM.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::example;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn a_model_that_cannot_load_exits_non_zero_naming_the_file() {
    let dir = tempdir("broken");
    std::fs::write(
        dir.join("MLmodel"),
        "flavors:\n  onnx:\n    data: model.onnx\n",
    )
    .expect("write");
    std::fs::write(dir.join("model.onnx"), b"\x08\x07\x12\x04trunc").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ironflow"))
        .args([
            "serve",
            dir.to_str().expect("utf8"),
            "--http-port",
            &free_port().to_string(),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.onnx"), "{stderr}");

    let missing = Command::new(env!("CARGO_BIN_EXE_ironflow"))
        .args(["serve", "/nonexistent/model"])
        .output()
        .expect("run");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("MLmodel"));
}

#[test]
fn sigterm_stops_the_server_with_exit_0() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ironflow"))
        .args([
            "serve",
            example("iris-logreg-onnx")
                .join("model")
                .to_str()
                .expect("utf8"),
        ])
        .env("MLSERVER_HTTP_PORT", port.to_string())
        .env("MLSERVER_GRPC_PORT", free_port().to_string())
        .env("MLSERVER_METRICS_PORT", free_port().to_string())
        .env("MLSERVER_MODEL_NAME", "iris")
        .env("MLSERVER_HOST", "127.0.0.1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("127.0.0.1:{port}");
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&url) {
            use std::io::Write;
            let _ = stream.write_all(
                b"GET /v2/models/iris/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server not ready in 30s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(stderr.contains("model loaded"), "{stderr}");
}

/// KServe without a storageUri: `MLSERVER_LOAD_MODELS_AT_STARTUP=false` and a model folder that
/// does not exist yet. The server starts ready with no model; a model put there later loads
/// through the repository API.
#[test]
fn without_loading_at_startup_a_missing_model_dir_still_serves() {
    let dir = tempdir("lazy").join("models");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ironflow"))
        .args([
            "serve",
            dir.to_str().expect("utf8"),
            "--host",
            "127.0.0.1",
            "--http-port",
            &port.to_string(),
            "--grpc-port",
            &free_port().to_string(),
            "--metrics-port",
            &free_port().to_string(),
        ])
        .env("MLSERVER_LOAD_MODELS_AT_STARTUP", "false")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let url = format!("127.0.0.1:{port}");
    let request = |method: &str, path: &str| -> Option<String> {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(&url).ok()?;
        let _ = write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        Some(reply)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if request("GET", "/v2/health/ready").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            break;
        }
        assert!(Instant::now() < deadline, "server not ready in 30s");
        std::thread::sleep(Duration::from_millis(20));
    }
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

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success());
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let _ = std::fs::remove_dir_all(dir.parent().expect("parent"));
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ironflow-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}
