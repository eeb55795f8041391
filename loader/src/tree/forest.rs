//! [`Forest`]: the compiled, immutable form of a tree ensemble (shareable across threads).

use super::sets::MemberSet;
use super::value::Value;

/// Flag in [`Node::feature`]: the node tests set membership (set index in `value`).
pub(crate) const SET: u32 = 1 << 31;
/// Flag in [`Node::feature`]: a NaN feature value goes to `next[0]`.
pub(crate) const NAN_FIRST: u32 = 1 << 30;
/// Mask of the feature index in [`Node::feature`].
pub(crate) const FEATURE: u32 = NAN_FIRST - 1;

/// A compiled node: 12 bytes for `f32`, 16 for `f64`. A branch goes to slot `left` when
/// `x[feature] <= value` (or the set holds `x`), else to `left + 1`. Leaves (and the jump nodes of
/// shared subtrees) have a NaN value, so they always go to `left + 1`: themselves for a leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub(crate) struct Node<T> {
    pub(crate) value: T,
    pub(crate) feature: u32,
    pub(crate) left: u32,
}

/// A branch of a tree in complete layout: goes to `2i + 1` when `x[feature] <= value`, else to
/// `2i + 2` (a NaN value always goes to `2i + 2`: the padding below shallow leaves).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub(crate) struct FlatBranch<T> {
    pub(crate) value: T,
    pub(crate) feature: u32,
}

/// Where a tree's complete layout lives: `(1 << depth) - 1` branches from `branches` in
/// [`Forest::flat_branches`], then `1 << depth` leaf indices from `leaves` in
/// [`Forest::flat_leaves`]. Every walk takes exactly `depth` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Complete {
    pub(crate) depth: u32,
    pub(crate) branches: usize,
    pub(crate) leaves: usize,
}

/// A validated, compiled tree ensemble; build one with [`crate::tree::ForestBuilder`] and
/// evaluate it with [`Forest::aggregate`]. Immutable, so one forest serves concurrent requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest<T> {
    /// Every tree's nodes, each tree contiguous and depth first.
    pub(crate) nodes: Vec<Node<T>>,
    /// Slot of each tree's root.
    pub(crate) roots: Vec<u32>,
    /// Per tree, the shallowest and deepest leaf (steps from the root).
    pub(crate) depths: Vec<(u32, u32)>,
    /// Leaf index of each slot (`u32::MAX` for branches).
    pub(crate) leaf_of: Vec<u32>,
    /// Leaf `l` owns weights `leaf_start[l]..leaf_start[l + 1]`.
    pub(crate) leaf_start: Vec<u32>,
    pub(crate) leaf_targets: Vec<u32>,
    pub(crate) leaf_weights: Vec<T>,
    pub(crate) sets: Vec<MemberSet>,
    pub(crate) n_features: usize,
    pub(crate) n_targets: usize,
    /// Highest feature index a branch reads (`None` when every tree is a single leaf).
    pub(crate) max_feature: Option<usize>,
    pub(crate) has_sets: bool,
    pub(crate) has_nan_first: bool,
    /// Every leaf writes every target, so every output of a non-empty forest gets a score.
    pub(crate) covers_all_targets: bool,
    /// Every leaf has exactly one weight per target, in target order: leaf `l`'s weights are
    /// `leaf_weights[l * n_targets..][..n_targets]`.
    pub(crate) dense: bool,
    /// Per tree, its complete layout when it is shallow and has no set splits (walked instead of
    /// `nodes` where no row of a block needs NaN routing).
    pub(crate) complete: Vec<Option<Complete>>,
    pub(crate) flat_branches: Vec<FlatBranch<T>>,
    pub(crate) flat_leaves: Vec<u32>,
    /// Every root, and every slot any node can step to, is in `nodes` (verified by the builder):
    /// what lets [`Forest::aggregate`] walk without bounds checks.
    pub(crate) links_checked: bool,
    /// No node carries a flag in [`Node::feature`] (no set splits, no NaN routed by flag) and
    /// every node's `feature` is at most `max_feature` (verified by the builder): the walk may
    /// then read `feature` without masking the flags off.
    pub(crate) raw_features: bool,
    /// The QuickScorer layout (`quick.rs`), when turned on and every tree qualifies.
    pub(crate) quick: Option<Box<super::quick::Quick<T>>>,
}

impl<T: Value> Forest<T> {
    pub(crate) fn empty(n_features: usize, n_targets: usize) -> Self {
        Forest {
            nodes: Vec::new(),
            roots: Vec::new(),
            depths: Vec::new(),
            leaf_of: Vec::new(),
            leaf_start: vec![0],
            leaf_targets: Vec::new(),
            leaf_weights: Vec::new(),
            sets: Vec::new(),
            n_features,
            n_targets,
            max_feature: None,
            has_sets: false,
            has_nan_first: false,
            covers_all_targets: true,
            dense: true,
            complete: Vec::new(),
            flat_branches: Vec::new(),
            flat_leaves: Vec::new(),
            links_checked: false,
            raw_features: false,
            quick: None,
        }
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Number of outputs (targets or classes) per row.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// Number of features the forest was declared with.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Highest feature index any branch reads; inputs need more columns than this.
    pub fn max_feature(&self) -> Option<usize> {
        self.max_feature
    }

    /// Number of compiled nodes (branches, leaves and jumps reachable from the roots).
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Number of distinct leaves.
    pub fn n_leaves(&self) -> usize {
        self.leaf_start.len() - 1
    }
}
