//! Evaluation: [`Forest::aggregate`] walks many rows per tree and folds the leaves they reach.
//!
//! Loop order: blocks of [`BLOCK`] rows (their features stay in L1), then trees [`TREES`] at a
//! time (they stay hot while the whole block walks them), then groups of [`ROWS`] rows: the
//! `ROWS * TREES` walks of a group go in lockstep so the CPU overlaps their independent node-load
//! chains (rows left over walk [`LANES`] trees together instead). A step is branch-free on
//! numeric splits: `left + !(x <= t)`; leaves loop to themselves, so a group takes as many steps
//! as its deepest walk needs. The walk is latency-bound, so what paid here (bc_rf, 100 trees, 1
//! thread: 10.2 to 7.0 ns per tree and row) was more chains per group, loads without bounds
//! checks ([`Forest::load_unchecked`], on verified links only; the checked walk is the fallback)
//! and leaves folded per row in registers for 1 or 2 targets; then (7.05 to 6.43 ms) reading
//! node features without masking flags off when no node has any (`raw_features`). What did not
//! pay: row slices instead of row offsets, testing for finished walks every second step or
//! never, other group shapes (4x4, 5x3, 3x4: no better, under heavy load); f32 nodes and rows
//! gained ~2%, integer order keys instead of float compares ~3% more (not landed: a second
//! node array). Nor did compacting the rows still walking after each step (exact-length walks;
//! the bookkeeping cost more than the ~35% of steps it saves) and evaluating the top levels
//! level-wise over a column-major block (autovectorised: no gain, without or with AVX-512).
//!
//! Optionally (`IRONFLOW_TREE_LAYOUT=complete`; off by default, as it measured slower here),
//! shallow trees without set splits also get a complete layout (children of `i` at `2i + 1`
//! and `2i + 2`, shallow leaves padded): a block whose rows hold no NaN walks those in exactly
//! `depth` steps of load, compare and index, with no leaf test. A block with a NaN (when some node
//! routes NaN by flag) takes the compact walk with the flag test; clean blocks skip that test.
//! Leaves are folded per row tree by tree in every path, so results never depend on the path,
//! the block or the thread. Batches of at least [`PARALLEL_WORK`] walks per thread are split by
//! rows over the cores ([`max_threads`]: the caller plus the parked workers of `pool.rs`);
//! smaller ones stay on the calling thread and never wake a worker.

use super::error::TreeError;
use std::sync::OnceLock;

use super::forest::{FlatBranch, Forest, Node, FEATURE, NAN_FIRST, SET};
use super::value::Value;

