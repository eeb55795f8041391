//! Evaluator tests: every split mode and NaN routing against a direct reading of the node
//! tables, aggregates, shapes, and malformed tables (errors, never panics).

use super::*;

/// The split semantics, read directly from the spec (onnxruntime's `x CMP t || (mtt && isnan)`).
fn holds<T: Value>(split: &Split<T>, mtt: bool, x: T) -> bool {
    let x64 = x.to_f64();
    let plain = match split {
        Split::Compare(Cmp::Leq, t) => x <= *t,
        Split::Compare(Cmp::Lt, t) => x < *t,
        Split::Compare(Cmp::Gte, t) => x >= *t,
        Split::Compare(Cmp::Gt, t) => x > *t,
        Split::Compare(Cmp::Eq, t) => x == *t,
        Split::Compare(Cmp::Neq, t) => x != *t,
        Split::Member(values) => values.contains(&x),
        Split::Category(cats) => !x64.is_nan() && cats.iter().any(|&c| f64::from(c) == x64.trunc()),
    };
    plain || (mtt && x.nan())
}

/// Walks a spec directly (recursion-free) and sums leaf weights per target.
fn reference<T: Value>(trees: &[TreeSpec<T>], row: &[T], n_targets: usize) -> Vec<T> {
    let mut out = vec![T::default(); n_targets];
    for tree in trees {
        let mut i = tree.root;
        loop {
            match &tree.nodes[i] {
                TreeNode::Branch(b) => {
                    i = if holds(&b.split, b.missing_goes_true, row[b.feature]) {
                        b.if_true
                    } else {
                        b.if_false
                    }
                }
                TreeNode::Leaf(ws) => {
                    ws.iter().for_each(|w| out[w.target] += w.weight);
                    break;
                }
            }
        }
    }
    out
}

/// One branch on feature 0 with leaves 1.0 (true) and 2.0 (false).
fn stump<T: Value>(split: Split<T>, mtt: bool) -> TreeSpec<T> {
    TreeSpec::new(vec![
        TreeNode::Branch(Branch {
            feature: 0,
            split,
            missing_goes_true: mtt,
            if_true: 1,
            if_false: 2,
        }),
        TreeNode::leaf(T::from_f64(1.0)),
        TreeNode::leaf(T::from_f64(2.0)),
    ])
}

fn forest<T: Value>(
    n_features: usize,
    n_targets: usize,
    trees: &[TreeSpec<T>],
) -> Result<Forest<T>, TreeError> {
    let mut b = ForestBuilder::new(n_features, n_targets);
    trees.iter().for_each(|t| {
        b.push(t.clone());
    });
    b.build()
}

fn probes<T: Value>(t: f64) -> Vec<T> {
    let t = T::from_f64(t);
    let mut xs = vec![
        t,
        t.below(),
        T::NAN,
        T::INFINITY,
        T::NEG_INFINITY,
        T::default(),
        -T::default(),
    ];
    xs.extend([-1.5, 0.5, 1.0, 2.0, 1e30, -1e30].map(T::from_f64));
    // Just above t: -below(-t).
    if !t.nan() && t != T::INFINITY {
        xs.push(T::from_f64(-(T::from_f64(-t.to_f64()).below()).to_f64()));
    }
    xs
}

fn check_modes<T: Value>() {
    let thresholds = [
        0.5,
        -0.0,
        0.0,
        1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e-40,
    ];
    for t in thresholds {
        for cmp in [Cmp::Leq, Cmp::Lt, Cmp::Gte, Cmp::Gt, Cmp::Eq, Cmp::Neq] {
            for mtt in [false, true] {
                let split = Split::Compare(cmp, T::from_f64(t));
                let tree = stump(split.clone(), mtt);
                let f = forest(1, 1, std::slice::from_ref(&tree)).expect("valid stump");
                let xs = probes::<T>(t);
                let got = f
                    .aggregate(&xs, xs.len(), 1, Aggregate::Sum)
                    .expect("evaluates");
                for (x, y) in xs.iter().zip(got.values()) {
                    let want = if holds(&split, mtt, *x) { 1.0 } else { 2.0 };
                    assert_eq!(y.to_f64(), want, "{cmp:?} t={t} mtt={mtt} x={x:?}");
                }
            }
        }
    }
}

#[test]
fn every_comparison_mode_matches_its_definition_f32() {
    check_modes::<f32>();
}

#[test]
fn every_comparison_mode_matches_its_definition_f64() {
    check_modes::<f64>();
}

