//! The scikit-learn predict path: one corpus model per estimator family, `predict` on 1, 100
//! and 10,000 rows. Inputs are the case's `request.json` (one input per column, datatypes kept,
//! `BYTES` as strings) with its rows tiled; the model is loaded and the inputs built outside the
//! timed loop. `benches/python/time_sklearn.py` times scikit-learn and mlflow on the same rows.

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
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

const ROWS: [usize; 3] = [1, 100, 10_000];

fn predict(c: &mut Criterion) {
    for case in CASES {
        let dir = bench_case(case);
        // A family this build cannot load yet is reported and skipped, not fatal to the suite.
        let model = match ironflow_loader::load(&dir.join("model")) {
            Ok(model) => model,
            Err(e) => {
                eprintln!("skipping {case}: {e}");
                continue;
            }
        };
        let request = read_request(&dir.join("request.json")).expect("request.json decodes");
        let mut group = c.benchmark_group(format!("sklearn_predict/{case}"));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for rows in ROWS {
            let inputs = request.tile(rows);
            group.throughput(Throughput::Elements(rows as u64));
            // The copy `predict` consumes is made outside the timing, like a decoded request.
            let size = if rows > 100 {
                BatchSize::LargeInput
            } else {
                BatchSize::SmallInput
            };
            group.bench_with_input(BenchmarkId::from_parameter(rows), &inputs, |b, inputs| {
                b.iter_batched(
                    || inputs.clone(),
                    |inputs| model.predict(inputs).expect("predict"),
                    size,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, predict);
criterion_main!(benches);
