//! The v2 REST inference adapter: `POST /v2/models/{name}[/versions/{version}]/infer` (and
//! `/generate`). It only decodes and encodes; [`crate::pipeline`] does the rest. The router's
//! handlers and the fast path (`rest/fast.rs`) both answer through [`serve`], and the event
//! stream (`rest/stream.rs`) through [`infer_response`].
//!
//! Decoding: the body framing (plain JSON, or the binary tensor extension, `rest/binary.rs`),
//! the JSON header (the scanner, else serde: `rest/body.rs`), then the inputs' data
//! (`codec::binary`). Encoding: outputs to v2 JSON or binary (`codec::binary`), then the HTTP
//! answer with CloudEvents headers (`rest/response.rs`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::body::RawBody;
use super::{binary, response};
use crate::codec::binary::{decode_inputs, encode_outputs, BinaryOutputs};
use crate::codec::{InferRequest, InferResponse, Parameters};
use crate::error::ServeError;
use crate::pipeline::{self, Inference, Inputs, Request, RequestParameters, Target};
use crate::served::ServedModel;
use crate::state::AppState;

/// `POST /v2/models/{name}/infer`.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ServeError> {
    serve(&state, &name, None, &headers, body, false).await
}

/// `POST /v2/models/{name}/versions/{version}/infer`.
pub async fn version_infer(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ServeError> {
    serve(&state, &name, Some(&version), &headers, body, false).await
}

/// Answers one v2 REST inference request, with `Vary: accept-encoding` when `vary` is set (the
/// fast path's stand-in for the compression layer, see `rest/response.rs`).
pub async fn serve(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
    vary: bool,
) -> Result<Response, ServeError> {
    let answer = infer_response(state, name, version, headers, body).await?;
    response::respond(answer, &state.cloudevents, vary)
}

/// Runs one v2 REST inference request, JSON or binary, into its v2 response.
pub async fn infer_response(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<InferResponse, ServeError> {
    let span = tracing::info_span!(target: crate::tracing_otel::TARGET, "inference", model = name);
    crate::tracing_otel::set_parent_from(&span, headers);
    let answer = async {
        let (inference, choice) = pipeline::run(
            state,
            Target::named(name, version),
            |served: &ServedModel| {
                if super::arrow::is_arrow(headers) {
                    return super::arrow::decode(served, body);
                }
                let (request, binary) = binary::split(&served.metadata, headers, body)?;
                decode(request, &binary)
            },
        )
        .await?;
        tracing::info_span!(target: crate::tracing_otel::TARGET, "encode")
            .in_scope(|| encode(inference, &choice))
    };
    tracing::Instrument::instrument(answer, span).await
}

/// Runs one parsed v2 request (its JSON header and the binary data of its inputs, empty without
/// the binary extension) into its v2 response: [`infer_response`] after the body framing.
pub async fn infer_request(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    request: InferRequest,
    binary: &[u8],
) -> Result<InferResponse, ServeError> {
    let (inference, choice) = pipeline::run(state, Target::named(name, version), |_| {
        decode(request, binary)
    })
    .await?;
    encode(inference, &choice)
}

/// A v2 request as the pipeline's neutral request, and which outputs go back as binary.
pub fn decode(
    request: InferRequest,
    binary: &[u8],
) -> Result<(Request, BinaryOutputs), ServeError> {
    let InferRequest {
        id,
        parameters,
        inputs,
        outputs,
    } = request;
    let choice = BinaryOutputs::new(parameters.as_ref(), outputs.as_deref());
    let inputs = decode_inputs(inputs, binary)?;
    let request = Request {
        id,
        parameters: RequestParameters::from_v2(parameters),
        inputs: Inputs::Tagged(inputs),
        outputs: Some(outputs.iter().flatten().map(|o| o.name.clone()).collect()),
    };
    Ok((request, choice))
}

/// The v2 response of an inference: JSON outputs, and the binary ones' data when asked for.
pub fn encode(inference: Inference, choice: &BinaryOutputs) -> Result<InferResponse, ServeError> {
    let content_type = inference.content_type();
    let Inference { model, id, outputs } = inference;
    let (outputs, binary) = encode_outputs(outputs, choice).map_err(ServeError::Internal)?;
    let mut parameters = Parameters::new();
    if let Some(content_type) = content_type {
        parameters.insert("content_type".into(), content_type.into());
    }
    Ok(InferResponse {
        model_name: model.name.clone(),
        model_version: model.version.clone(),
        id,
        parameters,
        outputs,
        binary,
    })
}
