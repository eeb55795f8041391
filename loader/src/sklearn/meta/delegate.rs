//! Meta-estimators whose answer is (mostly) one fitted member's:
//! GridSearchCV / RandomizedSearchCV / HalvingGridSearchCV / HalvingRandomSearchCV serve
//! `best_estimator_`; SelfTrainingClassifier and RANSACRegressor serve `estimator_` (or the older
//! `base_estimator_`); TransformedTargetRegressor maps `regressor_`'s prediction through
//! `transformer_`'s inverse (StandardScaler, or FunctionTransformer with a numpy ufunc);
//! FixedThresholdClassifier / TunedThresholdClassifierCV threshold `estimator_`'s positive-class
//! score (`predict_proba` first, else `decision_function`) with `>=`.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::super::output::{Labels, Output};
use super::super::table::Data;
use super::super::{obj, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};
use super::{check_binary_score, member_attr, positions, run_matrix, Member};

/// Registers the delegating meta-estimators.
pub fn register(reg: &mut Registry) {
    for path in [
        "sklearn.model_selection._search.GridSearchCV",
        "sklearn.model_selection._search.RandomizedSearchCV",
        "sklearn.model_selection._search_successive_halving.HalvingGridSearchCV",
        "sklearn.model_selection._search_successive_halving.HalvingRandomSearchCV",
    ] {
        reg.insert(path, search);
    }
    reg.insert(
        "sklearn.semi_supervised._self_training.SelfTrainingClassifier",
        fitted_member,
    );
    reg.insert(
        "sklearn.linear_model._ransac.RANSACRegressor",
        fitted_member,
    );
    reg.insert(
        "sklearn.compose._target.TransformedTargetRegressor",
        transformed_target,
    );
    reg.insert(
        "sklearn.model_selection._classification_threshold.FixedThresholdClassifier",
        threshold,
    );
    reg.insert(
        "sklearn.model_selection._classification_threshold.TunedThresholdClassifierCV",
        threshold,
    );
}

fn search(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let best = obj::opt_attr(inst, "best_estimator_")
        .ok_or_else(|| ctx.invalid("no best_estimator_ (refit=False) to serve"))?;
    ctx.compile_child(".best_estimator_", best)
}

fn fitted_member(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    for name in ["estimator_", "base_estimator_"] {
        if let Some(o) = obj::opt_attr(inst, name) {
            return ctx.compile_child(&format!(".{name}"), o);
        }
    }
    Err(ctx.invalid("missing estimator_"))
}

/// An element-wise inverse transform.
enum Inverse {
    /// `x · scale + mean` per target column.
    Affine { scale: Vec<f64>, mean: Vec<f64> },
    /// A numpy ufunc.
    Ufunc(fn(f64) -> f64),
}

struct TransformedTarget {
    regressor: Member,
    inverse: Inverse,
    /// `_training_dim == 1`: a single column is squeezed to `[N]`.
    flat: bool,
}

fn ufunc(path: &str) -> Option<fn(f64) -> f64> {
    Some(match path {
        "numpy.exp" => f64::exp,
        "numpy.expm1" => f64::exp_m1,
        "numpy.log" => f64::ln,
        "numpy.log1p" => f64::ln_1p,
        "numpy.log2" => f64::log2,
        "numpy.log10" => f64::log10,
        "numpy.sqrt" => f64::sqrt,
        "numpy.square" => |v| v * v,
        "numpy.exp2" => f64::exp2,
        "numpy.cbrt" => f64::cbrt,
        _ => return None,
    })
}

fn transformed_target(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let regressor = member_attr(inst, "regressor_", ctx)?;
    let t = obj::attr(inst, "transformer_", ctx)?;
    let t = obj::instance(t).ok_or_else(|| ctx.invalid("transformer_ is not an object"))?;
    let inverse = match t.class.name.as_str() {
        "StandardScaler" => {
            let n = obj::opt_f64(t, "n_features_in_").unwrap_or(1.0) as usize;
            let scale = match obj::opt_attr(t, "scale_") {
                Some(o) => obj::numbers(o).ok_or_else(|| ctx.invalid("scale_ is not numeric"))?,
                None => vec![1.0; n],
            };
            let mean = match obj::opt_attr(t, "mean_") {
                Some(o) => obj::numbers(o).ok_or_else(|| ctx.invalid("mean_ is not numeric"))?,
                None => vec![0.0; n],
            };
            Inverse::Affine { scale, mean }
        }
        "FunctionTransformer" => match t.attr("inverse_func").map(|o| o.as_ref()) {
            None | Some(PyObj::None) => Inverse::Ufunc(|v| v),
            Some(PyObj::Class(c)) => Inverse::Ufunc(ufunc(&c.path()).ok_or_else(|| {
                ctx.invalid(format!("inverse_func {} is not supported", c.path()))
            })?),
            Some(_) => return Err(ctx.invalid("inverse_func is not a numpy function")),
        },
        other => return Err(ctx.invalid(format!("transformer_ {other} is not supported"))),
    };
    Ok(Compiled::Estimator(Box::new(TransformedTarget {
        regressor,
        inverse,
        flat: obj::opt_f64(inst, "_training_dim").unwrap_or(1.0) == 1.0,
    })))
}

