//! [`ForestBuilder`]: validates node tables and compiles them into a [`Forest`].
//!
//! Compilation normalises every comparison to `x <= t` so the evaluator never matches on a mode:
//! `x < t` becomes `x <= below(t)` (exact for floats), `x > t` and `x >= t` swap the children,
//! `==`, `!=` and membership become set nodes. NaN routing that the normalised comparison does
//! not give for free is kept as a per-node flag. Nodes are laid out depth first, the child taken
//! when the comparison holds right after its parent; leaves are nodes that loop to themselves.

use super::error::TreeError;
use super::forest::{Forest, Node, FEATURE, NAN_FIRST, SET};
use super::sets::MemberSet;
use super::spec::{Branch, Cmp, LeafWeight, Split, TreeNode, TreeSpec};
use super::value::Value;

/// Largest number of compiled nodes, leaves or sets (indices must fit the 32-bit layout).
const MAX_INDEX: usize = (u32::MAX >> 1) as usize;

/// Collects trees, then validates and compiles them with [`ForestBuilder::build`].
#[derive(Debug, Clone)]
pub struct ForestBuilder<T> {
    n_features: usize,
    n_targets: usize,
    trees: Vec<TreeSpec<T>>,
}

impl<T: Value> ForestBuilder<T> {
    /// A builder for a forest reading `n_features` input columns and writing `n_targets` outputs.
    pub fn new(n_features: usize, n_targets: usize) -> Self {
        ForestBuilder {
            n_features,
            n_targets,
            trees: Vec::new(),
        }
    }

    /// Appends a tree; trees are evaluated (and their leaves accumulated) in this order.
    pub fn push(&mut self, tree: TreeSpec<T>) -> &mut Self {
        self.trees.push(tree);
        self
    }

    /// Validates every tree (child, feature and target indices in range, no loops, every path
    /// ending in a leaf) and compiles the forest. The error names the tree and node at fault.
    pub fn build(self) -> Result<Forest<T>, TreeError> {
        if self.n_features > FEATURE as usize {
            return Err(TreeError::TooLarge {
                what: format!("{} features", self.n_features),
            });
        }
        let mut c = Compiler {
            forest: Forest::empty(self.n_features, self.n_targets),
            stamp: vec![u32::MAX; self.n_targets],
            covering_leaves: 0,
        };
        for (t, tree) in self.trees.iter().enumerate() {
            let root = c.lay_out(t, tree)?;
            c.forest.roots.push(root);
        }
        let n_leaves = c.forest.leaf_start.len() - 1;
        c.forest.covers_all_targets = c.covering_leaves == n_leaves;
        Ok(c.forest)
    }
}

struct Compiler<T> {
    forest: Forest<T>,
    /// `stamp[target] == leaf` when the leaf being compiled already wrote `target`.
    stamp: Vec<u32>,
    /// Leaves writing every target.
    covering_leaves: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    New,
    Open,
    Done,
}

impl<T: Value> Compiler<T> {
    /// Lays one tree out depth first and returns its root's compiled index.
    fn lay_out(&mut self, tree: usize, spec: &TreeSpec<T>) -> Result<u32, TreeError> {
        let n_nodes = spec.nodes.len();
        if n_nodes == 0 {
            return Err(TreeError::EmptyTree { tree });
        }
        if spec.root >= n_nodes {
            return Err(TreeError::RootOutOfRange {
                tree,
                root: spec.root,
                n_nodes,
            });
        }
        let mut compiled = vec![0u32; n_nodes];
        let mut visit = vec![Visit::New; n_nodes];
        let mut branches = Vec::new();
        // (node, leaving): a node is Open while its subtree is being laid out, so reaching an
        // Open node again means the path looped.
        let mut stack = vec![(spec.root, false)];
        while let Some((i, leaving)) = stack.pop() {
            if leaving {
                visit[i] = Visit::Done;
                continue;
            }
            match visit[i] {
                Visit::Open => return Err(TreeError::Cycle { tree, node: i }),
                Visit::Done => continue,
                Visit::New => {}
            }
            visit[i] = Visit::Open;
            let index = self.forest.nodes.len();
            if index >= MAX_INDEX {
                return Err(TreeError::TooLarge {
                    what: format!("more than {MAX_INDEX} nodes"),
                });
            }
            compiled[i] = index as u32;
            stack.push((i, true));
            match &spec.nodes[i] {
                TreeNode::Branch(b) => {
                    for (side, child) in [("true", b.if_true), ("false", b.if_false)] {
                        if child >= n_nodes {
                            return Err(TreeError::ChildOutOfRange {
                                tree,
                                node: i,
                                side,
                                child,
                                n_nodes,
                            });
                        }
                    }
                    if b.feature >= self.forest.n_features {
                        return Err(TreeError::FeatureOutOfRange {
                            tree,
                            node: i,
                            feature: b.feature,
                            n_features: self.forest.n_features,
                        });
                    }
                    let node = self.branch(b)?;
                    // The child taken when `x <= t` holds is laid out right after its parent.
                    stack.push((node.next[1] as usize, false));
                    stack.push((node.next[0] as usize, false));
                    self.forest.nodes.push(node);
                    branches.push(index);
                    self.forest.max_feature = self.forest.max_feature.max(Some(b.feature));
                }
                TreeNode::Leaf(weights) => {
                    let leaf = self.leaf(tree, i, weights)?;
                    let node = Node {
                        value: T::from_index(leaf),
                        feature: 0,
                        next: [index as u32; 2],
                    };
                    self.forest.nodes.push(node);
                }
            }
        }
        // Branches were pushed with their children's table indices: switch to compiled ones.
        for b in branches {
            let node = &mut self.forest.nodes[b];
            node.next = [
                compiled[node.next[0] as usize],
                compiled[node.next[1] as usize],
            ];
        }
        Ok(compiled[spec.root])
    }

