//! KernelRidge (`sklearn/kernel_ridge.py`): `predict = K(X, X_fit_) · dual_coef_` with the
//! [`Kernel`] named by `kernel` (a callable kernel is refused); `dual_coef_` 2-D gives
//! `[N, targets]`.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::kernels::Kernel;
use super::obj;
use super::output::Output;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers KernelRidge.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.kernel_ridge.KernelRidge", compile);
}

struct KernelRidge {
    kernel: Kernel,
    x_fit: Matrix,
    /// `(n_train, targets)`.
    dual: Matrix,
    flat: bool,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let x_fit = obj::f64_matrix(inst, "X_fit_", ctx)?;
    let name = match obj::attr(inst, "kernel", ctx)?.as_ref() {
        PyObj::Str(s) => s.clone(),
        _ => return Err(ctx.invalid("a callable kernel is not supported")),
    };
    if obj::opt_attr(inst, "kernel_params").is_some() {
        return Err(ctx.invalid("kernel_params are not supported"));
    }
    let kernel = Kernel::named(&name, inst, x_fit.cols(), ctx)?;
    let (shape, values) = obj::f64_array(inst, "dual_coef_", ctx)?;
    let (dual, flat) = match shape.as_slice() {
        [n] => (Matrix::new(*n, 1, values), true),
        [n, t] => (Matrix::new(*n, *t, values), false),
        _ => return Err(ctx.invalid("dual_coef_ is not 1-D or 2-D")),
    };
    let dual = dual.map_err(|e| ctx.invalid(e.to_string()))?;
    if dual.rows() != x_fit.rows() {
        return Err(ctx.invalid("dual_coef_ and X_fit_ disagree"));
    }
    Ok(Compiled::Estimator(Box::new(KernelRidge {
        kernel,
        x_fit,
        dual,
        flat,
    })))
}

impl Estimator for KernelRidge {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.flat {
                vec![-1]
            } else {
                vec![-1, self.dual.cols() as i64]
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.x_fit.cols())?;
        let t = self.dual.cols();
        let mut out = vec![0.0; x.rows() * t];
        for (row, acc) in x.row_iter().zip(out.chunks_exact_mut(t)) {
            for (fit, coef) in self.x_fit.row_iter().zip(self.dual.row_iter()) {
                let k = self.kernel.eval(row, fit);
                for (a, c) in acc.iter_mut().zip(coef) {
                    *a += k * c;
                }
            }
        }
        Ok(if self.flat {
            Output::Vector(out)
        } else {
            Output::Matrix(Matrix::new(x.rows(), t, out)?)
        })
    }
}
