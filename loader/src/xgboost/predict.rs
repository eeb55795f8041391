//! [`XgbPredictor`]: a compiled XGBoost model answering as `mlflow.pyfunc` does for its
//! `model_class`: class labels for `XGBClassifier`, `f32` predictions for regressors and raw
//! `Booster`s (`[N]`, or `[N, K]` for `multi:softprob`).

use super::error::XgbError;
use super::model::Booster;
use super::objective::{argmax, Objective};
use crate::binder::matrix::ColumnBinder;
use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::Signature;
use crate::model::{NamedTensor, Predictor, TensorInfo};
use crate::tensor::Tensor;
use crate::tree::{Aggregate, Forest};

pub(crate) use crate::outputs::{tensor, OUTPUT};

/// What `predict` returns, by the model's Python class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// `XGBClassifier.predict`: class indices (`int64`; `int32` under `multi:softmax`).
    Labels,
    /// `XGBRegressor.predict` / `Booster.predict`: transformed predictions (`float32`).
    Values,
}

impl Output {
    /// The output kind of an mlflow `model_class` (`xgboost.sklearn.XGBClassifier`, ...).
    pub(crate) fn of_class(model_class: Option<&str>) -> Self {
        match model_class.and_then(|c| c.rsplit('.').next()) {
            Some("XGBClassifier" | "XGBRFClassifier") => Self::Labels,
            _ => Self::Values,
        }
    }
}

/// A compiled XGBoost model.
#[derive(Debug)]
pub(crate) struct XgbPredictor {
    forest: Forest<f32>,
    base_margin: Vec<f32>,
    objective: Objective,
    binder: ColumnBinder,
    output: Output,
    /// A `gblinear` model's weights ([`super::model::Booster::linear`]); the forest is then empty.
    linear: Option<Vec<f32>>,
    groups: usize,
}

impl XgbPredictor {
    /// Compiles a booster for requests shaped by `signature`.
    pub(crate) fn new(
        booster: &Booster,
        output: Output,
        signature: Option<&Signature>,
    ) -> Result<Self, XgbError> {
        let forest = booster.compile()?;
        let binder = ColumnBinder::new(signature, &booster.feature_names, booster.num_feature);
        let n_cols = binder.columns().len();
        if let Some(max) = forest.max_feature() {
            if max >= n_cols {
                return Err(XgbError::field(
                    "trees",
                    format!("a split reads feature {max}, but requests carry {n_cols} columns"),
                ));
            }
        }
        Ok(Self {
            base_margin: booster.base_margin()?,
            objective: booster.objective,
            forest,
            binder,
            output,
            linear: booster.linear.clone(),
            groups: booster.num_groups.max(1),
        })
    }

    /// Number of trees (for throughput measurements).
    #[cfg(test)]
    pub(crate) fn n_trees(&self) -> usize {
        // Not counting the base margin's one-leaf tree.
        self.forest.n_trees().saturating_sub(1)
    }

    /// The input columns requests send.
    pub(crate) fn inputs(&self) -> Vec<TensorInfo> {
        self.binder.input_infos()
    }

    /// The one output.
    pub(crate) fn outputs(&self) -> Vec<TensorInfo> {
        let groups = self.groups;
        let (datatype, shape) = match (self.output, self.objective) {
            (Output::Labels, Objective::Softmax) => (DataType::Int32, vec![-1]),
            (Output::Labels, _) => (DataType::Int64, vec![-1]),
            (Output::Values, Objective::Softmax) => (DataType::Fp32, vec![-1]),
            (Output::Values, _) if groups > 1 => (DataType::Fp32, vec![-1, groups as i64]),
            (Output::Values, _) => (DataType::Fp32, vec![-1]),
        };
        vec![TensorInfo {
            name: OUTPUT.into(),
            datatype,
            shape,
        }]
    }

    /// Predictions for already-bound rows (`x` row-major, `n_cols` features per row).
    fn run(&self, x: &[f32], n_rows: usize, n_cols: usize) -> Result<Tensor, PredictError> {
        let groups = self.groups;
        let mut values = match &self.linear {
            Some(weights) => self.linear_margins(weights, x, n_rows, n_cols),
            None => {
                // The forest's first tree holds the base margin ([`Booster::compile`]).
                self.forest
                    .aggregate(x, n_rows, n_cols, Aggregate::Sum)
                    .map_err(|e| PredictError::Runtime(e.to_string()))?
                    .into_values()
            }
        };
        self.objective.transform(&mut values, groups);
        let width = values.len().checked_div(n_rows).unwrap_or(groups);
        match self.output {
            Output::Labels if self.objective == Objective::Softmax => {
                let labels: Vec<i32> = values.iter().map(|&v| v as i32).collect();
                tensor(labels, n_rows, 1)
            }
            Output::Labels if width > 1 => {
                let labels: Vec<i64> = values.chunks(width).map(|r| argmax(r) as i64).collect();
                tensor(labels, n_rows, 1)
            }
            Output::Labels => {
                let labels: Vec<i64> = values.iter().map(|&p| i64::from(p > 0.5)).collect();
                tensor(labels, n_rows, 1)
            }
            Output::Values => tensor(values, n_rows, width),
        }
    }
}

impl XgbPredictor {
    /// `gblinear` margins as xgboost computes them (`GBLinear::Pred`, in `f32`): the group's
    /// bias plus the base margin, then `x[f] * w[f][g]` added feature by feature, skipping
    /// missing (NaN) values.
    fn linear_margins(&self, weights: &[f32], x: &[f32], n_rows: usize, n_cols: usize) -> Vec<f32> {
        let groups = self.groups;
        let n_features = (weights.len() / groups).saturating_sub(1);
        let bias = weights.get(n_features * groups..).unwrap_or_default();
        let mut out = Vec::with_capacity(n_rows * groups);
        for row in x.chunks(n_cols.max(1)).take(n_rows) {
            for g in 0..groups {
                let base = self
                    .base_margin
                    .get(g)
                    .or(self.base_margin.first())
                    .copied();
                let mut sum = bias.get(g).copied().unwrap_or(0.0) + base.unwrap_or(0.0);
                for (f, &v) in row.iter().enumerate().take(n_features) {
                    if v.is_nan() {
                        continue;
                    }
                    sum += v * weights.get(f * groups + g).copied().unwrap_or(0.0);
                }
                out.push(sum);
            }
        }
        out
    }
}

impl Predictor for XgbPredictor {
    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        let m = self.binder.bind(inputs)?;
        let x: Vec<f32> = m.values.iter().map(|&v| v as f32).collect();
        let out = self.run(&x, m.n_rows, m.n_cols)?;
        Ok(vec![NamedTensor::new(OUTPUT, out)])
    }

    fn plan(&self) -> crate::plan::Plan {
        match &self.linear {
            Some(_) => crate::plan::Plan::single(
                format!("XGBoost gblinear ({} outputs)", self.groups),
                "linear",
            ),
            None => crate::plan::Plan::single(
                format!(
                    "XGBoost gbtree ({} trees, {} outputs)",
                    self.forest.n_trees(),
                    self.groups
                ),
                "trees (float32)",
            ),
        }
    }
}
