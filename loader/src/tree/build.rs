//! [`ForestBuilder`]: validates node tables and compiles them into a [`Forest`].
//!
//! Compilation normalises every comparison to `x <= t` so the evaluator never matches on a mode:
//! `x < t` becomes `x <= below(t)` (exact for floats), `x > t` and `x >= t` swap the children,
//! `==`, `!=` and membership become set nodes. NaN routing that the normalised comparison does
//! not give for free is kept as a per-node flag. A branch's children sit in adjacent slots, so the
//! next slot is `left + !holds` with no second load; leaves are nodes that loop to themselves.

use super::error::TreeError;
use super::forest::{Complete, FlatBranch, Forest, Node, FEATURE, NAN_FIRST, SET};
use super::sets::MemberSet;
use super::spec::{Branch, Cmp, LeafWeight, Split, TreeNode, TreeSpec};
use super::value::Value;

/// Largest number of compiled nodes, leaves or sets (indices must fit the 32-bit layout).
const MAX_INDEX: usize = (u32::MAX >> 1) as usize;
/// Deepest tree given a complete layout (`2^depth` leaf slots).
const MAX_COMPLETE_DEPTH: u32 = 10;
/// A complete layout may have at most this many times the slots of the tree's own nodes (deep,
/// sparse trees keep their compact layout, which stays in cache).
const MAX_PADDING: usize = 24;

/// Largest number of outputs per row.
const MAX_TARGETS: usize = 1 << 20;

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
        if self.n_targets > MAX_TARGETS {
            return Err(TreeError::TooLarge {
                what: format!("{} targets", self.n_targets),
            });
        }
        let mut c = Compiler {
            forest: Forest::empty(self.n_features, self.n_targets),
            stamp: vec![u32::MAX; self.n_targets],
            covering_leaves: 0,
        };
        for (t, tree) in self.trees.iter().enumerate() {
            c.check(t, tree)?;
            c.lay_out(t, tree)?;
        }
        let n_leaves = c.forest.leaf_start.len() - 1;
        c.forest.covers_all_targets = c.covering_leaves == n_leaves;
        let mut forest = c.forest;
        forest.links_checked = forest.links_in_range();
        forest.raw_features = forest.max_feature.is_some_and(|m| {
            forest
                .nodes
                .iter()
                .all(|n| n.feature & !FEATURE == 0 && (n.feature as usize) <= m)
        });
        forest.complete = vec![None; forest.roots.len()];
        if complete_layouts_enabled() {
            forest.lay_out_complete();
        }
        if quick_layout_enabled() {
            forest.quick = super::quick::Quick::build(&forest).map(Box::new);
        }
        Ok(forest)
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

/// A branch before layout: its compiled test and its children in `[first, second]` order
/// (node-table indices).
struct Test<T> {
    value: T,
    feature: u32,
    children: [usize; 2],
}

impl<T: Value> Compiler<T> {
    /// Checks one tree: root, children and features in range, and no path looping (a node is
    /// Open while its subtree is explored, so reaching an Open node again is a loop).
    fn check(&self, tree: usize, spec: &TreeSpec<T>) -> Result<(), TreeError> {
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
        let mut visit = vec![Visit::New; n_nodes];
        let mut stack = vec![(spec.root, false)];
        while let Some((i, leaving)) = stack.pop() {
            if leaving {
                visit[i] = Visit::Done;
                continue;
            }
            match visit[i] {
                Visit::Open => return Err(TreeError::Cycle { tree, node: i }),
                Visit::Done => continue,
                Visit::New => visit[i] = Visit::Open,
            }
            stack.push((i, true));
            if let TreeNode::Branch(b) = &spec.nodes[i] {
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
                stack.push((b.if_false, false));
                stack.push((b.if_true, false));
            }
        }
        Ok(())
    }

