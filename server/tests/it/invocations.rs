//! The MLflow scoring endpoints (`/invocations`, `/ping`, `/health`, `/version`), CloudEvents
//! headers and gzip on the REST port.

use std::io::{Read, Write};

use serde_json::{json, Value};

use crate::harness::{corpus, read_json, TestServer};

const LOGREG: &str = "sk-logreg-multiclass-new";

/// POSTs `body` with a content type (and extra headers); returns status, headers and body.
async fn post_as(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", content_type)
        .body(body);
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    let r = request.send().await.expect("post");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// The corpus case's columns (name, values) from its v2 request.json.
fn columns(case: &str) -> Vec<(String, Vec<Value>)> {
    let request = read_json(&corpus(case).join("request.json"));
    request["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_owned(),
                i["data"].as_array().expect("data").clone(),
            )
        })
        .collect()
}

fn expected_outputs(case: &str) -> Vec<Value> {
    read_json(&corpus(case).join("expected.json"))["outputs"]
        .as_array()
        .expect("outputs")
        .clone()
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
        other => panic!("not a number: {other}"),
    }
}

fn assert_close(got: &Value, expected: &Value) {
    let (g, e) = (flat(got), flat(expected));
    assert_eq!(g.len(), e.len(), "{got} vs {expected}");
    for (a, b) in g.iter().zip(&e) {
        assert!(
            (a - b).abs() <= 1e-4 + 1e-4 * b.abs(),
            "{got} vs {expected}"
        );
    }
}

