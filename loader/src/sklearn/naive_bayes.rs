//! Naive Bayes (docs/formats.md §2g). GaussianNB: `jll = log(prior) − ½Σlog(2πσ²) − ½Σ(x−θ)²/σ²`;
//! the discrete ones (`_BaseDiscreteNB`): Multinomial `X·flpᵀ + clp`, Complement `X·flpᵀ`
//! (plus `clp` for a single class), Bernoulli (after `binarize`) `X·(flp − neg)ᵀ + clp + Σneg`
//! with `neg = log(1 − exp(flp))`, Categorical `Σᵢ flp[i][:, xᵢ] + clp`. Then
//! `predict_log_proba = jll − logsumexp(jll)` as `sklearn/naive_bayes.py` computes it.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the naive Bayes classifiers.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.naive_bayes.GaussianNB", gaussian_nb);
    reg.insert("sklearn.naive_bayes.MultinomialNB", discrete_nb);
    reg.insert("sklearn.naive_bayes.ComplementNB", discrete_nb);
    reg.insert("sklearn.naive_bayes.BernoulliNB", discrete_nb);
    reg.insert("sklearn.naive_bayes.CategoricalNB", categorical_nb);
}

/// The likelihood rule of a discrete naive Bayes.
enum Discrete {
    /// `X·wᵀ + b` with `w` `(classes, features)`; Bernoulli binarizes `X` first (`> t`).
    Linear {
        w: Matrix,
        b: Vec<f64>,
        binarize: Option<f64>,
    },
    /// CategoricalNB: one `(classes, categories)` table per feature.
    Categorical {
        tables: Vec<Matrix>,
        prior: Vec<f64>,
    },
}

struct DiscreteNb {
    classes: Labels,
    rule: Discrete,
}

fn discrete_nb(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let classes = obj::labels(inst, "classes_", ctx)?;
    let flp = obj::f64_matrix(inst, "feature_log_prob_", ctx)?;
    let clp = obj::f64_vec(inst, "class_log_prior_", ctx)?;
    let k = classes.len();
    if flp.rows() != k || clp.len() != k {
        return Err(ctx.invalid("feature_log_prob_, class_log_prior_ and classes_ disagree"));
    }
    let rule = match inst.class.name.as_str() {
        "ComplementNB" => Discrete::Linear {
            w: flp,
            b: if k == 1 { clp } else { vec![0.0; k] },
            binarize: None,
        },
        "BernoulliNB" => {
            let p = flp.cols();
            let mut w = Vec::with_capacity(k * p);
            let mut b = Vec::with_capacity(k);
            for (row, c) in flp.row_iter().zip(&clp) {
                let neg: Vec<f64> = row.iter().map(|v| (1.0 - v.exp()).ln()).collect();
                w.extend(row.iter().zip(&neg).map(|(f, n)| f - n));
                b.push(c + neg.iter().sum::<f64>());
            }
            Discrete::Linear {
                w: Matrix::new(k, p, w).map_err(|e| ctx.invalid(e.to_string()))?,
                b,
                binarize: obj::opt_f64(inst, "binarize"),
            }
        }
        _ => Discrete::Linear {
            w: flp,
            b: clp,
            binarize: None,
        },
    };
    Ok(Compiled::Estimator(Box::new(DiscreteNb { classes, rule })))
}

fn categorical_nb(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let classes = obj::labels(inst, "classes_", ctx)?;
    let prior = obj::f64_vec(inst, "class_log_prior_", ctx)?;
    let list = obj::attr(inst, "feature_log_prob_", ctx)?;
    let items = obj::items(list).ok_or_else(|| ctx.invalid("feature_log_prob_ is not a list"))?;
    let mut tables = Vec::with_capacity(items.len());
    for item in items {
        let shape = obj::shape(item);
        let values =
            obj::numbers(item).ok_or_else(|| ctx.invalid("feature_log_prob_ is not numeric"))?;
        let [r, c] = shape.as_slice() else {
            return Err(ctx.invalid("feature_log_prob_ holds a non-2-D table"));
        };
        if *r != classes.len() {
            return Err(ctx.invalid("feature_log_prob_ disagrees with classes_"));
        }
        tables.push(Matrix::new(*r, *c, values).map_err(|e| ctx.invalid(e.to_string()))?);
    }
    if prior.len() != classes.len() {
        return Err(ctx.invalid("class_log_prior_ disagrees with classes_"));
    }
    Ok(Compiled::Estimator(Box::new(DiscreteNb {
        classes,
        rule: Discrete::Categorical { tables, prior },
    })))
}

