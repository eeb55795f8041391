//! GaussianMixture and BayesianGaussianMixture (`mixture/_gaussian_mixture.py`,
//! `_bayesian_mixture.py`): `predict` is the argmax of the weighted log probabilities,
//! `predict_proba` their `exp(· − logsumexp)`. The Gaussian log density follows
//! `_estimate_log_gaussian_prob` for every covariance type (`full`, `tied`, `diag`,
//! `spherical`) from `precisions_cholesky_`; the Bayesian model adds its degrees-of-freedom and
//! mean-precision terms and takes its log weights from `weight_concentration_` (digamma, for the
//! Dirichlet process or distribution prior).

use std::f64::consts::PI;

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::naive_bayes::log_proba;
use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the mixtures.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.mixture._gaussian_mixture.GaussianMixture", compile);
    reg.insert(
        "sklearn.mixture._bayesian_mixture.BayesianGaussianMixture",
        compile,
    );
}

enum Cov {
    /// One `(p, p)` Cholesky factor of the precision per component.
    Full(Vec<Matrix>),
    Tied(Matrix),
    /// `(k, p)` precision Cholesky diagonals.
    Diag(Matrix),
    /// One per component.
    Spherical(Vec<f64>),
}

struct Mixture {
    means: Matrix,
    cov: Cov,
    /// Per component: log weight + log det + the Bayesian terms.
    offset: Vec<f64>,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let means = obj::f64_matrix(inst, "means_", ctx)?;
    let (k, p) = (means.rows(), means.cols());
    let (shape, chol) = obj::f64_array(inst, "precisions_cholesky_", ctx)?;
    let kind = obj::opt_str(inst, "covariance_type").unwrap_or("full");
    let bad = || ctx.invalid("precisions_cholesky_ does not fit means_ and covariance_type");
    let (cov, log_det): (Cov, Vec<f64>) = match kind {
        "full" => {
            if shape != [k, p, p] {
                return Err(bad());
            }
            let mats: Vec<Matrix> = chol
                .chunks_exact(p * p)
                .map(|c| Matrix::new(p, p, c.to_vec()))
                .collect::<Result<_, _>>()
                .map_err(|e| ctx.invalid(e.to_string()))?;
            let det = mats
                .iter()
                .map(|m| (0..p).map(|i| m.data()[i * p + i].ln()).sum())
                .collect();
            (Cov::Full(mats), det)
        }
        "tied" => {
            if shape != [p, p] {
                return Err(bad());
            }
            let m = Matrix::new(p, p, chol).map_err(|e| ctx.invalid(e.to_string()))?;
            let det: f64 = (0..p).map(|i| m.data()[i * p + i].ln()).sum();
            (Cov::Tied(m), vec![det; k])
        }
        "diag" => {
            if shape != [k, p] {
                return Err(bad());
            }
            let m = Matrix::new(k, p, chol).map_err(|e| ctx.invalid(e.to_string()))?;
            let det = m
                .row_iter()
                .map(|r| r.iter().map(|v| v.ln()).sum())
                .collect();
            (Cov::Diag(m), det)
        }
        "spherical" => {
            if shape != [k] {
                return Err(bad());
            }
            let det = chol.iter().map(|v| p as f64 * v.ln()).collect();
            (Cov::Spherical(chol), det)
        }
        other => return Err(ctx.invalid(format!("covariance_type {other:?} is not supported"))),
    };
    let bayesian = inst.class.name == "BayesianGaussianMixture";
    let (log_weights, extra) = if bayesian {
        bayesian_terms(inst, k, p, ctx)?
    } else {
        let w = obj::f64_vec(inst, "weights_", ctx)?;
        (w.iter().map(|v| v.ln()).collect(), vec![0.0; k])
    };
    if log_weights.len() != k || extra.len() != k {
        return Err(ctx.invalid("weights disagree with means_"));
    }
    let offset = (0..k)
        .map(|c| {
            // ((-0.5 * (p log 2π + lp) + log_det) + extra) + log_weight, as numpy adds.
            log_det[c] + extra[c] + log_weights[c]
        })
        .collect();
    Ok(Compiled::Estimator(Box::new(Mixture {
        means,
        cov,
        offset,
    })))
}

