//! The model registry: every known model (name and version) with MLServer's state
//! (`types/model_repository.py`: UNKNOWN, READY, UNAVAILABLE, LOADING, UNLOADING), and the
//! loaded model when there is one.
//!
//! A short `RwLock` guards the table; it is never held across loading or inference: readers
//! clone the `Arc<ServedModel>` out, and a load runs on the blocking pool while every other
//! model keeps serving. Loading a model that is already READY keeps the old one serving until
//! the new one is ready (MLServer's `_reload_model`); unloading drops the registry's reference,
//! and requests already holding the model finish with it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Instant;

use ironflow_loader::SourceOptions;
use serde::Serialize;

use super::discovery::{self, ModelSpec};
use crate::batching::ModelServingSettings;
use crate::error::ServeError;
use crate::served::ServedModel;

/// A model's state, as MLServer's repository index reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModelState {
    /// Not known.
    Unknown,
    /// Loaded and serving.
    Ready,
    /// Not loaded: never loaded, unloaded, or failed to load (see the reason).
    Unavailable,
    /// Being loaded.
    Loading,
    /// Unloaded, with requests that started before still running on it.
    Unloading,
}

impl ModelState {
    /// The wire name (`READY`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Ready => "READY",
            Self::Unavailable => "UNAVAILABLE",
            Self::Loading => "LOADING",
            Self::Unloading => "UNLOADING",
        }
    }
}

/// One row of `POST /v2/repository/index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexEntry {
    /// The model name.
    pub name: String,
    /// Its version; left out of the JSON when unset, as MLServer does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its state.
    pub state: ModelState,
    /// Why it is in that state (a load failure), or empty.
    pub reason: String,
}

/// Where the registry finds models when asked to load one or to list them.
#[derive(Debug, Clone)]
pub enum Source {
    /// A repository folder, scanned again on every index and load (MLServer re-reads it too),
    /// so models added or changed on disk can be loaded without a restart.
    Repository(PathBuf),
    /// A fixed set of models (one MLflow model served on its own).
    Fixed(Vec<ModelSpec>),
}

/// How models are fetched and what they get by default.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Where remote model URIs are downloaded, and the stores' settings.
    pub sources: SourceOptions,
    /// Settings for what a model's own `model-settings.json` leaves out.
    pub defaults: ModelServingSettings,
}

type Key = (String, Option<String>);

#[derive(Debug)]
struct Slot {
    spec: ModelSpec,
    state: ModelState,
    reason: String,
    served: Option<Arc<ServedModel>>,
    /// The model last unloaded, while requests still hold it.
    draining: Weak<ServedModel>,
    /// Bumped by every load and unload, so a load that finishes after a newer one (or after an
    /// unload) does not overwrite it.
    generation: u64,
}

impl Slot {
    fn new(spec: ModelSpec) -> Self {
        let reason = spec.problem.clone().unwrap_or_default();
        Self {
            spec,
            state: ModelState::Unavailable,
            reason,
            served: None,
            draining: Weak::new(),
            generation: 0,
        }
    }

    /// Registered, in MLServer's sense: it answers (or will answer) requests.
    fn registered(&self) -> bool {
        self.served.is_some() || self.state == ModelState::Loading
    }

    fn visible_state(&self) -> ModelState {
        if self.state == ModelState::Unavailable && self.draining.strong_count() > 0 {
            ModelState::Unloading
        } else {
            self.state
        }
    }
}

/// The served models and their states.
#[derive(Debug)]
pub struct Registry {
    slots: RwLock<BTreeMap<Key, Slot>>,
    source: Source,
    options: LoadOptions,
}

impl Registry {
    /// An empty registry reading models from `source`; nothing is loaded yet.
    pub fn new(source: Source, options: LoadOptions) -> Self {
        let specs = match &source {
            Source::Repository(root) => discovery::discover(root),
            Source::Fixed(specs) => specs.clone(),
        };
        Self::with_specs(source, options, specs)
    }

    /// A registry of `source` whose models were already discovered as `specs` (so a start-up
    /// that looked at the folder first does not scan it, and log its problems, twice).
    pub fn with_specs(source: Source, options: LoadOptions, specs: Vec<ModelSpec>) -> Self {
        let registry = Self {
            slots: RwLock::new(BTreeMap::new()),
            source,
            options,
        };
        registry.register(specs);
        registry
    }

