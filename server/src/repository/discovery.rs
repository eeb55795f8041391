//! Finding the models under a directory, as MLServer's `SchemalessModelRepository` does
//! (`mlserver/repository/{repository,load}.py`, COMPAT §1.5), plus bare MLflow model folders:
//!
//! - every folder (at any depth, hidden ones skipped like Python's `glob`) holding a
//!   `model-settings.json` is a model: `name` defaults to the folder name, `parameters.uri`
//!   (default: the folder itself) is resolved relative to the file, `parameters.version` is its
//!   version. A name that differs from the folder name is logged, unless the folder name is the
//!   version (Triton's `<model>/<version>/` layout), as MLServer does.
//! - every other folder holding an `MLmodel` file is a model named by its folder; a folder named
//!   by digits only under another folder is taken as Triton's version folder
//!   (`iris/2/MLmodel` is `iris` version `2`). Folders a `model-settings.json` points at, and
//!   MLflow models nested inside another model's folder, are not models of their own.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::settings::{ModelSettingsFile, MODEL_SETTINGS_FILE};
use crate::codec::metadata::MetadataOverrides;

/// How deep the walk goes (it follows symbolic links, so this also stops link loops).
const MAX_DEPTH: usize = 16;

/// One model found in a repository, ready to be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The name clients address it by.
    pub name: String,
    /// Its version, if any.
    pub version: Option<String>,
    /// Where the MLflow model is: a local directory, or a URI `ironflow_loader::resolve` takes.
    pub uri: String,
    /// `max_batch_size` from its settings, if set there.
    pub max_batch_size: Option<usize>,
    /// `max_batch_time` from its settings, if set there.
    pub max_batch_time: Option<Duration>,
    /// Metadata its settings set in place of the signature's.
    pub metadata: MetadataOverrides,
    /// The file or folder it was found from (for messages).
    pub origin: PathBuf,
    /// Why it cannot be loaded at all (an invalid `model-settings.json`), if so.
    pub problem: Option<String>,
    /// The MLServer runtime that reads it (`model-settings.json` `implementation`,
    /// `MLSERVER_MODEL_IMPLEMENTATION`); `None`: the folder's files decide
    /// ([`ironflow_loader::runtime::load`]).
    pub implementation: Option<String>,
}

impl ModelSpec {
    /// A model at `dir` with nothing but a name and version.
    pub fn bare(name: String, version: Option<String>, dir: &Path) -> Self {
        Self {
            name,
            version,
            uri: dir.to_string_lossy().into_owned(),
            max_batch_size: None,
            max_batch_time: None,
            metadata: MetadataOverrides::default(),
            origin: dir.to_owned(),
            problem: None,
            implementation: None,
        }
    }
}

/// Whether `dir` is one model rather than a repository of models: it holds `MLmodel`, or is (or
/// directly holds) a bare model file one of MLServer's runtimes reads (`model.joblib`,
/// `model.bst`, `model.onnx`...: [`ironflow_loader::runtime`]), or `implementation` names a
/// runtime for bare files (`MLSERVER_MODEL_IMPLEMENTATION` as KServe sets it: the file may sit
/// in one sub-folder).
pub fn is_single_model(dir: &Path, implementation: Option<&str>) -> bool {
    use ironflow_loader::Runtime;
    if dir.is_file() || dir.join("MLmodel").is_file() {
        return true;
    }
    if dir.join(MODEL_SETTINGS_FILE).is_file() {
        return false;
    }
    let runtime = implementation.and_then(Runtime::from_implementation);
    if runtime.is_some_and(|r| r != Runtime::Mlflow) {
        return true;
    }
    Runtime::ALL
        .iter()
        .any(|r| *r != Runtime::Mlflow && r.wellknown_files().iter().any(|f| dir.join(f).is_file()))
}

/// Every model under `root`, sorted by where it was found. Unreadable sub-folders are skipped
/// (and logged); an invalid `model-settings.json` yields a spec with a `problem`.
pub fn discover(root: &Path) -> Vec<ModelSpec> {
    let mut settings_files = Vec::new();
    let mut bare_dirs = Vec::new();
    walk(root, root, 0, false, &mut settings_files, &mut bare_dirs);

    let mut specs: Vec<ModelSpec> = settings_files.iter().map(|p| from_settings(p)).collect();
    let targets: HashSet<PathBuf> = specs
        .iter()
        .filter(|s| !s.uri.contains("://"))
        .map(|s| canonical(Path::new(&s.uri)))
        .collect();
    for dir in bare_dirs {
        if targets.contains(&canonical(&dir)) {
            continue;
        }
        specs.push(from_bare_folder(root, &dir));
    }

    let mut seen = HashSet::new();
    specs.retain(|s| {
        let fresh = seen.insert((s.name.clone(), s.version.clone()));
        if !fresh {
            tracing::warn!(
                model = %s.name,
                version = ?s.version,
                "{} declares a model already found in the repository; it is skipped",
                s.origin.display()
            );
        }
        fresh
    });
    specs
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    inside_model: bool,
    settings_files: &mut Vec<PathBuf>,
    bare_dirs: &mut Vec<PathBuf>,
) {
    let settings = dir.join(MODEL_SETTINGS_FILE);
    let has_settings = settings.is_file();
    let has_mlmodel = dir.join("MLmodel").is_file();
    if has_settings {
        settings_files.push(settings);
    } else if has_mlmodel && !inside_model && dir != root {
        bare_dirs.push(dir.to_owned());
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!("{} does not exist (yet)", dir.display());
            return;
        }
        Err(e) => {
            tracing::warn!("cannot list {}: {e}; skipped", dir.display());
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    children.sort();
    for child in children {
        walk(
            root,
            &child,
            depth + 1,
            inside_model || has_settings || has_mlmodel,
            settings_files,
            bare_dirs,
        );
    }
}

fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_owned())
}

