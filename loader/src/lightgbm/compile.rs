//! Compiles parsed LightGBM trees into a [`Forest`] of `f64` following `include/LightGBM/tree.h`
//! (`NumericalDecision`, `CategoricalDecision`): `x <= threshold` goes left; a NaN becomes 0.0
//! unless the missing type is NaN; with missing type Zero, values in `[-1e-35, 1e-35]` (and NaN)
//! take the default direction; a NaN-type split sends NaN by its default direction.
//! Categorical splits test `int(x)` against a bitset; negative values go right.

use super::error::LgbError;
use super::text::{Model, Tree};
use crate::tree::{Branch, Cmp, Forest, ForestBuilder, LeafWeight, Split, TreeNode, TreeSpec};

/// LightGBM's `kZeroThreshold` (a `float` literal widened to `double`).
const ZERO_THRESHOLD: f64 = 1e-35f32 as f64;

const CATEGORICAL: u8 = 1;
const DEFAULT_LEFT: u8 = 2;
const MISSING_ZERO: u8 = 1;
const MISSING_NAN: u8 = 2;

/// Compiles every tree; tree `t` adds to class `t % num_tree_per_iteration`.
pub(crate) fn compile(model: &Model) -> Result<Forest<f64>, LgbError> {
    let k = model.num_tree_per_iteration;
    let mut builder = ForestBuilder::new(model.num_features, k);
    for (t, tree) in model.trees.iter().enumerate() {
        builder.push(tree_spec(t, tree, t % k)?);
    }
    Ok(builder.build()?)
}

fn tree_spec(t: usize, tree: &Tree, target: usize) -> Result<TreeSpec<f64>, LgbError> {
    let at = || format!("Tree={t}");
    let n_internal = tree.num_leaves - 1;
    // Leaves follow the internal nodes; a negative child `c` is leaf `!c`.
    let node_of = |i: usize, child: i32| -> Result<usize, LgbError> {
        let node = if child >= 0 {
            usize::try_from(child).ok().filter(|&c| c < n_internal)
        } else {
            usize::try_from(!child)
                .ok()
                .filter(|&l| l < tree.num_leaves)
                .map(|l| n_internal + l)
        };
        node.ok_or_else(|| LgbError::field(at(), format!("node {i}: child {child} out of range")))
    };
    let mut nodes: Vec<TreeNode<f64>> = Vec::with_capacity(tree.num_leaves * 2);
    let mut extra: Vec<TreeNode<f64>> = Vec::new();
    for i in 0..n_internal {
        let (Some(&feature), Some(&threshold), Some(&dt), Some(&left), Some(&right)) = (
            tree.split_feature.get(i),
            tree.threshold.get(i),
            tree.decision_type.get(i),
            tree.left_child.get(i),
            tree.right_child.get(i),
        ) else {
            return Err(LgbError::field(at(), format!("node {i} is incomplete")));
        };
        let (left, right) = (node_of(i, left)?, node_of(i, right)?);
        let default_left = dt & DEFAULT_LEFT != 0;
        let missing = (dt >> 2) & 3;
        let node = if dt & CATEGORICAL != 0 {
            let cats = categories(tree, threshold).ok_or_else(|| {
                LgbError::field(
                    at(),
                    format!("node {i}: categorical split {threshold} out of range"),
                )
            })?;
            // NaN goes right under missing type NaN, else it is category 0.
            let nan_left = missing != MISSING_NAN && cats.contains(&0);
            branch(feature, Split::Category(cats), nan_left, left, right)
        } else {
            let leq = Split::Compare(Cmp::Leq, threshold);
            match missing {
                MISSING_NAN => branch(feature, leq, default_left, left, right),
                MISSING_ZERO => {
                    let default = if default_left { left } else { right };
                    // When `x <= threshold` already sends the whole zero band the default way,
                    // only NaN needs routing.
                    if (default_left && ZERO_THRESHOLD <= threshold)
                        || (!default_left && threshold < -ZERO_THRESHOLD)
                    {
                        branch(feature, leq, default_left, left, right)
                    } else {
                        // x < -zero ? test : (x <= zero ? default : test); NaN -> default.
                        let test = n_internal + tree.num_leaves + extra.len();
                        extra.push(branch(feature, leq, false, left, right));
                        let band = test + 1;
                        extra.push(branch(
                            feature,
                            Split::Compare(Cmp::Leq, ZERO_THRESHOLD),
                            true,
                            default,
                            test,
                        ));
                        branch(
                            feature,
                            Split::Compare(Cmp::Lt, -ZERO_THRESHOLD),
                            false,
                            test,
                            band,
                        )
                    }
                }
                // Missing type None: NaN is 0.0.
                _ => branch(feature, leq, 0.0 <= threshold, left, right),
            }
        };
        nodes.push(node);
    }
    for &value in tree.leaf_value.iter().take(tree.num_leaves) {
        nodes.push(TreeNode::Leaf(vec![LeafWeight {
            target,
            weight: value,
        }]));
    }
    nodes.extend(extra);
    Ok(TreeSpec::new(nodes))
}

