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
