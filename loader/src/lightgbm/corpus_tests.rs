//! Corpus acceptance tests for the LightGBM flavor (`examples/corpus/lgb-*`), run through the
//! shared harness [`crate::xgboost::corpus_tests::run_case`].

use crate::xgboost::corpus_tests::run_case;

#[test]
fn lgb_booster_regressor_old() {
    run_case("lgb-booster-regressor-old");
}

#[test]
fn lgb_classifier_new() {
    run_case("lgb-classifier-new");
}

#[test]
fn lgb_classifier_old() {
    run_case("lgb-classifier-old");
}

#[test]
fn lgb_regressor_cloudpickle_new() {
    run_case("lgb-regressor-cloudpickle-new");
}
