//! The scikit-learn predict path: one corpus model per estimator family, `predict` on 1, 100
//! and 10,000 rows. Inputs are the case's `request.json` (one input per column, datatypes kept,
//! `BYTES` as strings) with its rows tiled; the model is loaded and the inputs built outside the
//! timed loop. `benches/python/time_sklearn.py` times scikit-learn and mlflow on the same rows.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use ironflow_benches::{bench_case, read_request};

/// One case per family: linear, tree, forest, gradient boosting, hist gradient boosting, MLP,
/// KNN, SVC, a pipeline with a string one-hot, naive Bayes and k-means, plus the baseline forest.
const CASES: &[&str] = &[
    "sk-linreg-diabetes-new",
    "sk-logreg-multiclass-new",
    "sk-dtree-classifier-new",
    "sk-rf-classifier-new",
    "sk-gb-classifier-binary-new",
    "sk-hgb-classifier-new",
    "sk-mlp-classifier-new",
    "sk-knn-classifier-new",
    "sk-svc-rbf-new",
    "sk-columntransformer-rf-mixed-new",
    "sk-gaussian-nb-old",
    "sk-kmeans-new",
    // examples/bench: the baseline 100-tree, depth-10 RandomForest (the corpus forests are smaller).
    "bc-rf-100x10",
];

fn predict(c: &mut Criterion) {
    for case in CASES {
        let dir = bench_case(case);
        let Some(model) = common::load_or_skip(&dir.join("model"), case) else {
            continue;
        };
        let request = read_request(&dir.join("request.json")).expect("request.json decodes");
        common::bench_predict(c, format!("sklearn_predict/{case}"), &model, &request);
    }
}

criterion_group!(benches, predict);
criterion_main!(benches);