    /// A registry of models already loaded, all READY, that cannot be loaded again.
    pub fn with_models(models: Vec<ServedModel>) -> Self {
        let registry = Self::new(Source::Fixed(Vec::new()), LoadOptions::default());
        {
            let mut slots = registry.write();
            for model in models {
                let spec = ModelSpec::bare(
                    model.name.clone(),
                    model.version.clone(),
                    std::path::Path::new(""),
                );
                let mut slot = Slot::new(spec);
                slot.state = ModelState::Ready;
                slot.served = Some(Arc::new(model));
                slots.insert(model_key(&slot.spec), slot);
            }
        }
        registry
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Key, Slot>> {
        // A panic while holding the lock cannot leave the table half-updated (every update is
        // a few field writes), so a poisoned lock is still usable.
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Key, Slot>> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The models the source holds now (reads the disk in repository mode).
    pub fn discover(&self) -> Vec<ModelSpec> {
        match &self.source {
            Source::Repository(root) => discovery::discover(root),
            Source::Fixed(specs) => specs.clone(),
        }
    }

    /// Adds models not known yet, as UNAVAILABLE (or with their problem as the reason).
    fn register(&self, specs: Vec<ModelSpec>) {
        let mut slots = self.write();
        for spec in specs {
            slots
                .entry(model_key(&spec))
                .or_insert_with(|| Slot::new(spec));
        }
    }

    /// Every known model (name, version), in index order.
    pub fn specs(&self) -> Vec<ModelSpec> {
        self.read().values().map(|s| s.spec.clone()).collect()
    }

    /// The model `name` (at `version` when given), if it is READY. With no version, the
    /// newest registered version answers, as MLServer's registry picks its default.
    pub fn get(&self, name: &str, version: Option<&str>) -> Result<Arc<ServedModel>, ServeError> {
        let slots = self.read();
        let mut of_name = slots.iter().filter(|((n, _), _)| n == name).peekable();
        if of_name.peek().is_none() {
            return Err(ServeError::ModelNotFound(name.to_owned()));
        }
        let version_not_found = |v: &str| ServeError::VersionNotFound {
            name: name.to_owned(),
            version: v.to_owned(),
        };
        let slot = match version {
            Some(v) => match slots.get(&(name.to_owned(), Some(v.to_owned()))) {
                Some(slot) => slot,
                None => return Err(version_not_found(v)),
            },
            None => {
                let candidates: Vec<&Slot> = of_name.map(|(_, s)| s).collect();
                match candidates
                    .iter()
                    .copied()
                    .filter(|s| s.registered())
                    .max_by(|a, b| newer(&a.spec.version, &b.spec.version))
                {
                    Some(slot) => slot,
                    None => match candidates.iter().copied().find(|s| !s.reason.is_empty()) {
                        Some(failed) => failed,
                        None => return Err(ServeError::ModelNotFound(name.to_owned())),
                    },
                }
            }
        };
        if let Some(served) = &slot.served {
            return Ok(served.clone());
        }
        if slot.state == ModelState::Loading || !slot.reason.is_empty() {
            return Err(ServeError::ModelNotReady {
                name: name.to_owned(),
                state: slot.state.as_str(),
                reason: slot.reason.clone(),
            });
        }
        Err(match version {
            Some(v) => version_not_found(v),
            None => ServeError::ModelNotFound(name.to_owned()),
        })
    }

    /// Every READY model, in index order.
    pub fn ready_models(&self) -> Vec<Arc<ServedModel>> {
        self.read()
            .values()
            .filter_map(|s| s.served.clone())
            .collect()
    }

    /// The repository index (`POST /v2/repository/index`): every model on disk or in the
    /// registry, only READY ones when `ready_only`. Reads the repository folder again.
    pub fn index(&self, ready_only: bool) -> Vec<IndexEntry> {
        if matches!(self.source, Source::Repository(_)) {
            self.register(self.discover());
        }
        self.read()
            .values()
            .map(|slot| IndexEntry {
                name: slot.spec.name.clone(),
                version: slot.spec.version.clone(),
                state: slot.visible_state(),
                reason: slot.reason.clone(),
            })
            .filter(|e| !ready_only || e.state == ModelState::Ready)
            .collect()
    }

    /// Loads (or reloads) every version of `name` from the source, re-read from disk. Unknown
    /// names are [`ServeError::ModelNotFound`]; a model that fails is left UNAVAILABLE with the
    /// reason (or, when reloading, keeps serving its previous copy) and the first failure is
    /// returned.
    pub async fn load(&self, name: &str) -> Result<(), ServeError> {
        let specs: Vec<ModelSpec> = match &self.source {
            Source::Repository(root) => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || discovery::discover(&root))
                    .await
                    .map_err(|e| ServeError::Internal(format!("repository scan failed: {e}")))?
            }
            Source::Fixed(specs) => specs.clone(),
        };
        let specs: Vec<ModelSpec> = specs.into_iter().filter(|s| s.name == name).collect();
        if specs.is_empty() {
            return Err(ServeError::ModelNotFound(name.to_owned()));
        }
        let mut first_error = None;
        for spec in specs {
            if let Err(e) = self.load_spec(spec).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Loads one model, registering it first as LOADING (or keeping it READY on a reload).
    pub async fn load_spec(&self, spec: ModelSpec) -> Result<(), ServeError> {
        let key = model_key(&spec);
        let generation = {
            let mut slots = self.write();
            let slot = slots
                .entry(key.clone())
                .or_insert_with(|| Slot::new(spec.clone()));
            slot.spec = spec.clone();
            slot.generation += 1;
            slot.reason.clear();
            if slot.served.is_none() {
                slot.state = ModelState::Loading;
            }
            slot.generation
        };
        let result = match &spec.problem {
            Some(problem) => Err(problem.clone()),
            None => self.build(&spec).await,
        };
        let mut slots = self.write();
        let Some(slot) = slots.get_mut(&key).filter(|s| s.generation == generation) else {
            // A later load or an unload of the same model superseded this one.
            return result.map(drop).map_err(|reason| ServeError::ModelLoad {
                name: spec.name.clone(),
                reason,
            });
        };
        match result {
            Ok(served) => {
                slot.served = Some(Arc::new(served));
                slot.state = ModelState::Ready;
                Ok(())
            }
            Err(reason) => {
                if slot.served.is_some() {
                    tracing::error!(model = %spec.name, "reload failed, the previous copy keeps serving: {reason}");
                    slot.state = ModelState::Ready;
                } else {
                    tracing::error!(model = %spec.name, "cannot load: {reason}");
                    slot.state = ModelState::Unavailable;
                    slot.reason = reason.clone();
                }
                Err(ServeError::ModelLoad {
                    name: spec.name.clone(),
                    reason,
                })
            }
        }
    }

    /// Fetches and compiles a model on the blocking pool.
    async fn build(&self, spec: &ModelSpec) -> Result<ServedModel, String> {
        let started = Instant::now();
        let uri = spec.uri.clone();
        let implementation = spec.implementation.clone();
        let sources = self.options.sources.clone();
        let runtime = tokio::runtime::Handle::current();
        // The download runs on this blocking thread too: the loader's fetch future is not
        // `Send`, and a load must be spawnable from any handler.
        let in_load =
            tracing::info_span!(target: crate::tracing_otel::TARGET, "load", model = %spec.name);
        let model = tokio::task::spawn_blocking(move || {
            let _entered = in_load.enter();
            let dir = runtime
                .block_on(ironflow_loader::resolve(&uri, &sources))
                .map_err(|e| format!("cannot fetch {uri}: {}", chain(&e)))?;
            ironflow_loader::runtime::load(&dir, implementation.as_deref()).map_err(|e| chain(&e))
        })
        .await
        .map_err(|e| format!("model loading task failed: {e}"))??;
        tracing::info!(
            model = %spec.name,
            version = ?spec.version,
            flavor = model.flavor,
            implementation = model.implementation,
            inputs = ?model.inputs.iter().map(|i| format!("{}:{}{:?}", i.name, i.datatype, i.shape)).collect::<Vec<_>>(),
            outputs = ?model.outputs.iter().map(|o| format!("{}:{}{:?}", o.name, o.datatype, o.shape)).collect::<Vec<_>>(),
            load_ms = crate::telemetry::millis(started.elapsed()),
            "model loaded"
        );
        let defaults = &self.options.defaults;
        let settings = ModelServingSettings {
            max_batch_size: spec.max_batch_size.unwrap_or(defaults.max_batch_size),
            max_batch_time: spec.max_batch_time.unwrap_or(defaults.max_batch_time),
            max_queue: defaults.max_queue,
        };
        Ok(
            ServedModel::with_settings(spec.name.clone(), spec.version.clone(), model, settings)
                .with_metadata(&spec.metadata),
        )
    }

    /// Unloads every version of `name`. A model that is not loaded is
    /// [`ServeError::ModelNotFound`], as in MLServer (unloading twice answers 404).
    pub fn unload(&self, name: &str) -> Result<(), ServeError> {
        let mut found = false;
        let mut dropped = Vec::new();
        {
            let mut slots = self.write();
            for ((n, _), slot) in slots.iter_mut() {
                if n != name || !slot.registered() {
                    continue;
                }
                found = true;
                slot.generation += 1;
                slot.state = ModelState::Unavailable;
                slot.reason.clear();
                if let Some(served) = slot.served.take() {
                    slot.draining = Arc::downgrade(&served);
                    dropped.push(served);
                }
            }
        }
        if !found {
            return Err(ServeError::ModelNotFound(name.to_owned()));
        }
        tracing::info!(model = %name, "unloaded");
        // The last reference may be a request's: the model is freed when it finishes.
        drop(dropped);
        Ok(())
    }
}

fn model_key(spec: &ModelSpec) -> Key {
    (spec.name.clone(), spec.version.clone())
}

/// MLServer's `_is_newer`: an unversioned model is the newest; numbers compare as numbers,
/// other versions as strings.
fn newer(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match (a.parse::<i64>(), b.parse::<i64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
    }
}

/// An error and its causes, `a: b: c`, as anyhow's `{:#}` prints them.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn iris() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models/iris-logreg-onnx/model")
    }

