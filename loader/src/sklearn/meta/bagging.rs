//! BaggingClassifier / BaggingRegressor (`ensemble/_bagging.py`): member `i` sees the columns
//! `estimators_features_[i]`. Classifier: the sum of the members' `predict_proba` (placed at
//! their own `classes_`, codes of the bag's `classes_`) or, for members without it, one vote per
//! predicted code, divided by `n_estimators`; `predict` is its argmax. Regressor: the mean of
//! the members' predictions.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::super::output::{argmax, Labels, Output};
use super::super::table::{Data, Matrix};
use super::super::{obj, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};
use super::{all_members, predicted_codes, run_matrix, Member};

/// Registers bagging.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.ensemble._bagging.BaggingClassifier", compile);
    reg.insert("sklearn.ensemble._bagging.BaggingRegressor", compile);
}

struct Bag {
    member: Member,
    features: Vec<usize>,
    /// The member's `classes_` as codes of the bag's classes (classifier only).
    classes: Vec<usize>,
    proba: bool,
}

struct Bagging {
    bags: Vec<Bag>,
    /// Classifier labels.
    classes: Option<Labels>,
    n_features: usize,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    let feats = obj::attr(inst, "estimators_features_", ctx)?;
    let feats =
        obj::items(feats).ok_or_else(|| ctx.invalid("estimators_features_ is not a list"))?;
    if feats.len() != members.len() {
        return Err(ctx.invalid("estimators_features_ and estimators_ differ in length"));
    }
    let n_features = obj::opt_f64(inst, "n_features_in_").unwrap_or(0.0) as usize;
    let classifier = inst.class.name == "BaggingClassifier";
    let classes = if classifier {
        Some(obj::labels(inst, "classes_", ctx)?)
    } else {
        None
    };
    let k = classes.as_ref().map_or(0, Labels::len);
    let est_list = obj::items(obj::attr(inst, "estimators_", ctx)?).unwrap_or_default();
    let mut bags = Vec::with_capacity(members.len());
    for (i, (member, f)) in members.into_iter().zip(feats).enumerate() {
        let features: Vec<usize> = obj::numbers(f)
            .ok_or_else(|| ctx.invalid("estimators_features_ is not numeric"))?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        if n_features > 0 && features.iter().any(|&c| c >= n_features) {
            return Err(ctx.invalid("estimators_features_ names a column out of range"));
        }
        let member_classes = if classifier {
            let est = est_list.get(i).and_then(|o| obj::instance(o).cloned());
            match est.and_then(|e| obj::opt_attr(&e, "classes_").and_then(|c| obj::numbers(c))) {
                Some(codes) => codes.into_iter().map(|v| v as usize).collect(),
                None => (0..k).collect(),
            }
        } else {
            Vec::new()
        };
        if member_classes.iter().any(|&c| c >= k.max(1)) && classifier {
            return Err(ctx.invalid("a member's classes_ are not codes of classes_"));
        }
        let proba = member.output_info(Method::PredictProba).is_some();
        bags.push(Bag {
            member,
            features,
            classes: member_classes,
            proba,
        });
    }
    Ok(Compiled::Estimator(Box::new(Bagging {
        bags,
        classes,
        n_features,
    })))
}

impl Bagging {
    fn check(&self, x: &Data) -> Result<(), PredictError> {
        if self.n_features > 0 && x.cols() != self.n_features {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![x.rows(), x.cols()],
                expected: vec![-1, self.n_features as i64],
            });
        }
        Ok(())
    }

    fn proba(&self, x: &Data, k: usize) -> Result<Matrix, PredictError> {
        let n = x.rows();
        let mut acc = vec![0.0; n * k];
        for bag in &self.bags {
            let xs = x.select(&bag.features)?;
            if bag.proba {
                let p = run_matrix(bag.member.as_ref(), Method::PredictProba, &xs)?;
                for (row, prow) in acc.chunks_mut(k.max(1)).zip(p.row_iter()) {
                    for (c, v) in bag.classes.iter().zip(prow) {
                        if let Some(slot) = row.get_mut(*c) {
                            *slot += v;
                        }
                    }
                }
            } else {
                let codes = predicted_codes(bag.member.as_ref(), &xs, k)?;
                for (row, code) in acc.chunks_mut(k.max(1)).zip(codes) {
                    if let Some(slot) = row.get_mut(code) {
                        *slot += 1.0;
                    }
                }
            }
        }
        let m = self.bags.len() as f64;
        Matrix::new(n, k, acc.into_iter().map(|v| v / m).collect())
    }
}

impl Estimator for Bagging {
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
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        self.check(&x)?;
        let Some(classes) = &self.classes else {
            let mut sum = vec![0.0; x.rows()];
            for bag in &self.bags {
                let xs = x.select(&bag.features)?;
                let p = run_matrix(bag.member.as_ref(), Method::Predict, &xs)?;
                sum.iter_mut().zip(p.data()).for_each(|(s, v)| *s += v);
            }
            let m = self.bags.len() as f64;
            return Ok(Output::Vector(sum.into_iter().map(|v| v / m).collect()));
        };
        let p = self.proba(&x, classes.len())?;
        Ok(match method {
            Method::PredictProba => Output::Matrix(p),
            Method::PredictLogProba => {
                let (r, c) = (p.rows(), p.cols());
                Output::Matrix(Matrix::new(
                    r,
                    c,
                    p.into_data().into_iter().map(f64::ln).collect(),
                )?)
            }
            _ => {
                let idx: Vec<usize> = p.row_iter().map(argmax).collect();
                Output::Labels(classes.take(&idx)?)
            }
        })
    }
}
