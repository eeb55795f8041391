//! Pairwise kernels as `sklearn.metrics.pairwise.pairwise_kernels` computes them (shared by
//! KernelPCA and Nystroem; squared distances by sklearn's `||x||² - 2 x·y + ||y||²`, clipped
//! at zero).

use crate::pyobj::Instance;

use super::obj;
use super::table::Matrix;
use super::{CompileError, Ctx};

/// A kernel with its parameters resolved.
#[derive(Debug, Clone, Copy)]
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
    /// `x·y / (|x| |y|)`.
    Cosine,
    /// `exp(-gamma ||x-y||₁)`.
    Laplacian {
        /// Width.
        gamma: f64,
    },
}

impl Kernel {
    /// Reads `kernel`, `gamma` (or `gamma_`), `degree`, `coef0` of an estimator; `n_features`
    /// gives the default gamma `1 / n_features`.
    pub fn read(inst: &Instance, n_features: usize, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let name = obj::opt_str(inst, "kernel").unwrap_or("rbf");
        let gamma = obj::opt_f64(inst, "gamma_")
            .or_else(|| obj::opt_f64(inst, "gamma"))
            .unwrap_or(1.0 / n_features.max(1) as f64);
        let coef0 = obj::opt_f64(inst, "coef0").unwrap_or(1.0);
        let degree = obj::opt_f64(inst, "degree").unwrap_or(3.0);
        Ok(match name {
            "linear" => Self::Linear,
            "poly" | "polynomial" => Self::Poly {
                gamma,
                coef0,
                degree,
            },
            "rbf" => Self::Rbf { gamma },
            "sigmoid" => Self::Sigmoid { gamma, coef0 },
            "cosine" => Self::Cosine,
            "laplacian" => Self::Laplacian { gamma },
            other => return Err(ctx.invalid(format!("kernel {other:?} is not supported"))),
        })
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
