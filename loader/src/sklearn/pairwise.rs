//! `sklearn.metrics.pairwise` kernels, written once for every estimator that evaluates them
//! between a request row and stored rows (KernelRidge, LabelPropagation, ...): `linear`,
//! `rbf`, `poly` / `polynomial`, `sigmoid`, `laplacian`, `cosine`, `chi2`, `additive_chi2`,
//! with sklearn's defaults (`gamma=None` is `1 / n_features`, `degree=3`, `coef0=1`).

use crate::pyobj::Instance;

use super::obj;
use super::{CompileError, Ctx};

/// A pairwise kernel with its parameters resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// `x · y`.
    Linear,
    /// `exp(−γ‖x − y‖²)`.
    Rbf { gamma: f64 },
    /// `(γ x·y + c₀)^d`.
    Poly { gamma: f64, coef0: f64, degree: f64 },
    /// `tanh(γ x·y + c₀)`.
    Sigmoid { gamma: f64, coef0: f64 },
    /// `exp(−γ‖x − y‖₁)`.
    Laplacian { gamma: f64 },
    /// `x·y / (‖x‖‖y‖)` (zero norms count as 1).
    Cosine,
    /// `−Σ (x − y)² / (x + y)` over the terms with `x + y ≠ 0`.
    AdditiveChi2,
    /// `exp(γ · additive_chi2)`.
    Chi2 { gamma: f64 },
}

impl Kernel {
    /// Reads a kernel by name with `gamma` / `degree` / `coef0` taken from `inst` (absent or
    /// `None` gives sklearn's default); `n_features` resolves `gamma=None`.
    pub fn read(
        name: &str,
        inst: &Instance,
        n_features: usize,
        ctx: &Ctx<'_>,
    ) -> Result<Self, CompileError> {
        let default_gamma = 1.0 / n_features.max(1) as f64;
        let gamma = obj::opt_f64(inst, "gamma");
        let coef0 = obj::opt_f64(inst, "coef0").unwrap_or(1.0);
        Ok(match name {
            "linear" => Self::Linear,
            "rbf" => Self::Rbf {
                gamma: gamma.unwrap_or(default_gamma),
            },
            "poly" | "polynomial" => Self::Poly {
                gamma: gamma.unwrap_or(default_gamma),
                coef0,
                degree: obj::opt_f64(inst, "degree").unwrap_or(3.0),
            },
            "sigmoid" => Self::Sigmoid {
                gamma: gamma.unwrap_or(default_gamma),
                coef0,
            },
            "laplacian" => Self::Laplacian {
                gamma: gamma.unwrap_or(default_gamma),
            },
            "cosine" => Self::Cosine,
            "additive_chi2" => Self::AdditiveChi2,
            "chi2" => Self::Chi2 {
                gamma: gamma.unwrap_or(1.0),
            },
            other => return Err(ctx.invalid(format!("kernel {other:?} is not supported"))),
        })
    }

    /// `k(x, y)`.
    pub fn eval(self, x: &[f64], y: &[f64]) -> f64 {
        let dot = || x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
        match self {
            Self::Linear => dot(),
            Self::Rbf { gamma } => (-gamma * sq_euclidean(x, y)).exp(),
            Self::Poly {
                gamma,
                coef0,
                degree,
            } => (gamma * dot() + coef0).powf(degree),
            Self::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
            Self::Laplacian { gamma } => {
                let l1: f64 = x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum();
                (-gamma * l1).exp()
            }
            Self::Cosine => {
                let norm = |v: &[f64]| {
                    let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                    if n == 0.0 {
                        1.0
                    } else {
                        n
                    }
                };
                dot() / (norm(x) * norm(y))
            }
            Self::AdditiveChi2 => additive_chi2(x, y),
            Self::Chi2 { gamma } => (gamma * additive_chi2(x, y)).exp(),
        }
    }
}

/// `‖x − y‖²`.
pub fn sq_euclidean(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

fn additive_chi2(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for (a, b) in x.iter().zip(y) {
        let n = a + b;
        if n != 0.0 {
            s += (a - b) * (a - b) / n;
        }
    }
    -s
}
