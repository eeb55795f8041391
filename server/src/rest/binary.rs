//! The HTTP framing of the binary tensor data extension (Triton `extension_binary_data.md`,
//! COMPAT.md §3.3):
//!
//! - with `Inference-Header-Content-Length: <n>`, the body is `n` bytes of JSON header followed by
//!   the binary data of the inputs that set `parameters.binary_data_size`;
//! - with `Inference-Header-Content-Length: 0`, the whole body is the data of the model's single
//!   input, with batch size 1 (datatype and shape from the model's metadata);
//! - a response with binary outputs is `application/octet-stream`: the JSON, then the outputs'
//!   binary data, with `Inference-Header-Content-Length` giving the JSON's length.
//!
//! Without the header the body is plain JSON. Gzip request bodies are inflated before this runs.

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::Value;

use super::body::RawBody;
use super::cloudevents::CloudEvents;
use crate::codec::binary::BINARY_DATA_SIZE;
use crate::codec::{BinaryError, InferRequest, InferResponse, Parameters, RequestInput};
use crate::error::ServeError;
use crate::metadata::ModelMetadata;
use crate::state::AppState;

/// The header giving the length of the JSON part of a binary request or response.
pub const HEADER_LENGTH: HeaderName = HeaderName::from_static("inference-header-content-length");

/// Reads, decodes and runs one REST inference request, JSON or binary.
pub async fn infer(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: RawBody,
) -> Result<InferResponse, ServeError> {
    let served = state.model(name, version)?;
    let RawBody(bytes) = body;
    let (request, binary) = match header_length(headers)? {
        None => (RawBody(bytes).parse_request()?, Bytes::new()),
        Some(0) => raw_request(&served.metadata, bytes)?,
        Some(n) => {
            if n > bytes.len() {
                return Err(BinaryError::HeaderBeyondBody {
                    header: n,
                    body: bytes.len(),
                }
                .into());
            }
            let header = RawBody(bytes.slice(..n)).parse_request()?;
            (header, bytes.slice(n..))
        }
    };
    crate::infer::infer(state, served, request, &binary).await
}

fn header_length(headers: &HeaderMap) -> Result<Option<usize>, BinaryError> {
    let Some(value) = headers.get(HEADER_LENGTH) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    text.trim()
        .parse::<usize>()
        .map(Some)
        .map_err(|_| BinaryError::HeaderLength { value: text })
}

/// A raw binary request: the body is the data of the model's one input, batch 1. Fixed-size
/// datatypes take a shape deduced from the byte count (one free dimension besides the batch);
/// a `BYTES` input takes the whole body as its one element.
fn raw_request(metadata: &ModelMetadata, body: Bytes) -> Result<(InferRequest, Bytes), ServeError> {
    let [input] = metadata.inputs.as_slice() else {
        return Err(BinaryError::Raw(format!(
            "it needs a model with exactly one input, and model {} has {}",
            metadata.name,
            metadata.inputs.len()
        ))
        .into());
    };
    let datatype: ironflow_loader::DataType = input
        .datatype
        .parse()
        .map_err(|e| BinaryError::Raw(format!("input {:?}: {e}", input.name)))?;
    let (shape, data) = match datatype.size_of() {
        None => {
            let len = u32::try_from(body.len())
                .map_err(|_| BinaryError::Raw("a BYTES element over 4 GiB".into()))?;
            let mut data = Vec::with_capacity(body.len() + 4);
            data.extend_from_slice(&len.to_le_bytes());
            data.extend_from_slice(&body);
            let shape = input.shape.iter().map(|_| 1).collect::<Vec<i64>>();
            (
                if shape.is_empty() { vec![1] } else { shape },
                Bytes::from(data),
            )
        }
        Some(size) => (
            raw_shape(&input.name, &input.shape, size, body.len())?,
            body,
        ),
    };
    let mut parameters = Parameters::new();
    parameters.insert(BINARY_DATA_SIZE.into(), Value::from(data.len()));
    let request = InferRequest {
        id: None,
        parameters: None,
        inputs: vec![RequestInput {
            name: input.name.clone(),
            shape: shape.into(),
            datatype: input.datatype.into(),
            parameters: Some(parameters),
            data: None,
        }],
        outputs: None,
    };
    Ok((request, data))
}