impl DiscreteNb {
    fn joint_log_likelihood(&self, x: Data) -> Result<Matrix, PredictError> {
        // Multinomial / Complement on a sparse X: `safe_sparse_dot(X, feature_log_prob_.T) + b`.
        if let (
            Data::Sparse(s),
            Discrete::Linear {
                w,
                b,
                binarize: None,
            },
        ) = (&x, &self.rule)
        {
            return s.dot_t(w, b);
        }
        let x = x.into_matrix()?;
        let k = self.classes.len();
        let mut out = Vec::with_capacity(x.rows() * k);
        match &self.rule {
            Discrete::Linear { w, b, binarize } => {
                x.expect_cols(w.cols())?;
                for row in x.row_iter() {
                    let row: Vec<f64> = match binarize {
                        Some(t) => row.iter().map(|v| f64::from(u8::from(v > t))).collect(),
                        None => row.to_vec(),
                    };
                    for (wr, bc) in w.row_iter().zip(b) {
                        let dot: f64 = row.iter().zip(wr).map(|(a, c)| a * c).sum();
                        out.push(dot + bc);
                    }
                }
            }
            Discrete::Categorical { tables, prior } => {
                x.expect_cols(tables.len())?;
                for row in x.row_iter() {
                    let mut jll = vec![0.0; k];
                    for (v, t) in row.iter().zip(tables) {
                        if !(v.fract() == 0.0 && *v >= 0.0 && (*v as usize) < t.cols()) {
                            return Err(PredictError::Runtime(format!(
                                "category {v} is out of the fitted range 0..{}",
                                t.cols()
                            )));
                        }
                        let j = *v as usize;
                        for (c, acc) in jll.iter_mut().enumerate() {
                            *acc += t.data().get(c * t.cols() + j).copied().unwrap_or(0.0);
                        }
                    }
                    out.extend(jll.iter().zip(prior).map(|(a, p)| a + p));
                }
            }
        }
        Matrix::new(x.rows(), k, out)
    }
}

impl Estimator for DiscreteNb {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        nb_output_info(&self.classes, method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        nb_run(&self.classes, method, self.joint_log_likelihood(x)?)
    }
}

/// What a naive Bayes classifier answers for `method`.
fn nb_output_info(classes: &Labels, method: Method) -> Option<OutputInfo> {
    Some(match method {
        Method::Predict => OutputInfo {
            datatype: classes.datatype(),
            shape: vec![-1],
        },
        Method::PredictProba | Method::PredictLogProba | Method::PredictJointLogProba => {
            OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, classes.len() as i64],
            }
        }
        _ => return None,
    })
}

/// `predict` / `predict_*proba` from the joint log likelihood.
fn nb_run(classes: &Labels, method: Method, jll: Matrix) -> Result<Output, PredictError> {
    Ok(match method {
        Method::PredictJointLogProba => Output::Matrix(jll),
        Method::PredictLogProba => Output::Matrix(log_proba(jll)?),
        Method::PredictProba => {
            let lp = log_proba(jll)?;
            let (r, c) = (lp.rows(), lp.cols());
            let p = lp.into_data().into_iter().map(f64::exp).collect();
            Output::Matrix(Matrix::new(r, c, p)?)
        }
        _ => {
            let idx: Vec<usize> = jll.row_iter().map(argmax).collect();
            Output::Labels(classes.take(&idx)?)
        }
    })
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
pub fn log_proba(jll: Matrix) -> Result<Matrix, PredictError> {
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
        nb_output_info(&self.classes, method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        nb_run(&self.classes, method, self.joint_log_likelihood(x)?)
    }
}
