//! A text pipeline with a large vocabulary: `ColumnTransformer(TfidfVectorizer)` (12,000-term
//! vocabulary, from `examples/sklearn/transformers/generate.py`) feeding a LogisticRegression,
//! `predict_proba` on 1 and 1,000 documents (the case's request tiled). The model is loaded and
//! the inputs built outside the timed loop.

#[allow(dead_code)]
mod common;

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ironflow_benches::read_request;

const CASE: &str = "tfidf-10k-vocabulary-logreg";

fn text(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/sklearn/transformers/cases")
        .join(CASE);
    let Some(model) = common::load_or_skip(&dir.join("model"), CASE) else {
        return;
    };
    let request = read_request(&dir.join("request.json")).expect("request.json decodes");
    let mut group = common::group(c, format!("sklearn_text/{CASE}"));
    for rows in [1, 1_000] {
        let inputs = request.tile(rows);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &inputs, |b, inputs| {
            b.iter_batched(
                || inputs.clone(),
                |inputs| model.predict(inputs).expect("predict"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, text);
criterion_main!(benches);