fn branch(
    feature: usize,
    split: Split<f64>,
    missing_goes_true: bool,
    if_true: usize,
    if_false: usize,
) -> TreeNode<f64> {
    TreeNode::Branch(Branch {
        feature,
        split,
        missing_goes_true,
        if_true,
        if_false,
    })
}

/// The categories of categorical split `threshold` (an index into `cat_boundaries`).
fn categories(tree: &Tree, threshold: f64) -> Option<Vec<u32>> {
    if !(threshold >= 0.0 && threshold < tree.cat_boundaries.len() as f64) {
        return None;
    }
    let k = threshold as usize;
    let start = *tree.cat_boundaries.get(k)?;
    let end = *tree.cat_boundaries.get(k + 1)?;
    let words = tree.cat_threshold.get(start..end)?;
    let mut cats = Vec::new();
    for (w, &bits) in words.iter().enumerate() {
        for b in 0..32u32 {
            if bits >> b & 1 == 1 {
                cats.push(u32::try_from(w).ok()?.checked_mul(32)?.checked_add(b)?);
            }
        }
    }
    Some(cats)
}

#[cfg(test)]
mod tests {
    use super::super::text::parse;
    use super::*;
    use crate::tree::Aggregate;

    /// One split on feature 0 at `threshold` with `decision_type`; leaves 1 (left), 2 (right).
    fn stump(decision_type: u8, threshold: f64) -> Forest<f64> {
        let text = format!(
            "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
             max_feature_idx=0\nobjective=regression\n\nTree=0\nnum_leaves=2\nnum_cat=0\n\
             split_feature=0\nthreshold={threshold}\ndecision_type={decision_type}\n\
             left_child=-1\nright_child=-2\nleaf_value=1 2\nshrinkage=1\n\nend of trees\n"
        );
        compile(&parse(&text).unwrap()).unwrap()
    }

    fn leaves(forest: &Forest<f64>, xs: &[f64]) -> Vec<f64> {
        forest
            .aggregate(xs, xs.len(), 1, Aggregate::Sum)
            .unwrap()
            .into_values()
    }

    #[test]
    fn missing_types_follow_numerical_decision() {
        let xs = [-1.0, -1e-36, 0.0, 1e-36, 1.0, f64::NAN];
        // None: NaN is 0.0, compared normally (0.0 <= -0.5 is false).
        assert_eq!(leaves(&stump(0, -0.5), &xs), [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        // Zero, default left: the zero band and NaN go left even though they exceed -0.5.
        assert_eq!(leaves(&stump(6, -0.5), &xs), [1.0, 1.0, 1.0, 1.0, 2.0, 1.0]);
        // Zero, default right, threshold above the band: the band and NaN go right.
        assert_eq!(leaves(&stump(4, 0.5), &xs), [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        // NaN type, default left: only NaN takes the default.
        assert_eq!(leaves(&stump(10, 0.5), &xs), [1.0, 1.0, 1.0, 1.0, 2.0, 1.0]);
        assert_eq!(leaves(&stump(8, -2.0), &xs), [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
    }
}
