//! The XGBoost and LightGBM predict path: the corpus' `xgb-*` and `lgb-*` models, `predict` on
//! 1, 100 and 10,000 rows. Inputs are the case's `request.json` (one input per column, datatypes kept,
//! `BYTES` as strings) with its rows tiled; the model is loaded and the inputs built outside the
//! timed loop. `benches/python/time_gbdt.py` times xgboost and lightgbm on the same rows.

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use ironflow_benches::{corpus_case, read_request};

/// The XGBoost (JSON, UBJSON, legacy binary) and LightGBM (text, skops, cloudpickle) cases.
const CASES: &[&str] = &[
    "xgb-classifier-multiclass-new",
    "xgb-classifier-binary-new",
    "xgb-regressor-json-new",
    "xgb-classifier-json-old",
    "xgb-regressor-old",
    "lgb-classifier-new",
    "lgb-regressor-cloudpickle-new",
    "lgb-booster-regressor-old",
    "lgb-classifier-old",
];

const ROWS: [usize; 3] = [1, 100, 10_000];

fn predict(c: &mut Criterion) {
    for case in CASES {
        let dir = corpus_case(case);
        // A family this build cannot load yet is reported and skipped, not fatal to the suite.
        let model = match ironflow_loader::load(&dir.join("model")) {
            Ok(model) => model,
            Err(e) => {
                eprintln!("skipping {case}: {e}");
                continue;
            }
        };
        let request = read_request(&dir.join("request.json")).expect("request.json decodes");
        let mut group = c.benchmark_group(format!("gbdt_predict/{case}"));
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
