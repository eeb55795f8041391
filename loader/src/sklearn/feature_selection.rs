//! Feature selectors: every class keeps the input columns of its support mask, computed once at
//! load from the fitted state exactly as its `_get_support_mask` does: VarianceThreshold
//! (`variances_ > threshold`), the univariate filters (SelectKBest, SelectPercentile, SelectFpr,
//! SelectFdr, SelectFwe, GenericUnivariateSelect, from `scores_` / `pvalues_`; their
//! `score_func` is an inert reference, never called), SelectFromModel (the fitted estimator's
//! `coef_` / `feature_importances_` against the threshold, `max_features`), and RFE, RFECV and
//! SequentialFeatureSelector (their stored `support_`).

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj::{self, Scalar};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers the selectors.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.feature_selection._variance_threshold.VarianceThreshold",
        variance_threshold,
    );
    reg.insert(
        "sklearn.feature_selection._univariate_selection.SelectKBest",
        univariate,
    );
    reg.insert(
        "sklearn.feature_selection._univariate_selection.SelectPercentile",
        univariate,
    );
    reg.insert(
        "sklearn.feature_selection._univariate_selection.SelectFpr",
        univariate,
    );
    reg.insert(
        "sklearn.feature_selection._univariate_selection.SelectFdr",
        univariate,
    );
    reg.insert(
        "sklearn.feature_selection._univariate_selection.SelectFwe",
        univariate,
    );
    reg.insert(
        "sklearn.feature_selection._univariate_selection.GenericUnivariateSelect",
        univariate,
    );
    reg.insert(
        "sklearn.feature_selection._from_model.SelectFromModel",
        from_model,
    );
    reg.insert("sklearn.feature_selection._rfe.RFE", stored_support);
    reg.insert("sklearn.feature_selection._rfe.RFECV", stored_support);
    reg.insert(
        "sklearn.feature_selection._sequential.SequentialFeatureSelector",
        stored_support,
    );
}

/// Keeps the columns `keep` of an `n`-column input.
struct Select {
    n: usize,
    keep: Vec<usize>,
}

impl Transformer for Select {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        if x.cols() != self.n {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![x.rows(), x.cols()],
                expected: vec![-1, self.n as i64],
            });
        }
        x.select(&self.keep)
    }
}

fn selected(mask: &[bool]) -> Compiled {
    Compiled::Transformer(Box::new(Select {
        n: mask.len(),
        keep: mask
            .iter()
            .enumerate()
            .filter(|(_, m)| **m)
            .map(|(i, _)| i)
            .collect(),
    }))
}

fn variance_threshold(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let threshold = obj::opt_f64(inst, "threshold").unwrap_or(0.0);
    let v = obj::f64_vec(inst, "variances_", ctx)?;
    Ok(selected(
        &v.iter().map(|v| *v > threshold).collect::<Vec<_>>(),
    ))
}

fn stored_support(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let s = obj::scalars(obj::attr(inst, "support_", ctx)?)
        .ok_or_else(|| ctx.invalid("support_ is not an array"))?;
    let mask: Option<Vec<bool>> = s
        .iter()
        .map(|v| match v {
            Scalar::Bool(b) => Some(*b),
            Scalar::Int(i) => Some(*i != 0),
            _ => None,
        })
        .collect();
    Ok(selected(
        &mask.ok_or_else(|| ctx.invalid("support_ is not boolean"))?,
    ))
}

/// `_clean_nans`: NaN scores become the lowest float.
fn clean_nans(v: &[f64]) -> Vec<f64> {
    v.iter()
        .map(|s| if s.is_nan() { f64::MIN } else { *s })
        .collect()
}

/// `np.percentile(v, q)` with linear interpolation.
fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    let frac = pos - lo as f64;
    // numpy's `_lerp`: a + (b - a) * t, switched to b - (b - a) * (1 - t) for t >= 0.5.
    let (a, b) = (s[lo], s[hi]);
    let d = b - a;
    if frac >= 0.5 {
        b - d * (1.0 - frac)
    } else {
        a + d * frac
    }
}

