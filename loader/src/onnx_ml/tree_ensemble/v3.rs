//! Builders for `TreeEnsembleClassifier` and `TreeEnsembleRegressor` (ai.onnx.ml opsets 1-3):
//! nodes addressed by `(nodes_treeids, nodes_nodeids)`, leaf weights in `class_*`/`target_*`.
//!
//! Decoding follows onnxruntime's `TreeEnsembleCommon::Init`: a new tree starts wherever
//! `nodes_treeids` changes, its root being that first node; weights attached to non-leaf nodes
//! are ignored (old onnxmltools exports); a leaf without weight is an error; with a single
//! target or class, only each leaf's first weight counts (onnxruntime's one-output path).

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::super::labels::ClassLabels;
use super::super::PostTransform;
use super::attrs::{floats_or_doubles, indices, ints};
use super::finalize::Output;
use super::op::TreeEnsembleExpansion;
use super::{Ensemble, NodeName};
use crate::tree::{Aggregate, Branch, Cmp, LeafWeight, Split, TreeNode, TreeSpec};

type Built = TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// `TreeEnsembleClassifier`: outputs `(label [N], scores [N, classes])`.
pub fn classifier(ctx: &ParsingContext, node: &NodeProto) -> Built {
    let labels = ClassLabels::parse(node, "classlabels_int64s")?;
    let n_classes = labels.len();
    let leaves = LeafTable::read(ctx, node, "class")?;
    // onnxruntime: `binary_case_ = n_classes == 2 && weights_classes.size() == 1`.
    let mut ids = leaves.ids.clone();
    ids.sort_unstable();
    ids.dedup();
    let binary_case = n_classes == 2 && ids.len() == 1;
    let all_positive = !leaves.weights.iter().any(|w| *w < 0.0);
    let (base_values, base_double) = floats_or_doubles(ctx, node, "base_values")?;
    let post = post_transform(node)?;
    let output = Output::Classifier {
        labels,
        base_values,
        post,
        binary_case,
        all_positive,
    };
    let head = Head {
        op: "TreeEnsembleClassifier",
        n_targets: n_classes,
        aggregate: Aggregate::Sum,
        output,
        base_double,
    };
    build(ctx, node, head, leaves)
}

/// `TreeEnsembleRegressor`: outputs `Y [N, n_targets]` (f32).
pub fn regressor(ctx: &ParsingContext, node: &NodeProto) -> Built {
    let n_targets = node.get_attr_opt::<i64>("n_targets")?.unwrap_or(0);
    if n_targets <= 0 {
        bail!("TreeEnsembleRegressor: n_targets must be positive, got {n_targets}");
    }
    let aggregate = match node
        .get_attr_opt::<String>("aggregate_function")?
        .as_deref()
        .unwrap_or("SUM")
    {
        "SUM" => Aggregate::Sum,
        "AVERAGE" => Aggregate::Average,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        other => bail!("TreeEnsembleRegressor: unknown aggregate_function {other:?}"),
    };
    let leaves = LeafTable::read(ctx, node, "target")?;
    let (base_values, base_double) = floats_or_doubles(ctx, node, "base_values")?;
    let post = post_transform(node)?;
    let output = Output::Regressor {
        base_values,
        post,
        same_type_as_input: false,
    };
    let head = Head {
        op: "TreeEnsembleRegressor",
        n_targets: n_targets as usize,
        aggregate,
        output,
        base_double,
    };
    build(ctx, node, head, leaves)
}

fn post_transform(node: &NodeProto) -> TractResult<PostTransform> {
    PostTransform::parse(
        node.get_attr_opt::<String>("post_transform")?
            .as_deref()
            .unwrap_or("NONE"),
    )
}

/// The `class_*` or `target_*` attributes.
struct LeafTable {
    prefix: &'static str,
    tree_ids: Vec<i64>,
    node_ids: Vec<i64>,
    ids: Vec<usize>,
    weights: Vec<f64>,
    double: bool,
}