fn from_settings(path: &Path) -> ModelSpec {
    let folder = path.parent().unwrap_or(Path::new("."));
    let folder_name = folder_name(folder);
    let file = match ModelSettingsFile::read(path) {
        Ok(file) => file,
        Err(e) => {
            tracing::error!("{e}; the model is listed as UNAVAILABLE");
            let mut spec = ModelSpec::bare(folder_name, None, folder);
            spec.origin = path.to_owned();
            spec.problem = Some(e.to_string());
            return spec;
        }
    };
    let name = match file.name {
        Some(name) => {
            if name != folder_name && file.version.as_deref() != Some(folder_name.as_str()) {
                tracing::warn!(
                    "model name {name:?} is different than the model's folder name {folder_name:?}"
                );
            }
            name
        }
        None => folder_name,
    };
    let uri = match file.uri {
        Some(uri) if uri.contains("://") => uri,
        Some(uri) => normalize(&folder.join(uri)).to_string_lossy().into_owned(),
        None => folder.to_string_lossy().into_owned(),
    };
    ModelSpec {
        name,
        version: file.version,
        uri,
        max_batch_size: file.max_batch_size,
        max_batch_time: file.max_batch_time,
        metadata: file.metadata,
        origin: path.to_owned(),
        problem: None,
        implementation: file.implementation,
    }
}

fn from_bare_folder(root: &Path, dir: &Path) -> ModelSpec {
    let name = folder_name(dir);
    let parent = dir.parent().filter(|p| *p != root);
    match parent {
        Some(parent) if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) => {
            ModelSpec::bare(folder_name(parent), Some(name), dir)
        }
        _ => ModelSpec::bare(name, None, dir),
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| normalize(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ironflow-discovery-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn names(specs: &[ModelSpec]) -> Vec<(String, Option<String>)> {
        specs
            .iter()
            .map(|s| (s.name.clone(), s.version.clone()))
            .collect()
    }

    #[test]
    fn finds_settings_models_bare_models_and_triton_version_folders() {
        let root = scratch("layout");
        // MLServer style: settings beside the artifacts, name from the folder.
        write(&root.join("iris/model-settings.json"), "{}");
        write(&root.join("iris/MLmodel"), "flavors: {}\n");
        // Settings pointing at a sub-folder: that folder is not a second model.
        write(
            &root.join("wine/model-settings.json"),
            r#"{"name": "wine-clf", "max_batch_size": 4, "max_batch_time": 0.5,
                "parameters": {"uri": "./artifacts/../model", "version": "v2"}}"#,
        );
        write(&root.join("wine/model/MLmodel"), "flavors: {}\n");
        // A bare MLflow model, with an MLflow model nested inside it that is not a model.
        write(&root.join("bare/MLmodel"), "flavors: {}\n");
        write(&root.join("bare/python_model/MLmodel"), "flavors: {}\n");
        // Triton layout: versions as folders.
        write(&root.join("triton/1/MLmodel"), "flavors: {}\n");
        write(&root.join("triton/2/MLmodel"), "flavors: {}\n");
        // MLServer's Triton layout: the folder name is the version.
        write(
            &root.join("mls/7/model-settings.json"),
            r#"{"name": "mls", "parameters": {"version": "7"}}"#,
        );
        // Hidden folders are skipped, as by Python's glob.
        write(&root.join(".cache/MLmodel"), "flavors: {}\n");
        // A broken settings file is listed with its problem.
        write(&root.join("broken/model-settings.json"), "{not json");

        let specs = discover(&root);
        assert_eq!(
            names(&specs),
            vec![
                ("broken".to_owned(), None),
                ("iris".to_owned(), None),
                ("mls".to_owned(), Some("7".to_owned())),
                ("wine-clf".to_owned(), Some("v2".to_owned())),
                ("bare".to_owned(), None),
                ("triton".to_owned(), Some("1".to_owned())),
                ("triton".to_owned(), Some("2".to_owned())),
            ]
        );
        assert!(specs[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("model-settings.json"));
        assert_eq!(Path::new(&specs[1].uri), root.join("iris"));
        let wine = &specs[3];
        assert_eq!(Path::new(&wine.uri), root.join("wine/model"));
        assert_eq!(wine.max_batch_size, Some(4));
        assert_eq!(wine.max_batch_time, Some(Duration::from_millis(500)));
        assert!(specs[1..].iter().all(|s| s.problem.is_none()));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn remote_uris_are_kept_and_duplicates_skipped() {
        let root = scratch("remote");
        write(
            &root.join("a/model-settings.json"),
            r#"{"name": "m", "parameters": {"uri": "s3://bucket/model"}}"#,
        );
        write(&root.join("b/model-settings.json"), r#"{"name": "m"}"#);
        let specs = discover(&root);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].uri, "s3://bucket/model");
        assert!(discover(&root.join("missing")).is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_folder_with_mlmodel_is_a_single_model() {
        let root = scratch("single");
        assert!(!is_single_model(&root, None));
        write(&root.join("MLmodel"), "flavors: {}\n");
        assert!(is_single_model(&root, None));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
