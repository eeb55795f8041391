//! Property tests of request decoding (issue 17 item 7): arbitrary bytes, mutated real requests
//! and arbitrary JSON in the fields of real requests, sent through the whole REST service (v2
//! JSON, the binary extension, the event stream, MLflow's `/invocations`, KServe v1) and arbitrary
//! gRPC `ModelInferRequest`s through the gRPC service. Never a panic, never a 5xx / INTERNAL:
//! every answer is a success or a client error. Bounded: a few hundred cases per property, run
//! in-process without a socket.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use ironflow_proto::inference::grpc_inference_service_server::GrpcInferenceService;
use ironflow_proto::inference::model_infer_request::InferInputTensor;
use ironflow_proto::inference::{InferTensorContents, ModelInferRequest};
use ironflow_server::state::AppState;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

use crate::harness::{corpus, example, read_json, serve_args};

/// The columns model (an MLflow sklearn signature) and the tensor model (ONNX), loaded once.
struct Served {
    runtime: tokio::runtime::Runtime,
    columns: AppState,
    tensor: AppState,
}

fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let load = |dir: std::path::PathBuf| {
            let args = serve_args(&[dir.as_os_str(), "--name".as_ref(), "m".as_ref()]);
            runtime
                .block_on(ironflow_server::load_state(&args))
                .expect("load")
        };
        Served {
            columns: load(corpus("sk-logreg-multiclass-new")),
            tensor: load(example("iris-logreg-onnx").join("model")),
            runtime,
        }
    })
}

/// The real request of each model.
fn real_request(tensor: bool) -> Value {
    if tensor {
        read_json(&example("iris-logreg-onnx").join("request.json"))
    } else {
        read_json(&corpus("sk-logreg-multiclass-new").join("request.json"))
    }
}

/// The routes that decode a request body, with their content type.
const ROUTES: &[(&str, &str)] = &[
    ("/v2/models/m/infer", "application/json"),
    ("/v2/models/m/infer_stream", "application/json"),
    ("/invocations", "application/json"),
    ("/invocations", "text/csv"),
    ("/v1/models/m:predict", "application/json"),
];

/// Posts `body` to `route` of one model's REST service; the status.
fn post(tensor: bool, route: usize, body: Vec<u8>, binary_header: Option<usize>) -> u16 {
    let s = served();
    let state = if tensor { &s.tensor } else { &s.columns };
    let (path, content_type) = ROUTES[route % ROUTES.len()];
    let mut request = Request::post(path).header("content-type", content_type);
    if let Some(length) = binary_header {
        request = request.header("inference-header-content-length", length.to_string());
    }
    let request = request.body(Body::from(body)).expect("request");
    s.runtime.block_on(async {
        let response = ironflow_server::rest::service(state.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        // Streams answer 200 and put errors in the events: read the body to the end.
        let _ = axum::body::to_bytes(response.into_body(), 1 << 24).await;
        status
    })
}

/// A success or a client error.
fn acceptable(status: u16) -> bool {
    (200..300).contains(&status) || (400..500).contains(&status)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    Just(b'['),
                    Just(b']'),
                    Just(b'{'),
                    Just(b'"'),
                    Just(b','),
                    Just(b'-'),
                    Just(b'9'),
                    Just(b'e'),
                ],
                1..16
            )
        )
            .prop_map(|(i, bytes)| Mutation::Insert(i, bytes)),
        (any::<usize>(), 1usize..256).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if let Some(byte) = bytes.get_mut(i % len) {
                    *byte = *b;
                }
            }
            Mutation::Delete(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(i, new) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Duplicate(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
        }
    }
    bytes
}

