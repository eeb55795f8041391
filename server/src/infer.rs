//! The transport-neutral inference path. REST and gRPC each decode their wire form into
//! [`NamedTensor`]s, call [`predict`] (which runs the model on the blocking pool, bounded by the
//! inference slots), and encode the outputs back; [`infer`] is the REST JSON form of that.

use std::sync::Arc;

use ironflow_loader::NamedTensor;

use crate::codec::{InferRequest, InferResponse, Parameters};
use crate::error::ServeError;
use crate::state::{AppState, ServedModel};

/// Runs a model on decoded inputs, off the async executor, and returns its outputs.
///
/// The request is first admitted to the model's bounded queue (refused at once with
/// [`ServeError::Overloaded`] when it is full), then run on the blocking pool, bounded by the
/// inference slots: alone, or concatenated with concurrent requests when the model batches
/// ([`crate::batching`]). No lock is held across inference.
pub async fn predict(
    state: &AppState,
    served: &ServedModel,
    inputs: Vec<NamedTensor>,
) -> Result<Vec<NamedTensor>, ServeError> {
    let admission = served.runner.admit()?;
    served
        .runner
        .run(&served.model, &state.inference_slots, inputs, admission)
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

/// The response `id`: the request's, or a new UUID (v4), as MLServer answers.
pub fn response_id(request_id: Option<String>) -> String {
    request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Runs one REST inference request against a served model: its JSON header, and the binary
/// data of the inputs that set `binary_data_size` (empty without the binary extension). The
/// response carries the binary outputs' data, when the request asked for any.
pub async fn infer(
    state: &AppState,
    served: Arc<ServedModel>,
    request: InferRequest,
    binary: &[u8],
) -> Result<InferResponse, ServeError> {
    let InferRequest {
        id,
        parameters: request_parameters,
        inputs,
        outputs: requested,
    } = request;
    let names: Vec<&str> = requested
        .iter()
        .flatten()
        .map(|o| o.name.as_str())
        .collect();
    let keep = served.model.select_outputs(&names)?;
    let inputs = crate::codec::binary::decode_inputs(inputs, binary)?;
    let inputs = crate::codec::prepare_inputs(&served, request_parameters.as_ref(), inputs)?;
    let outputs = keep_outputs(predict(state, &served, inputs).await?, keep);
    let choice =
        crate::codec::binary::BinaryOutputs::new(request_parameters.as_ref(), requested.as_deref());
    let (outputs, binary) =
        crate::codec::binary::encode_outputs(outputs, &choice).map_err(ServeError::Internal)?;
    let mut parameters = Parameters::new();
    if let Some(content_type) = served.model.output_style.response_content_type() {
        parameters.insert("content_type".into(), content_type.into());
    }
    Ok(InferResponse {
        model_name: served.name.clone(),
        model_version: served.version.clone(),
        id: response_id(id),
        parameters,
        outputs,
        binary,
    })
}
