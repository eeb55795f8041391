//! MLflow model signatures, parsed tolerantly.
//!
//! A signature's `inputs`, `outputs` and `params` are JSON documents stored as strings in the
//! `MLmodel` YAML (MLflow `mlflow/types/schema.py`). Column specs may carry `required` (absent
//! means required), the pre-2.10 `optional`, or neither; tensor specs carry a numpy dtype and a
//! shape with `-1` wildcards; newer MLflow adds array/object/map/any column types. Keys this
//! reader does not know are kept in `extra`, never rejected.

use serde_json::{Map, Value};

use super::RawSignature;
use crate::datatype::DataType;
use crate::error::LoadError;

/// A model signature: input and output schemas and the params schema, each optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// What the model takes.
    pub inputs: Option<Schema>,
    /// What the model returns.
    pub outputs: Option<Schema>,
    /// Inference-time parameters (MLflow >= 2.6).
    pub params: Option<ParamsSchema>,
}

/// An input or output schema: a list of column specs or a list of tensor specs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// The specs, in schema order.
    pub specs: Vec<TypedSpec>,
}

/// One entry of a schema.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedSpec {
    /// A DataFrame column (`{"type": "double", "name": "x", "required": true}`).
    Column(ColSpec),
    /// A tensor (`{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}`).
    Tensor(TensorSpec),
}

/// A column spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ColSpec {
    /// The column name; unnamed schemas match columns by position.
    pub name: Option<String>,
    /// The column type.
    pub ty: ColType,
    /// Whether the column must be present (`required`, or the negation of the older `optional`; default true).
    pub required: bool,
    /// Keys this reader does not interpret.
    pub extra: Map<String, Value>,
}

/// A column type, including MLflow's composite types.
#[derive(Debug, Clone, PartialEq)]
pub enum ColType {
    /// `boolean`, `integer`, `long`, `float`, `double`, `string`, `binary`, `datetime`, ...
    Scalar(String),
    /// `{"type": "array", "items": ...}`.
    Array(Box<ColType>),
    /// `{"type": "object", "properties": {...}}`: property name, type and whether it is required.
    Object(Vec<(String, ColType, bool)>),
    /// `{"type": "map", "values": ...}`.
    Map(Box<ColType>),
    /// `{"type": "any"}`.
    Any,
}

impl ColType {
    /// The v2 datatype the column travels as (composite types travel as JSON text, `BYTES`).
    pub fn datatype(&self) -> DataType {
        match self {
            Self::Scalar(name) => DataType::from_mlflow(name),
            _ => DataType::Bytes,
        }
    }

    fn parse(value: &Value, at: &str) -> Result<Self, LoadError> {
        let obj = match value {
            Value::String(name) => return Ok(Self::Scalar(name.clone())),
            Value::Object(obj) => obj,
            other => return Err(sig_error(at, format!("expected a type, found {other}"))),
        };
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| sig_error(at, "a type spec without \"type\""))?;
        Ok(match ty {
            "array" => Self::Array(Box::new(Self::parse(
                obj.get("items")
                    .ok_or_else(|| sig_error(at, "an array type without \"items\""))?,
                at,
            )?)),
            "map" => Self::Map(Box::new(Self::parse(
                obj.get("values")
                    .ok_or_else(|| sig_error(at, "a map type without \"values\""))?,
                at,
            )?)),
            "object" => {
                let props = obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .ok_or_else(|| sig_error(at, "an object type without \"properties\""))?;
                let mut out = Vec::with_capacity(props.len());
                for (name, prop) in props {
                    let required = required_flag(prop.as_object());
                    out.push((name.clone(), Self::parse(prop, at)?, required));
                }
                Self::Object(out)
            }
            "any" => Self::Any,
            scalar => Self::Scalar(scalar.to_owned()),
        })
    }
}

/// A tensor spec.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// The tensor name; a single unnamed tensor is allowed.
    pub name: Option<String>,
    /// The numpy dtype name (`float32`, `int64`, `object`, ...).
    pub dtype: String,
    /// The shape, `-1` for a dimension of any size.
    pub shape: Vec<i64>,
    /// Keys this reader does not interpret.
    pub extra: Map<String, Value>,
}

impl TensorSpec {
    /// The v2 datatype of the tensor's dtype (`BYTES` for dtypes the protocol lacks).
    pub fn datatype(&self) -> DataType {
        DataType::from_numpy(&self.dtype).unwrap_or(DataType::Bytes)
    }
}

/// The params schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamsSchema {
    /// The params, in schema order.
    pub params: Vec<ParamSpec>,
}

/// One inference parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// The parameter name.
    pub name: String,
    /// Its MLflow type (`type`, or `dtype` in some writers).
    pub ty: String,
    /// The default value.
    pub default: Value,
    /// `None` for a scalar, `Some([-1])` for a list.
    pub shape: Option<Vec<i64>>,
    /// Keys this reader does not interpret.
    pub extra: Map<String, Value>,
}

impl Signature {
    /// Parses the three JSON documents of a stored signature.
    pub fn parse(raw: &RawSignature) -> Result<Self, LoadError> {
        Ok(Self {
            inputs: parse_doc(raw.inputs.as_deref(), "inputs")?
                .map(|v| Schema::from_json(&v, "inputs"))
                .transpose()?,
            outputs: parse_doc(raw.outputs.as_deref(), "outputs")?
                .map(|v| Schema::from_json(&v, "outputs"))
                .transpose()?,
            params: parse_doc(raw.params.as_deref(), "params")?
                .map(|v| ParamsSchema::from_json(&v))
                .transpose()?,
        })
    }
}

