//! What `ironflow serve DIR` serves, decided once and predictably (issue 16 item 3):
//!
//! - `DIR` holds `MLmodel`: that one model.
//! - `DIR` holds exactly one model somewhere below it (KServe's `storageUri` often points at the
//!   folder above the model, e.g. `artifacts/` holding `model/MLmodel`): that one model, served
//!   as if `DIR` were its folder, under `--name` / `MLSERVER_MODEL_NAME`.
//! - Several models below `DIR`, `--repository` (`IRONFLOW_MODEL_REPOSITORY`), or
//!   `load_models_at_startup: false` (models then come through the repository API): a model
//!   repository, as MLServer serves one.
//!
//! When a name is requested (`--name` / `MLSERVER_MODEL_NAME`), models are loaded at start-up
//! and repository mode was not asked for, the server is ready only while a model of that name
//! is READY (see [`RequiredModel`]), and the log says so when it is not: on KServe the pod must
//! not go Ready while every request to `/v2/models/<isvc name>/…` would answer 404.

use std::path::Path;

use anyhow::Context;

use crate::config::ServeArgs;
use crate::repository::{self, ModelSpec, Source};

/// How the model argument is served.
#[derive(Debug)]
pub enum Layout {
    /// One model; a load failure stops the server.
    Single(Box<ModelSpec>),
    /// A repository of models (already discovered); a failed model is UNAVAILABLE and the
    /// rest serve.
    Repository(Vec<ModelSpec>),
}

impl Layout {
    /// Whether this is one model.
    pub fn is_single(&self) -> bool {
        matches!(self, Self::Single(_))
    }

    /// The registry source and the models it starts with.
    pub fn into_source(self, dir: &Path) -> (Source, Vec<ModelSpec>) {
        match self {
            Self::Single(spec) => (Source::Fixed(vec![(*spec).clone()]), vec![*spec]),
            Self::Repository(specs) => (Source::Repository(dir.to_owned()), specs),
        }
    }
}

/// Decides how the local folder `dir` is served (runs blocking file-system reads: call it
/// on the blocking pool). `load_at_startup` is `settings.json`'s `load_models_at_startup`.
pub fn choose(args: &ServeArgs, dir: &Path, load_at_startup: bool) -> anyhow::Result<Layout> {
    let implementation = args
        .implementation
        .as_deref()
        .filter(|i| !i.trim().is_empty());
    if repository::is_single_model(dir, implementation) {
        if args.repository {
            tracing::info!(
                "{} holds MLmodel: it is one model, served as such (--repository is for a folder of models)",
                dir.display()
            );
        }
        let spec = single_model_spec(args, dir, args.model_name())?;
        return Ok(Layout::Single(Box::new(spec)));
    }
    if !dir.is_dir() {
        if load_at_startup {
            anyhow::bail!(
                "{}: no such directory (expected an MLflow model folder holding MLmodel, or a model repository)",
                dir.display()
            );
        }
        // Not loading at startup (KServe sets that when an InferenceService has no
        // storageUri), the folder may appear later: models are loaded through the API.
        return Ok(Layout::Repository(Vec::new()));
    }
    let specs = repository::discover(dir);
    if args.repository || !load_at_startup || specs.len() != 1 {
        let why = if args.repository {
            "--repository / IRONFLOW_MODEL_REPOSITORY asks for it"
        } else if !load_at_startup {
            "load_models_at_startup is false"
        } else if specs.is_empty() {
            "no model found yet"
        } else {
            "several models below it"
        };
        tracing::info!(root = %dir.display(), "serving a model repository: {why}");
        return Ok(Layout::Repository(specs));
    }
    let Some(found) = specs.into_iter().next() else {
        anyhow::bail!("{}: no model found", dir.display());
    };
    tracing::info!(
        root = %dir.display(),
        model_dir = %found.uri,
        "one model below the folder: serving it as a single model (--repository serves a repository)"
    );
    let origin_is_settings = found
        .origin
        .file_name()
        .is_some_and(|n| n == repository::settings::MODEL_SETTINGS_FILE);
    if origin_is_settings {
        // A model-settings.json: its spec (uri, batching, metadata) as the repository reads
        // it, with the requested name unless the file names the model itself.
        return Ok(Layout::Single(Box::new(rename_settings_spec(args, found)?)));
    }
    let name = args.name.clone().unwrap_or_else(|| found.name.clone());
    let mut spec = single_model_spec(args, Path::new(&found.uri), name)?;
    spec.version = spec.version.or(found.version);
    Ok(Layout::Single(Box::new(spec)))
}