    /// Compiles a branch; `next` still holds node-table indices (remapped by the caller).
    fn branch(&mut self, b: &Branch<T>) -> Result<Node<T>, TreeError> {
        let (t, f) = (b.if_true as u32, b.if_false as u32);
        let mtt = b.missing_goes_true;
        let feature = b.feature as u32;
        // (threshold, swap children, NaN goes to next[0]); `x <= NaN` never holds.
        let numeric = |value: T, swap: bool, nan_first: bool| Node {
            value,
            feature: feature | if nan_first { NAN_FIRST } else { 0 },
            next: if swap { [f, t] } else { [t, f] },
        };
        let node = match &b.split {
            Split::Compare(Cmp::Leq, v) => numeric(*v, false, mtt),
            Split::Compare(Cmp::Lt, v) if *v == T::NEG_INFINITY => numeric(T::NAN, false, mtt),
            Split::Compare(Cmp::Lt, v) => numeric(v.below(), false, mtt),
            Split::Compare(Cmp::Gt | Cmp::Gte, v) if v.nan() => numeric(T::NAN, false, mtt),
            Split::Compare(Cmp::Gt, v) => numeric(*v, true, !mtt),
            Split::Compare(Cmp::Gte, v) if *v == T::NEG_INFINITY => {
                numeric(T::INFINITY, false, mtt)
            }
            Split::Compare(Cmp::Gte, v) => numeric(v.below(), true, !mtt),
            Split::Compare(Cmp::Eq, v) => {
                self.set(feature, MemberSet::exact(&[*v]), [t, f], mtt)?
            }
            // `NaN != t` holds, so NaN always reaches the true child, which is next[1] here.
            Split::Compare(Cmp::Neq, v) => {
                self.set(feature, MemberSet::exact(&[*v]), [f, t], false)?
            }
            Split::Member(values) => self.set(feature, MemberSet::exact(values), [t, f], mtt)?,
            Split::Category(cats) => self.set(feature, MemberSet::categories(cats), [t, f], mtt)?,
        };
        if node.feature & NAN_FIRST != 0 {
            self.forest.has_nan_first = true;
        }
        Ok(node)
    }

    fn set(
        &mut self,
        feature: u32,
        set: MemberSet,
        next: [u32; 2],
        nan_first: bool,
    ) -> Result<Node<T>, TreeError> {
        let id = self.forest.sets.len();
        if id >= MAX_INDEX {
            return Err(TreeError::TooLarge {
                what: format!("more than {MAX_INDEX} set splits"),
            });
        }
        self.forest.sets.push(set);
        self.forest.has_sets = true;
        let flags = SET | if nan_first { NAN_FIRST } else { 0 };
        Ok(Node {
            value: T::from_index(id as u32),
            feature: feature | flags,
            next,
        })
    }

    /// Stores a leaf's weights and returns its leaf index.
    fn leaf(
        &mut self,
        tree: usize,
        node: usize,
        weights: &[LeafWeight<T>],
    ) -> Result<u32, TreeError> {
        let f = &mut self.forest;
        let leaf = f.leaf_start.len() - 1;
        if leaf >= MAX_INDEX || f.leaf_weights.len() + weights.len() >= MAX_INDEX {
            return Err(TreeError::TooLarge {
                what: format!("more than {MAX_INDEX} leaves or leaf weights"),
            });
        }
        let mut distinct = 0;
        for w in weights {
            if w.target >= f.n_targets {
                return Err(TreeError::TargetOutOfRange {
                    tree,
                    node,
                    target: w.target,
                    n_targets: f.n_targets,
                });
            }
            if self.stamp[w.target] != leaf as u32 {
                self.stamp[w.target] = leaf as u32;
                distinct += 1;
            }
            f.leaf_targets.push(w.target as u32);
            f.leaf_weights.push(w.weight);
        }
        if distinct == f.n_targets {
            self.covering_leaves += 1;
        }
        f.leaf_start.push(f.leaf_weights.len() as u32);
        Ok(leaf as u32)
    }
}
