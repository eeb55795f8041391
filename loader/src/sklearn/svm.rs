//! Kernel SVMs (docs/formats.md §2g), reproducing libsvm as vendored by scikit-learn
//! (`sklearn/svm/src/libsvm/svm.cpp`):
//!
//! - SVC / NuSVC `predict`: the one-vs-one vote of `svm_predict_values`: for each class pair
//!   `(i, j)`, `Σ coef·K(sv, x) + _intercept_` > 0 votes for `i`, else `j`; the first class with
//!   the most votes wins (also when fitted with `probability=True`). With `break_ties=True`,
//!   `decision_function_shape='ovr'` and more than two classes, the argmax of sklearn's
//!   `_ovr_decision_function` (votes plus squashed summed confidences) instead.
//! - SVC / NuSVC `predict_proba` / `predict_log_proba` (fitted with `probability=True`):
//!   `svm_predict_probability`: Platt sigmoids of each pair's decision value with
//!   `_probA` / `_probB`, clipped to `[1e-7, 1 - 1e-7]`, then `multiclass_probability`
//!   (Wu, Lin & Weng's method 2, iterative) — for two classes as well; log is `ln` of that.
//! - SVR / NuSVR `predict`: `Σ coef·K(sv, x) + _intercept_`; OneClassSVM `predict`: the sign of
//!   the same sum as int64 `1` / `-1` (`> 0` gives 1).
//!
//! Uses the private `_dual_coef_` / `_intercept_` (the public ones are sign-flipped for binary
//! classifiers).

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers SVC, NuSVC, SVR, NuSVR and OneClassSVM.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.svm._classes.SVC", svc);
    reg.insert("sklearn.svm._classes.NuSVC", svc);
    reg.insert("sklearn.svm._classes.SVR", svr);
    reg.insert("sklearn.svm._classes.NuSVR", svr);
    reg.insert("sklearn.svm._classes.OneClassSVM", one_class);
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

/// Reads the kernel parameters.
fn kernel(inst: &Instance, ctx: &Ctx<'_>) -> Result<Kernel, CompileError> {
    let gamma = obj::opt_f64(inst, "_gamma").unwrap_or(0.0);
    let coef0 = obj::opt_f64(inst, "coef0").unwrap_or(0.0);
    Ok(match obj::opt_str(inst, "kernel").unwrap_or("rbf") {
        "linear" => Kernel::Linear,
        "poly" => {
            let degree = obj::opt_f64(inst, "degree").unwrap_or(3.0);
            if degree.fract() != 0.0 || !(0.0..=1024.0).contains(&degree) {
                return Err(ctx.invalid(format!("degree {degree} is not supported")));
            }
            Kernel::Poly {
                gamma,
                coef0,
                degree: degree as i32,
            }
        }
        "rbf" => Kernel::Rbf { gamma },
        "sigmoid" => Kernel::Sigmoid { gamma, coef0 },
        other => return Err(ctx.invalid(format!("kernel {other:?} is not supported"))),
    })
}

/// The private attribute if present, else the public one.
fn private_or<'a>(inst: &Instance, private: &'a str, public: &'a str) -> &'a str {
    if inst.attr(private).is_some() {
        private
    } else {
        public
    }
}

/// sklearn's `check_array(..., ensure_all_finite=True)`, which SVMs and nearest neighbours run
/// on their input: NaN and infinities are the client's bad values.
pub(super) fn expect_finite(x: &Matrix) -> Result<(), PredictError> {
    let cols = x.cols().max(1);
    match x.data().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let v = x.data().get(i).copied().unwrap_or(f64::NAN);
            let what = if v.is_nan() { "NaN" } else { "infinity" };
            Err(PredictError::InvalidValue {
                name: "X".to_owned(),
                message: format!(
                    "contains {what} (row {}, column {}), which this model does not accept",
                    i / cols,
                    i % cols
                ),
            })
        }
    }
}

/// Support vectors, their kernel and their dual coefficients.
struct Machine {
    kernel: Kernel,
    /// `(n_sv, features)`.
    support_vectors: Matrix,
    /// `(n_classes - 1, n_sv)` (one row for regression / one-class).
    dual_coef: Matrix,
    /// `_intercept_` (libsvm's `-rho`): one per class pair, or one.
    intercept: Vec<f64>,
}

