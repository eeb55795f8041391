//! The `lightgbm` flavor: `mlflow.lightgbm.save_model` writes a raw `lightgbm.Booster` as its
//! text model (`model.lgb`), and a scikit-learn wrapper (`LGBMClassifier`, `LGBMRegressor`) with
//! the sklearn serializer (`model.pkl` pickle/cloudpickle, or `model.skops`). The data file's
//! content decides how it is read (mlflow 3.17 may record `serialization_format: skops` even for
//! a text Booster).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::LoadError;
use crate::mlmodel::{MlModel, Signature};
use crate::model::LoadedModel;

/// The `lightgbm` flavor block of an `MLmodel` file.
#[derive(Debug, Clone, Deserialize)]
pub struct LightgbmFlavor {
    /// The model file, relative to the model directory.
    pub data: String,
    /// The Python class of the saved model (`lightgbm.basic.Booster`,
    /// `lightgbm.sklearn.LGBMClassifier`, ...).
    #[serde(default)]
    pub model_class: Option<String>,
    /// `pickle`, `cloudpickle` or `skops` for scikit-learn wrappers (mlflow >= 3.x).
    #[serde(default)]
    pub serialization_format: Option<serde_yaml_ng::Value>,
    /// The LightGBM version that saved the model.
    #[serde(default)]
    pub lgb_version: Option<serde_yaml_ng::Value>,
    /// Everything else (`code`, `skops_trusted_types`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml_ng::Value>,
}

/// Loads the LightGBM model of an MLflow model directory.
pub fn load(
    dir: &Path,
    flavor: &LightgbmFlavor,
    mlmodel: MlModel,
    signature: Option<Signature>,
) -> Result<LoadedModel, LoadError> {
    let path = crate::contain::inside(dir, Path::new(&flavor.data))?;
    let bytes = super::read_data(&path)?;
    let predictor = crate::lightgbm::compile_file(&bytes, signature.as_ref())
        .map_err(|source| LoadError::Lightgbm { path, source })?;
    let (inputs, outputs) = (predictor.inputs(), predictor.outputs());
    Ok(LoadedModel::new(
        mlmodel,
        signature,
        "lightgbm",
        inputs,
        outputs,
        Box::new(predictor),
    ))
}
