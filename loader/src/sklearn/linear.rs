//! Linear models: `decision = X · coef_ᵀ + intercept_` (docs/formats.md §2g), as regressors
//! (LinearRegression, Ridge, Lasso, ElasticNet, SGDRegressor, LinearSVR, ...) and as
//! classifiers (LogisticRegression, SGDClassifier, LinearSVC, RidgeClassifier, Perceptron, ...)
//! with sklearn's `LinearClassifierMixin.predict` and each class's `predict_proba`.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj::{self, opt_str};
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the linear family.
pub fn register(reg: &mut Registry) {
    for path in [
        "sklearn.linear_model._base.LinearRegression",
        "sklearn.linear_model._ridge.Ridge",
        "sklearn.linear_model._ridge.RidgeCV",
        "sklearn.linear_model._coordinate_descent.Lasso",
        "sklearn.linear_model._coordinate_descent.LassoCV",
        "sklearn.linear_model._coordinate_descent.ElasticNet",
        "sklearn.linear_model._coordinate_descent.ElasticNetCV",
        "sklearn.linear_model._stochastic_gradient.SGDRegressor",
        "sklearn.linear_model._huber.HuberRegressor",
        "sklearn.linear_model._bayes.BayesianRidge",
        "sklearn.linear_model._bayes.ARDRegression",
        "sklearn.svm._classes.LinearSVR",
        "sklearn.linear_model._least_angle.Lars",
        "sklearn.linear_model._least_angle.LassoLars",
        "sklearn.linear_model._least_angle.LassoLarsIC",
        "sklearn.linear_model._least_angle.LarsCV",
        "sklearn.linear_model._least_angle.LassoLarsCV",
        "sklearn.linear_model._omp.OrthogonalMatchingPursuit",
        "sklearn.linear_model._omp.OrthogonalMatchingPursuitCV",
        "sklearn.linear_model._coordinate_descent.MultiTaskLasso",
        "sklearn.linear_model._coordinate_descent.MultiTaskLassoCV",
        "sklearn.linear_model._coordinate_descent.MultiTaskElasticNet",
        "sklearn.linear_model._coordinate_descent.MultiTaskElasticNetCV",
        "sklearn.linear_model._passive_aggressive.PassiveAggressiveRegressor",
        "sklearn.linear_model._quantile.QuantileRegressor",
        "sklearn.linear_model._theil_sen.TheilSenRegressor",
    ] {
        reg.insert(path, compile_regressor);
    }
    for path in [
        "sklearn.linear_model._glm.glm.PoissonRegressor",
        "sklearn.linear_model._glm.glm.GammaRegressor",
        "sklearn.linear_model._glm.glm.TweedieRegressor",
        "sklearn.linear_model._glm.glm._GeneralizedLinearRegressor",
    ] {
        reg.insert(path, compile_glm);
    }
    reg.insert(
        "sklearn.linear_model._stochastic_gradient.SGDOneClassSVM",
        compile_one_class,
    );
    for path in [
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._logistic.LogisticRegressionCV",
        "sklearn.linear_model._stochastic_gradient.SGDClassifier",
        "sklearn.linear_model._perceptron.Perceptron",
        "sklearn.linear_model._passive_aggressive.PassiveAggressiveClassifier",
        "sklearn.linear_model._ridge.RidgeClassifier",
        "sklearn.linear_model._ridge.RidgeClassifierCV",
        "sklearn.svm._classes.LinearSVC",
        "sklearn.discriminant_analysis.LinearDiscriminantAnalysis",
    ] {
        reg.insert(path, compile_classifier);
    }
}

/// `coef_` and `intercept_`.
struct Linear {
    /// `(targets, features)`.
    coef: Matrix,
    /// One per target.
    intercept: Vec<f64>,
    /// `coef_` was 1-D, so `predict` returns `[N]`.
    flat: bool,
}

impl Linear {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let flat = obj::shape(obj::attr(inst, "coef_", ctx)?).len() == 1;
        let coef = obj::f64_matrix(inst, "coef_", ctx)?;
        let mut intercept = match obj::opt_attr(inst, "intercept_") {
            Some(o) => obj::numbers(o).ok_or_else(|| ctx.invalid("intercept_ is not numeric"))?,
            None => vec![0.0],
        };
        if intercept.len() == 1 && coef.rows() > 1 {
            intercept = vec![intercept.first().copied().unwrap_or(0.0); coef.rows()];
        }
        if intercept.len() != coef.rows() {
            return Err(ctx.invalid(format!(
                "intercept_ has {} values for {} coefficient rows",
                intercept.len(),
                coef.rows()
            )));
        }
        Ok(Self {
            coef,
            intercept,
            flat,
        })
    }

    /// `X · coef_ᵀ + intercept_`, `(N, targets)`; a sparse `X` stays sparse.
    fn decision(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = match x {
            Data::Sparse(s) => return s.dot_t(&self.coef, &self.intercept),
            other => other.into_matrix()?,
        };
        x.expect_cols(self.coef.cols())?;
        let t = self.coef.rows();
        let mut out = Vec::with_capacity(x.rows() * t);
        for row in x.row_iter() {
            for (w, b) in self.coef.row_iter().zip(&self.intercept) {
                let dot: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
                out.push(dot + b);
            }
        }
        Matrix::new(x.rows(), t, out)
    }
}

