//! Kernel SVM classifiers (FORMATS.md §2g): SVC and NuSVC `predict`, reproducing libsvm's
//! one-vs-one vote (`svm_predict_values` in sklearn's libsvm fork): for each class pair
//! `(i, j)`, `Σ coef·K(sv, x) + _intercept_` > 0 votes for `i`, else `j`; the first class with
//! the most votes wins. Uses the private `_dual_coef_` / `_intercept_` (the public ones are
//! sign-flipped for binary problems).

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers SVC and NuSVC.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.svm._classes.SVC", svc);
    reg.insert("sklearn.svm._classes.NuSVC", svc);
}

/// A libsvm kernel.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    Linear,
    Poly { gamma: f64, coef0: f64, degree: i32 },
    Rbf { gamma: f64 },
    Sigmoid { gamma: f64, coef0: f64 },
}

impl Kernel {
    fn eval(self, x: &[f64], sv: &[f64]) -> f64 {
        let dot = || x.iter().zip(sv).map(|(a, b)| a * b).sum::<f64>();
        match self {
            Self::Linear => dot(),
            Self::Poly {
                gamma,
                coef0,
                degree,
            } => (gamma * dot() + coef0).powi(degree),
            Self::Rbf { gamma } => {
                let d: f64 = x.iter().zip(sv).map(|(a, b)| (a - b) * (a - b)).sum();
                (-gamma * d).exp()
            }
            Self::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }
}

struct Svc {
    kernel: Kernel,
    /// `(n_sv, features)`.
    support_vectors: Matrix,
    /// `(n_classes - 1, n_sv)`.
    dual_coef: Matrix,
    /// One per class pair, in libsvm's `(0,1), (0,2), ..., (1,2), ...` order.
    intercept: Vec<f64>,
    /// Start of each class's support vectors.
    starts: Vec<usize>,
    counts: Vec<usize>,
    classes: Labels,
}

fn svc(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::bool_or(inst, "break_ties", false) {
        return Err(ctx.invalid("break_ties=True is not supported"));
    }
    let gamma = obj::opt_f64(inst, "_gamma").unwrap_or(0.0);
    let coef0 = obj::opt_f64(inst, "coef0").unwrap_or(0.0);
    let kernel = match obj::opt_str(inst, "kernel").unwrap_or("rbf") {
        "linear" => Kernel::Linear,
        "poly" => Kernel::Poly {
            gamma,
            coef0,
            degree: obj::opt_f64(inst, "degree").unwrap_or(3.0) as i32,
        },
        "rbf" => Kernel::Rbf { gamma },
        "sigmoid" => Kernel::Sigmoid { gamma, coef0 },
        other => return Err(ctx.invalid(format!("kernel {other:?} is not supported"))),
    };
    let support_vectors = obj::f64_matrix(inst, "support_vectors_", ctx)?;
    let dual_name = if inst.attr("_dual_coef_").is_some() {
        "_dual_coef_"
    } else {
        "dual_coef_"
    };
    let dual_coef = obj::f64_matrix(inst, dual_name, ctx)?;
    let intercept_name = if inst.attr("_intercept_").is_some() {
        "_intercept_"
    } else {
        "intercept_"
    };
    let intercept = obj::f64_vec(inst, intercept_name, ctx)?;
    let n_support_name = if inst.attr("_n_support").is_some() {
        "_n_support"
    } else {
        "n_support_"
    };
    let counts: Vec<usize> = obj::f64_vec(inst, n_support_name, ctx)?
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let classes = obj::labels(inst, "classes_", ctx)?;
    let k = classes.len();
    let total: usize = counts.iter().sum();
    if counts.len() != k
        || k < 2
        || total != support_vectors.rows()
        || dual_coef.rows() != k - 1
        || dual_coef.cols() != total
        || intercept.len() != k * (k - 1) / 2
    {
        return Err(ctx.invalid("support vectors, coefficients and classes disagree in shape"));
    }
    let starts = counts
        .iter()
        .scan(0, |acc, c| {
            let s = *acc;
            *acc += c;
            Some(s)
        })
        .collect();
    Ok(Compiled::Estimator(Box::new(Svc {
        kernel,
        support_vectors,
        dual_coef,
        intercept,
        starts,
        counts,
        classes,
    })))
}

impl Svc {
    fn vote(&self, x: &[f64], kvalue: &mut [f64]) -> usize {
        for (k, sv) in kvalue.iter_mut().zip(self.support_vectors.row_iter()) {
            *k = self.kernel.eval(x, sv);
        }
        let n = self.classes.len();
        let cols = self.dual_coef.cols();
        let coef = self.dual_coef.data();
        let mut votes = vec![0usize; n];
        let mut p = 0;
        for i in 0..n {
            for j in i + 1..n {
                let (si, ci) = (self.starts[i], self.counts[i]);
                let (sj, cj) = (self.starts[j], self.counts[j]);
                let mut sum = 0.0;
                for s in si..si + ci {
                    sum += coef.get((j - 1) * cols + s).copied().unwrap_or(0.0)
                        * kvalue.get(s).copied().unwrap_or(0.0);
                }
                for s in sj..sj + cj {
                    sum += coef.get(i * cols + s).copied().unwrap_or(0.0)
                        * kvalue.get(s).copied().unwrap_or(0.0);
                }
                // `_intercept_` is libsvm's `-rho`.
                let dec = sum + self.intercept.get(p).copied().unwrap_or(0.0);
                if dec > 0.0 {
                    votes[i] += 1;
                } else {
                    votes[j] += 1;
                }
                p += 1;
            }
        }
        let mut best = 0;
        for (i, v) in votes.iter().enumerate() {
            if *v > votes[best] {
                best = i;
            }
        }
        best
    }
}

impl Estimator for Svc {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: self.classes.datatype(),
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.support_vectors.cols())?;
        let mut kvalue = vec![0.0; self.support_vectors.rows()];
        let idx: Vec<usize> = x
            .row_iter()
            .map(|row| self.vote(row, &mut kvalue))
            .collect();
        Ok(Output::Labels(self.classes.take(&idx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels() {
        let k = Kernel::Rbf { gamma: 0.5 };
        assert!((k.eval(&[1.0, 0.0], &[0.0, 0.0]) - (-0.5f64).exp()).abs() < 1e-15);
        assert_eq!(Kernel::Linear.eval(&[1.0, 2.0], &[3.0, 4.0]), 11.0);
    }
}
