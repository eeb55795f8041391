//! LabelPropagation and LabelSpreading (`semi_supervised/_label_propagation.py`):
//! `predict_proba` weighs `label_distributions_` by the kernel between the request rows and
//! `X_` — `rbf` (`exp(−γ‖x − y‖²)`, summed over every training row) or `knn` (the
//! `n_neighbors` nearest training rows, Euclidean, each with weight 1) — and normalises each
//! row; `predict` is the argmax over `classes_`. A callable kernel is refused.

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::kernels::sq_euclidean;
use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{
    proba_classifier_info, proba_classifier_output, CompileError, Compiled, Ctx, Estimator, Method,
    OutputInfo, Registry,
};

/// Registers label propagation and spreading.
pub fn register(reg: &mut Registry) {
    for path in [
        "sklearn.semi_supervised._label_propagation.LabelPropagation",
        "sklearn.semi_supervised._label_propagation.LabelSpreading",
    ] {
        reg.insert(path, compile);
    }
}

enum Weighting {
    Rbf(f64),
    Knn(usize),
}

struct Propagation {
    x: Matrix,
    /// `(n_train, classes)`.
    dist: Matrix,
    classes: Labels,
    weighting: Weighting,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let x = obj::f64_matrix(inst, "X_", ctx)?;
    let dist = obj::f64_matrix(inst, "label_distributions_", ctx)?;
    let classes = obj::labels(inst, "classes_", ctx)?;
    if dist.rows() != x.rows() || dist.cols() != classes.len() {
        return Err(ctx.invalid("label_distributions_ does not fit X_ and classes_"));
    }
    let weighting = match obj::attr(inst, "kernel", ctx)?.as_ref() {
        PyObj::Str(k) if k == "rbf" => Weighting::Rbf(obj::opt_f64(inst, "gamma").unwrap_or(20.0)),
        PyObj::Str(k) if k == "knn" => {
            let k = obj::opt_f64(inst, "n_neighbors").unwrap_or(7.0) as usize;
            if k == 0 || k > x.rows() {
                return Err(ctx.invalid("n_neighbors does not fit X_"));
            }
            Weighting::Knn(k)
        }
        _ => return Err(ctx.invalid("only kernel='rbf' or 'knn' is supported")),
    };
    Ok(Compiled::Estimator(Box::new(Propagation {
        x,
        dist,
        classes,
        weighting,
    })))
}

impl Propagation {
    fn proba(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.x.cols())?;
        let k = self.classes.len();
        let mut out = Vec::with_capacity(x.rows() * k);
        for row in x.row_iter() {
            let mut p = vec![0.0; k];
            match self.weighting {
                Weighting::Rbf(gamma) => {
                    for (fit, d) in self.x.row_iter().zip(self.dist.row_iter()) {
                        let w = (-gamma * sq_euclidean(row, fit)).exp();
                        p.iter_mut().zip(d).for_each(|(a, v)| *a += w * v);
                    }
                }
                Weighting::Knn(n) => {
                    let mut near: Vec<(f64, usize)> = self
                        .x
                        .row_iter()
                        .enumerate()
                        .map(|(i, fit)| (sq_euclidean(row, fit), i))
                        .collect();
                    near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    for (_, i) in near.into_iter().take(n) {
                        if let Some(d) = self.dist.row_iter().nth(i) {
                            p.iter_mut().zip(d).for_each(|(a, v)| *a += v);
                        }
                    }
                }
            }
            let sum: f64 = p.iter().sum();
            out.extend(p.into_iter().map(|v| v / sum));
        }
        Matrix::new(x.rows(), k, out)
    }
}

impl Estimator for Propagation {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        proba_classifier_info(&self.classes, method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        proba_classifier_output(&self.classes, method, self.proba(x)?)
    }
}
