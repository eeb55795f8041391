//! The binary tensor data extension on REST (docs/compat.md §3.3): binary inputs and outputs give the
//! same values as the JSON request, raw binary requests, gzip, framing errors, and the
//! `binary_tensor_data` extension in `GET /v2`.

use std::io::Write;

use serde_json::{json, Value};

use crate::harness::{compare_outputs, corpus, read_json, TestServer};

const LOGREG: &str = "sk-logreg-multiclass-new";
const OPTIONAL: &str = "sk-optional-column-new";
const TWO_INPUTS: &str = "onnx-two-inputs-two-outputs-new";
const ONNX_TENSOR: &str = "onnx-skl-logreg-zipmap-new";

/// A binary response: status, headers, the JSON part and the binary part.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
    binary: Vec<u8>,
}

async fn post_binary(
    server: &TestServer,
    header_length: Option<&str>,
    body: Vec<u8>,
    gzip: bool,
) -> Answer {
    let mut req = server
        .client
        .post(format!("{}/v2/models/{}/infer", server.base, server.name))
        .header("content-type", "application/octet-stream");
    if let Some(len) = header_length {
        req = req.header("inference-header-content-length", len);
    }
    let body = if gzip {
        req = req.header("content-encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&body).expect("gzip");
        enc.finish().expect("gzip")
    } else {
        body
    };
    let response = req.body(body).send().await.expect("post");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    let split = headers
        .get("inference-header-content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(bytes.len());
    let (json, binary) = bytes.split_at(split);
    Answer {
        status,
        headers,
        json: serde_json::from_slice(json)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(json))),
        binary: binary.to_vec(),
    }
}

/// Little-endian bytes of a JSON input's data, as its datatype stores them.
fn encode(input: &Value) -> Vec<u8> {
    let data = input["data"].as_array().expect("data");
    let mut out = Vec::new();
    for v in data {
        match input["datatype"].as_str().expect("datatype") {
            "FP64" => out.extend_from_slice(&v.as_f64().expect("f64").to_le_bytes()),
            "FP32" => out.extend_from_slice(&(v.as_f64().expect("f32") as f32).to_le_bytes()),
            "INT64" => out.extend_from_slice(&v.as_i64().expect("i64").to_le_bytes()),
            "BOOL" => out.push(u8::from(v.as_bool().expect("bool"))),
            "BYTES" => {
                let s = v.as_str().expect("str").as_bytes();
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s);
            }
            other => panic!("datatype {other}"),
        }
    }
    out
}

/// The request with every input moved to the binary part.
fn binary_request(request: &Value) -> (Vec<u8>, usize) {
    let mut header = request.clone();
    let mut binary = Vec::new();
    for input in header["inputs"].as_array_mut().expect("inputs") {
        let bytes = encode(input);
        input["parameters"]["binary_data_size"] = json!(bytes.len());
        input.as_object_mut().expect("input").remove("data");
        binary.extend_from_slice(&bytes);
    }
    let mut body = serde_json::to_vec(&header).expect("json");
    let length = body.len();
    body.extend_from_slice(&binary);
    (body, length)
}

/// The binary outputs decoded back into JSON `data`, so `compare_outputs` can check them.
fn decode_outputs(answer: &Answer) -> Value {
    let mut json = answer.json.clone();
    let mut rest = answer.binary.as_slice();
    for output in json["outputs"].as_array_mut().expect("outputs") {
        let Some(size) = output["parameters"]["binary_data_size"].as_u64() else {
            continue;
        };
        assert!(
            output.get("data").is_none(),
            "binary output with data: {output}"
        );
        let (chunk, after) = rest.split_at(size as usize);
        rest = after;
        let data: Vec<Value> = match output["datatype"].as_str().expect("datatype") {
            "FP64" => chunk
                .chunks_exact(8)
                .map(|c| json!(f64::from_le_bytes(c.try_into().expect("8"))))
                .collect(),
            "FP32" => chunk
                .chunks_exact(4)
                .map(|c| json!(f32::from_le_bytes(c.try_into().expect("4"))))
                .collect(),
            "INT64" => chunk
                .chunks_exact(8)
                .map(|c| json!(i64::from_le_bytes(c.try_into().expect("8"))))
                .collect(),
            other => panic!("datatype {other}"),
        };
        output["data"] = json!(data);
    }
    assert!(rest.is_empty(), "{} unclaimed bytes", rest.len());
    json
}

