//! MLServer's inference runtimes for bare model files, as KServe's `kserve-mlserver` runtime
//! uses them: the storage initializer puts `model.joblib` (or `model.bst`, ...) in `/mnt/models`
//! and `MLSERVER_MODEL_IMPLEMENTATION` names the runtime (`mlserver_sklearn.SKLearnModel`, ...).
//!
//! [`load`] picks the runtime from the implementation name when given, else from what the
//! folder holds: an `MLmodel` file is an MLflow model ([`crate::flavor::load`]); otherwise the
//! first of MLServer's well-known file names found (sklearn `model.joblib`, `model.pickle`,
//! `model.pkl`; xgboost `model.bst`, `model.json`, `model.ubj`; lightgbm `model.bst`, told apart
//! from xgboost's by content; `model.onnx`, KServe's onnx format). A folder holding only one
//! sub-folder is looked into (the storage initializer's layout for a prefix with one folder),
//! and a folder holding exactly one model file of any name serves it.
//!
//! Each runtime answers as its MLServer runtime does ([`outputs`]): outputs named after the
//! method (`predict`, `predict_proba`), `predict` unless the request names others.

mod bare;
pub mod outputs;

use std::path::{Path, PathBuf};

use crate::error::LoadError;
use crate::model::LoadedModel;

pub use outputs::OutputChoice;

/// An MLServer inference runtime ironflow implements natively (or knows of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `mlserver_sklearn.SKLearnModel`: a joblib or pickle file.
    Sklearn,
    /// `mlserver_xgboost.XGBoostModel`: an XGBoost model file (JSON, UBJSON or legacy binary).
    Xgboost,
    /// `mlserver_lightgbm.LightGBMModel`: a LightGBM text model.
    Lightgbm,
    /// `mlserver_mlflow.MLflowRuntime`: an MLflow model folder.
    Mlflow,
    /// `mlserver_catboost.CatboostModel`: a CatBoost model file (see [`bare::load_catboost`]).
    Catboost,
    /// KServe's `onnx` model format: a bare `model.onnx` (no MLServer runtime; Triton's format).
    Onnx,
}

impl Runtime {
    /// Every runtime, in the order file names are tried when nothing names one.
    pub const ALL: [Runtime; 6] = [
        Self::Mlflow,
        Self::Sklearn,
        Self::Xgboost,
        Self::Lightgbm,
        Self::Catboost,
        Self::Onnx,
    ];

    /// The runtime an MLServer `implementation` names (`MLSERVER_MODEL_IMPLEMENTATION`,
    /// `model-settings.json` `implementation`); `None` for any other (a custom Python class).
    pub fn from_implementation(implementation: &str) -> Option<Self> {
        Some(match implementation.trim() {
            "mlserver_sklearn.SKLearnModel" => Self::Sklearn,
            "mlserver_xgboost.XGBoostModel" => Self::Xgboost,
            "mlserver_lightgbm.LightGBMModel" => Self::Lightgbm,
            "mlserver_mlflow.MLflowRuntime" => Self::Mlflow,
            "mlserver_catboost.CatboostModel" => Self::Catboost,
            _ => return None,
        })
    }

    /// The MLServer implementation name (for KServe's onnx format, `onnx`).
    pub fn implementation(self) -> &'static str {
        match self {
            Self::Sklearn => "mlserver_sklearn.SKLearnModel",
            Self::Xgboost => "mlserver_xgboost.XGBoostModel",
            Self::Lightgbm => "mlserver_lightgbm.LightGBMModel",
            Self::Mlflow => "mlserver_mlflow.MLflowRuntime",
            Self::Catboost => "mlserver_catboost.CatboostModel",
            Self::Onnx => "onnx",
        }
    }

    /// The runtime's well-known model file names (`WELLKNOWN_MODEL_FILENAMES`), in order.
    pub fn wellknown_files(self) -> &'static [&'static str] {
        match self {
            Self::Sklearn => &["model.joblib", "model.pickle", "model.pkl"],
            Self::Xgboost => &["model.bst", "model.json", "model.ubj"],
            Self::Lightgbm => &["model.bst"],
            Self::Mlflow => &["MLmodel"],
            Self::Catboost => &["model.cbm", "model.bin"],
            Self::Onnx => &["model.onnx"],
        }
    }
}

