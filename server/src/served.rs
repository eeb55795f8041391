//! [`ServedModel`]: one model as served, its compiled form with the metadata, settings and
//! runner (admission and batching) built for it once at load.

use std::sync::Arc;

use ironflow_loader::LoadedModel;

use crate::batching::{ModelRunner, ModelServingSettings};
use crate::codec::metadata::{MetadataOverrides, ModelMetadata};

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
    pub runner: ModelRunner,
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
        let runner = ModelRunner::new(&name, &settings);
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
    pub fn with_metadata(mut self, overrides: &MetadataOverrides) -> Self {
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
