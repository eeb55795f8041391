//! The loader's errors: [`LoadError`] when a model directory cannot be turned into a runnable
//! model, [`PredictError`] when a request's tensors do not fit the loaded model.

use std::path::{Path, PathBuf};

use crate::datatype::DataType;

/// Why a model directory could not be loaded. Each variant names the file or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `MLmodel` file is not valid YAML of the expected shape.
    #[error("invalid MLmodel{}: {message}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    MlModel {
        /// The `MLmodel` file, when known.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
    /// The signature block cannot be parsed.
    #[error("invalid signature {field}: {message}")]
    Signature {
        /// `inputs`, `outputs[2]`, `params[0]`, ...
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A flavor block is missing a field or holds a value of the wrong type.
    #[error("invalid flavor {flavor:?} in MLmodel: {message}")]
    Flavor {
        /// The flavor name.
        flavor: String,
        /// What is wrong.
        message: String,
    },
    /// The model has no flavor ironflow can serve.
    #[error("no supported flavor in MLmodel (found {}{}; ironflow serves: {}): serve this model with MLServer (KServe's kserve-mlserver runtime, mlserver_mlflow.MLflowRuntime)", found.join(", "), loader_module.as_ref().map(|m| format!(", python_function loader_module {m}")).unwrap_or_default(), supported.join(", "))]
    UnsupportedFlavor {
        /// The flavors the MLmodel lists.
        found: Vec<String>,
        /// `python_function.loader_module`, when the MLmodel has one (`mlflow.pytorch`, ...).
        loader_module: Option<String>,
        /// The flavors this build serves.
        supported: Vec<&'static str>,
    },
    /// An ONNX model file could not be parsed, typed or optimised.
    #[error("cannot load ONNX model {}: {message}", path.display())]
    Onnx {
        /// The `.onnx` file.
        path: PathBuf,
        /// tract's error chain.
        message: String,
    },
    /// An XGBoost model file could not be read or compiled.
    #[error("cannot load XGBoost model {}: {source}", path.display())]
    Xgboost {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::xgboost::XgbError,
    },
    /// A LightGBM model file could not be read or compiled.
    #[error("cannot load LightGBM model {}: {source}", path.display())]
    Lightgbm {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::lightgbm::LgbError,
    },
    /// A CatBoost model file could not be read or compiled.
    #[error("cannot load CatBoost model {}: {source}", path.display())]
    Catboost {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::catboost::CbError,
    },
    /// A scikit-learn model file could not be read, or its estimators compiled.
    #[error("cannot load scikit-learn model {}: {message}", path.display())]
    Sklearn {
        /// The model file (`model.pkl`, `model.skops`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An MLServer `implementation` ironflow does not serve (a custom Python runtime).
    #[error("model implementation {implementation:?} is a Python runtime ironflow cannot run (ironflow serves {served}); serve this model with MLServer (KServe's kserve-mlserver runtime)")]
    UnsupportedImplementation {
        /// The implementation named.
        implementation: String,
        /// The implementations ironflow serves.
        served: String,
    },
    /// No model file where one was expected.
    #[error("no model in {}{}: looked for {looked_for} (or exactly one model file)", path.display(), runtime.map(|r| format!(" for {r}")).unwrap_or_default())]
    NoModelFile {
        /// The folder searched.
        path: PathBuf,
        /// The runtime whose files were looked for, if one was named.
        runtime: Option<&'static str>,
        /// The file names looked for.
        looked_for: String,
    },
    /// A joblib file that cannot be read.
    #[error("cannot read joblib file {}: {source}", path.display())]
    Joblib {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: crate::joblib::JoblibError,
    },
    /// The model uses an estimator class ironflow does not implement.
    #[error("{}{class} is not supported", if at.is_empty() { String::new() } else { format!("{at} -> ") })]
    Unsupported {
        /// The full Python class path.
        class: String,
        /// Where inside the model (`Pipeline.steps[1]`; empty for the root object).
        at: String,
    },
}

impl LoadError {
    /// Attaches the `MLmodel` path to a parse error that lacks it.
    pub fn at(self, path: &Path) -> Self {
        match self {
            Self::MlModel {
                path: None,
                message,
            } => Self::MlModel {
                path: Some(path.to_owned()),
                message,
            },
            other => other,
        }
    }
}

/// Why a request's tensors cannot be run through a loaded model. All are the client's fault
/// except [`PredictError::Runtime`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PredictError {
    /// The request names an input the model does not have.
    #[error("unknown input {name:?}: the model takes {}", expected.join(", "))]
    UnknownInput {
        /// The name sent.
        name: String,
        /// The names the model takes.
        expected: Vec<String>,
    },
    /// A required input is missing.
    #[error("missing input {name:?}")]
    MissingInput {
        /// The missing input.
        name: String,
    },
    /// The same input was sent twice.
    #[error("input {name:?} is given more than once")]
    DuplicateInput {
        /// The repeated input.
        name: String,
    },
    /// An input's datatype cannot be converted to what the model takes.
    #[error("input {name:?} has datatype {got}, but the model takes {expected}")]
    Datatype {
        /// The input.
        name: String,
        /// The datatype sent.
        got: DataType,
        /// The datatype the model takes.
        expected: DataType,
    },
    /// An input's shape does not fit the model's.
    #[error("input {name:?} has shape {got:?}, but the model takes {expected:?} (-1: any size)")]
    Shape {
        /// The input.
        name: String,
        /// The shape sent.
        got: Vec<usize>,
        /// The shape the model takes.
        expected: Vec<i64>,
    },
    /// Inputs disagree on the number of rows.
    #[error("input {name:?} has {got} rows, but {first:?} has {expected}")]
    RowCount {
        /// The input.
        name: String,
        /// Its row count.
        got: usize,
        /// The first input.
        first: String,
        /// The first input's row count.
        expected: usize,
    },
    /// A value of a well-typed input the model cannot take (an unknown category, a NaN the
    /// model forbids, a number out of range).
    #[error("input {name:?}: {message}")]
    InvalidValue {
        /// The input.
        name: String,
        /// What is wrong with its values.
        message: String,
    },
    /// The model failed while running on valid inputs.
    #[error("model failed to run: {0}")]
    Runtime(String),
    /// The request asks for an output the model does not offer (MLServer runtimes' wording).
    #[error("{0}")]
    Output(String),
}
