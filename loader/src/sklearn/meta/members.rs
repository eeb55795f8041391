//! What every meta-estimator shares: compiling members, reading a member's answer as a matrix,
//! sklearn's `_predict_binary` response, and mapping predicted labels to class indices.

use crate::error::PredictError;
use crate::pyobj::{Instance, Obj, PyObj};

use crate::sklearn::obj;
use crate::sklearn::output::{Labels, Output};
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Estimator, Method};

/// A compiled member.
pub(crate) type Member = Box<dyn Estimator>;

/// Compiles `obj` (found at `segment`) as an estimator.
pub(crate) fn member(ctx: &Ctx<'_>, segment: &str, obj: &Obj) -> Result<Member, CompileError> {
    match ctx.compile_child(segment, obj)? {
        Compiled::Estimator(e) => Ok(e),
        Compiled::Transformer(_) => Err(ctx.invalid(format!("{segment} is not an estimator"))),
    }
}

/// Compiles every item of the list attribute `name` (`"drop"` / `None` entries are skipped
/// and reported as `None`).
pub(crate) fn members(
    inst: &Instance,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<Option<Member>>, CompileError> {
    let list = obj::attr(inst, name, ctx)?;
    let items = obj::items(list).ok_or_else(|| ctx.invalid(format!("{name} is not a list")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_ref() {
            PyObj::Str(_) | PyObj::None => Ok(None),
            _ => member(ctx, &format!(".{name}[{i}]"), item).map(Some),
        })
        .collect()
}

/// Compiles every item of `name`, none of which may be dropped.
pub(crate) fn all_members(
    inst: &Instance,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<Member>, CompileError> {
    members(inst, name, ctx)?
        .into_iter()
        .map(|m| m.ok_or_else(|| ctx.invalid(format!("{name} holds a non-estimator"))))
        .collect()
}

/// Compiles the single estimator attribute `name`.
pub(crate) fn member_attr(
    inst: &Instance,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<Member, CompileError> {
    member(ctx, &format!(".{name}"), obj::attr(inst, name, ctx)?)
}

/// Checks at load that a member answers `method`.
pub(crate) fn require(
    m: &dyn Estimator,
    method: Method,
    what: &str,
    ctx: &Ctx<'_>,
) -> Result<(), CompileError> {
    m.output_info(method)
        .map(|_| ())
        .ok_or_else(|| ctx.invalid(format!("{what} has no {} here", method.name())))
}

/// A member's answer as a `[N, k]` matrix (`[N]` and labels become one column; labels must be
/// numeric).
fn as_matrix(out: Output) -> Result<Matrix, PredictError> {
    match out {
        Output::Matrix(m) => Ok(m),
        Output::Vector(v) => {
            let n = v.len();
            Matrix::new(n, 1, v)
        }
        Output::Labels(l) => {
            let v = label_values(&l)?;
            let n = v.len();
            Matrix::new(n, 1, v)
        }
        Output::LabelColumns { labels, cols } => {
            let v = label_values(&labels)?;
            Matrix::new(v.len() / cols.max(1), cols, v)
        }
    }
}

/// Numeric labels as float64.
fn label_values(l: &Labels) -> Result<Vec<f64>, PredictError> {
    Ok(match l {
        Labels::Int64(v) => v.iter().map(|&i| i as f64).collect(),
        Labels::Int32(v) => v.iter().map(|&i| f64::from(i)).collect(),
        Labels::Float(v) => v.clone(),
        Labels::Bool(v) => v.iter().map(|&b| f64::from(u8::from(b))).collect(),
        Labels::Str(_) => {
            return Err(PredictError::Runtime(
                "a member predicted text labels where numbers were expected".into(),
            ))
        }
    })
}

/// Runs `method` on a member and returns its matrix.
pub(crate) fn run_matrix(
    m: &dyn Estimator,
    method: Method,
    x: &Data,
) -> Result<Matrix, PredictError> {
    as_matrix(m.run(method, x.clone())?)
}

/// A label as a comparable key (numbers compare by value across int/float dtypes).
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Num(f64),
    Str(String),
}

fn keys(l: &Labels) -> Vec<Key> {
    match l {
        Labels::Str(v) => v.iter().map(|s| Key::Str(s.clone())).collect(),
        other => label_values(other)
            .unwrap_or_default()
            .into_iter()
            .map(Key::Num)
            .collect(),
    }
}

/// The index in `classes` of each predicted label (`None` where it is not a class).
pub(crate) fn positions(pred: &Labels, classes: &Labels) -> Vec<Option<usize>> {
    let class_keys = keys(classes);
    keys(pred)
        .iter()
        .map(|k| class_keys.iter().position(|c| c == k))
        .collect()
}

/// A member's predicted labels as class indices 0..k (members fitted on encoded targets).
pub(crate) fn predicted_codes(
    m: &dyn Estimator,
    x: &Data,
    k: usize,
) -> Result<Vec<usize>, PredictError> {
    let Output::Labels(l) = m.run(Method::Predict, x.clone())? else {
        return Err(PredictError::Runtime(
            "a member did not predict labels".into(),
        ));
    };
    label_values(&l)?
        .into_iter()
        .map(|v| {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < k {
                Ok(v as usize)
            } else {
                Err(PredictError::Runtime(format!(
                    "member predicted unknown class {v}"
                )))
            }
        })
        .collect()
}

/// sklearn's `multiclass._predict_binary`: the raveled `decision_function` when the member has
/// one, else `predict_proba[:, 1]`, else (a regressor) `predict`.
pub(crate) fn binary_score(m: &dyn Estimator, x: &Data) -> Result<Vec<f64>, PredictError> {
    if m.output_info(Method::DecisionFunction).is_some() {
        return Ok(run_matrix(m, Method::DecisionFunction, x)?.into_data());
    }
    if m.output_info(Method::PredictProba).is_some() {
        let p = run_matrix(m, Method::PredictProba, x)?;
        return Ok(p.column(1.min(p.cols().saturating_sub(1))));
    }
    Ok(run_matrix(m, Method::Predict, x)?.into_data())
}

/// Classes whose sklearn implementation has `decision_function` but whose compiled form here
/// may not: a meta-estimator that would prefer it refuses them rather than answer differently.
pub(crate) fn check_binary_score(
    m: &dyn Estimator,
    obj: &Obj,
    ctx: &Ctx<'_>,
) -> Result<(), CompileError> {
    let mut name = class_name(obj);
    if name == "Pipeline" {
        // The final step decides.
        if let Some(last) = obj::instance(obj)
            .and_then(|i| obj::opt_attr(i, "steps"))
            .and_then(|s| obj::items(s).and_then(|v| v.last().cloned()))
            .and_then(|step| obj::items(&step).and_then(|t| t.get(1).cloned()))
        {
            name = class_name(&last);
        }
    }
    const HAS_DECISION: &[&str] = &[
        "SVC",
        "NuSVC",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "AdaBoostClassifier",
        "BaggingClassifier",
        "StackingClassifier",
        "OneVsRestClassifier",
        "OneVsOneClassifier",
    ];
    if HAS_DECISION.contains(&name.as_str()) && m.output_info(Method::DecisionFunction).is_none() {
        return Err(ctx.invalid(format!(
            "a {name} member's decision_function is not supported"
        )));
    }
    Ok(())
}

fn class_name(obj: &Obj) -> String {
    obj::instance(obj)
        .map(|i| i.class.name.clone())
        .unwrap_or_default()
}
