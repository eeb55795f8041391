//! The ONNX predict path: a loaded model's `predict` on 1, 100 and 10,000 rows, for a linear
//! pipeline (Scaler + LinearClassifier + ZipMap) and a tree ensemble. The model is loaded and
//! the input built outside the timed loop.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ironflow_benches::{example_model, f32_batch};

fn sample_of(case: &str) -> Vec<f32> {
    let path = example_model(case).join("../request.json");
    let text = std::fs::read_to_string(&path).expect("request.json");
    let request: serde_json::Value = serde_json::from_str(&text).expect("json");
    request["inputs"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|v| v.as_f64().map(|v| v as f32))
        .collect()
}

fn predict(c: &mut Criterion) {
    for (case, input, features) in [
        ("iris-logreg-onnx", "float_input", 4),
        ("rf-regressor-onnx", "float_input", 10),
    ] {
        let model = ironflow_loader::load(&example_model(case)).expect("model loads");
        let sample = sample_of(case);
        let mut group = c.benchmark_group(format!("onnx_predict/{case}"));
        for rows in [1usize, 100, 10_000] {
            let batch = f32_batch(input, &sample, features, rows);
            group.throughput(Throughput::Elements(rows as u64));
            group.bench_with_input(BenchmarkId::from_parameter(rows), &batch, |b, batch| {
                b.iter(|| model.predict(vec![batch.clone()]).expect("predict"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, predict);
criterion_main!(benches);
