//! What every handler shares: the served models and the inference concurrency limit.

use std::collections::HashMap;
use std::sync::Arc;

use ironflow_loader::LoadedModel;
use tokio::sync::Semaphore;

use crate::error::ServeError;
use crate::metadata::ModelMetadata;

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
}

impl ServedModel {
    /// Wraps a loaded model for serving.
    pub fn new(name: String, version: Option<String>, model: LoadedModel) -> Self {
        let metadata = ModelMetadata::describe(&name, version.as_deref(), &model);
        Self {
            name,
            version,
            model: Arc::new(model),
            metadata,
        }
    }
}

/// Shared handler state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    models: Arc<HashMap<String, Arc<ServedModel>>>,
    /// Bounds how many inferences run at once on the blocking pool.
    pub inference_slots: Arc<Semaphore>,
    /// The request body limit in bytes.
    pub max_body_bytes: usize,
}

impl AppState {
    /// Builds the state for a set of models.
    pub fn new(models: Vec<ServedModel>, inference_threads: usize, max_body_bytes: usize) -> Self {
        Self {
            models: Arc::new(
                models
                    .into_iter()
                    .map(|m| (m.name.clone(), Arc::new(m)))
                    .collect(),
            ),
            inference_slots: Arc::new(Semaphore::new(inference_threads.max(1))),
            max_body_bytes,
        }
    }

    /// The model `name`, at `version` when one is asked for.
    pub fn model(&self, name: &str, version: Option<&str>) -> Result<Arc<ServedModel>, ServeError> {
        let model = self
            .models
            .get(name)
            .ok_or_else(|| ServeError::ModelNotFound(name.to_owned()))?;
        match version {
            Some(v) if model.version.as_deref() != Some(v) => Err(ServeError::VersionNotFound {
                name: name.to_owned(),
                version: v.to_owned(),
            }),
            _ => Ok(model.clone()),
        }
    }

    /// Every served model.
    pub fn models(&self) -> impl Iterator<Item = &Arc<ServedModel>> {
        self.models.values()
    }
}
