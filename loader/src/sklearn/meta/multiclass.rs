//! OneVsRestClassifier, OneVsOneClassifier and OutputCodeClassifier (`sklearn/multiclass.py`),
//! scoring members with [`binary_score`] (`_predict_binary`).
//! OvR: the class of the last member reaching the row's maximum score (`argmaxima[maxima ==
//! pred] = i`); two classes threshold the single member at 0 (decision) or 0.5 (probability);
//! `predict_proba` normalises the members' `predict_proba[:, 1]`.
//! OvO: `_ovr_decision_function` of the pairwise votes and confidences, argmax.
//! OutputCode: the nearest `code_book_` row (Euclidean) to the members' scores.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::super::output::{argmax, Labels, Output};
use super::super::table::{Data, Matrix};
use super::super::{obj, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};
use super::{binary_score, check_binary_score, members, predicted_codes, run_matrix, Member};

/// Registers the multiclass strategies.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.multiclass.OneVsRestClassifier", compile);
    reg.insert("sklearn.multiclass.OneVsOneClassifier", compile);
    reg.insert("sklearn.multiclass.OutputCodeClassifier", compile);
    reg.insert("sklearn.multiclass._ConstantPredictor", constant);
}

/// `_ConstantPredictor`: a member fitted on a single class answers `y_` for every row
/// (`predict`, `decision_function`) and `[1 − y_, y_]` as probabilities.
struct Constant {
    y: f64,
}

fn constant(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let y = obj::f64_vec(inst, "y_", ctx)?;
    match y.as_slice() {
        [v] => Ok(Compiled::Estimator(Box::new(Constant { y: *v }))),
        _ => Err(ctx.invalid("y_ is not a single value")),
    }
}

impl Estimator for Constant {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict | Method::DecisionFunction => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1],
            }),
            Method::PredictProba => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, 2],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let n = x.rows();
        Ok(if method == Method::PredictProba {
            Output::Matrix(Matrix::new(n, 2, [1.0 - self.y, self.y].repeat(n))?)
        } else {
            Output::Vector(vec![self.y; n])
        })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Strategy {
    Rest,
    One,
    Code,
}

struct Multiclass {
    strategy: Strategy,
    members: Vec<Member>,
    classes: Labels,
    /// OutputCode: `(classes, members)`.
    code_book: Option<Matrix>,
    /// Two-class OvR/OvO: the member scores by decision (threshold 0) or probability (0.5).
    threshold: f64,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let strategy = match inst.class.name.as_str() {
        "OneVsRestClassifier" => Strategy::Rest,
        "OneVsOneClassifier" => Strategy::One,
        _ => Strategy::Code,
    };
    let classes =
        match obj::opt_attr(inst, "label_binarizer_").and_then(|o| obj::instance(o).cloned()) {
            Some(lb) => {
                if obj::opt_str(&lb, "y_type_").is_some_and(|t| t.starts_with("multilabel")) {
                    return Err(ctx.invalid("multilabel targets are not supported"));
                }
                obj::labels(&lb, "classes_", ctx)?
            }
            None => obj::labels(inst, "classes_", ctx)?,
        };
    if obj::opt_attr(inst, "pairwise_indices_").is_some() {
        return Err(ctx.invalid("precomputed-kernel members are not supported"));
    }
    let compiled = members(inst, "estimators_", ctx)?;
    let raw = obj::items(obj::attr(inst, "estimators_", ctx)?).unwrap_or_default();
    let mut list = Vec::with_capacity(compiled.len());
    for (m, o) in compiled.into_iter().zip(raw) {
        let m = m.ok_or_else(|| ctx.invalid("estimators_ holds a non-estimator"))?;
        check_binary_score(m.as_ref(), o, ctx)?;
        list.push(m);
    }
    let code_book = if strategy == Strategy::Code {
        Some(obj::f64_matrix(inst, "code_book_", ctx)?)
    } else {
        None
    };
    let threshold = match list.first() {
        Some(m) if m.output_info(Method::DecisionFunction).is_none() => 0.5,
        _ => 0.0,
    };
    Ok(Compiled::Estimator(Box::new(Multiclass {
        strategy,
        members: list,
        classes,
        code_book,
        threshold,
    })))
}

impl Multiclass {
    fn scores(&self, x: &Data) -> Result<Vec<Vec<f64>>, PredictError> {
        self.members
            .iter()
            .map(|m| binary_score(m.as_ref(), x))
            .collect()
    }

