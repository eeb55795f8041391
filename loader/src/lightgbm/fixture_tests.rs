//! Tests over the generated LightGBM fixtures (`examples/models/gbdt/lgb-*`): objectives,
//! missing-value types, categorical splits and random-forest mode against `Booster.predict`,
//! and corrupted text models failing cleanly.

use serde_json::Value;

use crate::model::Predictor;

use crate::xgboost::fixture_tests::{fixtures_dir, never_panics, rows, run_fixture};

fn lgb(bytes: &[u8], _class: &str) -> Box<dyn Predictor> {
    Box::new(super::compile_file(bytes, None).unwrap())
}

macro_rules! fixtures {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            run_fixture($name, lgb);
        }
    )*};
}

fixtures! {
    lgb_tiny => "lgb-tiny",
    lgb_binary => "lgb-binary",
    lgb_multiclass => "lgb-multiclass",
    lgb_multiclassova => "lgb-multiclassova",
    lgb_cross_entropy => "lgb-cross-entropy",
    lgb_poisson => "lgb-poisson",
    lgb_gamma => "lgb-gamma",
    lgb_tweedie => "lgb-tweedie",
    lgb_huber => "lgb-huber",
    lgb_zero_missing => "lgb-zero-missing",
    lgb_nan_missing => "lgb-nan-missing",
    lgb_no_missing => "lgb-no-missing",
    lgb_sqrt => "lgb-sqrt",
    lgb_rf => "lgb-rf",
    lgb_categorical => "lgb-categorical",
}

/// scikit-learn wrappers (pickle and skops): labels (strings included) and values must equal
/// what the estimator's `predict` returned.
#[test]
fn sklearn_wrappers_match_predict() {
    for name in [
        "lgb-sklearn-strings-pkl",
        "lgb-sklearn-binary-skops",
        "lgb-sklearn-regressor-skops",
    ] {
        let dir = fixtures_dir().join(name);
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let bytes = std::fs::read(dir.join(case["model"].as_str().unwrap())).unwrap();
        let predictor = super::compile_file(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = predictor.predict(vec![rows(&case).0]).unwrap();
        let view = out[0].tensor.as_plain_ram().unwrap();
        let expected = case["expected"].as_array().unwrap();
        if let Ok(strings) = view.as_slice::<String>() {
            let want: Vec<&str> = expected.iter().map(|v| v.as_str().unwrap()).collect();
            assert_eq!(strings, want.as_slice(), "{name}");
        } else if let Ok(labels) = view.as_slice::<i64>() {
            let want: Vec<i64> = expected.iter().map(|v| v.as_i64().unwrap()).collect();
            assert_eq!(labels, want.as_slice(), "{name}");
        } else {
            let got = view.as_slice::<f64>().unwrap();
            for (g, w) in got.iter().zip(expected) {
                let w = w.as_f64().unwrap();
                assert!(
                    (g - w).abs() <= 1e-12 + 1e-9 * w.abs(),
                    "{name}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn corrupted_text_never_panics() {
    let dir = fixtures_dir().join("lgb-tiny");
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("model.lgb")).unwrap();
    never_panics(&bytes, 1, &rows(&case).0, |b| {
        super::compile_file(b, None)
            .ok()
            .map(|p| Box::new(p) as Box<dyn Predictor>)
    });
}

#[test]
fn truncated_text_names_the_problem() {
    let bytes = std::fs::read(fixtures_dir().join("lgb-tiny/model.lgb")).unwrap();
    let cut = String::from_utf8_lossy(&bytes).find("Tree=1").unwrap() + 30;
    let err = super::compile_file(&bytes[..cut], None).unwrap_err();
    assert!(err.to_string().contains("Tree=1"), "{err}");
    let err = super::compile_file(b"garbage", None).unwrap_err();
    assert!(err.to_string().contains("pickle"), "{err}");
}