#[test]
fn membership_and_categories() {
    let xs: Vec<f64> = vec![
        0.0,
        1.0,
        2.0,
        2.5,
        3.0,
        3.9,
        7.0,
        -1.0,
        -0.5,
        f64::NAN,
        1e9,
        1e9 + 1.0,
    ];
    for split in [
        Split::Member(vec![1.0, 3.0, 1e9]),
        Split::Member(vec![2.5, -1.0, f64::NAN]),
        Split::Member(vec![]),
        Split::Category(vec![0, 3, 7]),
    ] {
        for mtt in [false, true] {
            let tree = stump(split.clone(), mtt);
            let f = forest(1, 1, std::slice::from_ref(&tree)).expect("valid");
            let got = f
                .aggregate(&xs, xs.len(), 1, Aggregate::Sum)
                .expect("evaluates");
            for (x, y) in xs.iter().zip(got.values()) {
                let want = if holds(&split, mtt, *x) { 1.0 } else { 2.0 };
                assert_eq!(*y, want, "{split:?} mtt={mtt} x={x}");
            }
        }
    }
}

#[test]
fn missing_values_follow_the_flag_whatever_the_mode() {
    for cmp in [Cmp::Leq, Cmp::Lt, Cmp::Gte, Cmp::Gt, Cmp::Eq] {
        for (mtt, want) in [(false, 2.0f32), (true, 1.0)] {
            let f = forest(1, 1, &[stump(Split::Compare(cmp, 0.5f32), mtt)]).expect("valid");
            let got = f
                .aggregate(&[f32::NAN], 1, 1, Aggregate::Sum)
                .expect("evaluates");
            assert_eq!(got.values(), &[want], "{cmp:?} mtt={mtt}");
        }
    }
    // NaN != t holds, so NaN takes the true branch either way.
    let f = forest(1, 1, &[stump(Split::Compare(Cmp::Neq, 0.5f32), false)]).expect("valid");
    assert_eq!(
        f.aggregate(&[f32::NAN], 1, 1, Aggregate::Sum)
            .expect("evaluates")
            .values(),
        &[1.0]
    );
}

/// A small deterministic generator (no dev-dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

/// A random tree of mixed modes, with node ids shuffled so children come before or after parents.
fn random_tree(rng: &mut Lcg, n_features: usize, n_targets: usize, depth: usize) -> TreeSpec<f32> {
    fn grow(
        rng: &mut Lcg,
        nodes: &mut Vec<TreeNode<f32>>,
        nf: usize,
        nt: usize,
        depth: usize,
    ) -> usize {
        let me = nodes.len();
        nodes.push(TreeNode::Leaf(vec![]));
        if depth == 0 || rng.below(5) == 0 {
            let n = 1 + rng.below(nt);
            let ws = (0..n).map(|_| LeafWeight {
                target: rng.below(nt),
                weight: rng.unit() as f32 - 0.5,
            });
            nodes[me] = TreeNode::Leaf(ws.collect());
            return me;
        }
        let t = (rng.unit() * 4.0 - 2.0) as f32;
        let split = match rng.below(8) {
            0 => Split::Compare(Cmp::Lt, t),
            1 => Split::Compare(Cmp::Gte, t),
            2 => Split::Compare(Cmp::Gt, t),
            3 => Split::Member(vec![0.0, 1.0, t]),
            4 => Split::Category(vec![0, 2]),
            _ => Split::Compare(Cmp::Leq, t),
        };
        let feature = rng.below(nf);
        let missing_goes_true = rng.below(3) == 0;
        let if_true = grow(rng, nodes, nf, nt, depth - 1);
        let if_false = grow(rng, nodes, nf, nt, depth - 1);
        nodes[me] = TreeNode::Branch(Branch {
            feature,
            split,
            missing_goes_true,
            if_true,
            if_false,
        });
        me
    }
    let mut nodes = Vec::new();
    grow(rng, &mut nodes, n_features, n_targets, depth);
    // Reverse the table so the root is last and children precede parents.
    let n = nodes.len();
    let remap = |i: usize| n - 1 - i;
    let nodes: Vec<_> = nodes
        .into_iter()
        .rev()
        .map(|node| match node {
            TreeNode::Branch(mut b) => {
                b.if_true = remap(b.if_true);
                b.if_false = remap(b.if_false);
                TreeNode::Branch(b)
            }
            leaf => leaf,
        })
        .collect();
    TreeSpec { nodes, root: n - 1 }
}

