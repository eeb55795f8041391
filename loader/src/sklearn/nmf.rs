//! NMF's `transform` (solver `cd`, Frobenius loss): with `components_` fixed, `W` starts at
//! zero and sklearn's coordinate-descent sweeps (`_update_cdnmf_fast`, components in order,
//! `shuffle=False`) run over the whole batch until the summed projected-gradient violation
//! falls to `tol` of the first sweep's or `max_iter` sweeps, as `_fit_coordinate_descent` with
//! `update_H=False` does. The stopping rule is per batch, as in sklearn.

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::kernels::dot_t;
use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers NMF.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.decomposition._nmf.NMF", nmf);
}

struct Nmf {
    /// `components_`, `[k, p]`.
    h: Matrix,
    /// `H Hᵀ + l2` on the diagonal, `[k, k]`.
    hht: Matrix,
    l1: f64,
    tol: f64,
    max_iter: usize,
}

fn nmf(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::opt_str(inst, "solver").unwrap_or("cd") != "cd" {
        return Err(ctx.invalid("only solver='cd' is supported"));
    }
    if obj::opt_attr(inst, "shuffle").is_some() && obj::bool_or(inst, "shuffle", false) {
        return Err(ctx.invalid("shuffle=True is not supported"));
    }
    let h = obj::f64_matrix(inst, "components_", ctx)?;
    let p = h.cols() as f64;
    let alpha_w = obj::opt_f64(inst, "alpha_W").unwrap_or(0.0);
    let l1_ratio = obj::opt_f64(inst, "l1_ratio").unwrap_or(0.0);
    let (l1, l2) = (p * alpha_w * l1_ratio, p * alpha_w * (1.0 - l1_ratio));
    let mut hht = dot_t(&h, &h);
    if l2 != 0.0 {
        for (i, row) in hht.row_iter_mut().enumerate() {
            row[i] += l2;
        }
    }
    Ok(Compiled::Transformer(Box::new(Nmf {
        h,
        hht,
        l1,
        tol: obj::opt_f64(inst, "tol").unwrap_or(1e-4),
        max_iter: (obj::opt_f64(inst, "max_iter").unwrap_or(200.0) as usize).min(100_000),
    })))
}

impl Transformer for Nmf {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.h.cols())?;
        if x.data().iter().any(|v| *v < 0.0) {
            return Err(PredictError::Runtime(
                "Negative values in data passed to NMF (input X)".to_owned(),
            ));
        }
        let k = self.h.rows();
        let n = x.rows();
        // XHt = X · Hᵀ (`H.T` is `Ht`).
        let mut xht = dot_t(&x, &self.h);
        if self.l1 != 0.0 {
            for row in xht.row_iter_mut() {
                row.iter_mut().for_each(|v| *v -= self.l1);
            }
        }
        let xht = xht.into_data();
        let hht = self.hht.data();
        let mut w = vec![0.0; n * k];
        let mut violation_init = 0.0;
        for it in 1..=self.max_iter {
            let mut violation = 0.0;
            for t in 0..k {
                for i in 0..n {
                    let mut grad = -xht[i * k + t];
                    for r in 0..k {
                        grad += hht[t * k + r] * w[i * k + r];
                    }
                    let wit = w[i * k + t];
                    let pg = if wit == 0.0 { grad.min(0.0) } else { grad };
                    violation += pg.abs();
                    let hess = hht[t * k + t];
                    if hess != 0.0 {
                        w[i * k + t] = (wit - grad / hess).max(0.0);
                    }
                }
            }
            if it == 1 {
                violation_init = violation;
            }
            if violation_init == 0.0 || violation / violation_init <= self.tol {
                break;
            }
        }
        Matrix::new(n, k, w)
    }
}
