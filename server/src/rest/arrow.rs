//! The v2 infer routes with an Arrow IPC stream body (`Content-Type:
//! application/vnd.apache.arrow.stream`): each column of the record batches is one input,
//! typed and enforced as `ironflow predict` does (`crate::arrow_io`), then the same pipeline and
//! the same v2 JSON response as a JSON request. Only decoding lives here.

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use ironflow_loader::{NamedTensor, Tensor};

use crate::arrow_io::{batch_to_inputs, read};
use crate::codec::binary::BinaryOutputs;
use crate::error::ServeError;
use crate::pipeline::{Inputs, Request, RequestParameters};
use crate::served::ServedModel;

/// The media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// Whether the request body is an Arrow IPC stream.
pub fn is_arrow(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(ARROW_STREAM))
}

/// The pipeline request of an Arrow stream body: its batches' columns, rows concatenated.
pub fn decode(served: &ServedModel, body: Bytes) -> Result<(Request, BinaryOutputs), ServeError> {
    let bad = |e: crate::arrow_io::ArrowError| {
        ServeError::MalformedBody(format!("Arrow IPC stream body: {e}"))
    };
    let schema = served.model.input_schema();
    let batches = read::ipc_stream(std::io::Cursor::new(body)).map_err(bad)?;
    let mut parts: Vec<Vec<NamedTensor>> = Vec::new();
    for batch in batches {
        parts.push(batch_to_inputs(&batch.map_err(bad)?, schema).map_err(bad)?);
    }
    let inputs = concat(parts)?;
    let request = Request {
        id: None,
        parameters: RequestParameters::default(),
        inputs: Inputs::Tensors(inputs),
        outputs: None,
    };
    Ok((request, BinaryOutputs::default()))
}

/// The inputs of every batch, stacked along the rows.
fn concat(parts: Vec<Vec<NamedTensor>>) -> Result<Vec<NamedTensor>, ServeError> {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Err(ServeError::MalformedBody(
            "the Arrow IPC stream holds no record batch".into(),
        ));
    };
    let rest: Vec<Vec<NamedTensor>> = parts.collect();
    if rest.is_empty() {
        return Ok(first);
    }
    first
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let mut tensors = vec![input.tensor];
            for part in &rest {
                tensors.push(part.get(i).map(|t| t.tensor.clone()).ok_or_else(|| {
                    ServeError::MalformedBody("the Arrow batches have different columns".into())
                })?);
            }
            let stacked = Tensor::stack_tensors(0, &tensors).map_err(|e| {
                ServeError::MalformedBody(format!("cannot join the Arrow batches: {e}"))
            })?;
            Ok(NamedTensor::new(input.name, stacked))
        })
        .collect()
}