fn compile_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Estimator(Box::new(LinearRegressor {
        linear: Linear::read(inst, ctx)?,
        log_link: false,
    })))
}

/// A generalized linear model (`_glm/glm.py`): `link.inverse(X · coef_ + intercept_)`.
/// Poisson and Gamma use the log link; Tweedie's `link="auto"` is identity for `power <= 0`
/// and log otherwise.
fn compile_glm(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let log_link = match inst.class.name.as_str() {
        "PoissonRegressor" | "GammaRegressor" => true,
        _ => match opt_str(inst, "link").unwrap_or("auto") {
            "log" => true,
            "identity" => false,
            "auto" => obj::opt_f64(inst, "power").unwrap_or(0.0) > 0.0,
            other => return Err(ctx.invalid(format!("link {other:?} is not supported"))),
        },
    };
    Ok(Compiled::Estimator(Box::new(LinearRegressor {
        linear: Linear::read(inst, ctx)?,
        log_link,
    })))
}

/// The output of a linear model: values (optionally through `exp`).
struct LinearRegressor {
    linear: Linear,
    /// Apply `exp` (a GLM's log link).
    log_link: bool,
}

/// SGDOneClassSVM: `decision = X · coef_ − offset_`, `predict` is `1` where `decision >= 0`
/// and `-1` elsewhere (int32... as numpy makes it: `astype(np.int32)`).
fn compile_one_class(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let coef = obj::f64_vec(inst, "coef_", ctx)?;
    let offset = obj::opt_f64(inst, "offset_").ok_or_else(|| ctx.invalid("missing offset_"))?;
    Ok(Compiled::Estimator(Box::new(OneClassLinear {
        coef,
        offset,
    })))
}

struct OneClassLinear {
    coef: Vec<f64>,
    offset: f64,
}

impl Estimator for OneClassLinear {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Int32,
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.coef.len())?;
        let labels = x
            .row_iter()
            .map(|row| {
                let d: f64 = row.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>();
                if d - self.offset >= 0.0 {
                    1
                } else {
                    -1
                }
            })
            .collect();
        Ok(Output::Labels(Labels::Int32(labels)))
    }
}

impl Estimator for LinearRegressor {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.linear.flat {
                vec![-1]
            } else {
                vec![-1, self.linear.coef.rows() as i64]
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let mut d = self.linear.decision(x)?;
        if self.log_link {
            d.row_iter_mut()
                .for_each(|r| r.iter_mut().for_each(|v| *v = v.exp()));
        }
        Ok(if self.linear.flat {
            Output::Vector(d.into_data())
        } else {
            Output::Matrix(d)
        })
    }
}

/// How a linear classifier turns decisions into probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proba {
    /// No `predict_proba` (hinge losses, LinearSVC, RidgeClassifier, Perceptron).
    None,
    /// `_predict_proba_lr`: sigmoid per class, normalised by the row sum (binary: `[1-p, p]`).
    OneVsRest,
    /// Softmax over the decisions (binary: over `[-d, d]`).
    Softmax,
    /// SGD `modified_huber`: `(clip(d, -1, 1) + 1) / 2`, normalised (all-zero rows uniform).
    ModifiedHuber,
}

fn compile_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let linear = Linear::read(inst, ctx)?;
    let class = ctx_class(inst);
    let classes = if class.starts_with("RidgeClassifier") && inst.attr("classes_").is_none() {
        // `RidgeClassifier.classes_` is a property over its label binarizer.
        let lb = obj::attr(inst, "_label_binarizer", ctx)?;
        let lb =
            obj::instance(lb).ok_or_else(|| ctx.invalid("_label_binarizer is not an object"))?;
        obj::labels(lb, "classes_", ctx)?
    } else {
        obj::labels(inst, "classes_", ctx)?
    };
    let n_classes = classes.len();
    let expected_rows = if n_classes <= 2 { 1 } else { n_classes };
    if linear.coef.rows() != expected_rows {
        return Err(ctx.invalid(format!(
            "coef_ has {} rows for {n_classes} classes",
            linear.coef.rows()
        )));
    }
    let proba = match class {
        "LogisticRegression" | "LogisticRegressionCV" => logistic_proba(inst, n_classes),
        // `expit` / `[1 − p, p]` for two classes, softmax otherwise.
        "LinearDiscriminantAnalysis" if n_classes <= 2 => Proba::OneVsRest,
        "LinearDiscriminantAnalysis" => Proba::Softmax,
        "SGDClassifier" => match opt_str(inst, "loss") {
            Some("log_loss" | "log") => Proba::OneVsRest,
            Some("modified_huber") => Proba::ModifiedHuber,
            _ => Proba::None,
        },
        _ => Proba::None,
    };
    Ok(Compiled::Estimator(Box::new(LinearClassifier {
        linear,
        classes,
        proba,
    })))
}