#[tokio::test]
async fn every_json_form_and_csv_match_the_expected_predictions() {
    let server = TestServer::start(&corpus(LOGREG).join("model"), "logreg").await;
    let cols = columns(LOGREG);
    let expected = expected_outputs(LOGREG)[0]["data"].clone();
    let rows = cols[0].1.len();
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let row = |r: usize| -> Vec<Value> { cols.iter().map(|(_, v)| v[r].clone()).collect() };
    let record = |r: usize| -> Value {
        Value::Object(
            cols.iter()
                .map(|(n, v)| (n.clone(), v[r].clone()))
                .collect(),
        )
    };
    let split = json!({"dataframe_split": {"columns": names, "data": (0..rows).map(row).collect::<Vec<_>>()}});
    let records = json!({"dataframe_records": (0..rows).map(record).collect::<Vec<_>>()});
    let instances = json!({"instances": (0..rows).map(record).collect::<Vec<_>>()});
    let inputs = json!({"inputs": Value::Object(cols.iter().map(|(n, v)| (n.clone(), Value::Array(v.clone()))).collect())});
    for body in [split, records, instances, inputs] {
        for ct in ["application/json", "application/json; charset=utf-8"] {
            let (status, _, bytes) =
                post_as(&server, "/invocations", ct, body.to_string(), &[]).await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            assert_eq!(
                json_of(&bytes),
                json!({ "predictions": expected }),
                "{body}"
            );
        }
    }
    let mut csv = names.join(",") + "\n";
    for r in 0..rows {
        let cells: Vec<String> = row(r).iter().map(Value::to_string).collect();
        csv += &(cells.join(",") + "\n");
    }
    let (status, _, bytes) = post_as(&server, "/invocations", "text/csv", csv, &[]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(json_of(&bytes), json!({ "predictions": expected }));
}

#[tokio::test]
async fn onnx_models_answer_a_dict_of_outputs() {
    let case = "onnx-two-inputs-two-outputs-new";
    let server = TestServer::start(&corpus(case).join("model"), "two").await;
    let request = read_json(&corpus(case).join("request.json"));
    let mut inputs = serde_json::Map::new();
    for input in request["inputs"].as_array().expect("inputs") {
        let data = input["data"].as_array().expect("data").clone();
        let value = match input["shape"].as_array().map(Vec::len) {
            Some(2) => {
                let width = input["shape"][1].as_u64().expect("width") as usize;
                Value::Array(
                    data.chunks(width)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                )
            }
            _ => Value::Array(data),
        };
        inputs.insert(input["name"].as_str().expect("name").to_owned(), value);
    }
    let (status, _, bytes) = post_as(
        &server,
        "/invocations",
        "application/json",
        json!({ "inputs": inputs }).to_string(),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let got = json_of(&bytes);
    for output in expected_outputs(case) {
        let name = output["name"].as_str().expect("name");
        assert_close(&got["predictions"][name], &output["data"]);
    }
    assert!(
        got["predictions"]["logits"][0].is_array(),
        "2-D as lists: {got}"
    );

    let case = "onnx-mlp-new";
    let server = TestServer::start(&corpus(case).join("model"), "mlp").await;
    let request = read_json(&corpus(case).join("request.json"));
    let data = request["inputs"][0]["data"]
        .as_array()
        .expect("data")
        .clone();
    let rows: Vec<Value> = data.chunks(30).map(|c| Value::Array(c.to_vec())).collect();
    let (status, _, bytes) = post_as(
        &server,
        "/invocations",
        "application/json",
        json!({ "instances": rows }).to_string(),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let got = json_of(&bytes);
    assert_close(
        &got["predictions"]["probabilities"],
        &expected_outputs(case)[0]["data"],
    );
}

#[tokio::test]
async fn bad_requests_are_400_with_an_error() {
    let server = TestServer::start(&corpus(LOGREG).join("model"), "logreg-bad").await;
    let wrong_column = json!({"dataframe_split": {
        "columns": ["foo", "sepal_width_cm", "petal_length_cm", "petal_width_cm"],
        "data": [[5.1, 3.5, 1.4, 0.2]]}});
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "text/plain",
            "hello".into(),
            "only supports the following content types",
        ),
        (
            "application/json; charset=latin-1",
            "{}".into(),
            "only supports",
        ),
        ("application/json", "{".into(), "Invalid input"),
        (
            "application/json",
            r#"{"foo": [[1, 2]]}"#.into(),
            "exactly one of",
        ),
        ("application/json", "[[1, 2]]".into(), "exactly one of"),
        (
            "application/json",
            wrong_column.to_string(),
            "sepal_length_cm",
        ),
        ("text/csv", "a,b\n1\n".into(), "CSV row"),
    ];
    for (ct, body, needle) in cases {
        let (status, _, bytes) = post_as(&server, "/invocations", ct, body.clone(), &[]).await;
        assert_eq!(
            status,
            400,
            "{ct} {body}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let error = json_of(&bytes)["error"].as_str().expect("error").to_owned();
        assert!(error.contains(needle), "{ct} {body}: {error}");
    }
}

#[tokio::test]
async fn ping_health_and_version() {
    let server = TestServer::start(&corpus(LOGREG).join("model"), "logreg-ping").await;
    for path in ["/ping", "/health"] {
        assert_eq!(server.get(path).await, (200, "\"\\n\"".to_owned()));
    }
    assert_eq!(server.get("/version").await, (200, "\"3.17.2\"".to_owned()));
}

#[tokio::test]
async fn v2_inference_responses_carry_cloudevents_headers() {
    let server = TestServer::start(&corpus(LOGREG).join("model"), "logreg-ce").await;
    let mut request = read_json(&corpus(LOGREG).join("request.json"));
    request["id"] = json!("req-42");
    let (status, headers, bytes) = post_as(
        &server,
        "/v2/models/logreg-ce/infer",
        "application/json",
        request.to_string(),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let h = |k: &str| {
        headers
            .get(k)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    assert_eq!(h("ce-id").as_deref(), Some("req-42"));
    assert_eq!(h("ce-requestid").as_deref(), Some("req-42"));
    assert_eq!(h("ce-specversion").as_deref(), Some("0.3"));
    assert_eq!(
        h("ce-type").as_deref(),
        Some("io.seldon.serving.inference.response")
    );
    assert_eq!(h("ce-modelid").as_deref(), Some("logreg-ce"));
    assert_eq!(h("ce-endpoint").as_deref(), Some("logreg-ce"));
    assert!(h("ce-source").is_some_and(|s| s.starts_with("io.seldon.serving.deployment.")));
    assert!(h("ce-inferenceservicename").is_some());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

#[tokio::test]
async fn gzip_requests_and_responses() {
    let server = TestServer::start_with(&corpus(LOGREG).join("model"), "logreg-gz", |a| {
        a.max_body_bytes = 1024 * 1024;
    })
    .await;
    let mut request = read_json(&corpus(LOGREG).join("request.json"));
    // A long id (echoed in the answer) makes the answer big enough to be compressed (>= 500).
    request["id"] = Value::from("r".repeat(600));
    let (status, headers, bytes) = post_as(
        &server,
        "/v2/models/logreg-gz/infer",
        "application/json",
        gzip(request.to_string().as_bytes()),
        &[("content-encoding", "gzip"), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        headers.get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("gunzip");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        body["outputs"][0]["data"],
        expected_outputs(LOGREG)[0]["data"]
    );

    // 8 MiB of zeros compress to a few KiB: the limit applies to the decompressed size.
    let bomb = gzip(&vec![b' '; 8 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024);
    let (status, _, bytes) = post_as(
        &server,
        "/invocations",
        "application/json",
        bomb,
        &[("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&bytes));
    assert!(json_of(&bytes)["error"].is_string());
}

/// MLflow's bare `NaN`, `Infinity` and `-Infinity` tokens are read (MLflow writes them in
/// `serving_input_example.json` and its scoring server accepts them): the model's own example
/// (with `NaN` cells) answers as the same body with `null`s, and the infinities as the largest
/// finite floats do for a tree model (both fall past every threshold).
#[tokio::test]
async fn mlflow_nonfinite_tokens_are_read() {
    let dir = corpus("sk-hgb-classifier-new");
    let server = TestServer::start(&dir.join("model"), "hgb").await;
    let example = std::fs::read_to_string(dir.join("model/serving_input_example.json"))
        .expect("serving_input_example.json");
    assert!(example.contains("NaN"), "the example has NaN cells");
    let answer = |body: String| {
        let server = &server;
        async move {
            let (status, _, bytes) =
                post_as(server, "/invocations", "application/json", body, &[]).await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            json_of(&bytes)["predictions"].clone()
        }
    };
    let with_nan = answer(example.clone()).await;
    let with_null = answer(example.replace("NaN", "null")).await;
    assert_eq!(with_nan, with_null);
    let infinite = r#"{"dataframe_split": {"columns": ["f0","f1","f2","f3","f4","f5","f6","f7"],
        "data": [[Infinity, -Infinity, 0.5, NaN, -Infinity, Infinity, 0.0, 1.0]]}}"#;
    let finite = infinite
        .replace("-Infinity", "-1.7976931348623157e308")
        .replace("Infinity", "1.7976931348623157e308")
        .replace("NaN", "null");
    assert_eq!(answer(infinite.to_owned()).await, answer(finite).await);
    // A token inside a string is a string: a float column rejects it as MLflow's would.
    let quoted = r#"{"dataframe_split": {"columns": ["f0","f1","f2","f3","f4","f5","f6","f7"],
        "data": [["not NaN", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]}}"#;
    let (status, _, _) = post_as(
        &server,
        "/invocations",
        "application/json",
        quoted.to_owned(),
        &[],
    )
    .await;
    assert_eq!(status, 400);
}

/// Issue 14's seed case: optional (`"required": false`) columns left out and `null` cells in
/// columns of each type, answered as MLflow 3.17's own scoring server answered each body
/// (`examples/enforcement/generate_nulls.py`): same status class, same predictions.
#[tokio::test]
async fn optional_columns_and_nulls_answer_as_mlflow_does() {
    let dir = corpus("../enforcement/optional-nulls");
    let fixture = read_json(&dir.join("cases.json"));
    let server = TestServer::start(&dir.join("model"), "nulls").await;
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10, "{fixture}");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let body = serde_json::to_vec(&case["body"]).expect("body");
        let (status, _, bytes) =
            post_as(&server, "/invocations", "application/json", body, &[]).await;
        let want = case["status"].as_u64().unwrap_or_default();
        let ok = if want == 200 {
            status == 200 && json_of(&bytes)["predictions"] == case["predictions"]
        } else {
            (400..500).contains(&status)
        };
        if !ok {
            failures.push(format!(
                "{name}: MLflow {want} {}, ironflow {status} {}",
                case["predictions"],
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
