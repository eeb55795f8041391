//! The `ai.onnx.ml` operators that skl2onnx emits and tract lacks or gets wrong, registered into
//! tract-onnx's operator table so a stock `tract_onnx::onnx()` parser can load skl2onnx exports.
//!
//! tract looks operators up by `op_type` alone, so registering a name here replaces tract's own
//! builder (its `TreeEnsembleClassifier` is unusable: shared/FORMATS.md section 1a).

mod array_feature_extractor;
mod batch;
mod binarizer;
mod imputer;
mod labels;
mod normalizer;
mod post_transform;
mod scaler;
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
    imputer::register(reg);
    normalizer::register(reg);
    scaler::register(reg);
    tree_ensemble::register(reg);
    zipmap::register(reg);
}
