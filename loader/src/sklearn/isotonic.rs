//! IsotonicRegression (`sklearn/isotonic.py`): `predict` clips to `[X_min_, X_max_]` when
//! `out_of_bounds="clip"`, then interpolates `X_thresholds_` → `y_thresholds_` linearly as
//! `scipy.interpolate.interp1d` does (`searchsorted` left, slope times offset plus the lower
//! value); outside the range `"nan"` gives NaN and `"raise"` an error. One input column.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::Output;
use super::table::Data;
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers IsotonicRegression.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.isotonic.IsotonicRegression", compile);
}

/// What happens outside the fitted range.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bounds {
    Clip,
    Nan,
    Raise,
}

/// A fitted isotonic curve.
pub struct Isotonic {
    x: Vec<f64>,
    y: Vec<f64>,
    bounds: Bounds,
}

impl Isotonic {
    /// Reads an `IsotonicRegression` instance.
    pub fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let x = obj::f64_vec(inst, "X_thresholds_", ctx)?;
        let y = obj::f64_vec(inst, "y_thresholds_", ctx)?;
        if x.len() != y.len() || x.is_empty() {
            return Err(ctx.invalid("X_thresholds_ and y_thresholds_ disagree"));
        }
        let bounds = match obj::opt_str(inst, "out_of_bounds").unwrap_or("nan") {
            "clip" => Bounds::Clip,
            "nan" => Bounds::Nan,
            "raise" => Bounds::Raise,
            other => return Err(ctx.invalid(format!("out_of_bounds {other:?} is not supported"))),
        };
        Ok(Self { x, y, bounds })
    }

    /// The curve at `t`.
    pub fn eval(&self, t: f64) -> Result<f64, PredictError> {
        let (Some(&lo_x), Some(&hi_x)) = (self.x.first(), self.x.last()) else {
            return Ok(f64::NAN);
        };
        let t = match self.bounds {
            Bounds::Clip => t.clamp(lo_x, hi_x),
            _ => t,
        };
        if self.x.len() == 1 {
            return Ok(self.y.first().copied().unwrap_or(f64::NAN));
        }
        if t.is_nan() {
            return Ok(f64::NAN);
        }
        if t < lo_x || t > hi_x {
            return match self.bounds {
                Bounds::Raise => Err(PredictError::Runtime(format!(
                    "{t} is outside the fitted range [{lo_x}, {hi_x}]"
                ))),
                _ => Ok(f64::NAN),
            };
        }
        let idx = self
            .x
            .partition_point(|&v| v < t)
            .clamp(1, self.x.len() - 1);
        let (x0, x1) = (self.x[idx - 1], self.x[idx]);
        let (y0, y1) = (self.y[idx - 1], self.y[idx]);
        let slope = (y1 - y0) / (x1 - x0);
        Ok(slope * (t - x0) + y0)
    }
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Estimator(Box::new(Isotonic::read(inst, ctx)?)))
}

impl Estimator for Isotonic {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(1)?;
        let out = x
            .data()
            .iter()
            .map(|&t| self.eval(t))
            .collect::<Result<_, _>>()?;
        Ok(Output::Vector(out))
    }
}