#[test]
fn lockstep_walks_match_the_reference_on_random_forests() {
    let mut rng = Lcg(42);
    let (nf, nt) = (5, 3);
    let trees: Vec<_> = (0..20).map(|_| random_tree(&mut rng, nf, nt, 7)).collect();
    let f = forest(nf, nt, &trees).expect("valid");
    for n_rows in [0, 1, 7, 8, 9, 63, 64, 65, 200] {
        let x: Vec<f32> = (0..n_rows * nf)
            .map(|_| match rng.below(10) {
                0 => f32::NAN,
                1 => rng.below(3) as f32,
                _ => (rng.unit() * 4.0 - 2.0) as f32,
            })
            .collect();
        let got = f
            .aggregate(&x, n_rows, nf, Aggregate::Sum)
            .expect("evaluates");
        assert_eq!(got.n_rows(), n_rows);
        for r in 0..n_rows {
            let want = reference(&trees, &x[r * nf..(r + 1) * nf], nt);
            assert_eq!(got.row(r), &want[..], "row {r} of {n_rows}");
        }
    }
}

/// `tree` with its set splits turned into numeric ones (so it gets a complete layout).
fn numeric_only(mut tree: TreeSpec<f32>) -> TreeSpec<f32> {
    for node in &mut tree.nodes {
        if let TreeNode::Branch(b) = node {
            if matches!(b.split, Split::Member(_) | Split::Category(_)) {
                b.split = Split::Compare(Cmp::Leq, 0.5);
            }
        }
    }
    tree
}

/// Rows of `nf` features, a NaN in about one value of `nan_every` (0: none).
fn random_rows(rng: &mut Lcg, n_rows: usize, nf: usize, nan_every: usize) -> Vec<f32> {
    (0..n_rows * nf)
        .map(|_| match rng.below(10 * nan_every.max(1)) {
            0 if nan_every > 0 => f32::NAN,
            1 => rng.below(3) as f32,
            _ => (rng.unit() * 4.0 - 2.0) as f32,
        })
        .collect()
}

#[test]
fn complete_layouts_match_the_reference_with_and_without_nan() {
    let mut rng = Lcg(7);
    let (nf, nt) = (6, 3);
    // Shallow trees get a complete layout; the depth-12 ones keep the compact one.
    let mut trees: Vec<_> = (0..24)
        .map(|i| numeric_only(random_tree(&mut rng, nf, nt, [0, 1, 3, 6, 9][i % 5])))
        .collect();
    trees.push(numeric_only(random_tree(&mut rng, nf, nt, 12)));
    let mut f = forest(nf, nt, &trees).expect("valid");
    f.lay_out_complete();
    assert!(f.complete.iter().filter(|c| c.is_some()).count() >= 20);
    for (n_rows, nan_every) in [(1, 0), (9, 0), (64, 0), (200, 0), (200, 1), (300, 40)] {
        let x = random_rows(&mut rng, n_rows, nf, nan_every);
        for aggregate in [Aggregate::Sum, Aggregate::Min, Aggregate::Max] {
            let got = f.aggregate(&x, n_rows, nf, aggregate).expect("evaluates");
            let slow = forest(nf, nt, &trees)
                .map(|mut g| {
                    g.complete.iter_mut().for_each(|c| *c = None);
                    g
                })
                .expect("valid");
            let want = slow
                .aggregate(&x, n_rows, nf, aggregate)
                .expect("evaluates");
            assert_eq!(got, want, "{n_rows} rows, NaN 1/{nan_every}, {aggregate:?}");
        }
        let got = f
            .aggregate(&x, n_rows, nf, Aggregate::Sum)
            .expect("evaluates");
        assert_rows_match_reference(&got, &trees, &x, nf, nt);
    }
}

#[test]
fn large_batches_split_across_threads_give_the_same_results() {
    let mut rng = Lcg(11);
    let (nf, nt) = (5, 2);
    let trees: Vec<_> = (0..40).map(|_| random_tree(&mut rng, nf, nt, 6)).collect();
    let f = forest(nf, nt, &trees).expect("valid");
    let n_rows = 9_001;
    assert_eq!(f.threads_for(n_rows), max_threads_for_tests().min(2));
    let x = random_rows(&mut rng, n_rows, nf, 3);
    for aggregate in [Aggregate::Sum, Aggregate::Average, Aggregate::Max] {
        let got = f.aggregate(&x, n_rows, nf, aggregate).expect("evaluates");
        for r in (0..n_rows).step_by(97).chain([n_rows - 1]) {
            let one = f
                .aggregate(&x[r * nf..(r + 1) * nf], 1, nf, aggregate)
                .expect("evaluates");
            assert_eq!(got.row(r), one.row(0), "row {r}, {aggregate:?}");
            assert_eq!(got.hit(r), one.hit(0), "row {r}, {aggregate:?}");
        }
    }
}

