//! Evaluation: [`Forest::aggregate`] walks many rows per tree and folds the leaves they reach.
//!
//! Loop order: blocks of [`BLOCK`] rows (their features stay in L1), then trees (a tree stays hot
//! while the whole block walks it), then groups of [`LANES`] rows walked in lockstep so the CPU
//! overlaps their independent node loads. A step is branch-free on numeric splits:
//! `next[!(x <= t)]`, with leaves looping to themselves so the group stops when no row moved.

use super::error::TreeError;
use super::forest::{Forest, FEATURE, NAN_FIRST, SET};
use super::value::Value;

/// Rows whose features stay cached while every tree is walked.
const BLOCK: usize = 64;
/// Rows walked in lockstep.
const LANES: usize = 8;

/// How the weights that a row's leaves give one target are combined (ONNX-ML
/// `aggregate_function`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Aggregate {
    /// Sum over trees (boosting, and ONNX classifiers).
    #[default]
    Sum,
    /// Sum divided by the number of trees (random forests).
    Average,
    /// Smallest weight.
    Min,
    /// Largest weight.
    Max,
}

/// Per-row, per-target aggregated leaf weights, plus whether any leaf wrote each of them (for
/// the onnxruntime rules that treat never-written outputs apart).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores<T> {
    n_rows: usize,
    n_targets: usize,
    values: Vec<T>,
    hit: Vec<bool>,
}

impl<T: Value> Scores<T> {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Outputs per row.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// Row `r`'s aggregated values (zero where no leaf wrote).
    pub fn row(&self, r: usize) -> &[T] {
        &self.values[r * self.n_targets..(r + 1) * self.n_targets]
    }

    /// Whether some leaf wrote each of row `r`'s outputs.
    pub fn hit(&self, r: usize) -> &[bool] {
        &self.hit[r * self.n_targets..(r + 1) * self.n_targets]
    }

    /// All values, row-major `[n_rows, n_targets]`.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// Consumes the scores into their row-major values.
    pub fn into_values(self) -> Vec<T> {
        self.values
    }
}

impl<T: Value> Forest<T> {
    /// Evaluates `n_rows` rows of `n_cols` features (row-major `x`) and aggregates, per row and
    /// target, the weights of the leaves reached, trees in order. `Average` divides the sum by the
    /// number of trees. Rows may have more columns than the forest reads; zero rows is fine.
    pub fn aggregate(
        &self,
        x: &[T],
        n_rows: usize,
        n_cols: usize,
        aggregate: Aggregate,
    ) -> Result<Scores<T>, TreeError> {
        if n_rows.checked_mul(n_cols) != Some(x.len()) {
            return Err(TreeError::InputShape {
                len: x.len(),
                n_rows,
                n_cols,
            });
        }
        if let Some(max_feature) = self.max_feature {
            if max_feature >= n_cols {
                return Err(TreeError::TooFewFeatures {
                    n_cols,
                    max_feature,
                });
            }
        }
        let nt = self.n_targets;
        let track =
            !(self.covers_all_targets && matches!(aggregate, Aggregate::Sum | Aggregate::Average));
        let mut acc = Acc {
            aggregate,
            track,
            values: vec![T::default(); n_rows * nt],
            hit: vec![false; if track { n_rows * nt } else { 0 }],
        };
        if n_rows > 0 {
            match (self.has_nan_first, self.has_sets) {
                (false, false) => self.walk_all::<false, false>(x, n_rows, n_cols, &mut acc),
                (true, false) => self.walk_all::<true, false>(x, n_rows, n_cols, &mut acc),
                (false, true) => self.walk_all::<false, true>(x, n_rows, n_cols, &mut acc),
                (true, true) => self.walk_all::<true, true>(x, n_rows, n_cols, &mut acc),
            }
        }
        if aggregate == Aggregate::Average {
            let n = T::from_count(self.n_trees());
            acc.values.iter_mut().for_each(|v| *v = *v / n);
        }
        let hit = if track {
            acc.hit
        } else {
            vec![!self.roots.is_empty(); n_rows * nt]
        };
        Ok(Scores {
            n_rows,
            n_targets: nt,
            values: acc.values,
            hit,
        })
    }