fn k_best(scores: &[f64], k: Option<usize>) -> Vec<bool> {
    let n = scores.len();
    let Some(k) = k else {
        return vec![true; n];
    };
    let scores = clean_nans(scores);
    let mut order: Vec<usize> = (0..n).collect();
    // Stable (mergesort) ascending; the last k win.
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut mask = vec![false; n];
    for &i in order.iter().skip(n.saturating_sub(k)) {
        mask[i] = true;
    }
    mask
}

fn percentile_mask(scores: &[f64], p: f64) -> Vec<bool> {
    let n = scores.len();
    if p >= 100.0 {
        return vec![true; n];
    }
    if p <= 0.0 {
        return vec![false; n];
    }
    let scores = clean_nans(scores);
    let threshold = percentile(&scores, 100.0 - p);
    let mut mask: Vec<bool> = scores.iter().map(|s| *s > threshold).collect();
    let kept = mask.iter().filter(|m| **m).count();
    let max_feats = (n as f64 * p / 100.0) as usize;
    let mut room = max_feats.saturating_sub(kept);
    for (i, s) in scores.iter().enumerate() {
        if room == 0 {
            break;
        }
        if *s == threshold {
            mask[i] = true;
            room -= 1;
        }
    }
    mask
}

fn fdr(p: &[f64], alpha: f64) -> Vec<bool> {
    let n = p.len();
    let mut sv = p.to_vec();
    sv.sort_by(f64::total_cmp);
    let max = sv
        .iter()
        .enumerate()
        .filter(|(i, v)| **v <= alpha / n as f64 * (*i + 1) as f64)
        .map(|(_, v)| *v)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    match max {
        None => vec![false; n],
        Some(m) => p.iter().map(|v| *v <= m).collect(),
    }
}

/// `k` as stored: an int, or `"all"` (`None` here).
fn k_param(inst: &Instance, name: &str, ctx: &Ctx<'_>) -> Result<Option<usize>, CompileError> {
    match inst.attr(name).map(|o| o.as_ref()) {
        None => Ok(Some(10)),
        Some(PyObj::Str(s)) if s == "all" => Ok(None),
        Some(o) => o
            .as_f64()
            .map(|k| Some(k as usize))
            .ok_or_else(|| ctx.invalid(format!("{name} is not an int or 'all'"))),
    }
}

fn univariate(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let class = inst.class.name.as_str();
    let scores = || obj::f64_vec(inst, "scores_", ctx);
    let pvalues = || obj::f64_vec(inst, "pvalues_", ctx);
    let alpha = |name: &str, default: f64| obj::opt_f64(inst, name).unwrap_or(default);
    let (mode, param) = if class == "GenericUnivariateSelect" {
        (
            obj::opt_str(inst, "mode")
                .unwrap_or("percentile")
                .to_owned(),
            Some("param"),
        )
    } else {
        (
            match class {
                "SelectKBest" => "k_best",
                "SelectPercentile" => "percentile",
                "SelectFpr" => "fpr",
                "SelectFdr" => "fdr",
                "SelectFwe" => "fwe",
                other => return Err(ctx.invalid(format!("unknown selector {other}"))),
            }
            .to_owned(),
            None,
        )
    };
    let mask = match mode.as_str() {
        "k_best" => {
            let k = match param {
                Some(p) => k_param(inst, p, ctx)?,
                None => k_param(inst, "k", ctx)?,
            };
            let s = scores()?;
            if k == Some(0) {
                vec![false; s.len()]
            } else {
                k_best(&s, k)
            }
        }
        "percentile" => percentile_mask(&scores()?, alpha(param.unwrap_or("percentile"), 10.0)),
        "fpr" => {
            let a = alpha(param.unwrap_or("alpha"), 0.05);
            pvalues()?.iter().map(|p| *p < a).collect()
        }
        "fdr" => fdr(&pvalues()?, alpha(param.unwrap_or("alpha"), 0.05)),
        "fwe" => {
            let p = pvalues()?;
            let a = alpha(param.unwrap_or("alpha"), 0.05) / p.len() as f64;
            p.iter().map(|v| *v < a).collect()
        }
        other => return Err(ctx.invalid(format!("unknown mode {other:?}"))),
    };
    Ok(selected(&mask))
}

