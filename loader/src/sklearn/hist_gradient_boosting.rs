//! `HistGradientBoostingClassifier` / `HistGradientBoostingRegressor` (docs/formats.md §2e, §2g):
//! `raw = _baseline_prediction + Σ leaf value` over `_predictors[iteration][k]`
//! (`TreePredictor`s; the learning rate is already folded into the leaves), then the link of
//! the `_loss` class. Comparisons are on raw float64 X: `x <= num_threshold` goes left, NaN
//! follows `missing_go_to_left`.
//!
//! Categorical splits (`_predictor.pyx`): a negative value is missing, a category in the node's
//! `raw_left_cat_bitsets` row goes left, another *known* category (`_bin_mapper.known_categories`)
//! goes right and an unknown one is missing. The [`Front`] maps each categorical column to its
//! category, or NaN when sklearn would treat it as missing, so the evaluator's category split
//! (`missing_goes_true = missing_go_to_left`) reproduces that. A fitted `_preprocessor`
//! (`categorical_features="from_dtype"`: an OrdinalEncoder ColumnTransformer) runs first.

use crate::error::PredictError;
use crate::pyobj::{Instance, NdArray, PyObj};
use crate::tree::{Aggregate, Branch, Cmp, LeafWeight, Split, TreeNode, TreeSpec};

use super::obj;
use super::table::{Data, Matrix};
use super::tree::{Front, Inputs, ProbaLink, TreeClassifier, TreeForest, TreeRegressor};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers HistGradientBoosting.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        compile_classifier,
    );
    reg.insert(
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
        compile_regressor,
    );
}

/// Categories 0..=255 (`X_BINNED_DTYPE` is uint8), as a 256-bit set.
type Bits = [u32; 8];

fn has_bit(bits: &Bits, c: usize) -> bool {
    bits.get(c / 32).is_some_and(|w| (w >> (c % 32)) & 1 == 1)
}

/// The trees, baseline and input handling shared by both estimators.
struct Model {
    forest: TreeForest,
    front: Front,
}

