//! The one transport-neutral inference pipeline. Every transport (REST v2 with its fast path, the
//! REST event stream, gRPC, MLflow's `/invocations`) is an adapter that decodes its wire form into
//! a [`Request`] and encodes the [`Inference`] it gets back; everything in between happens here,
//! once, in this order:
//!
//! 1. model lookup ([`Target`]): unknown -> 404 / `NOT_FOUND`, loading or failed -> 503;
//! 2. the transport's decoding, given the model (a raw binary request or an MLflow body needs its
//!    metadata or signature), into neutral inputs with typed parameters ([`Request`]);
//! 3. input preparation: MLServer's content types, then the MLflow params check ([`prepare`]);
//! 4. admission to the model's bounded queue, adaptive batching and the model itself
//!    ([`predict`], `crate::batching`);
//! 5. metrics: `model_infer_request_{success,failure}_total` and `model_infer_request_duration`,
//!    labelled by model and version, whatever the transport (as MLServer counts in its data plane);
//! 6. the response id: the request's, or a new UUID.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use ironflow_loader::{NamedTensor, OutputStyle};
use serde_json::{Map, Value};

use crate::codec::{apply_content_types, params, Parameters, TaggedInput};
use crate::error::ServeError;
use crate::metrics;
use crate::served::ServedModel;
use crate::state::AppState;

/// Which model a request is for.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A model by name, at a version when one is asked for (v2 REST and gRPC).
    Named {
        /// The model name.
        name: &'a str,
        /// The version asked for.
        version: Option<&'a str>,
    },
    /// The one model served (MLflow's scoring protocol names no model).
    Only,
}

impl<'a> Target<'a> {
    /// A model by name and optional version.
    pub fn named(name: &'a str, version: Option<&'a str>) -> Self {
        Self::Named { name, version }
    }

    /// The model, if it is READY.
    fn lookup(self, state: &AppState) -> Result<Arc<ServedModel>, ServeError> {
        match self {
            Self::Named { name, version } => state.model(name, version),
            Self::Only => state
                .models()
                .next()
                .ok_or_else(|| ServeError::ModelNotFound("(none)".into())),
        }
    }

    /// The metrics labels of a request that failed before its model was found: the name asked
    /// for (MLServer counts those failures under it too); none when no model was named.
    fn labels(self) -> Option<(&'a str, Option<&'a str>)> {
        match self {
            Self::Named { name, version } => Some((name, version)),
            Self::Only => None,
        }
    }
}

/// The request parameters the pipeline acts on, typed; the v2 map is kept for the content-type
/// step, which reads per-request and per-input `content_type`s.
#[derive(Debug, Default)]
pub struct RequestParameters {
    /// The request's `content_type` (`pd`, `np`, `dict`, ...), when it sets one.
    pub content_type: Option<String>,
    /// The MLflow params to check against the model's params schema.
    pub mlflow_params: Map<String, Value>,
    /// The v2 request parameters as sent (`None` for the MLflow scoring protocol).
    pub v2: Option<Parameters>,
}

impl RequestParameters {
    /// The typed view of v2 request parameters.
    pub fn from_v2(parameters: Option<Parameters>) -> Self {
        Self {
            content_type: crate::codec::content_type(parameters.as_ref()).map(str::to_owned),
            mlflow_params: params::request_params(parameters.as_ref()),
            v2: parameters,
        }
    }

    /// The parameters of an MLflow scoring request: its `params` only.
    pub fn mlflow(params: Map<String, Value>) -> Self {
        Self {
            content_type: None,
            mlflow_params: params,
            v2: None,
        }
    }
}

/// The inputs of a request, as the transport decoded them.
#[derive(Debug)]
pub enum Inputs {
    /// v2 inputs (REST, gRPC, stream), each with its own parameters: MLServer's content types
    /// still to apply.
    Tagged(Vec<TaggedInput>),
    /// Tensors already typed by the model's signature (MLflow's scoring protocol).
    Tensors(Vec<NamedTensor>),
}

/// A decoded, transport-neutral inference request.
#[derive(Debug)]
pub struct Request {
    /// The request id, echoed in the response.
    pub id: Option<String>,
    /// The request parameters.
    pub parameters: RequestParameters,
    /// The inputs.
    pub inputs: Inputs,
    /// The outputs the request names (v2 `outputs`), for models served as MLServer's sklearn /
    /// xgboost / lightgbm runtimes, which answer only those (`predict` by default); `None`
    /// returns every output unselected (the transport chooses, as the v1 adapter does).
    pub outputs: Option<Vec<String>>,
}

/// A finished inference: the model that answered, the response id and the model's outputs, for
/// the transport to encode.
#[derive(Debug)]
pub struct Inference {
    /// The model that answered.
    pub model: Arc<ServedModel>,
    /// The request's id, or a new UUID (v4), as MLServer answers.
    pub id: String,
    /// The model's outputs.
    pub outputs: Vec<NamedTensor>,
}

impl Inference {
    /// The model's name.
    pub fn model_name(&self) -> &str {
        &self.model.name
    }

    /// The model's version, when it has one.
    pub fn model_version(&self) -> Option<&str> {
        self.model.version.as_deref()
    }

    /// The response's `content_type` parameter: how the outputs are shaped (`np`, `dict`);
    /// `None` for models served as MLServer's runtimes, whose responses carry none.
    pub fn content_type(&self) -> Option<&'static str> {
        self.model.model.output_style.response_content_type()
    }

    /// How MLflow returns the outputs (one array, or a dict of them).
    pub fn output_style(&self) -> OutputStyle {
        self.model.model.output_style
    }
}

