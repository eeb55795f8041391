//! Native CatBoost models: the binary model format (`.cbm`: `model.cb` of the MLflow `catboost`
//! flavor, `model.cbm` of MLServer's catboost runtime), read with the flatbuffers code generated
//! from `schema/catboost_model.fbs` ([`file`]), compiled onto the shared tree evaluator
//! ([`crate::tree`]): oblivious trees on [`crate::tree::ObliviousForest`], non-symmetric ones on
//! [`crate::tree::Forest`]. Float, one-hot and CTR categorical features (CatBoost's CityHash of
//! categorical values, its combination hashes and CTR tables) are evaluated exactly as CatBoost
//! does; text and embedding features are refused.

mod compile;
mod ctr;
mod error;
mod file;
pub(crate) mod hash;
pub(crate) mod model;
mod predict;

#[allow(
    unsafe_code,
    unused_imports,
    dead_code,
    non_snake_case,
    non_camel_case_types,
    missing_docs,
    deprecated,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    unused_lifetimes,
    elided_lifetimes_in_paths,
    mismatched_lifetime_syntaxes
)]
#[rustfmt::skip]
mod generated;

#[cfg(test)]
mod fixture_tests;

use std::path::Path;

pub use error::CbError;
pub use predict::{CbPredictor, Prediction};

use crate::mlmodel::Signature;

/// The output name of models served through the MLflow flavor (MLServer's `output-1`).
const MLFLOW_OUTPUT: &str = "output-1";
/// The output name MLServer's catboost runtime gives its one output.
pub const MLSERVER_OUTPUT: &str = "predict";

/// What `predict` of an MLflow flavor's `model_type` returns for this model.
fn prediction_for(model_type: Option<&str>, model: &model::Model) -> Result<Prediction, CbError> {
    match model_type.unwrap_or("CatBoost") {
        "CatBoostClassifier" => Ok(Prediction::Class),
        "CatBoostRegressor" => CbPredictor::regressor_prediction(model),
        "CatBoostRanker" | "CatBoost" => Ok(Prediction::Raw),
        other => Err(CbError::Unsupported(format!("model_type {other:?}"))),
    }
}

/// Compiles a `.cbm` file's bytes as the MLflow `catboost` flavor serves it: `predict` of
/// `model_type` (`CatBoostClassifier`: labels, `CatBoostRegressor`: values, ...).
pub fn compile_mlflow(
    bytes: &[u8],
    model_type: Option<&str>,
    signature: Option<&Signature>,
) -> Result<CbPredictor, CbError> {
    let model = file::read(bytes)?;
    let prediction = prediction_for(model_type, &model)?;
    CbPredictor::new(&model, prediction, signature, MLFLOW_OUTPUT)
}

/// Compiles a `.cbm` file's bytes for `prediction`, the output named `output_name`.
pub fn compile(
    bytes: &[u8],
    prediction: Prediction,
    signature: Option<&Signature>,
    output_name: &str,
) -> Result<CbPredictor, CbError> {
    let model = file::read(bytes)?;
    CbPredictor::new(&model, prediction, signature, output_name)
}

/// Loads a bare `model.cbm` as MLServer's catboost runtime (`mlserver_catboost.CatboostModel`)
/// serves it: `CatBoostClassifier().load_model(path)`, then `predict` (class labels) as one
/// output named `predict`. Inputs are the model's feature columns (by name), or one `[N, k]`
/// matrix as MLServer's numpy codec passes it.
pub fn load_mlserver_cbm(path: &Path) -> Result<CbPredictor, crate::LoadError> {
    let bytes = std::fs::read(path).map_err(|source| crate::LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    compile(&bytes, Prediction::Class, None, MLSERVER_OUTPUT).map_err(|source| {
        crate::LoadError::Catboost {
            path: path.to_owned(),
            source,
        }
    })
}

/// Whether `bytes` start like a CatBoost binary model (the `CBM1` magic).
pub fn is_cbm(bytes: &[u8]) -> bool {
    bytes.starts_with(file::MAGIC)
}
