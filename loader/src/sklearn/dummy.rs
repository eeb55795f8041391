//! DummyClassifier and DummyRegressor (`sklearn/dummy.py`): answers that ignore the input's
//! values. Classifier strategies `most_frequent` / `prior` (predict the class with the largest
//! `class_prior_`; probabilities one-hot or the prior), `constant` (the given label, one-hot
//! probabilities) and `uniform` (probabilities `1/k`; its `predict` draws random labels and is
//! refused). `stratified` draws random labels and probabilities and is refused. Regressor:
//! `constant_` repeated (every strategy stores its answer there).

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj::{self, Scalar};
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the dummy estimators.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.dummy.DummyClassifier", classifier);
    reg.insert("sklearn.dummy.DummyRegressor", regressor);
}

struct DummyClassifier {
    /// What `predict` returns for every row (`None`: `uniform`, random).
    label: Option<Labels>,
    /// One probability row, repeated.
    proba: Vec<f64>,
}

fn classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::opt_f64(inst, "n_outputs_").is_some_and(|n| n != 1.0) {
        return Err(ctx.invalid("multi-output DummyClassifier is not supported"));
    }
    let classes = obj::labels(inst, "classes_", ctx)?;
    let prior = obj::f64_vec(inst, "class_prior_", ctx)?;
    let k = classes.len();
    if prior.len() != k || k == 0 {
        return Err(ctx.invalid("class_prior_ and classes_ disagree"));
    }
    // `_strategy` (1.1+) resolves the deprecated "warn"; `strategy` otherwise.
    let strategy = obj::opt_str(inst, "_strategy")
        .or_else(|| obj::opt_str(inst, "strategy"))
        .unwrap_or("prior");
    let one_hot = |i: usize| (0..k).map(|j| f64::from(u8::from(i == j))).collect();
    let (label, proba) = match strategy {
        "most_frequent" | "prior" => {
            let best = argmax(&prior);
            let proba = if strategy == "prior" {
                prior.clone()
            } else {
                one_hot(best)
            };
            (
                Some(
                    classes
                        .take(&[best])
                        .map_err(|e| ctx.invalid(e.to_string()))?,
                ),
                proba,
            )
        }
        "constant" => {
            let constant = obj::attr(inst, "constant", ctx)?;
            let values = obj::scalars(constant)
                .filter(|v| v.len() == 1)
                .ok_or_else(|| ctx.invalid("constant is not a single label"))?;
            let wanted = values.first().cloned().unwrap_or(Scalar::None);
            let class_values = obj::scalars(obj::attr(inst, "classes_", ctx)?)
                .ok_or_else(|| ctx.invalid("classes_ holds no labels"))?;
            let proba = match class_values.iter().position(|c| same(c, &wanted)) {
                Some(i) => one_hot(i),
                None => vec![0.0; k],
            };
            let label = Labels::from_scalars(values, false)
                .ok_or_else(|| ctx.invalid("constant is not a label"))?;
            (Some(label), proba)
        }
        "uniform" => (None, vec![1.0 / k as f64; k]),
        other => {
            return Err(ctx.invalid(format!(
                "strategy {other:?} draws random answers and is not supported"
            )))
        }
    };
    Ok(Compiled::Estimator(Box::new(DummyClassifier {
        label,
        proba,
    })))
}

/// `classes_[k] == constant` as numpy compares an int, float or str label.
fn same(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Str(x), Scalar::Str(y)) => x == y,
        _ => matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y),
    }
}

impl Estimator for DummyClassifier {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => self.label.as_ref().map(|l| OutputInfo {
                datatype: l.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba | Method::PredictLogProba => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, self.proba.len() as i64],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let n = x.rows();
        match method {
            Method::Predict => {
                let label = self.label.as_ref().ok_or_else(|| {
                    PredictError::Runtime("this DummyClassifier predicts at random".into())
                })?;
                Ok(Output::Labels(label.take(&vec![0; n])?))
            }
            _ => {
                let row: Vec<f64> = if method == Method::PredictLogProba {
                    self.proba.iter().map(|p| p.ln()).collect()
                } else {
                    self.proba.clone()
                };
                let k = row.len();
                Ok(Output::Matrix(Matrix::new(n, k, row.repeat(n))?))
            }
        }
    }
}

struct DummyRegressor {
    constant: Vec<f64>,
    flat: bool,
}

fn regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let constant = obj::f64_vec(inst, "constant_", ctx)?;
    let outputs = obj::opt_f64(inst, "n_outputs_").unwrap_or(1.0);
    if constant.is_empty() || outputs != constant.len() as f64 {
        return Err(ctx.invalid("constant_ disagrees with n_outputs_"));
    }
    Ok(Compiled::Estimator(Box::new(DummyRegressor {
        flat: constant.len() == 1,
        constant,
    })))
}

impl Estimator for DummyRegressor {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.flat {
                vec![-1]
            } else {
                vec![-1, self.constant.len() as i64]
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let n = x.rows();
        let values = self.constant.repeat(n);
        Ok(if self.flat {
            Output::Vector(values)
        } else {
            Output::Matrix(Matrix::new(n, self.constant.len(), values)?)
        })
    }
}