    fn predict_rest(&self, x: &Data) -> Result<Vec<usize>, PredictError> {
        let scores = self.scores(x)?;
        if self.classes.len() == 2 && scores.len() == 1 {
            let s = scores.first().cloned().unwrap_or_default();
            return Ok(s.iter().map(|v| usize::from(*v > self.threshold)).collect());
        }
        let mut maxima = vec![f64::NEG_INFINITY; x.rows()];
        let mut arg = vec![0usize; x.rows()];
        for (i, s) in scores.iter().enumerate() {
            for ((m, a), v) in maxima.iter_mut().zip(arg.iter_mut()).zip(s) {
                *m = m.max(*v);
                if *m == *v {
                    *a = i;
                }
            }
        }
        Ok(arg)
    }

    fn decision_one(&self, x: &Data) -> Result<Matrix, PredictError> {
        let k = self.classes.len();
        let n = x.rows();
        let mut votes = vec![0.0; n * k];
        let mut conf = vec![0.0; n * k];
        let mut member = self.members.iter();
        for i in 0..k {
            for j in i + 1..k {
                let m = member
                    .next()
                    .ok_or_else(|| PredictError::Runtime("too few pairwise members".into()))?;
                let pred = predicted_codes(m.as_ref(), x, 2)?;
                let score = binary_score(m.as_ref(), x)?;
                for r in 0..n {
                    let c = score.get(r).copied().unwrap_or(0.0);
                    if let Some(v) = conf.get_mut(r * k + i) {
                        *v -= c;
                    }
                    if let Some(v) = conf.get_mut(r * k + j) {
                        *v += c;
                    }
                    let winner = if pred.get(r) == Some(&0) { i } else { j };
                    if let Some(v) = votes.get_mut(r * k + winner) {
                        *v += 1.0;
                    }
                }
            }
        }
        let out = votes
            .iter()
            .zip(&conf)
            .map(|(v, s)| v + s / (3.0 * (s.abs() + 1.0)))
            .collect();
        Matrix::new(n, k, out)
    }

    fn predict_codes(&self, x: &Data) -> Result<Vec<usize>, PredictError> {
        match self.strategy {
            Strategy::Rest => self.predict_rest(x),
            Strategy::One => {
                let d = self.decision_one(x)?;
                if self.classes.len() == 2 {
                    return Ok(d
                        .row_iter()
                        .map(|r| usize::from(r.get(1).copied().unwrap_or(0.0) > self.threshold))
                        .collect());
                }
                Ok(d.row_iter().map(argmax).collect())
            }
            Strategy::Code => {
                let scores = self.scores(x)?;
                let book = self
                    .code_book
                    .as_ref()
                    .ok_or_else(|| PredictError::Runtime("missing code book".into()))?;
                let mut out = Vec::with_capacity(x.rows());
                for r in 0..x.rows() {
                    let y: Vec<f64> = scores
                        .iter()
                        .map(|s| s.get(r).copied().unwrap_or(0.0))
                        .collect();
                    let mut best = (0usize, f64::INFINITY);
                    for (c, code) in book.row_iter().enumerate() {
                        let d: f64 = y.iter().zip(code).map(|(a, b)| (a - b) * (a - b)).sum();
                        if d < best.1 {
                            best = (c, d);
                        }
                    }
                    out.push(best.0);
                }
                Ok(out)
            }
        }
    }
}

impl Estimator for Multiclass {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba
                if self.strategy == Strategy::Rest
                    && self
                        .members
                        .iter()
                        .all(|m| m.output_info(Method::PredictProba).is_some()) =>
            {
                Some(OutputInfo {
                    datatype: DataType::Fp64,
                    shape: vec![-1, self.classes.len() as i64],
                })
            }
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        if method == Method::PredictProba {
            let cols: Vec<Vec<f64>> = self
                .members
                .iter()
                .map(|m| run_matrix(m.as_ref(), Method::PredictProba, &x).map(|p| p.column(1)))
                .collect::<Result<_, _>>()?;
            let n = x.rows();
            let mut out = Vec::with_capacity(n * self.classes.len());
            for r in 0..n {
                let row: Vec<f64> = cols
                    .iter()
                    .map(|c| c.get(r).copied().unwrap_or(0.0))
                    .collect();
                if row.len() == 1 {
                    let p = row.first().copied().unwrap_or(0.0);
                    out.extend([1.0 - p, p]);
                } else {
                    let sum: f64 = row.iter().sum();
                    out.extend(row.iter().map(|v| v / sum));
                }
            }
            return Ok(Output::Matrix(Matrix::new(n, self.classes.len(), out)?));
        }
        let codes = self.predict_codes(&x)?;
        Ok(Output::Labels(self.classes.take(&codes)?))
    }
}
