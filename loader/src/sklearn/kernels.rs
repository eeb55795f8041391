//! `sklearn.metrics.pairwise` kernels and products, written once for every estimator that
//! evaluates them: KernelRidge and LabelPropagation (one request row against stored rows,
//! [`Kernel::eval`]), KernelPCA and Nystroem (a whole block at once, [`Kernel::matrix`]: squared
//! distances by sklearn's `||x||² - 2 x·y + ||y||²`, clipped at zero, as `euclidean_distances`
//! computes them). Kernels: `linear`, `rbf`, `poly` / `polynomial`, `sigmoid`, `laplacian`,
//! `cosine`, `chi2`, `additive_chi2`, with sklearn's defaults (`gamma=None` is
//! `1 / n_features`, chi2's is 1, `degree=3`, `coef0=1`).

use crate::pyobj::Instance;

use super::obj;
use super::table::Matrix;
use super::{CompileError, Ctx};

/// A kernel with its parameters resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// `x·y`.
    Linear,
    /// `(gamma x·y + coef0)^degree`.
    Poly {
        /// Scale of the dot product.
        gamma: f64,
        /// Offset.
        coef0: f64,
        /// Power.
        degree: f64,
    },
    /// `exp(-gamma ||x-y||²)`.
    Rbf {
        /// Width.
        gamma: f64,
    },
    /// `tanh(gamma x·y + coef0)`.
    Sigmoid {
        /// Scale of the dot product.
        gamma: f64,
        /// Offset.
        coef0: f64,
    },
    /// `x·y / (|x| |y|)` (zero norms count as 1).
    Cosine,
    /// `exp(-gamma ||x-y||₁)`.
    Laplacian {
        /// Width.
        gamma: f64,
    },
    /// `−Σ (x − y)² / (x + y)` over the terms with `x + y ≠ 0`.
    AdditiveChi2,
    /// `exp(gamma · additive_chi2)`.
    Chi2 {
        /// Width.
        gamma: f64,
    },
}

impl Kernel {
    /// Reads the kernel `name` with `gamma` / `degree` / `coef0` taken from `inst` (absent or
    /// `None` gives sklearn's default); `n_features` resolves `gamma=None`.
    pub fn named(
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

    /// Reads an estimator's `kernel` (default `rbf`) and its parameters, the fitted `gamma_`
    /// (KernelPCA) taking precedence over `gamma`.
    pub fn read(inst: &Instance, n_features: usize, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let name = obj::opt_str(inst, "kernel").unwrap_or("rbf");
        let kernel = Self::named(name, inst, n_features, ctx)?;
        let Some(fitted) = obj::opt_f64(inst, "gamma_") else {
            return Ok(kernel);
        };
        Ok(match kernel {
            Self::Poly { coef0, degree, .. } => Self::Poly {
                gamma: fitted,
                coef0,
                degree,
            },
            Self::Rbf { .. } => Self::Rbf { gamma: fitted },
            Self::Sigmoid { coef0, .. } => Self::Sigmoid {
                gamma: fitted,
                coef0,
            },
            Self::Laplacian { .. } => Self::Laplacian { gamma: fitted },
            Self::Chi2 { .. } => Self::Chi2 { gamma: fitted },
            other => other,
        })
    }

    /// `k(x, y)` for one pair of rows (differences taken directly).
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

    /// `K(x, y)` for every row of `x` against every row of `y`: `[x.rows, y.rows]`.
    pub fn matrix(&self, x: &Matrix, y: &Matrix) -> Matrix {
        let y_sq: Vec<f64> = y
            .row_iter()
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        let y_norm: Vec<f64> = y_sq.iter().map(|v| v.sqrt()).collect();
        let mut out = Vec::with_capacity(x.rows() * y.rows());
        for xr in x.row_iter() {
            let x_sq: f64 = xr.iter().map(|v| v * v).sum();
            for (j, yr) in y.row_iter().enumerate() {
                let dot = || -> f64 { xr.iter().zip(yr).map(|(a, b)| a * b).sum() };
                out.push(match *self {
                    Self::Linear => dot(),
                    Self::Poly {
                        gamma,
                        coef0,
                        degree,
                    } => (dot() * gamma + coef0).powf(degree),
                    Self::Sigmoid { gamma, coef0 } => (dot() * gamma + coef0).tanh(),
                    Self::Rbf { gamma } => {
                        let d = (-2.0 * dot() + x_sq + y_sq[j]).max(0.0);
                        (d * -gamma).exp()
                    }
                    Self::Cosine => {
                        let (nx, ny) = (x_sq.sqrt(), y_norm[j]);
                        let nx = if nx == 0.0 { 1.0 } else { nx };
                        let ny = if ny == 0.0 { 1.0 } else { ny };
                        xr.iter().zip(yr).map(|(a, b)| (a / nx) * (b / ny)).sum()
                    }
                    Self::Laplacian { gamma } => {
                        let d: f64 = xr.iter().zip(yr).map(|(a, b)| (a - b).abs()).sum();
                        (d * -gamma).exp()
                    }
                    k @ (Self::AdditiveChi2 | Self::Chi2 { .. }) => k.eval(xr, yr),
                });
            }
        }
        // Sizes agree by construction.
        Matrix::new(x.rows(), y.rows(), out).unwrap_or_else(|_| Matrix::zeros(x.rows(), y.rows()))
    }
}

/// `X · Wᵀ` for `W` as `[k, p]`: `[x.rows, k]`.
pub fn dot_t(x: &Matrix, w: &Matrix) -> Matrix {
    let mut out = Vec::with_capacity(x.rows() * w.rows());
    for xr in x.row_iter() {
        for wr in w.row_iter() {
            out.push(xr.iter().zip(wr).map(|(a, b)| a * b).sum());
        }
    }
    Matrix::new(x.rows(), w.rows(), out).unwrap_or_else(|_| Matrix::zeros(x.rows(), w.rows()))
}

/// `X · W` for `W` as `[p, k]`: `[x.rows, k]`.
pub fn dot(x: &Matrix, w: &Matrix) -> Matrix {
    let k = w.cols();
    let mut out = vec![0.0; x.rows() * k];
    for (r, xr) in x.row_iter().enumerate() {
        let o = &mut out[r * k..(r + 1) * k];
        for (xv, wr) in xr.iter().zip(w.row_iter()) {
            for (ov, wv) in o.iter_mut().zip(wr) {
                *ov += xv * wv;
            }
        }
    }
    Matrix::new(x.rows(), k, out).unwrap_or_else(|_| Matrix::zeros(x.rows(), k))
}

/// Euclidean distances of every row of `x` to every row of `c` (sklearn's
/// `euclidean_distances`: `sqrt(max(||x||² - 2 x·c + ||c||², 0))`).
pub fn euclidean(x: &Matrix, c: &Matrix) -> Matrix {
    let mut d = Kernel::Linear.matrix(x, c);
    let c_sq: Vec<f64> = c
        .row_iter()
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let x_sq: Vec<f64> = x
        .row_iter()
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    for (i, row) in d.row_iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (-2.0 * *v + x_sq[i] + c_sq[j]).max(0.0).sqrt();
        }
    }
    d
}

/// `‖x − y‖²`, differences taken directly.
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