/// The one model found through a `model-settings.json` below the folder, named by `--name`
/// unless the file names it (the file wins, as in MLServer; readiness then says the requested
/// name is not served).
fn rename_settings_spec(args: &ServeArgs, mut spec: ModelSpec) -> anyhow::Result<ModelSpec> {
    if spec.problem.is_some() {
        return Ok(spec);
    }
    let file = repository::ModelSettingsFile::read(&spec.origin)
        .with_context(|| format!("cannot read {}", spec.origin.display()))?;
    match (&args.name, file.name) {
        (Some(requested), Some(named)) if *requested != named => tracing::warn!(
            "{} names the model {named:?}; that wins over --name / MLSERVER_MODEL_NAME ({requested:?})",
            spec.origin.display()
        ),
        (Some(requested), None) => spec.name = requested.clone(),
        _ => {}
    }
    spec.version = spec.version.or_else(|| args.model_version.clone());
    Ok(spec)
}

/// The one model of a folder holding `MLmodel`: named `name` (`--name` / `MLSERVER_MODEL_NAME`,
/// else a folder's name), versioned by `--model-version` / `MLSERVER_MODEL_VERSION`; a
/// `model-settings.json` beside it wins over both, as MLServer's file wins over its env. Its
/// platform and default content type may also come from `MLSERVER_MODEL_PLATFORM` and
/// `MLSERVER_MODEL_CONTENT_TYPE`.
fn single_model_spec(args: &ServeArgs, dir: &Path, name: String) -> anyhow::Result<ModelSpec> {
    let mut spec = ModelSpec::bare(name, args.model_version.clone(), dir);
    spec.implementation = args.implementation.clone().filter(|i| !i.trim().is_empty());
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    spec.metadata.platform = env("MLSERVER_MODEL_PLATFORM");
    spec.metadata.content_type = env("MLSERVER_MODEL_CONTENT_TYPE")
        .map(|ct| repository::settings::check_content_type(&ct, "MLSERVER_MODEL_CONTENT_TYPE"))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let path = dir.join(repository::settings::MODEL_SETTINGS_FILE);
    if path.is_file() {
        let file = repository::ModelSettingsFile::read(&path)?;
        if let Some(name) = file.name {
            if args.name.as_deref().is_some_and(|n| n != name) {
                tracing::warn!(
                    "{} names the model {name:?}; that wins over --name / MLSERVER_MODEL_NAME",
                    path.display()
                );
            }
            spec.name = name;
        }
        spec.version = file.version.or(spec.version);
        spec.implementation = file.implementation.or(spec.implementation);
        spec.max_batch_size = file.max_batch_size;
        spec.max_batch_time = file.max_batch_time;
        let from_env = std::mem::take(&mut spec.metadata);
        spec.metadata = file.metadata;
        spec.metadata.platform = spec.metadata.platform.or(from_env.platform);
        spec.metadata.content_type = spec.metadata.content_type.or(from_env.content_type);
        spec.origin = path;
    }
    Ok(spec)
}

/// The model `--name` / `MLSERVER_MODEL_NAME` asks for (at `--model-version` when given): while
/// it is not READY, `/v2/health/ready` (and gRPC `ServerReady`) answer not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredModel {
    /// The requested name.
    pub name: String,
    /// The requested version, if any.
    pub version: Option<String>,
}

impl RequiredModel {
    /// The model readiness waits for: the requested name when models load at start-up. Not
    /// with `--repository` (a repository asked for names its own models; KServe passes the
    /// InferenceService's name to every runtime) nor with `load_models_at_startup: false`
    /// (models then come through the repository API).
    pub fn from_args(args: &ServeArgs, load_at_startup: bool) -> Option<Self> {
        let name = args.name.clone().filter(|n| !n.is_empty())?;
        if args.repository {
            tracing::info!(
                "--repository: the repository names its models; --name / MLSERVER_MODEL_NAME ({name:?}) is not waited for"
            );
            return None;
        }
        load_at_startup.then(|| Self {
            name,
            version: args.model_version.clone(),
        })
    }

    /// Logs why the server is not ready when the requested model is not READY once start-up
    /// has settled. `served` lists the models that are.
    pub fn explain_if_missing(&self, ready: bool, served: &[String]) {
        if ready {
            return;
        }
        tracing::warn!(
            requested = %self.name,
            version = ?self.version,
            served = ?served,
            "--name / MLSERVER_MODEL_NAME asks for model {:?}, which is not loaded: /v2/health/ready \
             stays false until it is (serve the model's own folder, name it so in model-settings.json, \
             load it through /v2/repository/models/{}/load, or pass --repository / \
             IRONFLOW_MODEL_REPOSITORY=true to serve a repository that names its own models)",
            self.name,
            self.name
        );
    }
}
