//! The outputs of MLServer's sklearn / xgboost / lightgbm runtimes: one output per model method
//! the request names in `outputs` (`predict` when it names none), encoded by MLServer's
//! `NumpyCodec` (a 1-D result is reported as `[n, 1]`). A name the runtime does not offer is an
//! error, worded as the runtime words it.

use crate::error::PredictError;
use crate::model::{NamedTensor, Predictor};
use crate::Tensor;

/// Which outputs an MLServer runtime model offers and which a request gets by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChoice {
    /// The runtime's class name for messages (`SKLearnModel`, `XGBoostModel`, ...).
    pub runtime: &'static str,
    /// The output names a request may ask for (`predict`, `predict_proba`).
    pub valid: Vec<&'static str>,
    /// Those this model has (a regressor has no `predict_proba`).
    pub available: Vec<&'static str>,
    /// The model type, for the message when a valid output is missing (`XGBRegressor`, ...).
    pub model_type: String,
}

impl OutputChoice {
    /// The outputs to return for a request naming `requested` (in request order), or the
    /// runtime's error.
    pub fn select(&self, requested: &[&str]) -> Result<Vec<String>, PredictError> {
        if requested.is_empty() {
            return Ok(self
                .available
                .first()
                .map(|s| vec![(*s).to_owned()])
                .unwrap_or_default());
        }
        for name in requested {
            if !self.valid.contains(name) {
                let quoted: Vec<String> = self.valid.iter().map(|v| format!("'{v}'")).collect();
                return Err(PredictError::Output(format!(
                    "{} only supports {} as outputs ({name} was received)",
                    self.runtime,
                    quoted.join(" and ")
                )));
            }
            if !self.available.contains(name) {
                return Err(PredictError::Output(format!(
                    "{} models do not support '{name}",
                    self.model_type
                )));
            }
        }
        Ok(requested.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// One method of a runtime model: a predictor whose first output is the method's result.
pub(crate) struct Method {
    pub(crate) name: &'static str,
    pub(crate) predictor: Box<dyn Predictor>,
    /// Turns `[n]` binary probabilities into `[n, 2]` (`XGBClassifier.predict_proba`).
    pub(crate) two_columns: bool,
}

/// A runtime model: runs the methods a request asks for (all of them for `predict`), as
/// MLServer's runtimes call only the requested methods.
pub(crate) struct RuntimePredictor {
    pub(crate) methods: Vec<Method>,
}

impl Predictor for RuntimePredictor {
    fn plan(&self) -> crate::plan::Plan {
        self.methods
            .first()
            .map(|m| m.predictor.plan())
            .unwrap_or_default()
    }

    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        self.predict_outputs(inputs, None)
    }

    fn predict_outputs(
        &self,
        inputs: Vec<NamedTensor>,
        outputs: Option<&[String]>,
    ) -> Result<Vec<NamedTensor>, PredictError> {
        let methods: Vec<&Method> = self
            .methods
            .iter()
            .filter(|m| outputs.is_none_or(|names| names.iter().any(|n| n == m.name)))
            .collect();
        let mut out = Vec::with_capacity(methods.len());
        let last = methods.len().saturating_sub(1);
        let mut inputs = Some(inputs);
        for (i, method) in methods.into_iter().enumerate() {
            let these = if i == last {
                inputs.take().unwrap_or_default()
            } else {
                inputs.clone().unwrap_or_default()
            };
            let result = method.predictor.predict(these)?;
            let tensor = result
                .into_iter()
                .next()
                .ok_or_else(|| PredictError::Runtime("the model returned no output".into()))?
                .tensor;
            let tensor = if method.two_columns {
                two_columns(tensor)?
            } else {
                tensor
            };
            out.push(NamedTensor::new(method.name, as_column(tensor)?));
        }
        Ok(out)
    }
}

/// `[n]` as `[n, 1]`, as MLServer's NumpyCodec reports a 1-D result.
pub(crate) fn as_column(tensor: Tensor) -> Result<Tensor, PredictError> {
    if tensor.rank() != 1 {
        return Ok(tensor);
    }
    let n = tensor.shape().first().copied().unwrap_or(0);
    tensor
        .into_shape(&[n, 1])
        .map_err(|e| PredictError::Runtime(format!("output shape: {e}")))
}

/// `[n]` probabilities of the positive class as `[n, 2]` rows `[1 - p, p]` (in `f32`).
fn two_columns(tensor: Tensor) -> Result<Tensor, PredictError> {
    if tensor.rank() != 1 {
        return Ok(tensor);
    }
    let p = tensor
        .try_as_plain_ram()
        .and_then(|p| p.as_slice::<f32>())
        .map_err(|e| PredictError::Runtime(e.to_string()))?;
    let mut values = Vec::with_capacity(p.len() * 2);
    for &v in p {
        values.push(1.0f32 - v);
        values.push(v);
    }
    crate::outputs::tensor(values, p.len(), 2)
}
