//! VotingClassifier / VotingRegressor and StackingClassifier / StackingRegressor
//! (`ensemble/_voting.py`, `ensemble/_stacking.py`).
//!
//! Voting: members were fitted on `le_`-encoded labels; hard voting is the weighted
//! `bincount` argmax of their predicted codes, soft voting the argmax of
//! `np.average(probas, weights)`; the regressor is `np.average(predictions, weights)`. Weights
//! follow `estimators` without its `"drop"` entries.
//! Stacking: `X_meta` is each member's `stack_method_` answer side by side (`[N]` as one column,
//! the first probability column dropped for two classes), plus `X` when `passthrough`; the
//! final estimator answers on it and a classifier maps its codes through `_label_encoder`.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::super::output::{argmax, Labels, Output};
use super::super::table::{Data, Matrix};
use super::super::{obj, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};
use super::{all_members, member_attr, predicted_codes, require, run_matrix, Member};

/// Registers voting and stacking.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.ensemble._voting.VotingClassifier",
        voting_classifier,
    );
    reg.insert("sklearn.ensemble._voting.VotingRegressor", voting_regressor);
    reg.insert("sklearn.ensemble._stacking.StackingClassifier", stacking);
    reg.insert("sklearn.ensemble._stacking.StackingRegressor", stacking);
}

/// `weights` restricted to the members that were not dropped (`None`: equal weights).
fn weights(inst: &Instance, n: usize, ctx: &Ctx<'_>) -> Result<Vec<f64>, CompileError> {
    let Some(w) = obj::opt_attr(inst, "weights") else {
        return Ok(vec![1.0; n]);
    };
    let w = obj::numbers(w).ok_or_else(|| ctx.invalid("weights are not numeric"))?;
    let specs = obj::attr(inst, "estimators", ctx)?;
    let specs = obj::items(specs).ok_or_else(|| ctx.invalid("estimators is not a list"))?;
    let kept: Vec<f64> = specs
        .iter()
        .zip(&w)
        .filter(|(spec, _)| {
            let est = obj::items(spec).and_then(|t| t.get(1).cloned());
            !matches!(est.as_deref(), Some(PyObj::Str(_) | PyObj::None))
        })
        .map(|(_, w)| *w)
        .collect();
    if kept.len() != n {
        return Err(ctx.invalid("weights do not match the fitted estimators"));
    }
    Ok(kept)
}

/// Sub-estimator classes of a label-encoded ensemble (`le_` or `_label_encoder`).
fn encoder_classes(inst: &Instance, names: &[&str], ctx: &Ctx<'_>) -> Result<Labels, CompileError> {
    for name in names {
        if let Some(le) = obj::opt_attr(inst, name).and_then(|o| obj::instance(o).cloned()) {
            return obj::labels(&le, "classes_", ctx);
        }
    }
    obj::labels(inst, "classes_", ctx)
}

struct Voting {
    members: Vec<Member>,
    weights: Vec<f64>,
    /// `None` for the regressor.
    classes: Option<Labels>,
    soft: bool,
}

fn voting_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    let soft = obj::opt_str(inst, "voting") == Some("soft");
    for m in &members {
        require(
            m.as_ref(),
            if soft {
                Method::PredictProba
            } else {
                Method::Predict
            },
            "a member",
            ctx,
        )?;
    }
    Ok(Compiled::Estimator(Box::new(Voting {
        weights: weights(inst, members.len(), ctx)?,
        members,
        classes: Some(encoder_classes(inst, &["le_"], ctx)?),
        soft,
    })))
}

fn voting_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    Ok(Compiled::Estimator(Box::new(Voting {
        weights: weights(inst, members.len(), ctx)?,
        members,
        classes: None,
        soft: false,
    })))
}

impl Voting {
    /// `np.average` of the members' `method` matrices with the weights.
    fn average(&self, method: Method, x: &Data) -> Result<Matrix, PredictError> {
        let mut acc: Option<Matrix> = None;
        for (m, w) in self.members.iter().zip(&self.weights) {
            let p = run_matrix(m.as_ref(), method, x)?;
            match acc.as_mut() {
                None => {
                    let (r, c) = (p.rows(), p.cols());
                    acc = Some(Matrix::new(
                        r,
                        c,
                        p.into_data().iter().map(|v| v * w).collect(),
                    )?);
                }
                Some(a) => {
                    if a.cols() != p.cols() || a.rows() != p.rows() {
                        return Err(PredictError::Runtime("members disagree in shape".into()));
                    }
                    let (r, c) = (a.rows(), a.cols());
                    let sum = a
                        .data()
                        .iter()
                        .zip(p.data())
                        .map(|(s, v)| s + v * w)
                        .collect();
                    *a = Matrix::new(r, c, sum)?;
                }
            }
        }
        let total: f64 = self.weights.iter().sum();
        let a = acc.ok_or_else(|| PredictError::Runtime("no members".into()))?;
        let (r, c) = (a.rows(), a.cols());
        Matrix::new(r, c, a.into_data().into_iter().map(|v| v / total).collect())
    }
}

