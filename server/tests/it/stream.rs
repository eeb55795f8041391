//! MLServer's other inference paths: `/generate` (the infer handler under another name) and
//! `/infer_stream` / `/generate_stream` (Server-Sent Events), plus the docs page.

use serde_json::Value;

use crate::harness::{compare_outputs, corpus, read_json, TestServer};

const CASE: &str = "sk-logreg-multiclass-new";

async fn server() -> (TestServer, String, Value) {
    let dir = corpus(CASE);
    let server = TestServer::start(&dir.join("model"), "m").await;
    let request = std::fs::read_to_string(dir.join("request.json")).expect("request");
    let expected = read_json(&dir.join("expected.json"));
    (server, request, expected)
}

#[tokio::test]
async fn generate_answers_as_infer() {
    let (server, request, expected) = server().await;
    for path in ["/v2/models/m/generate", "/v2/models/m/infer"] {
        let (status, body) = server.post(path, request.clone()).await;
        assert_eq!(status, 200, "{path}: {body}");
        let got: Value = serde_json::from_str(&body).expect("json");
        compare_outputs(&got, &expected).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[tokio::test]
async fn infer_stream_sends_one_event_with_the_response() {
    let (server, request, expected) = server().await;
    for path in ["/v2/models/m/infer_stream", "/v2/models/m/generate_stream"] {
        let response = server
            .client
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .body(request.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{path}"
        );
        assert!(response.headers().contains_key("ce-id"), "{path}");
        let body = response.text().await.expect("body");
        let events: Vec<&str> = body.split_terminator("\n\n").collect();
        assert_eq!(events.len(), 1, "{path}: {body:?}");
        let json = events[0].strip_prefix("data: ").expect("a data event");
        let got: Value = serde_json::from_str(json).expect("event json");
        compare_outputs(&got, &expected).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[tokio::test]
async fn infer_stream_errors_are_plain_answers() {
    let (server, request, _) = server().await;
    let (status, body) = server.post("/v2/models/m/infer_stream", "{not json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with("{\"error\":"), "{body}");
    let (status, body) = server
        .post("/v2/models/nosuch/generate_stream", "{\"inputs\": []}")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body, r#"{"error":"Model nosuch not found"}"#);
    // Binary outputs cannot be streamed: a clear 400, and the model still answers.
    let mut asked: Value = serde_json::from_str(&request).expect("request");
    asked["parameters"] = serde_json::json!({"binary_data_output": true});
    let (status, body) = server
        .post("/v2/models/m/infer_stream", asked.to_string())
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("event stream"), "{body}");
    let (status, _) = server.post("/v2/models/m/infer_stream", request).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn docs_page_points_at_the_document() {
    let (server, _, _) = server().await;
    for path in ["/v2/docs", "/v2/models/m/docs"] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains("/v2/docs/dataplane.json"), "{path}: {body}");
    }
    for path in [
        "/v2/models/m/docs/dataplane.json",
        "/v2/models/m/versions/1/docs/dataplane.json",
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, 200, "{path}");
        let doc: Value = serde_json::from_str(&body).expect("json");
        assert!(doc["paths"]["/v2/models/{model_name}/infer_stream"].is_object());
    }
}
