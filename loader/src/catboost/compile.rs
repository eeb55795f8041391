//! Compiles a [`Model`] for evaluation. Each row is first turned into the values CatBoost's
//! binary splits test (CatBoost's own "binarization" step): every float feature (as `f32`, NaN
//! mapped by its NaN treatment), every categorical hash (for one-hot splits), and every CTR
//! feature's value computed from its table ([`super::ctr`]). Trees then compare those values
//! with borders: oblivious trees on [`ObliviousForest`] (a depth-`d` tree is `d` comparisons and
//! one table read), non-symmetric trees on the node-table [`Forest`]. Leaf values are summed in
//! `f64` tree by tree, then `scale * sum + bias`, as CatBoost does.

use super::ctr::CtrPlan;
use super::error::CbError;
use super::model::{BinSplit, Model, StepNode, Trees};
use crate::tree::{
    Aggregate, Branch, Cmp, Forest, ForestBuilder, LeafWeight, ObliviousForest, ObliviousSplit,
    ObliviousTest, Split, TreeNode, TreeSpec,
};

use crate::binder::catboost::Rows;

/// The compiled trees.
#[derive(Debug)]
enum Engine {
    Oblivious(ObliviousForest),
    NonSymmetric(Forest<f64>),
}

/// A compiled CatBoost model: row preparation plan, trees, scale and bias.
#[derive(Debug)]
pub(crate) struct Compiled {
    n_floats: usize,
    n_cats: usize,
    /// Per float feature, whether NaN exceeds every border.
    nan_as_true: Vec<bool>,
    ctrs: CtrPlan,
    engine: Engine,
    dim: usize,
    scale: f64,
    bias: Vec<f64>,
}

impl Compiled {
    /// The number of trees and the engine they run on (`ironflow inspect`).
    pub(crate) fn describe(&self) -> (usize, &'static str) {
        match &self.engine {
            Engine::Oblivious(f) => (f.n_trees(), "oblivious trees"),
            Engine::NonSymmetric(f) => (f.n_trees(), "trees"),
        }
    }

    /// Compiles `model`'s trees and CTRs.
    pub(crate) fn new(model: &Model) -> Result<Self, CbError> {
        let n_floats = model.floats.len();
        let n_cats = model.cats.len();
        let n_cols = n_floats + n_cats + model.ctrs.len();
        let column = |split: &BinSplit| -> (usize, ObliviousTest, f64) {
            match *split {
                BinSplit::Float { feature, border } => {
                    (feature, ObliviousTest::Greater, f64::from(border))
                }
                BinSplit::OneHot { cat, value } => {
                    (n_floats + cat, ObliviousTest::Equal, f64::from(value))
                }
                BinSplit::Ctr { ctr, border } => (
                    n_floats + n_cats + ctr,
                    ObliviousTest::Greater,
                    f64::from(border),
                ),
            }
        };
        let split_at = |s: usize| -> Result<&BinSplit, CbError> {
            model
                .splits
                .get(s)
                .ok_or_else(|| CbError::field("TreeSplits", format!("split {s} out of range")))
        };
        let dim = model.dim;
        let engine = match &model.trees {
            Trees::Oblivious {
                splits,
                leaf_values,
            } => {
                let mut forest = ObliviousForest::new(dim);
                let mut at = 0usize;
                for tree in splits {
                    let levels = tree
                        .iter()
                        .map(|&s| {
                            let (feature, test, value) = column(split_at(s)?);
                            Ok(ObliviousSplit {
                                feature,
                                test,
                                value,
                            })
                        })
                        .collect::<Result<Vec<_>, CbError>>()?;
                    let n = dim << tree.len();
                    let leaves = leaf_values
                        .get(at..at + n)
                        .ok_or_else(|| CbError::field("LeafValues", "too short"))?;
                    forest.push(&levels, leaves)?;
                    at += n;
                }
                Engine::Oblivious(forest)
            }
            Trees::NonSymmetric { trees, leaf_values } => {
                let mut builder = ForestBuilder::new(n_cols, dim);
                for nodes in trees {
                    builder.push(tree_spec(nodes, leaf_values, dim, |s| {
                        Ok(column(split_at(s)?))
                    })?);
                }
                Engine::NonSymmetric(builder.build()?)
            }
        };
        Ok(Self {
            n_floats,
            n_cats,
            nan_as_true: model.floats.iter().map(|f| f.nan_as_true).collect(),
            ctrs: CtrPlan::new(model),
            engine,
            dim,
            scale: model.scale,
            bias: model.bias.clone(),
        })
    }

    /// Outputs per row.
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Number of trees.
    pub(crate) fn n_trees(&self) -> usize {
        match &self.engine {
            Engine::Oblivious(f) => f.n_trees(),
            Engine::NonSymmetric(f) => f.n_trees(),
        }
    }