/// Rows whose features stay cached while every tree is walked.
const BLOCK: usize = 64;
/// Trees a single leftover row walks in lockstep.
const LANES: usize = 8;
/// Rows of a group: a group walks [`TREES`] trees at once, `ROWS * TREES` walks in lockstep
/// (12 independent node-load chains keep the core busy; each row's row offset is shared by its
/// `TREES` walks, so the lanes fit the registers).
const ROWS: usize = 4;
/// Trees a group walks at once; their leaves are folded per row in tree order.
const TREES: usize = 3;
/// Tree walks (rows x trees) a thread must get before a batch is split across threads.
const PARALLEL_WORK: usize = 150_000;
/// Parts each thread's share of a split batch is cut into: the queue of parts (`pool.rs`) then
/// balances uneven threads, and a caller whose helpers are busy with another request works
/// through its own parts, waiting at most for one part already started.
const PARTS_PER_THREAD: usize = 4;

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
        let n_out = self.check_input(x, n_rows, n_cols)?;
        let track = self.tracks_hits(aggregate);
        let nt = self.n_targets;
        let mut values = vec![T::default(); n_out];
        let mut hit = vec![false; if track { n_out } else { 0 }];
        if n_rows > 0 {
            // Read on the calling thread: tests set it there for the whole evaluation.
            let checked = force_checked_walk();
            let (threads, chunk) = self.split_rows(n_rows);
            if threads <= 1 {
                self.evaluate_into(x, n_rows, n_cols, aggregate, checked, &mut values, &mut hit);
            } else {
                // Rows split into a few parts per thread, taken from one queue by the caller and
                // the pool's free workers (`pool.rs`); each part writes its own rows only, trees
                // in the same order, so results do not depend on the split.
                let chunk = part_rows(chunk);
                let hit_chunk = if track { chunk * nt } else { 0 };
                let mut hits: Vec<&mut [bool]> = if track {
                    hit.chunks_mut(hit_chunk.max(1)).collect()
                } else {
                    Vec::new()
                };
                hits.resize_with(n_rows.div_ceil(chunk), Default::default);
                let parts: Vec<_> = x
                    .chunks(chunk * n_cols)
                    .zip(values.chunks_mut(chunk * nt))
                    .zip(hits)
                    .collect();
                super::pool::run_parts(parts, |((x, values), hit)| {
                    let n_rows = x.len() / n_cols;
                    self.evaluate_into(x, n_rows, n_cols, aggregate, checked, values, hit);
                });
            }
        }
        let hit = if track {
            hit
        } else {
            vec![!self.roots.is_empty(); n_out]
        };
        Ok(Scores {
            n_rows,
            n_targets: nt,
            values,
            hit,
        })
    }

    /// [`Forest::aggregate`] of rows `x` on the calling thread into `values` (`n_rows *
    /// n_targets`, overwritten), for callers that split a batch across threads themselves and
    /// need no hit flags: every value is the one [`Forest::aggregate`] gives.
    pub(crate) fn aggregate_into(
        &self,
        x: &[T],
        n_rows: usize,
        n_cols: usize,
        aggregate: Aggregate,
        values: &mut [T],
    ) -> Result<(), TreeError> {
        let n_out = self.check_input(x, n_rows, n_cols)?;
        if values.len() != n_out {
            return Err(TreeError::InputShape {
                len: values.len(),
                n_rows,
                n_cols: self.n_targets,
            });
        }
        values.fill(T::default());
        let mut hit = vec![
            false;
            if self.tracks_hits(aggregate) {
                n_out
            } else {
                0
            }
        ];
        if n_rows > 0 {
            let checked = force_checked_walk();
            self.evaluate_into(x, n_rows, n_cols, aggregate, checked, values, &mut hit);
        }
        Ok(())
    }

    /// The number of outputs of `n_rows` rows, after checking that `x` holds `n_rows` rows of
    /// `n_cols` features and that the forest reads no column past them.
    fn check_input(&self, x: &[T], n_rows: usize, n_cols: usize) -> Result<usize, TreeError> {
        let n_out = n_rows.checked_mul(self.n_targets);
        let n_out = match n_out {
            Some(n_out) if n_rows.checked_mul(n_cols) == Some(x.len()) => n_out,
            _ => {
                return Err(TreeError::InputShape {
                    len: x.len(),
                    n_rows,
                    n_cols,
                })
            }
        };
        if let Some(max_feature) = self.max_feature {
            if max_feature >= n_cols {
                return Err(TreeError::TooFewFeatures {
                    n_cols,
                    max_feature,
                });
            }
        }
        Ok(n_out)
    }

    /// Whether `aggregate` needs per-output hit flags (Min/Max, or leaves that skip targets).
    fn tracks_hits(&self, aggregate: Aggregate) -> bool {
        let sum = matches!(aggregate, Aggregate::Sum | Aggregate::Average);
        !(self.covers_all_targets && sum)
    }

    /// Evaluates rows `x` on the calling thread into zeroed `values` (and `hit`, when tracked),
    /// then divides by the number of trees for `Average` (`checked`: see [`Self::evaluate`]).
    #[allow(clippy::too_many_arguments)]
    fn evaluate_into(
        &self,
        x: &[T],
        n_rows: usize,
        n_cols: usize,
        aggregate: Aggregate,
        checked: bool,
        values: &mut [T],
        hit: &mut [bool],
    ) {
        debug_assert!(!checked || cfg!(test));
        let mut acc = Acc {
            aggregate,
            track: self.tracks_hits(aggregate),
            values,
            hit,
        };
        self.evaluate(x, n_rows, n_cols, checked, &mut acc);
        if aggregate == Aggregate::Average {
            let n = T::from_count(self.n_trees());
            acc.values.iter_mut().for_each(|v| *v = *v / n);
        }
    }

    /// How `n_rows` rows split over threads: `(threads, rows per thread)`, whole groups of
    /// [`ROWS`] rows per thread, as even as they can be (one thread: every row).
    pub(crate) fn split_rows(&self, n_rows: usize) -> (usize, usize) {
        let threads = self.threads_for(n_rows);
        if threads <= 1 {
            return (1, n_rows.max(1));
        }
        let chunk = n_rows.div_ceil(threads).div_ceil(ROWS) * ROWS;
        (n_rows.div_ceil(chunk), chunk)
    }

    /// Threads worth using for `n_rows` rows: one for small requests (the server already runs
    /// requests in parallel, and starting threads costs tens of microseconds), up to the cores
    /// (or `IRONFLOW_TREE_THREADS`) once every thread gets at least [`PARALLEL_WORK`] walks.
    pub(crate) fn threads_for(&self, n_rows: usize) -> usize {
        if self.n_targets == 0 || self.max_feature.is_none() {
            return 1;
        }
        let work = n_rows.saturating_mul(self.n_trees());
        let by_work = work / PARALLEL_WORK;
        let by_rows = n_rows / BLOCK;
        max_threads().min(by_work).min(by_rows).max(1)
    }

    /// Evaluates rows `x` (row-major, `n_cols` wide) into `acc`, whose slices hold these rows.
    /// `checked` forces the bounds-checked walk, one tree at a time (the walk before trees were
    /// grouped: tests compare it with the grouped, unchecked one).
    fn evaluate(&self, x: &[T], n_rows: usize, n_cols: usize, checked: bool, acc: &mut Acc<'_, T>) {
        let dense_sum = self.dense && matches!(acc.aggregate, Aggregate::Sum | Aggregate::Average);
        // The unchecked walk needs every slot a walk can reach in `nodes` (verified when the
        // forest was built) and every row's features in `x` (`max_feature < n_cols`).
        let fast = self.links_checked
            && self.max_feature.is_some_and(|m| m < n_cols)
            && n_rows.checked_mul(n_cols).is_some_and(|n| n <= x.len())
            && !checked;
        if let Some(quick) = self.quick.as_deref().filter(|_| fast && dense_sum) {
            // QuickScorer gives the walk's leaves; NaN needs the walk where nodes route it by flag
            // (`fast` checked that the rows are in `x`).
            let rows = &x[..n_rows * n_cols];
            if !(self.has_nan_first && rows.iter().any(|v| v.nan())) {
                self.walk_quick(quick, x, n_rows, n_cols, acc);
                return;
            }
        }
        let run = Run {
            x,
            n_rows,
            n_cols,
            grouped: !checked,
        };
        if fast {
            self.walk_variant::<true>(run, dense_sum, acc);
        } else {
            self.walk_variant::<false>(run, dense_sum, acc);
        }
    }

    /// Every row through the QuickScorer layout, leaves folded per row in tree order (dense sums
    /// only: `apply` then writes no hit flags).
    fn walk_quick(
        &self,
        quick: &super::quick::Quick<T>,
        x: &[T],
        n_rows: usize,
        n_cols: usize,
        acc: &mut Acc<'_, T>,
    ) {
        let n_trees = self.roots.len();
        let mut bits = vec![0u64; n_trees];
        let mut reached = vec![0u32; n_trees];
        for (r, row) in x.chunks_exact(n_cols).take(n_rows).enumerate() {
            quick.leaves_of(row, &mut bits, &mut reached);
            for &leaf in &reached {
                self.apply::<true>(leaf, r, acc);
            }
        }
    }

    /// [`Self::walk_all`] specialised for the forest's flags and the aggregation.
    fn walk_variant<const FAST: bool>(
        &self,
        run: Run<'_, T>,
        dense_sum: bool,
        acc: &mut Acc<'_, T>,
    ) {
        match (self.has_nan_first, self.has_sets, dense_sum) {
            (false, false, false) => self.walk_all::<false, false, false, FAST>(run, acc),
            (false, false, true) => self.walk_all::<false, false, true, FAST>(run, acc),
            (true, false, false) => self.walk_all::<true, false, false, FAST>(run, acc),
            (true, false, true) => self.walk_all::<true, false, true, FAST>(run, acc),
            (false, true, false) => self.walk_all::<false, true, false, FAST>(run, acc),
            (false, true, true) => self.walk_all::<false, true, true, FAST>(run, acc),
            (true, true, false) => self.walk_all::<true, true, false, FAST>(run, acc),
            (true, true, true) => self.walk_all::<true, true, true, FAST>(run, acc),
        }
    }

    fn walk_all<const NAN: bool, const SETS: bool, const DENSE_SUM: bool, const FAST: bool>(
        &self,
        run: Run<'_, T>,
        acc: &mut Acc<'_, T>,
    ) {
        let Run {
            x, n_rows, n_cols, ..
        } = run;
        if self.max_feature.is_none() {
            // Every tree is a single leaf: nothing to compare (and maybe no columns to read).
            for &root in &self.roots {
                let leaf = self.leaf_of[root as usize];
                (0..n_rows).for_each(|r| self.apply::<DENSE_SUM>(leaf, r, acc));
            }
            return;
        }
        for block in (0..n_rows).step_by(BLOCK) {
            let end = (block + BLOCK).min(n_rows);
            // Per-node NaN routing only matters to blocks that hold a NaN.
            if NAN && x[block * n_cols..end * n_cols].iter().any(|v| v.nan()) {
                self.walk_block::<true, SETS, DENSE_SUM, FAST, true>(run, block, end, acc);
            } else if NAN || SETS || !self.raw_features {
                self.walk_block::<false, SETS, DENSE_SUM, FAST, true>(run, block, end, acc);
            } else {
                // No flags anywhere: node features are read as they are.
                self.walk_block::<false, false, DENSE_SUM, FAST, false>(run, block, end, acc);
            }
        }
    }

    /// Walks rows `block..end` through every tree. `NAN` is false when no row of the block holds
    /// a NaN or no node routes NaN by flag: then shallow trees are walked in complete layout.
    fn walk_block<
        const NAN: bool,
        const SETS: bool,
        const DENSE_SUM: bool,
        const FAST: bool,
        const MASK: bool,
    >(
        &self,
        run: Run<'_, T>,
        block: usize,
        end: usize,
        acc: &mut Acc<'_, T>,
    ) {
        let (x, n_cols) = (run.x, run.n_cols);
        let full_end = block + (end - block) / ROWS * ROWS;
        // Groups of ROWS rows walk TREES trees together (trees with a complete layout, in clean
        // blocks, one at a time).
        for (chunk, roots) in self.roots.chunks_exact(TREES).enumerate() {
            let first = chunk * TREES;
            let ts = first..first + TREES;
            if !run.grouped || (!NAN && self.complete[ts.clone()].iter().any(Option::is_some)) {
                for t in ts {
                    self.walk_tree::<NAN, SETS, DENSE_SUM, FAST, MASK>(
                        t, x, block, full_end, n_cols, acc,
                    );
                }
                continue;
            }
            let depth = depth_range(&self.depths[ts]);
            for r in (block..full_end).step_by(ROWS) {
                let offsets: [usize; ROWS * TREES] =
                    std::array::from_fn(|j| (r + j % ROWS) * n_cols);
                let starts: [u32; ROWS * TREES] = std::array::from_fn(|j| roots[j / ROWS]);
                let reached = self
                    .walk::<NAN, SETS, FAST, MASK, { ROWS * TREES }>(&starts, x, &offsets, depth);
                for k in 0..ROWS {
                    let leaves: [u32; TREES] =
                        std::array::from_fn(|p| self.leaf_of[reached[p * ROWS + k] as usize]);
                    self.apply_many::<DENSE_SUM, TREES>(&leaves, r + k, acc);
                }
            }
        }
        for t in self.roots.len() / TREES * TREES..self.roots.len() {
            self.walk_tree::<NAN, SETS, DENSE_SUM, FAST, MASK>(t, x, block, full_end, n_cols, acc);
        }
        // Leftover rows walk LANES trees together (leaves still folded in tree order).
        for r in full_end..end {
            let offsets = [r * n_cols; LANES];
            let mut trees = self
                .roots
                .chunks_exact(LANES)
                .zip(self.depths.chunks_exact(LANES));
            for (roots, depths) in trees.by_ref() {
                let roots: &[u32; LANES] = roots.try_into().unwrap_or(&[0; LANES]);
                let depth = depth_range(depths);
                for slot in self.walk::<NAN, SETS, FAST, MASK, LANES>(roots, x, &offsets, depth) {
                    self.apply::<DENSE_SUM>(self.leaf_of[slot as usize], r, acc);
                }
            }
            let rest = self.roots.len() / LANES * LANES;
            for (&root, &depth) in self.roots[rest..].iter().zip(&self.depths[rest..]) {
                let [slot] =
                    self.walk::<NAN, SETS, FAST, MASK, 1>(&[root], x, &[r * n_cols], depth);
                self.apply::<DENSE_SUM>(self.leaf_of[slot as usize], r, acc);
            }
        }
    }

    /// Walks rows `block..full_end` (whole groups of [`ROWS`]) through tree `t` alone: in its
    /// complete layout when it has one and `NAN` is off, else compactly.
    fn walk_tree<
        const NAN: bool,
        const SETS: bool,
        const DENSE_SUM: bool,
        const FAST: bool,
        const MASK: bool,
    >(
        &self,
        t: usize,
        x: &[T],
        block: usize,
        full_end: usize,
        n_cols: usize,
        acc: &mut Acc<'_, T>,
    ) {
        let (root, depth) = (self.roots[t], self.depths[t]);
        match self.complete[t] {
            Some(c) if !NAN => {
                let inner = (1usize << c.depth) - 1;
                let branches = &self.flat_branches[c.branches..c.branches + inner];
                let leaves = &self.flat_leaves[c.leaves..c.leaves + inner + 1];
                for r in (block..full_end).step_by(ROWS) {
                    let offsets: [usize; ROWS] = std::array::from_fn(|k| (r + k) * n_cols);
                    let reached = walk_complete(branches, c.depth, x, &offsets);
                    for (k, &slot) in reached.iter().enumerate() {
                        self.apply::<DENSE_SUM>(leaves[slot - inner], r + k, acc);
                    }
                }
            }
            _ => {
                for r in (block..full_end).step_by(ROWS) {
                    let offsets: [usize; ROWS] = std::array::from_fn(|k| (r + k) * n_cols);
                    let reached =
                        self.walk::<NAN, SETS, FAST, MASK, ROWS>(&[root; ROWS], x, &offsets, depth);
                    for (k, &slot) in reached.iter().enumerate() {
                        self.apply::<DENSE_SUM>(self.leaf_of[slot as usize], r + k, acc);
                    }
                }
            }
        }
    }

    /// Walks `N` (tree root, row offset) pairs in lockstep and returns the leaf slot each
    /// reached: `min` steps unchecked (no leaf is shallower), then until no walk moves (at most
    /// `max` steps in all). Walks already at a leaf step onto themselves.
    #[inline(always)]
    fn walk<
        const NAN: bool,
        const SETS: bool,
        const FAST: bool,
        const MASK: bool,
        const N: usize,
    >(
        &self,
        roots: &[u32; N],
        x: &[T],
        offsets: &[usize; N],
        (min, max): (u32, u32),
    ) -> [u32; N] {
        let mut at = *roots;
        for _ in 0..min {
            for (a, &offset) in at.iter_mut().zip(offsets) {
                *a = self.step::<NAN, SETS, FAST, MASK>(*a, x, offset);
            }
        }
        for _ in min..max {
            let mut moved = false;
            for (a, &offset) in at.iter_mut().zip(offsets) {
                let next = self.step::<NAN, SETS, FAST, MASK>(*a, x, offset);
                moved |= next != *a;
                *a = next;
            }
            if !moved {
                break;
            }
        }
        at
    }

    #[inline(always)]
    fn step<const NAN: bool, const SETS: bool, const FAST: bool, const MASK: bool>(
        &self,
        at: u32,
        x: &[T],
        offset: usize,
    ) -> u32 {
        let (node, v) = if FAST {
            self.load_unchecked::<MASK>(at, x, offset)
        } else {
            let node = &self.nodes[at as usize];
            (node, x[offset + (node.feature & FEATURE) as usize])
        };
        let f = node.feature;
        let mut first = v <= node.value;
        if NAN {
            first |= (f & NAN_FIRST != 0) & v.nan();
        }
        if SETS && f & SET != 0 {
            let set = &self.sets[node.value.to_index() as usize];
            first = set.contains(v.to_f64()) | ((f & NAN_FIRST != 0) & v.nan());
        }
        node.left.wrapping_add(u32::from(!first))
    }

    /// The node at slot `at` and the feature it reads from the row at `offset`, without bounds
    /// checks (the bounds checks cost ~20% of the walk, as they break up the lockstep chains).
    ///
    /// Callers guarantee what [`Forest::evaluate`] checks before choosing the unchecked walk:
    /// `links_checked` (the builder verified that every root and every slot a node can step to is
    /// in `nodes`, so `at`, which only ever comes from those, is too), and that `offset` is
    /// `row * n_cols` for a row of `x` with `max_feature < n_cols` (a node's feature index,
    /// `feature & FEATURE`, is at most `max_feature`: 0 for leaves and jumps). `MASK` false
    /// reads `feature` whole (one instruction less per step, ~10% of the walk): callers pass it
    /// only when `raw_features` (the builder verified that every node's `feature` is at most
    /// `max_feature`, flags included).
    #[allow(unsafe_code)]
    #[inline(always)]
    fn load_unchecked<const MASK: bool>(&self, at: u32, x: &[T], offset: usize) -> (&Node<T>, T) {
        debug_assert!((at as usize) < self.nodes.len());
        // SAFETY: `at < nodes.len()`: it is a root or a slot stepped to, both verified in range
        // when the forest was built (`links_checked`, see above).
        let node = unsafe { self.nodes.get_unchecked(at as usize) };
        let feature = if MASK {
            node.feature & FEATURE
        } else {
            node.feature
        };
        let i = offset + feature as usize;
        debug_assert!(i < x.len());
        // SAFETY: `i = row * n_cols + feature` with `row < n_rows`, `feature <= max_feature <
        // n_cols` (masked, or whole under `raw_features`) and `n_rows * n_cols <= x.len()` (checked in `evaluate`), so `i < x.len()`.
        let v = unsafe { *x.get_unchecked(i) };
        (node, v)
    }

    /// Folds `leaves` (in tree order) into row `r`'s accumulators.
    #[inline(always)]
    fn apply_many<const DENSE_SUM: bool, const N: usize>(
        &self,
        leaves: &[u32; N],
        r: usize,
        acc: &mut Acc<'_, T>,
    ) {
        match self.n_targets {
            1 if DENSE_SUM => {
                fold_many::<T, 1, N>(&self.leaf_weights, leaves, &mut acc.values[r..])
            }
            2 if DENSE_SUM => {
                fold_many::<T, 2, N>(&self.leaf_weights, leaves, &mut acc.values[2 * r..])
            }
            _ => leaves
                .iter()
                .for_each(|&leaf| self.apply::<DENSE_SUM>(leaf, r, acc)),
        }
    }

    /// Folds leaf `leaf`'s weights into row `r`'s accumulators.
    #[inline(always)]
    fn apply<const DENSE_SUM: bool>(&self, leaf: u32, r: usize, acc: &mut Acc<'_, T>) {
        let nt = self.n_targets;
        let base = r * nt;
        if DENSE_SUM {
            match nt {
                1 => fold::<T, 1>(&self.leaf_weights, leaf as usize, &mut acc.values[base..]),
                2 => fold::<T, 2>(&self.leaf_weights, leaf as usize, &mut acc.values[base..]),
                _ => {
                    let w = &self.leaf_weights[leaf as usize * nt..][..nt];
                    for (v, &w) in acc.values[base..base + nt].iter_mut().zip(w) {
                        *v += w;
                    }
                }
            }
            return;
        }
        let l = leaf as usize;
        let span = self.leaf_start[l] as usize..self.leaf_start[l + 1] as usize;
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

/// Adds leaf `leaf`'s `NT` weights (dense: `NT` per leaf) to the first `NT` of `values`.
#[inline(always)]
fn fold<T: Value, const NT: usize>(weights: &[T], leaf: usize, values: &mut [T]) {
    let w = &weights[leaf * NT..][..NT];
    for (v, &w) in values[..NT].iter_mut().zip(w) {
        *v += w;
    }
}

/// Adds the `NT` weights of each of `leaves` in turn to the first `NT` of `values` (the same
/// additions in the same order as one [`fold`] per leaf).
#[inline(always)]
fn fold_many<T: Value, const NT: usize, const N: usize>(
    weights: &[T],
    leaves: &[u32; N],
    values: &mut [T],
) {
    let values = &mut values[..NT];
    let mut sum: [T; NT] = std::array::from_fn(|j| values[j]);
    for &leaf in leaves {
        let w = &weights[leaf as usize * NT..][..NT];
        for (s, &w) in sum.iter_mut().zip(w) {
            *s += w;
        }
    }
    values.copy_from_slice(&sum);
}

/// The rows one evaluation (or one thread) walks: `n_rows` rows of `n_cols` features in `x`.
#[derive(Clone, Copy)]
struct Run<'a, T> {
    x: &'a [T],
    n_rows: usize,
    n_cols: usize,
    /// Whether groups of rows walk [`TREES`] trees at once (else one tree at a time).
    grouped: bool,
}

