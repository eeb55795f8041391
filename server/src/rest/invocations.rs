//! MLflow's scoring server endpoints, which MLServer's MLflow runtime also serves on the HTTP
//! port (docs/compat.md §1.7, §4.1): `POST /invocations`, `GET /ping`, `GET /health`, `GET /version`.
//!
//! `/invocations` scores the (single) served model and answers `{"predictions": ...}`: one
//! output as a list (nested to the output's rank), a dict of outputs (ONNX) as
//! `{"name": [...], ...}`. A JSON body's `params` are checked against the signature's params
//! schema (`codec/params.rs`).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::Json;
use ironflow_loader::{NamedTensor, OutputStyle};
use serde_json::{Map, Value};

use super::body::RawBody;
use crate::codec::encode_output;
use crate::codec::mlflow_input::{body_format, parse_csv, parse_json_with_params, BodyFormat};
use crate::error::ServeError;
use crate::pipeline::{self, Inputs, Request, RequestParameters, Target};
use crate::served::ServedModel;
use crate::state::AppState;

/// `POST /invocations`.
pub async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ServeError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (inference, ()) = pipeline::run(&state, Target::Only, |served: &ServedModel| {
        let schema = served.model.input_schema();
        let (inputs, params) = match body_format(content_type.as_deref())? {
            BodyFormat::Json => parse_json_with_params(&body, schema)?,
            BodyFormat::Csv => (parse_csv(&body, schema)?, Map::new()),
        };
        // MLflow's scoring server checks `params` against the signature's params schema.
        let request = Request {
            id: None,
            parameters: RequestParameters::mlflow(params),
            inputs: Inputs::Tensors(inputs),
            outputs: None,
        };
        Ok((request, ()))
    })
    .await?;
    drop(body);
    let style = inference.output_style();
    Ok(Json(predictions(inference.outputs, style)?))
}

/// `GET /ping` and `GET /health`: the JSON string `"\n"`, as MLflow and MLServer answer.
pub async fn ping() -> Json<&'static str> {
    Json("\n")
}

/// `GET /version`: the MLflow version that saved the served model.
pub async fn version(State(state): State<AppState>) -> Result<Json<String>, ServeError> {
    let served = scored_model(&state)?;
    Ok(Json(
        served
            .model
            .mlmodel
            .mlflow_version
            .clone()
            .unwrap_or_default(),
    ))
}

/// The model `/version` reports: the one served (these endpoints name no model).
fn scored_model(state: &AppState) -> Result<std::sync::Arc<ServedModel>, ServeError> {
    state
        .models()
        .next()
        .ok_or_else(|| ServeError::ModelNotFound("(none)".into()))
}

/// `{"predictions": ...}` from the model's outputs.
fn predictions(outputs: Vec<NamedTensor>, style: OutputStyle) -> Result<Value, ServeError> {
    let mut outputs = outputs.into_iter();
    let predictions = match (style, outputs.len()) {
        (OutputStyle::Array, 1) => match outputs.next() {
            Some(only) => nested(only)?,
            None => Value::Null,
        },
        _ => {
            let mut dict = Map::new();
            for output in outputs {
                let name = output.name.clone();
                dict.insert(name, nested(output)?);
            }
            Value::Object(dict)
        }
    };
    let mut body = Map::new();
    body.insert("predictions".into(), predictions);
    Ok(Value::Object(body))
}

/// A tensor as nested JSON lists of its shape (NaN as `null`, via the v2 encoder).
fn nested(output: NamedTensor) -> Result<Value, ServeError> {
    let shape = output.tensor.shape().to_vec();
    let encoded = encode_output(output).map_err(ServeError::Internal)?;
    let flat = match serde_json::to_value(&encoded.data) {
        Ok(Value::Array(items)) => items,
        Ok(other) => vec![other],
        Err(e) => return Err(ServeError::Internal(e.to_string())),
    };
    Ok(match shape.as_slice() {
        [] => flat.into_iter().next().unwrap_or(Value::Null),
        [_] => Value::Array(flat),
        [_, inner @ ..] => {
            let mut items = flat.into_iter();
            nest(&mut items, &shape[..1], inner)
        }
    })
}

fn nest(items: &mut impl Iterator<Item = Value>, outer: &[usize], inner: &[usize]) -> Value {
    let n = outer.first().copied().unwrap_or(0);
    match inner {
        [] => Value::Array(items.take(n).collect()),
        [next, rest @ ..] => Value::Array(
            (0..n)
                .map(|_| nest(items, std::slice::from_ref(next), rest))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironflow_loader::tensor::{tensor1, tensor2};

    #[test]
    fn predictions_follow_the_output_rank() {
        let one = predictions(
            vec![NamedTensor::new("output-1", tensor1(&[0i64, 2]))],
            OutputStyle::Array,
        )
        .expect("1-d");
        assert_eq!(one, serde_json::json!({"predictions": [0, 2]}));
        let two = predictions(
            vec![NamedTensor::new(
                "output-1",
                tensor2(&[[0.5f64, 0.5], [1.0, f64::NAN]]),
            )],
            OutputStyle::Array,
        )
        .expect("2-d");
        assert_eq!(
            two,
            serde_json::json!({"predictions": [[0.5, 0.5], [1.0, null]]})
        );
        let dict = predictions(
            vec![
                NamedTensor::new("label", tensor1(&[1i64])),
                NamedTensor::new("p", tensor2(&[[0.25f32, 0.75]])),
            ],
            OutputStyle::Dict,
        )
        .expect("dict");
        assert_eq!(
            dict,
            serde_json::json!({"predictions": {"label": [1], "p": [[0.25, 0.75]]}})
        );
    }
}