impl Machine {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let kernel = kernel(inst, ctx)?;
        let support_vectors = obj::f64_matrix(inst, "support_vectors_", ctx)?;
        let dual_coef = obj::f64_matrix(inst, private_or(inst, "_dual_coef_", "dual_coef_"), ctx)?;
        let intercept = obj::f64_vec(inst, private_or(inst, "_intercept_", "intercept_"), ctx)?;
        if dual_coef.cols() != support_vectors.rows() {
            return Err(ctx.invalid("support vectors and dual coefficients disagree in shape"));
        }
        Ok(Self {
            kernel,
            support_vectors,
            dual_coef,
            intercept,
        })
    }

    fn check(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.support_vectors.cols())?;
        expect_finite(&x)?;
        Ok(x)
    }

    /// `K(x, sv)` for every support vector.
    fn kvalues(&self, x: &[f64], kvalue: &mut [f64]) {
        for (k, sv) in kvalue.iter_mut().zip(self.support_vectors.row_iter()) {
            *k = self.kernel.eval(x, sv);
        }
    }

    /// libsvm's single decision value (regression, one-class): `Σ coef·K + _intercept_[0]`.
    fn single(&self, x: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (c, sv) in self
            .dual_coef
            .data()
            .iter()
            .zip(self.support_vectors.row_iter())
        {
            sum += c * self.kernel.eval(x, sv);
        }
        sum + self.intercept.first().copied().unwrap_or(0.0)
    }
}

struct Svc {
    machine: Machine,
    /// Start of each class's support vectors.
    starts: Vec<usize>,
    counts: Vec<usize>,
    classes: Labels,
    /// `break_ties=True` with `decision_function_shape='ovr'` and more than two classes.
    ovr_ties: bool,
    /// `(_probA, _probB)`, one per class pair, when fitted with `probability=True`.
    prob: Option<(Vec<f64>, Vec<f64>)>,
}

fn svc(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let machine = Machine::read(inst, ctx)?;
    let counts: Vec<usize> = obj::f64_vec(inst, private_or(inst, "_n_support", "n_support_"), ctx)?
        .into_iter()
        .map(|v| {
            if v >= 0.0 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(ctx.invalid(format!("support vector count {v} is not a count")))
            }
        })
        .collect::<Result<_, _>>()?;
    let classes = obj::labels(inst, "classes_", ctx)?;
    let k = classes.len();
    let total: usize = counts.iter().sum();
    let pairs = k * k.saturating_sub(1) / 2;
    if counts.len() != k
        || k < 2
        || total != machine.support_vectors.rows()
        || machine.dual_coef.rows() != k - 1
        || machine.intercept.len() != pairs
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
    let shape = obj::opt_str(inst, "decision_function_shape").unwrap_or("ovr");
    let break_ties = obj::bool_or(inst, "break_ties", false);
    if break_ties && shape == "ovo" {
        // sklearn's predict raises here.
        return Err(ctx.invalid("break_ties=True needs decision_function_shape='ovr'"));
    }
    let ovr_ties = break_ties && shape == "ovr" && k > 2;
    // `probability` is a bool (or "deprecated", sklearn 1.9's default, meaning False).
    let prob = if obj::bool_or(inst, "probability", false) {
        let a = obj::opt_attr(inst, "_probA")
            .or_else(|| obj::opt_attr(inst, "probA_"))
            .and_then(|o| obj::numbers(o))
            .unwrap_or_default();
        let b = obj::opt_attr(inst, "_probB")
            .or_else(|| obj::opt_attr(inst, "probB_"))
            .and_then(|o| obj::numbers(o))
            .unwrap_or_default();
        if a.is_empty() || b.is_empty() {
            // sklearn: "predict_proba is not available when fitted with probability=False".
            None
        } else if a.len() != pairs || b.len() != pairs {
            return Err(ctx.invalid(format!(
                "_probA / _probB have {} / {} values, expected {pairs}",
                a.len(),
                b.len()
            )));
        } else {
            Some((a, b))
        }
    } else {
        None
    };
    Ok(Compiled::Estimator(Box::new(Svc {
        machine,
        starts,
        counts,
        classes,
        ovr_ties,
        prob,
    })))
}

