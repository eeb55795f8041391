//! KServe's v1 protocol, as its sklearnserver / xgbserver / lgbserver answer it, as a thin
//! adapter over the inference pipeline ([`crate::pipeline::run`]):
//!
//! - `GET /v1/models`: `{"models": [names]}`.
//! - `GET /v1/models/{name}`: `{"name": ..., "ready": ...}`.
//! - `POST /v1/models/{name}:predict` with `{"instances": [...]}`: rows as lists (one tensor
//!   `[n, k]`, or one column per value when the model takes named columns) or as objects by
//!   column name; answered `{"predictions": [...]}`: the model's first output (for MLServer
//!   runtime models its default output, except XGBoost classifiers, whose v1 answer is the
//!   booster's output as xgbserver gives it: the probabilities), as nested lists, `f32` values
//!   widened to `f64` as Python's `tolist()` does.
//! - Errors: `{"error": "..."}` with KServe's statuses (404 unknown model, 503 not ready, 400 bad
//!   input).
//!
//! Nothing here knows the pipeline's internals: re-pointing it means changing [`run`] only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ironflow_loader::tensor::{ndarray, Tensor};
use ironflow_loader::{DataType, NamedTensor};
use serde_json::{json, Value};

use super::body::RawBody;
use crate::error::ServeError;
use crate::pipeline::{self, Inputs, Request, RequestParameters, Target};
use crate::served::ServedModel;
use crate::state::AppState;

/// A v1 error: KServe's `{"error": reason}` body with its status.
pub struct V1Error(StatusCode, String);

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ServeError> for V1Error {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::ModelNotFound(name) => V1Error(
                StatusCode::NOT_FOUND,
                format!("Model with name {name} does not exist."),
            ),
            ServeError::ModelNotReady { .. } => {
                V1Error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            other => V1Error(other.status(), other.to_string()),
        }
    }
}

fn bad_request(message: impl Into<String>) -> V1Error {
    V1Error(StatusCode::BAD_REQUEST, message.into())
}

/// `GET /v1/models`.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let names: Vec<String> = state
        .registry()
        .index(false)
        .into_iter()
        .map(|e| e.name)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Json(json!({ "models": names }))
}

/// `GET /v1/models/{name}`.
pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, V1Error> {
    let known = state
        .registry()
        .index(false)
        .into_iter()
        .any(|e| e.name == name);
    if !known {
        return Err(ServeError::ModelNotFound(name).into());
    }
    let ready = state.model(&name, None).is_ok();
    Ok(Json(json!({ "name": name, "ready": ready })))
}

/// `POST /v1/models/{name}:predict` (the route is `/v1/models/{name_verb}`).
pub async fn predict(
    State(state): State<AppState>,
    Path(name_verb): Path<String>,
    body: RawBody,
) -> Result<Json<Value>, V1Error> {
    let Some(name) = name_verb.strip_suffix(":predict") else {
        return Err(V1Error(
            StatusCode::NOT_FOUND,
            format!("Not Found: /v1/models/{name_verb} (the v1 verbs are :predict)"),
        ));
    };
    let served = state.model(name, None)?;
    let started = std::time::Instant::now();
    let inputs = decode_body(&served, &body.0).inspect_err(|_| {
        // Counted in the model metrics as the pipeline counts other transports' failures.
        crate::metrics::record_infer(
            &served.name,
            served.version.as_deref(),
            false,
            started.elapsed(),
        );
    })?;
    let outputs = run(&state, name, inputs).await?;
    Ok(Json(json!({ "predictions": encode(&served, outputs)? })))
}

/// Runs the decoded instances through the inference pipeline (counted in the model metrics like
/// every transport); every output comes back, [`encode`] chooses as KServe's servers do.
async fn run(
    state: &AppState,
    name: &str,
    inputs: Vec<NamedTensor>,
) -> Result<Vec<NamedTensor>, V1Error> {
    let (inference, ()) = pipeline::run(state, Target::named(name, None), |_: &ServedModel| {
        let request = Request {
            id: None,
            parameters: RequestParameters::default(),
            inputs: Inputs::Tensors(inputs),
            outputs: None,
        };
        Ok((request, ()))
    })
    .await?;
    Ok(inference.outputs)
}

/// The request tensors of a v1 body (`{"instances": [...]}` or `{"inputs": [...]}`).
fn decode_body(served: &ServedModel, body: &[u8]) -> Result<Vec<NamedTensor>, V1Error> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("Unrecognized request format: {e}")))?;
    match body.get("instances").or_else(|| body.get("inputs")) {
        Some(Value::Array(rows)) => decode(served, rows),
        Some(_) => Err(bad_request("Expected \"instances\" to be a list")),
        None => Err(bad_request(
            "Expected \"instances\" or \"inputs\" in the request",
        )),
    }
}

