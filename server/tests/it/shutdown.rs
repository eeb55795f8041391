//! Graceful shutdown of the real binary (issue 6 part 4): on SIGTERM readiness turns 400 while
//! requests, new ones included, are still answered during `--shutdown-delay`; requests in
//! flight when the server stops accepting complete; the process exits 0.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{example, read_json};
use crate::process::{serve_on_free_ports, sigterm, wait_for_200, wait_with_stderr};

/// The iris request with its rows repeated, so each request takes a while to decode and run.
fn big_request() -> String {
    let mut request = read_json(&example("iris-logreg-onnx").join("request.json"));
    let input = &mut request["inputs"][0];
    let row_values: Vec<Value> = input["data"].as_array().expect("data").clone();
    let copies = 2000;
    let data: Vec<Value> = (0..copies).flat_map(|_| row_values.clone()).collect();
    input["shape"] = serde_json::json!([10 * copies, 4]);
    input["data"] = Value::Array(data);
    request.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flips_readiness_keeps_serving_then_drains_and_exits_0() {
    let (mut command, port) = serve_on_free_ports(&example("iris-logreg-onnx").join("model"));
    let mut child = command
        .args([
            "--name",
            "iris",
            // Long enough that the requests below overlap it however slow the machine is.
            "--shutdown-delay",
            "3",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let base = format!("http://127.0.0.1:{port}");
    // A fresh connection per request: a refused connection then means "stopped accepting",
    // never a pooled connection closed under a request.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    tokio::task::spawn_blocking(move || {
        wait_for_200(port, "/v2/health/ready", Duration::from_secs(60))
    })
    .await
    .expect("ready");

    // A stream of slow requests, running until the server stops accepting connections.
    let body = big_request();
    let infer_url = format!("{base}/v2/models/iris/infer");
    let stream = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut answered = 0usize;
            loop {
                let sent = client
                    .post(&infer_url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.expect("a started request completes");
                        assert_eq!(status, 200, "{text}");
                        answered += 1;
                    }
                    // Refused: the server stopped accepting. (A connection the kernel queued
                    // just before the listener closed is reset instead; either way the server
                    // never took the request. That no request it took was cut is checked
                    // from its log below.)
                    Err(_) => return answered,
                }
            }
        })
    };
    // Let a few requests through, then SIGTERM.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);

    // Readiness goes 400 while the server still answers.
    let mut saw_not_ready = false;
    while let Ok(r) = client.get(format!("{base}/v2/health/ready")).send().await {
        if r.status() == 400 {
            saw_not_ready = true;
            // Liveness and inference are still served during the delay.
            let live = client
                .get(format!("{base}/v2/health/live"))
                .send()
                .await
                .expect("live during the delay");
            assert_eq!(live.status(), 200);
            break;
        }
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        saw_not_ready,
        "readiness never turned 400 before the server stopped"
    );

    let answered = stream.await.expect("every answered request got 200");
    assert!(answered > 0);
    let (status, stderr) = tokio::task::spawn_blocking(move || wait_with_stderr(&mut child))
        .await
        .expect("wait task");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("readiness is false"), "{stderr}");
    assert!(
        stderr.contains("every in-flight request finished"),
        "{stderr}"
    );
}
