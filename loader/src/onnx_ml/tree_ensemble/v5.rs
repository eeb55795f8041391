//! Builder for `TreeEnsemble` (ai.onnx.ml opset 5): interior nodes in `nodes_*` (modes as a
//! UINT8 tensor, `BRANCH_MEMBER` sets in `membership_values` separated by NaN), leaves in
//! `leaf_*`, one tree per `tree_roots` entry. The output has the input's type.
//!
//! A tree that is a single leaf is a root whose true and false branches are the same leaf
//! (ONNX spec); its leaf is that `nodes_truenodeids` entry.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::super::PostTransform;
use super::attrs::{indices, ints, tensor, tensor_u8};
use super::finalize::Output;
use super::op::TreeEnsembleExpansion;
use super::{Ensemble, NodeName};
use crate::tree::{Aggregate, Branch, Cmp, LeafWeight, Split, TreeNode, TreeSpec};

const OP: &str = "TreeEnsemble";

/// `TreeEnsemble`: outputs `Y [N, n_targets]` of the input's type.
pub fn tree_ensemble(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let floats = [DataType::Float, DataType::Double];
    let Some((splits, split_dt)) = tensor(ctx, node, "nodes_splits", &floats)? else {
        bail!("{OP}: attribute nodes_splits is required");
    };
    let Some(modes) = tensor_u8(ctx, node, "nodes_modes")? else {
        bail!("{OP}: attribute nodes_modes is required");
    };
    let Some((leaf_weights, weight_dt)) = tensor(ctx, node, "leaf_weights", &floats)? else {
        bail!("{OP}: attribute leaf_weights is required");
    };
    let membership = tensor(ctx, node, "membership_values", &floats)?
        .map(|(v, _)| v)
        .unwrap_or_default();
    let t = Table {
        features: indices(node, "nodes_featureids")?,
        splits,
        modes,
        true_ids: indices(node, "nodes_truenodeids")?,
        false_ids: indices(node, "nodes_falsenodeids")?,
        true_leafs: ints(node, "nodes_trueleafs")?,
        false_leafs: ints(node, "nodes_falseleafs")?,
        missing: ints(node, "nodes_missing_value_tracks_true")?,
        leaf_targets: indices(node, "leaf_targetids")?,
        leaf_weights,
        sets: Vec::new(),
    };
    let n_targets = node.get_attr_opt::<i64>("n_targets")?.unwrap_or(0);
    if n_targets <= 0 {
        bail!("{OP}: n_targets must be positive, got {n_targets}");
    }
    let post = match node.get_attr_opt::<i64>("post_transform")?.unwrap_or(0) {
        0 => PostTransform::None,
        1 => PostTransform::Softmax,
        2 => PostTransform::Logistic,
        3 => PostTransform::SoftmaxZero,
        4 => PostTransform::Probit,
        other => bail!("{OP}: unknown post_transform {other}"),
    };
    let aggregate = match node.get_attr_opt::<i64>("aggregate_function")?.unwrap_or(1) {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        other => bail!("{OP}: unknown aggregate_function {other}"),
    };
    let mut t = t;
    t.check_lengths()?;
    t.sets = member_sets(&t.modes, &membership);
    let n_targets = n_targets as usize;
    let mut trees = Vec::new();
    let mut names = Vec::new();
    let mut n_features = 0;
    for (k, &root) in indices(node, "tree_roots")?.iter().enumerate() {
        let (tree, tree_names) = t.tree(k, root, n_targets, &mut n_features)?;
        trees.push(tree);
        names.push(tree_names);
    }
    let ensemble = Ensemble {
        op: OP,
        trees,
        n_features,
        n_targets,
        double: split_dt == DatumType::F64 || weight_dt == DatumType::F64,
        aggregate,
        output: Output::Regressor {
            base_values: vec![],
            post,
            same_type_as_input: true,
        },
    };
    ensemble.validate(&names)?;
    Ok((expand(TreeEnsembleExpansion::new(ensemble)), vec![]))
}

/// The members of each `BRANCH_MEMBER` node, in `nodes_modes` order, each list ended by NaN.
fn member_sets(modes: &[u8], membership: &[f64]) -> Vec<Vec<f64>> {
    let mut values = membership.iter();
    modes
        .iter()
        .map(|&m| {
            if m == 6 {
                values
                    .by_ref()
                    .take_while(|v| !v.is_nan())
                    .copied()
                    .collect()
            } else {
                vec![]
            }
        })
        .collect()
}

/// The decoded attributes.
struct Table {
    features: Vec<usize>,
    splits: Vec<f64>,
    modes: Vec<u8>,
    true_ids: Vec<usize>,
    false_ids: Vec<usize>,
    true_leafs: Vec<i64>,
    false_leafs: Vec<i64>,
    missing: Vec<i64>,
    leaf_targets: Vec<usize>,
    leaf_weights: Vec<f64>,
    /// Members per node (empty unless the node is `BRANCH_MEMBER`).
    sets: Vec<Vec<f64>>,
}

