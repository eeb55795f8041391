//! Bagged tree ensembles: `RandomForest*` and `ExtraTrees*` (docs/formats.md §2g). The forest
//! averages its trees: per-leaf normalised class fractions for classifiers (then
//! `classes_[argmax]`), leaf means for regressors, summed in tree order and divided by the
//! number of trees, as `ForestClassifier.predict_proba` / `ForestRegressor.predict` do.

use crate::pyobj::Instance;
use crate::tree::{Aggregate, TreeSpec};

use super::obj;
use super::tree::{
    single_output_classes, tree_inputs, ProbaLink, SkTree, TreeClassifier, TreeForest,
    TreeRegressor,
};
use super::{CompileError, Compiled, Ctx, Registry};

/// Registers the forests.
pub fn register(reg: &mut Registry) {
    for path in [
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
    ] {
        reg.insert(path, compile_classifier);
    }
    for path in [
        "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.ensemble._forest.ExtraTreesRegressor",
    ] {
        reg.insert(path, compile_regressor);
    }
}

/// Every fitted tree of `estimators_`.
pub(super) fn member_trees(inst: &Instance, ctx: &Ctx<'_>) -> Result<Vec<SkTree>, CompileError> {
    let items = obj::items(obj::attr(inst, "estimators_", ctx)?)
        .ok_or_else(|| ctx.invalid("estimators_ is not a list"))?;
    if items.is_empty() {
        return Err(ctx.invalid("estimators_ is empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let est = item
                .as_instance()
                .ok_or_else(|| ctx.invalid(format!("estimators_[{i}] is not an estimator")))?;
            let tree = obj::attr(est, "tree_", ctx)?;
            SkTree::read(tree, ctx, &format!("estimators_[{i}].tree_"))
        })
        .collect()
}

/// The forest's feature count: every tree must agree.
fn n_features(trees: &[SkTree], ctx: &Ctx<'_>) -> Result<usize, CompileError> {
    let n = trees.first().map_or(0, |t| t.n_features);
    if trees.iter().any(|t| t.n_features != n) {
        return Err(ctx.invalid("estimators_ disagree on the number of features"));
    }
    Ok(n)
}

fn specs(
    trees: &[SkTree],
    ctx: &Ctx<'_>,
    leaf: impl Fn(&SkTree, usize) -> Vec<crate::tree::LeafWeight<f64>>,
) -> Result<Vec<TreeSpec<f64>>, CompileError> {
    trees
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.spec(|n| leaf(t, n))
                .map_err(|m| ctx.invalid(format!("estimators_[{i}].tree_: {m}")))
        })
        .collect()
}

fn compile_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let trees = member_trees(inst, ctx)?;
    let n_classes = trees
        .first()
        .map(|t| t.n_classes.clone())
        .unwrap_or_default();
    if trees.iter().any(|t| t.n_classes != n_classes) {
        return Err(ctx.invalid("estimators_ disagree on the classes"));
    }
    let classes = single_output_classes(inst, &n_classes, ctx)?;
    let specs = specs(&trees, ctx, SkTree::class_fractions)?;
    let forest = TreeForest::build(
        n_features(&trees, ctx)?,
        classes.len(),
        specs,
        tree_inputs(&trees),
        ctx,
    )?;
    Ok(Compiled::Estimator(Box::new(TreeClassifier {
        forest,
        aggregate: Aggregate::Average,
        link: ProbaLink::Identity,
        classes,
        front: None,
    })))
}