/// Arbitrary JSON, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just(-1i64),
            Just(0),
            Just(1),
            Just(3),
            Just(i64::MAX),
            Just(1 << 40)
        ]
        .prop_map(Value::from),
        "[a-zA-Z0-9_ :.-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("FP32"),
            Just("FP64"),
            Just("INT64"),
            Just("BYTES"),
            Just("BOOL"),
            Just("UINT8"),
            Just("FP16"),
            Just("np"),
            Just("pd"),
            Just("str"),
            Just("base64"),
            Just("datetime"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Where in a v2 request a JSON value is put.
const FIELDS: &[&str] = &[
    "shape",
    "datatype",
    "data",
    "parameters",
    "name",
    "inputs",
    "outputs",
    "id",
    "request_parameters",
];

fn put(mut request: Value, field: usize, value: Value, input: usize) -> Value {
    let field = FIELDS[field % FIELDS.len()];
    match field {
        "inputs" | "outputs" | "id" => request[field] = value,
        "request_parameters" => request["parameters"] = value,
        _ => {
            if let Some(inputs) = request["inputs"].as_array_mut() {
                let n = inputs.len().max(1);
                if let Some(input) = inputs.get_mut(input % n) {
                    input[field] = value;
                }
            }
        }
    }
    request
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_a_client_error(
        tensor in any::<bool>(),
        route in 0usize..ROUTES.len(),
        body in prop::collection::vec(any::<u8>(), 0..512),
        binary in prop::option::of(0usize..600),
    ) {
        let status = post(tensor, route, body, binary);
        prop_assert!(acceptable(status), "status {status}");
    }

    #[test]
    fn mutated_real_requests_are_answered_or_refused(
        tensor in any::<bool>(),
        route in 0usize..3,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let body = apply(real_request(tensor).to_string().into_bytes(), &mutations);
        let status = post(tensor, route, body, None);
        prop_assert!(acceptable(status), "status {status}");
    }

    #[test]
    fn arbitrary_json_in_request_fields_is_answered_or_refused(
        tensor in any::<bool>(),
        route in 0usize..2,
        field in 0usize..FIELDS.len(),
        input in 0usize..4,
        value in json(),
    ) {
        let body = put(real_request(tensor), field, value, input).to_string().into_bytes();
        let status = post(tensor, route, body, None);
        prop_assert!(acceptable(status), "status {status}");
    }

    #[test]
    fn binary_extension_bodies_are_answered_or_refused(
        tensor in any::<bool>(),
        cut in any::<usize>(),
        tail in prop::collection::vec(any::<u8>(), 0..256),
        header_delta in -8i64..8,
    ) {
        // A real JSON header, with arbitrary binary data after it and a length near its own.
        let mut request = real_request(tensor);
        if let Some(input) = request["inputs"].get_mut(0) {
            let n = tail.len().max(1);
            input["parameters"] = serde_json::json!({"binary_data_size": cut % (n + 8)});
            if let Some(object) = input.as_object_mut() {
                object.remove("data");
            }
        }
        let header = request.to_string().into_bytes();
        let length = (header.len() as i64 + header_delta).max(0) as usize;
        let mut body = header;
        body.extend_from_slice(&tail);
        let status = post(tensor, 0, body, Some(length));
        prop_assert!(acceptable(status), "status {status}");
    }

    #[test]
    fn arbitrary_grpc_requests_are_answered_or_refused(
        tensor in any::<bool>(),
        inputs in prop::collection::vec(grpc_input(), 0..5),
        raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..5),
        id in "[a-z0-9-]{0,8}",
    ) {
        let s = served();
        let state = if tensor { &s.tensor } else { &s.columns };
        let request = ModelInferRequest {
            model_name: "m".into(),
            id,
            inputs,
            raw_input_contents: raw,
            ..Default::default()
        };
        let service = ironflow_server::grpc::InferenceService::new(state.clone());
        let answer = s.runtime.block_on(service.model_infer(tonic::Request::new(request)));
        if let Err(status) = answer {
            prop_assert!(
                !matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown),
                "{status:?}"
            );
        }
    }
}

/// An arbitrary gRPC input tensor, named as the models' inputs or not.
fn grpc_input() -> impl Strategy<Value = InferInputTensor> {
    (
        prop_oneof![
            Just("float_input".to_owned()),
            Just("sepal_length_cm".to_owned()),
            Just("petal_width_cm".to_owned()),
            "[a-z]{0,6}",
        ],
        prop_oneof![
            Just("FP32".to_owned()),
            Just("FP64".to_owned()),
            Just("INT64".to_owned()),
            Just("BYTES".to_owned()),
            Just("BOOL".to_owned()),
            "[A-Z0-9]{0,5}",
        ],
        prop::collection::vec(prop_oneof![-2i64..16, Just(i64::MAX), Just(1 << 33)], 0..4),
        prop::collection::vec(any::<f32>(), 0..48),
        prop::collection::vec(any::<f64>(), 0..48),
        prop::collection::vec(any::<i64>(), 0..16),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..8),
    )
        .prop_map(
            |(name, datatype, shape, fp32, fp64, int64, bytes)| InferInputTensor {
                name,
                datatype,
                shape,
                contents: Some(InferTensorContents {
                    fp32_contents: fp32,
                    fp64_contents: fp64,
                    int64_contents: int64,
                    bytes_contents: bytes,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
}
