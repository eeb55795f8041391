//! The v2 / Open Inference Protocol JSON messages and their conversion to and from the loader's
//! tensors, following MLServer's conventions where the protocol leaves a choice.

pub mod binary;
pub mod content_type;
mod decode;
mod elements;
mod encode;
pub mod input_data;
pub mod params;
pub mod raw;
mod response_json;
mod scan;

pub use binary::BinaryError;
pub use content_type::{apply_content_types, ContentType, ContentTypeError, TaggedInput};
pub use decode::{decode_input, DecodeError};
pub use encode::{encode_output, output_layout, OutputData};
pub use input_data::{Elements, InputData};
pub use params::ParamsError;
pub use response_json::write_response;
pub use scan::scan_request;

use std::borrow::Cow;
use std::collections::BTreeMap;

use ironflow_loader::tensor::TVec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Parameters of a request, an input, an output or a response: string, number or bool values.
pub type Parameters = BTreeMap<String, Value>;

/// `POST /v2/models/{name}/infer` body.
#[derive(Debug, Deserialize)]
pub struct InferRequest {
    /// Request id, echoed in the response.
    #[serde(default)]
    pub id: Option<String>,
    /// Request parameters.
    #[serde(default)]
    pub parameters: Option<Parameters>,
    /// The input tensors.
    pub inputs: Vec<RequestInput>,
    /// Requested outputs (accepted; every output is returned, as MLServer does).
    #[serde(default)]
    pub outputs: Option<Vec<RequestOutput>>,
}

/// One input tensor of a request. Its `Deserialize` (in [`input_data`]) parses `data` straight
/// into a typed buffer when the datatype precedes it, and keeps the text otherwise.
#[derive(Debug)]
pub struct RequestInput {
    /// The input name.
    pub name: String,
    /// Its shape (inline up to four dimensions: no allocation for the shapes requests carry).
    pub shape: TVec<i64>,
    /// Its v2 datatype name: borrowed when it is one the protocol defines (no allocation),
    /// owned otherwise (kept for the error message).
    pub datatype: Cow<'static, str>,
    /// Input parameters.
    pub parameters: Option<Parameters>,
    /// The elements, flat or nested, row-major; absent when they travel as binary data
    /// (`parameters.binary_data_size`, COMPAT.md §3.3).
    pub data: Option<InputData>,
}

/// A requested output.
#[derive(Debug, Deserialize)]
pub struct RequestOutput {
    /// The output name.
    pub name: String,
    /// Output parameters.
    #[serde(default)]
    pub parameters: Option<Parameters>,
}

/// The inference response.
#[derive(Debug, Serialize)]
pub struct InferResponse {
    /// The model that answered.
    pub model_name: String,
    /// Its version, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// The request id, or a generated UUID.
    pub id: String,
    /// Response parameters (`content_type`).
    pub parameters: Parameters,
    /// The output tensors.
    pub outputs: Vec<ResponseOutput>,
    /// The binary data of the outputs sent as binary (in output order), which follows the
    /// JSON in the body; `None` when every output is JSON.
    #[serde(skip)]
    pub binary: Option<Vec<u8>>,
}

/// One output tensor of a response.
#[derive(Debug, Serialize)]
pub struct ResponseOutput {
    /// The output name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its v2 datatype.
    pub datatype: &'static str,
    /// Output parameters (`content_type`, and `binary_data_size` for a binary output).
    pub parameters: Parameters,
    /// The elements, flat, row-major; NaN as `null`. Absent for a binary output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<OutputData>,
}

/// The `content_type` parameter of a parameter map, if set.
pub fn content_type(parameters: Option<&Parameters>) -> Option<&str> {
    parameters?.get("content_type")?.as_str()
}

/// The transport-neutral decoding step every inference path (REST JSON, REST binary, gRPC) runs
/// between reading its wire form and predicting, for the model `served`: the MLflow params in the
/// request's content types are applied ([`content_type`]), then the MLflow params in the request
/// parameters are checked against its signature's params schema ([`params`]).
pub fn prepare_inputs(
    served: &crate::state::ServedModel,
    request_parameters: Option<&Parameters>,
    inputs: Vec<TaggedInput>,
) -> Result<Vec<ironflow_loader::NamedTensor>, crate::error::ServeError> {
    let inputs = apply_content_types(&served.metadata, request_parameters, inputs)?;
    params::enforce_params(
        served.model.params_schema(),
        params::request_params(request_parameters),
    )?;
    Ok(inputs)
}