impl Estimator for Voting {
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
            (Some(c), Method::PredictProba) if self.soft => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, c.len() as i64],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let Some(classes) = &self.classes else {
            return Ok(Output::Vector(
                self.average(Method::Predict, &x)?.into_data(),
            ));
        };
        if self.soft {
            let p = self.average(Method::PredictProba, &x)?;
            if method == Method::PredictProba {
                return Ok(Output::Matrix(p));
            }
            let idx: Vec<usize> = p.row_iter().map(argmax).collect();
            return Ok(Output::Labels(classes.take(&idx)?));
        }
        let k = classes.len();
        let mut votes = vec![0.0; x.rows() * k];
        for (m, w) in self.members.iter().zip(&self.weights) {
            for (row, code) in predicted_codes(m.as_ref(), &x, k)?.into_iter().enumerate() {
                if let Some(v) = votes.get_mut(row * k + code) {
                    *v += w;
                }
            }
        }
        let idx: Vec<usize> = votes.chunks(k.max(1)).map(argmax).collect();
        Ok(Output::Labels(classes.take(&idx)?))
    }
}

struct Stacking {
    members: Vec<(Member, Method)>,
    last: Member,
    passthrough: bool,
    /// Classifier: `_label_encoder.classes_`.
    classes: Option<Labels>,
}

fn stacking(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    let methods = obj::attr(inst, "stack_method_", ctx)?;
    let methods =
        obj::scalars(methods).ok_or_else(|| ctx.invalid("stack_method_ is not a list"))?;
    if methods.len() != members.len() {
        return Err(ctx.invalid("stack_method_ and estimators_ differ in length"));
    }
    let mut pairs = Vec::with_capacity(members.len());
    for (m, name) in members.into_iter().zip(methods) {
        let method = match name {
            obj::Scalar::Str(s) => Method::parse(&s)
                .ok_or_else(|| ctx.invalid(format!("stack method {s:?} is not supported")))?,
            _ => return Err(ctx.invalid("stack_method_ holds a non-string")),
        };
        require(m.as_ref(), method, "a member", ctx)?;
        pairs.push((m, method));
    }
    let classifier = inst.class.name == "StackingClassifier";
    let classes = if classifier {
        Some(encoder_classes(inst, &["_label_encoder", "_le"], ctx)?)
    } else {
        None
    };
    Ok(Compiled::Estimator(Box::new(Stacking {
        members: pairs,
        last: member_attr(inst, "final_estimator_", ctx)?,
        passthrough: obj::bool_or(inst, "passthrough", false),
        classes,
    })))
}

impl Stacking {
    fn meta_features(&self, x: &Data) -> Result<Matrix, PredictError> {
        let mut parts = Vec::with_capacity(self.members.len() + 1);
        let binary = self.classes.as_ref().is_some_and(|c| c.len() == 2);
        for (m, method) in &self.members {
            let p = run_matrix(m.as_ref(), *method, x)?;
            if *method == Method::PredictProba && binary && p.cols() > 1 {
                let cols: Vec<Vec<f64>> = (1..p.cols()).map(|c| p.column(c)).collect();
                parts.push(Matrix::from_columns(p.rows(), &cols)?);
            } else {
                parts.push(p);
            }
        }
        if self.passthrough {
            parts.push(x.clone().into_matrix()?);
        }
        Matrix::hstack(x.rows(), &parts)
    }
}

impl Estimator for Stacking {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match (&self.classes, method) {
            (Some(c), Method::Predict) => Some(OutputInfo {
                datatype: c.datatype(),
                shape: vec![-1],
            }),
            _ => self.last.output_info(method),
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let meta = Data::Matrix(self.meta_features(&x)?);
        match (&self.classes, method) {
            (Some(c), Method::Predict) => {
                let codes = predicted_codes(self.last.as_ref(), &meta, c.len())?;
                Ok(Output::Labels(c.take(&codes)?))
            }
            _ => self.last.run(method, meta),
        }
    }
}