/// Runs one inference request through the pipeline. `decode` is the transport's decoding of its
/// wire form for the model found; what it returns besides the [`Request`] (which outputs go back
/// as binary, whether raw contents were used, ...) is handed back untouched for the encoding.
/// Every outcome, from lookup to prediction, is counted once in the model metrics.
pub async fn run<T, D>(
    state: &AppState,
    target: Target<'_>,
    decode: D,
) -> Result<(Inference, T), ServeError>
where
    D: FnOnce(&ServedModel) -> Result<(Request, T), ServeError>,
{
    let started = Instant::now();
    let served = match target.lookup(state) {
        Ok(served) => served,
        Err(e) => {
            if let Some((name, version)) = target.labels() {
                metrics::record_infer(name, version, false, started.elapsed());
            }
            return Err(e);
        }
    };
    let result = answer(state, &served, decode).await;
    metrics::record_infer(
        &served.name,
        served.version.as_deref(),
        result.is_ok(),
        started.elapsed(),
    );
    let (outputs, id, extra) = result?;
    Ok((
        Inference {
            model: served,
            id,
            outputs,
        },
        extra,
    ))
}

/// Steps 2 to 4 and 6 for a model found.
fn answer<'a, T, D>(
    state: &'a AppState,
    served: &'a ServedModel,
    decode: D,
) -> impl Future<Output = Result<(Vec<NamedTensor>, String, T), ServeError>> + 'a
where
    D: FnOnce(&ServedModel) -> Result<(Request, T), ServeError>,
    T: 'a,
{
    let decode_span = tracing::info_span!(target: crate::tracing_otel::TARGET, "decode");
    let decoded = decode_span
        .in_scope(|| decode(served))
        .and_then(|(request, extra)| {
            check_request_id(request.id.as_deref())?;
            let keep = match &request.outputs {
                Some(names) => {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    served.model.select_outputs(&names)?
                }
                None => None,
            };
            let inputs = prepare(served, request.parameters, request.inputs)?;
            Ok((inputs, keep, request.id, extra))
        });
    async move {
        let (inputs, keep, id, extra) = decoded?;
        let outputs = keep_outputs(predict(state, served, inputs, keep.clone()).await?, keep);
        Ok((outputs, response_id(id), extra))
    }
}

/// Input preparation: the content types of v2 inputs are applied (`codec::content_type`), then
/// the request's MLflow params are checked against the model's params schema (`codec::params`).
pub fn prepare(
    served: &ServedModel,
    parameters: RequestParameters,
    inputs: Inputs,
) -> Result<Vec<NamedTensor>, ServeError> {
    let inputs = match inputs {
        Inputs::Tagged(inputs) => {
            apply_content_types(&served.metadata, parameters.v2.as_ref(), inputs)?
        }
        Inputs::Tensors(inputs) => inputs,
    };
    params::enforce_params(served.model.params_schema(), parameters.mlflow_params)?;
    Ok(inputs)
}

/// Runs a model on prepared inputs, off the async executor, and returns its outputs.
///
/// The request is first admitted to the model's bounded queue (refused at once with
/// [`ServeError::Overloaded`] when it is full), then run on the blocking pool, bounded by the
/// inference slots: alone, or concatenated with concurrent requests when the model batches
/// ([`crate::batching`]). No lock is held across inference. `outputs` (from
/// [`ironflow_loader::LoadedModel::select_outputs`]) names the outputs to compute; `None`: all.
pub async fn predict(
    state: &AppState,
    served: &ServedModel,
    inputs: Vec<NamedTensor>,
    outputs: Option<Vec<String>>,
) -> Result<Vec<NamedTensor>, ServeError> {
    let admission = served.runner.admit()?;
    served
        .runner
        .run(
            &served.model,
            &state.inference_slots,
            inputs,
            outputs,
            admission,
        )
        .await
}

/// The outputs to return, in the order `keep` names them (from
/// [`ironflow_loader::LoadedModel::select_outputs`]: MLServer's sklearn / xgboost / lightgbm
/// runtimes return the outputs a request names, `predict` by default); all when `None`.
pub fn keep_outputs(outputs: Vec<NamedTensor>, keep: Option<Vec<String>>) -> Vec<NamedTensor> {
    let Some(keep) = keep else {
        return outputs;
    };
    let mut outputs: Vec<Option<NamedTensor>> = outputs.into_iter().map(Some).collect();
    keep.iter()
        .filter_map(|name| {
            outputs
                .iter_mut()
                .find(|o| o.as_ref().is_some_and(|o| &o.name == name))
                .and_then(Option::take)
        })
        .collect()
}

/// The longest request `id` accepted: it is echoed in the response body and twice in its
/// headers (`ce-id`, `ce-requestid`), which must stay far below clients' header limits (16 KiB
/// and less). A UUID is 36 bytes.
pub const MAX_REQUEST_ID_BYTES: usize = 1024;

/// Refuses a request `id` over [`MAX_REQUEST_ID_BYTES`] (400 / INVALID_ARGUMENT) rather than
/// echo it.
pub fn check_request_id(id: Option<&str>) -> Result<(), ServeError> {
    match id {
        Some(id) if id.len() > MAX_REQUEST_ID_BYTES => Err(ServeError::RequestIdTooLong {
            length: id.len(),
            limit: MAX_REQUEST_ID_BYTES,
        }),
        _ => Ok(()),
    }
}

/// The response `id`: the request's, or a new UUID (v4), as MLServer answers.
pub fn response_id(request_id: Option<String>) -> String {
    request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
