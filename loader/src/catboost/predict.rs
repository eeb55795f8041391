//! [`CbPredictor`]: a compiled CatBoost model answering as `mlflow.pyfunc` (the model class's
//! `predict`) or MLServer's catboost runtime (`CatBoostClassifier.predict`) does.

use serde_json::Value;

use super::compile::Compiled;
use super::error::CbError;
use super::model::Model;
use crate::binder::catboost::Binder;
use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::Signature;
use crate::model::{NamedTensor, Predictor, TensorInfo};
use crate::outputs::tensor;
use crate::tensor::Tensor;

/// What `predict` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// `RawFormulaVal`: `scale * sum + bias` (`CatBoost`, `CatBoostRanker`, most regressors).
    Raw,
    /// `Exponent`: `exp(raw)` (`CatBoostRegressor` with a Poisson or Tweedie loss).
    Exponent,
    /// `Class`: the label of the most probable class (`CatBoostClassifier`).
    Class,
    /// `Probability`: `[N, classes]` (sigmoid for binary and one-vs-all, softmax otherwise).
    Probability,
}

/// Class labels, in class-index order (`class_params.class_names`).
#[derive(Debug, Clone, PartialEq)]
enum Labels {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Str(Vec<String>),
}

/// A compiled CatBoost model.
#[derive(Debug)]
pub struct CbPredictor {
    compiled: Compiled,
    binder: Binder,
    prediction: Prediction,
    labels: Labels,
    /// The loss is `MultiClassOneVsAll` (a sigmoid per class).
    one_vs_all: bool,
    /// Binary `Class`: class 1 when the raw value exceeds this logit
    /// (`binclass_probability_threshold`, 0.5 by default, as a logit).
    logit_border: f64,
    output_name: String,
}

/// The loss function's name from the model's `params` (`loss_function.type`).
fn loss_function(model: &Model) -> Option<String> {
    let params: Value = serde_json::from_str(model.info.get("params")?).ok()?;
    Some(
        params
            .get("loss_function")?
            .get("type")?
            .as_str()?
            .to_owned(),
    )
}