    fn walk_all<const NAN: bool, const SETS: bool>(
        &self,
        x: &[T],
        n_rows: usize,
        n_cols: usize,
        acc: &mut Acc<T>,
    ) {
        if self.max_feature.is_none() {
            // Every tree is a single leaf: nothing to compare (and maybe no columns to read).
            for &root in &self.roots {
                let leaf = self.nodes[root as usize].value.to_index();
                (0..n_rows).for_each(|r| self.apply(leaf, r, acc));
            }
            return;
        }
        for block in (0..n_rows).step_by(BLOCK) {
            let end = (block + BLOCK).min(n_rows);
            for &root in &self.roots {
                let mut r = block;
                while r < end {
                    let m = LANES.min(end - r);
                    // Short groups repeat their last row; the extra walks are ignored.
                    let rows: [&[T]; LANES] = std::array::from_fn(|k| {
                        let row = r + k.min(m - 1);
                        &x[row * n_cols..(row + 1) * n_cols]
                    });
                    let reached = self.walk::<NAN, SETS>(root, &rows);
                    for (k, &node) in reached.iter().enumerate().take(m) {
                        self.apply(self.nodes[node as usize].value.to_index(), r + k, acc);
                    }
                    r += m;
                }
            }
        }
    }

    /// Walks one tree for `LANES` rows at once and returns the leaf node each reached.
    #[inline(always)]
    fn walk<const NAN: bool, const SETS: bool>(
        &self,
        root: u32,
        rows: &[&[T]; LANES],
    ) -> [u32; LANES] {
        let mut at = [root; LANES];
        loop {
            let mut moved = false;
            for (a, row) in at.iter_mut().zip(rows) {
                let next = self.step::<NAN, SETS>(*a, row);
                moved |= next != *a;
                *a = next;
            }
            if !moved {
                return at;
            }
        }
    }

    #[inline(always)]
    fn step<const NAN: bool, const SETS: bool>(&self, i: u32, row: &[T]) -> u32 {
        let node = &self.nodes[i as usize];
        let f = node.feature;
        let x = row[(f & FEATURE) as usize];
        let mut first = x <= node.value;
        if NAN {
            first |= (f & NAN_FIRST != 0) & x.nan();
        }
        if SETS && f & SET != 0 {
            let set = &self.sets[node.value.to_index() as usize];
            first = set.contains(x.to_f64()) | ((f & NAN_FIRST != 0) & x.nan());
        }
        node.next[usize::from(!first)]
    }

    /// Folds leaf `leaf`'s weights into row `r`'s accumulators.
    #[inline(always)]
    fn apply(&self, leaf: u32, r: usize, acc: &mut Acc<T>) {
        let l = leaf as usize;
        let span = self.leaf_start[l] as usize..self.leaf_start[l + 1] as usize;
        let base = r * self.n_targets;
        for (&t, &w) in self.leaf_targets[span.clone()]
            .iter()
            .zip(&self.leaf_weights[span])
        {
            let j = base + t as usize;
            let v = &mut acc.values[j];
            match acc.aggregate {
                Aggregate::Sum | Aggregate::Average => *v += w,
                Aggregate::Min => {
                    if !acc.hit[j] || w < *v {
                        *v = w;
                    }
                }
                Aggregate::Max => {
                    if !acc.hit[j] || w > *v {
                        *v = w;
                    }
                }
            }
            if acc.track {
                acc.hit[j] = true;
            }
        }
    }
}

/// Accumulators of one evaluation.
struct Acc<T> {
    aggregate: Aggregate,
    /// Whether `hit` is maintained (always for Min/Max, which need it).
    track: bool,
    values: Vec<T>,
    hit: Vec<bool>,
}
