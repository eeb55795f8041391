//! [`ObliviousForest`]: the layout for oblivious (symmetric) trees, as CatBoost grows them. Every
//! level of a tree tests one split for all its nodes, so a depth-`d` tree is `d` comparisons
//! whose outcomes are the bits of a leaf index, and one table read: no node links, no pointer
//! chasing, the fastest tree walk of all.
//!
//! Rows go in blocks of [`BLOCK`] (their features stay cached) and trees one at a time over the
//! block; each row's leaf values are added tree by tree in tree order, starting from zero, so
//! sums are exactly those of an evaluator folding trees in order (CatBoost's, in `f64`).

use super::error::TreeError;

/// Rows whose features stay cached while every tree is walked.
const BLOCK: usize = 64;

/// How an oblivious split tests its feature value `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObliviousTest {
    /// `x > value` (float and CTR borders).
    Greater,
    /// `x == value` (one-hot categorical values).
    Equal,
}

/// One level of an oblivious tree: bit `level` of the leaf index is set when the test holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObliviousSplit {
    /// Feature (input column) tested.
    pub feature: usize,
    /// The test.
    pub test: ObliviousTest,
    /// The border or value.
    pub value: f64,
}

/// A compiled ensemble of oblivious trees with dense leaves (`n_targets` values per leaf).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObliviousForest {
    /// Per split: feature, value and whether the test is equality.
    features: Vec<u32>,
    values: Vec<f64>,
    equal: Vec<bool>,
    /// Tree `t`'s splits are `split_start[t]..split_start[t + 1]`.
    split_start: Vec<usize>,
    /// Tree `t`'s leaves start at `leaf_start[t]` (`n_targets << depth` values, leaf-major).
    leaf_start: Vec<usize>,
    leaves: Vec<f64>,
    n_targets: usize,
    max_feature: Option<usize>,
    /// Whether any split is an equality test.
    any_equal: bool,
}

/// Deepest tree accepted (leaf indices are `u32`, and leaves `n_targets << depth`).
pub const MAX_OBLIVIOUS_DEPTH: usize = 24;

impl ObliviousForest {
    /// An empty forest of `n_targets` outputs.
    pub fn new(n_targets: usize) -> Self {
        Self {
            split_start: vec![0],
            n_targets: n_targets.max(1),
            ..Self::default()
        }
    }

    /// Adds a tree: its splits (level 0 is bit 0 of the leaf index) and its leaves,
    /// `n_targets << splits.len()` values, leaf-major.
    pub fn push(&mut self, splits: &[ObliviousSplit], leaves: &[f64]) -> Result<(), TreeError> {
        let tree = self.n_trees();
        let depth = splits.len();
        let expected = (depth <= MAX_OBLIVIOUS_DEPTH)
            .then(|| self.n_targets.checked_shl(depth as u32))
            .flatten();
        if expected != Some(leaves.len()) {
            return Err(TreeError::TooLarge {
                what: format!(
                    "oblivious tree {tree}: depth {depth} with {} leaf values for {} targets",
                    leaves.len(),
                    self.n_targets
                ),
            });
        }
        for s in splits {
            let feature = u32::try_from(s.feature).map_err(|_| TreeError::TooLarge {
                what: format!("oblivious tree {tree}: feature {}", s.feature),
            })?;
            self.features.push(feature);
            self.values.push(s.value);
            self.equal.push(s.test == ObliviousTest::Equal);
            self.any_equal |= s.test == ObliviousTest::Equal;
            self.max_feature = self.max_feature.max(Some(s.feature));
        }
        self.split_start.push(self.features.len());
        self.leaf_start.push(self.leaves.len());
        self.leaves.extend_from_slice(leaves);
        Ok(())
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.leaf_start.len()
    }

    /// Outputs per row.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// Highest feature index a split reads.
    pub fn max_feature(&self) -> Option<usize> {
        self.max_feature
    }

    /// Sums, per row and target, the leaf values the rows of `x` (`n_rows` rows of `n_cols`
    /// features, row-major) reach: `n_rows * n_targets` values, row-major.
    pub fn sum(&self, x: &[f64], n_rows: usize, n_cols: usize) -> Result<Vec<f64>, TreeError> {
        if x.len() != n_rows.saturating_mul(n_cols) {
            return Err(TreeError::InputShape {
                len: x.len(),
                n_rows,
                n_cols,
            });
        }
        if let Some(max_feature) = self.max_feature.filter(|&m| m >= n_cols) {
            return Err(TreeError::TooFewFeatures {
                n_cols,
                max_feature,
            });
        }
        let k = self.n_targets;
        let mut out = vec![0.0; n_rows * k];
        let mut index = [0usize; BLOCK];
        for (rows, sums) in x
            .chunks(BLOCK * n_cols.max(1))
            .zip(out.chunks_mut(BLOCK * k))
        {
            let n = sums.len() / k;
            for t in 0..self.n_trees() {
                let (from, to) = (self.split_start[t], self.split_start[t + 1]);
                let index = &mut index[..n];
                index.fill(0);
                for level in from..to {
                    let f = self.features[level] as usize;
                    let v = self.values[level];
                    let bit = level - from;
                    if self.any_equal && self.equal[level] {
                        for (r, idx) in index.iter_mut().enumerate() {
                            *idx |= usize::from(rows[r * n_cols + f] == v) << bit;
                        }
                    } else {
                        for (r, idx) in index.iter_mut().enumerate() {
                            *idx |= usize::from(rows[r * n_cols + f] > v) << bit;
                        }
                    }
                }
                let leaves = &self.leaves[self.leaf_start[t]..];
                if k == 1 {
                    for (sum, &idx) in sums.iter_mut().zip(index.iter()) {
                        *sum += leaves[idx];
                    }
                } else {
                    for (row, &idx) in sums.chunks_mut(k).zip(index.iter()) {
                        for (s, &l) in row.iter_mut().zip(&leaves[idx * k..(idx + 1) * k]) {
                            *s += l;
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_the_bits_of_the_leaf_index() {
        let mut forest = ObliviousForest::new(1);
        let splits = [
            ObliviousSplit {
                feature: 0,
                test: ObliviousTest::Greater,
                value: 0.5,
            },
            ObliviousSplit {
                feature: 1,
                test: ObliviousTest::Equal,
                value: 3.0,
            },
        ];
        forest.push(&splits, &[1.0, 2.0, 4.0, 8.0]).unwrap();
        forest.push(&[], &[100.0]).unwrap();
        let x = [0.0, 3.0, 1.0, 3.0, 1.0, 2.0, f64::NAN, 0.0];
        assert_eq!(forest.sum(&x, 4, 2).unwrap(), [104.0, 108.0, 102.0, 101.0]);
        assert!(forest.push(&splits, &[1.0]).is_err());
        assert!(forest.sum(&x, 8, 1).is_err());
    }
}