impl Svc {
    /// libsvm's pairwise decision values (`sum - rho`, pair order `(0,1), (0,2), ..., (1,2)`).
    fn decisions(&self, x: &[f64], kvalue: &mut [f64], dec: &mut [f64]) {
        self.machine.kvalues(x, kvalue);
        let n = self.classes.len();
        let coef = &self.machine.dual_coef;
        let cols = coef.cols();
        let coef = coef.data();
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
                if let Some(d) = dec.get_mut(p) {
                    *d = sum + self.machine.intercept.get(p).copied().unwrap_or(0.0);
                }
                p += 1;
            }
        }
    }

    /// The predicted class index for one row's decision values.
    fn choose(&self, dec: &[f64]) -> usize {
        let n = self.classes.len();
        let mut votes = vec![0.0f64; n];
        let mut conf = vec![0.0f64; n];
        let mut p = 0;
        for i in 0..n {
            for j in i + 1..n {
                let d = dec.get(p).copied().unwrap_or(0.0);
                if self.ovr_ties {
                    // sklearn's `_ovr_decision_function(dec < 0, -dec, n)`.
                    conf[i] += d;
                    conf[j] -= d;
                    if d < 0.0 {
                        votes[j] += 1.0;
                    } else {
                        votes[i] += 1.0;
                    }
                } else if d > 0.0 {
                    votes[i] += 1.0;
                } else {
                    votes[j] += 1.0;
                }
                p += 1;
            }
        }
        if self.ovr_ties {
            for (v, c) in votes.iter_mut().zip(&conf) {
                *v += c / (3.0 * (c.abs() + 1.0));
            }
        }
        // The first maximum (libsvm's vote and numpy's argmax alike; NaN is numpy's max).
        let mut best = 0;
        for (i, v) in votes.iter().enumerate() {
            let cur = votes[best];
            if !cur.is_nan() && (v.is_nan() || *v > cur) {
                best = i;
            }
        }
        best
    }

    /// `svm_predict_probability` for one row's decision values.
    fn probabilities(&self, dec: &[f64], a: &[f64], b: &[f64], out: &mut [f64]) {
        const MIN_PROB: f64 = 1e-7;
        let n = self.classes.len();
        let mut r = vec![0.0f64; n * n];
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                let (d, pa, pb) = (
                    dec.get(k).copied().unwrap_or(0.0),
                    a.get(k).copied().unwrap_or(0.0),
                    b.get(k).copied().unwrap_or(0.0),
                );
                // libsvm's `min(max(s, MIN_PROB), 1 - MIN_PROB)`, whose templates send NaN to
                // `MIN_PROB`.
                let s = sigmoid_predict(d, pa, pb);
                let s = if s > MIN_PROB { s } else { MIN_PROB };
                let pij = if s < 1.0 - MIN_PROB {
                    s
                } else {
                    1.0 - MIN_PROB
                };
                r[i * n + j] = pij;
                r[j * n + i] = 1.0 - pij;
                k += 1;
            }
        }
        multiclass_probability(n, &r, out);
    }
}

/// libsvm's `sigmoid_predict`: `1 / (1 + exp(d·A + B))`, written to avoid cancellation.
fn sigmoid_predict(d: f64, a: f64, b: f64) -> f64 {
    let f = d * a + b;
    if f >= 0.0 {
        (-f).exp() / (1.0 + (-f).exp())
    } else {
        1.0 / (1.0 + f.exp())
    }
}

/// libsvm's `multiclass_probability` (method 2 of Wu, Lin & Weng): `r` is the `k × k` pairwise
/// probability matrix (row-major), `p` receives the class probabilities.
fn multiclass_probability(k: usize, r: &[f64], p: &mut [f64]) {
    let at = |i: usize, j: usize| r.get(i * k + j).copied().unwrap_or(0.0);
    let max_iter = k.max(100);
    let eps = 0.005 / k as f64;
    let mut q = vec![0.0f64; k * k];
    for v in p.iter_mut() {
        *v = 1.0 / k as f64;
    }
    for t in 0..k {
        let mut diag = 0.0;
        for j in 0..t {
            diag += at(j, t) * at(j, t);
            q[t * k + j] = q[j * k + t];
        }
        for j in t + 1..k {
            diag += at(j, t) * at(j, t);
            q[t * k + j] = -at(j, t) * at(t, j);
        }
        q[t * k + t] = diag;
    }
    let mut qp = vec![0.0f64; k];
    for _ in 0..max_iter {
        let mut pqp = 0.0;
        for t in 0..k {
            let mut s = 0.0;
            for j in 0..k {
                s += q[t * k + j] * p.get(j).copied().unwrap_or(0.0);
            }
            qp[t] = s;
            pqp += p.get(t).copied().unwrap_or(0.0) * s;
        }
        let mut max_error = 0.0f64;
        for v in &qp {
            let error = (v - pqp).abs();
            if error > max_error {
                max_error = error;
            }
        }
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let qtt = q[t * k + t];
            let diff = (-qp[t] + pqp) / qtt;
            if let Some(v) = p.get_mut(t) {
                *v += diff;
            }
            pqp = (pqp + diff * (diff * qtt + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                if let Some(v) = p.get_mut(j) {
                    *v /= 1.0 + diff;
                }
            }
        }
    }
}