#[test]
fn concurrent_large_batches_share_the_pool_and_give_the_same_results() {
    // Several callers at once, each splitting its batch into parts that its own thread and the
    // pool's workers take from one queue: every caller gets exactly its single-call answer.
    let mut rng = Lcg(5);
    let (nf, nt) = (4, 1);
    let trees: Vec<_> = (0..60).map(|_| random_tree(&mut rng, nf, nt, 7)).collect();
    let f = forest(nf, nt, &trees).expect("valid");
    let n_rows = 12_007;
    let batches: Vec<Vec<f32>> = (0..3)
        .map(|_| random_rows(&mut rng, n_rows, nf, 5))
        .collect();
    let alone: Vec<_> = batches
        .iter()
        .map(|x| {
            f.aggregate(x, n_rows, nf, Aggregate::Sum)
                .expect("evaluates")
        })
        .collect();
    std::thread::scope(|scope| {
        let calls: Vec<_> = batches
            .iter()
            .map(|x| scope.spawn(|| f.aggregate(x, n_rows, nf, Aggregate::Sum)))
            .collect();
        for (call, want) in calls.into_iter().zip(&alone) {
            let got = call.join().expect("no panic").expect("evaluates");
            assert_eq!(bits(&got), bits(want));
        }
    });
    for r in (0..n_rows).step_by(331).chain([n_rows - 1]) {
        let x = &batches[1][r * nf..(r + 1) * nf];
        let one = f.aggregate(x, 1, nf, Aggregate::Sum).expect("evaluates");
        assert_eq!(alone[1].row(r), one.row(0), "row {r}");
    }
}

#[test]
fn parts_are_whole_blocks_within_a_thread_share() {
    use super::eval::part_rows;
    assert_eq!(part_rows(5_000), 1_280);
    assert_eq!(part_rows(64), 64);
    assert_eq!(part_rows(100), 64);
    assert_eq!(part_rows(8), 8);
}