impl Schema {
    /// Parses a schema document (a JSON list of specs).
    pub fn from_json(value: &Value, at: &str) -> Result<Self, LoadError> {
        let list = value
            .as_array()
            .ok_or_else(|| sig_error(at, "expected a JSON list of specs"))?;
        let specs = list
            .iter()
            .enumerate()
            .map(|(i, spec)| TypedSpec::from_json(spec, &format!("{at}[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Self { specs })
    }

    /// True when the schema lists tensors rather than columns.
    pub fn is_tensor_based(&self) -> bool {
        matches!(self.specs.first(), Some(TypedSpec::Tensor(_)))
    }

    /// True when every spec carries a name.
    pub fn has_names(&self) -> bool {
        !self.specs.is_empty() && self.specs.iter().all(|s| s.name().is_some())
    }

    /// The spec names, with MLServer's 0-based `input-{i}` / `output-{i}` for unnamed specs.
    pub fn names(&self, unnamed_prefix: &str) -> Vec<String> {
        self.specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{unnamed_prefix}-{i}"))
            })
            .collect()
    }
}

impl TypedSpec {
    fn from_json(value: &Value, at: &str) -> Result<Self, LoadError> {
        let obj = value
            .as_object()
            .ok_or_else(|| sig_error(at, "expected a JSON object"))?;
        let name = obj.get("name").and_then(Value::as_str).map(str::to_owned);
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| sig_error(at, "a spec without \"type\""))?;
        if ty == "tensor" {
            let spec = obj
                .get("tensor-spec")
                .and_then(Value::as_object)
                .ok_or_else(|| sig_error(at, "a tensor spec without \"tensor-spec\""))?;
            let dtype = spec
                .get("dtype")
                .and_then(Value::as_str)
                .ok_or_else(|| sig_error(at, "a tensor spec without \"dtype\""))?
                .to_owned();
            let shape = match spec.get("shape") {
                Some(Value::Array(dims)) => dims
                    .iter()
                    .map(|d| {
                        d.as_i64().ok_or_else(|| {
                            sig_error(at, format!("shape dimension {d} is not an integer"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                _ => vec![-1],
            };
            return Ok(Self::Tensor(TensorSpec {
                name,
                dtype,
                shape,
                extra: without(obj, &["name", "type", "tensor-spec"]),
            }));
        }
        Ok(Self::Column(ColSpec {
            name,
            ty: ColType::parse(value, at)?,
            required: required_flag(Some(obj)),
            extra: without(
                obj,
                &[
                    "name",
                    "type",
                    "required",
                    "optional",
                    "items",
                    "properties",
                    "values",
                ],
            ),
        }))
    }

    /// The spec's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Column(c) => c.name.as_deref(),
            Self::Tensor(t) => t.name.as_deref(),
        }
    }

    /// The v2 datatype the spec travels as.
    pub fn datatype(&self) -> DataType {
        match self {
            Self::Column(c) => c.ty.datatype(),
            Self::Tensor(t) => t.datatype(),
        }
    }

    /// The v2 shape MLServer advertises: the tensor shape, or `[-1, 1]` for a column.
    pub fn shape(&self) -> Vec<i64> {
        match self {
            Self::Column(_) => vec![-1, 1],
            Self::Tensor(t) => t.shape.clone(),
        }
    }

    /// Whether the input must be present.
    pub fn required(&self) -> bool {
        match self {
            Self::Column(c) => c.required,
            Self::Tensor(_) => true,
        }
    }
}

impl ParamsSchema {
    fn from_json(value: &Value) -> Result<Self, LoadError> {
        let list = value
            .as_array()
            .ok_or_else(|| sig_error("params", "expected a JSON list of params"))?;
        let mut params = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            let at = format!("params[{i}]");
            let obj = p
                .as_object()
                .ok_or_else(|| sig_error(&at, "expected a JSON object"))?;
            let name = obj
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| sig_error(&at, "a param without \"name\""))?
                .to_owned();
            let ty = match obj.get("type").or_else(|| obj.get("dtype")) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return Err(sig_error(&at, "a param without \"type\"")),
            };
            let shape = match obj.get("shape") {
                Some(Value::Array(dims)) => Some(dims.iter().filter_map(Value::as_i64).collect()),
                _ => None,
            };
            params.push(ParamSpec {
                name,
                ty,
                default: obj.get("default").cloned().unwrap_or(Value::Null),
                shape,
                extra: without(obj, &["name", "type", "dtype", "default", "shape"]),
            });
        }
        Ok(Self { params })
    }
}

/// `required` wins; else the negation of the older `optional`; else required.
fn required_flag(obj: Option<&Map<String, Value>>) -> bool {
    let Some(obj) = obj else { return true };
    if let Some(required) = obj.get("required").and_then(Value::as_bool) {
        return required;
    }
    !obj.get("optional")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn parse_doc(text: Option<&str>, at: &str) -> Result<Option<Value>, LoadError> {
    let Some(text) = text else { return Ok(None) };
    if text.trim().is_empty() || text.trim() == "null" {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| sig_error(at, format!("not valid JSON: {e}")))
}

fn without(obj: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn sig_error(at: &str, message: impl Into<String>) -> LoadError {
    LoadError::Signature {
        field: at.to_owned(),
        message: message.into(),
    }
}