fn ctx_class(inst: &Instance) -> &str {
    inst.class.name.as_str()
}

/// LogisticRegression's probability rule across versions (docs/formats.md §2g): pickles up to 1.7
/// carry `multi_class`; from 1.8 binary is one-vs-rest and multiclass is multinomial.
fn logistic_proba(inst: &Instance, n_classes: usize) -> Proba {
    let Some(mc) = opt_str(inst, "multi_class") else {
        return if n_classes <= 2 {
            Proba::OneVsRest
        } else {
            Proba::Softmax
        };
    };
    let solver = opt_str(inst, "solver").unwrap_or("lbfgs");
    let ovr = matches!(mc, "ovr" | "warn")
        || (matches!(mc, "auto" | "deprecated")
            && (n_classes <= 2 || matches!(solver, "liblinear" | "newton-cholesky")));
    if ovr {
        Proba::OneVsRest
    } else {
        Proba::Softmax
    }
}

struct LinearClassifier {
    linear: Linear,
    classes: Labels,
    proba: Proba,
}

impl LinearClassifier {
    fn probabilities(&self, d: &Matrix) -> Result<Matrix, PredictError> {
        let k = self.classes.len();
        let binary = d.cols() == 1;
        let mut out = Vec::with_capacity(d.rows() * k);
        for row in d.row_iter() {
            match (self.proba, binary) {
                (Proba::OneVsRest, true) => {
                    let p = expit(row.first().copied().unwrap_or(0.0));
                    out.extend([1.0 - p, p]);
                }
                (Proba::OneVsRest, false) => {
                    let p: Vec<f64> = row.iter().map(|&v| expit(v)).collect();
                    let sum: f64 = p.iter().sum();
                    out.extend(p.iter().map(|v| v / sum));
                }
                (Proba::Softmax, true) => {
                    let v = row.first().copied().unwrap_or(0.0);
                    out.extend(softmax(&[-v, v]));
                }
                (Proba::Softmax, false) => out.extend(softmax(row)),
                (Proba::ModifiedHuber, true) => {
                    let p = (row.first().copied().unwrap_or(0.0).clamp(-1.0, 1.0) + 1.0) / 2.0;
                    out.extend([1.0 - p, p]);
                }
                (Proba::ModifiedHuber, false) => {
                    let p: Vec<f64> = row
                        .iter()
                        .map(|v| (v.clamp(-1.0, 1.0) + 1.0) / 2.0)
                        .collect();
                    let sum: f64 = p.iter().sum();
                    if sum == 0.0 {
                        out.extend(std::iter::repeat_n(1.0 / k as f64, k));
                    } else {
                        out.extend(p.iter().map(|v| v / sum));
                    }
                }
                (Proba::None, _) => {
                    return Err(PredictError::Runtime(
                        "this estimator has no predict_proba".to_owned(),
                    ))
                }
            }
        }
        Matrix::new(d.rows(), k, out)
    }
}

impl Estimator for LinearClassifier {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        let k = self.classes.len() as i64;
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba | Method::PredictLogProba if self.proba != Proba::None => {
                Some(OutputInfo {
                    datatype: DataType::Fp64,
                    shape: vec![-1, k],
                })
            }
            Method::DecisionFunction => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: if self.linear.coef.rows() == 1 {
                    vec![-1]
                } else {
                    vec![-1, self.linear.coef.rows() as i64]
                },
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let d = self.linear.decision(x)?;
        match method {
            Method::Predict => {
                let idx: Vec<usize> = d
                    .row_iter()
                    .map(|row| match row {
                        [v] => usize::from(*v > 0.0),
                        _ => argmax(row),
                    })
                    .collect();
                Ok(Output::Labels(self.classes.take(&idx)?))
            }
            Method::PredictProba => Ok(Output::Matrix(self.probabilities(&d)?)),
            Method::PredictLogProba => {
                let p = self.probabilities(&d)?;
                let (r, c) = (p.rows(), p.cols());
                let logs = p.into_data().into_iter().map(f64::ln).collect();
                Ok(Output::Matrix(Matrix::new(r, c, logs)?))
            }
            Method::DecisionFunction => Ok(if d.cols() == 1 {
                Output::Vector(d.into_data())
            } else {
                Output::Matrix(d)
            }),
            Method::PredictJointLogProba => Err(PredictError::Runtime(
                "this estimator has no predict_joint_log_proba".to_owned(),
            )),
        }
    }
}

/// The logistic sigmoid, as `scipy.special.expit` computes it (`1 / (1 + exp(-x))` for every
/// `x`: the same bits as scipy, and 0 rather than a tiny value below about -709).
pub fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Softmax with the max subtracted first, as `sklearn.utils.extmath.softmax`.
pub fn softmax(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_multinomial_is_sigmoid_of_twice_the_decision() {
        let p = softmax(&[-0.7, 0.7]);
        assert!((p[1] - expit(1.4)).abs() < 1e-15);
        assert!((expit(-800.0)).abs() < 1e-300);
    }
}
