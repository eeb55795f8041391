//! QuadraticDiscriminantAnalysis (`discriminant_analysis.py`): per class
//! `−½(‖(X − μ)·R·S^(−½)‖² + Σlog S) + log prior`; `predict` is the argmax, `predict_log_proba`
//! `s − max − log Σexp(s − max)`, `decision_function` `s₁ − s₀` for two classes.
//! (LinearDiscriminantAnalysis is a linear classifier, in `linear.rs`.)

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers QDA.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis",
        compile,
    );
}

struct Qda {
    classes: Labels,
    means: Matrix,
    /// Per class: `R · S^(−½)`, `(p, r)`.
    transforms: Vec<Matrix>,
    /// Per class: `Σ log S`.
    log_scale: Vec<f64>,
    log_prior: Vec<f64>,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let classes = obj::labels(inst, "classes_", ctx)?;
    let means = obj::f64_matrix(inst, "means_", ctx)?;
    let priors = obj::f64_vec(inst, "priors_", ctx)?;
    let k = classes.len();
    let p = means.cols();
    let rot = obj::items(obj::attr(inst, "rotations_", ctx)?)
        .ok_or_else(|| ctx.invalid("rotations_ is not a list"))?;
    let sc = obj::items(obj::attr(inst, "scalings_", ctx)?)
        .ok_or_else(|| ctx.invalid("scalings_ is not a list"))?;
    if means.rows() != k || priors.len() != k || rot.len() != k || sc.len() != k {
        return Err(ctx.invalid("means_, priors_, rotations_, scalings_ disagree with classes_"));
    }
    let mut transforms = Vec::with_capacity(k);
    let mut log_scale = Vec::with_capacity(k);
    for (r, s) in rot.iter().zip(sc) {
        let shape = obj::shape(r);
        let r = obj::numbers(r).ok_or_else(|| ctx.invalid("rotations_ is not numeric"))?;
        let s = obj::numbers(s).ok_or_else(|| ctx.invalid("scalings_ is not numeric"))?;
        if shape != [p, s.len()] {
            return Err(ctx.invalid("a rotation does not fit its scalings"));
        }
        let m = s.len();
        let data: Vec<f64> = r
            .iter()
            .enumerate()
            .map(|(i, v)| v * s[i % m].powf(-0.5))
            .collect();
        transforms.push(Matrix::new(p, m, data).map_err(|e| ctx.invalid(e.to_string()))?);
        log_scale.push(s.iter().map(|v| v.ln()).sum());
    }
    Ok(Compiled::Estimator(Box::new(Qda {
        classes,
        means,
        transforms,
        log_scale,
        log_prior: priors.iter().map(|v| v.ln()).collect(),
    })))
}

impl Qda {
    fn scores(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        let p = self.means.cols();
        x.expect_cols(p)?;
        let k = self.classes.len();
        let mut out = Vec::with_capacity(x.rows() * k);
        let mut xm = vec![0.0; p];
        for row in x.row_iter() {
            for (c, mu) in self.means.row_iter().enumerate() {
                xm.iter_mut()
                    .zip(row.iter().zip(mu))
                    .for_each(|(d, (a, b))| *d = a - b);
                let t = &self.transforms[c];
                let m = t.cols();
                let norm2: f64 = (0..m)
                    .map(|j| {
                        let v: f64 = (0..p).map(|i| xm[i] * t.data()[i * m + j]).sum();
                        v * v
                    })
                    .sum();
                out.push(-0.5 * (norm2 + self.log_scale[c]) + self.log_prior[c]);
            }
        }
        Matrix::new(x.rows(), k, out)
    }
}

impl Estimator for Qda {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        let k = self.classes.len() as i64;
        Some(match method {
            Method::Predict => OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            },
            Method::PredictProba | Method::PredictLogProba => OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, k],
            },
            Method::DecisionFunction => OutputInfo {
                datatype: DataType::Fp64,
                shape: if k == 2 { vec![-1] } else { vec![-1, k] },
            },
            Method::PredictJointLogProba => return None,
        })
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let s = self.scores(x)?;
        match method {
            Method::Predict => {
                let idx: Vec<usize> = s.row_iter().map(argmax).collect();
                Ok(Output::Labels(self.classes.take(&idx)?))
            }
            Method::DecisionFunction if s.cols() == 2 => {
                Ok(Output::Vector(s.row_iter().map(|r| r[1] - r[0]).collect()))
            }
            Method::DecisionFunction => Ok(Output::Matrix(s)),
            _ => {
                let (r, c) = (s.rows(), s.cols());
                let mut out = Vec::with_capacity(r * c);
                for row in s.row_iter() {
                    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let ll: Vec<f64> = row.iter().map(|v| v - max).collect();
                    let lse = ll.iter().map(|v| v.exp()).sum::<f64>().ln();
                    out.extend(ll.iter().map(|v| {
                        let lp = v - lse;
                        if method == Method::PredictProba {
                            lp.exp()
                        } else {
                            lp
                        }
                    }));
                }
                Ok(Output::Matrix(Matrix::new(r, c, out)?))
            }
        }
    }
}
