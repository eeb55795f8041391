//! Bad requests get a 4xx with `{"error": "..."}` naming the problem, and the server keeps
//! answering correctly afterwards.

use serde_json::{json, Value};

use crate::harness::{compare_outputs, corpus, read_json, TestServer};

const TWO_INPUTS: &str = "onnx-two-inputs-two-outputs-new";

async fn server() -> TestServer {
    TestServer::start(&corpus(TWO_INPUTS).join("model"), "two").await
}

fn error_of(status: u16, body: &str) -> (u16, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field: {body}"));
    (status, msg.to_owned())
}

async fn post_infer(s: &TestServer, body: impl Into<reqwest::Body>) -> (u16, String) {
    let (status, text) = s.post("/v2/models/two/infer", body).await;
    error_of(status, &text)
}

fn valid() -> Value {
    json!({"inputs": [
        {"name": "dense", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6, 7, 8]},
        {"name": "category", "shape": [2], "datatype": "INT64", "data": [0, 1]}
    ]})
}

async fn assert_still_serves(s: &TestServer) {
    let case = corpus(TWO_INPUTS);
    let (status, got) = s.infer(&read_json(&case.join("request.json"))).await;
    assert_eq!(status, 200, "{got}");
    compare_outputs(&got, &read_json(&case.join("expected.json"))).expect("same outputs");
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let s = server().await;
    for (body, needle) in [
        ("{\"inputs\": [", "EOF"),
        ("", "empty"),
        ("{\"foo\": 1}", "inputs"),
        ("[1, 2]", "invalid request body"),
        ("{\"inputs\": [{\"name\": \"dense\"}]}", "shape"),
    ] {
        let (status, msg) = post_infer(&s, body).await;
        assert_eq!(status, 400, "{body}: {msg}");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    assert_still_serves(&s).await;
}

#[tokio::test]
async fn input_errors_are_400_naming_the_input() {
    let s = server().await;
    let mut cases: Vec<(Value, &str, &str)> = vec![];

    let mut unknown = valid();
    unknown["inputs"][0]["name"] = json!("densy");
    cases.push((unknown, "densy", "unknown input"));

    let mut missing = valid();
    missing["inputs"].as_array_mut().expect("inputs").remove(1);
    cases.push((missing, "category", "missing input"));

    let mut bad_datatype = valid();
    bad_datatype["inputs"][1]["datatype"] = json!("FP32");
    cases.push((bad_datatype, "category", "datatype FP32"));

    let mut strings = valid();
    strings["inputs"][0]["data"] = json!(["a", "b", "c", "d", "e", "f", "g", "h"]);
    cases.push((strings, "dense", "expected a number"));

    let mut unknown_datatype = valid();
    unknown_datatype["inputs"][0]["datatype"] = json!("FLOAT32");
    cases.push((unknown_datatype, "dense", "unknown datatype"));

    let mut too_many = valid();
    too_many["inputs"][0]["shape"] = json!([3, 4]);
    cases.push((too_many, "dense", "needs 12 elements"));

    let mut wrong_width = valid();
    wrong_width["inputs"][0]["shape"] = json!([4, 2]);
    cases.push((wrong_width, "dense", "shape [4, 2]"));

    let mut rows = valid();
    rows["inputs"][1]["shape"] = json!([1]);
    rows["inputs"][1]["data"] = json!([1]);
    cases.push((rows, "category", "rows"));

    let mut negative = valid();
    negative["inputs"][0]["shape"] = json!([-2, 4]);
    cases.push((negative, "dense", "negative"));

    let mut duplicate = valid();
    let first = duplicate["inputs"][0].clone();
    duplicate["inputs"]
        .as_array_mut()
        .expect("inputs")
        .push(first);
    cases.push((duplicate, "dense", "more than once"));

    for (body, name, needle) in cases {
        let (status, msg) = post_infer(&s, body.to_string()).await;
        assert_eq!(status, 400, "{body}: {msg}");
        assert!(msg.contains(name), "{msg} should name {name}");
        assert!(msg.contains(needle), "{msg} should say {needle}");
    }
    assert_still_serves(&s).await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let s = TestServer::start_with(&corpus(TWO_INPUTS).join("model"), "two", |a| {
        a.max_body_bytes = 1024
    })
    .await;
    let big = json!({"inputs": [{"name": "dense", "shape": [500, 4], "datatype": "FP32",
                                  "data": vec![0.5f32; 2000]}]});
    let (status, msg) = post_infer(&s, big.to_string()).await;
    assert_eq!(status, 413, "{msg}");
    assert!(msg.contains("1024"), "{msg}");
    let (status, _) = s.infer(&valid()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_methods_and_paths_get_json_errors() {
    let s = server().await;
    let (status, body) = s.get("/v2/models/two/infer").await;
    assert_eq!(error_of(status, &body).0, 405);
    let (status, body) = s.get("/v3/nothing").await;
    assert_eq!(error_of(status, &body).0, 404);
}

#[tokio::test]
async fn concurrent_requests_share_one_plan() {
    let s = server().await;
    let case = corpus(TWO_INPUTS);
    let request = read_json(&case.join("request.json"));
    let expected = read_json(&case.join("expected.json"));
    let mut tasks = vec![];
    for i in 0..32 {
        let body = if i % 4 == 0 {
            json!({"inputs": []})
        } else {
            request.clone()
        };
        let client = s.client.clone();
        let url = format!("{}/v2/models/two/infer", s.base);
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .body(body.to_string())
                .send()
                .await
                .expect("send");
            (
                i,
                r.status().as_u16(),
                r.json::<Value>().await.expect("json"),
            )
        }));
    }
    for t in tasks {
        let (i, status, got) = t.await.expect("task");
        if i % 4 == 0 {
            assert_eq!(status, 400, "{got}");
        } else {
            assert_eq!(status, 200, "{got}");
            compare_outputs(&got, &expected).expect("same outputs");
        }
    }
}

/// A single-input ONNX model given one input under a name it does not take answers that the
/// input is unknown (naming what it takes), not about shapes (issue 16).
#[tokio::test]
async fn a_single_input_model_names_an_unknown_input() {
    let dir = crate::harness::example("iris-logreg-onnx");
    let s = TestServer::start(&dir.join("model"), "iris").await;
    let body = json!({"inputs": [
        {"name": "nope", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}
    ]});
    let (status, text) = s.post("/v2/models/iris/infer", body.to_string()).await;
    let (status, message) = error_of(status, &text);
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("unknown input \"nope\""), "{message}");
    assert!(message.contains("float_input"), "{message}");
}
