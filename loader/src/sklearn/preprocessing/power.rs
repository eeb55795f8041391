//! PowerTransformer: Yeo-Johnson or Box-Cox (`scipy.special.boxcox`) per feature with its
//! fitted `lambdas_`, then the fitted StandardScaler when `standardize`.

use crate::error::PredictError;
use crate::pyobj::Instance;

use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

struct Power {
    box_cox: bool,
    lambdas: Vec<f64>,
    /// `(mean, scale)` per feature of the fitted `_scaler`.
    scaler: Option<(Vec<f64>, Vec<f64>)>,
}

/// Compiles a fitted `sklearn.preprocessing.PowerTransformer`.
pub fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let box_cox = match obj::opt_str(inst, "method").unwrap_or("yeo-johnson") {
        "yeo-johnson" => false,
        "box-cox" => true,
        other => return Err(ctx.invalid(format!("unknown method {other:?}"))),
    };
    let lambdas = obj::f64_vec(inst, "lambdas_", ctx)?;
    let scaler = if obj::bool_or(inst, "standardize", true) {
        let s = obj::attr(inst, "_scaler", ctx)?;
        let s = obj::instance(s).ok_or_else(|| ctx.invalid("_scaler is not an object"))?;
        let n = lambdas.len();
        let mean = match obj::opt_attr(s, "mean_") {
            Some(m) if obj::bool_or(s, "with_mean", true) => {
                obj::numbers(m).ok_or_else(|| ctx.invalid("_scaler.mean_ is not numeric"))?
            }
            _ => vec![0.0; n],
        };
        let scale = match obj::opt_attr(s, "scale_") {
            Some(m) if obj::bool_or(s, "with_std", true) => {
                obj::numbers(m).ok_or_else(|| ctx.invalid("_scaler.scale_ is not numeric"))?
            }
            _ => vec![1.0; n],
        };
        if mean.len() != n || scale.len() != n {
            return Err(ctx.invalid("_scaler and lambdas_ disagree"));
        }
        Some((mean, scale))
    } else {
        None
    };
    Ok(Compiled::Transformer(Box::new(Power {
        box_cox,
        lambdas,
        scaler,
    })))
}

/// sklearn's `_yeo_johnson_transform` for one value.
fn yeo_johnson(x: f64, l: f64) -> f64 {
    if x >= 0.0 {
        if l.abs() < f64::EPSILON {
            x.ln_1p()
        } else {
            ((x + 1.0).powf(l) - 1.0) / l
        }
    } else if (l - 2.0).abs() > f64::EPSILON {
        -((-x + 1.0).powf(2.0 - l) - 1.0) / (2.0 - l)
    } else {
        -(-x).ln_1p()
    }
}

/// `scipy.special.boxcox(x, lmbda)`.
fn box_cox(x: f64, l: f64) -> f64 {
    if l.abs() < 1e-19 {
        x.ln()
    } else {
        (l * x.ln()).exp_m1() / l
    }
}

impl Transformer for Power {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        x.expect_cols(self.lambdas.len())?;
        if self.box_cox && x.data().iter().any(|v| *v <= 0.0) {
            return Err(PredictError::Runtime(
                "The Box-Cox transformation can only be applied to strictly positive data"
                    .to_owned(),
            ));
        }
        for row in x.row_iter_mut() {
            for (c, v) in row.iter_mut().enumerate() {
                let l = self.lambdas[c];
                *v = if self.box_cox {
                    box_cox(*v, l)
                } else {
                    yeo_johnson(*v, l)
                };
                if let Some((mean, scale)) = &self.scaler {
                    *v -= mean[c];
                    *v /= scale[c];
                }
            }
        }
        Ok(x)
    }
}
