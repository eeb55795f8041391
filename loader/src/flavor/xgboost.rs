//! The `xgboost` flavor: `mlflow.xgboost.save_model` writes `Booster.save_model("model.<fmt>")`
//! and records `data`, `model_class` (`xgboost.sklearn.XGBClassifier`, `xgboost.core.Booster`,
//! ...), `model_format` and `xgb_version`. The format is told from the file's content, not its
//! extension (`.xgb` is UBJSON with xgboost >= 2.1 and the legacy binary format before).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::LoadError;
use crate::mlmodel::{MlModel, Signature};
use crate::model::LoadedModel;

/// The `xgboost` flavor block of an `MLmodel` file.
#[derive(Debug, Clone, Deserialize)]
pub struct XgboostFlavor {
    /// The model file, relative to the model directory.
    pub data: String,
    /// The Python class of the saved model.
    #[serde(default)]
    pub model_class: Option<String>,
    /// `json`, `ubj` or `xgb` (informational: the content decides).
    #[serde(default)]
    pub model_format: Option<serde_yaml_ng::Value>,
    /// The xgboost version that saved the model.
    #[serde(default)]
    pub xgb_version: Option<serde_yaml_ng::Value>,
    /// Everything else (`code`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml_ng::Value>,
}

/// Loads the XGBoost model of an MLflow model directory.
pub fn load(
    dir: &Path,
    flavor: &XgboostFlavor,
    mlmodel: MlModel,
    signature: Option<Signature>,
) -> Result<LoadedModel, LoadError> {
    let path = crate::contain::inside(dir, Path::new(&flavor.data))?;
    let bytes = super::read_data(&path)?;
    let predictor =
        crate::xgboost::compile(&bytes, flavor.model_class.as_deref(), signature.as_ref())
            .map_err(|source| LoadError::Xgboost { path, source })?;
    let (inputs, outputs) = (predictor.inputs(), predictor.outputs());
    Ok(LoadedModel::new(
        mlmodel,
        signature,
        "xgboost",
        inputs,
        outputs,
        Box::new(predictor),
    ))
}
