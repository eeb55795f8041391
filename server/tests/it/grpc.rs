//! The gRPC API: a tonic client against the server on an ephemeral loopback port.

use std::path::Path;

use ironflow_proto::health::health_check_response::ServingStatus;
use ironflow_proto::health::health_client::HealthClient;
use ironflow_proto::health::HealthCheckRequest;
use ironflow_proto::inference::infer_parameter::ParameterChoice;
use ironflow_proto::inference::model_infer_response::InferOutputTensor;
use ironflow_proto::inference::{
    InferParameter, ModelInferRequest, ModelInferResponse, ModelMetadataRequest, ModelReadyRequest,
    RepositoryIndexRequest, ServerLiveRequest, ServerMetadataRequest, ServerReadyRequest,
};
use serde_json::{json, Value};
use tonic::Code;

use crate::harness::{compare_outputs, corpus, proto_request, read_json, serve_args, GrpcServer};

const TWO_INPUTS: &str = "onnx-two-inputs-two-outputs-new";
const LOGREG: &str = "sk-logreg-multiclass-new";

/// Serves the model at `model_dir` over gRPC under `name`, with two inference threads.
async fn start(model_dir: &Path, name: &str) -> GrpcServer {
    GrpcServer::start(&serve_args(&[
        model_dir.as_os_str(),
        "--name".as_ref(),
        name.as_ref(),
        "--inference-threads".as_ref(),
        "2".as_ref(),
    ]))
    .await
}

/// A `request.json` as a gRPC request, in typed `contents` or in `raw_input_contents`.
fn grpc_request(model: &str, request: &Value, raw: bool) -> ModelInferRequest {
    let mut out = ModelInferRequest {
        id: "grpc-1".to_owned(),
        ..proto_request(model, request)
    };
    if raw {
        for input in &mut out.inputs {
            let contents = input.contents.take().expect("contents");
            let bytes: Vec<u8> = match input.datatype.as_str() {
                "FP32" => contents
                    .fp32_contents
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                "FP64" => contents
                    .fp64_contents
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                "INT64" => contents
                    .int64_contents
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                other => panic!("test helper does not handle {other}"),
            };
            out.raw_input_contents.push(bytes);
        }
    }
    out
}

fn output_data(output: &InferOutputTensor, raw: Option<&Vec<u8>>) -> Value {
    match (output.datatype.as_str(), raw) {
        ("FP32", None) => json!(output.contents.as_ref().expect("contents").fp32_contents),
        ("FP64", None) => json!(output.contents.as_ref().expect("contents").fp64_contents),
        ("INT64", None) => json!(output.contents.as_ref().expect("contents").int64_contents),
        ("FP32", Some(b)) => json!(b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect::<Vec<_>>()),
        ("FP64", Some(b)) => json!(b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<_>>()),
        ("INT64", Some(b)) => json!(b
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<_>>()),
        (other, _) => panic!("test helper does not handle {other}"),
    }
}

/// A gRPC response as the REST JSON `compare_outputs` reads.
fn as_json(response: &ModelInferResponse, raw: bool) -> Value {
    assert_eq!(
        response.raw_output_contents.is_empty(),
        !raw,
        "raw out exactly when raw in"
    );
    let outputs: Vec<Value> = response
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            assert_eq!(o.contents.is_none(), raw);
            assert_eq!(string_param(&o.parameters["content_type"]), "np");
            json!({
                "name": o.name,
                "datatype": o.datatype,
                "shape": o.shape,
                "data": output_data(o, response.raw_output_contents.get(i)),
            })
        })
        .collect();
    json!({ "outputs": outputs })
}

fn string_param(p: &InferParameter) -> &str {
    match &p.parameter_choice {
        Some(ParameterChoice::StringParam(s)) => s,
        other => panic!("not a string parameter: {other:?}"),
    }
}

async fn check_case(case: &str, raw: bool) {
    let dir = corpus(case);
    let mut server = start(&dir.join("model"), case).await;
    let request = grpc_request(case, &read_json(&dir.join("request.json")), raw);
    let response = server
        .client
        .model_infer(request)
        .await
        .unwrap_or_else(|s| panic!("{case}: {s:?}"))
        .into_inner();
    assert_eq!(response.model_name, case);
    assert_eq!(response.id, "grpc-1");
    assert!(response.parameters.contains_key("content_type"));
    compare_outputs(
        &as_json(&response, raw),
        &read_json(&dir.join("expected.json")),
    )
    .unwrap_or_else(|e| panic!("{case} (raw: {raw}): {e}"));
}

#[tokio::test]
async fn typed_contents_match_expected() {
    check_case(TWO_INPUTS, false).await;
    check_case(LOGREG, false).await;
}

