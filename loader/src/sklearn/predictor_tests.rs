//! The scikit-learn predictors of issue 14 against the MLflow models
//! `examples/sklearn/predictors/generate.py` saved (sklearn 1.9.1, mlflow 3.17.2, skops 0.16.0):
//! every `<case>/` is loaded with [`crate::load`], fed its `request.json` and compared with the
//! `expected.json` mlflow's pyfunc produced. Cases listed in [`REFUSED`] must fail to load with an
//! error naming their class (and start failing the test once they load, so the list stays true).

use std::path::PathBuf;

use crate::test_support::run_case_dir;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/sklearn/predictors"
);

/// Cases (by name prefix) ironflow still refuses at load, each with the reason.
const REFUSED: &[(&str, &str)] = &[(
    "birch",
    "Birch pickles hold object cycles the pickle reader refuses",
)];

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(CASES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model").is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn predictors_match_mlflow() {
    let cases = cases();
    assert!(cases.len() > 100, "only {} cases found", cases.len());
    let (mut passed, mut refused, mut failed) = (0, 0, Vec::new());
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected_refusal = REFUSED.iter().find(|(prefix, _)| name.starts_with(prefix));
        match (run_case_dir(dir), expected_refusal) {
            (Ok(()), None) => passed += 1,
            (Ok(()), Some(_)) => failed.push(format!("{name}: passes, drop it from REFUSED")),
            (Err(why), Some(_)) if why.starts_with("load: ") => refused += 1,
            (Err(why), _) => failed.push(format!("{name}: {why}")),
        }
    }
    println!(
        "passed {passed}, refused as listed {refused}, of {} cases",
        cases.len()
    );
    for f in &failed {
        println!("FAILED {f}");
    }
    assert!(failed.is_empty(), "{} predictor cases failed", failed.len());
}
