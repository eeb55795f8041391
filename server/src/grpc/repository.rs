//! The model repository over gRPC: `RepositoryIndex`, `RepositoryModelLoad` and
//! `RepositoryModelUnload`, answered the same way by `inference.GRPCInferenceService` and by
//! MLServer's second service, `inference.model_repository.ModelRepositoryService`.

use ironflow_proto::inference::model_repository::model_repository_service_server::ModelRepositoryService;
use ironflow_proto::inference::repository_index_response::ModelIndex;
use ironflow_proto::inference::{
    RepositoryIndexRequest, RepositoryIndexResponse, RepositoryModelLoadRequest,
    RepositoryModelLoadResponse, RepositoryModelUnloadRequest, RepositoryModelUnloadResponse,
};
use tonic::{Request, Response, Status};

use crate::state::AppState;

/// The same index as REST `POST /v2/repository/index`; a model without a version has an empty
/// `version`.
pub async fn index(
    state: &AppState,
    request: RepositoryIndexRequest,
) -> Result<RepositoryIndexResponse, Status> {
    let models = crate::rest::repository::index_entries(state, request.ready)
        .await?
        .into_iter()
        .map(|entry| ModelIndex {
            name: entry.name,
            version: entry.version.unwrap_or_default(),
            state: entry.state.as_str().to_owned(),
            reason: entry.reason,
        })
        .collect();
    Ok(RepositoryIndexResponse { models })
}

/// Loads (or reloads) a model: NOT_FOUND when the repository does not hold it,
/// INVALID_ARGUMENT with the reason when it fails to load.
pub async fn load(
    state: &AppState,
    request: RepositoryModelLoadRequest,
) -> Result<RepositoryModelLoadResponse, Status> {
    let name = model_name(request.repository_name, request.model_name);
    state.registry().load(&name).await?;
    Ok(RepositoryModelLoadResponse {
        model_name: name,
        is_loaded: true,
    })
}

/// Unloads a model: NOT_FOUND when it is not loaded.
pub fn unload(
    state: &AppState,
    request: RepositoryModelUnloadRequest,
) -> Result<RepositoryModelUnloadResponse, Status> {
    let name = model_name(request.repository_name, request.model_name);
    state.registry().unload(&name)?;
    Ok(RepositoryModelUnloadResponse {
        model_name: name,
        is_unloaded: true,
    })
}

/// Whether a repository call may go on: the API may be off (PERMISSION_DENIED) or need a bearer
/// token in its `authorization` metadata (UNAUTHENTICATED).
pub fn check_access<T>(state: &AppState, request: &Request<T>) -> Result<(), Status> {
    let authorization = request
        .metadata()
        .get("authorization")
        .map(|v| v.as_bytes());
    Ok(state.repository_access(authorization)?)
}

/// The model a load/unload request names: field 2 (`model_name`) in MLServer's proto; KServe's
/// Python proto numbers `model_name` 1, which lands in `repository_name` here.
fn model_name(repository_name: String, model_name: String) -> String {
    if model_name.is_empty() {
        repository_name
    } else {
        model_name
    }
}

/// MLServer's `inference.model_repository.ModelRepositoryService`.
#[derive(Debug, Clone)]
pub struct RepositoryService {
    state: AppState,
}

impl RepositoryService {
    /// A repository service over the server's state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl ModelRepositoryService for RepositoryService {
    async fn repository_index(
        &self,
        request: Request<RepositoryIndexRequest>,
    ) -> Result<Response<RepositoryIndexResponse>, Status> {
        check_access(&self.state, &request)?;
        index(&self.state, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn repository_model_load(
        &self,
        request: Request<RepositoryModelLoadRequest>,
    ) -> Result<Response<RepositoryModelLoadResponse>, Status> {
        check_access(&self.state, &request)?;
        load(&self.state, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn repository_model_unload(
        &self,
        request: Request<RepositoryModelUnloadRequest>,
    ) -> Result<Response<RepositoryModelUnloadResponse>, Status> {
        check_access(&self.state, &request)?;
        unload(&self.state, request.into_inner()).map(Response::new)
    }
}
