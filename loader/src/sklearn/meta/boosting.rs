//! AdaBoostClassifier and AdaBoostRegressor (`ensemble/_weight_boosting.py`).
//! Classifier (SAMME): `decision = Σ_m (w_m if member_m(X) == class else −w_m/(k−1)) / Σw`; two classes give
//! `d₁ − d₀` and `predict` takes `d > 0`, more take the argmax; `predict_proba` is
//! `softmax([-d, d] / 2)` or `softmax(d / (k − 1))`. `SAMME.R` (sklearn < 1.6) is refused.
//! Regressor: the weighted median of the members' predictions (the first sorted prediction
//! whose cumulative weight reaches half the total).

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::super::linear::softmax;
use super::super::output::{argmax, Labels, Output};
use super::super::table::{Data, Matrix};
use super::super::{obj, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};
use super::{all_members, positions, require, run_matrix, Member};

/// Registers AdaBoost.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.ensemble._weight_boosting.AdaBoostClassifier",
        classifier,
    );
    reg.insert(
        "sklearn.ensemble._weight_boosting.AdaBoostRegressor",
        regressor,
    );
}

struct AdaBoost {
    members: Vec<Member>,
    weights: Vec<f64>,
    /// Σ of every `estimator_weights_` entry.
    total: f64,
    /// Classifier labels (`None`: regressor).
    classes: Option<Labels>,
}

fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<AdaBoost, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    let all = obj::f64_vec(inst, "estimator_weights_", ctx)?;
    if all.len() < members.len() {
        return Err(ctx.invalid("fewer estimator_weights_ than estimators_"));
    }
    for m in &members {
        require(m.as_ref(), Method::Predict, "a member", ctx)?;
    }
    Ok(AdaBoost {
        weights: all.get(..members.len()).unwrap_or_default().to_vec(),
        total: all.iter().sum(),
        members,
        classes: None,
    })
}

fn classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if let Some(alg) = obj::opt_str(inst, "algorithm") {
        if alg == "SAMME.R" {
            return Err(ctx.invalid("algorithm SAMME.R is not supported"));
        }
    }
    let mut ada = read(inst, ctx)?;
    ada.classes = Some(obj::labels(inst, "classes_", ctx)?);
    Ok(Compiled::Estimator(Box::new(ada)))
}

fn regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Estimator(Box::new(read(inst, ctx)?)))
}

impl AdaBoost {
    /// `decision_function`: `[N, k]` (for two classes, the caller folds it).
    fn decision(&self, x: &Data, classes: &Labels) -> Result<Matrix, PredictError> {
        let k = classes.len();
        let mut pred = vec![0.0; x.rows() * k];
        let off = -1.0 / (k as f64 - 1.0);
        for (m, w) in self.members.iter().zip(&self.weights) {
            let Output::Labels(l) = m.run(Method::Predict, x.clone())? else {
                return Err(PredictError::Runtime(
                    "a member did not predict labels".into(),
                ));
            };
            for (row, pos) in pred.chunks_mut(k.max(1)).zip(positions(&l, classes)) {
                for (c, slot) in row.iter_mut().enumerate() {
                    *slot += if pos == Some(c) { *w } else { off * w };
                }
            }
        }
        Matrix::new(
            x.rows(),
            k,
            pred.into_iter().map(|v| v / self.total).collect(),
        )
    }

    fn median(&self, x: &Data) -> Result<Vec<f64>, PredictError> {
        let preds: Vec<Vec<f64>> = self
            .members
            .iter()
            .map(|m| run_matrix(m.as_ref(), Method::Predict, x).map(Matrix::into_data))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(x.rows());
        let mut order: Vec<usize> = (0..self.members.len()).collect();
        for i in 0..x.rows() {
            let value = |m: usize| preds.get(m).and_then(|p| p.get(i)).copied().unwrap_or(0.0);
            order.sort_by(|&a, &b| value(a).total_cmp(&value(b)));
            let mut cdf = Vec::with_capacity(order.len());
            let mut acc = 0.0;
            for &m in &order {
                acc += self.weights.get(m).copied().unwrap_or(0.0);
                cdf.push(acc);
            }
            let half = 0.5 * acc;
            let at = cdf.iter().position(|&c| c >= half).unwrap_or(0);
            out.push(value(order.get(at).copied().unwrap_or(0)));
        }
        Ok(out)
    }
}

impl Estimator for AdaBoost {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match (&self.classes, method) {
            (None, Method::Predict) => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1],
            }),
            (Some(c), Method::Predict) => Some(OutputInfo {
                datatype: c.datatype(),
                shape: vec![-1],
            }),
            (Some(c), Method::PredictProba | Method::PredictLogProba) => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, c.len() as i64],
            }),
            (Some(c), Method::DecisionFunction) => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: if c.len() == 2 {
                    vec![-1]
                } else {
                    vec![-1, c.len() as i64]
                },
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let Some(classes) = &self.classes else {
            return Ok(Output::Vector(self.median(&x)?));
        };
        let k = classes.len();
        let d = self.decision(&x, classes)?;
        let binary: Option<Vec<f64>> =
            (k == 2).then(|| d.row_iter().map(|r| r[1] - r[0]).collect());
        match method {
            Method::DecisionFunction => Ok(match binary {
                Some(b) => Output::Vector(b),
                None => Output::Matrix(d),
            }),
            Method::Predict => {
                let idx: Vec<usize> = match &binary {
                    Some(b) => b.iter().map(|v| usize::from(*v > 0.0)).collect(),
                    None => d.row_iter().map(argmax).collect(),
                };
                Ok(Output::Labels(classes.take(&idx)?))
            }
            _ => {
                let mut out = Vec::with_capacity(x.rows() * k);
                match &binary {
                    Some(b) => b
                        .iter()
                        .for_each(|v| out.extend(softmax(&[-v / 2.0, v / 2.0]))),
                    None => d.row_iter().for_each(|r| {
                        let scaled: Vec<f64> = r.iter().map(|v| v / (k as f64 - 1.0)).collect();
                        out.extend(softmax(&scaled));
                    }),
                }
                if method == Method::PredictLogProba {
                    out.iter_mut().for_each(|v| *v = v.ln());
                }
                Ok(Output::Matrix(Matrix::new(x.rows(), k, out)?))
            }
        }
    }
}