    /// A repository of real copies: `iris/1`, `iris/2` (Triton layout) and a broken `bad`.
    fn repository(tag: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("ironflow-registry-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for version in ["1", "2"] {
            let dir = root.join("iris").join(version);
            std::fs::create_dir_all(&dir).unwrap();
            for file in ["MLmodel", "model.onnx"] {
                std::fs::copy(iris().join(file), dir.join(file)).unwrap();
            }
        }
        let bad = root.join("bad");
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(
            bad.join("MLmodel"),
            "flavors:\n  onnx:\n    data: model.onnx\n",
        )
        .unwrap();
        std::fs::write(bad.join("model.onnx"), b"\x08\x07\x12\x04trunc").unwrap();
        root
    }

    async fn load_all(registry: &Registry) -> Vec<Result<(), ServeError>> {
        let mut results = Vec::new();
        for spec in registry.specs() {
            results.push(registry.load_spec(spec).await);
        }
        results
    }

    fn states(registry: &Registry) -> Vec<(String, Option<String>, &'static str, bool)> {
        registry
            .index(false)
            .into_iter()
            .map(|e| (e.name, e.version, e.state.as_str(), e.reason.is_empty()))
            .collect()
    }

    #[tokio::test]
    async fn failed_models_are_unavailable_with_a_reason_and_the_rest_serve() {
        let root = repository("states");
        let registry = Registry::new(Source::Repository(root.clone()), LoadOptions::default());
        let v = |s: &str| Some(s.to_owned());
        assert_eq!(
            states(&registry),
            vec![
                ("bad".into(), None, "UNAVAILABLE", true),
                ("iris".into(), v("1"), "UNAVAILABLE", true),
                ("iris".into(), v("2"), "UNAVAILABLE", true),
            ]
        );
        let results = load_all(&registry).await;
        assert!(matches!(&results[0], Err(ServeError::ModelLoad { name, .. }) if name == "bad"));
        assert!(results[1].is_ok() && results[2].is_ok());
        assert_eq!(
            states(&registry),
            vec![
                ("bad".into(), None, "UNAVAILABLE", false),
                ("iris".into(), v("1"), "READY", true),
                ("iris".into(), v("2"), "READY", true),
            ]
        );
        // No version: the newest; a version: that one.
        assert_eq!(registry.get("iris", None).unwrap().version, v("2"));
        assert_eq!(registry.get("iris", Some("1")).unwrap().version, v("1"));
        assert!(matches!(
            registry.get("iris", Some("3")),
            Err(ServeError::VersionNotFound { .. })
        ));
        let err = registry.get("bad", None).unwrap_err();
        assert!(matches!(
            err,
            ServeError::ModelNotReady {
                state: "UNAVAILABLE",
                ..
            }
        ));
        assert!(
            err.to_string()
                .starts_with("Model bad is not ready (UNAVAILABLE: "),
            "{err}"
        );
        assert!(matches!(
            registry.get("nosuchmodel", None),
            Err(ServeError::ModelNotFound(_))
        ));
        assert_eq!(registry.index(true).len(), 2);
        assert_eq!(registry.ready_models().len(), 2);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn unload_then_load_reads_the_folder_again() {
        let root = repository("reload");
        let registry = Registry::new(Source::Repository(root.clone()), LoadOptions::default());
        load_all(&registry).await;
        let held = registry.get("iris", None).unwrap();
        registry.unload("iris").unwrap();
        assert!(matches!(
            registry.get("iris", None),
            Err(ServeError::ModelNotFound(_))
        ));
        // A request still holding the model: UNLOADING until it lets go.
        let index = registry.index(false);
        assert_eq!(index[2].state, ModelState::Unloading);
        drop(held);
        assert_eq!(registry.index(false)[2].state, ModelState::Unavailable);
        assert!(matches!(
            registry.unload("iris"),
            Err(ServeError::ModelNotFound(_))
        ));
        assert!(matches!(
            registry.unload("nosuchmodel"),
            Err(ServeError::ModelNotFound(_))
        ));

        // A model added on disk shows up in the index and loads without a restart.
        let new = root.join("late");
        std::fs::create_dir_all(&new).unwrap();
        for file in ["MLmodel", "model.onnx"] {
            std::fs::copy(iris().join(file), new.join(file)).unwrap();
        }
        registry.load("iris").await.unwrap();
        registry.load("late").await.unwrap();
        assert_eq!(registry.get("late", None).unwrap().name, "late");
        assert!(matches!(
            registry.load("nosuchmodel").await,
            Err(ServeError::ModelNotFound(_))
        ));
        // The broken model fails again, with its reason, and stays UNAVAILABLE.
        assert!(matches!(
            registry.load("bad").await,
            Err(ServeError::ModelLoad { .. })
        ));
        assert!(registry
            .index(true)
            .iter()
            .all(|e| e.name == "iris" || e.name == "late"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_loading_model_is_known_but_not_ready() {
        let registry = Registry::new(Source::Fixed(Vec::new()), LoadOptions::default());
        let mut slot = Slot::new(ModelSpec::bare("slow".into(), None, &iris()));
        slot.state = ModelState::Loading;
        registry.write().insert(("slow".into(), None), slot);
        let err = registry.get("slow", None).unwrap_err();
        assert!(matches!(
            err,
            ServeError::ModelNotReady {
                state: "LOADING",
                ..
            }
        ));
        assert_eq!(err.to_string(), "Model slow is not ready (LOADING)");
        assert_eq!(registry.index(false)[0].state, ModelState::Loading);
        assert!(registry.index(true).is_empty());
        // Unloading a model that is still loading cancels it.
        registry.unload("slow").unwrap();
        assert!(matches!(
            registry.get("slow", None),
            Err(ServeError::ModelNotFound(_))
        ));
    }

    #[test]
    fn version_order_follows_mlserver() {
        use std::cmp::Ordering::*;
        let v = |s: &str| Some(s.to_owned());
        assert_eq!(newer(&v("10"), &v("9")), Greater);
        assert_eq!(newer(&v("b"), &v("a")), Greater);
        assert_eq!(newer(&None, &v("99")), Greater);
        assert_eq!(newer(&v("1"), &None), Less);
    }
}
