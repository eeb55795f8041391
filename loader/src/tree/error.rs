//! [`TreeError`]: why a node table cannot become a forest, or why an input cannot be evaluated.

/// A malformed node table (naming the tree and node at fault) or an input that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A tree has an empty node table.
    #[error("tree {tree} has no nodes")]
    EmptyTree {
        /// Position of the tree in the forest.
        tree: usize,
    },
    /// A tree's root index is outside its node table.
    #[error("tree {tree}: root {root} is out of range (the tree has {n_nodes} nodes)")]
    RootOutOfRange {
        /// Position of the tree.
        tree: usize,
        /// The root index.
        root: usize,
        /// Size of the node table.
        n_nodes: usize,
    },
    /// A branch points to a child outside the tree's node table.
    #[error("tree {tree}, node {node}: {side} child {child} is out of range (the tree has {n_nodes} nodes)")]
    ChildOutOfRange {
        /// Position of the tree.
        tree: usize,
        /// The branch's index in the tree's node table.
        node: usize,
        /// `"true"` or `"false"`.
        side: &'static str,
        /// The child index.
        child: usize,
        /// Size of the node table.
        n_nodes: usize,
    },
    /// A path from the root comes back to a node already on it, so a walk would never end.
    #[error("tree {tree}, node {node}: a path from the root loops back to this node")]
    Cycle {
        /// Position of the tree.
        tree: usize,
        /// The node reached twice.
        node: usize,
    },
    /// A branch tests a feature the forest was not declared with.
    #[error("tree {tree}, node {node}: feature {feature} is out of range (the forest has {n_features} features)")]
    FeatureOutOfRange {
        /// Position of the tree.
        tree: usize,
        /// The branch's index.
        node: usize,
        /// The feature index.
        feature: usize,
        /// Declared number of features.
        n_features: usize,
    },
    /// A leaf contributes to a target the forest was not declared with.
    #[error("tree {tree}, node {node}: target {target} is out of range (the forest has {n_targets} targets)")]
    TargetOutOfRange {
        /// Position of the tree.
        tree: usize,
        /// The leaf's index.
        node: usize,
        /// The target index.
        target: usize,
        /// Declared number of targets.
        n_targets: usize,
    },
    /// The forest exceeds the compiled layout's 32-bit indices.
    #[error("forest too large: {what}")]
    TooLarge {
        /// What overflowed.
        what: String,
    },
    /// The feature matrix handed to an evaluation does not fit the forest.
    #[error("input has {n_cols} features per row but the forest reads feature {max_feature}")]
    TooFewFeatures {
        /// Columns in the input.
        n_cols: usize,
        /// Highest feature index any branch reads.
        max_feature: usize,
    },
    /// The feature matrix's length is not rows × columns.
    #[error("input holds {len} values, not {n_rows} rows of {n_cols} features")]
    InputShape {
        /// Values supplied.
        len: usize,
        /// Rows claimed.
        n_rows: usize,
        /// Columns claimed.
        n_cols: usize,
    },
}
