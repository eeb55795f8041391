//! PLSRegression, PLSCanonical and CCA (`cross_decomposition/_pls.py`) `predict`.
//! sklearn >= 1.3 stores `coef_` as `(targets, features)` with `intercept_` (the `y` mean) and
//! predicts `(X − _x_mean) · coef_ᵀ + intercept_`, raveled when `_predict_1d`; older versions
//! store `coef_` as `(features, targets)` and predict `((X − _x_mean) / _x_std) · coef_ + _y_mean`.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::Output;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the PLS family.
pub fn register(reg: &mut Registry) {
    for path in [
        "sklearn.cross_decomposition._pls.PLSRegression",
        "sklearn.cross_decomposition._pls.PLSCanonical",
        "sklearn.cross_decomposition._pls.CCA",
    ] {
        reg.insert(path, compile);
    }
}

struct Pls {
    x_mean: Vec<f64>,
    /// Divides the centred input (old layout); ones otherwise.
    x_scale: Vec<f64>,
    /// `(targets, features)`.
    coef: Matrix,
    intercept: Vec<f64>,
    flat: bool,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let x_mean = obj::f64_vec(inst, "_x_mean", ctx)?;
    let p = x_mean.len();
    let raw = obj::f64_matrix(inst, "coef_", ctx)?;
    let (coef, intercept, x_scale) = if inst.attr("intercept_").is_some() {
        let intercept = obj::f64_vec(inst, "intercept_", ctx)?;
        (raw, intercept, vec![1.0; p])
    } else {
        // (features, targets) -> (targets, features).
        let (f, t) = (raw.rows(), raw.cols());
        let mut data = vec![0.0; f * t];
        for (i, row) in raw.row_iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if let Some(slot) = data.get_mut(j * f + i) {
                    *slot = *v;
                }
            }
        }
        let coef = Matrix::new(t, f, data).map_err(|e| ctx.invalid(e.to_string()))?;
        (
            coef,
            obj::f64_vec(inst, "_y_mean", ctx)?,
            obj::f64_vec(inst, "_x_std", ctx)?,
        )
    };
    if coef.cols() != p || x_scale.len() != p || intercept.len() != coef.rows() {
        return Err(ctx.invalid("coef_, intercept_ and _x_mean disagree in shape"));
    }
    let flat = obj::bool_or(inst, "_predict_1d", false);
    Ok(Compiled::Estimator(Box::new(Pls {
        x_mean,
        x_scale,
        coef,
        intercept,
        flat,
    })))
}

impl Estimator for Pls {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.flat {
                vec![-1]
            } else {
                vec![-1, self.coef.rows() as i64]
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.x_mean.len())?;
        let t = self.coef.rows();
        let mut out = Vec::with_capacity(x.rows() * t);
        let mut centred = vec![0.0; self.x_mean.len()];
        for row in x.row_iter() {
            for ((c, v), (m, s)) in centred
                .iter_mut()
                .zip(row)
                .zip(self.x_mean.iter().zip(&self.x_scale))
            {
                *c = (v - m) / s;
            }
            for (w, b) in self.coef.row_iter().zip(&self.intercept) {
                let dot: f64 = centred.iter().zip(w).map(|(a, c)| a * c).sum();
                out.push(dot + b);
            }
        }
        Ok(if self.flat {
            Output::Vector(out)
        } else {
            Output::Matrix(Matrix::new(x.rows(), t, out)?)
        })
    }
}
