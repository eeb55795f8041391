//! A loaded, compiled model and the tensors that go in and out of it.

use std::fmt;

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::{MlModel, ParamsSchema, Schema, Signature};
use crate::Tensor;

/// The MLServer implementation that serves an MLflow model directory
/// (`crate::runtime::Runtime::Mlflow`'s name; kept here so this file does not import the runtimes).
pub const MLFLOW_IMPLEMENTATION: &str = "mlserver_mlflow.MLflowRuntime";

/// A named tensor, as requests carry inputs and models return outputs.
#[derive(Debug, Clone)]
pub struct NamedTensor {
    /// The input or output name.
    pub name: String,
    /// The data.
    pub tensor: Tensor,
    /// Which elements (row-major) are missing: a JSON `null` in a string or boolean column, which
    /// MLflow's scoring server reads as a pandas `None` (the element itself holds a placeholder,
    /// `""` or `false`). `None` when no element is missing.
    pub nulls: Option<Vec<bool>>,
}

impl NamedTensor {
    /// Pairs a name with a tensor.
    pub fn new(name: impl Into<String>, tensor: Tensor) -> Self {
        Self {
            name: name.into(),
            tensor,
            nulls: None,
        }
    }

    /// Marks elements as missing (`nulls[i]` for element `i`, row-major); no mark when none is.
    pub fn with_nulls(mut self, nulls: Vec<bool>) -> Self {
        self.nulls = nulls.iter().any(|n| *n).then_some(nulls);
        self
    }

    /// The index of the first missing element, if any.
    pub fn first_null(&self) -> Option<usize> {
        self.nulls.as_ref()?.iter().position(|n| *n)
    }
}

/// The name, datatype and shape of a model input or output (`-1` for a dimension of any size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor name.
    pub name: String,
    /// Its v2 datatype.
    pub datatype: DataType,
    /// Its shape; `-1` marks a dimension of any size (the batch).
    pub shape: Vec<i64>,
}

/// What a flavor compiles a model into: a synchronous, thread-safe predict function.
///
/// Implementations hold only immutable, prepared state, so one instance serves concurrent
/// requests; `predict` may take milliseconds and is called off the async executor.
pub trait Predictor: Send + Sync {
    /// Runs the model on the request's inputs and returns its outputs in model order.
    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError>;

    /// Runs the model for the outputs named `outputs` only (`None`: all of them). A model whose
    /// outputs are separate computations (an MLServer runtime's `predict` and `predict_proba`)
    /// runs just those; by default every output is computed and the caller keeps what it asked
    /// for.
    fn predict_outputs(
        &self,
        inputs: Vec<NamedTensor>,
        outputs: Option<&[String]>,
    ) -> Result<Vec<NamedTensor>, PredictError> {
        let _ = outputs;
        self.predict(inputs)
    }

    /// What the predictor runs, for `ironflow inspect` (empty when it does not say).
    fn plan(&self) -> crate::plan::Plan {
        crate::plan::Plan::default()
    }
}

/// How the model's pyfunc hands its outputs back, which decides how MLServer encodes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStyle {
    /// A dict of named arrays (mlflow's ONNX wrapper): one v2 output per key, request
    /// `content_type` `dict`.
    Dict,
    /// One array (`model.predict` of scikit-learn and friends): one v2 output named `output-1`,
    /// `content_type` `np`.
    Array,
    /// An MLServer sklearn / xgboost / lightgbm runtime model (or a bare ONNX file): outputs
    /// named by method (or graph), and no response-level `content_type`, as those runtimes answer.
    Runtime,
}

impl OutputStyle {
    /// The response-level `content_type` MLServer sets for this style (`None`: no response
    /// `parameters`, as MLServer's sklearn/xgboost/lightgbm runtimes answer).
    pub fn response_content_type(self) -> Option<&'static str> {
        match self {
            Self::Dict => Some("dict"),
            Self::Array => Some("np"),
            Self::Runtime => None,
        }
    }

    /// The response-level `content_type` of the MLflow runtime's styles (`np` for
    /// [`OutputStyle::Runtime`], whose responses carry none: see
    /// [`OutputStyle::response_content_type`]).
    pub fn content_type(self) -> &'static str {
        self.response_content_type().unwrap_or("np")
    }
}

