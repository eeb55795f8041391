//! The CatBoost predict path: the repository's `examples/models/catboost/cb-bench-*` models (200
//! oblivious trees of depth 6; float features only, and with CTR categorical features), served
//! through the MLflow `catboost` flavor, `predict` on 1, 100 and 10,000 rows (the fixture's 24
//! test rows tiled). `benches/python/time_catboost.py` times catboost's own predict (one thread)
//! on the same rows.

#[allow(dead_code)] // bench_predict takes a corpus request; these rows come from case.json
mod common;

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ironflow_loader::tensor::tensor1;
use ironflow_loader::NamedTensor;
use serde_json::Value;

const CASES: &[&str] = &["cb-bench-binary", "cb-bench-ctr"];

fn case_dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models/catboost")
        .join(case)
}

/// The case's rows tiled to `rows` rows, one tensor per column (strings, integers of
/// categorical columns, or f64 with NaN for null).
fn inputs(case: &Value, rows: usize) -> Vec<NamedTensor> {
    let cats: Vec<&str> = case["cat_columns"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let columns = case["columns"].as_array().expect("columns");
    columns
        .iter()
        .filter_map(Value::as_str)
        .map(|name| {
            let values = case["rows"][name].as_array().expect("rows");
            let n = values.len();
            let at = |r: usize| &values[r % n];
            let tensor = if values.iter().any(Value::is_string) {
                tensor1(
                    &(0..rows)
                        .map(|r| at(r).as_str().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>(),
                )
            } else if cats.contains(&name) {
                tensor1(
                    &(0..rows)
                        .map(|r| at(r).as_i64().unwrap_or(0))
                        .collect::<Vec<_>>(),
                )
            } else {
                tensor1(
                    &(0..rows)
                        .map(|r| at(r).as_f64().unwrap_or(f64::NAN))
                        .collect::<Vec<_>>(),
                )
            };
            NamedTensor::new(name, tensor)
        })
        .collect()
}

fn predict(c: &mut Criterion) {
    for name in CASES {
        let dir = case_dir(name);
        let Some(model) = common::load_or_skip(&dir.join("mlflow"), name) else {
            continue;
        };
        let text = std::fs::read_to_string(dir.join("case.json")).expect("case.json");
        let case: Value = serde_json::from_str(&text).expect("case.json parses");
        let mut group = common::group(c, format!("catboost_predict/{name}"));
        for rows in common::ROWS {
            let batch = inputs(&case, rows);
            group.throughput(Throughput::Elements(rows as u64));
            let size = if rows > 100 {
                BatchSize::LargeInput
            } else {
                BatchSize::SmallInput
            };
            group.bench_with_input(BenchmarkId::from_parameter(rows), &batch, |b, batch| {
                b.iter_batched(
                    || batch.clone(),
                    |batch| model.predict(batch).expect("predict"),
                    size,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, predict);
criterion_main!(benches);
