//! The v2 inference request and response messages (`POST /v2/models/{name}/infer`).

use serde::{Deserialize, Serialize};

use super::encode::ResponseOutput;
use super::input_data::RequestInput;
use super::Parameters;

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
