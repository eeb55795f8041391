//! The acceptance test: every `sk-*` case of the repository's corpus (`examples/corpus`) and,
//! when present, of the shared corpus beside the repository is loaded with [`crate::load`], fed
//! its `request.json` and compared with the `expected.json` mlflow's pyfunc produced (floats
//! within the file's rtol/atol, labels exactly, `[N]` matching the wire's `[N, 1]`).

use std::path::{Path, PathBuf};

use crate::test_support::{corpus_dir, corpus_roots, decode_request, read_json, run_case_dir};

fn sklearn_cases(root: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sk-"))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn sklearn_corpus_cases_match_mlflow() {
    for root in corpus_roots("sklearn_corpus_cases_match_mlflow") {
        let cases = sklearn_cases(&root);
        assert!(
            cases.len() >= 50,
            "only {} sk-* cases in {}",
            cases.len(),
            root.display()
        );
        let failed: Vec<String> = cases
            .iter()
            .filter_map(|dir| {
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                run_case_dir(dir).err().map(|why| format!("{name}: {why}"))
            })
            .collect();
        assert!(
            failed.is_empty(),
            "{} of {} cases in {} failed:\n{}",
            failed.len(),
            cases.len(),
            root.display(),
            failed.join("\n")
        );
    }
}

/// Copies a corpus model to a scratch directory with `predict_fn` replaced.
fn with_predict_fn(case: &str, predict_fn: &str) -> PathBuf {
    let src = corpus_dir().join(case).join("model");
    let dst = std::env::temp_dir().join(format!(
        "ironflow-sklearn-{case}-{predict_fn}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dst.join(path.file_name().unwrap())).unwrap();
    }
    let mlmodel = std::fs::read_to_string(src.join("MLmodel")).unwrap();
    let patched = mlmodel.replace("predict_fn: predict", &format!("predict_fn: {predict_fn}"));
    std::fs::write(dst.join("MLmodel"), patched).unwrap();
    dst
}

#[test]
fn predict_fn_selects_the_method_and_is_checked_at_load() {
    let dir = with_predict_fn("sk-linearsvc-old", "predict_proba");
    let err = crate::load(&dir).unwrap_err();
    assert!(err.to_string().contains("no predict_proba"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    let dir = with_predict_fn("sk-logreg-multiclass-new", "predict_proba");
    let model = crate::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(model.flavor, "sklearn");
    assert_eq!(model.outputs[0].shape, vec![-1, 3]);
    let request = read_json(&corpus_dir().join("sk-logreg-multiclass-new/request.json"));
    let out = model.predict(decode_request(&request)).unwrap();
    let p = out[0].tensor.try_as_plain_ram().unwrap();
    let p = p.as_slice::<f64>().unwrap();
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
