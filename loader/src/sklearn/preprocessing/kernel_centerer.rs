//! KernelCenterer: `K - K_fit_rows_ - rowsum(K) / n_fit + K_fit_all_`, in sklearn's order.

use crate::error::PredictError;
use crate::pyobj::Instance;

use crate::sklearn::numeric::np_sum;
use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

struct KernelCenterer {
    fit_rows: Vec<f64>,
    fit_all: f64,
}

/// Compiles a fitted `sklearn.preprocessing.KernelCenterer`.
pub fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(KernelCenterer {
        fit_rows: obj::f64_vec(inst, "K_fit_rows_", ctx)?,
        fit_all: obj::opt_f64(inst, "K_fit_all_")
            .ok_or_else(|| ctx.invalid("missing K_fit_all_"))?,
    })))
}

impl Transformer for KernelCenterer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut k = x.into_matrix()?;
        k.expect_cols(self.fit_rows.len())?;
        let n = self.fit_rows.len() as f64;
        for row in k.row_iter_mut() {
            let pred = np_sum(row) / n;
            for (v, f) in row.iter_mut().zip(&self.fit_rows) {
                *v -= f;
                *v -= pred;
                *v += self.fit_all;
            }
        }
        Ok(k)
    }
}
