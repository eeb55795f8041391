//! MLflow inference params: every request-level parameter other than `content_type` and
//! `headers` (MLServer passes them to `predict(..., params=...)`, docs/compat.md §1.7), and the
//! `params` of an `/invocations` body, checked against the signature's params schema as
//! `mlflow/models/utils.py::_enforce_params_schema` checks them (docs/compat.md §4.4 "Params"):
//!
//! - no params schema: params are ignored, with a warning;
//! - params the schema does not list are ignored, with a warning;
//! - params the request leaves out take the schema's default;
//! - values convert int → long/float/double, long → float/double, float → double; a datetime
//!   param takes an ISO-8601 string; a list param (`shape: [-1]`) takes a list whose elements
//!   follow the same rules; anything else is an error naming the param.
//!
//! The predictors take no params today, so the checked params are only validated.

use ironflow_loader::mlmodel::{ParamSpec, ParamsSchema};
use serde_json::{Map, Value};

use super::content_type::is_iso_datetime;
use super::Parameters;

/// Request parameters that belong to the protocol, not to the model.
const PROTOCOL_PARAMETERS: [&str; 3] = ["content_type", "headers", "binary_data_output"];

/// Params that do not fit the schema (`Invalid parameters found` in mlflow).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameters: {}", problems.iter().map(|(n, m)| format!("param {n:?} {m}")).collect::<Vec<_>>().join("; "))]
pub struct ParamsError {
    /// Each invalid param and what is wrong with it.
    pub problems: Vec<(String, String)>,
}

/// The MLflow params of a v2 request's `parameters`.
pub fn request_params(parameters: Option<&Parameters>) -> Map<String, Value> {
    parameters
        .into_iter()
        .flatten()
        .filter(|(k, _)| !PROTOCOL_PARAMETERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Checks params against the schema and returns them with defaults filled in and values
/// converted; `None` when the model has no params schema (the params are then ignored).
pub fn enforce_params(
    schema: Option<&ParamsSchema>,
    params: Map<String, Value>,
) -> Result<Option<Map<String, Value>>, ParamsError> {
    let Some(schema) = schema else {
        if !params.is_empty() {
            let names: Vec<&String> = params.keys().collect();
            tracing::warn!(
                ?names,
                "params can only be given when the model signature has a params schema; \
                 this model has none, ignoring them"
            );
        }
        return Ok(None);
    };
    let unknown: Vec<&String> = params
        .keys()
        .filter(|k| !schema.params.iter().any(|p| &p.name == *k))
        .collect();
    if !unknown.is_empty() {
        let supported: Vec<&str> = schema.params.iter().map(|p| p.name.as_str()).collect();
        tracing::warn!(?unknown, ?supported, "unrecognized params are ignored");
    }
    let mut out = Map::new();
    let mut problems = Vec::new();
    for spec in &schema.params {
        match params.get(&spec.name) {
            Some(value) => match enforce_param(spec, value) {
                Ok(v) => {
                    out.insert(spec.name.clone(), v);
                }
                Err(message) => problems.push((spec.name.clone(), message)),
            },
            None => {
                out.insert(spec.name.clone(), spec.default.clone());
            }
        }
    }
    if problems.is_empty() {
        Ok(Some(out))
    } else {
        Err(ParamsError { problems })
    }
}

/// `ParamSpec.validate_type_and_shape`.
fn enforce_param(spec: &ParamSpec, value: &Value) -> Result<Value, String> {
    match spec.shape.as_deref() {
        None => enforce_scalar(&spec.ty, value),
        Some([-1]) => match value {
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::Array(_) => Err(format!(
                        "must be a 1-D list of {}, got a nested list",
                        spec.ty
                    )),
                    v => enforce_scalar(&spec.ty, v),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(format!(
                "must be a list (shape [-1]) of {}, got {other}",
                spec.ty
            )),
        },
        Some(shape) => Err(format!(
            "has shape {shape:?} in the schema; only scalars and [-1] are supported"
        )),
    }
}

/// `ParamSpec.enforce_param_datatype`, for JSON values (an int is Python's `int`, any other
/// number Python's `float`; a bool is no number, as mlflow 3.17 refuses it for long and double).
fn enforce_scalar(ty: &str, value: &Value) -> Result<Value, String> {
    let wrong = || format!("must be of type {ty}, got {value}");
    match (ty, value) {
        (_, Value::Null) => Ok(Value::Null),
        ("string", Value::String(_)) => Ok(value.clone()),
        ("boolean", Value::Bool(_)) => Ok(value.clone()),
        ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        ("float" | "double", Value::Number(n)) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(wrong),
        ("datetime", Value::String(s)) if is_iso_datetime(s) => Ok(value.clone()),
        ("datetime", _) => Err(format!(
            "must be convertible to a datetime (an ISO-8601 string), got {value}"
        )),
        (t, Value::Object(_)) if t.starts_with('{') => Ok(value.clone()),
        (_, Value::Array(_) | Value::Object(_)) => {
            Err(format!("must be a scalar of type {ty}, got {value}"))
        }
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, ty: &str, default: Value, shape: Option<Vec<i64>>) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            ty: ty.into(),
            default,
            shape,
            extra: Map::new(),
        }
    }

    fn schema() -> ParamsSchema {
        ParamsSchema {
            params: vec![
                spec("alpha", "double", json!(0.5), None),
                spec("k", "long", json!(3), None),
                spec("tags", "string", json!(["a"]), Some(vec![-1])),
                spec("at", "datetime", json!(null), None),
            ],
        }
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_conversions_and_unknowns() {
        let out = enforce_params(Some(&schema()), params(json!({"alpha": 2, "other": 1})))
            .unwrap()
            .unwrap();
        assert_eq!(out["alpha"], json!(2.0));
        assert_eq!(out["k"], json!(3));
        assert_eq!(out["tags"], json!(["a"]));
        assert!(!out.contains_key("other"));
        assert_eq!(enforce_params(None, params(json!({"x": 1}))), Ok(None));
    }

    #[test]
    fn wrong_types_name_the_param() {
        let err =
            enforce_params(Some(&schema()), params(json!({"k": 1.5, "at": "soon"}))).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("param \"k\""), "{text}");
        assert!(text.contains("param \"at\""), "{text}");
        let err = enforce_params(Some(&schema()), params(json!({"tags": "a"}))).unwrap_err();
        assert!(err.to_string().contains("list"), "{err}");
        let err = enforce_params(Some(&schema()), params(json!({"k": true}))).unwrap_err();
        assert!(err.to_string().contains("param \"k\""), "{err}");
        let err = enforce_params(Some(&schema()), params(json!({"tags": ["a", 1]}))).unwrap_err();
        assert!(err.to_string().contains("param \"tags\""), "{err}");
        let out = enforce_params(
            Some(&schema()),
            params(json!({"k": 1_i64 << 40, "alpha": null})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(out["k"], json!(1_i64 << 40));
        assert_eq!(out["alpha"], Value::Null);
    }

    #[test]
    fn protocol_parameters_are_not_params() {
        let mut p = Parameters::new();
        p.insert("content_type".into(), json!("pd"));
        p.insert("headers".into(), json!({}));
        p.insert("alpha".into(), json!(1));
        assert_eq!(request_params(Some(&p)), params(json!({"alpha": 1})));
    }
}
