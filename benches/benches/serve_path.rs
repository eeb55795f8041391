//! The whole serve path without the socket: a v2 JSON body (bytes) is parsed and decoded into
//! tensors by ironflow-server's codec, run through `ironflow_server::rest::infer::infer_request` (the pipeline: admission,
//! the blocking pool, the model) and the answer encoded back to JSON bytes, at 1, 100 and
//! 10,000 rows, for one corpus model per family: linear, forest, boosted trees, MLP (ONNX) and a
//! pipeline with a string one-hot. Bodies are the case's `request.json` with its rows cycled,
//! built outside the timed loop.
//!
//! `baseline_predict` times `predict` alone on `shared/baselines/make_models.py`'s `bc_rf`
//! (RandomForest, 100 trees) and `onnx_mlp`, for issue 5's compute targets, when those models
//! exist (`BASELINE_MODELS`, default `/work/baseline-models`); `python/time_baselines.py` times
//! scikit-learn and onnxruntime on the same rows.

mod common;

use common::ROWS;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ironflow_benches::{corpus_case, read_request};
use ironflow_server::codec::InferRequest;
use ironflow_server::state::{AppState, ServedModel};
use serde_json::Value;

const CASES: &[&str] = &[
    "sk-logreg-multiclass-new",
    "sk-rf-classifier-new",
    "xgb-classifier-multiclass-new",
    "onnx-mlp-new",
    "sk-columntransformer-rf-mixed-new",
];

fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.clone()),
    }
}

/// `request` with every input's rows cycled to `rows` rows (flat data, shape `[rows, ...]`).
fn tile_body(request: &Value, rows: usize) -> Vec<u8> {
    let mut request = request.clone();
    if let Some(inputs) = request["inputs"].as_array_mut() {
        for input in inputs {
            let mut data = Vec::new();
            flatten(&input["data"], &mut data);
            let shape: Vec<u64> = input["shape"]
                .as_array()
                .map(|s| s.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let row_len: u64 = shape.iter().skip(1).product();
            let n = rows * row_len as usize;
            input["data"] = Value::Array(data.iter().cycle().take(n).cloned().collect());
            let mut new_shape = vec![rows as u64];
            new_shape.extend(shape.iter().skip(1));
            input["shape"] = serde_json::json!(new_shape);
        }
    }
    serde_json::to_vec(&request).expect("a JSON value serializes")
}

fn serve_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for case in CASES {
        let dir = corpus_case(case);
        let Some(model) = common::load_or_skip(&dir.join("model"), case) else {
            continue;
        };
        let state = AppState::new(
            vec![ServedModel::new((*case).to_owned(), None, model)],
            1,
            usize::MAX,
        );
        let text = std::fs::read_to_string(dir.join("request.json")).expect("request.json");
        let request: Value = serde_json::from_str(&text).expect("request.json is JSON");
        let mut group = common::group(c, format!("serve_path/{case}"));
        for rows in ROWS {
            let body = tile_body(&request, rows);
            group.throughput(Throughput::Elements(rows as u64));
            group.bench_with_input(BenchmarkId::from_parameter(rows), &body, |b, body| {
                b.iter(|| {
                    let request: InferRequest = serde_json::from_slice(body).expect("parse");
                    let response = runtime
                        .block_on(ironflow_server::rest::infer::infer_request(
                            &state,
                            case,
                            None,
                            request,
                            &[],
                        ))
                        .expect("infer");
                    serde_json::to_vec(&response).expect("encode")
                })
            });
        }
        group.finish();
    }
}

fn baseline_predict(c: &mut Criterion) {
    let root = std::env::var("BASELINE_MODELS").unwrap_or_else(|_| "/work/baseline-models".into());
    let root = std::path::Path::new(&root);
    for name in ["bc_rf", "onnx_mlp"] {
        let Some(model) = common::load_or_skip(&root.join(name), &format!("baseline {name}"))
        else {
            continue;
        };
        let request = read_request(&root.join("requests").join(format!("{name}-100.json")))
            .expect("the baseline request decodes");
        common::bench_predict(c, format!("baseline_predict/{name}"), &model, &request);
    }
}

criterion_group!(benches, serve_path, baseline_predict);
criterion_main!(benches);
