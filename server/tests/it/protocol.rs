//! The v2 endpoints on the demo model: health, metadata, readiness, inference conventions.

use serde_json::{json, Value};

use crate::harness::{compare_outputs, example, read_json, TestServer};

const DEMO: &str = "iris-logreg-onnx";

async fn demo() -> TestServer {
    TestServer::start(&example(DEMO).join("model"), "iris").await
}

#[tokio::test]
async fn health_endpoints_answer_200_with_empty_bodies() {
    let s = demo().await;
    // The Open Inference Protocol's JSON bodies, which KServe's Python SDK reads
    // (`is_server_live`, `is_server_ready`, `is_model_ready` call `response.json()`).
    let json = |(status, text): (u16, String)| -> (u16, Value) {
        (status, serde_json::from_str(&text).expect("a JSON body"))
    };
    assert_eq!(
        json(s.get("/v2/health/live").await),
        (200, json!({"live": true}))
    );
    assert_eq!(
        json(s.get("/v2/health/ready").await),
        (200, json!({"ready": true}))
    );
    assert_eq!(
        json(s.get("/v2/models/iris/ready").await),
        (200, json!({"name": "iris", "ready": true}))
    );
}

#[tokio::test]
async fn server_metadata_names_the_server() {
    let s = demo().await;
    let (status, body) = s.get("/v2").await;
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(meta["name"], "ironflow");
    assert_eq!(meta["version"], env!("CARGO_PKG_VERSION"));
    assert!(meta["extensions"].is_array());
}

#[tokio::test]
async fn model_metadata_comes_from_the_signature_as_mlserver_builds_it() {
    let s = demo().await;
    let (status, body) = s.get("/v2/models/iris").await;
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        meta,
        json!({
            "name": "iris",
            "versions": [],
            "platform": "",
            "inputs": [{"name": "float_input", "datatype": "FP32", "shape": [-1, 4],
                        "parameters": {"content_type": "np"}}],
            "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1],
                         "parameters": {"content_type": "np"}}],
            "parameters": {"content_type": "dict"}
        })
    );
}

#[tokio::test]
async fn versioned_paths_answer_for_the_configured_version_only() {
    let s = demo().await;
    let (status, body) = s.get("/v2/models/iris/versions/1").await;
    assert_eq!(status, 404);
    assert_eq!(body, r#"{"error":"Model iris with version 1 not found"}"#);

    let v = TestServer::start_with(&example(DEMO).join("model"), "iris", |a| {
        a.model_version = Some("3".into())
    })
    .await;
    let (status, body) = v.get("/v2/models/iris/versions/3").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["versions"],
        json!(["3"])
    );
    assert_eq!(v.get("/v2/models/iris/versions/3/ready").await.0, 200);
    assert_eq!(v.get("/v2/models/iris/versions/4/ready").await.0, 404);
    let request = read_json(&example(DEMO).join("request.json"));
    let (status, text) = v
        .post("/v2/models/iris/versions/3/infer", request.to_string())
        .await;
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(got["model_version"], "3");
    compare_outputs(&got, &read_json(&example(DEMO).join("expected.json"))).expect("same outputs");
}

#[tokio::test]
async fn unknown_models_are_404_with_mlserver_messages() {
    let s = demo().await;
    for path in ["/v2/models/nosuch", "/v2/models/nosuch/ready"] {
        assert_eq!(
            s.get(path).await,
            (404, r#"{"error":"Model nosuch not found"}"#.to_string())
        );
    }
    let (status, body) = s.post("/v2/models/nosuch/infer", "{}").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn responses_follow_mlserver_conventions() {
    let s = demo().await;
    let mut request = read_json(&example(DEMO).join("request.json"));
    let (status, got) = s.infer(&request).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["model_name"], "iris");
    assert!(got.get("model_version").is_none(), "no version configured");
    assert_eq!(got["parameters"], json!({"content_type": "dict"}));
    let id = got["id"].as_str().expect("generated id");
    assert_eq!(
        uuid::Uuid::parse_str(id).expect("uuid").get_version_num(),
        4
    );
    assert_eq!(
        got["outputs"][0]["parameters"],
        json!({"content_type": "np"})
    );
    compare_outputs(&got, &read_json(&example(DEMO).join("expected.json"))).expect("same outputs");

    request["id"] = json!("req-123");
    request["parameters"] = json!({"custom": 1});
    let (_, got) = s.infer(&request).await;
    assert_eq!(got["id"], "req-123");
}

#[tokio::test]
async fn nested_data_is_accepted() {
    let s = demo().await;
    let flat = read_json(&example(DEMO).join("request.json"));
    let values: Vec<f64> = flat["inputs"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let nested: Vec<Vec<f64>> = values.chunks(4).map(<[f64]>::to_vec).collect();
    // FP32, the signature's dtype: MLflow takes a tensor spec's dtype exactly (docs/compat.md §4.4;
    // FP64 is refused, server/tests/it/codecs.rs).
    let request = json!({"inputs": [{"name": "float_input", "shape": [nested.len(), 4],
                                     "datatype": "FP32", "data": nested}]});
    let (status, got) = s.infer(&request).await;
    assert_eq!(status, 200, "{got}");
    compare_outputs(&got, &read_json(&example(DEMO).join("expected.json"))).expect("same outputs");
}

#[tokio::test]
async fn one_input_per_column_is_stacked_in_order() {
    let s = demo().await;
    let flat = read_json(&example(DEMO).join("request.json"));
    let values: Vec<f64> = flat["inputs"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let rows = values.len() / 4;
    let inputs: Vec<Value> = (0..4)
        .map(|c| {
            let col: Vec<f64> = values.iter().skip(c).step_by(4).copied().collect();
            json!({"name": format!("c{c}"), "shape": [rows, 1], "datatype": "FP32", "data": col})
        })
        .collect();
    let (status, got) = s.infer(&json!({"inputs": inputs})).await;
    assert_eq!(status, 200, "{got}");
    compare_outputs(&got, &read_json(&example(DEMO).join("expected.json"))).expect("same outputs");
}

#[tokio::test]
async fn an_empty_batch_gives_empty_outputs() {
    let s = demo().await;
    let request = json!({"inputs": [{"name": "float_input", "shape": [0, 4], "datatype": "FP32", "data": []}]});
    let (status, got) = s.infer(&request).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["outputs"][1]["shape"], json!([0, 3]));
}
