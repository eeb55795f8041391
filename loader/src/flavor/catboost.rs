//! The `catboost` flavor: `mlflow.catboost.save_model` writes the model with CatBoost's own
//! `save_model` (`model.cb`, `save_format` `cbm` by default) and records the model's Python
//! class (`model_type`), whose `predict` `mlflow.pyfunc` calls.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::LoadError;
use crate::mlmodel::{MlModel, Signature};
use crate::model::LoadedModel;

/// The `catboost` flavor block of an `MLmodel` file.
#[derive(Debug, Clone, Deserialize)]
pub struct CatboostFlavor {
    /// The model file, relative to the model directory.
    #[serde(default = "default_data")]
    pub data: String,
    /// `CatBoostClassifier`, `CatBoostRegressor`, `CatBoostRanker` or `CatBoost`.
    #[serde(default)]
    pub model_type: Option<String>,
    /// The format `save_model` wrote (`cbm`; `json`, `onnx`, ... are not read).
    #[serde(default)]
    pub save_format: Option<String>,
    /// Everything else (`catboost_version`, `code`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml_ng::Value>,
}

fn default_data() -> String {
    "model.cb".into()
}

/// Loads the CatBoost model of an MLflow model directory.
pub fn load(
    dir: &Path,
    flavor: &CatboostFlavor,
    mlmodel: MlModel,
    signature: Option<Signature>,
) -> Result<LoadedModel, LoadError> {
    let path = crate::contain::inside(dir, Path::new(&flavor.data))?;
    let error = |source| LoadError::Catboost {
        path: path.clone(),
        source,
    };
    if let Some(format) = flavor.save_format.as_deref().filter(|f| *f != "cbm") {
        return Err(error(crate::catboost::CbError::Unsupported(format!(
            "save_format {format:?} (only cbm, CatBoost's binary format, is read)"
        ))));
    }
    let bytes = super::read_data(&path)?;
    let predictor =
        crate::catboost::compile_mlflow(&bytes, flavor.model_type.as_deref(), signature.as_ref())
            .map_err(error)?;
    let (inputs, outputs) = (predictor.inputs(), predictor.outputs());
    Ok(LoadedModel::new(
        mlmodel,
        signature,
        "catboost",
        inputs,
        outputs,
        Box::new(predictor),
    ))
}
