//! [`LgbPredictor`]: a compiled LightGBM model answering as `mlflow.pyfunc` does:
//! `Booster.predict` (`f64` values, `[N]` or `[N, K]` for multiclass), `LGBMRegressor.predict`
//! (`[N]` values) or `LGBMClassifier.predict` (class labels).

use super::compile::compile;
use super::error::LgbError;
use super::text::Model;
use crate::binder::matrix::ColumnBinder;
use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::Signature;
use crate::model::{NamedTensor, Predictor, TensorInfo};
use crate::outputs::{argmax, tensor, OUTPUT};
use crate::tensor::Tensor;
use crate::tree::{Aggregate, Forest};

/// Class labels of an `LGBMClassifier` (`classes_`), in class-index order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Labels {
    /// Integer labels (`int64` output).
    Int(Vec<i64>),
    /// Float labels (`float64` output).
    Float(Vec<f64>),
    /// String labels (`BYTES` output).
    Str(Vec<String>),
}

impl Labels {
    fn len(&self) -> usize {
        match self {
            Self::Int(v) => v.len(),
            Self::Float(v) => v.len(),
            Self::Str(v) => v.len(),
        }
    }

    fn datatype(&self) -> DataType {
        match self {
            Self::Int(_) => DataType::Int64,
            Self::Float(_) => DataType::Fp64,
            Self::Str(_) => DataType::Bytes,
        }
    }

    /// The labels of class indices.
    fn pick(&self, indices: &[usize]) -> Result<Tensor, PredictError> {
        fn gather<T: Clone + crate::tensor::Datum>(
            labels: &[T],
            indices: &[usize],
        ) -> Result<Tensor, PredictError> {
            let values = indices
                .iter()
                .map(|&i| {
                    labels.get(i).cloned().ok_or_else(|| {
                        PredictError::Runtime(format!("class index {i} has no label"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            tensor(values, indices.len(), 1)
        }
        match self {
            Self::Int(v) => gather(v, indices),
            Self::Float(v) => gather(v, indices),
            Self::Str(v) => gather(v, indices),
        }
    }
}

/// What `predict` returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// The transformed predictions (`Booster`, `LGBMRegressor`, ...).
    Values,
    /// `LGBMClassifier`: the label of the most probable class.
    Labels(Labels),
}

/// A compiled LightGBM model.
#[derive(Debug)]
pub(crate) struct LgbPredictor {
    forest: Forest<f64>,
    model: Model,
    binder: ColumnBinder,
    output: Output,
}

impl LgbPredictor {
    /// Compiles a parsed model for requests shaped by `signature`.
    pub(crate) fn new(
        mut model: Model,
        output: Output,
        signature: Option<&Signature>,
    ) -> Result<Self, LgbError> {
        let forest = compile(&model)?;
        model.trees = Vec::new();
        let binder = ColumnBinder::new(signature, &model.feature_names, model.num_features);
        let n_cols = binder.columns().len();
        if let Some(max) = forest.max_feature() {
            if max >= n_cols {
                return Err(LgbError::field(
                    "trees",
                    format!("a split reads feature {max}, but requests carry {n_cols} columns"),
                ));
            }
        }
        if let Output::Labels(labels) = &output {
            let classes = forest.n_targets().max(2);
            if labels.len() != classes {
                return Err(LgbError::Wrapper(format!(
                    "{} class labels for a {classes}-class model",
                    labels.len()
                )));
            }
        }
        Ok(Self {
            forest,
            model,
            binder,
            output,
        })
    }

    /// Number of trees (for throughput measurements).
    #[cfg(test)]
    pub(crate) fn n_trees(&self) -> usize {
        self.forest.n_trees()
    }

    /// The input columns requests send.
    pub(crate) fn inputs(&self) -> Vec<TensorInfo> {
        self.binder.input_infos()
    }

    /// The one output.
    pub(crate) fn outputs(&self) -> Vec<TensorInfo> {
        let k = self.forest.n_targets();
        let (datatype, shape) = match &self.output {
            Output::Labels(labels) => (labels.datatype(), vec![-1]),
            Output::Values if k > 1 => (DataType::Fp64, vec![-1, k as i64]),
            Output::Values => (DataType::Fp64, vec![-1]),
        };
        vec![TensorInfo {
            name: OUTPUT.into(),
            datatype,
            shape,
        }]
    }

    /// Raw scores summed over the trees, averaged in random-forest mode, then transformed.
    fn scores(&self, x: &[f64], n_rows: usize, n_cols: usize) -> Result<Vec<f64>, PredictError> {
        let k = self.forest.n_targets();
        let mut values = self
            .forest
            .aggregate(x, n_rows, n_cols, Aggregate::Sum)
            .map_err(|e| PredictError::Runtime(e.to_string()))?
            .into_values();
        if self.model.average_output {
            let iterations = (self.forest.n_trees() / k.max(1)).max(1) as f64;
            values.iter_mut().for_each(|v| *v /= iterations);
        }
        self.model.objective.transform(&mut values, k);
        Ok(values)
    }
}

impl Predictor for LgbPredictor {
    fn plan(&self) -> crate::plan::Plan {
        crate::plan::Plan::single(
            format!(
                "LightGBM ({} trees, {} outputs)",
                self.forest.n_trees(),
                self.forest.n_targets().max(1)
            ),
            "trees",
        )
    }

    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        let m = self.binder.bind(inputs)?;
        let values = self.scores(&m.values, m.n_rows, m.n_cols)?;
        let k = self.forest.n_targets().max(1);
        let out = match &self.output {
            Output::Values => tensor(values, m.n_rows, k)?,
            Output::Labels(labels) => {
                // predict_proba then argmax; binary: [1 - p, p], so class 1 iff p > 0.5.
                let indices: Vec<usize> = if k == 1 {
                    values.iter().map(|&p| usize::from(1.0 - p < p)).collect()
                } else {
                    values.chunks(k).map(argmax).collect()
                };
                labels.pick(&indices)?
            }
        };
        Ok(vec![NamedTensor::new(OUTPUT, out)])
    }
}