fn compile_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let trees = member_trees(inst, ctx)?;
    let n_outputs = trees.first().map_or(1, SkTree::n_outputs);
    if trees.iter().any(|t| t.n_outputs() != n_outputs) {
        return Err(ctx.invalid("estimators_ disagree on the number of outputs"));
    }
    let specs = specs(&trees, ctx, |t, n| t.regression_values(n, 1.0, 0))?;
    let forest = TreeForest::build(
        n_features(&trees, ctx)?,
        n_outputs,
        specs,
        tree_inputs(&trees),
        ctx,
    )?;
    Ok(Compiled::Estimator(Box::new(TreeRegressor {
        forest,
        aggregate: Aggregate::Average,
        exp: false,
        flat: n_outputs == 1,
        front: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Cmp, LeafWeight, Split, TreeNode};

    use super::super::output::{Labels, Output};
    use super::super::table::{Column, Data, Matrix, Table};
    use super::super::tree::Inputs;
    use super::super::{Estimator, Method};

    /// A deterministic pseudo-random stream (no `rand` dependency).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A complete tree of `depth` levels on `n_features` columns with 3-class leaves.
    fn random_tree(rng: &mut Lcg, depth: u32, n_features: usize) -> TreeSpec<f64> {
        let n_branches = (1usize << depth) - 1;
        let mut nodes = Vec::with_capacity(2 * n_branches + 1);
        for i in 0..n_branches {
            let feature = (rng.next() * n_features as f64) as usize % n_features;
            nodes.push(TreeNode::branch(
                feature,
                Split::Compare(Cmp::Leq, rng.next()),
                2 * i + 1,
                2 * i + 2,
            ));
        }
        for _ in 0..=n_branches {
            let raw = [rng.next(), rng.next(), rng.next()];
            let sum: f64 = raw.iter().sum();
            nodes.push(TreeNode::Leaf(
                raw.iter()
                    .enumerate()
                    .map(|(target, v)| LeafWeight {
                        target,
                        weight: v / sum,
                    })
                    .collect(),
            ));
        }
        TreeSpec::new(nodes)
    }

    /// A 3-class random forest of `n_trees` depth-7 trees on `n_features` columns.
    fn random_classifier(rng: &mut Lcg, n_trees: usize, n_features: usize) -> TreeClassifier {
        let specs = (0..n_trees)
            .map(|_| random_tree(rng, 7, n_features))
            .collect();
        TreeClassifier {
            forest: TreeForest::build_unchecked(
                n_features,
                3,
                specs,
                Inputs::Float32 { nan: true },
            ),
            aggregate: Aggregate::Average,
            link: ProbaLink::Identity,
            classes: Labels::Int64(vec![10, 20, 30]),
            front: None,
        }
    }

    /// The request's columns as a table (as the binder hands a named request over).
    fn table(x: &Matrix) -> Data {
        let mut t = Table::new(x.rows());
        for c in 0..x.cols() {
            t.push(format!("f{c}"), Column::Num(x.column(c))).unwrap();
        }
        Data::Table(t)
    }

    #[test]
    fn large_batches_split_by_rows_give_each_row_its_own_result() {
        let (n_features, rows) = (6, 5_003);
        let mut rng = Lcg(7);
        let model = random_classifier(&mut rng, 100, n_features);
        assert_eq!(
            model.forest.threads_for(rows),
            crate::tree::max_threads().min(2)
        );
        let mut x: Vec<f64> = (0..rows * n_features).map(|_| rng.next()).collect();
        x[17 * n_features + 2] = f64::NAN;
        x[4_000 * n_features + 5] = f64::NAN;
        let x = Matrix::new(rows, n_features, x).unwrap();
        for method in [
            Method::Predict,
            Method::PredictProba,
            Method::PredictLogProba,
        ] {
            let all = model.run(method, Data::Matrix(x.clone())).unwrap();
            // A table (gathered per piece) gives the matrix's results.
            assert_eq!(model.run(method, table(&x)).unwrap(), all, "{method:?}");
            for r in (0..rows).step_by(89).chain([17, 4_000, rows - 1]) {
                let row = x.data()[r * n_features..(r + 1) * n_features].to_vec();
                let one = model
                    .run(
                        method,
                        Data::Matrix(Matrix::new(1, n_features, row).unwrap()),
                    )
                    .unwrap();
                assert_eq!(bits(&one, 0), bits(&all, r), "row {r}, {method:?}");
            }
        }
    }

    /// Row `r` of a classifier's output, as bits.
    fn bits(out: &Output, r: usize) -> Vec<u64> {
        match out {
            Output::Labels(Labels::Int64(v)) => vec![v[r] as u64],
            Output::Matrix(m) => m
                .row_iter()
                .nth(r)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect(),
            other => panic!("unexpected output {other:?}"),
        }
    }

    #[test]
    fn split_batches_report_the_first_bad_value() {
        let (n_features, rows) = (4, 6_000);
        let mut rng = Lcg(3);
        let model = random_classifier(&mut rng, 100, n_features);
        assert_eq!(
            model.forest.threads_for(rows),
            crate::tree::max_threads().min(2)
        );
        let mut x: Vec<f64> = (0..rows * n_features).map(|_| rng.next()).collect();
        // In the last thread's rows, then in the first thread's: the first one is reported.
        x[5_900 * n_features] = f64::INFINITY;
        x[10 * n_features + 1] = f64::NEG_INFINITY;
        let x = Matrix::new(rows, n_features, x).unwrap();
        for data in [Data::Matrix(x.clone()), table(&x)] {
            let err = model.run(Method::Predict, data).unwrap_err().to_string();
            assert!(err.contains("contains -inf"), "{err}");
        }
    }

    /// `cargo test --release -p ironflow-loader rf_throughput -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release mode"]
    fn rf_throughput() {
        let (n_trees, depth, n_features, rows) = (100, 8, 16, 10_000);
        let mut rng = Lcg(42);
        let specs = (0..n_trees)
            .map(|_| random_tree(&mut rng, depth, n_features))
            .collect();
        let forest =
            TreeForest::build_unchecked(n_features, 3, specs, Inputs::Float32 { nan: true });
        let model = TreeClassifier {
            forest,
            aggregate: Aggregate::Average,
            link: ProbaLink::Identity,
            classes: Labels::Int64(vec![0, 1, 2]),
            front: None,
        };
        let x: Vec<f64> = (0..rows * n_features).map(|_| rng.next()).collect();
        let x = Matrix::new(rows, n_features, x).unwrap();
        for batch in [1usize, 64, rows] {
            let input =
                Matrix::new(batch, n_features, x.data()[..batch * n_features].to_vec()).unwrap();
            let reps = (rows / batch).clamp(3, 2000);
            let start = std::time::Instant::now();
            for _ in 0..reps {
                let out = model
                    .run(Method::PredictProba, Data::Matrix(input.clone()))
                    .unwrap();
                std::hint::black_box(out);
            }
            let secs = start.elapsed().as_secs_f64() / reps as f64;
            println!(
                "RF {n_trees} trees x depth {depth}, batch {batch}: {:.0} rows/s, {:.1} ns/tree/row",
                batch as f64 / secs,
                secs * 1e9 / (batch * n_trees) as f64
            );
        }
    }
}
