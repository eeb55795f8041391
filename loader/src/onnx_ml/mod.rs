//! The `ai.onnx.ml` operators that skl2onnx emits and tract lacks or gets wrong, registered into
//! tract-onnx's operator table so a stock `tract_onnx::onnx()` parser can load skl2onnx exports.
//!
//! tract looks operators up by `op_type` alone, so registering a name here replaces tract's own
//! builder (its `TreeEnsembleClassifier` is unusable: docs/formats.md section 1a). Each
//! operator follows onnxruntime's CPU kernel (`onnxruntime/core/providers/cpu/ml/`), checked
//! against onnxruntime 1.32: `ArrayFeatureExtractor`, `Binarizer`, `FeatureVectorizer`,
//! `Imputer`, `LabelEncoder` (opsets 1-4), `LinearClassifier`, `LinearRegressor`, `Normalizer`,
//! `OneHotEncoder`, `Scaler`, `SVMClassifier`, `SVMRegressor`, `ZipMap` (answered as the
//! probability tensor) and the tree ensembles. tract's own `CategoryMapper` is kept.
//!
//! `CastMap` and `DictVectorizer` are not implemented: they take maps, which neither tract's
//! protobuf reader (graph inputs must be tensors) nor the v2 protocol can carry.

mod array_feature_extractor;
mod batch;
mod binarizer;
mod expansion;
mod feature_vectorizer;
#[cfg(test)]
mod fixture_tests;
mod imputer;
mod label_encoder;
mod labels;
mod linear;
mod linear_classifier;
mod linear_regressor;
mod normalizer;
mod one_hot_encoder;
mod post_transform;
mod scaler;
mod svm;
mod svm_classifier;
mod svm_regressor;
#[cfg(test)]
mod test_model;
mod tree_ensemble;
mod zipmap;

pub use post_transform::PostTransform;

use tract_onnx::model::OnnxOpRegister;

/// Registers ironflow's `ai.onnx.ml` operator builders, replacing tract's where both exist.
pub fn register(reg: &mut OnnxOpRegister) {
    array_feature_extractor::register(reg);
    binarizer::register(reg);
    feature_vectorizer::register(reg);
    imputer::register(reg);
    label_encoder::register(reg);
    linear_classifier::register(reg);
    linear_regressor::register(reg);
    normalizer::register(reg);
    one_hot_encoder::register(reg);
    scaler::register(reg);
    svm_classifier::register(reg);
    svm_regressor::register(reg);
    tree_ensemble::register(reg);
    zipmap::register(reg);
}
