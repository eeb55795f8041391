//! `GradientBoostingClassifier` / `GradientBoostingRegressor` (docs/formats.md §2g):
//! `raw = init_raw + Σ learning_rate · tree.value`, with `estimators_` an object ndarray
//! `(n_estimators, K)` of `DecisionTreeRegressor`s, then the loss's link (sigmoid for binary
//! log-loss, `sigmoid(2·raw)` for `exponential`, softmax for multiclass, identity for
//! regression).
//!
//! The init prediction is compiled as a first, single-leaf tree, so each row accumulates
//! `init, + lr·v₁, + lr·v₂, ...` in exactly sklearn's order (`predict_stages`). Supported
//! `init_`: `DummyClassifier` (strategy `prior`), `DummyRegressor` (any strategy: all predict
//! `constant_`) and `'zero'`; any other init estimator is an error at load.

use crate::pyobj::{Instance, PyObj};
use crate::tree::{Aggregate, LeafWeight, TreeNode, TreeSpec};

use super::obj;
use super::output::Labels;
use super::tree::{tree_inputs, ProbaLink, SkTree, TreeClassifier, TreeForest, TreeRegressor};
use super::{CompileError, Compiled, Ctx, Registry};

/// Registers gradient boosting.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        compile_classifier,
    );
    reg.insert(
        "sklearn.ensemble._gb.GradientBoostingRegressor",
        compile_regressor,
    );
}

/// `np.finfo(np.float32).eps`: sklearn clips init probabilities to `[eps, 1 - eps]`.
const EPS: f64 = f32::EPSILON as f64;

/// The fitted stages: `trees[i * k + j]` is stage `i`, output `j`.
struct Stages {
    trees: Vec<SkTree>,
    k: usize,
    learning_rate: f64,
}

impl Stages {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let est = obj::attr(inst, "estimators_", ctx)?;
        let k = match obj::shape(est).as_slice() {
            [_, k] => *k,
            s => return Err(ctx.invalid(format!("estimators_ has shape {s:?}, expected 2-D"))),
        };
        let items = obj::items(est).ok_or_else(|| ctx.invalid("estimators_ holds no objects"))?;
        if k == 0 || items.is_empty() {
            return Err(ctx.invalid("estimators_ is empty"));
        }
        let trees = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("estimators_[{}, {}]", i / k, i % k);
                let tree_est = item
                    .as_instance()
                    .ok_or_else(|| ctx.invalid(format!("{at} is not a tree")))?;
                let tree = obj::attr(tree_est, "tree_", ctx)?;
                SkTree::read(tree, ctx, &format!("{at}.tree_"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let learning_rate = obj::opt_f64(inst, "learning_rate")
            .ok_or_else(|| ctx.invalid("missing learning_rate"))?;
        Ok(Self {
            trees,
            k,
            learning_rate,
        })
    }

    /// The forest: the init tree, then every stage's trees scaled by the learning rate.
    fn forest(&self, init: Vec<f64>, ctx: &Ctx<'_>) -> Result<TreeForest, CompileError> {
        let n_features = self.trees.first().map_or(0, |t| t.n_features);
        let init_leaf = init
            .iter()
            .enumerate()
            .map(|(target, &weight)| LeafWeight { target, weight })
            .collect();
        let mut specs = vec![TreeSpec::new(vec![TreeNode::Leaf(init_leaf)])];
        for (i, tree) in self.trees.iter().enumerate() {
            if tree.n_features != n_features || tree.n_outputs() != 1 {
                return Err(ctx.invalid(format!(
                    "estimators_[{}, {}] does not match the other stages",
                    i / self.k,
                    i % self.k
                )));
            }
            let spec = tree
                .spec(|n| tree.regression_values(n, self.learning_rate, i % self.k))
                .map_err(|m| {
                    ctx.invalid(format!("estimators_[{}, {}]: {m}", i / self.k, i % self.k))
                })?;
            specs.push(spec);
        }
        TreeForest::build(n_features, self.k, specs, tree_inputs(&self.trees), ctx)
    }
}

/// `init_` as an instance (`None` for the string `'zero'`).
fn init_estimator<'a>(
    inst: &'a Instance,
    ctx: &Ctx<'_>,
) -> Result<Option<&'a Instance>, CompileError> {
    match obj::attr(inst, "init_", ctx)?.as_ref() {
        PyObj::Str(s) if s == "zero" => Ok(None),
        PyObj::Instance(i) => Ok(Some(i)),
        _ => Err(ctx.invalid("init_ is neither an estimator nor 'zero'")),
    }
}

