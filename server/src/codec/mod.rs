//! The wire messages and their conversion to and from the loader's tensors: the v2 / Open
//! Inference Protocol JSON messages, the binary tensor extension, the model metadata, MLServer's
//! content types and MLflow's scoring bodies, following MLServer's conventions where the protocol
//! leaves a choice.
//!
//! A leaf: nothing here knows the server (its state, its errors or its transports). Decoding fails
//! with the codec's own errors ([`error`]), which the server maps to statuses once.

pub mod binary;
pub mod content_type;
mod decode;
mod elements;
mod encode;
pub mod error;
pub mod input_data;
pub mod message;
pub mod metadata;
pub mod mlflow_input;
pub mod params;
pub mod raw;
mod response_json;
mod scan;

pub use content_type::{apply_content_types, ContentType, ContentTypeError, TaggedInput};
pub use decode::decode_input;
pub use encode::{encode_output, output_layout, OutputData, ResponseOutput};
pub use error::{BinaryError, CodecError, DecodeError, ScoringError};
pub use input_data::{Elements, InputData, RequestInput};
pub use message::{InferRequest, InferResponse, RequestOutput};
pub use params::ParamsError;
pub use response_json::write_response;
pub use scan::scan_request;

use std::collections::BTreeMap;

use serde_json::Value;

/// Parameters of a request, an input, an output or a response: string, number or bool values.
pub type Parameters = BTreeMap<String, Value>;

/// The `content_type` parameter of a parameter map, if set.
pub fn content_type(parameters: Option<&Parameters>) -> Option<&str> {
    parameters?.get("content_type")?.as_str()
}
