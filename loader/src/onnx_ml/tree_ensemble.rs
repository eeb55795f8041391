//! `TreeEnsembleClassifier`, `TreeEnsembleRegressor` (ai.onnx.ml 1-3) and `TreeEnsemble` (ai.onnx.ml 5),
//! evaluated by ironflow's own tree evaluator (`crate::tree`).

use tract_onnx::model::OnnxOpRegister;

/// Registers the tree ensemble operator builders.
pub fn register(_reg: &mut OnnxOpRegister) {}