/// Threads the evaluator may use here (at most 2 are asked for by the test above).
fn max_threads_for_tests() -> usize {
    std::env::var("IRONFLOW_TREE_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn two_trees_two_targets() -> Vec<TreeSpec<f64>> {
    let w = |target, weight| LeafWeight { target, weight };
    vec![
        TreeSpec::new(vec![
            TreeNode::branch(0, Split::Compare(Cmp::Leq, 0.0), 1, 2),
            TreeNode::Leaf(vec![w(0, 1.0), w(1, 10.0)]),
            TreeNode::Leaf(vec![w(0, 3.0)]),
        ]),
        TreeSpec::new(vec![TreeNode::Leaf(vec![w(0, 2.0)])]),
    ]
}

#[test]
fn aggregates_fold_leaf_weights_per_target() {
    let f = forest(1, 2, &two_trees_two_targets()).expect("valid");
    let x = [-1.0, 1.0];
    let cases = [
        (Aggregate::Sum, [3.0, 10.0, 5.0, 0.0]),
        (Aggregate::Average, [1.5, 5.0, 2.5, 0.0]),
        (Aggregate::Min, [1.0, 10.0, 2.0, 0.0]),
        (Aggregate::Max, [2.0, 10.0, 3.0, 0.0]),
    ];
    for (agg, want) in cases {
        let got = f.aggregate(&x, 2, 1, agg).expect("evaluates");
        assert_eq!(got.values(), &want, "{agg:?}");
        assert_eq!(got.hit(0), &[true, true]);
        assert_eq!(
            got.hit(1),
            &[true, false],
            "target 1 is never written for x > 0"
        );
    }
}

#[test]
fn single_leaf_forests_need_no_columns() {
    let tree = TreeSpec::new(vec![TreeNode::leaf(2.5f32)]);
    let f = forest(0, 1, &[tree.clone(), tree]).expect("valid");
    let got = f.aggregate(&[], 3, 0, Aggregate::Sum).expect("evaluates");
    assert_eq!(got.values(), &[5.0, 5.0, 5.0]);
}

#[test]
fn empty_forests_and_empty_batches() {
    let f = forest::<f32>(3, 2, &[]).expect("no trees is valid");
    let got = f
        .aggregate(&[1.0, 2.0, 3.0], 1, 3, Aggregate::Sum)
        .expect("evaluates");
    assert_eq!(got.values(), &[0.0, 0.0]);
    assert_eq!(got.hit(0), &[false, false]);
    let f = forest(1, 2, &two_trees_two_targets()).expect("valid");
    assert_eq!(
        f.aggregate(&[], 0, 1, Aggregate::Max)
            .expect("evaluates")
            .n_rows(),
        0
    );
}

#[test]
fn shared_subtrees_are_allowed() {
    // Both branches of the root reach node 1.
    let tree = TreeSpec::new(vec![
        TreeNode::branch(0, Split::Compare(Cmp::Leq, 0.0f32), 1, 1),
        TreeNode::branch(1, Split::Compare(Cmp::Leq, 0.0), 2, 3),
        TreeNode::leaf(1.0),
        TreeNode::leaf(2.0),
    ]);
    let f = forest(2, 1, &[tree]).expect("a DAG is valid");
    let got = f
        .aggregate(&[5.0, -1.0, -5.0, 1.0], 2, 2, Aggregate::Sum)
        .expect("evaluates");
    assert_eq!(got.values(), &[1.0, 2.0]);
    assert_eq!(f.n_leaves(), 2);
}

#[test]
fn inputs_that_do_not_fit_are_errors() {
    let f = forest(3, 1, &[stump(Split::Compare(Cmp::Leq, 0.5f32), false)]).expect("valid");
    assert_eq!(f.max_feature(), Some(0));
    assert_eq!(
        f.aggregate(&[1.0, 2.0], 1, 3, Aggregate::Sum),
        Err(TreeError::InputShape {
            len: 2,
            n_rows: 1,
            n_cols: 3
        })
    );
    assert_eq!(
        f.aggregate(&[], 2, 0, Aggregate::Sum),
        Err(TreeError::TooFewFeatures {
            n_cols: 0,
            max_feature: 0
        })
    );
}

#[test]
fn malformed_tables_are_errors_naming_tree_and_node() {
    let ok = stump(Split::Compare(Cmp::Leq, 0.5f32), false);
    let leaf = || TreeNode::leaf(1.0f32);
    let branch = |f, t, e| TreeNode::branch(f, Split::Compare(Cmp::Leq, 0.0f32), t, e);
    let cases: Vec<(TreeSpec<f32>, TreeError)> = vec![
        (TreeSpec::new(vec![]), TreeError::EmptyTree { tree: 1 }),
        (
            TreeSpec {
                nodes: vec![leaf()],
                root: 3,
            },
            TreeError::RootOutOfRange {
                tree: 1,
                root: 3,
                n_nodes: 1,
            },
        ),
        (
            TreeSpec::new(vec![branch(0, 1, 9), leaf()]),
            TreeError::ChildOutOfRange {
                tree: 1,
                node: 0,
                side: "false",
                child: 9,
                n_nodes: 2,
            },
        ),
        (
            TreeSpec::new(vec![branch(0, 0, 1), leaf()]),
            TreeError::Cycle { tree: 1, node: 0 },
        ),
        (
            TreeSpec::new(vec![branch(0, 1, 2), leaf(), branch(1, 0, 1)]),
            TreeError::Cycle { tree: 1, node: 0 },
        ),
        (
            TreeSpec::new(vec![branch(7, 1, 1), leaf()]),
            TreeError::FeatureOutOfRange {
                tree: 1,
                node: 0,
                feature: 7,
                n_features: 2,
            },
        ),
        (
            TreeSpec::new(vec![TreeNode::Leaf(vec![LeafWeight {
                target: 4,
                weight: 1.0,
            }])]),
            TreeError::TargetOutOfRange {
                tree: 1,
                node: 0,
                target: 4,
                n_targets: 1,
            },
        ),
    ];
    for (bad, want) in cases {
        let got = forest(2, 1, &[ok.clone(), bad.clone()]);
        assert_eq!(got.as_ref().err(), Some(&want), "{bad:?}");
        assert!(!want.to_string().is_empty());
    }
}

#[test]
fn unreachable_nodes_are_ignored() {
    // Node 3 is garbage but nothing reaches it.
    let tree = TreeSpec::new(vec![
        TreeNode::branch(0, Split::Compare(Cmp::Leq, 0.0f32), 1, 2),
        TreeNode::leaf(1.0),
        TreeNode::leaf(2.0),
        TreeNode::branch(0, Split::Compare(Cmp::Leq, 0.0), 3, 3),
    ]);
    let f = forest(1, 1, &[tree]).expect("valid");
    assert_eq!(f.n_nodes(), 3);
}

#[test]
fn random_tables_build_or_fail_but_never_panic() {
    let mut rng = Lcg(99);
    for _ in 0..2000 {
        let n = 1 + rng.below(8);
        let nodes = (0..n)
            .map(|_| match rng.below(3) {
                0 => TreeNode::Leaf(vec![LeafWeight {
                    target: rng.below(3),
                    weight: 1.0f32,
                }]),
                _ => TreeNode::Branch(Branch {
                    feature: rng.below(4),
                    split: Split::Compare(Cmp::Leq, 0.5),
                    missing_goes_true: rng.below(2) == 0,
                    if_true: rng.below(n + 1),
                    if_false: rng.below(n + 1),
                }),
            })
            .collect();
        let tree = TreeSpec {
            nodes,
            root: rng.below(n + 1),
        };
        // 3 features and 2 targets declared, so some tables are out of range on purpose.
        if let Ok(f) = forest(3, 2, &[tree]) {
            let x: Vec<f32> = (0..9).map(|_| rng.unit() as f32).collect();
            assert!(f.aggregate(&x, 3, 3, Aggregate::Sum).is_ok());
        }
    }
}

/// A complete tree of `depth` levels of `x[f] <= t` splits over uniform [0, 1) features, leaves
/// holding one weight per target (a random forest's class probabilities).
fn complete_tree(rng: &mut Lcg, n_features: usize, n_targets: usize, depth: u32) -> TreeSpec<f32> {
    let n_branches = (1usize << depth) - 1;
    let mut nodes = Vec::with_capacity(2 * n_branches + 1);
    for i in 0..n_branches {
        let split = Split::Compare(Cmp::Leq, rng.unit() as f32);
        nodes.push(TreeNode::branch(
            rng.below(n_features),
            split,
            2 * i + 1,
            2 * i + 2,
        ));
    }
    for _ in 0..=n_branches {
        let ws = (0..n_targets).map(|target| LeafWeight {
            target,
            weight: rng.unit() as f32,
        });
        nodes.push(TreeNode::Leaf(ws.collect()));
    }
    TreeSpec::new(nodes)
}

/// Rough speed figure: `cargo test --release -p ironflow-loader tree_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn tree_speed() {
    let mut rng = Lcg(7);
    for (n_trees, depth, n_targets) in [(100, 8, 3), (100, 3, 3), (100, 6, 1)] {
        let nf = 13;
        let trees: Vec<_> = (0..n_trees)
            .map(|_| complete_tree(&mut rng, nf, n_targets, depth))
            .collect();
        let walk = forest(nf, n_targets, &trees).expect("valid");
        let mut quick = walk.clone();
        quick.quick = super::quick::Quick::build(&quick).map(Box::new);
        let layouts = [("walk", &walk), ("quickscorer", &quick)];
        for (layout, f) in layouts
            .into_iter()
            .filter(|(l, f)| *l == "walk" || f.quick.is_some())
        {
            for n_rows in [1, 16, 64, 256, 4096] {
                let x: Vec<f32> = (0..n_rows * nf).map(|_| rng.unit() as f32).collect();
                let reps = (2_000_000 / (n_rows * n_trees)).max(3);
                let start = std::time::Instant::now();
                let mut check = 0.0f32;
                for _ in 0..reps {
                    check += f
                        .aggregate(&x, n_rows, nf, Aggregate::Sum)
                        .expect("evaluates")
                        .values()[0];
                }
                let ns = start.elapsed().as_nanos() as f64 / (reps * n_rows * n_trees) as f64;
                eprintln!(
                    "{layout}: {n_trees} trees depth {depth} ({} nodes), {n_targets} targets, batch {n_rows}: {ns:.1} ns/tree/row ({check:.0})",
                    f.n_nodes()
                );
            }
        }
    }
}