/// Whether tests asked this thread for the bounds-checked walk (to compare it with the
/// unchecked one); always false outside tests.
#[cfg(test)]
fn force_checked_walk() -> bool {
    FORCE_CHECKED.with(std::cell::Cell::get)
}

#[cfg(not(test))]
fn force_checked_walk() -> bool {
    false
}

#[cfg(test)]
thread_local! {
    /// Set by tests to take the bounds-checked walk on this thread.
    pub(crate) static FORCE_CHECKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Accumulators of one evaluation (or of one thread's rows).
struct Acc<'a, T> {
    aggregate: Aggregate,
    /// Whether `hit` is maintained (always for Min/Max, which need it).
    track: bool,
    values: &'a mut [T],
    hit: &'a mut [bool],
}

/// Walks `N` rows through a tree in complete layout (`depth` levels of `branches`) in lockstep
/// and returns the complete position each reached (a leaf slot: `(1 << depth) - 1` and up).
#[inline(always)]
fn walk_complete<T: Value, const N: usize>(
    branches: &[FlatBranch<T>],
    depth: u32,
    x: &[T],
    offsets: &[usize; N],
) -> [usize; N] {
    let mut at = [0usize; N];
    for _ in 0..depth {
        for (a, &offset) in at.iter_mut().zip(offsets) {
            let b = branches[*a];
            let first = x[offset + b.feature as usize] <= b.value;
            *a = 2 * *a + 1 + usize::from(!first);
        }
    }
    at
}

/// Rows per part when a thread's share is `chunk` rows: about [`PARTS_PER_THREAD`] parts, whole
/// blocks of [`BLOCK`] rows (at most `chunk`).
pub(super) fn part_rows(chunk: usize) -> usize {
    (chunk.div_ceil(PARTS_PER_THREAD).div_ceil(BLOCK) * BLOCK).min(chunk)
}

/// The shallowest and the deepest leaf over `depths` (per tree: shallowest, deepest), the step
/// bounds of a lockstep walk over those trees.
fn depth_range(depths: &[(u32, u32)]) -> (u32, u32) {
    depths
        .iter()
        .fold((u32::MAX, 0), |(lo, hi), &(a, b)| (lo.min(a), hi.max(b)))
}

/// Threads a large evaluation may use: `IRONFLOW_TREE_THREADS` when set (1 turns threading
/// off), else the available cores.
pub(crate) fn max_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("IRONFLOW_TREE_THREADS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    })
}
