//! Request content types (docs/compat.md §1.6), MLflow params (§1.7, §4.4) and MLflow's schema
//! enforcement (§4.3, §4.4) at the HTTP and gRPC level, on real models: corpus cases and
//! `examples/enforcement/float-int-params` (whose `generate.py` checked each rule against mlflow).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::harness::{compare_outputs, corpus, read_json, TestServer};

const LOGREG: &str = "sk-logreg-multiclass-new";
const OPTIONAL: &str = "sk-optional-column-new";
const TWO_INPUTS: &str = "onnx-two-inputs-two-outputs-new";
const ONNX_TENSOR: &str = "onnx-skl-logreg-zipmap-new";
const NO_SIGNATURE: &str = "sk-no-signature-new";

/// The enforcement fixture (float, integer and double columns; a params schema).
pub fn enforcement_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/enforcement/float-int-params")
}

async fn serve_corpus(case: &str) -> (TestServer, Value, Value) {
    let dir = corpus(case);
    let server = TestServer::start(&dir.join("model"), "m").await;
    (
        server,
        read_json(&dir.join("request.json")),
        read_json(&dir.join("expected.json")),
    )
}

/// The error message of the 400 answer `server` gives `request`.
async fn rejected(server: &TestServer, request: &Value) -> String {
    let (status, body) = server.infer(request).await;
    error_400(status, &body)
}

/// The error message of a 400 answer, checking the status and body shape.
fn error_400(status: u16, body: &Value) -> String {
    assert_eq!(status, 400, "{body}");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error string in {body}"))
        .to_owned()
}

fn input_mut<'a>(request: &'a mut Value, name: &str) -> &'a mut Value {
    request["inputs"]
        .as_array_mut()
        .expect("inputs")
        .iter_mut()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no input {name}"))
}

fn remove_input(request: &mut Value, name: &str) {
    request["inputs"]
        .as_array_mut()
        .expect("inputs")
        .retain(|i| i["name"] != name);
}

#[tokio::test]
async fn default_content_types_come_from_the_signature() {
    // Columns: pd; named tensors: dict; both pass their corpus request unchanged.
    for case in [LOGREG, TWO_INPUTS, OPTIONAL] {
        let (server, request, expected) = serve_corpus(case).await;
        let (status, body) = server.infer(&request).await;
        assert_eq!(status, 200, "{case}: {body}");
        compare_outputs(&body, &expected).unwrap_or_else(|e| panic!("{case}: {e}"));
    }
}

