//! The format-neutral XGBoost booster ([`Booster`]) that the JSON/UBJSON and legacy binary
//! readers produce, and its compilation into a [`Forest`] of `f32` (XGBoost casts features to
//! `f32` and splits on `x < split_condition`).

use super::error::XgbError;
use super::objective::Objective;
use crate::tree::{Branch, Cmp, Forest, ForestBuilder, LeafWeight, Split, TreeNode, TreeSpec};

/// One regression tree in XGBoost's own layout: parallel arrays indexed by node id.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tree {
    /// Left child ids; `-1` marks a leaf.
    pub(crate) left: Vec<i32>,
    /// Right child ids.
    pub(crate) right: Vec<i32>,
    /// Feature index each branch tests.
    pub(crate) split_index: Vec<u32>,
    /// Branch threshold, or the leaf value for leaves.
    pub(crate) split_condition: Vec<f32>,
    /// Whether a missing (NaN) value goes to the left child.
    pub(crate) default_left: Vec<bool>,
    /// For categorical branches, the categories that go to the right child (node id, set).
    pub(crate) categories: Vec<(usize, Vec<u32>)>,
}

/// A gradient-boosted tree model as XGBoost stores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Booster {
    /// The objective, which decides the base-score link and the output transform.
    pub(crate) objective: Objective,
    /// `base_score`: one value, or one per output group (xgboost >= 3 multiclass).
    pub(crate) base_score: Vec<f32>,
    /// Whether `base_score` is already a margin (files from xgboost < 1.0) rather than a value
    /// in the objective's output space.
    pub(crate) base_score_is_margin: bool,
    /// Number of input features.
    pub(crate) num_feature: usize,
    /// Number of output groups (classes for multiclass, else 1).
    pub(crate) num_groups: usize,
    /// Feature names stored in the model, if any.
    pub(crate) feature_names: Vec<String>,
    /// The trees, in boosting order.
    pub(crate) trees: Vec<Tree>,
    /// Output group of each tree.
    pub(crate) tree_info: Vec<usize>,
    /// Per-tree weights of a DART booster.
    pub(crate) weight_drop: Option<Vec<f32>>,
    /// A `gblinear` booster's weights (no trees): `(num_feature + 1) * num_groups` values,
    /// feature-major (`weights[f * groups + g]`), the per-group biases last.
    pub(crate) linear: Option<Vec<f32>>,
}

impl Booster {
    /// The margin every row starts from, per output group.
    pub(crate) fn base_margin(&self) -> Result<Vec<f32>, XgbError> {
        let margins: Vec<f32> = self
            .base_score
            .iter()
            .map(|&b| {
                if self.base_score_is_margin {
                    b
                } else {
                    self.objective.prob_to_margin(b)
                }
            })
            .collect();
        match margins.as_slice() {
            [one] => Ok(vec![*one; self.num_groups]),
            many if many.len() == self.num_groups => Ok(margins),
            many => Err(XgbError::field(
                "learner.learner_model_param.base_score",
                format!(
                    "{} values for {} output groups",
                    many.len(),
                    self.num_groups
                ),
            )),
        }
    }

    /// Compiles the trees into a forest with one target per output group.
    pub(crate) fn compile(&self) -> Result<Forest<f32>, XgbError> {
        if self.tree_info.len() != self.trees.len() {
            return Err(XgbError::field(
                "tree_info",
                format!(
                    "{} entries for {} trees",
                    self.tree_info.len(),
                    self.trees.len()
                ),
            ));
        }
        if let Some(w) = &self.weight_drop {
            if w.len() != self.trees.len() {
                return Err(XgbError::field(
                    "weight_drop",
                    format!("{} weights for {} trees", w.len(), self.trees.len()),
                ));
            }
        }
        let mut builder = ForestBuilder::new(self.num_feature, self.num_groups);
        if self.linear.is_none() {
            builder.push(base_margin_tree(&self.base_margin()?));
        }
        for (t, (tree, &group)) in self.trees.iter().zip(&self.tree_info).enumerate() {
            let weight = self
                .weight_drop
                .as_ref()
                .and_then(|w| w.get(t).copied())
                .unwrap_or(1.0);
            builder.push(tree_spec(t, tree, group, weight)?);
        }
        Ok(builder.build()?)
    }
}

