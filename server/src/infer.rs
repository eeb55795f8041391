//! The transport-neutral inference path: decode the request's inputs, run the model on the
//! blocking pool (bounded by the inference slots), encode its outputs.

use std::sync::Arc;

use tracing::Instrument;

use crate::codec::{decode_input, encode_output, InferRequest, InferResponse, Parameters};
use crate::error::ServeError;
use crate::state::{AppState, ServedModel};

/// Runs one inference request against a served model.
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
        id: request
            .id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        parameters,
        outputs,
    })
}