/// The bits of `scores`' values (so `-0.0`, `0.0` and NaNs compare exactly).
fn bits(scores: &Scores<f32>) -> Vec<u32> {
    scores.values().iter().map(|v| v.to_bits()).collect()
}

/// Every row of `got` (row-major `x`, `nf` features) equals the reference walk of `trees`.
fn assert_rows_match_reference(
    got: &Scores<f32>,
    trees: &[TreeSpec<f32>],
    x: &[f32],
    nf: usize,
    nt: usize,
) {
    for r in 0..got.n_rows() {
        let want = reference(trees, &x[r * nf..(r + 1) * nf], nt);
        assert_eq!(got.row(r), &want[..], "row {r} of {}", got.n_rows());
    }
}

/// Runs `f` with this thread's evaluations on the bounds-checked walk, one tree at a time (the
/// walk before groups of rows walked several trees at once without bounds checks).
fn checked_walk<R>(f: impl FnOnce() -> R) -> R {
    super::eval::FORCE_CHECKED.with(|c| c.set(true));
    let out = f();
    super::eval::FORCE_CHECKED.with(|c| c.set(false));
    out
}

#[test]
fn grouped_unchecked_walks_match_the_checked_walk_bit_for_bit() {
    let mut rng = Lcg(2024);
    let nf = 6;
    // 1 to 3 targets (the folds specialised for 1 and 2), tree counts around multiples of the
    // group of trees, set splits and NaN routing (random_tree), batches around the group and
    // block sizes, and one split across threads.
    for (nt, n_trees) in [(1, 1), (1, 7), (2, 3), (2, 11), (3, 5), (3, 12)] {
        let trees: Vec<_> = (0..n_trees)
            .map(|i| random_tree(&mut rng, nf, nt, [2, 5, 8][i % 3]))
            .collect();
        let f = forest(nf, nt, &trees).expect("valid");
        assert!(f.links_checked);
        for (n_rows, nan_every) in [(1, 0), (3, 1), (4, 0), (5, 2), (63, 0), (65, 1), (200, 3)] {
            let x = random_rows(&mut rng, n_rows, nf, nan_every);
            for aggregate in [
                Aggregate::Sum,
                Aggregate::Average,
                Aggregate::Min,
                Aggregate::Max,
            ] {
                let fast = f.aggregate(&x, n_rows, nf, aggregate).expect("evaluates");
                let slow =
                    checked_walk(|| f.aggregate(&x, n_rows, nf, aggregate)).expect("evaluates");
                assert_eq!(
                    bits(&fast),
                    bits(&slow),
                    "{nt} targets, {n_trees} trees, {n_rows} rows"
                );
                for r in 0..n_rows {
                    assert_eq!(fast.hit(r), slow.hit(r), "row {r}");
                }
            }
            let got = f
                .aggregate(&x, n_rows, nf, Aggregate::Sum)
                .expect("evaluates");
            assert_rows_match_reference(&got, &trees, &x, nf, nt);
        }
    }
    let trees: Vec<_> = (0..30).map(|_| random_tree(&mut rng, nf, 2, 6)).collect();
    let f = forest(nf, 2, &trees).expect("valid");
    let n_rows = 6_001;
    let x = random_rows(&mut rng, n_rows, nf, 5);
    let fast = f
        .aggregate(&x, n_rows, nf, Aggregate::Sum)
        .expect("evaluates");
    let slow = checked_walk(|| f.aggregate(&x, n_rows, nf, Aggregate::Sum)).expect("evaluates");
    assert_eq!(fast, slow);
}

