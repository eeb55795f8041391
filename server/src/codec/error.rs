//! Why a wire message cannot be decoded: the codec's own errors, free of any server type (the
//! server maps [`CodecError`] to its HTTP status and gRPC code once, in `crate::error`).

use ironflow_loader::DataType;

/// Why a request input cannot be decoded into a tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datatype is not one the protocol defines.
    #[error("input {name:?}: {source}")]
    Datatype {
        /// The input.
        name: String,
        /// The parse error.
        source: ironflow_loader::datatype::UnknownDataType,
    },
    /// A negative dimension.
    #[error("input {name:?}: shape {shape:?} has a negative dimension")]
    NegativeDimension {
        /// The input.
        name: String,
        /// The shape sent.
        shape: Vec<i64>,
    },
    /// The data does not parse as the datatype's elements.
    #[error("input {name:?} ({datatype}): {message}")]
    Data {
        /// The input.
        name: String,
        /// The declared datatype.
        datatype: DataType,
        /// What is wrong.
        message: String,
    },
    /// An input with neither `data` nor binary data.
    #[error("input {name:?} has no data (and no parameters.binary_data_size)")]
    NoData {
        /// The input.
        name: String,
    },
    /// The element count differs from the shape's product.
    #[error("input {name:?}: shape {shape:?} needs {expected} elements, but data has {got}")]
    ElementCount {
        /// The input.
        name: String,
        /// The shape sent.
        shape: Vec<i64>,
        /// The shape's product.
        expected: usize,
        /// The element count.
        got: usize,
    },
}

/// Why the binary part of a request does not fit its JSON header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// The `Inference-Header-Content-Length` header is not a byte count.
    #[error("invalid Inference-Header-Content-Length {value:?}: expected a byte count")]
    HeaderLength {
        /// The header value.
        value: String,
    },
    /// The header is longer than the body.
    #[error("Inference-Header-Content-Length is {header}, but the body has only {body} bytes")]
    HeaderBeyondBody {
        /// The header length.
        header: usize,
        /// The body length.
        body: usize,
    },
    /// A `binary_data_size` that is not a byte count.
    #[error(
        "input {name:?}: parameters.binary_data_size must be a non-negative integer, got {value}"
    )]
    Size {
        /// The input.
        name: String,
        /// The value sent.
        value: String,
    },
    /// An input both with `data` and `binary_data_size`.
    #[error("input {name:?} has both data and parameters.binary_data_size")]
    Both {
        /// The input.
        name: String,
    },
    /// More binary data claimed than the body holds.
    #[error("input {name:?} has binary_data_size {size}, but only {left} bytes of binary data are left in the body")]
    Truncated {
        /// The input.
        name: String,
        /// Its size.
        size: usize,
        /// The bytes left.
        left: usize,
    },
    /// Binary data nobody claimed.
    #[error("the body has {extra} bytes of binary data after the inputs' binary_data_size")]
    Trailing {
        /// The unclaimed bytes.
        extra: usize,
    },
    /// A raw binary request the model cannot take.
    #[error("raw binary request (Inference-Header-Content-Length: 0): {0}")]
    Raw(String),
    /// Binary outputs were asked of a Server-Sent Events stream.
    #[error(
        "binary outputs cannot travel in an event stream (infer_stream, generate_stream): ask for JSON outputs"
    )]
    StreamedBinary,
}

/// MLflow's explanation of the 2.0 scoring protocol change (`SCORING_PROTOCOL_CHANGE_INFO`).
const PROTOCOL_CHANGE_INFO: &str = "IMPORTANT: The MLflow Model scoring protocol has changed in \
MLflow version 2.0. If you are seeing this error, you are likely using an outdated scoring request \
format. To resolve the error, either update your request format or adjust your MLflow Model's \
requirements file to specify an older version of MLflow (for example, change the 'mlflow' \
requirement specifier to 'mlflow==1.30.0'). If you are making a request using the MLflow client \
(e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in order to \
use the new request format. For more information about the updated MLflow Model scoring protocol \
in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";

/// Why an `/invocations` request cannot be read. Every case is HTTP 400 with `{"error": ...}`,
/// as MLServer's MLflow runtime answers (MLflow's own server answers 415 for content types).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoringError {
    /// Neither JSON nor CSV, or a charset other than UTF-8.
    #[error(
        "This predictor only supports the following content types, ['text/csv', 'application/json']. Got '{0}'."
    )]
    UnsupportedContentType(String),
    /// The body is not valid JSON (or not UTF-8).
    #[error("Invalid input. Ensure that input is a valid JSON formatted string. Error: '{0}'")]
    InvalidJson(String),
    /// Not a dict with exactly one of the request forms.
    #[error("The input must be a JSON dictionary with exactly one of the input fields {{'dataframe_split', 'inputs', 'dataframe_records', 'instances'}}. Received dictionary with input fields: {0}. {PROTOCOL_CHANGE_INFO}")]
    Format(String),
    /// The request form is recognised but its content is malformed.
    #[error("{0}")]
    Input(String),
}

/// Any failure of the codec's decoding steps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// An input cannot be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The binary part of a request does not fit its JSON header.
    #[error(transparent)]
    Binary(#[from] BinaryError),
    /// An MLflow scoring request (`/invocations`) cannot be read.
    #[error(transparent)]
    Scoring(#[from] ScoringError),
}