/// The request tensors of `instances`.
fn decode(served: &ServedModel, rows: &[Value]) -> Result<Vec<NamedTensor>, V1Error> {
    let Some(first) = rows.first() else {
        return Err(bad_request("\"instances\" is empty"));
    };
    let model_inputs = &served.model.inputs;
    match first {
        Value::Object(columns) => columns
            .keys()
            .map(|key| {
                let values: Vec<&Value> = rows
                    .iter()
                    .map(|r| {
                        r.get(key)
                            .ok_or_else(|| bad_request(format!("instance lacks column {key:?}")))
                    })
                    .collect::<Result<_, _>>()?;
                column(key, &values)
            })
            .collect(),
        Value::Array(first_row) => {
            let k = first_row.len();
            let rows: Vec<&Vec<Value>> = rows
                .iter()
                .map(|r| match r {
                    Value::Array(r) if r.len() == k => Ok(r),
                    _ => Err(bad_request(format!(
                        "every instance must be a list of {k} values"
                    ))),
                })
                .collect::<Result<_, _>>()?;
            let by_column = model_inputs.len() > 1 && model_inputs.len() == k;
            if by_column {
                return model_inputs
                    .iter()
                    .enumerate()
                    .map(|(j, info)| {
                        let values: Vec<&Value> = rows.iter().filter_map(|r| r.get(j)).collect();
                        column(&info.name, &values)
                    })
                    .collect();
            }
            let name = model_inputs
                .first()
                .map_or_else(|| "input-0".to_owned(), |i| i.name.clone());
            let wants_f32 = model_inputs
                .first()
                .is_some_and(|i| i.datatype == DataType::Fp32);
            let mut flat = Vec::with_capacity(rows.len() * k);
            for row in &rows {
                for v in row.iter() {
                    flat.push(number(v)?);
                }
            }
            let tensor = if wants_f32 {
                let flat: Vec<f32> = flat.iter().map(|&v| v as f32).collect();
                Tensor::from_shape(&[rows.len(), k], &flat)
            } else {
                Tensor::from_shape(&[rows.len(), k], &flat)
            }
            .map_err(|e| bad_request(e.to_string()))?;
            Ok(vec![NamedTensor::new(name, tensor)])
        }
        _ => Err(bad_request(
            "each instance must be a list of values or an object by column name",
        )),
    }
}

fn number(v: &Value) -> Result<f64, V1Error> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| bad_request(format!("{n} is not a number"))),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Null => Ok(f64::NAN),
        other => Err(bad_request(format!("{other} is not a number"))),
    }
}

/// One named column: strings as a BYTES column, everything else as FP64.
fn column(name: &str, values: &[&Value]) -> Result<NamedTensor, V1Error> {
    let tensor = if values.iter().any(|v| v.is_string()) {
        let strings: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        Tensor::from(ndarray::Array1::from(strings))
    } else {
        let numbers: Vec<f64> = values.iter().map(|v| number(v)).collect::<Result<_, _>>()?;
        Tensor::from(ndarray::Array1::from(numbers))
    };
    Ok(NamedTensor::new(name, tensor))
}

/// `predictions`: the output KServe's own server would return, as nested lists.
fn encode(served: &ServedModel, outputs: Vec<NamedTensor>) -> Result<Value, V1Error> {
    let model = &served.model;
    let xgb_classifier = model.implementation == ironflow_loader::Runtime::Xgboost.implementation()
        && outputs.iter().any(|o| o.name == "predict_proba");
    let chosen = if xgb_classifier {
        outputs.into_iter().find(|o| o.name == "predict_proba")
    } else {
        let keep = model
            .select_outputs(&[])
            .map_err(|e| V1Error(StatusCode::BAD_REQUEST, e.to_string()))?;
        pipeline::keep_outputs(outputs, keep).into_iter().next()
    };
    let Some(output) = chosen else {
        return Ok(Value::Array(Vec::new()));
    };
    let mut shape: Vec<usize> = output.tensor.shape().to_vec();
    let mut values = elements(&output.tensor)?;
    if xgb_classifier && shape.len() == 2 && shape[1] == 2 {
        // xgbserver returns `Booster.predict`: the positive class's probability.
        values = values.into_iter().skip(1).step_by(2).collect();
        shape = vec![shape[0]];
    }
    if model.output_choice.is_some() && shape.len() == 2 && shape[1] == 1 {
        shape.pop();
    }
    Ok(nest(&values, &shape))
}

fn elements(t: &Tensor) -> Result<Vec<Value>, V1Error> {
    let fail = |e: String| V1Error(StatusCode::INTERNAL_SERVER_ERROR, e);
    let plain = t.try_as_plain_ram().map_err(|e| fail(e.to_string()))?;
    macro_rules! try_as {
        ($ty:ty, $f:expr) => {
            if let Ok(v) = plain.as_slice::<$ty>() {
                return Ok(v.iter().map($f).collect());
            }
        };
    }
    try_as!(f64, |&x| json!(x));
    try_as!(f32, |&x| json!(f64::from(x)));
    try_as!(i64, |&x| json!(x));
    try_as!(i32, |&x| json!(x));
    try_as!(bool, |&x| json!(x));
    try_as!(String, |x| json!(x));
    Err(fail(format!(
        "cannot encode a {:?} output as JSON",
        t.datum_type()
    )))
}

fn nest(values: &[Value], shape: &[usize]) -> Value {
    match shape {
        [] => values.first().cloned().unwrap_or(Value::Null),
        [_] => Value::Array(values.to_vec()),
        [_, rest @ ..] => {
            let size: usize = rest.iter().product::<usize>().max(1);
            Value::Array(values.chunks(size).map(|c| nest(c, rest)).collect())
        }
    }
}