/// The implementation names ironflow serves, for messages.
pub fn served_implementations() -> String {
    Runtime::ALL
        .iter()
        .filter(|r| !matches!(r, Runtime::Onnx))
        .map(|r| r.implementation())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads the model at `path` (a folder, or a model file) with the runtime `implementation`
/// names, or the one the folder's files call for when `None`.
pub fn load(path: &Path, implementation: Option<&str>) -> Result<LoadedModel, LoadError> {
    let runtime = match implementation.map(str::trim).filter(|i| !i.is_empty()) {
        None => None,
        Some(name) => Some(Runtime::from_implementation(name).ok_or_else(|| {
            LoadError::UnsupportedImplementation {
                implementation: name.to_owned(),
                served: served_implementations(),
            }
        })?),
    };
    let (file, runtime) = locate(path, runtime)?;
    // Everything the load allocates for the model counts against one budget (issue 17).
    let _budget = crate::budget::Scope::enter(crate::budget::size_on_disk(&file));
    match runtime {
        Runtime::Mlflow => crate::flavor::load(&file),
        Runtime::Sklearn => bare::load_sklearn(&file),
        Runtime::Xgboost => bare::load_xgboost(&file),
        Runtime::Lightgbm => bare::load_lightgbm(&file),
        Runtime::Catboost => bare::load_catboost(&file),
        Runtime::Onnx => bare::load_onnx(&file),
    }
}

/// What [`load`] would load at `path` (the model file, or the MLflow folder) and with which
/// runtime, without reading the model itself.
pub fn locate(path: &Path, runtime: Option<Runtime>) -> Result<(PathBuf, Runtime), LoadError> {
    if path.is_file() {
        let runtime = match runtime {
            Some(r) => r,
            None => runtime_of_file(path).ok_or_else(|| not_found(path, None))?,
        };
        return Ok((path.to_owned(), runtime));
    }
    if !path.is_dir() {
        return Err(LoadError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    if let Some(found) = in_folder(path, runtime) {
        return Ok(found);
    }
    // The storage initializer's layout for a prefix holding one folder.
    if let Some(sub) = only_subfolder(path) {
        if let Some(found) = in_folder(&sub, runtime) {
            return Ok(found);
        }
    }
    Err(not_found(path, runtime))
}

/// Whether `dir` holds a model [`load`] can find (an `MLmodel`, or a bare model file).
pub fn holds_model(dir: &Path) -> bool {
    dir.is_dir() && locate(dir, None).is_ok()
}

fn in_folder(dir: &Path, runtime: Option<Runtime>) -> Option<(PathBuf, Runtime)> {
    let runtimes: Vec<Runtime> = match runtime {
        Some(r) => vec![r],
        None => Runtime::ALL.to_vec(),
    };
    for r in &runtimes {
        if *r == Runtime::Mlflow {
            if dir.join("MLmodel").is_file() {
                return Some((dir.to_owned(), Runtime::Mlflow));
            }
            continue;
        }
        for name in r.wellknown_files() {
            let file = dir.join(name);
            if !file.is_file() {
                continue;
            }
            // `model.bst` is both xgboost's and lightgbm's name: the content decides, unless
            // the implementation was named.
            let sniffed = if runtime.is_none() {
                runtime_of_file(&file).unwrap_or(*r)
            } else {
                *r
            };
            return Some((file, sniffed));
        }
    }
    // One model file of any name (ModelMesh's and KServe's "any name" layouts).
    let files = model_files(dir);
    if let [only] = files.as_slice() {
        let r = match runtime {
            Some(r) => r,
            None => runtime_of_file(only)?,
        };
        return Some((only.clone(), r));
    }
    None
}

/// The regular, non-hidden files of `dir` that are not settings or fixture notes.
fn model_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !name.starts_with('.')
                && !matches!(
                    name,
                    "model-settings.json" | "settings.json" | "expected.json" | "README.md"
                )
        })
        .collect();
    files.sort();
    files
}

fn only_subfolder(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path);
        } else if !model_files(dir).is_empty() {
            return None;
        }
    }
    match dirs.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// The runtime a model file's content (then its extension) calls for.
pub fn runtime_of_file(path: &Path) -> Option<Runtime> {
    let mut head = [0u8; 64];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        f.read(&mut head).ok()?
    };
    let head = head.get(..n).unwrap_or_default();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if head.starts_with(b"tree\n") || head.starts_with(b"tree\r\n") {
        return Some(Runtime::Lightgbm);
    }
    if head.starts_with(b"CBM1") {
        return Some(Runtime::Catboost);
    }
    let compressed = crate::joblib::Compression::sniff(head) != crate::joblib::Compression::None;
    if head.first() == Some(&0x80) || (compressed && !matches!(ext.as_str(), "json" | "ubj")) {
        return Some(Runtime::Sklearn);
    }
    if head.first() == Some(&b'{') || head.starts_with(b"binf") {
        return Some(Runtime::Xgboost);
    }
    match ext.as_str() {
        "joblib" | "pkl" | "pickle" => Some(Runtime::Sklearn),
        "bst" | "json" | "ubj" | "xgb" => Some(Runtime::Xgboost),
        "txt" | "lgb" => Some(Runtime::Lightgbm),
        "cbm" => Some(Runtime::Catboost),
        "onnx" => Some(Runtime::Onnx),
        _ => None,
    }
}

fn not_found(path: &Path, runtime: Option<Runtime>) -> LoadError {
    let looked_for = match runtime {
        Some(r) => r.wellknown_files().join(", "),
        None => Runtime::ALL
            .iter()
            .flat_map(|r| r.wellknown_files().iter().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", "),
    };
    LoadError::NoModelFile {
        path: path.to_owned(),
        runtime: runtime.map(Runtime::implementation),
        looked_for,
    }
}

#[cfg(test)]
mod tests;