/// A model ready to serve: its MLmodel description, its signature and its compiled predictor.
pub struct LoadedModel {
    /// The parsed `MLmodel` file.
    pub mlmodel: MlModel,
    /// The parsed signature, if the model was logged with one.
    pub signature: Option<Signature>,
    /// The flavor the model is served through (`onnx`, ...).
    pub flavor: &'static str,
    /// The inputs the model runtime takes (from the model file itself).
    pub inputs: Vec<TensorInfo>,
    /// The outputs the model runtime returns (from the model file itself).
    pub outputs: Vec<TensorInfo>,
    /// How outputs are handed back (a dict of arrays for ONNX, one array otherwise).
    pub output_style: OutputStyle,
    /// For an MLServer runtime model, which outputs a request may name and which it gets by
    /// default ([`LoadedModel::select_outputs`]); `None`: every output is returned.
    pub output_choice: Option<crate::runtime::OutputChoice>,
    /// The MLServer implementation that serves this model (`mlserver_sklearn.SKLearnModel`,
    /// `mlserver_mlflow.MLflowRuntime`, `onnx` for a bare ONNX file).
    pub implementation: &'static str,
    predictor: Box<dyn Predictor>,
}

impl LoadedModel {
    /// Wraps a flavor's compiled predictor with the model's description.
    pub fn new(
        mlmodel: MlModel,
        signature: Option<Signature>,
        flavor: &'static str,
        inputs: Vec<TensorInfo>,
        outputs: Vec<TensorInfo>,
        predictor: Box<dyn Predictor>,
    ) -> Self {
        let output_style = if flavor == "onnx" {
            OutputStyle::Dict
        } else {
            OutputStyle::Array
        };
        Self {
            mlmodel,
            signature,
            flavor,
            inputs,
            outputs,
            output_style,
            output_choice: None,
            implementation: MLFLOW_IMPLEMENTATION,
            predictor,
        }
    }

    /// Marks the model as served by an MLServer runtime (or as a bare ONNX file): responses carry
    /// no response-level `content_type`, and `choice` (if any) selects the outputs.
    pub fn as_runtime(
        mut self,
        implementation: &'static str,
        choice: Option<crate::runtime::OutputChoice>,
    ) -> Self {
        self.output_style = OutputStyle::Runtime;
        self.output_choice = choice;
        self.implementation = implementation;
        self
    }

    /// The names of the outputs to return for a request naming `requested` (`None`: all of
    /// them), or the runtime's error for a name it does not offer.
    pub fn select_outputs(&self, requested: &[&str]) -> Result<Option<Vec<String>>, PredictError> {
        match &self.output_choice {
            None => Ok(None),
            Some(choice) => choice.select(requested).map(Some),
        }
    }

    /// The signature's input schema, if the model was logged with one.
    pub fn input_schema(&self) -> Option<&Schema> {
        self.signature.as_ref()?.inputs.as_ref()
    }

    /// The signature's params schema (MLflow >= 2.6), if the model was logged with one.
    pub fn params_schema(&self) -> Option<&ParamsSchema> {
        self.signature.as_ref()?.params.as_ref()
    }

    /// The compiled plan: the steps and the engine each runs on (`ironflow inspect`).
    pub fn plan(&self) -> crate::plan::Plan {
        self.predictor.plan()
    }

    /// Runs the model. Thread-safe; blocking (call it from a blocking pool).
    pub fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        self.predictor.predict(inputs)
    }

    /// [`LoadedModel::predict`] computing only the outputs `outputs` names (from
    /// [`LoadedModel::select_outputs`]; `None`: all). The result may still hold others.
    pub fn predict_outputs(
        &self,
        inputs: Vec<NamedTensor>,
        outputs: Option<&[String]>,
    ) -> Result<Vec<NamedTensor>, PredictError> {
        self.predictor.predict_outputs(inputs, outputs)
    }
}

impl fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedModel")
            .field("flavor", &self.flavor)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}