/// `(log weights, per-component additive terms)` of a BayesianGaussianMixture.
fn bayesian_terms(
    inst: &Instance,
    k: usize,
    p: usize,
    ctx: &Ctx<'_>,
) -> Result<(Vec<f64>, Vec<f64>), CompileError> {
    let dof = obj::f64_vec(inst, "degrees_of_freedom_", ctx)?;
    let mean_precision = obj::f64_vec(inst, "mean_precision_", ctx)?;
    let (wshape, wc) = obj::f64_array(inst, "weight_concentration_", ctx)?;
    if dof.len() != k || mean_precision.len() != k {
        return Err(ctx.invalid("degrees_of_freedom_ / mean_precision_ disagree with means_"));
    }
    let process = obj::opt_str(inst, "weight_concentration_prior_type")
        .unwrap_or("dirichlet_process")
        == "dirichlet_process";
    let log_weights = if process {
        // A tuple of two arrays, flattened by `f64_array`.
        if wc.len() != 2 * k {
            return Err(ctx.invalid(format!("weight_concentration_ has shape {wshape:?}")));
        }
        let (a, b) = wc.split_at(k);
        let mut out = Vec::with_capacity(k);
        let mut cum = 0.0;
        for c in 0..k {
            let sum = digamma(a[c] + b[c]);
            out.push(digamma(a[c]) - sum + cum);
            cum += digamma(b[c]) - sum;
        }
        out
    } else {
        let total = digamma(wc.iter().sum());
        wc.iter().map(|v| digamma(*v) - total).collect()
    };
    let pf = p as f64;
    let extra = (0..k)
        .map(|c| {
            let lambda = pf * 2f64.ln()
                + (0..p)
                    .map(|i| digamma(0.5 * (dof[c] - i as f64)))
                    .sum::<f64>();
            -0.5 * pf * dof[c].ln() + 0.5 * (lambda - pf / mean_precision[c])
        })
        .collect();
    Ok((log_weights, extra))
}

/// The digamma function ψ(x) for x > 0 (recurrence to x ≥ 6, then the asymptotic series).
fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 6.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    acc + x.ln()
        - 0.5 / x
        - f * (1.0 / 12.0
            - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0)))))
}

impl Mixture {
    fn weighted_log_prob(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        let (k, p) = (self.means.rows(), self.means.cols());
        x.expect_cols(p)?;
        let norm = p as f64 * (2.0 * PI).ln();
        let mut out = Vec::with_capacity(x.rows() * k);
        let project = |row: &[f64], mu: &[f64], chol: &Matrix| -> f64 {
            // sum((x·P − μ·P)²)
            (0..p)
                .map(|j| {
                    let xs: f64 = (0..p).map(|i| row[i] * chol.data()[i * p + j]).sum();
                    let ms: f64 = (0..p).map(|i| mu[i] * chol.data()[i * p + j]).sum();
                    (xs - ms) * (xs - ms)
                })
                .sum()
        };
        for row in x.row_iter() {
            for (c, mu) in self.means.row_iter().enumerate() {
                let lp = match &self.cov {
                    Cov::Full(m) => project(row, mu, &m[c]),
                    Cov::Tied(m) => project(row, mu, m),
                    Cov::Diag(d) => {
                        let prec: Vec<f64> = d
                            .row_iter()
                            .nth(c)
                            .unwrap_or(&[])
                            .iter()
                            .map(|v| v * v)
                            .collect();
                        let a: f64 = mu.iter().zip(&prec).map(|(m, q)| m * m * q).sum();
                        let b: f64 = row
                            .iter()
                            .zip(mu.iter().zip(&prec))
                            .map(|(xv, (m, q))| xv * (m * q))
                            .sum();
                        let cc: f64 = row.iter().zip(&prec).map(|(xv, q)| xv * xv * q).sum();
                        a - 2.0 * b + cc
                    }
                    Cov::Spherical(s) => {
                        let q = s[c] * s[c];
                        let a: f64 = mu.iter().map(|m| m * m).sum::<f64>() * q;
                        let b: f64 = row.iter().zip(mu).map(|(xv, m)| xv * (m * q)).sum();
                        let cc: f64 = row.iter().map(|xv| xv * xv).sum::<f64>() * q;
                        a - 2.0 * b + cc
                    }
                };
                out.push(-0.5 * (norm + lp) + self.offset[c]);
            }
        }
        Matrix::new(x.rows(), k, out)
    }
}

impl Estimator for Mixture {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: DataType::Int64,
                shape: vec![-1],
            }),
            Method::PredictProba => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, self.means.rows() as i64],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let w = self.weighted_log_prob(x)?;
        if method == Method::PredictProba {
            let lp = log_proba(w)?;
            let (r, c) = (lp.rows(), lp.cols());
            return Ok(Output::Matrix(Matrix::new(
                r,
                c,
                lp.into_data().into_iter().map(f64::exp).collect(),
            )?));
        }
        let idx: Vec<i64> = w.row_iter().map(|r| argmax(r) as i64).collect();
        Ok(Output::Labels(Labels::Int64(idx)))
    }
}
