//! What every handler shares: the model registry, readiness and the inference concurrency limit.

use std::sync::Arc;

use tokio::sync::Semaphore;

pub use crate::batching::ModelServingSettings;
use crate::error::ServeError;
use crate::repository::Registry;
use crate::rest::cloudevents::CloudEvents;
pub use crate::served::ServedModel;
use crate::shutdown::Readiness;

/// Shared handler state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    registry: Arc<Registry>,
    readiness: Arc<Readiness>,
    /// Bounds how many inferences run at once on the blocking pool.
    pub inference_slots: Arc<Semaphore>,
    /// The request body limit in bytes.
    pub max_body_bytes: usize,
    /// `settings.json`: the server's name and version, compression, root path and CORS.
    pub server: Arc<crate::repository::ServerSettings>,
    /// The CloudEvents header values of this server's inference responses, built once.
    pub cloudevents: Arc<CloudEvents>,
    /// The model `--name` asks for: readiness waits for it (see [`crate::startup`]).
    required_model: Option<Arc<crate::startup::RequiredModel>>,
    /// One model is served (not a repository): readiness needs it READY, so unloading it
    /// through the repository API turns readiness false.
    single_model: bool,
}

impl AppState {
    /// Builds the state for a set of models already loaded (all READY, server ready).
    pub fn new(models: Vec<ServedModel>, inference_threads: usize, max_body_bytes: usize) -> Self {
        Self::with_registry(
            Registry::with_models(models),
            Readiness::started(),
            inference_threads,
            max_body_bytes,
        )
    }

    /// Builds the state over a registry whose models may still be loading.
    pub fn with_registry(
        registry: Registry,
        readiness: Readiness,
        inference_threads: usize,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            registry: Arc::new(registry),
            readiness: Arc::new(readiness),
            inference_slots: Arc::new(Semaphore::new(inference_threads.max(1))),
            max_body_bytes,
            server: Arc::new(crate::repository::ServerSettings::default()),
            cloudevents: Arc::new(CloudEvents::new("mlserver")),
            required_model: None,
            single_model: false,
        }
    }

    /// Marks the state as serving one model: readiness needs it READY.
    pub fn with_single_model(mut self, single: bool) -> Self {
        self.single_model = single;
        self
    }

    /// Whether a repository API call carrying `authorization` (its `Authorization` header or
    /// gRPC metadata) may go on: the API may be off or need a bearer token.
    pub fn repository_access(&self, authorization: Option<&[u8]>) -> Result<(), ServeError> {
        Ok(self.server.repository_api.check(authorization)?)
    }

    /// Readiness also waits for `required` to be READY (the model `--name` asks for).
    pub fn with_required_model(mut self, required: Option<crate::startup::RequiredModel>) -> Self {
        self.required_model = required.map(Arc::new);
        self
    }

    /// The model readiness waits for, if any.
    pub fn required_model(&self) -> Option<&crate::startup::RequiredModel> {
        self.required_model.as_deref()
    }

    /// The server name `GET /v2` and gRPC `ServerMetadata` answer: `server_name`, else `ironflow`.
    pub fn server_name(&self) -> &str {
        self.server.server_name.as_deref().unwrap_or("ironflow")
    }

    /// The server version `GET /v2` and gRPC `ServerMetadata` answer: `server_version`, else
    /// ironflow's own.
    pub fn server_version(&self) -> &str {
        self.server
            .server_version
            .as_deref()
            .unwrap_or(env!("CARGO_PKG_VERSION"))
    }

    /// The name in CloudEvents headers: `server_name`, else `mlserver` (MLServer's default).
    pub fn cloudevents_name(&self) -> &str {
        self.server.server_name.as_deref().unwrap_or("mlserver")
    }

    /// The same state serving with the given `settings.json` settings.
    pub fn with_server_settings(mut self, settings: crate::repository::ServerSettings) -> Self {
        self.server = Arc::new(settings);
        self.cloudevents = Arc::new(CloudEvents::new(self.cloudevents_name()));
        self
    }

    /// The model `name`, at `version` when one is asked for, if it is READY. Unknown models
    /// (and unloaded ones, as in MLServer) are [`ServeError::ModelNotFound`]; models loading or
    /// failed are [`ServeError::ModelNotReady`].
    pub fn model(&self, name: &str, version: Option<&str>) -> Result<Arc<ServedModel>, ServeError> {
        self.registry.get(name, version)
    }

    /// Every READY model, in the repository index's order.
    pub fn models(&self) -> impl Iterator<Item = Arc<ServedModel>> {
        self.registry.ready_models().into_iter()
    }

    /// The registry: states, index, load and unload.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Startup and shutdown progress.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Startup and shutdown progress, shared (for services that outlive a borrow).
    pub fn readiness_handle(&self) -> Arc<Readiness> {
        self.readiness.clone()
    }

    /// Whether the server should get traffic (`/v2/health/ready`).
    pub fn ready(&self) -> bool {
        self.readiness.is_ready()
            && self
                .required_model
                .as_ref()
                .is_none_or(|r| self.registry.get(&r.name, r.version.as_deref()).is_ok())
            && (!self.single_model || !self.registry.ready_models().is_empty())
    }
}
