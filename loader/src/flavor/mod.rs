//! Flavor dispatch: which of the `MLmodel`'s flavors ironflow serves the model through.

pub mod catboost;
pub mod lightgbm;
pub mod onnx;
mod read;
pub mod sklearn;
pub mod xgboost;

use std::path::Path;

use crate::error::LoadError;
use crate::mlmodel::MlModel;
use crate::model::LoadedModel;

/// The flavors this build can serve, in order of preference.
pub const SUPPORTED: [&str; 5] = ["onnx", "sklearn", "xgboost", "lightgbm", "catboost"];

pub(crate) use read::read_data;

/// Loads and compiles the MLflow model in `dir`.
pub fn load(dir: &Path) -> Result<LoadedModel, LoadError> {
    // One budget for the whole load (kept when `runtime::load` opened it already).
    let _budget = crate::budget::Scope::enter(crate::budget::size_on_disk(dir));
    let mlmodel = MlModel::read_dir(dir)?;
    let signature = mlmodel.signature()?;
    if let Some(flavor) = mlmodel.flavor::<onnx::OnnxFlavor>("onnx")? {
        return onnx::load(dir, &flavor, mlmodel, signature);
    }
    if let Some(flavor) = mlmodel.flavor::<sklearn::SklearnFlavor>("sklearn")? {
        return sklearn::load(dir, &flavor, mlmodel, signature);
    }
    if let Some(flavor) = mlmodel.flavor::<xgboost::XgboostFlavor>("xgboost")? {
        return xgboost::load(dir, &flavor, mlmodel, signature);
    }
    if let Some(flavor) = mlmodel.flavor::<lightgbm::LightgbmFlavor>("lightgbm")? {
        return lightgbm::load(dir, &flavor, mlmodel, signature);
    }
    if let Some(flavor) = mlmodel.flavor::<catboost::CatboostFlavor>("catboost")? {
        return catboost::load(dir, &flavor, mlmodel, signature);
    }
    Err(LoadError::UnsupportedFlavor {
        found: mlmodel.flavors.keys().cloned().collect(),
        loader_module: mlmodel
            .pyfunc()
            .ok()
            .flatten()
            .and_then(|p| p.loader_module),
        supported: SUPPORTED.to_vec(),
    })
}
