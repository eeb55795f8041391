//! What every handler shares: the model registry, readiness and the inference concurrency limit.

use std::sync::Arc;
use std::time::Duration;

use ironflow_loader::LoadedModel;
use tokio::sync::Semaphore;

use crate::error::ServeError;
use crate::metadata::ModelMetadata;
use crate::repository::Registry;
use crate::shutdown::Readiness;

/// Per-model serving knobs, from `model-settings.json`, the `MLSERVER_MODEL_*` environment and
/// the CLI. Batching is on only when `max_batch_size > 1` and `max_batch_time > 0`, as in MLServer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelServingSettings {
    /// The most requests' rows merged into one batch (`max_batch_size`; 0 or 1: no batching).
    pub max_batch_size: usize,
    /// How long a batch waits for more requests (`max_batch_time`; zero: no batching).
    pub max_batch_time: Duration,
    /// The most requests admitted for this model (waiting or running); past it, new requests are
    /// refused at once (HTTP 503 / gRPC UNAVAILABLE). 0: no limit.
    pub max_queue: usize,
}

impl Default for ModelServingSettings {
    fn default() -> Self {
        Self {
            max_batch_size: 0,
            max_batch_time: Duration::ZERO,
            max_queue: 1024,
        }
    }
}

impl ModelServingSettings {
    /// Whether adaptive batching is on.
    pub fn batching(&self) -> bool {
        self.max_batch_size > 1 && !self.max_batch_time.is_zero()
    }
}

/// A model as served: its name, optional version, compiled model and precomputed metadata.
#[derive(Debug)]
pub struct ServedModel {
    /// The name clients address it by.
    pub name: String,
    /// The version, when one was configured.
    pub version: Option<String>,
    /// The compiled model.
    pub model: Arc<LoadedModel>,
    /// The `GET /v2/models/{name}` answer, built once at load.
    pub metadata: ModelMetadata,
    /// Batching and queue settings.
    pub settings: ModelServingSettings,
    /// Admission (the bounded queue) and adaptive batching, per `settings`.
    pub runner: crate::batching::ModelRunner,
}

impl ServedModel {
    /// Wraps a loaded model for serving, with default settings (no batching).
    pub fn new(name: String, version: Option<String>, model: LoadedModel) -> Self {
        Self::with_settings(name, version, model, ModelServingSettings::default())
    }

    /// Wraps a loaded model for serving with the given settings.
    pub fn with_settings(
        name: String,
        version: Option<String>,
        model: LoadedModel,
        settings: ModelServingSettings,
    ) -> Self {
        let metadata = ModelMetadata::describe(&name, version.as_deref(), &model);
        let runner = crate::batching::ModelRunner::new(&name, &settings);
        Self {
            name,
            version,
            model: Arc::new(model),
            metadata,
            settings,
            runner,
        }
    }

    /// Applies `model-settings.json` metadata (`platform`, `versions`, `inputs`, `outputs`,
    /// `parameters.content_type`) as MLServer's MLflow runtime does (`_sync_metadata`): a model
    /// with a signature keeps the signature's inputs, outputs and content type, with a warning for
    /// each field the settings also gave; a model without one takes the settings'.
    pub fn with_metadata(mut self, overrides: &crate::metadata::MetadataOverrides) -> Self {
        let mut overrides = overrides.clone();
        if self.model.signature.is_some() {
            for (field, given) in [
                ("inputs", overrides.inputs.take().is_some()),
                ("outputs", overrides.outputs.take().is_some()),
                (
                    "parameters.content_type",
                    overrides.content_type.take().is_some(),
                ),
            ] {
                if given {
                    tracing::warn!(
                        model = %self.name,
                        "model-settings.json {field} ignored: the MLflow signature sets it (as in MLServer's MLflow runtime)"
                    );
                }
            }
        }
        self.metadata.apply(&overrides);
        self
    }
}

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
    pub cloudevents: Arc<crate::rest::cloudevents::CloudEvents>,
    /// The model `--name` asks for: readiness waits for it (see [`crate::startup`]).
    required_model: Option<Arc<crate::startup::RequiredModel>>,
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
            cloudevents: Arc::new(crate::rest::cloudevents::CloudEvents::new("mlserver")),
            required_model: None,
        }
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
        self.cloudevents = Arc::new(crate::rest::cloudevents::CloudEvents::new(
            self.cloudevents_name(),
        ));
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

    /// Whether the server should get traffic (`/v2/health/ready`).
    pub fn ready(&self) -> bool {
        self.readiness.is_ready()
            && self
                .required_model
                .as_ref()
                .is_none_or(|r| self.registry.get(&r.name, r.version.as_deref()).is_ok())
    }
}