    /// Lays a checked tree out: each branch's two children in adjacent slots, the first child's
    /// subtree right after, so the leftmost path is contiguous. A node reachable from several
    /// parents is laid out once; its other parents reach it through a jump node.
    fn lay_out(&mut self, tree: usize, spec: &TreeSpec<T>) -> Result<(), TreeError> {
        let first_slot = self.forest.nodes.len();
        let root = self.alloc(1)?;
        let mut placed: Vec<Option<u32>> = vec![None; spec.nodes.len()];
        placed[spec.root] = Some(root);
        let (mut min_depth, mut max_depth, mut jumps) = (u32::MAX, 0u32, false);
        let mut stack = vec![(spec.root, root, 0u32)];
        while let Some((i, slot, depth)) = stack.pop() {
            match &spec.nodes[i] {
                TreeNode::Leaf(weights) => {
                    let leaf = self.leaf(tree, i, weights)?;
                    self.forest.nodes[slot as usize] = jump(slot);
                    self.forest.leaf_of[slot as usize] = leaf;
                    min_depth = min_depth.min(depth);
                    max_depth = max_depth.max(depth);
                }
                TreeNode::Branch(b) => {
                    let test = self.branch(b)?;
                    let pair = self.alloc(2)?;
                    self.forest.nodes[slot as usize] = Node {
                        value: test.value,
                        feature: test.feature,
                        left: pair,
                    };
                    self.forest.max_feature = self.forest.max_feature.max(Some(b.feature));
                    for k in [1, 0] {
                        let (child, child_slot) = (test.children[k], pair + k as u32);
                        match placed[child] {
                            Some(target) => {
                                self.forest.nodes[child_slot as usize] = jump(target);
                                jumps = true;
                            }
                            None => {
                                placed[child] = Some(child_slot);
                                stack.push((child, child_slot, depth + 1));
                            }
                        }
                    }
                }
            }
        }
        if jumps {
            // Depths through jump nodes are not tracked: bound walks by the tree's size instead.
            min_depth = 0;
            max_depth = (self.forest.nodes.len() - first_slot) as u32;
        }
        self.forest.roots.push(root);
        self.forest.depths.push((min_depth, max_depth));
        Ok(())
    }

    /// Appends `n` placeholder slots and returns the first one's index.
    fn alloc(&mut self, n: usize) -> Result<u32, TreeError> {
        let at = self.forest.nodes.len();
        if at + n > MAX_INDEX {
            return Err(TreeError::TooLarge {
                what: format!("more than {MAX_INDEX} nodes"),
            });
        }
        self.forest.nodes.extend(std::iter::repeat_n(jump(0), n));
        self.forest.leaf_of.extend(std::iter::repeat_n(u32::MAX, n));
        Ok(at as u32)
    }

    /// Compiles a branch's test.
    fn branch(&mut self, b: &Branch<T>) -> Result<Test<T>, TreeError> {
        let (t, f) = (b.if_true, b.if_false);
        let mtt = b.missing_goes_true;
        let feature = b.feature as u32;
        // (threshold, swap children, NaN goes first); `x <= NaN` never holds.
        let numeric = |value: T, swap: bool, nan_first: bool| Test {
            value,
            feature: feature | if nan_first { NAN_FIRST } else { 0 },
            children: if swap { [f, t] } else { [t, f] },
        };
        let test = match &b.split {
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
            // `NaN != t` holds, so NaN always reaches the true child, which is second here.
            Split::Compare(Cmp::Neq, v) => {
                self.set(feature, MemberSet::exact(&[*v]), [f, t], false)?
            }
            Split::Member(values) => self.set(feature, MemberSet::exact(values), [t, f], mtt)?,
            Split::Category(cats) => self.set(feature, MemberSet::categories(cats), [t, f], mtt)?,
        };
        if test.feature & NAN_FIRST != 0 {
            self.forest.has_nan_first = true;
        }
        Ok(test)
    }

