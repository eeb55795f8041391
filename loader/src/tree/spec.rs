//! The node tables a flavor hands to [`crate::tree::ForestBuilder`]: one [`TreeSpec`] per tree,
//! nodes addressed by their index in the tree's own table, as sklearn, XGBoost, LightGBM and
//! ONNX-ML all store them.

/// How a branch compares its feature value `x` with its threshold `t`; the branch goes to its
/// true child when the comparison holds (ONNX-ML `BRANCH_*` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `x <= t` (sklearn, LightGBM numerical splits).
    Leq,
    /// `x < t` (XGBoost).
    Lt,
    /// `x >= t`.
    Gte,
    /// `x > t`.
    Gt,
    /// `x == t`.
    Eq,
    /// `x != t` (holds for NaN `x`, as in IEEE and onnxruntime).
    Neq,
}

/// The test a branch applies to its feature value `x`.
#[derive(Debug, Clone, PartialEq)]
pub enum Split<T> {
    /// `x <cmp> t`.
    Compare(Cmp, T),
    /// `x` equals one of the values (ONNX-ML `BRANCH_MEMBER`). NaN is never a member.
    Member(Vec<T>),
    /// `x` truncated toward zero is one of these non-negative integer categories (LightGBM and
    /// XGBoost categorical splits). Negative, infinite and NaN values are never members.
    Category(Vec<u32>),
}

/// An interior node.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch<T> {
    /// Index of the feature (input column) tested.
    pub feature: usize,
    /// The test.
    pub split: Split<T>,
    /// Where a NaN feature value goes when the split itself does not decide: `true` sends it to
    /// the true child (ONNX `nodes_missing_value_tracks_true`, XGBoost/LightGBM default-left
    /// with the left child as true child). `Cmp::Neq` already holds for NaN.
    pub missing_goes_true: bool,
    /// Index (in the same tree's node table) of the node taken when the split holds.
    pub if_true: usize,
    /// Index of the node taken otherwise.
    pub if_false: usize,
}

/// One contribution of a leaf: `weight` is added to (or min/max-ed into) output `target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeafWeight<T> {
    /// Output column (regression target or class index).
    pub target: usize,
    /// The contribution.
    pub weight: T,
}

/// A node of a [`TreeSpec`].
#[derive(Debug, Clone, PartialEq)]
pub enum TreeNode<T> {
    /// An interior node.
    Branch(Branch<T>),
    /// A leaf with zero or more weights (one per target for dense leaves, one for a boosted tree
    /// of a multiclass model, ...).
    Leaf(Vec<LeafWeight<T>>),
}

impl<T> TreeNode<T> {
    /// A leaf contributing `weight` to target 0 (single-output models).
    pub fn leaf(weight: T) -> Self {
        TreeNode::Leaf(vec![LeafWeight { target: 0, weight }])
    }

    /// A branch on `feature` with the test `split`, NaN going to the false child.
    pub fn branch(feature: usize, split: Split<T>, if_true: usize, if_false: usize) -> Self {
        TreeNode::Branch(Branch {
            feature,
            split,
            missing_goes_true: false,
            if_true,
            if_false,
        })
    }
}

/// One tree: its node table and the index of its root in it. Nodes not reachable from the root
/// are ignored; several parents may share a child, but no path may loop.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeSpec<T> {
    /// The nodes; children refer to positions in this vector.
    pub nodes: Vec<TreeNode<T>>,
    /// Position of the root.
    pub root: usize,
}

impl<T> TreeSpec<T> {
    /// A tree whose root is its first node.
    pub fn new(nodes: Vec<TreeNode<T>>) -> Self {
        TreeSpec { nodes, root: 0 }
    }
}
