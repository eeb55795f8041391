//! Corpus acceptance tests for the XGBoost flavor (`examples/corpus/xgb-*`): load each model with
//! [`crate::load`], decode `request.json` as MLServer would, compare with `expected.json`
//! (within its `rtol`/`atol`; labels exactly). [`run_case`] is shared with the LightGBM tests.

use std::path::PathBuf;

/// The repository's corpus directory (`examples/corpus`).
pub(crate) fn corpus_dir() -> PathBuf {
    crate::test_support::corpus_dir()
}

/// Loads corpus case `name`, runs its request and checks the response against `expected.json`.
pub(crate) fn run_case(name: &str) {
    if let Err(why) = crate::test_support::run_case_dir(&corpus_dir().join(name)) {
        panic!("{name}: {why}");
    }
}

#[test]
fn xgb_classifier_binary_new() {
    run_case("xgb-classifier-binary-new");
}

#[test]
fn xgb_classifier_json_old() {
    run_case("xgb-classifier-json-old");
}

#[test]
fn xgb_classifier_multiclass_new() {
    run_case("xgb-classifier-multiclass-new");
}

#[test]
fn xgb_regressor_json_new() {
    run_case("xgb-regressor-json-new");
}

#[test]
fn xgb_regressor_old() {
    run_case("xgb-regressor-old");
}
