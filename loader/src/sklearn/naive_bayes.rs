//! GaussianNB (docs/formats.md §2g): `jll = log(prior) − ½Σlog(2πσ²) − ½Σ(x−θ)²/σ²`, with
//! `predict_log_proba = jll − logsumexp(jll)` as `sklearn/naive_bayes.py` computes it.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers GaussianNB.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.naive_bayes.GaussianNB", gaussian_nb);
}

struct GaussianNb {
    classes: Labels,
    /// `(classes, features)`.
    theta: Matrix,
    var: Matrix,
    /// `log(prior_i) ` and `-½Σlog(2πσ²)` per class.
    log_prior: Vec<f64>,
    norm: Vec<f64>,
}

fn gaussian_nb(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let classes = obj::labels(inst, "classes_", ctx)?;
    let theta = obj::f64_matrix(inst, "theta_", ctx)?;
    // `sigma_` was renamed `var_` in sklearn 1.0.
    let var_name = if inst.attr("var_").is_some() {
        "var_"
    } else {
        "sigma_"
    };
    let var = obj::f64_matrix(inst, var_name, ctx)?;
    let prior = obj::f64_vec(inst, "class_prior_", ctx)?;
    let k = classes.len();
    if theta.rows() != k || var.rows() != k || prior.len() != k || var.cols() != theta.cols() {
        return Err(ctx.invalid("theta_, var_, class_prior_ and classes_ disagree in shape"));
    }
    let norm = var
        .row_iter()
        .map(|v| {
            -0.5 * v
                .iter()
                .map(|s| (2.0 * std::f64::consts::PI * s).ln())
                .sum::<f64>()
        })
        .collect();
    Ok(Compiled::Estimator(Box::new(GaussianNb {
        classes,
        theta,
        var,
        log_prior: prior.iter().map(|p| p.ln()).collect(),
        norm,
    })))
}

impl GaussianNb {
    fn joint_log_likelihood(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.theta.cols())?;
        let k = self.classes.len();
        let mut out = Vec::with_capacity(x.rows() * k);
        for row in x.row_iter() {
            for (((theta, var), lp), norm) in self
                .theta
                .row_iter()
                .zip(self.var.row_iter())
                .zip(&self.log_prior)
                .zip(&self.norm)
            {
                let sq: f64 = row
                    .iter()
                    .zip(theta)
                    .zip(var)
                    .map(|((x, t), v)| (x - t) * (x - t) / v)
                    .sum();
                out.push(lp + (norm - 0.5 * sq));
            }
        }
        Matrix::new(x.rows(), k, out)
    }
}

/// `jll − logsumexp(jll)` per row.
fn log_proba(jll: Matrix) -> Result<Matrix, PredictError> {
    let (r, c) = (jll.rows(), jll.cols());
    let mut out = Vec::with_capacity(r * c);
    for row in jll.row_iter() {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = if max.is_finite() {
            row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max
        } else {
            max
        };
        out.extend(row.iter().map(|v| v - lse));
    }
    Matrix::new(r, c, out)
}

impl Estimator for GaussianNb {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        Some(match method {
            Method::Predict => OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            },
            _ => OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, self.classes.len() as i64],
            },
        })
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let jll = self.joint_log_likelihood(x)?;
        Ok(match method {
            Method::Predict => {
                let idx: Vec<usize> = jll.row_iter().map(argmax).collect();
                Output::Labels(self.classes.take(&idx)?)
            }
            Method::PredictJointLogProba => Output::Matrix(jll),
            Method::PredictLogProba => Output::Matrix(log_proba(jll)?),
            Method::PredictProba => {
                let lp = log_proba(jll)?;
                let (r, c) = (lp.rows(), lp.cols());
                let p = lp.into_data().into_iter().map(f64::exp).collect();
                Output::Matrix(Matrix::new(r, c, p)?)
            }
        })
    }
}
