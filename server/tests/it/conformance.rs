//! Every fixture model, served and asked its request: the answer must match what real
//! mlflow.pyfunc produced (expected.json), in MLServer's wire form.

use std::path::Path;

use crate::harness::{compare_outputs, corpus_roots, example, read_json, TestServer};

/// Serves each case dir under `root` whose name passes `keep`, returning failures as text.
async fn run_cases(root: &Path, keep: impl Fn(&str) -> bool) -> (usize, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| keep(n))
        .collect();
    names.sort();
    let mut failures = vec![];
    for name in &names {
        let dir = root.join(name);
        let server = match TestServer::try_start_with(&dir.join("model"), name, |_| {}).await {
            Ok(server) => server,
            Err(e) => {
                failures.push(format!("{name}: load failed: {e}"));
                continue;
            }
        };
        let (status, got) = server.infer(&read_json(&dir.join("request.json"))).await;
        if status != 200 {
            failures.push(format!("{name}: HTTP {status}: {got}"));
            continue;
        }
        if let Err(diff) = compare_outputs(&got, &read_json(&dir.join("expected.json"))) {
            failures.push(format!("{name}: {diff}"));
        }
    }
    (names.len(), failures)
}

#[tokio::test]
async fn every_example_model_answers_as_mlflow_did() {
    let root = example("");
    let (count, failures) = run_cases(&root, |_| true).await;
    assert!(count >= 10, "expected the example fixtures, found {count}");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs [`run_cases`] on every corpus (see [`corpus_roots`]) and asserts at least `min` cases in
/// each and no failure.
async fn run_corpora(test: &str, min: usize, keep: impl Fn(&str) -> bool + Copy) {
    for root in corpus_roots(test) {
        let (count, failures) = run_cases(&root, keep).await;
        assert!(
            count >= min,
            "expected at least {min} cases in {}, found {count}",
            root.display()
        );
        assert!(
            failures.is_empty(),
            "{} of {count} in {} failed:\n{}",
            failures.len(),
            root.display(),
            failures.join("\n")
        );
    }
}

#[tokio::test]
async fn every_corpus_onnx_model_answers_as_mlflow_did() {
    run_corpora("every_corpus_onnx_model_answers_as_mlflow_did", 8, |n| {
        n.starts_with("onnx-")
    })
    .await;
}

#[tokio::test]
async fn every_corpus_sklearn_model_answers_as_mlflow_did() {
    run_corpora(
        "every_corpus_sklearn_model_answers_as_mlflow_did",
        50,
        |n| n.starts_with("sk-"),
    )
    .await;
}

#[tokio::test]
async fn every_corpus_xgboost_and_lightgbm_model_answers_as_mlflow_did() {
    run_corpora(
        "every_corpus_xgboost_and_lightgbm_model_answers_as_mlflow_did",
        9,
        |n| n.starts_with("xgb-") || n.starts_with("lgb-"),
    )
    .await;
}