    /// `RawFormulaVal`: `n_rows * dim` values, row-major.
    pub(crate) fn raw(&self, rows: &Rows) -> Result<Vec<f64>, CbError> {
        let n_cols = self.n_floats + self.n_cats + self.ctrs.len();
        let mut x = vec![0.0f64; rows.n_rows * n_cols];
        for (r, out) in x.chunks_mut(n_cols.max(1)).enumerate().take(rows.n_rows) {
            let floats = &rows.floats[r * self.n_floats..(r + 1) * self.n_floats];
            let cats = &rows.cats[r * self.n_cats..(r + 1) * self.n_cats];
            for ((o, &v), &nan_true) in out.iter_mut().zip(floats).zip(&self.nan_as_true) {
                *o = prepare(v, nan_true);
            }
            for (o, &h) in out[self.n_floats..].iter_mut().zip(cats) {
                *o = f64::from(h);
            }
            self.ctrs.compute(
                floats,
                cats,
                &self.nan_as_true,
                &mut out[self.n_floats + self.n_cats..],
            );
        }
        let mut sums = match &self.engine {
            Engine::Oblivious(f) => f.sum(&x, rows.n_rows, n_cols)?,
            Engine::NonSymmetric(f) => f
                .aggregate(&x, rows.n_rows, n_cols, Aggregate::Sum)?
                .into_values(),
        };
        if self.scale != 1.0 || self.bias.iter().any(|&b| b != 0.0) {
            for row in sums.chunks_mut(self.dim) {
                for (v, &b) in row.iter_mut().zip(&self.bias) {
                    *v = self.scale * *v + b;
                }
            }
        }
        Ok(sums)
    }
}

/// A float feature's value as splits test it: the `f32` input widened back, NaN as +inf when
/// NaN counts as above every border, else -inf (below every border).
pub(crate) fn prepare(x: f64, nan_as_true: bool) -> f64 {
    let x = f64::from(x as f32);
    if x.is_nan() {
        if nan_as_true {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        }
    } else {
        x
    }
}

/// A non-symmetric tree as a node table: node `i` goes right (the split holds) by its right
/// step, left by its left step; a zero step ends at node `i`'s own leaf (appended after the
/// nodes).
fn tree_spec(
    nodes: &[StepNode],
    leaf_values: &[f64],
    dim: usize,
    column: impl Fn(usize) -> Result<(usize, ObliviousTest, f64), CbError>,
) -> Result<TreeSpec<f64>, CbError> {
    let n = nodes.len();
    let mut table: Vec<TreeNode<f64>> = Vec::with_capacity(2 * n);
    let mut leaves: Vec<TreeNode<f64>> = Vec::new();
    let leaf_node = |node: &StepNode, leaves: &mut Vec<TreeNode<f64>>| -> Result<usize, CbError> {
        let start = node
            .leaf
            .ok_or_else(|| CbError::field("NonSymmetricNodeIdToLeafId", "missing leaf"))?;
        let values = leaf_values
            .get(start..start + dim)
            .ok_or_else(|| CbError::field("LeafValues", "leaf out of range"))?;
        leaves.push(leaf(values));
        Ok(n + leaves.len() - 1)
    };
    for (i, node) in nodes.iter().enumerate() {
        if node.left_diff == 0 && node.right_diff == 0 {
            // A leaf node: its own leaf, in place.
            let start = node
                .leaf
                .ok_or_else(|| CbError::field("NonSymmetricNodeIdToLeafId", "missing leaf"))?;
            let values = leaf_values
                .get(start..start + dim)
                .ok_or_else(|| CbError::field("LeafValues", "leaf out of range"))?;
            table.push(leaf(values));
            continue;
        }
        let (feature, test, value) = column(node.split)?;
        let if_false = match node.left_diff {
            0 => leaf_node(node, &mut leaves)?,
            d => i + d as usize,
        };
        let if_true = match node.right_diff {
            0 => leaf_node(node, &mut leaves)?,
            d => i + d as usize,
        };
        let cmp = match test {
            ObliviousTest::Greater => Cmp::Gt,
            ObliviousTest::Equal => Cmp::Eq,
        };
        table.push(TreeNode::Branch(Branch {
            feature,
            split: Split::Compare(cmp, value),
            missing_goes_true: false,
            if_true,
            if_false,
        }));
    }
    table.extend(leaves);
    Ok(TreeSpec::new(table))
}

fn leaf(values: &[f64]) -> TreeNode<f64> {
    TreeNode::Leaf(
        values
            .iter()
            .enumerate()
            .map(|(target, &weight)| LeafWeight { target, weight })
            .collect(),
    )
}
