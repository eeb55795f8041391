//! CalibratedClassifierCV (`sklearn/calibration.py`): the mean over `calibrated_classifiers_`
//! of each one's calibrated probabilities. One calibrated classifier scores with
//! `decision_function` (else `predict_proba`, its positive column for two classes), maps each
//! column through its calibrator (sigmoid `expit(−(a·s + b))` or an isotonic curve) into the
//! member's class position, sets `p₀ = 1 − p₁` for two classes or normalises the row (uniform
//! when it sums to 0), and rounds values within 1e-5 above 1 down to 1. `predict` is the argmax.
//! The `temperature` method is refused.

use crate::error::PredictError;
use crate::pyobj::{Instance, Obj, PyObj};

use super::super::isotonic::Isotonic;
use super::super::linear::expit;
use super::super::output::{Labels, Output};
use super::super::table::{Data, Matrix};
use super::super::{
    obj, proba_classifier_info, proba_classifier_output, CompileError, Compiled, Ctx, Estimator,
    Method, OutputInfo, Registry,
};
use super::{check_binary_score, member, positions, run_matrix, Member};

/// Registers CalibratedClassifierCV.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.calibration.CalibratedClassifierCV", compile);
}

enum Calibrator {
    Sigmoid { a: f64, b: f64 },
    Isotonic(Isotonic),
}

impl Calibrator {
    fn eval(&self, s: f64) -> Result<f64, PredictError> {
        match self {
            Self::Sigmoid { a, b } => Ok(expit(-(a * s + b))),
            Self::Isotonic(iso) => iso.eval(s),
        }
    }
}

struct Pair {
    member: Member,
    decision: bool,
    /// Class position of each calibrator.
    targets: Vec<usize>,
    calibrators: Vec<Calibrator>,
}

struct Calibrated {
    pairs: Vec<Pair>,
    classes: Labels,
}

/// A member's `classes_` (a Pipeline's from its last step).
pub(super) fn member_classes(o: &Obj, ctx: &Ctx<'_>) -> Result<Option<Labels>, CompileError> {
    let Some(inst) = obj::instance(o) else {
        return Ok(None);
    };
    if inst.attr("classes_").is_some() {
        return obj::labels(inst, "classes_", ctx).map(Some);
    }
    let last = obj::opt_attr(inst, "steps")
        .and_then(|s| obj::items(s).and_then(|v| v.last().cloned()))
        .and_then(|step| obj::items(&step).and_then(|t| t.get(1).cloned()));
    match last {
        Some(l) => member_classes(&l, ctx),
        None => Ok(None),
    }
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let classes = obj::labels(inst, "classes_", ctx)?;
    let list = obj::attr(inst, "calibrated_classifiers_", ctx)?;
    let list =
        obj::items(list).ok_or_else(|| ctx.invalid("calibrated_classifiers_ is not a list"))?;
    let mut pairs = Vec::with_capacity(list.len());
    for (i, cc) in list.iter().enumerate() {
        let cc = obj::instance(cc)
            .ok_or_else(|| ctx.invalid("a calibrated classifier is not an object"))?;
        let method = obj::opt_str(cc, "method").unwrap_or("sigmoid");
        if method == "temperature" {
            return Err(ctx.invalid("method \"temperature\" is not supported"));
        }
        let est_name = if cc.attr("estimator").is_some() {
            "estimator"
        } else {
            "base_estimator"
        };
        let est_obj = obj::attr(cc, est_name, ctx)?;
        let m = member(
            ctx,
            &format!(".calibrated_classifiers_[{i}].{est_name}"),
            est_obj,
        )?;
        check_binary_score(m.as_ref(), est_obj, ctx)?;
        let decision = m.output_info(Method::DecisionFunction).is_some();
        if !decision && m.output_info(Method::PredictProba).is_none() {
            return Err(ctx.invalid("a member has neither decision_function nor predict_proba"));
        }
        let mut targets: Vec<usize> = match member_classes(est_obj, ctx)? {
            Some(c) => positions(&c, &classes)
                .into_iter()
                .map(|p| p.ok_or_else(|| ctx.invalid("a member class is not in classes_")))
                .collect::<Result<_, _>>()?,
            None => (0..classes.len()).collect(),
        };
        if classes.len() == 2 {
            targets = targets.into_iter().take(1).map(|t| t + 1).collect();
        }
        let cals = obj::attr(cc, "calibrators", ctx)?;
        let cals = obj::items(cals).ok_or_else(|| ctx.invalid("calibrators is not a list"))?;
        let calibrators = cals
            .iter()
            .map(|c| read_calibrator(c, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        pairs.push(Pair {
            member: m,
            decision,
            targets,
            calibrators,
        });
    }
    if pairs.is_empty() {
        return Err(ctx.invalid("no calibrated classifiers"));
    }
    Ok(Compiled::Estimator(Box::new(Calibrated { pairs, classes })))
}

fn read_calibrator(c: &Obj, ctx: &Ctx<'_>) -> Result<Calibrator, CompileError> {
    let PyObj::Instance(inst) = c.as_ref() else {
        return Err(ctx.invalid("a calibrator is not an object"));
    };
    match inst.class.name.as_str() {
        "_SigmoidCalibration" => Ok(Calibrator::Sigmoid {
            a: obj::opt_f64(inst, "a_").ok_or_else(|| ctx.invalid("missing a_"))?,
            b: obj::opt_f64(inst, "b_").ok_or_else(|| ctx.invalid("missing b_"))?,
        }),
        "IsotonicRegression" => Ok(Calibrator::Isotonic(Isotonic::read(inst, ctx)?)),
        other => Err(ctx.invalid(format!("calibrator {other} is not supported"))),
    }
}

impl Calibrated {
    fn proba(&self, x: &Data) -> Result<Matrix, PredictError> {
        let (n, k) = (x.rows(), self.classes.len());
        let mut mean = vec![0.0; n * k];
        for pair in &self.pairs {
            let scores = if pair.decision {
                run_matrix(pair.member.as_ref(), Method::DecisionFunction, x)?
            } else {
                let p = run_matrix(pair.member.as_ref(), Method::PredictProba, x)?;
                if p.cols() == 2 && k == 2 {
                    Matrix::new(n, 1, p.column(1))?
                } else {
                    p
                }
            };
            let mut proba = vec![0.0; n * k];
            for (col, (target, cal)) in pair.targets.iter().zip(&pair.calibrators).enumerate() {
                if col >= scores.cols() {
                    break;
                }
                for (r, s) in scores.column(col).into_iter().enumerate() {
                    if let Some(slot) = proba.get_mut(r * k + target) {
                        *slot = cal.eval(s)?;
                    }
                }
            }
            for row in proba.chunks_mut(k.max(1)) {
                if k == 2 {
                    row[0] = 1.0 - row[1];
                } else {
                    let sum: f64 = row.iter().sum();
                    for v in row.iter_mut() {
                        *v = if sum != 0.0 { *v / sum } else { 1.0 / k as f64 };
                    }
                }
                for v in row.iter_mut() {
                    if 1.0 < *v && *v <= 1.0 + 1e-5 {
                        *v = 1.0;
                    }
                }
            }
            mean.iter_mut().zip(proba).for_each(|(m, p)| *m += p);
        }
        let count = self.pairs.len() as f64;
        Matrix::new(n, k, mean.into_iter().map(|v| v / count).collect())
    }
}

impl Estimator for Calibrated {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        proba_classifier_info(&self.classes, method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        proba_classifier_output(&self.classes, method, self.proba(&x)?)
    }
}