    fn set(
        &mut self,
        feature: u32,
        set: MemberSet,
        children: [usize; 2],
        nan_first: bool,
    ) -> Result<Test<T>, TreeError> {
        let id = self.forest.sets.len();
        if id >= MAX_INDEX {
            return Err(TreeError::TooLarge {
                what: format!("more than {MAX_INDEX} set splits"),
            });
        }
        self.forest.sets.push(set);
        self.forest.has_sets = true;
        let flags = SET | if nan_first { NAN_FIRST } else { 0 };
        Ok(Test {
            value: T::from_index(id as u32),
            feature: feature | flags,
            children,
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
        let in_order = weights.iter().enumerate().all(|(j, w)| w.target == j);
        f.dense &= weights.len() == f.n_targets && in_order;
        if distinct == f.n_targets {
            self.covering_leaves += 1;
        }
        f.leaf_start.push(f.leaf_weights.len() as u32);
        Ok(leaf as u32)
    }
}

/// A node that always moves to `target`: `x <= NaN` never holds, so the walk takes `left + 1`.
/// A leaf is a jump to itself.
fn jump<T: Value>(target: u32) -> Node<T> {
    Node {
        value: T::NAN,
        feature: 0,
        left: target.wrapping_sub(1),
    }
}

/// Lays tree `t` out complete ([`Complete`]) when it is shallow, has no set splits and the
/// padding stays bounded; appends to the forest's flat arrays and returns where it went.
///
/// Nodes that always go to `left + 1` when the feature is not NaN (jumps, and branches whose
/// normalised threshold is NaN) are skipped: the complete layout is only walked by rows without
/// NaN, or by forests whose NaN routing needs no per-node flag (a NaN then fails `x <= t` in both
/// layouts alike).
fn complete_layout<T: Value>(forest: &mut Forest<T>, t: usize) -> Option<Complete> {
    let root = *forest.roots.get(t)?;
    let (depth, n_nodes) = complete_depth(forest, root, MAX_COMPLETE_DEPTH)?;
    let slots = 1usize << depth;
    if slots > MAX_PADDING * n_nodes.max(1) {
        return None;
    }
    let at = Complete {
        depth,
        branches: forest.flat_branches.len(),
        leaves: forest.flat_leaves.len(),
    };
    let pad = FlatBranch {
        value: T::NAN,
        feature: 0,
    };
    forest
        .flat_branches
        .extend(std::iter::repeat_n(pad, slots - 1));
    forest.flat_leaves.extend(std::iter::repeat_n(0, slots));
    fill(forest, at, root, 0, 0);
    Some(at)
}

/// Follows nodes that always take `left + 1` for non-NaN features (see [`complete_layout`]).
fn resolve<T: Value>(forest: &Forest<T>, mut slot: u32) -> u32 {
    loop {
        let node = &forest.nodes[slot as usize];
        if forest.leaf_of[slot as usize] != u32::MAX || node.feature & SET != 0 || !node.value.nan()
        {
            return slot;
        }
        slot = node.left.wrapping_add(1);
    }
}

/// The depth (branch levels) and number of distinct branches of the tree under `slot` after
/// [`resolve`], or `None` when deeper than `budget` or holding a set split.
fn complete_depth<T: Value>(forest: &Forest<T>, slot: u32, budget: u32) -> Option<(u32, usize)> {
    let slot = resolve(forest, slot);
    if forest.leaf_of[slot as usize] != u32::MAX {
        return Some((0, 1));
    }
    let node = forest.nodes[slot as usize];
    if node.feature & SET != 0 || budget == 0 {
        return None;
    }
    let (a, na) = complete_depth(forest, node.left, budget - 1)?;
    let (b, nb) = complete_depth(forest, node.left.wrapping_add(1), budget - 1)?;
    Some((1 + a.max(b), 1 + na + nb))
}

/// Writes the subtree under compact `slot` at complete position `pos` on `level`.
fn fill<T: Value>(forest: &mut Forest<T>, at: Complete, slot: u32, pos: usize, level: u32) {
    let slot = resolve(forest, slot);
    let leaf = forest.leaf_of[slot as usize];
    if leaf != u32::MAX {
        // Padding branches (already NaN) always go right; every leaf slot below gets the leaf.
        let span = 1usize << (at.depth - level);
        let first = pos * span + (span - 1) - ((1usize << at.depth) - 1);
        forest.flat_leaves[at.leaves + first..at.leaves + first + span].fill(leaf);
        return;
    }
    let node = forest.nodes[slot as usize];
    forest.flat_branches[at.branches + pos] = FlatBranch {
        value: node.value,
        feature: node.feature & FEATURE,
    };
    fill(forest, at, node.left, 2 * pos + 1, level + 1);
    fill(
        forest,
        at,
        node.left.wrapping_add(1),
        2 * pos + 2,
        level + 1,
    );
}

impl<T: Value> Forest<T> {
    /// Whether every root, and every slot a node can step to, is a slot of `nodes`. A node steps
    /// to `left` or `left + 1` (wrapping); one whose value is NaN and that has neither flag (a
    /// leaf, a jump, a branch on a NaN threshold) only ever steps to `left + 1`.
    pub(crate) fn links_in_range(&self) -> bool {
        let n = self.nodes.len();
        let in_range = |slot: u32| (slot as usize) < n;
        self.roots.iter().all(|&r| in_range(r))
            && self.nodes.iter().all(|node| {
                let second = in_range(node.left.wrapping_add(1));
                let only_second = node.value.nan() && node.feature & (SET | NAN_FIRST) == 0;
                second && (only_second || in_range(node.left))
            })
    }

    /// Gives every qualifying tree a complete layout ([`complete_layout`]).
    pub(crate) fn lay_out_complete(&mut self) {
        self.complete = (0..self.roots.len())
            .map(|t| complete_layout(self, t))
            .collect();
    }
}

/// `IRONFLOW_TREE_LAYOUT=complete` turns complete layouts on. They are off by default: on this
/// machine's CPU (2-core EPYC, no SIMD gather in the baseline x86-64 target) they measured
/// 3-15% more CPU time than the compact lockstep walk, on complete synthetic trees and on the
/// corpus' skl2onnx forest alike (`perf stat -e task-clock` over the `tree_speed` and
/// `corpus_speed` tests, which run fixed repetitions).
fn complete_layouts_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED
        .get_or_init(|| std::env::var("IRONFLOW_TREE_LAYOUT").is_ok_and(|v| v.trim() == "complete"))
}

/// `IRONFLOW_TREE_LAYOUT=quickscorer` gives forests whose trees have at most 64 leaves the
/// QuickScorer layout (`quick.rs`); off by default until it measures faster than the walk.
fn quick_layout_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var("IRONFLOW_TREE_LAYOUT").is_ok_and(|v| v.trim() == "quickscorer")
    })
}