fn from_model(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let est_obj = obj::opt_attr(inst, "estimator_")
        .or_else(|| obj::opt_attr(inst, "estimator"))
        .ok_or_else(|| ctx.invalid("missing estimator_"))?;
    let est = obj::instance(est_obj).ok_or_else(|| ctx.invalid("estimator_ is not an object"))?;
    let getter = obj::opt_str(inst, "importance_getter").unwrap_or("auto");
    let attr = match getter {
        "auto" if obj::opt_attr(est, "coef_").is_some() => "coef_",
        "auto" => "feature_importances_",
        "coef_" | "feature_importances_" => getter,
        other => {
            return Err(ctx.invalid(format!(
                "importance_getter={other:?} is not supported (coef_ or feature_importances_)"
            )))
        }
    };
    let Some(imp) = obj::opt_attr(est, attr) else {
        return Err(ctx.invalid(format!(
            "the estimator {} stores no {attr} (computed importances are not supported)",
            est.class.path()
        )));
    };
    let values = obj::numbers(imp).ok_or_else(|| ctx.invalid(format!("{attr} is not numeric")))?;
    let shape = obj::shape(imp);
    let scores: Vec<f64> = match shape.as_slice() {
        [_] | [] => values.iter().map(|v| v.abs()).collect(),
        [r, c] => {
            let order = obj::opt_f64(inst, "norm_order").unwrap_or(1.0);
            (0..*c)
                .map(|j| {
                    let col = (0..*r).map(|i| values[i * c + j].abs());
                    if order == 1.0 {
                        col.sum()
                    } else if order == 2.0 {
                        col.map(|v| v * v).sum::<f64>().sqrt()
                    } else if order.is_infinite() {
                        col.fold(0.0, f64::max)
                    } else {
                        col.map(|v| v.powf(order)).sum::<f64>().powf(1.0 / order)
                    }
                })
                .collect()
        }
        _ => return Err(ctx.invalid(format!("{attr} has an unexpected shape"))),
    };
    let threshold = threshold(inst, est, &scores, ctx)?;
    let n = scores.len();
    let max_features = obj::opt_f64(inst, "max_features_")
        .or_else(|| obj::opt_f64(inst, "max_features"))
        .map(|m| m as usize);
    let mut mask = match max_features {
        Some(m) => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|a, b| (-scores[*a]).total_cmp(&(-scores[*b])));
            let mut mask = vec![false; n];
            for &i in order.iter().take(m) {
                mask[i] = true;
            }
            mask
        }
        None => vec![true; n],
    };
    for (m, s) in mask.iter_mut().zip(&scores) {
        if *s < threshold {
            *m = false;
        }
    }
    Ok(selected(&mask))
}

fn threshold(
    inst: &Instance,
    est: &Instance,
    scores: &[f64],
    ctx: &Ctx<'_>,
) -> Result<f64, CompileError> {
    let spec = match inst.attr("threshold").map(|o| o.as_ref()) {
        None | Some(PyObj::None) => {
            let name = est.class.name.as_str();
            let l1_ratio_one =
                |a: &str| obj::opt_f64(est, a).is_some_and(|r| (r - 1.0).abs() < 1e-8);
            let l1 = obj::opt_str(est, "penalty") == Some("l1")
                || name.contains("Lasso")
                || (name == "ElasticNet" && l1_ratio_one("l1_ratio"))
                || (name == "ElasticNetCV" && l1_ratio_one("l1_ratio_"))
                || (name == "LogisticRegression" && l1_ratio_one("l1_ratio"));
            if l1 {
                return Ok(1e-5);
            }
            "mean".to_owned()
        }
        Some(PyObj::Str(s)) => s.clone(),
        Some(o) => {
            return o
                .as_f64()
                .ok_or_else(|| ctx.invalid("threshold is not a number or string"))
        }
    };
    let reference = |r: &str| -> Result<f64, CompileError> {
        match r.trim() {
            "mean" => Ok(super::numeric::np_sum(scores) / scores.len() as f64),
            "median" => Ok(percentile(scores, 50.0)),
            other => Err(ctx.invalid(format!("unknown threshold reference {other:?}"))),
        }
    };
    match spec.split_once('*') {
        Some((scale, r)) => {
            let scale: f64 = scale
                .trim()
                .parse()
                .map_err(|_| ctx.invalid(format!("bad threshold {spec:?}")))?;
            Ok(scale * reference(r)?)
        }
        None => reference(&spec),
    }
}