#[tokio::test]
async fn binary_inputs_give_the_json_answer() {
    for case in [LOGREG, OPTIONAL, TWO_INPUTS] {
        let dir = corpus(case);
        let server = TestServer::start(&dir.join("model"), "m").await;
        let request = read_json(&dir.join("request.json"));
        let expected = read_json(&dir.join("expected.json"));
        let (body, length) = binary_request(&request);
        let answer = post_binary(&server, Some(&length.to_string()), body.clone(), false).await;
        assert_eq!(answer.status, 200, "{case}: {}", answer.json);
        compare_outputs(&answer.json, &expected).unwrap_or_else(|e| panic!("{case}: {e}"));
        // Gzip inflates before the header length applies.
        let answer = post_binary(&server, Some(&length.to_string()), body, true).await;
        assert_eq!(answer.status, 200, "{case} gzip: {}", answer.json);
        compare_outputs(&answer.json, &expected).unwrap_or_else(|e| panic!("{case} gzip: {e}"));
    }
}

#[tokio::test]
async fn binary_outputs_carry_the_json_values() {
    let dir = corpus(TWO_INPUTS);
    let server = TestServer::start(&dir.join("model"), "m").await;
    let request = read_json(&dir.join("request.json"));
    let expected = read_json(&dir.join("expected.json"));

    // Every output binary, from a plain JSON request.
    let mut all = request.clone();
    all["parameters"] = json!({"binary_data_output": true});
    let answer = post_binary(&server, None, all.to_string().into_bytes(), false).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.headers["content-type"], "application/octet-stream");
    assert_eq!(answer.headers["ce-modelid"], "m");
    assert!(answer.headers.contains_key("ce-id"));
    compare_outputs(&decode_outputs(&answer), &expected).expect("all binary");

    // One output binary, the other JSON; binary inputs too.
    let mut one = request.clone();
    one["outputs"] = json!([{"name": "logits", "parameters": {"binary_data": true}}]);
    let (body, length) = binary_request(&one);
    let answer = post_binary(&server, Some(&length.to_string()), body, false).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let outputs = answer.json["outputs"].as_array().expect("outputs");
    let logits = outputs
        .iter()
        .find(|o| o["name"] == "logits")
        .expect("logits");
    let label = outputs
        .iter()
        .find(|o| o["name"] == "label")
        .expect("label");
    assert_eq!(logits["parameters"]["binary_data_size"], json!(7 * 3 * 4));
    assert!(label.get("data").is_some() && label["parameters"].get("binary_data_size").is_none());
    compare_outputs(&decode_outputs(&answer), &expected).expect("one binary");

    // Without the extension the answer stays JSON.
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200);
    compare_outputs(&body, &expected).expect("json");
}

#[tokio::test]
async fn raw_binary_requests_feed_the_single_input() {
    let dir = corpus(ONNX_TENSOR);
    let server = TestServer::start(&dir.join("model"), "m").await;
    let request = read_json(&dir.join("request.json"));
    let first_row: Vec<f64> = request["inputs"][0]["data"].as_array().expect("data")[..4]
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let one_row = json!({"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32", "data": first_row}]});
    let (status, json_answer) = server.infer(&one_row).await;
    assert_eq!(status, 200, "{json_answer}");
    let body: Vec<u8> = first_row
        .iter()
        .flat_map(|v| (*v as f32).to_le_bytes())
        .collect();
    let answer = post_binary(&server, Some("0"), body, false).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["outputs"], json_answer["outputs"]);

    let answer = post_binary(&server, Some("0"), vec![0; 12], false).await;
    assert_eq!(answer.status, 400);
    let message = answer.json["error"].as_str().expect("error");
    assert!(message.contains("raw binary request"), "{message}");

    // A model of several inputs cannot take a raw request.
    let dir = corpus(TWO_INPUTS);
    let server = TestServer::start(&dir.join("model"), "m").await;
    let answer = post_binary(&server, Some("0"), vec![0; 16], false).await;
    assert_eq!(answer.status, 400);
    let message = answer.json["error"].as_str().expect("error");
    assert!(message.contains("exactly one input"), "{message}");
}

