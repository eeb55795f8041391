//! LocalOutlierFactor with `novelty=True` (`neighbors/_lof.py`): for each request row, its
//! `n_neighbors_` nearest training rows (brute force over `_fit_X`), reach distances
//! `max(d, _distances_fit_X_[j, k − 1])`, `lrd = 1 / (mean + 1e-10)`, score
//! `−mean(_lrd[j] / lrd)`; `predict` is `-1` where `score − offset_ < 0`, else `1` (int64).
//! Without `novelty` sklearn has no `predict` for new rows, so that is refused.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::neighbors::Metric;
use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers LocalOutlierFactor.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.neighbors._lof.LocalOutlierFactor", compile);
}

struct Lof {
    fit_x: Matrix,
    metric: Metric,
    k: usize,
    /// `_distances_fit_X_[:, k − 1]`.
    k_distance: Vec<f64>,
    lrd: Vec<f64>,
    offset: f64,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if !obj::bool_or(inst, "novelty", false) {
        return Err(ctx.invalid("novelty=False has no predict for new data"));
    }
    let fit_x = obj::f64_matrix(inst, "_fit_X", ctx)?;
    let k = obj::opt_f64(inst, "n_neighbors_").ok_or_else(|| ctx.invalid("missing n_neighbors_"))?
        as usize;
    let dists = obj::f64_matrix(inst, "_distances_fit_X_", ctx)?;
    let lrd = obj::f64_vec(inst, "_lrd", ctx)?;
    let n = fit_x.rows();
    if k == 0 || k > n || dists.rows() != n || dists.cols() < k || lrd.len() != n {
        return Err(ctx.invalid("n_neighbors_, _distances_fit_X_ and _lrd disagree with _fit_X"));
    }
    let k_distance = dists.row_iter().map(|r| r[k - 1]).collect();
    Ok(Compiled::Estimator(Box::new(Lof {
        metric: Metric::read(inst, ctx)?,
        fit_x,
        k,
        k_distance,
        lrd,
        offset: obj::opt_f64(inst, "offset_").ok_or_else(|| ctx.invalid("missing offset_"))?,
    })))
}

impl Lof {
    fn decision(&self, x: Data) -> Result<Vec<f64>, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.fit_x.cols())?;
        super::svm::expect_finite(&x)?;
        let mut out = Vec::with_capacity(x.rows());
        for row in x.row_iter() {
            let mut near: Vec<(f64, usize)> = self
                .fit_x
                .row_iter()
                .enumerate()
                .map(|(i, f)| (self.metric.distance(row, f), i))
                .collect();
            near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            near.truncate(self.k);
            let kf = self.k as f64;
            let reach: f64 = near
                .iter()
                .map(|(d, j)| d.max(self.k_distance[*j]))
                .sum::<f64>()
                / kf;
            let lrd = 1.0 / (reach + 1e-10);
            let ratio: f64 = near.iter().map(|(_, j)| self.lrd[*j] / lrd).sum::<f64>() / kf;
            out.push(-ratio - self.offset);
        }
        Ok(out)
    }
}

impl Estimator for Lof {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: DataType::Int64,
                shape: vec![-1],
            }),
            Method::DecisionFunction => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let d = self.decision(x)?;
        Ok(if method == Method::DecisionFunction {
            Output::Vector(d)
        } else {
            Output::Labels(Labels::Int64(
                d.iter().map(|v| if *v < 0.0 { -1 } else { 1 }).collect(),
            ))
        })
    }
}
