//! QuickScorer layout (Lucchese et al., SIGIR 2015) for forests whose trees have at most 64
//! leaves: instead of walking each tree, a row scans, feature by feature, the branches on that
//! feature in ascending threshold order while `x <= threshold` is false, and clears from each such
//! branch's tree the leaves of its left subtree (one AND of a 64-bit mask). The leaf a row
//! reaches in a tree is then the leftmost leaf still set: the lowest bit of the tree's word.
//!
//! The comparisons are the walk's own (`x <= t` goes left), so every row reaches the same leaf
//! and the leaves are folded in the same tree order: results are bit for bit the walk's. A NaN
//! fails every `x <= t` and clears every mask of its feature, as the walk sends it right at every
//! branch; forests that route NaN by a per-node flag take this layout only for batches without
//! NaN (see `eval.rs`). Nodes that always go right for a non-NaN value (jumps of shared subtrees,
//! branches on a NaN threshold) are followed, not scanned; forests with set splits get no
//! QuickScorer layout.
//!
//! Off by default (`IRONFLOW_TREE_LAYOUT=quickscorer` turns it on at load): the scalar scan
//! costs one load-and-AND per false branch (about half of a tree's branches per row), which
//! the lockstep walk's few dependent loads per tree beat unless that walk misses the caches.

use super::forest::{Forest, FEATURE, SET};
use super::value::Value;

/// Most leaves a tree may have for this layout (one bit each in a `u64`).
pub(crate) const MAX_LEAVES: usize = 64;
/// Deepest path (branches and jumps) followed while numbering a tree's leaves.
const MAX_PATH: u32 = 256;

/// The QuickScorer layout of a whole forest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quick<T> {
    /// Features with branches, and the range of their branches in the arrays below.
    features: Vec<(u32, u32, u32)>,
    /// Per branch, feature by feature, thresholds ascending.
    thresholds: Vec<T>,
    /// The tree of each branch.
    trees: Vec<u32>,
    /// The leaves still possible in that tree once the branch is false (its left subtree's
    /// bits cleared).
    masks: Vec<u64>,
    /// Tree `t`'s leaf at bit `b` (leaves numbered left to right) is leaf index
    /// `leaves[t * MAX_LEAVES + b]`.
    leaves: Vec<u32>,
}

/// One branch as numbered: tree, feature, threshold, left subtree's first and end leaf bits.
struct Branch<T> {
    tree: u32,
    feature: u32,
    threshold: T,
    lo: u32,
    hi: u32,
}

impl<T: Value> Quick<T> {
    /// The layout of `forest`, or `None` when a tree has a set split or more than
    /// [`MAX_LEAVES`] leaves (counting a shared subtree once per path to it).
    pub(crate) fn build(forest: &Forest<T>) -> Option<Self> {
        if forest.has_sets || forest.max_feature.is_none() || !forest.links_checked {
            return None;
        }
        let n_trees = forest.roots.len();
        let mut leaves = vec![0u32; n_trees.checked_mul(MAX_LEAVES)?];
        let mut branches = Vec::new();
        for (t, &root) in forest.roots.iter().enumerate() {
            let mut numbered = Vec::with_capacity(MAX_LEAVES);
            number(forest, t as u32, root, 0, &mut numbered, &mut branches)?;
            leaves[t * MAX_LEAVES..t * MAX_LEAVES + numbered.len()].copy_from_slice(&numbered);
        }
        branches.sort_by(|a, b| {
            a.feature.cmp(&b.feature).then(
                a.threshold
                    .partial_cmp(&b.threshold)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
        });
        let mut features: Vec<(u32, u32, u32)> = Vec::new();
        for (i, b) in branches.iter().enumerate() {
            match features.last_mut() {
                Some(last) if last.0 == b.feature => last.2 = i as u32 + 1,
                _ => features.push((b.feature, i as u32, i as u32 + 1)),
            }
        }
        Some(Quick {
            features,
            thresholds: branches.iter().map(|b| b.threshold).collect(),
            trees: branches.iter().map(|b| b.tree).collect(),
            masks: branches
                .iter()
                .map(|b| !(bits_below(b.hi) & !bits_below(b.lo)))
                .collect(),
            leaves,
        })
    }

    /// The leaf index `row` reaches in each tree, into `reached` (`bits` is scratch, one word
    /// per tree). `row` must hold every feature a branch reads.
    #[inline]
    pub(crate) fn leaves_of(&self, row: &[T], bits: &mut [u64], reached: &mut [u32]) {
        bits.fill(u64::MAX);
        for &(feature, start, end) in &self.features {
            let x = row[feature as usize];
            let (start, end) = (start as usize, end as usize);
            for ((&t, &tree), &mask) in self.thresholds[start..end]
                .iter()
                .zip(&self.trees[start..end])
                .zip(&self.masks[start..end])
            {
                if x <= t {
                    break;
                }
                bits[tree as usize] &= mask;
            }
        }
        for (t, (out, &word)) in reached.iter_mut().zip(bits.iter()).enumerate() {
            // A word never empties: the rightmost leaf is in no left subtree.
            let bit = (word.trailing_zeros() as usize).min(MAX_LEAVES - 1);
            *out = self.leaves[t * MAX_LEAVES + bit];
        }
    }
}

/// A word with bits `0..n` set.
fn bits_below(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Numbers the leaves under `slot` left to right into `numbered` (their leaf indices) and records
/// each branch with the bits of its left subtree; `None` past [`MAX_LEAVES`] leaves, a set split
/// or a path longer than [`MAX_PATH`].
fn number<T: Value>(
    forest: &Forest<T>,
    tree: u32,
    slot: u32,
    depth: u32,
    numbered: &mut Vec<u32>,
    branches: &mut Vec<Branch<T>>,
) -> Option<()> {
    if depth > MAX_PATH {
        return None;
    }
    let leaf = *forest.leaf_of.get(slot as usize)?;
    if leaf != u32::MAX {
        if numbered.len() == MAX_LEAVES {
            return None;
        }
        numbered.push(leaf);
        return Some(());
    }
    let node = *forest.nodes.get(slot as usize)?;
    if node.feature & SET != 0 {
        return None;
    }
    if node.value.nan() {
        // A jump, or a branch no non-NaN value takes left: only `left + 1` is reachable.
        return number(
            forest,
            tree,
            node.left.wrapping_add(1),
            depth + 1,
            numbered,
            branches,
        );
    }
    let lo = numbered.len() as u32;
    number(forest, tree, node.left, depth + 1, numbered, branches)?;
    let hi = numbered.len() as u32;
    branches.push(Branch {
        tree,
        feature: node.feature & FEATURE,
        threshold: node.value,
        lo,
        hi,
    });
    number(
        forest,
        tree,
        node.left.wrapping_add(1),
        depth + 1,
        numbered,
        branches,
    )
}
