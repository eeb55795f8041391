//! The XGBoost and LightGBM predict path: the corpus' `xgb-*` and `lgb-*` models, `predict` on
//! 1, 100 and 10,000 rows. Inputs are the case's `request.json` (one input per column, datatypes kept,
//! `BYTES` as strings) with its rows tiled; the model is loaded and the inputs built outside the
//! timed loop. `benches/python/time_gbdt.py` times xgboost and lightgbm on the same rows.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
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

fn predict(c: &mut Criterion) {
    for case in CASES {
        let dir = corpus_case(case);
        let Some(model) = common::load_or_skip(&dir.join("model"), case) else {
            continue;
        };
        let request = read_request(&dir.join("request.json")).expect("request.json decodes");
        common::bench_predict(c, format!("gbdt_predict/{case}"), &model, &request);
    }
}

criterion_group!(benches, predict);
criterion_main!(benches);
