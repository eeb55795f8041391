//! GaussianProcessClassifier (`gaussian_process/_gpc.py`): the binary Laplace approximation
//! (`_BinaryGaussianProcessClassifierLaplace`) and the classifier that serves its
//! `base_estimator_` (the binary model itself, or a OneVsRestClassifier of them for more classes,
//! compiled by `meta/multiclass.rs`).
//!
//! Binary, per request row `x` (GPML Algorithm 3.2): `k* = kernel_(X_train_, x)`, the latent mean
//! `f* = k*ᵀ (y_train_ − pi_)`, `v = L_⁻¹ (W_sr_ ∘ k*)` (forward substitution: `L_` is the lower
//! Cholesky factor), the latent variance `kernel_.diag(x) − v·v`; `predict` is `classes_[1]`
//! where `f* > 0`, `predict_proba` Williams & Barber's five-erf approximation of the logistic
//! integral with sklearn's `LAMBDAS` / `COEFS`.

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::gaussian_process::{read_kernel, Kernel};
use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::Registry;
use super::{proba_classifier_info, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo};

/// sklearn's `LAMBDAS`.
const LAMBDAS: [f64; 5] = [0.41, 0.4, 0.37, 0.44, 0.39];
/// sklearn's `COEFS`.
const COEFS: [f64; 5] = [
    -1854.8214151,
    3516.89893646,
    221.29346712,
    128.12323805,
    -2010.49422654,
];

/// Registers GaussianProcessClassifier and its binary Laplace model.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.gaussian_process._gpc.GaussianProcessClassifier",
        classifier,
    );
    reg.insert(
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        binary,
    );
}

/// The classifier serves `base_estimator_`; `one_vs_one` (no `predict_proba` in sklearn either)
/// is compiled as the OneVsOneClassifier it holds.
fn classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let base = obj::attr(inst, "base_estimator_", ctx)?;
    ctx.compile_child(".base_estimator_", base)
}

struct BinaryLaplace {
    kernel: Kernel,
    x_train: Matrix,
    /// `y_train_ − pi_`.
    residual: Vec<f64>,
    w_sr: Vec<f64>,
    /// `L_`, `(n_train, n_train)` lower triangular.
    l: Matrix,
    classes: Labels,
}

fn binary(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let kernel = read_kernel(obj::attr(inst, "kernel_", ctx)?, ctx, 0)?;
    let x_train = obj::f64_matrix(inst, "X_train_", ctx)?;
    let y = obj::f64_vec(inst, "y_train_", ctx)?;
    let pi = obj::f64_vec(inst, "pi_", ctx)?;
    let w_sr = obj::f64_vec(inst, "W_sr_", ctx)?;
    let l = obj::f64_matrix(inst, "L_", ctx)?;
    let classes = obj::labels(inst, "classes_", ctx)?;
    let n = x_train.rows();
    if y.len() != n || pi.len() != n || w_sr.len() != n || l.rows() != n || l.cols() != n {
        return Err(ctx.invalid("X_train_, y_train_, pi_, W_sr_ and L_ disagree"));
    }
    if classes.len() != 2 {
        return Err(ctx.invalid("a binary Laplace model needs two classes_"));
    }
    if l.data()
        .chunks(n.max(1))
        .enumerate()
        .any(|(i, r)| r.get(i) == Some(&0.0))
    {
        return Err(ctx.invalid("L_ has a zero on its diagonal"));
    }
    let residual = y.iter().zip(&pi).map(|(a, b)| a - b).collect();
    Ok(Compiled::Estimator(Box::new(BinaryLaplace {
        kernel,
        x_train,
        residual,
        w_sr,
        l,
        classes,
    })))
}

impl BinaryLaplace {
    /// The latent mean of each row, and its variance when `variance` is asked for.
    fn latent(&self, x: &Matrix, variance: bool) -> Vec<(f64, f64)> {
        let n = self.x_train.rows();
        let mut k = vec![0.0; n];
        let mut v = vec![0.0; n];
        x.row_iter()
            .map(|row| {
                for (slot, fit) in k.iter_mut().zip(self.x_train.row_iter()) {
                    *slot = self.kernel.eval(fit, row);
                }
                let mean: f64 = k.iter().zip(&self.residual).map(|(a, b)| a * b).sum();
                if !variance {
                    return (mean, 0.0);
                }
                // Forward substitution of L v = W_sr ∘ k.
                for (i, lrow) in self.l.row_iter().enumerate() {
                    let s: f64 = lrow[..i].iter().zip(&v[..i]).map(|(a, b)| a * b).sum();
                    v[i] = (self.w_sr[i] * k[i] - s) / lrow[i];
                }
                let vv: f64 = v.iter().map(|a| a * a).sum();
                (mean, self.kernel.diag(row) - vv)
            })
            .collect()
    }
}

/// `pi_star` of one row from its latent mean and variance.
fn pi_star(mean: f64, var: f64) -> f64 {
    let alpha = 1.0 / (2.0 * var);
    let mut s = 0.0;
    for (lambda, coef) in LAMBDAS.iter().zip(COEFS) {
        let gamma = lambda * mean;
        let integral = (std::f64::consts::PI / alpha).sqrt()
            * libm::erf(gamma * (alpha / (alpha + lambda * lambda)).sqrt())
            / (2.0 * (var * 2.0 * std::f64::consts::PI).sqrt());
        s += coef * integral;
    }
    s + 0.5 * COEFS.iter().sum::<f64>()
}

impl Estimator for BinaryLaplace {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        proba_classifier_info(&self.classes, method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.x_train.cols())?;
        if method == Method::Predict {
            let idx: Vec<usize> = self
                .latent(&x, false)
                .into_iter()
                .map(|(f, _)| usize::from(f > 0.0))
                .collect();
            return Ok(Output::Labels(self.classes.take(&idx)?));
        }
        let mut out = Vec::with_capacity(x.rows() * 2);
        for (mean, var) in self.latent(&x, true) {
            let p = pi_star(mean, var);
            out.extend([1.0 - p, p]);
        }
        Ok(Output::Matrix(Matrix::new(x.rows(), 2, out)?))
    }
}
