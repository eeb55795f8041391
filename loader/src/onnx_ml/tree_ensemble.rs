//! `TreeEnsembleClassifier`, `TreeEnsembleRegressor` (ai.onnx.ml 1-3) and `TreeEnsemble`
//! (ai.onnx.ml 5), evaluated by ironflow's own tree evaluator (`crate::tree`).
//!
//! The builders decode a node's attributes into [`Ensemble`]: node tables per tree
//! ([`crate::tree::TreeSpec`], values widened to f64) plus what onnxruntime does with the leaf
//! sums ([`finalize::Output`]). Wiring compiles the forest in the type onnxruntime compares in —
//! `f64` for double inputs or double (`*_as_tensor`, opset 5 double) attributes, `f32` otherwise,
//! with integer inputs cast to `f32` — and adds one typed op ([`op::TreeEnsembleOp`]).
//! Semantics follow onnxruntime's `tree_ensemble_common.h`, `tree_ensemble_aggregator.h` and
//! `ml_common.h` (`write_scores`), including their binary-classification rules.

mod attrs;
mod finalize;
mod op;
mod v3;
mod v5;

#[cfg(test)]
mod tests;

use tract_onnx::model::OnnxOpRegister;
use tract_onnx::tract_hir::internal::*;

use crate::tree::{Aggregate, Forest, ForestBuilder, TreeError, TreeNode, TreeSpec, Value};

/// Registers the tree ensemble operator builders.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("TreeEnsembleClassifier", v3::classifier);
    reg.insert("TreeEnsembleRegressor", v3::regressor);
    reg.insert("TreeEnsemble", v5::tree_ensemble);
}

/// A decoded tree ensemble node.
#[derive(Debug, Clone, PartialEq)]
struct Ensemble {
    /// The operator (`TreeEnsembleClassifier`, ...), for op names and messages.
    op: &'static str,
    /// Trees in evaluation order; values are the attributes' (f32 or f64) widened to f64.
    trees: Vec<TreeSpec<f64>>,
    /// Input columns the branches read (highest feature index + 1).
    n_features: usize,
    /// Output columns: targets or classes.
    n_targets: usize,
    /// The attributes hold doubles, so comparisons happen in f64 whatever the input type.
    double: bool,
    aggregate: Aggregate,
    output: finalize::Output,
}

/// A node's position in its ONNX attributes, for messages about malformed tables.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NodeName {
    /// Opset 1-3: `(nodes_treeids, nodes_nodeids)`.
    Id { tree: i64, node: i64 },
    /// Opset 5: index into the `nodes_*` attributes.
    Interior(usize),
    /// Opset 5: index into the `leaf_*` attributes.
    Leaf(usize),
}

impl std::fmt::Display for NodeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeName::Id { tree, node } => write!(f, "node {node} of tree {tree}"),
            NodeName::Interior(i) => write!(f, "nodes_*[{i}]"),
            NodeName::Leaf(i) => write!(f, "leaf_*[{i}]"),
        }
    }
}

impl Ensemble {
    /// Compiles the forest in `T`.
    fn forest<T: Value>(&self) -> Result<Forest<T>, TreeError> {
        let mut builder = ForestBuilder::new(self.n_features, self.n_targets);
        for tree in &self.trees {
            builder.push(cast_tree(tree));
        }
        builder.build()
    }

    /// Compiles once (in the attributes' precision) to reject malformed tables when the model is
    /// loaded, naming the offending node with its ONNX ids (`names[tree][node]`).
    fn validate(&self, names: &[Vec<NodeName>]) -> TractResult<()> {
        let result = if self.double {
            self.forest::<f64>().map(drop)
        } else {
            self.forest::<f32>().map(drop)
        };
        result.map_err(|e| {
            let at = |tree: usize, node: usize| names.get(tree).and_then(|n| n.get(node)).copied();
            let place = match &e {
                TreeError::ChildOutOfRange { tree, node, .. }
                | TreeError::Cycle { tree, node }
                | TreeError::FeatureOutOfRange { tree, node, .. }
                | TreeError::TargetOutOfRange { tree, node, .. } => at(*tree, *node),
                _ => None,
            };
            match place {
                Some(name) => format_err!("{}: invalid tree ensemble at {name}: {e}", self.op),
                None => format_err!("{}: invalid tree ensemble: {e}", self.op),
            }
        })
    }
}

/// Narrows a tree's values to `T` (exact when they came from f32 attributes).
fn cast_tree<T: Value>(tree: &TreeSpec<f64>) -> TreeSpec<T> {
    use crate::tree::{Branch, LeafWeight, Split};
    let v = T::from_f64;
    let nodes = tree
        .nodes
        .iter()
        .map(|node| match node {
            TreeNode::Branch(b) => TreeNode::Branch(Branch {
                feature: b.feature,
                split: match &b.split {
                    Split::Compare(cmp, t) => Split::Compare(*cmp, v(*t)),
                    Split::Member(values) => Split::Member(values.iter().map(|x| v(*x)).collect()),
                    Split::Category(cats) => Split::Category(cats.clone()),
                },
                missing_goes_true: b.missing_goes_true,
                if_true: b.if_true,
                if_false: b.if_false,
            }),
            TreeNode::Leaf(ws) => TreeNode::Leaf(
                ws.iter()
                    .map(|w| LeafWeight {
                        target: w.target,
                        weight: v(w.weight),
                    })
                    .collect(),
            ),
        })
        .collect();
    TreeSpec {
        nodes,
        root: tree.root,
    }
}