fn compile_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let stages = Stages::read(inst, ctx)?;
    let classes: Labels = obj::labels(inst, "classes_", ctx)?;
    let n_classes = classes.len();
    let expected_k = if n_classes <= 2 { 1 } else { n_classes };
    if stages.k != expected_k {
        return Err(ctx.invalid(format!(
            "estimators_ has {} columns for {n_classes} classes",
            stages.k
        )));
    }
    let exponential = obj::opt_str(inst, "loss") == Some("exponential");
    let link = match (stages.k, exponential) {
        (1, false) => ProbaLink::Sigmoid,
        (1, true) => ProbaLink::HalfSigmoid,
        (_, false) => ProbaLink::Softmax,
        (_, true) => return Err(ctx.invalid("exponential loss needs two classes")),
    };
    let init = match init_estimator(inst, ctx)? {
        None => vec![0.0; stages.k],
        Some(dummy) => {
            let class = dummy.class.path();
            if class != "sklearn.dummy.DummyClassifier" {
                return Err(ctx.invalid(format!("init_ {class} is not supported")));
            }
            if let Some(strategy) = obj::opt_str(dummy, "strategy") {
                if strategy != "prior" {
                    return Err(ctx.invalid(format!(
                        "init_ DummyClassifier(strategy={strategy:?}) is not supported"
                    )));
                }
            }
            let prior = obj::f64_vec(dummy, "class_prior_", ctx)?;
            if prior.len() != n_classes {
                return Err(ctx.invalid("init_.class_prior_ does not match classes_"));
            }
            init_raw(&prior, link)
        }
    };
    let forest = stages.forest(init, ctx)?;
    Ok(Compiled::Estimator(Box::new(TreeClassifier {
        forest,
        aggregate: Aggregate::Sum,
        link,
        classes,
        front: None,
    })))
}

/// The raw prediction of a prior (`_init_raw_predictions`): clipped, then the loss's link.
fn init_raw(prior: &[f64], link: ProbaLink) -> Vec<f64> {
    let clip = |p: f64| p.clamp(EPS, 1.0 - EPS);
    match link {
        ProbaLink::Sigmoid | ProbaLink::HalfSigmoid => {
            let p = clip(prior.get(1).copied().unwrap_or(0.5));
            let logit = (p / (1.0 - p)).ln();
            vec![if link == ProbaLink::HalfSigmoid {
                0.5 * logit
            } else {
                logit
            }]
        }
        ProbaLink::Softmax | ProbaLink::Identity => {
            // Symmetric multinomial logit (1.9); older versions skip the centring, which
            // softmax ignores.
            let logs: Vec<f64> = prior.iter().map(|&p| clip(p).ln()).collect();
            let mean = logs.iter().sum::<f64>() / logs.len().max(1) as f64;
            logs.into_iter().map(|l| l - mean).collect()
        }
    }
}

fn compile_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let stages = Stages::read(inst, ctx)?;
    if stages.k != 1 {
        return Err(ctx.invalid(format!("estimators_ has {} columns, expected 1", stages.k)));
    }
    let init = match init_estimator(inst, ctx)? {
        None => 0.0,
        Some(dummy) => {
            let class = dummy.class.path();
            if class != "sklearn.dummy.DummyRegressor" {
                return Err(ctx.invalid(format!("init_ {class} is not supported")));
            }
            match obj::f64_vec(dummy, "constant_", ctx)?.as_slice() {
                [c] => *c,
                _ => return Err(ctx.invalid("init_.constant_ is not a single value")),
            }
        }
    };
    let forest = stages.forest(vec![init], ctx)?;
    Ok(Compiled::Estimator(Box::new(TreeRegressor {
        forest,
        aggregate: Aggregate::Sum,
        exp: false,
        flat: true,
        front: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_raw_follows_the_link() {
        let [r] = init_raw(&[0.25, 0.75], ProbaLink::Sigmoid)[..] else {
            panic!()
        };
        assert!((r - 3f64.ln()).abs() < 1e-15);
        let [h] = init_raw(&[0.25, 0.75], ProbaLink::HalfSigmoid)[..] else {
            panic!()
        };
        assert!((h - 0.5 * 3f64.ln()).abs() < 1e-15);
        let m = init_raw(&[0.2, 0.3, 0.5], ProbaLink::Softmax);
        let p = super::super::linear::softmax(&m);
        assert!((p[2] - 0.5).abs() < 1e-12);
        assert!(init_raw(&[0.0, 1.0], ProbaLink::Sigmoid)[0].is_finite());
    }
}
