//! Binarizer: `1.0` where `x > threshold`, else `0.0` (NaN gives `0.0`, as sklearn's masks do).

use crate::error::PredictError;
use crate::pyobj::Instance;

use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

struct Binarizer {
    threshold: f64,
}

/// Compiles a fitted `sklearn.preprocessing.Binarizer`.
pub fn compile(inst: &Instance, _ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let threshold = obj::opt_f64(inst, "threshold").unwrap_or(0.0);
    Ok(Compiled::Transformer(Box::new(Binarizer { threshold })))
}

impl Transformer for Binarizer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        for row in x.row_iter_mut() {
            for v in row {
                *v = if *v > self.threshold { 1.0 } else { 0.0 };
            }
        }
        Ok(x)
    }
}