/// A one-leaf tree giving each output group its base margin, pushed before the real trees.
///
/// XGBoost's CPU predictor starts every row's prediction at the base margin and adds the trees'
/// leaves to it one by one in `f32` (`InitOutPredictions`, then `PredValueByOneTree` per tree).
/// The tree engine sums from zero in tree order, so with this tree first the sum is
/// `((0 + base) + leaf_0) + leaf_1 ...`, the same `f32` operations in the same order as
/// xgboost's, and predictions are bit-exact (adding the base after the trees rounds differently).
fn base_margin_tree(base_margin: &[f32]) -> TreeSpec<f32> {
    let weights = base_margin
        .iter()
        .enumerate()
        .map(|(target, &weight)| LeafWeight { target, weight })
        .collect();
    TreeSpec::new(vec![TreeNode::Leaf(weights)])
}

/// Converts one tree. Nodes unreachable from the root (deleted nodes) are converted too but
/// ignored by the builder; children ids that do not fit are mapped out of range so the builder
/// reports them when they are reachable.
fn tree_spec(t: usize, tree: &Tree, group: usize, weight: f32) -> Result<TreeSpec<f32>, XgbError> {
    let n = tree.left.len();
    let field = |name: &str| format!("trees[{t}].{name}");
    for (name, len) in [
        ("right_children", tree.right.len()),
        ("split_indices", tree.split_index.len()),
        ("split_conditions", tree.split_condition.len()),
        ("default_left", tree.default_left.len()),
    ] {
        if len != n {
            return Err(XgbError::field(
                field(name),
                format!("{len} entries for {n} nodes"),
            ));
        }
    }
    let mut nodes: Vec<TreeNode<f32>> = tree
        .left
        .iter()
        .zip(&tree.right)
        .zip(tree.split_index.iter().zip(&tree.split_condition))
        .zip(&tree.default_left)
        .map(|(((&left, &right), (&feature, &cond)), &default_left)| {
            if left == -1 {
                TreeNode::Leaf(vec![LeafWeight {
                    target: group,
                    weight: if weight == 1.0 { cond } else { cond * weight },
                }])
            } else {
                TreeNode::Branch(Branch {
                    feature: feature as usize,
                    split: Split::Compare(Cmp::Lt, cond),
                    missing_goes_true: default_left,
                    if_true: child(left),
                    if_false: child(right),
                })
            }
        })
        .collect();
    for (node, cats) in &tree.categories {
        // XGBoost sends the listed categories right and everything else left, including
        // invalid (negative) values before truncation: `-0.5` goes left although it truncates
        // to category 0, so a guard `x < 0` sends negatives left first. NaN takes the default.
        let at = nodes.len();
        let Some(TreeNode::Branch(b)) = nodes.get_mut(*node) else {
            return Err(XgbError::field(
                field("categories_nodes"),
                format!("node {node} is not a branch"),
            ));
        };
        let (left, right, default_left) = (b.if_true, b.if_false, b.missing_goes_true);
        let guard = Branch {
            feature: b.feature,
            split: Split::Compare(Cmp::Lt, 0.0),
            missing_goes_true: default_left,
            if_true: left,
            if_false: at,
        };
        let category = Branch {
            feature: b.feature,
            split: Split::Category(cats.clone()),
            missing_goes_true: !default_left,
            if_true: right,
            if_false: left,
        };
        *b = guard;
        nodes.push(TreeNode::Branch(category));
    }
    Ok(TreeSpec::new(nodes))
}

fn child(id: i32) -> usize {
    usize::try_from(id).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Aggregate;

    #[test]
    fn categorical_splits_send_listed_categories_right() {
        // Node 0 splits feature 0 on categories {0, 2}: listed -> right (leaf 2), else left.
        let tree = |default_left: bool| Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            split_index: vec![0, 0, 0],
            split_condition: vec![0.0, 1.0, 2.0],
            default_left: vec![default_left, false, false],
            categories: vec![(0, vec![0, 2])],
        };
        let xs = [0.0f32, 1.0, 2.0, 2.9, -0.5, -1.0, f32::NAN, 1e9];
        for (default_left, nan) in [(true, 1.0), (false, 2.0)] {
            let mut builder = ForestBuilder::new(1, 1);
            builder.push(tree_spec(0, &tree(default_left), 0, 1.0).unwrap());
            let forest = builder.build().unwrap();
            let got = forest
                .aggregate(&xs, xs.len(), 1, Aggregate::Sum)
                .unwrap()
                .into_values();
            assert_eq!(got, [2.0, 1.0, 2.0, 2.0, 1.0, 1.0, nan, 1.0]);
        }
    }
}