impl Estimator for Svc {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba | Method::PredictLogProba if self.prob.is_some() => {
                Some(OutputInfo {
                    datatype: DataType::Fp64,
                    shape: vec![-1, self.classes.len() as i64],
                })
            }
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let x = self.machine.check(x)?;
        let n = self.classes.len();
        let mut kvalue = vec![0.0; self.machine.support_vectors.rows()];
        let mut dec = vec![0.0; n * (n - 1) / 2];
        match (method, &self.prob) {
            (Method::Predict, _) => {
                let idx: Vec<usize> = x
                    .row_iter()
                    .map(|row| {
                        self.decisions(row, &mut kvalue, &mut dec);
                        self.choose(&dec)
                    })
                    .collect();
                Ok(Output::Labels(self.classes.take(&idx)?))
            }
            (Method::PredictProba | Method::PredictLogProba, Some((a, b))) => {
                let mut out = Matrix::zeros(x.rows(), n);
                for (row, probs) in x.row_iter().zip(out.row_iter_mut()) {
                    self.decisions(row, &mut kvalue, &mut dec);
                    self.probabilities(&dec, a, b, probs);
                    if method == Method::PredictLogProba {
                        for v in probs.iter_mut() {
                            *v = v.ln();
                        }
                    }
                }
                Ok(Output::Matrix(out))
            }
            _ => Err(PredictError::Runtime(format!(
                "{} is not available",
                method.name()
            ))),
        }
    }
}

/// SVR / NuSVR (`one_class: false`) and OneClassSVM.
struct Single {
    machine: Machine,
    one_class: bool,
}

fn single(inst: &Instance, ctx: &Ctx<'_>, one_class: bool) -> Result<Compiled, CompileError> {
    let machine = Machine::read(inst, ctx)?;
    if machine.dual_coef.rows() != 1 || machine.intercept.len() != 1 {
        return Err(ctx.invalid("expected one row of dual coefficients and one intercept"));
    }
    Ok(Compiled::Estimator(Box::new(Single { machine, one_class })))
}

fn svr(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    single(inst, ctx, false)
}

fn one_class(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    single(inst, ctx, true)
}

impl Estimator for Single {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: if self.one_class {
                DataType::Int64
            } else {
                DataType::Fp64
            },
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = self.machine.check(x)?;
        let values = x.row_iter().map(|row| self.machine.single(row));
        Ok(if self.one_class {
            Output::Labels(Labels::Int64(
                values.map(|v| if v > 0.0 { 1 } else { -1 }).collect(),
            ))
        } else {
            Output::Vector(values.collect())
        })
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

    fn compile(case: &str) -> Box<dyn Estimator> {
        let path = format!(
            "{}/src/sklearn/fixtures/{case}.pkl",
            env!("CARGO_MANIFEST_DIR")
        );
        let root = crate::pickle::read_pickle(&std::fs::read(path).unwrap()).unwrap();
        match Registry::with_builtins().compile(&root) {
            Ok(Compiled::Estimator(e)) => e,
            _ => panic!("{case} does not compile to an estimator"),
        }
    }

    #[test]
    fn methods_follow_the_fitted_state() {
        // probability=False (the default): no predict_proba, as in sklearn.
        let plain = compile("svc_linear_binary");
        assert!(plain.output_info(Method::PredictProba).is_none());
        let proba = compile("svc_proba_multi");
        assert_eq!(
            proba.output_info(Method::PredictLogProba).unwrap().shape,
            vec![-1, 3]
        );
        let ocsvm = compile("one_class_svm");
        assert_eq!(
            ocsvm.output_info(Method::Predict).unwrap().datatype,
            DataType::Int64
        );
        assert!(compile("svr_rbf")
            .output_info(Method::PredictProba)
            .is_none());
    }

    #[test]
    fn coupling_of_consistent_pairs_is_exact() {
        // r_ij = p_i / (p_i + p_j) for p = (0.5, 0.3, 0.2) is solved by p itself.
        let p = [0.5, 0.3, 0.2];
        let mut r = [0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    r[i * 3 + j] = p[i] / (p[i] + p[j]);
                }
            }
        }
        let mut out = [0.0; 3];
        multiclass_probability(3, &r, &mut out);
        for (a, b) in out.iter().zip(p) {
            assert!((a - b).abs() < 1e-2, "{out:?}");
        }
        assert!((sigmoid_predict(0.0, 1.0, 0.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn non_finite_input_is_invalid_value() {
        let est = compile("svr_rbf");
        let x = Matrix::new(2, 4, vec![0.0, 1.0, 2.0, 3.0, 0.0, f64::NAN, 2.0, 3.0]).unwrap();
        match est.run(Method::Predict, Data::Matrix(x)) {
            Err(PredictError::InvalidValue { name, message }) => {
                assert_eq!(name, "X");
                assert!(
                    message.starts_with("contains NaN (row 1, column 1)"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let x = Matrix::new(1, 4, vec![0.0, 1.0, f64::INFINITY, 3.0]).unwrap();
        assert!(matches!(
            compile("svc_proba_multi").run(Method::PredictProba, Data::Matrix(x)),
            Err(PredictError::InvalidValue { .. })
        ));
    }
}
