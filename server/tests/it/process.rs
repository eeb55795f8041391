//! Running the real `ironflow` binary: free ports, spawning `serve`, raw HTTP/1.1 requests,
//! waiting for readiness, SIGTERM and the exit status with stderr.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `ironflow serve <model_dir>`, to add options to and run.
pub fn serve_command(model_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ironflow"));
    command.arg("serve").arg(model_dir);
    command
}

/// `ironflow serve <model_dir>` on `127.0.0.1` with free HTTP, gRPC and metrics ports; returns
/// the command and its HTTP port.
pub fn serve_on_free_ports(model_dir: &Path) -> (Command, u16) {
    let port = free_port();
    let mut command = serve_command(model_dir);
    command.args([
        "--host",
        "127.0.0.1",
        "--http-port",
        &port.to_string(),
        "--grpc-port",
        &free_port().to_string(),
        "--metrics-port",
        &free_port().to_string(),
    ]);
    (command, port)
}

/// One HTTP/1.1 request with an empty body on a fresh connection to `127.0.0.1:port`; the whole
/// reply (status line, headers, body), or `None` when nothing accepts the connection.
pub fn http_request(port: u16, method: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    Some(reply)
}

/// Polls `GET path` until it answers 200; fails the test after `limit`.
pub fn wait_for_200(port: u16, path: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !http_request(port, "GET", path).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "server not ready in {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success());
}

/// Waits for `child` to exit; its exit status and everything it wrote to its piped stderr.
pub fn wait_with_stderr(child: &mut Child) -> (ExitStatus, String) {
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    (status, stderr)
}

/// An empty folder under the temp dir, unique to this test process and `tag`.
pub fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ironflow-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}