#[test]
fn links_out_of_range_are_detected() {
    let trees = two_trees_two_targets();
    let mut f = forest(2, 2, &trees).expect("valid");
    assert!(f.links_in_range());
    if let Some(node) = f.nodes.iter_mut().find(|n| !n.value.nan()) {
        node.left = u32::MAX - 4;
    }
    assert!(!f.links_in_range());
}

/// Every tree model of the corpus (sklearn trees, forests, GB and HGB; XGBoost; LightGBM;
/// skl2onnx TreeEnsemble), f32 and f64 thresholds, NaN routing: the grouped unchecked walk and
/// the checked walk give the same bits.
#[test]
fn corpus_forests_give_the_same_bits_in_both_walks() {
    let prefixes = [
        "xgb-",
        "lgb-",
        "sk-rf-",
        "sk-gb-",
        "sk-hgb-",
        "sk-dtree-",
        "sk-extratrees-",
        "sk-skops-rf",
        "sk-columntransformer-rf-",
        "onnx-skl-rf-",
    ];
    for corpus in
        crate::test_support::corpus_roots("corpus_forests_give_the_same_bits_in_both_walks")
    {
        let mut names: Vec<String> = std::fs::read_dir(&corpus)
            .expect("the corpus exists")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
            .collect();
        names.sort();
        assert!(names.len() >= 20, "{}: {names:?}", corpus.display());
        for name in names {
            let dir = corpus.join(&name);
            let model = crate::load(&dir.join("model")).unwrap_or_else(|e| panic!("{name}: {e}"));
            let request = crate::test_support::read_json(&dir.join("request.json"));
            let inputs = crate::test_support::decode_request(&request);
            let fast = model.predict(inputs.clone()).expect("predicts");
            let slow = checked_walk(|| model.predict(inputs)).expect("predicts");
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{name}");
        }
    }
}

