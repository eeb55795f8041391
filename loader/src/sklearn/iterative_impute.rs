//! IterativeImputer: the fitted `initial_imputer_` (a SimpleImputer) fills the batch, then each
//! `imputation_sequence_` entry `(feat_idx, neighbor_feat_idx, estimator)` re-predicts its
//! feature's missing cells from the neighbour features with its fitted estimator (compiled like
//! any regressor; BayesianRidge by default), clipped to `_min_value` / `_max_value`, round
//! after round, as `IterativeImputer.transform` (`sample_posterior=False`). `add_indicator`
//! appends the MissingIndicator columns.

use crate::error::PredictError;
use crate::pyobj::{Instance, Obj, PyObj};

use super::obj;
use super::output::Output;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, Registry, Transformer};

/// Registers IterativeImputer.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.impute._iterative.IterativeImputer",
        iterative_imputer,
    );
}

struct Step {
    feat: usize,
    neighbors: Vec<usize>,
    estimator: Box<dyn Estimator>,
    min: f64,
    max: f64,
}

struct IterativeImputer {
    n: usize,
    initial: Box<dyn Transformer>,
    /// Input columns kept (not empty at fit), in order.
    kept: Vec<usize>,
    steps: Vec<Step>,
    indicator: Option<Box<dyn Transformer>>,
}

/// The `(feat_idx, neighbor_feat_idx, estimator)` of one `_ImputerTriplet` (a namedtuple).
fn triplet(o: &Obj) -> Option<(&Obj, &Obj, &Obj)> {
    let parts: &[Obj] = match o.as_ref() {
        PyObj::Tuple(v) | PyObj::List(v) => v,
        PyObj::Instance(i) => match i.args.as_slice() {
            [one] => match one.as_ref() {
                PyObj::Tuple(v) => v.as_slice(),
                _ => i.args.as_slice(),
            },
            v => v,
        }
        .get(..3)?,
        _ => return None,
    };
    match parts {
        [a, b, c, ..] => Some((a, b, c)),
        _ => None,
    }
}

fn iterative_imputer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::bool_or(inst, "sample_posterior", false) {
        return Err(ctx.invalid("sample_posterior=True draws random values: not supported"));
    }
    let n = obj::opt_f64(inst, "n_features_in_").ok_or_else(|| ctx.invalid("not fitted"))? as usize;
    let initial = ctx.transformer(
        ".initial_imputer_",
        obj::attr(inst, "initial_imputer_", ctx)?,
    )?;
    let empty: Vec<bool> =
        match obj::opt_attr(inst, "_is_empty_feature").and_then(|o| obj::scalars(o)) {
            Some(v) => v
                .iter()
                .map(|s| s.as_f64().is_some_and(|b| b != 0.0))
                .collect(),
            None => vec![false; n],
        };
    let keep_empty = obj::bool_or(inst, "keep_empty_features", false);
    let kept: Vec<usize> = (0..n)
        .filter(|c| keep_empty || !empty.get(*c).copied().unwrap_or(false))
        .collect();
    let min = obj::f64_vec(inst, "_min_value", ctx)?;
    let max = obj::f64_vec(inst, "_max_value", ctx)?;
    let seq = obj::attr(inst, "imputation_sequence_", ctx)?;
    let seq = obj::items(seq).ok_or_else(|| ctx.invalid("imputation_sequence_ is not a list"))?;
    let mut steps = Vec::with_capacity(seq.len());
    for (i, t) in seq.iter().enumerate() {
        let (f, nb, est) = triplet(t).ok_or_else(|| ctx.invalid("malformed imputation triplet"))?;
        let feat = f
            .as_f64()
            .ok_or_else(|| ctx.invalid("feat_idx is not an int"))? as usize;
        let neighbors: Vec<usize> = obj::numbers(nb)
            .ok_or_else(|| ctx.invalid("neighbor_feat_idx is not numeric"))?
            .iter()
            .map(|v| *v as usize)
            .collect();
        if feat >= kept.len() || neighbors.iter().any(|v| *v >= kept.len()) {
            return Err(ctx.invalid("imputation triplet index out of range"));
        }
        let estimator =
            match ctx.compile_child(&format!(".imputation_sequence_[{i}].estimator"), est)? {
                Compiled::Estimator(e) => e,
                Compiled::Transformer(_) => {
                    return Err(ctx.invalid("an imputation estimator is a transformer"))
                }
            };
        steps.push(Step {
            feat,
            neighbors,
            estimator,
            min: min.get(feat).copied().unwrap_or(f64::NEG_INFINITY),
            max: max.get(feat).copied().unwrap_or(f64::INFINITY),
        });
    }
    let indicator = if obj::bool_or(inst, "add_indicator", false) {
        Some(ctx.transformer(".indicator_", obj::attr(inst, "indicator_", ctx)?)?)
    } else {
        None
    };
    Ok(Compiled::Transformer(Box::new(IterativeImputer {
        n,
        initial,
        kept,
        steps,
        indicator,
    })))
}

impl Transformer for IterativeImputer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.n)?;
        let mut filled = self.initial.transform(Data::Matrix(x.clone()))?;
        let k = self.kept.len();
        filled.expect_cols(k)?;
        let missing: Vec<Vec<bool>> = x
            .row_iter()
            .map(|r| self.kept.iter().map(|c| r[*c].is_nan()).collect())
            .collect();
        for step in &self.steps {
            let rows: Vec<usize> = (0..x.rows()).filter(|r| missing[*r][step.feat]).collect();
            if rows.is_empty() {
                continue;
            }
            let mut test = Vec::with_capacity(rows.len() * step.neighbors.len());
            let data = filled.data();
            for r in &rows {
                for c in &step.neighbors {
                    test.push(data[r * k + c]);
                }
            }
            let test = Matrix::new(rows.len(), step.neighbors.len(), test)?;
            let pred = match step.estimator.run(Method::Predict, Data::Matrix(test))? {
                Output::Vector(v) => v,
                Output::Matrix(m) if m.cols() == 1 => m.into_data(),
                _ => {
                    return Err(PredictError::Runtime(
                        "an imputation estimator did not return one value per row".to_owned(),
                    ))
                }
            };
            let mut rows_iter = filled.row_iter_mut().enumerate();
            let mut p = pred.iter();
            for r in &rows {
                for (i, row) in rows_iter.by_ref() {
                    if i == *r {
                        if let Some(v) = p.next() {
                            row[step.feat] = v.max(step.min).min(step.max);
                        }
                        break;
                    }
                }
            }
        }
        match &self.indicator {
            None => Ok(filled),
            Some(ind) => {
                let flags = ind.transform(Data::Matrix(x))?;
                Matrix::hstack(filled.rows(), &[filled, flags])
            }
        }
    }
}