/// One `TreePredictor` as a node table writing to target `k`.
fn predictor_spec(
    pred: &Instance,
    k: usize,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<TreeSpec<f64>, CompileError> {
    let bad = |m: String| ctx.invalid(format!("{at}: {m}"));
    let nodes = obj::attr(pred, "nodes", ctx)?
        .as_array()
        .ok_or_else(|| bad("nodes is not an array".to_owned()))?;
    let arr = |e: crate::pyobj::ArrayError| bad(format!("nodes: {e}"));
    let value = nodes.field_f64("value").map_err(arr)?;
    let feature = nodes.field_i64("feature_idx").map_err(arr)?;
    let threshold = nodes.field_f64("num_threshold").map_err(arr)?;
    let missing_left = nodes.field_u8("missing_go_to_left").map_err(arr)?;
    let left = nodes.field_i64("left").map_err(arr)?;
    let right = nodes.field_i64("right").map_err(arr)?;
    let is_leaf = nodes.field_u8("is_leaf").map_err(arr)?;
    let n = value.len();
    let is_cat = nodes
        .field_u8("is_categorical")
        .unwrap_or_else(|_| vec![0; n]);
    let bitset_idx = nodes.field_i64("bitset_idx").unwrap_or_else(|_| vec![0; n]);
    let bitsets = match obj::opt_attr(pred, "raw_left_cat_bitsets") {
        Some(o) => read_bitsets(o.as_array(), ctx, at)?,
        None => Vec::new(),
    };
    let lens = [
        feature.len(),
        threshold.len(),
        missing_left.len(),
        left.len(),
        right.len(),
    ];
    if lens.iter().any(|&l| l != n)
        || is_leaf.len() != n
        || is_cat.len() != n
        || bitset_idx.len() != n
    {
        return Err(bad("node fields differ in length".to_owned()));
    }
    let index = |v: i64, what: &str, i: usize| {
        usize::try_from(v).map_err(|_| bad(format!("node {i} has {what} {v}")))
    };
    let mut spec = Vec::with_capacity(n);
    for i in 0..n {
        let get = |v: &[i64]| v.get(i).copied().unwrap_or(-1);
        if is_leaf.get(i).is_some_and(|&l| l != 0) {
            spec.push(TreeNode::Leaf(vec![LeafWeight {
                target: k,
                weight: value.get(i).copied().unwrap_or(0.0),
            }]));
            continue;
        }
        let split = if is_cat.get(i).is_some_and(|&c| c != 0) {
            let b = index(get(&bitset_idx), "bitset index", i)?;
            let bits = bitsets
                .get(b)
                .ok_or_else(|| bad(format!("node {i} refers to missing bitset {b}")))?;
            Split::Category((0..256u32).filter(|&c| has_bit(bits, c as usize)).collect())
        } else {
            Split::Compare(Cmp::Leq, threshold.get(i).copied().unwrap_or(f64::NAN))
        };
        spec.push(TreeNode::Branch(Branch {
            feature: index(get(&feature), "feature", i)?,
            split,
            missing_goes_true: missing_left.get(i).is_some_and(|&m| m != 0),
            if_true: index(get(&left), "left child", i)?,
            if_false: index(get(&right), "right child", i)?,
        }));
    }
    Ok(TreeSpec::new(spec))
}

/// A `(n, 8)` uint32 bitset array.
fn read_bitsets(arr: Option<&NdArray>, ctx: &Ctx<'_>, at: &str) -> Result<Vec<Bits>, CompileError> {
    let bad = || {
        ctx.invalid(format!(
            "{at}: raw_left_cat_bitsets is not an (n, 8) integer array"
        ))
    };
    let arr = arr.ok_or_else(bad)?;
    if !matches!(arr.shape.as_slice(), [_, 8]) {
        return Err(bad());
    }
    let words = arr.to_i64_vec().map_err(|_| bad())?;
    Ok(words
        .chunks_exact(8)
        .map(|c| std::array::from_fn(|j| c.get(j).copied().unwrap_or(0) as u32))
        .collect())
}

/// Per feature: `Some(known categories)` for categorical features.
fn known_categories(
    inst: &Instance,
    n_features: usize,
    ctx: &Ctx<'_>,
) -> Result<Vec<Option<Bits>>, CompileError> {
    let mut out = vec![None; n_features];
    let Some(mapper) = obj::opt_attr(inst, "_bin_mapper").and_then(|o| o.as_instance()) else {
        return Ok(out);
    };
    let Some(is_cat) = obj::opt_attr(mapper, "is_categorical_").and_then(|o| obj::scalars(o))
    else {
        return Ok(out);
    };
    let known = obj::opt_attr(mapper, "known_categories").and_then(|o| obj::items(o));
    for (f, flag) in is_cat.iter().enumerate() {
        if !matches!(flag, obj::Scalar::Bool(true) | obj::Scalar::Int(1)) {
            continue;
        }
        let cats = known
            .and_then(|k| k.get(f))
            .and_then(|o| obj::numbers(o))
            .ok_or_else(|| ctx.invalid(format!("_bin_mapper.known_categories[{f}] is missing")))?;
        let mut bits: Bits = [0; 8];
        for c in cats {
            if (0.0..256.0).contains(&c) {
                let c = c as usize;
                if let Some(w) = bits.get_mut(c / 32) {
                    *w |= 1 << (c % 32);
                }
            }
        }
        let slot = out.get_mut(f).ok_or_else(|| {
            ctx.invalid("_bin_mapper.is_categorical_ has more features than n_features_in_")
        })?;
        *slot = Some(bits);
    }
    Ok(out)
}

impl Model {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let baseline = obj::f64_vec(inst, "_baseline_prediction", ctx)?;
        let k = baseline.len();
        let n_features = obj::opt_f64(inst, "n_features_in_")
            .filter(|n| *n >= 0.0)
            .map(|n| n as usize)
            .ok_or_else(|| ctx.invalid("missing n_features_in_"))?;
        let iterations = obj::items(obj::attr(inst, "_predictors", ctx)?)
            .ok_or_else(|| ctx.invalid("_predictors is not a list"))?;
        let base = baseline
            .iter()
            .enumerate()
            .map(|(target, &weight)| LeafWeight { target, weight })
            .collect();
        // The baseline first, so rows accumulate in sklearn's order.
        let mut specs = vec![TreeSpec::new(vec![TreeNode::Leaf(base)])];
        for (i, it) in iterations.iter().enumerate() {
            let preds = obj::items(it)
                .ok_or_else(|| ctx.invalid(format!("_predictors[{i}] is not a list")))?;
            if preds.len() != k {
                return Err(ctx.invalid(format!(
                    "_predictors[{i}] has {} trees for {k} baseline values",
                    preds.len()
                )));
            }
            for (j, p) in preds.iter().enumerate() {
                let at = format!("_predictors[{i}][{j}]");
                let pred = p
                    .as_instance()
                    .ok_or_else(|| ctx.invalid(format!("{at} is not a TreePredictor")))?;
                specs.push(predictor_spec(pred, j, &at, ctx)?);
            }
        }
        let forest = TreeForest::build(n_features, k, specs, Inputs::Float64, ctx)?;
        let known = known_categories(inst, n_features, ctx)?;
        let pre: Option<Box<dyn Transformer>> = match obj::opt_attr(inst, "_preprocessor") {
            Some(p) => Some(ctx.transformer("._preprocessor", p)?),
            None => None,
        };
        let front: Front = Box::new(move |x: Data| {
            let m = match &pre {
                Some(t) => t.transform(x)?,
                None => x.into_matrix()?,
            };
            canonical_categories(m, &known)
        });
        Ok(Self { forest, front })
    }
}