impl Estimator for TransformedTarget {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        let inner = self.regressor.output_info(method)?;
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.flat && inner.shape.len() == 1 {
                vec![-1]
            } else {
                inner.shape
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let mut p = run_matrix(self.regressor.as_ref(), Method::Predict, &x)?;
        let cols = p.cols();
        for row in p.row_iter_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = match &self.inverse {
                    Inverse::Affine { scale, mean } => {
                        *v * scale.get(j).copied().unwrap_or(1.0)
                            + mean.get(j).copied().unwrap_or(0.0)
                    }
                    Inverse::Ufunc(f) => f(*v),
                };
            }
        }
        Ok(if self.flat && cols == 1 {
            Output::Vector(p.into_data())
        } else {
            Output::Matrix(p)
        })
    }
}

struct Threshold {
    member: Member,
    classes: Labels,
    /// Score by `predict_proba` (else `decision_function`).
    proba: bool,
    threshold: f64,
    /// The positive class's index in `classes` (`pos_label`, default the second).
    pos: usize,
}

fn threshold(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let est_obj = obj::attr(inst, "estimator_", ctx)?;
    let member = member_attr(inst, "estimator_", ctx)?;
    let classes = match super::calibration::member_classes(est_obj, ctx)? {
        Some(c) => c,
        None => obj::labels(inst, "classes_", ctx)?,
    };
    if classes.len() != 2 {
        return Err(ctx.invalid("a threshold classifier needs two classes"));
    }
    let method = match obj::opt_str(inst, "response_method").unwrap_or("auto") {
        "auto" => {
            if member.output_info(Method::PredictProba).is_some() {
                true
            } else {
                check_binary_score(member.as_ref(), est_obj, ctx)?;
                false
            }
        }
        "predict_proba" => true,
        "decision_function" => false,
        other => return Err(ctx.invalid(format!("response_method {other:?} is not supported"))),
    };
    let want = if method {
        Method::PredictProba
    } else {
        Method::DecisionFunction
    };
    if member.output_info(want).is_none() {
        return Err(ctx.invalid(format!("estimator_ has no {} here", want.name())));
    }
    let pos = match obj::opt_attr(inst, "pos_label") {
        None => 1,
        Some(p) => {
            let label = obj::scalars(p)
                .and_then(|v| Labels::from_scalars(v, false))
                .ok_or_else(|| ctx.invalid("pos_label is not a label"))?;
            positions(&label, &classes)
                .first()
                .copied()
                .flatten()
                .ok_or_else(|| ctx.invalid("pos_label is not a class"))?
        }
    };
    let value = if inst.class.name == "TunedThresholdClassifierCV" {
        obj::opt_f64(inst, "best_threshold_")
            .ok_or_else(|| ctx.invalid("missing best_threshold_"))?
    } else {
        match obj::attr(inst, "threshold", ctx)?.as_ref() {
            PyObj::Str(s) if s == "auto" => {
                if method {
                    0.5
                } else {
                    0.0
                }
            }
            _ => obj::opt_f64(inst, "threshold")
                .ok_or_else(|| ctx.invalid("threshold is not a number"))?,
        }
    };
    Ok(Compiled::Estimator(Box::new(Threshold {
        member,
        classes,
        proba: method,
        threshold: value,
        pos,
    })))
}

impl Estimator for Threshold {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            _ => self.member.output_info(method),
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        if method != Method::Predict {
            return self.member.run(method, x);
        }
        let scores: Vec<f64> = if self.proba {
            run_matrix(self.member.as_ref(), Method::PredictProba, &x)?.column(self.pos)
        } else {
            let d = run_matrix(self.member.as_ref(), Method::DecisionFunction, &x)?.into_data();
            if self.pos == 0 {
                d.into_iter().map(|v| -v).collect()
            } else {
                d
            }
        };
        let neg = 1 - self.pos;
        let idx: Vec<usize> = scores
            .iter()
            .map(|s| if *s >= self.threshold { self.pos } else { neg })
            .collect();
        Ok(Output::Labels(self.classes.take(&idx)?))
    }
}