#[tokio::test]
async fn framing_errors_are_400() {
    let dir = corpus(LOGREG);
    let server = TestServer::start(&dir.join("model"), "m").await;
    let request = read_json(&dir.join("request.json"));
    let (body, length) = binary_request(&request);
    let cases: Vec<(Option<String>, Vec<u8>, &str)> = vec![
        (
            Some("abc".into()),
            body.clone(),
            "invalid Inference-Header-Content-Length \"abc\"",
        ),
        (
            Some((body.len() + 1).to_string()),
            body.clone(),
            "but the body has only",
        ),
        (
            Some(length.to_string()),
            body[..body.len() - 8].to_vec(),
            "only 88 bytes of binary data are left",
        ),
        (
            Some(length.to_string()),
            [body.clone(), vec![0; 5]].concat(),
            "5 bytes of binary data after",
        ),
        (
            Some((length - 1).to_string()),
            body.clone(),
            "invalid request body",
        ),
    ];
    for (header, body, needle) in cases {
        let answer = post_binary(&server, header.as_deref(), body, false).await;
        assert_eq!(answer.status, 400, "{needle}: {}", answer.json);
        let message = answer.json["error"].as_str().expect("error");
        assert!(message.contains(needle), "{needle}: {message}");
    }
    // A size that does not fit the datatype.
    let mut odd = request.clone();
    for input in odd["inputs"].as_array_mut().expect("inputs") {
        input.as_object_mut().expect("input").remove("data");
        input["parameters"] = json!({"binary_data_size": 95});
    }
    let mut body = serde_json::to_vec(&odd).expect("json");
    let length = body.len();
    body.extend_from_slice(&[0; 95 * 4]);
    let answer = post_binary(&server, Some(&length.to_string()), body, false).await;
    assert_eq!(answer.status, 400, "{}", answer.json);
    let message = answer.json["error"].as_str().expect("error");
    assert!(
        message.contains("not a multiple of the element size 8"),
        "{message}"
    );
}

#[tokio::test]
async fn server_metadata_advertises_the_extension() {
    let server = TestServer::start(&corpus(LOGREG).join("model"), "m").await;
    let (status, body) = server.get("/v2").await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert!(body["extensions"]
        .as_array()
        .expect("extensions")
        .contains(&json!("binary_tensor_data")));
}

#[tokio::test]
async fn bytes_that_are_not_text_are_400() {
    let dir = corpus(OPTIONAL);
    let server = TestServer::start(&dir.join("model"), "m").await;
    let mut request = read_json(&dir.join("request.json"));
    // Every input binary, then the first city replaced by a one-byte element that is not UTF-8.
    let city = request["inputs"]
        .as_array_mut()
        .expect("inputs")
        .iter_mut()
        .find(|i| i["name"] == "city")
        .expect("city");
    city["data"] = json!(vec!["x"; 12]);
    let (mut body, length) = binary_request(&request);
    let at = length + 4;
    assert_eq!(body[at], b'x');
    body[at] = 0xff;
    let answer = post_binary(&server, Some(&length.to_string()), body, false).await;
    assert_eq!(answer.status, 400, "{}", answer.json);
    let message = answer.json["error"].as_str().expect("error");
    assert!(
        message.contains("input \"city\" (BYTES): element is not UTF-8"),
        "{message}"
    );
}
