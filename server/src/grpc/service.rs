//! The `inference.GRPCInferenceService` and `grpc.health.v1.Health` handlers: thin wrappers
//! over the shared [`AppState`] and the transport-neutral [`crate::pipeline`].

use ironflow_proto::health::health_check_response::ServingStatus;
use ironflow_proto::health::health_server::Health;
use ironflow_proto::health::{HealthCheckRequest, HealthCheckResponse};
use ironflow_proto::inference::grpc_inference_service_server::GrpcInferenceService;
use ironflow_proto::inference::{
    ModelInferRequest, ModelInferResponse, ModelMetadataRequest, ModelMetadataResponse,
    ModelReadyRequest, ModelReadyResponse, RepositoryIndexRequest, RepositoryIndexResponse,
    RepositoryModelLoadRequest, RepositoryModelLoadResponse, RepositoryModelUnloadRequest,
    RepositoryModelUnloadResponse, ServerLiveRequest, ServerLiveResponse, ServerMetadataRequest,
    ServerMetadataResponse, ServerReadyRequest, ServerReadyResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{convert, repository};
use crate::error::ServeError;
use crate::pipeline::{self, Inference, Inputs, RequestParameters, Target};
use crate::served::ServedModel;
use crate::state::AppState;

/// The v2 inference service over the served models.
#[derive(Debug, Clone)]
pub struct InferenceService {
    state: AppState,
}

impl InferenceService {
    /// Serves the models of `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// An empty protobuf string means "not given".
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Runs one gRPC inference request: the gRPC adapter of [`crate::pipeline`], which only decodes
/// the protobuf inputs and encodes the outputs. Raw contents in means raw contents out
/// (MLServer's `_GetReturnRaw`).
pub async fn infer(
    state: &AppState,
    request: ModelInferRequest,
) -> Result<ModelInferResponse, ServeError> {
    let ModelInferRequest {
        model_name,
        model_version,
        id,
        parameters,
        inputs,
        outputs,
        raw_input_contents,
        ..
    } = request;
    let version = non_empty(model_version);
    let raw = !raw_input_contents.is_empty();
    let target = Target::named(&model_name, version.as_deref());
    let (inference, ()) = pipeline::run(state, target, |_: &ServedModel| {
        let parameters = Some(convert::json_parameters(&parameters));
        let inputs = convert::decode_inputs(inputs, raw_input_contents)?;
        let request = pipeline::Request {
            id: non_empty(id),
            parameters: RequestParameters::from_v2(parameters),
            inputs: Inputs::Tagged(inputs),
            outputs: Some(outputs.into_iter().map(|o| o.name).collect()),
        };
        Ok((request, ()))
    })
    .await?;
    let content_type = inference.content_type();
    let Inference { model, id, outputs } = inference;
    let (outputs, raw_output_contents) = convert::encode_outputs(outputs, raw)?;
    Ok(ModelInferResponse {
        model_name: model.name.clone(),
        model_version: model.version.clone().unwrap_or_default(),
        id,
        parameters: content_type
            .map(convert::content_type_parameters)
            .unwrap_or_default(),
        outputs,
        raw_output_contents,
    })
}

#[tonic::async_trait]
impl GrpcInferenceService for InferenceService {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    /// True once startup has settled, false again from the moment shutdown begins.
    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse {
            ready: self.state.ready(),
        }))
    }

    /// True when READY, false when loading or failed; NOT_FOUND when unknown or unloaded.
    async fn model_ready(
        &self,
        request: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        let request = request.into_inner();
        let version = non_empty(request.version);
        let ready = match self.state.model(&request.name, version.as_deref()) {
            Ok(_) => true,
            Err(ServeError::ModelNotReady { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        Ok(Response::new(ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        // The same name and version as REST `GET /v2`.
        Ok(Response::new(ServerMetadataResponse {
            name: self.state.server_name().to_owned(),
            version: self.state.server_version().to_owned(),
            extensions: vec![],
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let request = request.into_inner();
        let version = non_empty(request.version);
        let served = self.state.model(&request.name, version.as_deref())?;
        Ok(Response::new(convert::model_metadata(&served.metadata)))
    }

    async fn model_infer(
        &self,
        request: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        let span = tracing::info_span!(
            target: crate::tracing_otel::TARGET,
            "inference",
            model = %request.get_ref().model_name
        );
        crate::tracing_otel::set_parent_from_metadata(&span, request.metadata());
        let answer =
            tracing::Instrument::instrument(infer(&self.state, request.into_inner()), span).await?;
        Ok(Response::new(answer))
    }

    type ModelStreamInferStream = ReceiverStream<Result<ModelInferResponse, Status>>;

    /// Answers each request in order; the first failure ends the stream with its status.
    async fn model_stream_infer(
        &self,
        request: Request<Streaming<ModelInferRequest>>,
    ) -> Result<Response<Self::ModelStreamInferStream>, Status> {
        let mut incoming = request.into_inner();
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let answer = match incoming.message().await {
                    Ok(Some(request)) => infer(&state, request).await.map_err(Status::from),
                    Ok(None) => break,
                    Err(status) => Err(status),
                };
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    /// The same index as REST `POST /v2/repository/index`.
    async fn repository_index(
        &self,
        request: Request<RepositoryIndexRequest>,
    ) -> Result<Response<RepositoryIndexResponse>, Status> {
        repository::check_access(&self.state, &request)?;
        repository::index(&self.state, request.into_inner())
            .await
            .map(Response::new)
    }

    /// Loads (or reloads) a model: NOT_FOUND when the repository does not hold it,
    /// INVALID_ARGUMENT with the reason when it fails to load.
    async fn repository_model_load(
        &self,
        request: Request<RepositoryModelLoadRequest>,
    ) -> Result<Response<RepositoryModelLoadResponse>, Status> {
        repository::check_access(&self.state, &request)?;
        repository::load(&self.state, request.into_inner())
            .await
            .map(Response::new)
    }

    /// Unloads a model: NOT_FOUND when it is not loaded.
    async fn repository_model_unload(
        &self,
        request: Request<RepositoryModelUnloadRequest>,
    ) -> Result<Response<RepositoryModelUnloadResponse>, Status> {
        repository::check_access(&self.state, &request)?;
        repository::unload(&self.state, request.into_inner()).map(Response::new)
    }
}

/// `grpc.health.v1.Health`: for the server (`""`) and the inference service, `SERVING` when the
/// server is ready (startup settled, not shutting down), `NOT_SERVING` otherwise.
#[derive(Debug, Clone)]
pub struct HealthService {
    state: AppState,
}

impl HealthService {
    /// Reports the readiness of `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    fn status(&self, service: &str) -> Result<HealthCheckResponse, Status> {
        if service.is_empty() || service == ironflow_proto::SERVICE {
            let status = if self.state.ready() {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            Ok(HealthCheckResponse {
                status: status.into(),
            })
        } else {
            Err(Status::not_found(format!("unknown service {service:?}")))
        }
    }
}

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.status(&request.into_inner().service)
            .map(Response::new)
    }

    type WatchStream = tokio_stream::Once<Result<HealthCheckResponse, Status>>;

    /// Sends the current status and ends: a stream held open would hold up graceful shutdown,
    /// so clients poll (or watch again) to see a change.
    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let status = self.status(&request.into_inner().service)?;
        Ok(Response::new(tokio_stream::once(Ok(status))))
    }
}
