//! The transport-neutral inference path. REST and gRPC each decode their wire form into
//! [`NamedTensor`]s, call [`predict`] (which runs the model on the blocking pool, bounded by the
//! inference slots), and encode the outputs back; [`infer`] is the REST JSON form of that.

use std::sync::Arc;

use ironflow_loader::NamedTensor;
use tracing::Instrument;

use crate::codec::{decode_input, encode_output, InferRequest, InferResponse, Parameters};
use crate::error::ServeError;
use crate::state::{AppState, ServedModel};

/// Runs a model on decoded inputs, off the async executor, and returns its outputs.
pub async fn predict(
    state: &AppState,
    served: &ServedModel,
    inputs: Vec<NamedTensor>,
) -> Result<Vec<NamedTensor>, ServeError> {
    let permit = state
        .inference_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ServeError::Internal(e.to_string()))?;
    let model = served.model.clone();
    let span = tracing::debug_span!("predict", model = %served.name);
    let outputs = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        span.in_scope(|| model.predict(inputs))
    })
    .instrument(tracing::Span::current())
    .await
    .map_err(|e| ServeError::Internal(format!("inference task failed: {e}")))??;
    Ok(outputs)
}

/// The response `id`: the request's, or a new UUID (v4), as MLServer answers.
pub fn response_id(request_id: Option<String>) -> String {
    request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Runs one REST (JSON) inference request against a served model.
pub async fn infer(
    state: &AppState,
    served: Arc<ServedModel>,
    request: InferRequest,
) -> Result<InferResponse, ServeError> {
    let inputs = request
        .inputs
        .iter()
        .map(decode_input)
        .collect::<Result<Vec<_>, _>>()?;
    drop(request.inputs);
    let outputs = predict(state, &served, inputs).await?;
    let outputs = outputs
        .into_iter()
        .map(encode_output)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ServeError::Internal)?;
    let mut parameters = Parameters::new();
    parameters.insert(
        "content_type".into(),
        served.model.output_style.content_type().into(),
    );
    Ok(InferResponse {
        model_name: served.name.clone(),
        model_version: served.version.clone(),
        id: response_id(request.id),
        parameters,
        outputs,
    })
}
