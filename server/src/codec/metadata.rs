//! Model metadata (`GET /v2/models/{name}`), built as MLServer's MLflow runtime builds it from
//! the signature (`mlserver_mlflow/metadata.py`): column specs advertise `[-1, 1]` with a
//! per-type content type and the model takes `pd`; named tensors make it `dict`, one unnamed
//! tensor `np`; unnamed specs are called `input-{i}` / `output-{i}`. A model logged without a
//! signature advertises its graph's own inputs and outputs.

use ironflow_loader::mlmodel::{ColType, Schema, TypedSpec};
use ironflow_loader::{LoadedModel, TensorInfo};
use serde::Serialize;

use super::Parameters;

/// The metadata response.
#[derive(Debug, Clone, Serialize)]
pub struct ModelMetadata {
    /// The model name.
    pub name: String,
    /// Its versions.
    pub versions: Vec<String>,
    /// The platform (empty, as MLServer answers).
    pub platform: String,
    /// What it takes.
    pub inputs: Vec<MetadataTensor>,
    /// What it returns.
    pub outputs: Vec<MetadataTensor>,
    /// The request content type (`pd`, `dict`, `np`).
    pub parameters: Parameters,
}

/// One input or output in the metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataTensor {
    /// The name.
    pub name: String,
    /// The v2 datatype.
    pub datatype: &'static str,
    /// The shape, `-1` for any size.
    pub shape: Vec<i64>,
    /// Its content type.
    pub parameters: Parameters,
}

/// What a `model-settings.json` (or the `MLSERVER_MODEL_*` environment) says about a model's
/// metadata: `platform` and `versions` always apply; `inputs`, `outputs` and
/// `parameters.content_type` only for a model without a signature (see
/// [`crate::state::ServedModel::with_metadata`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataOverrides {
    /// `platform`.
    pub platform: Option<String>,
    /// `versions`.
    pub versions: Option<Vec<String>>,
    /// `inputs`.
    pub inputs: Option<Vec<MetadataTensor>>,
    /// `outputs`.
    pub outputs: Option<Vec<MetadataTensor>>,
    /// `parameters.content_type`: the request content type when a request names none.
    pub content_type: Option<String>,
}

impl MetadataTensor {
    /// Reads one `MetadataTensor` of a settings file (`{name, datatype, shape, parameters}`);
    /// `field` (such as `inputs[0]`) names it in the error.
    pub fn from_settings(value: &serde_json::Value, field: &str) -> Result<Self, String> {
        let object = value.as_object().ok_or_else(|| {
            format!("{field} must be an object {{name, datatype, shape}}, not {value}")
        })?;
        let name = object
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{field}.name must be a string"))?;
        let datatype = object
            .get("datatype")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{field}.datatype must be a string"))?;
        let datatype = datatype
            .parse::<ironflow_loader::DataType>()
            .map_err(|e| format!("{field}.datatype: {e}"))?
            .as_str();
        let shape = object
            .get("shape")
            .and_then(|v| v.as_array())
            .and_then(|dims| {
                dims.iter()
                    .map(|d| d.as_i64())
                    .collect::<Option<Vec<i64>>>()
            })
            .ok_or_else(|| format!("{field}.shape must be a list of integers"))?;
        let parameters = match object.get("parameters") {
            None | Some(serde_json::Value::Null) => Parameters::new(),
            Some(serde_json::Value::Object(map)) => {
                map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            Some(other) => {
                return Err(format!("{field}.parameters must be an object, not {other}"))
            }
        };
        Ok(Self {
            name: name.to_owned(),
            datatype,
            shape,
            parameters,
        })
    }
}

impl ModelMetadata {
    /// Replaces what `overrides` sets.
    pub fn apply(&mut self, overrides: &MetadataOverrides) {
        if let Some(platform) = &overrides.platform {
            self.platform.clone_from(platform);
        }
        if let Some(versions) = &overrides.versions {
            self.versions.clone_from(versions);
        }
        if let Some(inputs) = &overrides.inputs {
            self.inputs.clone_from(inputs);
        }
        if let Some(outputs) = &overrides.outputs {
            self.outputs.clone_from(outputs);
        }
        if let Some(ct) = &overrides.content_type {
            self.parameters
                .insert("content_type".into(), ct.clone().into());
        }
    }

    /// Describes a loaded model.
    pub fn describe(name: &str, version: Option<&str>, model: &LoadedModel) -> Self {
        let signature = model.signature.as_ref();
        let inputs = signature.and_then(|s| s.inputs.as_ref());
        let outputs = signature.and_then(|s| s.outputs.as_ref());
        let mut parameters = Parameters::new();
        if let Some(schema) = inputs {
            parameters.insert("content_type".into(), request_content_type(schema).into());
        }
        Self {
            name: name.to_owned(),
            versions: version.map(|v| vec![v.to_owned()]).unwrap_or_default(),
            platform: String::new(),
            inputs: describe_side(inputs, "input", &model.inputs),
            outputs: describe_side(outputs, "output", &model.outputs),
            parameters,
        }
    }
}

fn describe_side(
    schema: Option<&Schema>,
    prefix: &str,
    graph: &[TensorInfo],
) -> Vec<MetadataTensor> {
    match schema {
        Some(schema) => schema
            .specs
            .iter()
            .zip(schema.names(prefix))
            .map(|(spec, name)| MetadataTensor {
                name,
                datatype: spec.datatype().as_str(),
                shape: spec.shape(),
                parameters: content_type_param(spec_content_type(spec)),
            })
            .collect(),
        None => graph
            .iter()
            .map(|info| MetadataTensor {
                name: info.name.clone(),
                datatype: info.datatype.as_str(),
                shape: info.shape.clone(),
                parameters: content_type_param("np"),
            })
            .collect(),
    }
}

fn content_type_param(ct: &str) -> Parameters {
    let mut p = Parameters::new();
    p.insert("content_type".into(), ct.into());
    p
}

/// The content type MLServer decodes a whole request with, given the input schema.
pub fn request_content_type(schema: &Schema) -> &'static str {
    if !schema.is_tensor_based() {
        "pd"
    } else if schema.has_names() {
        "dict"
    } else {
        "np"
    }
}

fn spec_content_type(spec: &TypedSpec) -> &'static str {
    match spec {
        TypedSpec::Tensor(_) => "np",
        TypedSpec::Column(col) => match &col.ty {
            ColType::Scalar(t) => match t.as_str() {
                "string" => "str",
                "binary" => "base64",
                "datetime" => "datetime",
                "boolean" | "integer" | "long" | "float" | "double" => "np",
                _ => "pd_json",
            },
            ColType::Array(_) | ColType::Object(_) | ColType::Map(_) | ColType::Any => "pd_json",
        },
    }
}
