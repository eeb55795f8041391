//! The HTTP framing of the binary tensor data extension (Triton `extension_binary_data.md`,
//! docs/compat.md §3.3):
//!
//! - with `Inference-Header-Content-Length: <n>`, the body is `n` bytes of JSON header followed by
//!   the binary data of the inputs that set `parameters.binary_data_size`;
//! - with `Inference-Header-Content-Length: 0`, the whole body is the data of the model's single
//!   input, with batch size 1 (datatype and shape from the model's metadata);
//!
//! Without the header the body is plain JSON. Gzip request bodies are inflated before this runs.
//! The response side of the extension is `rest/response.rs`.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName};
use serde_json::Value;

use super::body::RawBody;
use crate::codec::binary::BINARY_DATA_SIZE;
use crate::codec::metadata::ModelMetadata;
use crate::codec::{BinaryError, InferRequest, Parameters, RequestInput};
use crate::error::ServeError;

/// The header giving the length of the JSON part of a binary request or response.
pub const HEADER_LENGTH: HeaderName = HeaderName::from_static("inference-header-content-length");

/// Splits a request body into its JSON header, parsed, and the binary data of its inputs (empty
/// for a plain JSON body). A raw binary request (`Inference-Header-Content-Length: 0`) becomes a
/// request for the model's single input, from its `metadata`.
pub fn split(
    metadata: &ModelMetadata,
    headers: &HeaderMap,
    bytes: Bytes,
) -> Result<(InferRequest, Bytes), ServeError> {
    Ok(match header_length(headers)? {
        None => (RawBody(bytes).parse_request()?, Bytes::new()),
        Some(0) => raw_request(metadata, bytes)?,
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
    })
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