#[tokio::test]
async fn raw_contents_in_give_raw_contents_out() {
    check_case(TWO_INPUTS, true).await;
    check_case(LOGREG, true).await;
}

#[tokio::test]
async fn health_readiness_and_metadata() {
    let mut server = start(&corpus(LOGREG).join("model"), "iris").await;
    let c = &mut server.client;
    assert!(
        c.server_live(ServerLiveRequest {})
            .await
            .expect("live")
            .into_inner()
            .live
    );
    assert!(
        c.server_ready(ServerReadyRequest {})
            .await
            .expect("ready")
            .into_inner()
            .ready
    );
    let ready = c
        .model_ready(ModelReadyRequest {
            name: "iris".into(),
            version: String::new(),
        })
        .await
        .expect("model ready");
    assert!(ready.into_inner().ready);
    let missing = c
        .model_ready(ModelReadyRequest {
            name: "nosuchmodel".into(),
            version: String::new(),
        })
        .await
        .expect_err("unknown model");
    assert_eq!(missing.code(), Code::NotFound);

    let meta = c
        .server_metadata(ServerMetadataRequest {})
        .await
        .expect("server metadata")
        .into_inner();
    assert_eq!(meta.name, "ironflow");

    let meta = c
        .model_metadata(ModelMetadataRequest {
            name: "iris".into(),
            version: String::new(),
        })
        .await
        .expect("model metadata")
        .into_inner();
    assert_eq!(meta.name, "iris");
    assert_eq!(meta.inputs.len(), 4);
    assert_eq!(meta.inputs[0].name, "sepal_length_cm");
    assert_eq!(meta.inputs[0].datatype, "FP64");
    assert_eq!(meta.inputs[0].shape, vec![-1, 1]);
    assert_eq!(
        string_param(&meta.inputs[0].parameters["content_type"]),
        "np"
    );
    assert_eq!(string_param(&meta.parameters["content_type"]), "pd");

    let index = c
        .repository_index(RepositoryIndexRequest::default())
        .await
        .expect("index")
        .into_inner();
    assert_eq!(index.models.len(), 1);
    assert_eq!(
        (
            index.models[0].name.as_str(),
            index.models[0].state.as_str()
        ),
        ("iris", "READY")
    );

    let mut health = HealthClient::new(server.channel.clone());
    for service in ["", ironflow_proto::SERVICE] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32);
    }
}

#[tokio::test]
async fn stream_infer_answers_each_request_in_order() {
    let dir = corpus(LOGREG);
    let mut server = start(&dir.join("model"), LOGREG).await;
    let request = grpc_request(LOGREG, &read_json(&dir.join("request.json")), false);
    let requests: Vec<ModelInferRequest> = (0..3)
        .map(|i| ModelInferRequest {
            id: format!("s-{i}"),
            ..request.clone()
        })
        .collect();
    let mut responses = server
        .client
        .model_stream_infer(tokio_stream::iter(requests))
        .await
        .expect("stream")
        .into_inner();
    let expected = read_json(&dir.join("expected.json"));
    let mut ids = vec![];
    while let Some(response) = responses.message().await.expect("message") {
        compare_outputs(&as_json(&response, false), &expected).expect("outputs");
        ids.push(response.id);
    }
    assert_eq!(ids, ["s-0", "s-1", "s-2"]);
}

#[tokio::test]
async fn errors_map_to_grpc_statuses_and_the_server_keeps_serving() {
    let dir = corpus(TWO_INPUTS);
    let mut server = start(&dir.join("model"), TWO_INPUTS).await;
    let good = grpc_request(TWO_INPUTS, &read_json(&dir.join("request.json")), false);

    let mut unknown_input = good.clone();
    unknown_input.inputs[0].name = "densy".into();
    let status = server
        .client
        .model_infer(unknown_input)
        .await
        .expect_err("unknown input");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("densy"), "{}", status.message());

    let mut unknown_model = good.clone();
    unknown_model.model_name = "nosuchmodel".into();
    let status = server
        .client
        .model_infer(unknown_model)
        .await
        .expect_err("unknown model");
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("nosuchmodel"));

    let mut bad_raw = good.clone();
    bad_raw.raw_input_contents = vec![vec![1, 2, 3]];
    let status = server
        .client
        .model_infer(bad_raw)
        .await
        .expect_err("raw count");
    assert_eq!(status.code(), Code::InvalidArgument);

    let response = server
        .client
        .model_infer(good)
        .await
        .expect("works after errors");
    compare_outputs(
        &as_json(&response.into_inner(), false),
        &read_json(&dir.join("expected.json")),
    )
    .expect("outputs");
}