/// Replaces each categorical value by its category, or NaN where sklearn treats it as missing
/// (NaN, negative, or not a known category).
fn canonical_categories(mut m: Matrix, known: &[Option<Bits>]) -> Result<Matrix, PredictError> {
    if known.iter().all(Option::is_none) {
        return Ok(m);
    }
    m.expect_cols(known.len())?;
    for row in m.row_iter_mut() {
        for (v, k) in row.iter_mut().zip(known) {
            let Some(bits) = k else { continue };
            let is_known = *v >= 0.0 && *v < 256.0 && has_bit(bits, *v as usize);
            *v = if is_known { v.trunc() } else { f64::NAN };
        }
    }
    Ok(m)
}

/// The `_loss` class name (or the `loss` parameter of old pickles).
fn loss_name(inst: &Instance) -> String {
    match obj::opt_attr(inst, "_loss").map(|o| o.as_ref()) {
        Some(PyObj::Instance(l)) => l.class.name.clone(),
        _ => obj::opt_str(inst, "loss").unwrap_or_default().to_owned(),
    }
}

fn compile_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let model = Model::read(inst, ctx)?;
    let classes = obj::labels(inst, "classes_", ctx)?;
    let k = model.forest.n_targets();
    let loss = loss_name(inst);
    let link = match loss.as_str() {
        "HalfBinomialLoss" | "BinaryCrossEntropy" | "binary_crossentropy" if k == 1 => {
            ProbaLink::Sigmoid
        }
        "HalfMultinomialLoss" | "CategoricalCrossEntropy" | "categorical_crossentropy" => {
            ProbaLink::Softmax
        }
        "log_loss" | "auto" if k == 1 => ProbaLink::Sigmoid,
        "log_loss" | "auto" => ProbaLink::Softmax,
        other => {
            return Err(ctx.invalid(format!(
                "loss {other:?} with {k} trees per iteration is not supported"
            )))
        }
    };
    let expected = if link == ProbaLink::Sigmoid { 2 } else { k };
    if classes.len() != expected {
        return Err(ctx.invalid(format!(
            "classes_ has {} labels for {k} trees per iteration",
            classes.len()
        )));
    }
    Ok(Compiled::Estimator(Box::new(TreeClassifier {
        forest: model.forest,
        aggregate: Aggregate::Sum,
        link,
        classes,
        front: Some(model.front),
    })))
}

fn compile_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let model = Model::read(inst, ctx)?;
    let exp = match loss_name(inst).as_str() {
        "HalfPoissonLoss" | "HalfGammaLoss" | "HalfTweedieLoss" | "Poisson" | "poisson"
        | "gamma" => true,
        "HalfSquaredError"
        | "AbsoluteError"
        | "PinballLoss"
        | "HuberLoss"
        | "HalfTweedieLossIdentity"
        | "LeastSquares"
        | "LeastAbsoluteDeviation"
        | "squared_error"
        | "absolute_error"
        | "quantile"
        | "least_squares"
        | "least_absolute_deviation" => false,
        other => return Err(ctx.invalid(format!("loss {other:?} is not supported"))),
    };
    let flat = model.forest.n_targets() == 1;
    Ok(Compiled::Estimator(Box::new(TreeRegressor {
        forest: model.forest,
        aggregate: Aggregate::Sum,
        exp,
        flat,
        front: Some(model.front),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_negative_categories_become_missing() {
        let mut bits: Bits = [0; 8];
        bits[0] = 0b101; // categories 0 and 2
        bits[1] = 1; // category 32
        let m = Matrix::new(1, 6, vec![0.0, 2.7, 1.0, -1.0, 32.0, 300.0]).unwrap();
        let known = vec![Some(bits); 6];
        let out = canonical_categories(m, &known).unwrap();
        let d = out.data();
        assert_eq!(&d[..2], &[0.0, 2.0]);
        assert!(d[2].is_nan() && d[3].is_nan() && d[5].is_nan());
        assert_eq!(d[4], 32.0);
    }
}