fn labels(model: &Model) -> Result<Labels, CbError> {
    let classes = if model.dim == 1 { 2 } else { model.dim };
    let params: Option<Value> = model
        .info
        .get("class_params")
        .and_then(|s| serde_json::from_str(s).ok());
    let names = params
        .as_ref()
        .and_then(|p| p.get("class_names"))
        .and_then(Value::as_array)
        .filter(|n| !n.is_empty());
    let Some(names) = names else {
        return Ok(Labels::Int((0..classes as i64).collect()));
    };
    if names.len() != classes {
        return Err(CbError::field(
            "class_params",
            format!("{} class names for a {classes}-class model", names.len()),
        ));
    }
    let kind = params
        .as_ref()
        .and_then(|p| p.get("class_label_type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let bad = || {
        CbError::field(
            "class_params",
            format!("class names {names:?} do not match {kind:?}"),
        )
    };
    Ok(match kind {
        "String" => Labels::Str(
            names
                .iter()
                .map(|n| n.as_str().map(str::to_owned).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
        ),
        "Float" => Labels::Float(
            names
                .iter()
                .map(|n| n.as_f64().ok_or_else(bad))
                .collect::<Result<_, _>>()?,
        ),
        _ => Labels::Int(
            names
                .iter()
                .map(|n| n.as_i64().ok_or_else(bad))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// The logit of the model's `binclass_probability_threshold` (`set_probability_threshold`), or 0.
fn logit_border(model: &Model) -> Result<f64, CbError> {
    let Some(text) = model.info.get("binclass_probability_threshold") else {
        return Ok(0.0);
    };
    let p: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|p: &f64| *p > 0.0 && *p < 1.0)
        .ok_or_else(|| {
            CbError::field(
                "binclass_probability_threshold",
                format!("{text:?} is not a probability"),
            )
        })?;
    Ok((p / (1.0 - p)).ln())
}

impl CbPredictor {
    /// Compiles `model` to answer `prediction`, with requests shaped by `signature`; the one
    /// output is named `output_name`.
    pub(crate) fn new(
        model: &Model,
        prediction: Prediction,
        signature: Option<&Signature>,
        output_name: &str,
    ) -> Result<Self, CbError> {
        let compiled = Compiled::new(model)?;
        let binder = Binder::new(model, signature);
        let loss = loss_function(model).unwrap_or_default();
        let labels = match prediction {
            Prediction::Class | Prediction::Probability => labels(model)?,
            _ => Labels::Int(Vec::new()),
        };
        Ok(Self {
            compiled,
            binder,
            prediction,
            labels,
            one_vs_all: loss == "MultiClassOneVsAll",
            logit_border: logit_border(model)?,
            output_name: output_name.to_owned(),
        })
    }

    /// What `CatBoostRegressor.predict` returns for this model's loss (`Exponent` for Poisson and
    /// Tweedie, raw values otherwise); `RMSEWithUncertainty` is refused.
    pub(crate) fn regressor_prediction(model: &Model) -> Result<Prediction, CbError> {
        let loss = loss_function(model).unwrap_or_default();
        if loss.starts_with("Poisson") || loss.starts_with("Tweedie") {
            Ok(Prediction::Exponent)
        } else if loss == "RMSEWithUncertainty" {
            Err(CbError::Unsupported(
                "RMSEWithUncertainty predictions (mean and variance) are not implemented".into(),
            ))
        } else {
            Ok(Prediction::Raw)
        }
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.compiled.n_trees()
    }

    /// The input columns requests send.
    pub fn inputs(&self) -> Vec<TensorInfo> {
        self.binder.input_infos()
    }

    /// The one output.
    pub fn outputs(&self) -> Vec<TensorInfo> {
        let dim = self.compiled.dim();
        let (datatype, shape) = match self.prediction {
            Prediction::Class => (
                match self.labels {
                    Labels::Int(_) => DataType::Int64,
                    Labels::Float(_) => DataType::Fp64,
                    Labels::Str(_) => DataType::Bytes,
                },
                if dim > 1 { vec![-1, 1] } else { vec![-1] },
            ),
            Prediction::Probability => (DataType::Fp64, vec![-1, dim.max(2) as i64]),
            _ if dim > 1 => (DataType::Fp64, vec![-1, dim as i64]),
            _ => (DataType::Fp64, vec![-1]),
        };
        vec![TensorInfo {
            name: self.output_name.clone(),
            datatype,
            shape,
        }]
    }

    /// `RawFormulaVal` of bound rows.
    fn raw(&self, inputs: Vec<NamedTensor>) -> Result<(Vec<f64>, usize), PredictError> {
        let rows = self.binder.bind(inputs)?;
        let raw = self
            .compiled
            .raw(&rows)
            .map_err(|e| PredictError::Runtime(e.to_string()))?;
        Ok((raw, rows.n_rows))
    }

    /// Class probabilities from raw values (`[N, max(2, dim)]`, row-major).
    fn probabilities(&self, raw: &[f64]) -> Vec<f64> {
        let dim = self.compiled.dim();
        if dim == 1 {
            return raw
                .iter()
                .flat_map(|&x| {
                    let p = 1.0 / (1.0 + (-x).exp());
                    [1.0 - p, p]
                })
                .collect();
        }
        if self.one_vs_all {
            return raw.iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect();
        }
        let mut out = raw.to_vec();
        for row in out.chunks_mut(dim) {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            row.iter_mut().for_each(|v| *v /= sum);
        }
        out
    }

    /// The class index of each row: `raw > 0` for one dimension, else the first largest.
    fn classes(&self, raw: &[f64]) -> Vec<usize> {
        let dim = self.compiled.dim();
        if dim == 1 {
            return raw
                .iter()
                .map(|&x| usize::from(x > self.logit_border))
                .collect();
        }
        raw.chunks(dim)
            .map(|row| {
                let mut best = 0;
                for (i, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = i;
                    }
                }
                best
            })
            .collect()
    }

    fn label_tensor(&self, classes: &[usize]) -> Result<Tensor, PredictError> {
        fn pick<T: Clone + crate::tensor::Datum>(
            labels: &[T],
            classes: &[usize],
            width_one: bool,
        ) -> Result<Tensor, PredictError> {
            let values = classes
                .iter()
                .map(|&c| {
                    labels
                        .get(c)
                        .cloned()
                        .ok_or_else(|| PredictError::Runtime(format!("class {c} has no label")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let n = values.len();
            if width_one {
                let array = crate::tensor::ndarray::Array2::from_shape_vec((n, 1), values)
                    .map_err(|e| PredictError::Runtime(e.to_string()))?;
                Ok(array.into())
            } else {
                tensor(values, n, 1)
            }
        }
        let column = self.compiled.dim() > 1;
        match &self.labels {
            Labels::Int(l) => pick(l, classes, column),
            Labels::Float(l) => pick(l, classes, column),
            Labels::Str(l) => pick(l, classes, column),
        }
    }
}

impl Predictor for CbPredictor {
    fn plan(&self) -> crate::plan::Plan {
        let (trees, engine) = self.compiled.describe();
        crate::plan::Plan::single(format!("CatBoost ({trees} trees)"), engine)
    }

    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        let (raw, n_rows) = self.raw(inputs)?;
        let dim = self.compiled.dim();
        let out = match self.prediction {
            Prediction::Raw => tensor(raw, n_rows, dim)?,
            Prediction::Exponent => tensor(raw.iter().map(|x| x.exp()).collect(), n_rows, dim)?,
            Prediction::Probability => tensor(self.probabilities(&raw), n_rows, dim.max(2))?,
            Prediction::Class => self.label_tensor(&self.classes(&raw))?,
        };
        Ok(vec![NamedTensor::new(self.output_name.clone(), out)])
    }
}