/// Forests with no flag on any node (`<=` and `<` splits, NaN not routed by flag) read node features
/// unmasked (`raw_features`); that walk gives the checked walk's bits and the reference's values,
/// NaN features included.
#[test]
fn flag_free_forests_walk_unmasked_features_with_the_same_bits() {
    let mut rng = Lcg(77);
    let nf = 5;
    for (nt, n_trees) in [(1, 4), (2, 9), (3, 6)] {
        let trees: Vec<_> = (0..n_trees)
            .map(|i| {
                let mut tree = numeric_only(random_tree(&mut rng, nf, nt, [3, 6, 9][i % 3]));
                for node in &mut tree.nodes {
                    if let TreeNode::Branch(b) = node {
                        b.missing_goes_true = false;
                        // `>` and `>=` swap the children and route NaN by flag.
                        if let Split::Compare(cmp, v) = &b.split {
                            if !matches!(cmp, Cmp::Leq | Cmp::Lt) {
                                b.split = Split::Compare(Cmp::Leq, *v);
                            }
                        }
                    }
                }
                tree
            })
            .collect();
        let f = forest(nf, nt, &trees).expect("valid");
        assert!(f.raw_features && !f.has_nan_first && !f.has_sets);
        for (n_rows, nan_every) in [(1, 0), (7, 0), (70, 2), (301, 0)] {
            let x = random_rows(&mut rng, n_rows, nf, nan_every);
            let fast = f
                .aggregate(&x, n_rows, nf, Aggregate::Sum)
                .expect("evaluates");
            let slow = checked_walk(|| f.aggregate(&x, n_rows, nf, Aggregate::Sum)).expect("ok");
            assert_eq!(bits(&fast), bits(&slow), "{nt} targets, {n_rows} rows");
            assert_rows_match_reference(&fast, &trees, &x, nf, nt);
        }
    }
    // A NaN-routing flag anywhere keeps the masked walk.
    let trees: Vec<_> = (0..3).map(|_| random_tree(&mut rng, nf, 1, 6)).collect();
    let f = forest(nf, 1, &trees).expect("valid");
    assert_eq!(f.raw_features, !f.has_nan_first && !f.has_sets);
}

/// `tree` with every leaf holding one weight per target, in target order (a dense forest).
fn dense_leaves(mut tree: TreeSpec<f32>, nt: usize, rng: &mut Lcg) -> TreeSpec<f32> {
    for node in &mut tree.nodes {
        if let TreeNode::Leaf(ws) = node {
            *ws = (0..nt)
                .map(|target| LeafWeight {
                    target,
                    weight: rng.unit() as f32 - 0.5,
                })
                .collect();
        }
    }
    tree
}

#[test]
fn quickscorer_layout_gives_the_walks_bits() {
    let mut rng = Lcg(23);
    for (nf, nt) in [(5, 1), (4, 2), (6, 3)] {
        let trees: Vec<_> = (0..30)
            .map(|_| {
                let tree = numeric_only(random_tree(&mut rng, nf, nt, 6));
                dense_leaves(tree, nt, &mut rng)
            })
            .collect();
        let walk = forest(nf, nt, &trees).expect("valid");
        assert!(walk.dense);
        let mut quick = walk.clone();
        quick.quick = super::quick::Quick::build(&quick).map(Box::new);
        assert!(
            quick.quick.is_some(),
            "trees of depth 6 have at most 64 leaves"
        );
        for nan_every in [0, 3] {
            for n_rows in [1, 5, 64, 300] {
                let x = random_rows(&mut rng, n_rows, nf, nan_every);
                for aggregate in [Aggregate::Sum, Aggregate::Average] {
                    let want = walk.aggregate(&x, n_rows, nf, aggregate).expect("walks");
                    let got = quick.aggregate(&x, n_rows, nf, aggregate).expect("scores");
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{nf}x{nt}, {n_rows} rows, NaN 1/{nan_every}"
                    );
                }
                let got = quick
                    .aggregate(&x, n_rows, nf, Aggregate::Sum)
                    .expect("scores");
                assert_rows_match_reference(&got, &trees, &x, nf, nt);
            }
        }
    }
}

#[test]
fn quickscorer_layout_needs_at_most_64_leaves_and_no_sets() {
    let mut rng = Lcg(3);
    let deep = forest(3, 1, &[complete_tree(&mut rng, 3, 1, 7)]).expect("valid");
    assert!(super::quick::Quick::build(&deep).is_none(), "128 leaves");
    let shallow = forest(3, 1, &[complete_tree(&mut rng, 3, 1, 6)]).expect("valid");
    assert!(super::quick::Quick::build(&shallow).is_some(), "64 leaves");
    let sets = forest(1, 1, &[stump(Split::Member(vec![1.0f32, 2.0]), false)]).expect("valid");
    assert!(super::quick::Quick::build(&sets).is_none());
}
