//! The `MLmodel` file: MLflow's YAML description of a model directory (flavors, signature,
//! versions), read tolerantly so that files from any MLflow 1.x-3.x load, including fields this
//! version of ironflow has never heard of.

mod depth;
mod signature;

pub use signature::{
    ColSpec, ColType, ParamSpec, ParamsSchema, Schema, Signature, TensorSpec, TypedSpec,
};

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::error::LoadError;

/// The parsed `MLmodel` file of an MLflow model directory.
#[derive(Debug, Clone, Deserialize)]
pub struct MlModel {
    /// Flavor name (`python_function`, `onnx`, `sklearn`, ...) to that flavor's configuration.
    #[serde(default)]
    pub flavors: BTreeMap<String, Value>,
    /// The MLflow version that wrote the model, when recorded.
    #[serde(default, deserialize_with = "lenient_string")]
    pub mlflow_version: Option<String>,
    /// The model's UUID, when recorded.
    #[serde(default, deserialize_with = "lenient_string")]
    pub model_uuid: Option<String>,
    /// The run that logged the model, when recorded.
    #[serde(default, deserialize_with = "lenient_string")]
    pub run_id: Option<String>,
    /// When the model was written, as MLflow formats it.
    #[serde(default, deserialize_with = "lenient_string")]
    pub utc_time_created: Option<String>,
    /// The raw signature block (JSON strings inside the YAML); see [`MlModel::signature`].
    #[serde(default)]
    pub signature: Option<RawSignature>,
    /// Every other top-level field, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The `signature` block as stored: each schema is a JSON document inside a YAML string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawSignature {
    /// The input schema, as JSON text.
    #[serde(default)]
    pub inputs: Option<String>,
    /// The output schema, as JSON text.
    #[serde(default)]
    pub outputs: Option<String>,
    /// The params schema, as JSON text (MLflow >= 2.6).
    #[serde(default)]
    pub params: Option<String>,
    /// Anything else the block holds.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl MlModel {
    /// Reads and parses `<dir>/MLmodel`.
    pub fn read_dir(dir: &Path) -> Result<Self, LoadError> {
        let path = crate::contain::inside(dir, Path::new("MLmodel"))?;
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|e| e.at(&path))
    }

    /// Parses the text of an `MLmodel` file.
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        // The YAML scanner is quadratic in nesting depth: refuse deep files in one linear pass first.
        if let Err(offset) = depth::check(text, depth::MAX_DEPTH) {
            return Err(LoadError::MlModel {
                path: None,
                message: format!(
                    "nesting deeper than {} levels (at byte {offset})",
                    depth::MAX_DEPTH
                ),
            });
        }
        serde_yaml_ng::from_str(text).map_err(|e| LoadError::MlModel {
            path: None,
            message: e.to_string(),
        })
    }

    /// The parsed signature, or `None` when the model was logged without one.
    pub fn signature(&self) -> Result<Option<Signature>, LoadError> {
        self.signature.as_ref().map(Signature::parse).transpose()
    }

    /// One flavor's configuration, deserialized into `T`; `None` when the model lacks that flavor.
    pub fn flavor<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, LoadError> {
        let Some(value) = self.flavors.get(name) else {
            return Ok(None);
        };
        serde_yaml_ng::from_value(value.clone())
            .map(Some)
            .map_err(|e| LoadError::Flavor {
                flavor: name.to_owned(),
                message: e.to_string(),
            })
    }

    /// The `python_function` flavor, which names the predict method pyfunc calls.
    pub fn pyfunc(&self) -> Result<Option<PyFuncFlavor>, LoadError> {
        self.flavor("python_function")
    }
}

/// The `python_function` flavor block.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PyFuncFlavor {
    /// The module pyfunc loads the model with (`mlflow.onnx`, `mlflow.sklearn`, ...).
    #[serde(default, deserialize_with = "lenient_string")]
    pub loader_module: Option<String>,
    /// The method `mlflow.pyfunc` calls (`predict` when absent; `predict_proba`, ...).
    #[serde(default, deserialize_with = "lenient_string")]
    pub predict_fn: Option<String>,
    /// The data path pyfunc passes to the loader.
    #[serde(default, deserialize_with = "lenient_string")]
    pub data: Option<String>,
    /// Everything else in the block.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Reads a scalar as a string whatever its YAML type (a version like `2.0` parses as a float).
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => serde_yaml_ng::to_string(&other)
            .ok()
            .map(|s| s.trim().to_owned()),
    })
}

#[cfg(test)]
mod tests;