#[tokio::test]
async fn np_takes_exactly_one_input() {
    let (server, mut request, _) = serve_corpus(LOGREG).await;
    request["parameters"] = json!({"content_type": "np"});
    let message = rejected(&server, &request).await;
    assert!(message.contains("content type np"), "{message}");
    assert!(message.contains("exactly one input"), "{message}");
    assert!(message.contains("has 4"), "{message}");

    // One [N, 4] input as np feeds the model like the four columns.
    let (server, request, expected) = serve_corpus(LOGREG).await;
    let mut rows = vec![vec![0.0; 4]; 12];
    for (j, input) in request["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .enumerate()
    {
        for (i, v) in input["data"].as_array().expect("data").iter().enumerate() {
            rows[i][j] = v.as_f64().expect("number");
        }
    }
    let matrix = json!({
        "parameters": {"content_type": "np"},
        "inputs": [{"name": "x", "shape": [12, 4], "datatype": "FP64", "data": rows}]
    });
    let (status, body) = server.infer(&matrix).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("np matrix");
}

#[tokio::test]
async fn pd_takes_one_column_per_input() {
    let (server, request, _) = serve_corpus(LOGREG).await;
    // The model's default is pd: a [N, 4] input is not a column.
    let matrix = json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]});
    let message = rejected(&server, &matrix).await;
    assert!(message.contains("content type pd"), "{message}");
    assert!(message.contains("\"x\""), "{message}");
    assert!(message.contains("[1, 4]"), "{message}");

    let mut short = request.clone();
    let input = input_mut(&mut short, "petal_width_cm");
    input["shape"] = json!([2, 1]);
    input["data"] = json!([0.1, 0.2]);
    let message = rejected(&server, &short).await;
    assert!(
        message.contains("\"petal_width_cm\" has 2 rows"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_content_types_are_named() {
    let (server, mut request, _) = serve_corpus(LOGREG).await;
    request["parameters"] = json!({"content_type": "parquet"});
    let message = rejected(&server, &request).await;
    assert!(
        message.contains("unknown content type \"parquet\""),
        "{message}"
    );

    let mut request = read_json(&corpus(LOGREG).join("request.json"));
    input_mut(&mut request, "sepal_width_cm")["parameters"] = json!({"content_type": "arrow"});
    let message = rejected(&server, &request).await;
    assert!(message.contains("\"arrow\""), "{message}");
    assert!(message.contains("input \"sepal_width_cm\""), "{message}");

    // base64 describes inputs, not requests.
    request["parameters"] = json!({"content_type": "base64"});
    let message = rejected(&server, &request).await;
    assert!(message.contains("applies to inputs"), "{message}");
}

#[tokio::test]
async fn str_needs_bytes() {
    let (server, mut request, _) = serve_corpus(LOGREG).await;
    input_mut(&mut request, "sepal_width_cm")["parameters"] = json!({"content_type": "str"});
    let message = rejected(&server, &request).await;
    assert!(
        message.contains(
            "\"sepal_width_cm\" has content type str, which needs datatype BYTES, not FP64"
        ),
        "{message}"
    );

    // As a request content type, str decodes exactly one input.
    let mut request = read_json(&corpus(LOGREG).join("request.json"));
    request["parameters"] = json!({"content_type": "str"});
    let message = rejected(&server, &request).await;
    assert!(
        message.contains(
            "content type str decodes a request of exactly one input, but the request has 4"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn dict_passes_named_tensors() {
    // An explicit dict on a column model hands the columns over by name, as pd does.
    let (server, mut request, expected) = serve_corpus(LOGREG).await;
    request["parameters"] = json!({"content_type": "dict"});
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("dict");
}

#[tokio::test]
async fn base64_decodes_or_keeps_the_raw_value() {
    use base64::Engine as _;
    let (server, request, expected) = serve_corpus(OPTIONAL).await;
    let mut encoded = request.clone();
    let city = input_mut(&mut encoded, "city");
    let plain: Vec<String> = serde_json::from_value(city["data"].clone()).expect("strings");
    city["data"] = json!(plain
        .iter()
        .map(|s| base64::engine::general_purpose::STANDARD.encode(s))
        .collect::<Vec<_>>());
    city["parameters"] = json!({"content_type": "base64"});
    let (status, body) = server.infer(&encoded).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("base64 cities");

    // Elements that are not base64 pass as they are (promo_code is optional and dropped).
    let mut raw = request.clone();
    raw["inputs"].as_array_mut().expect("inputs").push(json!({
        "name": "promo_code", "shape": [12, 1], "datatype": "BYTES",
        "data": vec!["not base64!"; 12], "parameters": {"content_type": "base64"}
    }));
    let (status, body) = server.infer(&raw).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("raw promo codes");

    // Valid base64 of bytes that are not text cannot become a string column.
    let mut binary = request;
    let city = input_mut(&mut binary, "city");
    city["data"][0] = json!("/w==");
    city["parameters"] = json!({"content_type": "base64"});
    let message = rejected(&server, &binary).await;
    assert!(
        message.contains("input \"city\" (base64): element 0"),
        "{message}"
    );
}

#[tokio::test]
async fn datetime_and_pd_json_elements_are_validated() {
    let (server, request, expected) = serve_corpus(OPTIONAL).await;
    // promo_code is optional and dropped by the model, so any valid value passes.
    let with_promo = |values: Value, content_type: &str| {
        let mut r = request.clone();
        r["inputs"].as_array_mut().expect("inputs").push(json!({
            "name": "promo_code", "shape": [12, 1], "datatype": "BYTES", "data": values,
            "parameters": {"content_type": content_type}
        }));
        r
    };
    let dates: Vec<String> = (1..=12)
        .map(|d| format!("2024-01-{d:02}T10:00:00"))
        .collect();
    let (status, body) = server.infer(&with_promo(json!(dates), "datetime")).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("datetimes");

    let mut bad_dates = dates.clone();
    bad_dates[3] = "2024-02-30".into();
    let message = rejected(&server, &with_promo(json!(bad_dates), "datetime")).await;
    assert!(
        message.contains("input \"promo_code\" (datetime): element 3 \"2024-02-30\""),
        "{message}"
    );

    let docs: Vec<String> = (0..12).map(|i| format!("{{\"n\": {i}}}")).collect();
    let (status, body) = server.infer(&with_promo(json!(docs), "pd_json")).await;
    assert_eq!(status, 200, "{body}");
    let mut bad_docs = docs;
    bad_docs[5] = "{not json".into();
    let message = rejected(&server, &with_promo(json!(bad_docs), "pd_json")).await;
    assert!(
        message.contains("input \"promo_code\" (pd_json): element 5"),
        "{message}"
    );
}

#[tokio::test]
async fn params_are_checked_against_the_params_schema() {
    let dir = enforcement_model();
    let server = TestServer::start(&dir.join("model"), "m").await;
    let request = read_json(&dir.join("request.json"));
    let expected = read_json(&dir.join("expected.json"));
    // alpha: 1 (int -> double), mode: "slow"; k and tags take their defaults.
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("params request");

    let with = |params: Value| {
        let mut r = request.clone();
        for (k, v) in params.as_object().expect("object") {
            r["parameters"][k] = v.clone();
        }
        r
    };
    // Unknown params are ignored (mlflow warns).
    let (status, body) = server.infer(&with(json!({"unknown": [1, 2]}))).await;
    assert_eq!(status, 200, "{body}");
    // long takes an int, not a float; a list param takes a list.
    let message = rejected(&server, &with(json!({"k": 1.5}))).await;
    assert!(
        message.contains("param \"k\" must be of type long, got 1.5"),
        "{message}"
    );
    let message = rejected(&server, &with(json!({"tags": "a"}))).await;
    assert!(
        message.contains("param \"tags\" must be a list"),
        "{message}"
    );
    let message = rejected(&server, &with(json!({"alpha": "high"}))).await;
    assert!(
        message.contains("param \"alpha\" must be of type double"),
        "{message}"
    );
    let (status, body) = server
        .infer(&with(json!({"tags": ["x", "y", "z"], "k": 7})))
        .await;
    assert_eq!(status, 200, "{body}");

    // A model without a params schema ignores params.
    let (server, mut request, expected) = serve_corpus(LOGREG).await;
    request["parameters"] = json!({"content_type": "pd", "temperature": "hot"});
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("ignored params");
}

#[tokio::test]
async fn invocations_params_are_checked_too() {
    let dir = enforcement_model();
    let server = TestServer::start(&dir.join("model"), "m").await;
    let body = |params: Value| {
        json!({
            "dataframe_split": {
                "columns": ["x_float", "x_int", "x_double"],
                "data": [[0.5, 1, 0.1], [-1.25, 4, 0.2], [2.0, 9, -0.3]]
            },
            "params": params
        })
        .to_string()
    };
    let (status, text) = server.post("/invocations", body(json!({"alpha": 2}))).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = server
        .post("/invocations", body(json!({"k": "three"})))
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("param \\\"k\\\""), "{text}");
}

#[tokio::test]
async fn column_rules_follow_mlflow() {
    let (server, request, expected) = serve_corpus(LOGREG).await;

    // Missing required column: 400 naming it.
    let mut missing = request.clone();
    remove_input(&mut missing, "petal_width_cm");
    let message = rejected(&server, &missing).await;
    assert!(message.contains("\"petal_width_cm\""), "{message}");

    // Extra column dropped; columns reordered to the signature.
    let mut extra = request.clone();
    extra["inputs"].as_array_mut().expect("inputs").reverse();
    extra["inputs"].as_array_mut().expect("inputs").push(
        json!({"name": "extra", "shape": [12, 1], "datatype": "FP64", "data": vec![9.0; 12]}),
    );
    let (status, body) = server.infer(&extra).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("extra and reordered");

    // FP32 into double columns passes.
    let mut fp32 = request.clone();
    for input in fp32["inputs"].as_array_mut().expect("inputs") {
        input["datatype"] = json!("FP32");
    }
    let (status, body) = server.infer(&fp32).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("fp32");

    // INT64 into a double column fails, unless every value is 0 or 1.
    let mut int64 = request.clone();
    let input = input_mut(&mut int64, "petal_width_cm");
    input["datatype"] = json!("INT64");
    input["data"] = json!(vec![2; 12]);
    let message = rejected(&server, &int64).await;
    assert!(
        message.contains("\"petal_width_cm\" has datatype INT64, but the model takes FP64"),
        "{message}"
    );
    input_mut(&mut int64, "petal_width_cm")["data"] = json!([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    let (status, body) = server.infer(&int64).await;
    assert_eq!(status, 200, "{body}");

    // A missing optional column passes (the corpus request leaves promo_code out).
    let (server, request, expected) = serve_corpus(OPTIONAL).await;
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("optional column");
    // Float into a long column fails.
    let mut float_age = request;
    input_mut(&mut float_age, "age")["datatype"] = json!("FP64");
    let message = rejected(&server, &float_age).await;
    assert!(message.contains("\"age\" has datatype FP64"), "{message}");
}

#[tokio::test]
async fn float_and_integer_columns_follow_mlflow() {
    let dir = enforcement_model();
    let server = TestServer::start(&dir.join("model"), "m").await;
    let request = read_json(&dir.join("request.json"));
    // FP64 into a float column fails (mlflow: "Can not safely convert float64 to float32").
    let mut fp64 = request.clone();
    input_mut(&mut fp64, "x_float")["datatype"] = json!("FP64");
    let message = rejected(&server, &fp64).await;
    assert!(
        message.contains("\"x_float\" has datatype FP64, but the model takes FP32"),
        "{message}"
    );
    // Float into an integer column fails.
    let mut float_int = request.clone();
    input_mut(&mut float_int, "x_int")["datatype"] = json!("FP32");
    let message = rejected(&server, &float_int).await;
    assert!(message.contains("\"x_int\" has datatype FP32"), "{message}");
    // INT16 into an integer column, INT32 into a double column: both upcasts pass.
    let mut upcasts = request;
    input_mut(&mut upcasts, "x_int")["datatype"] = json!("INT16");
    let double = input_mut(&mut upcasts, "x_double");
    double["datatype"] = json!("INT32");
    double["data"] = json!([0, 1, 2]);
    let (status, body) = server.infer(&upcasts).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn tensor_dtypes_must_match_exactly() {
    let (server, mut request, expected) = serve_corpus(ONNX_TENSOR).await;
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("fp32");
    request["inputs"][0]["datatype"] = json!("FP64");
    let message = rejected(&server, &request).await;
    assert!(
        message.contains("\"float_input\" has datatype FP64, but the model takes FP32"),
        "{message}"
    );
}

#[tokio::test]
async fn no_signature_means_no_default_content_type() {
    let (server, request, expected) = serve_corpus(NO_SIGNATURE).await;
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    compare_outputs(&body, &expected).expect("no signature");
}

mod grpc {
    //! The same content-type and params step on the gRPC path.

    use std::collections::HashMap;

    use ironflow_proto::inference::infer_parameter::ParameterChoice;
    use ironflow_proto::inference::{InferParameter, InferTensorContents, ModelInferRequest};
    use tonic::Code;

    use super::*;
    use crate::harness::{proto_request, serve_args, GrpcServer};

    /// Serves the model at `model_dir` over gRPC as `m`.
    async fn start(model_dir: &Path) -> GrpcServer {
        GrpcServer::start(&serve_args(&[
            model_dir.as_os_str(),
            "--name".as_ref(),
            "m".as_ref(),
        ]))
        .await
    }

    fn string(s: &str) -> InferParameter {
        InferParameter {
            parameter_choice: Some(ParameterChoice::StringParam(s.to_owned())),
        }
    }

    /// The JSON corpus request as protobuf, to the model `m`.
    fn to_proto(request: &Value) -> ModelInferRequest {
        proto_request("m", request)
    }

    #[tokio::test]
    async fn grpc_applies_the_same_rules() {
        let dir = corpus(OPTIONAL);
        let server = start(&dir.join("model")).await;
        let mut client = server.client.clone();
        let request = read_json(&dir.join("request.json"));
        let ok = client.model_infer(to_proto(&request)).await.expect("infer");
        let label = &ok.into_inner().outputs[0];
        assert_eq!(label.name, "output-1");

        let mut np = to_proto(&request);
        np.parameters.insert("content_type".into(), string("np"));
        let status = client.model_infer(np).await.expect_err("np");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("exactly one input"),
            "{}",
            status.message()
        );

        let mut unknown = to_proto(&request);
        unknown.inputs[0]
            .parameters
            .insert("content_type".into(), string("yaml"));
        let status = client.model_infer(unknown).await.expect_err("unknown");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("\"yaml\""),
            "{}",
            status.message()
        );

        let mut float_age = to_proto(&request);
        let age = float_age
            .inputs
            .iter_mut()
            .find(|i| i.name == "age")
            .expect("age");
        age.datatype = "FP64".into();
        let values = age.contents.take().expect("contents").int64_contents;
        age.contents = Some(InferTensorContents {
            fp64_contents: values.iter().map(|v| *v as f64).collect(),
            ..Default::default()
        });
        let status = client.model_infer(float_age).await.expect_err("float age");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("\"age\""), "{}", status.message());
    }

    #[tokio::test]
    async fn grpc_checks_params() {
        let dir = enforcement_model();
        let server = start(&dir.join("model")).await;
        let mut client = server.client.clone();
        let request = read_json(&dir.join("request.json"));
        let build = |k: InferParameter| ModelInferRequest {
            parameters: HashMap::from([("k".to_owned(), k)]),
            ..to_proto(&request)
        };
        let int = InferParameter {
            parameter_choice: Some(ParameterChoice::Int64Param(5)),
        };
        let reply = client.model_infer(build(int)).await.expect("int k");
        let expected = read_json(&dir.join("expected.json"));
        let got = &reply.into_inner().outputs[0];
        let want: Vec<f64> =
            serde_json::from_value(expected["outputs"][0]["data"].clone()).expect("data");
        let data = &got.contents.as_ref().expect("contents").fp64_contents;
        for (a, b) in data.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let double = InferParameter {
            parameter_choice: Some(ParameterChoice::DoubleParam(1.5)),
        };
        let status = client
            .model_infer(build(double))
            .await
            .expect_err("double k");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("param \"k\""),
            "{}",
            status.message()
        );
    }
}