impl LeafTable {
    fn read(ctx: &ParsingContext, node: &NodeProto, prefix: &'static str) -> TractResult<Self> {
        let tree_ids = ints(node, &format!("{prefix}_treeids"))?;
        let node_ids = ints(node, &format!("{prefix}_nodeids"))?;
        let ids = indices(node, &format!("{prefix}_ids"))?;
        let (weights, double) = floats_or_doubles(ctx, node, &format!("{prefix}_weights"))?;
        let n = ids.len();
        if tree_ids.len() != n || node_ids.len() != n || weights.len() != n {
            bail!(
                "{}: {prefix}_ids, {prefix}_treeids, {prefix}_nodeids and {prefix}_weights must have the same length \
                 (got {n}, {}, {} and {})",
                node.op_type,
                tree_ids.len(),
                node_ids.len(),
                weights.len()
            );
        }
        Ok(LeafTable {
            prefix,
            tree_ids,
            node_ids,
            ids,
            weights,
            double,
        })
    }
}

/// What the classifier and regressor builders settle before decoding the trees.
struct Head {
    op: &'static str,
    n_targets: usize,
    aggregate: Aggregate,
    output: Output,
    /// `base_values_as_tensor` holds doubles.
    base_double: bool,
}

/// Decodes the `nodes_*` attributes and the leaf table into trees.
fn build(ctx: &ParsingContext, node: &NodeProto, head: Head, leaves: LeafTable) -> Built {
    let Head {
        op,
        n_targets,
        aggregate,
        output,
        base_double,
    } = head;
    let tree_ids = ints(node, "nodes_treeids")?;
    let node_ids = ints(node, "nodes_nodeids")?;
    let features = ints(node, "nodes_featureids")?;
    let true_ids = ints(node, "nodes_truenodeids")?;
    let false_ids = ints(node, "nodes_falsenodeids")?;
    let modes: Vec<String> = node.get_attr_opt_vec("nodes_modes")?.unwrap_or_default();
    let (values, values_double) = floats_or_doubles(ctx, node, "nodes_values")?;
    let missing = ints(node, "nodes_missing_value_tracks_true")?;
    let n = tree_ids.len();
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", features.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_modes", modes.len()),
        ("nodes_values", values.len()),
    ] {
        if len != n {
            bail!("{op}: {name} has {len} entries but nodes_treeids has {n}");
        }
    }

    // (tree id, node id) -> position in the nodes_* attributes.
    let mut position = HashMap::with_capacity(n);
    for i in 0..n {
        if position.insert((tree_ids[i], node_ids[i]), i).is_some() {
            bail!(
                "{op}: node {} of tree {} is defined twice",
                node_ids[i],
                tree_ids[i]
            );
        }
    }
    let mut kinds = Vec::with_capacity(n);
    for (i, mode) in modes.iter().enumerate() {
        kinds.push(match mode.as_str() {
            "LEAF" => None,
            "BRANCH_LEQ" => Some(Cmp::Leq),
            "BRANCH_LT" => Some(Cmp::Lt),
            "BRANCH_GTE" => Some(Cmp::Gte),
            "BRANCH_GT" => Some(Cmp::Gt),
            "BRANCH_EQ" => Some(Cmp::Eq),
            "BRANCH_NEQ" => Some(Cmp::Neq),
            other => bail!(
                "{op}: node {} of tree {} has unknown mode {other:?}",
                node_ids[i],
                tree_ids[i]
            ),
        });
    }

    // Leaf weights, in attribute order within each leaf.
    let mut weights: Vec<Vec<LeafWeight<f64>>> = vec![Vec::new(); n];
    let p = leaves.prefix;
    for j in 0..leaves.ids.len() {
        let key = (leaves.tree_ids[j], leaves.node_ids[j]);
        let Some(&i) = position.get(&key) else {
            bail!(
                "{op}: {p}_nodeids[{j}] refers to node {} of tree {}, which does not exist",
                key.1,
                key.0
            );
        };
        if kinds[i].is_some() {
            continue; // onnxruntime ignores weights on branches
        }
        if leaves.ids[j] >= n_targets {
            bail!(
                "{op}: {p}_ids[{j}] is {} but there are {n_targets} outputs",
                leaves.ids[j]
            );
        }
        weights[i].push(LeafWeight {
            target: leaves.ids[j],
            weight: leaves.weights[j],
        });
    }

    // Each tree's node table: its nodes in attribute order, children by local index.
    let mut members: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut local = vec![0usize; n];
    for i in 0..n {
        let list = members.entry(tree_ids[i]).or_default();
        local[i] = list.len();
        list.push(i);
    }
    let child = |i: usize, id: i64, side: &str| -> TractResult<usize> {
        match position.get(&(tree_ids[i], id)) {
            Some(&c) => Ok(local[c]),
            None => bail!(
                "{op}: node {} of tree {} has {side} child {id}, which is not a node of that tree",
                node_ids[i],
                tree_ids[i]
            ),
        }
    };
    let feature = |i: usize| match usize::try_from(features[i]) {
        Ok(f) => Ok(f),
        Err(_) => bail!(
            "{op}: node {} of tree {} has a negative feature id",
            node_ids[i],
            tree_ids[i]
        ),
    };
    let mut tables: HashMap<i64, (Vec<TreeNode<f64>>, Vec<NodeName>)> = HashMap::new();
    for (&tree, list) in &members {
        let mut nodes = Vec::with_capacity(list.len());
        for &i in list {
            nodes.push(match kinds[i] {
                Some(cmp) => TreeNode::Branch(Branch {
                    feature: feature(i)?,
                    split: Split::Compare(cmp, values[i]),
                    missing_goes_true: missing.get(i) == Some(&1),
                    if_true: child(i, true_ids[i], "true")?,
                    if_false: child(i, false_ids[i], "false")?,
                }),
                None => {
                    let mut ws = std::mem::take(&mut weights[i]);
                    if ws.is_empty() {
                        bail!(
                            "{op}: leaf node {} of tree {} has no weight",
                            node_ids[i],
                            tree_ids[i]
                        );
                    }
                    if n_targets == 1 {
                        // onnxruntime's one-output aggregators read only the leaf's first weight.
                        ws.truncate(1);
                        ws[0].target = 0;
                    }
                    TreeNode::Leaf(ws)
                }
            });
        }
        let names = list
            .iter()
            .map(|&i| NodeName::Id {
                tree: tree_ids[i],
                node: node_ids[i],
            })
            .collect();
        tables.insert(tree, (nodes, names));
    }

    // A tree per run of equal nodes_treeids, rooted at the run's first node.
    let runs: Vec<usize> = (0..n)
        .filter(|&i| i == 0 || tree_ids[i] != tree_ids[i - 1])
        .collect();
    let mut remaining: HashMap<i64, usize> = HashMap::new();
    runs.iter()
        .for_each(|&i| *remaining.entry(tree_ids[i]).or_default() += 1);
    let mut trees = Vec::with_capacity(runs.len());
    let mut names = Vec::with_capacity(runs.len());
    for i in runs {
        let tree = tree_ids[i];
        let left = remaining.entry(tree).or_default();
        *left -= 1;
        // The last run of a tree id takes its table, earlier ones (rare) copy it.
        let table = if *left == 0 {
            tables.remove(&tree)
        } else {
            tables.get(&tree).cloned()
        };
        if let Some((nodes, n)) = table {
            trees.push(TreeSpec {
                nodes,
                root: local[i],
            });
            names.push(n);
        }
    }
    let mut n_features = 0;
    for i in (0..n).filter(|&i| kinds[i].is_some()) {
        n_features = n_features.max(feature(i)? + 1);
    }
    let ensemble = Ensemble {
        op,
        trees,
        n_features,
        n_targets,
        double: values_double || leaves.double || base_double,
        aggregate,
        output,
    };
    ensemble.validate(&names)?;
    Ok((expand(TreeEnsembleExpansion::new(ensemble)), vec![]))
}