/// A guess at a JSON response's size, so it is written without regrowing its buffer: a fixed
/// part, then per output its name and up to 24 bytes per element (capped at 64 MiB).
fn json_capacity(response: &InferResponse) -> usize {
    let outputs: usize = response
        .outputs
        .iter()
        .map(|o| {
            let elements = o.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            let data = if o.data.is_some() {
                elements.unwrap_or(0)
            } else {
                0
            };
            128 + o.name.len() + data.saturating_mul(24)
        })
        .fold(0usize, usize::saturating_add);
    (192 + response.model_name.len() + response.id.len())
        .saturating_add(outputs)
        .min(64 << 20)
}

/// The metadata shape with the batch set to 1 and at most one other `-1` deduced from the size.
fn raw_shape(
    name: &str,
    shape: &[i64],
    element_size: usize,
    bytes: usize,
) -> Result<Vec<i64>, BinaryError> {
    let mismatch = || {
        BinaryError::Raw(format!(
            "{bytes} bytes do not fit input {name:?} of shape {shape:?} with elements of {element_size} bytes"
        ))
    };
    if !bytes.is_multiple_of(element_size) {
        return Err(mismatch());
    }
    let elements = (bytes / element_size) as i64;
    let mut out: Vec<i64> = shape.to_vec();
    if out.is_empty() {
        out.push(-1);
    }
    if out[0] < 0 {
        out[0] = 1;
    }
    let free: Vec<usize> = (0..out.len()).filter(|&i| out[i] < 0).collect();
    let known: i64 = out.iter().filter(|d| **d >= 0).product();
    match free.as_slice() {
        [] if known == elements => Ok(out),
        [i] if known > 0 && elements % known == 0 => {
            out[*i] = elements / known;
            Ok(out)
        }
        _ => Err(mismatch()),
    }
}

/// The response: JSON, or the JSON followed by the binary outputs' data, with the CloudEvents
/// headers of `cloudevents`, then `Vary: accept-encoding` when `vary` is set and the router's
/// compression layer would add it (`fast::vary`: its default predicate passes both content
/// types, so only its size rule, 32 bytes or more, is left to check).
pub fn respond(
    mut response: InferResponse,
    cloudevents: &CloudEvents,
    vary: bool,
) -> Result<Response, ServeError> {
    let (body, headers) = match response.binary.take() {
        None => {
            let mut json = Vec::with_capacity(json_capacity(&response));
            crate::codec::write_response(&mut json, &response)
                .map_err(|e| ServeError::Internal(e.to_string()))?;
            let vary = vary && json.len() >= VARY_MIN_SIZE;
            let headers = cloudevents.json_headers(&response.model_name, &response.id, vary);
            (json, headers)
        }
        Some(binary) => {
            // Content type, binary length, nine CloudEvents headers, `Vary`.
            let mut headers = HeaderMap::with_capacity(12);
            let mut body = Vec::with_capacity(json_capacity(&response) + binary.len());
            crate::codec::write_response(&mut body, &response)
                .map_err(|e| ServeError::Internal(e.to_string()))?;
            let length = body.len();
            body.extend_from_slice(&binary);
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(HEADER_LENGTH, HeaderValue::from(length));
            cloudevents.insert(&mut headers, &response.model_name, &response.id);
            if vary && body.len() >= VARY_MIN_SIZE {
                headers.append(VARY, HeaderValue::from_static("accept-encoding"));
            }
            (body, headers)
        }
    };
    let mut answer = Response::new(Body::from(body));
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// The smallest body tower-http's `DefaultPredicate` compresses (`SizeAbove`'s default).
const VARY_MIN_SIZE: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_shapes_take_batch_one() {
        assert_eq!(raw_shape("x", &[-1, 4], 4, 16), Ok(vec![1, 4]));
        assert_eq!(raw_shape("x", &[-1, -1], 8, 24), Ok(vec![1, 3]));
        assert_eq!(raw_shape("x", &[-1], 4, 4), Ok(vec![1]));
        assert!(raw_shape("x", &[-1, 4], 4, 12).is_err());
        assert!(raw_shape("x", &[-1, 4], 4, 15).is_err());
    }
}