/// A node reference: interior node or leaf, by attribute index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ref {
    Interior(usize),
    Leaf(usize),
}

impl Table {
    fn check_lengths(&self) -> TractResult<()> {
        let n = self.splits.len();
        for (name, len) in [
            ("nodes_featureids", self.features.len()),
            ("nodes_modes", self.modes.len()),
            ("nodes_truenodeids", self.true_ids.len()),
            ("nodes_falsenodeids", self.false_ids.len()),
            ("nodes_trueleafs", self.true_leafs.len()),
            ("nodes_falseleafs", self.false_leafs.len()),
        ] {
            if len != n {
                bail!("{OP}: {name} has {len} entries but nodes_splits has {n}");
            }
        }
        if !self.missing.is_empty() && self.missing.len() != n {
            bail!(
                "{OP}: nodes_missing_value_tracks_true has {} entries, not {n}",
                self.missing.len()
            );
        }
        if self.leaf_targets.len() != self.leaf_weights.len() {
            bail!(
                "{OP}: leaf_targetids has {} entries but leaf_weights has {}",
                self.leaf_targets.len(),
                self.leaf_weights.len()
            );
        }
        if let Some(i) = self.modes.iter().position(|&m| m > 6) {
            bail!(
                "{OP}: nodes_modes[{i}] is {}, not a mode (0-6)",
                self.modes[i]
            );
        }
        Ok(())
    }

    /// Collects the nodes reachable from tree `k`'s root into a node table of their own.
    fn tree(
        &self,
        k: usize,
        root: usize,
        n_targets: usize,
        n_features: &mut usize,
    ) -> TractResult<(TreeSpec<f64>, Vec<NodeName>)> {
        let n = self.splits.len();
        if root >= n {
            bail!("{OP}: tree_roots[{k}] is {root} but there are {n} nodes");
        }
        let single_leaf = self.true_leafs[root] != 0
            && self.false_leafs[root] != 0
            && self.true_ids[root] == self.false_ids[root];
        let root = if single_leaf {
            Ref::Leaf(self.true_ids[root])
        } else {
            Ref::Interior(root)
        };
        let mut local: HashMap<Ref, usize> = HashMap::new();
        let mut order = vec![root];
        local.insert(root, 0);
        let mut nodes = Vec::new();
        let mut next = 0;
        while next < order.len() {
            let r = order[next];
            next += 1;
            nodes.push(match r {
                Ref::Leaf(l) => {
                    let (Some(&target), Some(&weight)) =
                        (self.leaf_targets.get(l), self.leaf_weights.get(l))
                    else {
                        bail!(
                            "{OP}: tree {k} reaches leaf {l} but there are {} leaves",
                            self.leaf_weights.len()
                        );
                    };
                    // A single target: onnxruntime's one-output path ignores the target id.
                    let target = if n_targets == 1 { 0 } else { target };
                    if target >= n_targets {
                        bail!("{OP}: leaf_targetids[{l}] is {target} but n_targets is {n_targets}");
                    }
                    TreeNode::Leaf(vec![LeafWeight { target, weight }])
                }
                Ref::Interior(i) => {
                    let mut child = |id: usize, leaf: i64| {
                        let c = if leaf != 0 {
                            Ref::Leaf(id)
                        } else {
                            Ref::Interior(id)
                        };
                        if let Ref::Interior(c) = c {
                            if c >= n {
                                bail!(
                                    "{OP}: nodes_*[{i}] points to node {c} but there are {n} nodes"
                                );
                            }
                        }
                        let len = local.len();
                        Ok(*local.entry(c).or_insert_with(|| {
                            order.push(c);
                            len
                        }))
                    };
                    let if_true = child(self.true_ids[i], self.true_leafs[i])?;
                    let if_false = child(self.false_ids[i], self.false_leafs[i])?;
                    let split = match self.modes[i] {
                        0 => Split::Compare(Cmp::Leq, self.splits[i]),
                        1 => Split::Compare(Cmp::Lt, self.splits[i]),
                        2 => Split::Compare(Cmp::Gte, self.splits[i]),
                        3 => Split::Compare(Cmp::Gt, self.splits[i]),
                        4 => Split::Compare(Cmp::Eq, self.splits[i]),
                        5 => Split::Compare(Cmp::Neq, self.splits[i]),
                        _ => Split::Member(self.sets[i].clone()),
                    };
                    *n_features = (*n_features).max(self.features[i] + 1);
                    TreeNode::Branch(Branch {
                        feature: self.features[i],
                        split,
                        missing_goes_true: self.missing.get(i) == Some(&1),
                        if_true,
                        if_false,
                    })
                }
            });
        }
        let names = order
            .iter()
            .map(|r| match r {
                Ref::Interior(i) => NodeName::Interior(*i),
                Ref::Leaf(l) => NodeName::Leaf(*l),
            })
            .collect();
        Ok((TreeSpec { nodes, root: 0 }, names))
    }
}
