//! `ironflow inspect MODEL_URI [--json]`: reads a model exactly as `serve` does (the same
//! discovery, sources, runtimes and compilers) and says whether it serves.
//!
//! The report (text, or with `--json` the schema below) gives per model: flavor, format, the
//! MLflow version that wrote it, the signature (inputs with `required`, outputs, params), the
//! compiled plan with the engine of each part, the load time and the memory the load kept, and
//! the verdict with every reason and what to do instead. Exit codes: 0 every model serves,
//! 1 a model is refused, 2 a model (or the URI) could not be read.
//!
//! `--json` schema (version 1; fields are only ever added):
//! ```text
//! { "schema_version": 1, "model_uri": str, "verdict": "serves"|"refused"|"unreadable",
//!   "exit_code": 0|1|2, "error": str|null,
//!   "models": [ { "name": str, "version": str|null, "verdict": "serves"|"refused"|"unreadable",
//!     "flavor": str|null, "implementation": str|null, "format": str|null,
//!     "mlflow_version": str|null,
//!     "signature": {"inputs": [...]|null, "outputs": [...]|null, "params": [...]|null}|null,
//!     "inputs": [{"name", "datatype", "shape"}], "outputs": [{"name", "datatype", "shape"}],
//!     "plan": {"summary": str, "parts": [{"name": str, "engine": str}]}|null,
//!     "load_ms": number, "load_rss_bytes": int|null,
//!     "reasons": [{"kind": str, "message": str, "class": str|null, "at": str|null,
//!                  "advice": str}] } ] }
//! ```
//! The signature lists are MLflow's own JSON (`{"type", "name", "required"}` columns or
//! `{"type": "tensor", "tensor-spec"}` tensors), as `MLmodel` stores them.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use ironflow_loader::{LoadError, LoadedModel};
use serde_json::{json, Value};

use crate::config::ServeArgs;
use crate::repository::ModelSpec;

pub use crate::config::InspectArgs;

/// A model's or the whole report's outcome, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// It loads and serves.
    Serves,
    /// It was read, and refused (an unsupported class, option or flavor).
    Refused,
    /// It could not be read (a missing file, an unreachable URI, an invalid `MLmodel`).
    Unreadable,
}

impl Verdict {
    /// The word in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serves => "serves",
            Self::Refused => "refused",
            Self::Unreadable => "unreadable",
        }
    }

    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Serves => 0,
            Self::Refused => 1,
            Self::Unreadable => 2,
        }
    }
}

/// Runs `inspect`, prints the report, and returns the exit code.
pub fn main(args: &InspectArgs) -> ExitCode {
    let report = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(inspect(&args.serve)),
        Err(e) => unreadable(&args.serve, format!("cannot start the async runtime: {e}")),
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report).unwrap_or_default()
    } else {
        render_text(&report)
    };
    println!("{text}");
    ExitCode::from(
        report
            .get("exit_code")
            .and_then(Value::as_u64)
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(2),
    )
}

/// The report for a URI that could not even be listed.
fn unreadable(args: &ServeArgs, error: String) -> Value {
    json!({
        "schema_version": 1,
        "model_uri": args.model_dir.to_string_lossy(),
        "verdict": Verdict::Unreadable.as_str(),
        "exit_code": Verdict::Unreadable.exit_code(),
        "error": error,
        "models": [],
    })
}

/// Inspects every model `serve` would load from `args` and returns the JSON report.
pub async fn inspect(args: &ServeArgs) -> Value {
    let (state, startup) = match crate::prepare_state(args).await {
        Ok(prepared) => prepared,
        Err(e) => return unreadable(args, format!("{e:#}")),
    };
    let specs = if startup.models.is_empty() {
        state.registry().specs()
    } else {
        startup.models
    };
    let sources = ironflow_loader::SourceOptions::from_env(args.model_cache_dir.clone());
    let mut models = Vec::new();
    let mut worst = Verdict::Serves;
    for spec in specs {
        let (verdict, entry) = inspect_one(spec, &sources).await;
        worst = worst.max(verdict);
        models.push(entry);
    }
    if models.is_empty() {
        return unreadable(args, "no model found".to_owned());
    }
    json!({
        "schema_version": 1,
        "model_uri": args.model_dir.to_string_lossy(),
        "verdict": worst.as_str(),
        "exit_code": worst.exit_code(),
        "error": Value::Null,
        "models": models,
    })
}

/// Loads one model the way the registry does (`resolve`, then `runtime::load`), keeping the
/// typed error, and describes it.
async fn inspect_one(
    spec: ModelSpec,
    sources: &ironflow_loader::SourceOptions,
) -> (Verdict, Value) {
    let mut entry = json!({
        "name": spec.name,
        "version": spec.version,
        "verdict": Value::Null,
        "flavor": Value::Null,
        "implementation": spec.implementation,
        "format": Value::Null,
        "mlflow_version": Value::Null,
        "signature": Value::Null,
        "inputs": [],
        "outputs": [],
        "plan": Value::Null,
        "load_ms": 0.0,
        "load_rss_bytes": Value::Null,
        "reasons": [],
    });
    if let Some(problem) = &spec.problem {
        return finish(
            entry,
            Verdict::Refused,
            vec![reason("settings", problem, None, None)],
        );
    }
    let dir = match ironflow_loader::resolve(&spec.uri, sources).await {
        Ok(dir) => dir,
        Err(e) => {
            let message = format!(
                "cannot fetch {}: {}",
                spec.uri,
                crate::repository::registry::chain(&e)
            );
            return finish(
                entry,
                Verdict::Unreadable,
                vec![reason("source", &message, None, None)],
            );
        }
    };
    let rss_before = rss_bytes();
    let started = Instant::now();
    let implementation = spec.implementation.clone();
    let load_dir = dir.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        ironflow_loader::runtime::load(&load_dir, implementation.as_deref())
    })
    .await;
    entry["load_ms"] = json!(started.elapsed().as_secs_f64() * 1e3);
    describe_mlmodel(&dir, &mut entry);
    match loaded {
        Ok(Ok(model)) => {
            if let (Some(after), Some(before)) = (rss_bytes(), rss_before) {
                entry["load_rss_bytes"] = json!(after.saturating_sub(before));
            }
            describe_model(&model, &mut entry);
            drop(model);
            finish(entry, Verdict::Serves, Vec::new())
        }
        Ok(Err(e)) => {
            let (verdict, reasons) = refusal(&e, &dir);
            finish(entry, verdict, reasons)
        }
        Err(e) => finish(
            entry,
            Verdict::Unreadable,
            vec![reason(
                "internal",
                &format!("the load task failed: {e}"),
                None,
                None,
            )],
        ),
    }
}

fn finish(mut entry: Value, verdict: Verdict, reasons: Vec<Value>) -> (Verdict, Value) {
    entry["verdict"] = json!(verdict.as_str());
    entry["reasons"] = Value::Array(reasons);
    (verdict, entry)
}

/// One reason, with what to do about it.
fn reason(kind: &str, message: &str, class: Option<&str>, at: Option<&str>) -> Value {
    json!({
        "kind": kind,
        "message": message,
        "class": class,
        "at": at.filter(|a| !a.is_empty()),
        "advice": advice(kind),
    })
}

/// What to do instead, per kind of reason.
fn advice(kind: &str) -> &'static str {
    match kind {
        "unsupported_class" => {
            "ironflow has no compiler for this class: convert the model to ONNX (skl2onnx / onnxmltools) and log it with mlflow.onnx, or serve it with MLServer (kserve-mlserver, mlserver_mlflow.MLflowRuntime)"
        }
        "unsupported_flavor" | "unsupported_implementation" => {
            "serve this model with MLServer (KServe's kserve-mlserver runtime), or re-log it with a flavor ironflow serves (sklearn, xgboost, lightgbm, catboost, onnx)"
        }
        "missing_file" | "source" => {
            "the model directory is incomplete or unreachable: download or re-log the whole artifact (MLmodel and the files its flavor names)"
        }
        "mlmodel" | "signature" => {
            "the MLmodel file is not what MLflow writes: re-save the model with mlflow.<flavor>.save_model / log_model"
        }
        "settings" => "fix model-settings.json (MLServer's schema)",
        _ => {
            "the model file holds something ironflow cannot compile: re-save it with a supported library version, or convert it to ONNX"
        }
    }
}

/// The verdict and reasons of a load error. Missing files and unreadable `MLmodel`s are
/// "could not read"; everything read and refused is "refused". A scikit-learn model refused
/// for one class is walked for every unsupported class it holds.
fn refusal(error: &LoadError, dir: &Path) -> (Verdict, Vec<Value>) {
    let message = crate::repository::registry::chain(error);
    match error {
        LoadError::Io { .. } => (
            Verdict::Unreadable,
            vec![reason("missing_file", &message, None, None)],
        ),
        LoadError::NoModelFile { .. } => (
            Verdict::Unreadable,
            vec![reason("missing_file", &message, None, None)],
        ),
        LoadError::MlModel { .. } => (
            Verdict::Unreadable,
            vec![reason("mlmodel", &message, None, None)],
        ),
        LoadError::Signature { .. } => (
            Verdict::Refused,
            vec![reason("signature", &message, None, None)],
        ),
        LoadError::UnsupportedFlavor { .. } => (
            Verdict::Refused,
            vec![reason("unsupported_flavor", &message, None, None)],
        ),
        LoadError::UnsupportedImplementation { .. } => (
            Verdict::Refused,
            vec![reason("unsupported_implementation", &message, None, None)],
        ),
        LoadError::Unsupported { class, at } => {
            let mut reasons = vec![reason("unsupported_class", &message, Some(class), Some(at))];
            for (other, other_at) in ironflow_loader::plan::sklearn_unsupported(dir) {
                if &other != class || &other_at != at {
                    let text = format!("{other} is not supported");
                    reasons.push(reason(
                        "unsupported_class",
                        &text,
                        Some(&other),
                        Some(&other_at),
                    ));
                }
            }
            (Verdict::Refused, reasons)
        }
        _ => (
            Verdict::Refused,
            vec![reason(
                "invalid_model",
                &message,
                class_in(&message).as_deref(),
                None,
            )],
        ),
    }
}

/// The first Python class path (`sklearn.x.Y`, `xgboost.core.Booster`) a message names.
fn class_in(message: &str) -> Option<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '\'' | '"' | '(' | ')'))
        .find(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() >= 3
                && [
                    "sklearn", "xgboost", "lightgbm", "catboost", "numpy", "scipy",
                ]
                .contains(&parts[0])
                && parts
                    .last()
                    .is_some_and(|p| p.starts_with(char::is_uppercase))
        })
        .map(str::to_owned)
}

/// What `MLmodel` says (flavor format, MLflow version, the signature as MLflow wrote it), even
/// for a model that is then refused.
fn describe_mlmodel(dir: &Path, entry: &mut Value) {
    let Ok(mlmodel) = ironflow_loader::MlModel::read_dir(dir) else {
        return;
    };
    entry["mlflow_version"] = json!(mlmodel.mlflow_version);
    let format = mlmodel.flavors.iter().find_map(|(name, block)| {
        if name == "python_function" {
            return None;
        }
        let field = |key: &str| block.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let format = field("serialization_format")
            .or_else(|| field("model_format"))
            .or_else(|| field("data").map(|d| extension_of(&d)))
            .or_else(|| field("pickled_model").map(|_| "pickle".to_owned()))
            .or_else(|| field("model_file").map(|d| extension_of(&d)));
        Some(match format {
            Some(f) => format!("{name} ({f})"),
            None => name.clone(),
        })
    });
    entry["format"] = json!(format);
    if let Some(raw) = &mlmodel.signature {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or(Value::Null)
        };
        entry["signature"] = json!({
            "inputs": parse(&raw.inputs),
            "outputs": parse(&raw.outputs),
            "params": parse(&raw.params),
        });
    }
}

fn extension_of(file: &str) -> String {
    Path::new(file)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_owned())
}

/// What the compiled model is: flavor, implementation, tensors, plan.
fn describe_model(model: &LoadedModel, entry: &mut Value) {
    let tensors = |infos: &[ironflow_loader::TensorInfo]| -> Value {
        infos
            .iter()
            .map(|t| json!({"name": t.name, "datatype": t.datatype.to_string(), "shape": t.shape}))
            .collect()
    };
    entry["flavor"] = json!(model.flavor);
    entry["implementation"] = json!(model.implementation);
    entry["inputs"] = tensors(&model.inputs);
    entry["outputs"] = tensors(&model.outputs);
    if entry["format"].is_null() {
        entry["format"] = json!(model.flavor);
    }
    let plan = model.plan();
    entry["plan"] = json!({
        "summary": plan.summary,
        "parts": plan.parts.iter().map(|p| json!({"name": p.name, "engine": p.engine})).collect::<Vec<_>>(),
    });
}

/// The process's resident set size (`VmRSS`), on Linux.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The human-readable report.
pub fn render_text(report: &Value) -> String {
    let mut out = String::new();
    let s = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(error) = s(&report["error"]) {
        out.push_str(&format!(
            "could not read {}: {error}\n",
            report["model_uri"].as_str().unwrap_or("")
        ));
    }
    for model in report["models"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let name = s(&model["name"]).unwrap_or_default();
        out.push_str(&format!("model {name}"));
        if let Some(v) = s(&model["version"]) {
            out.push_str(&format!(" (version {v})"));
        }
        out.push('\n');
        for (label, key) in [
            ("flavor", "flavor"),
            ("implementation", "implementation"),
            ("format", "format"),
            ("written by MLflow", "mlflow_version"),
        ] {
            if let Some(v) = s(&model[key]) {
                out.push_str(&format!("  {label}: {v}\n"));
            }
        }
        if let Some(sig) = model["signature"].as_object() {
            for part in ["inputs", "outputs", "params"] {
                if let Some(items) = sig.get(part).and_then(Value::as_array) {
                    let shown: Vec<String> = items.iter().map(signature_item).collect();
                    out.push_str(&format!("  signature {part}: {}\n", shown.join(", ")));
                }
            }
        }
        for (label, key) in [("inputs", "inputs"), ("outputs", "outputs")] {
            let items = model[key].as_array().map(Vec::as_slice).unwrap_or(&[]);
            if !items.is_empty() {
                let shown: Vec<String> = items
                    .iter()
                    .map(|t| {
                        format!(
                            "{} {} {}",
                            t["name"].as_str().unwrap_or(""),
                            t["datatype"].as_str().unwrap_or(""),
                            t["shape"]
                        )
                    })
                    .collect();
                out.push_str(&format!("  {label}: {}\n", shown.join(", ")));
            }
        }
        if let Some(summary) = s(&model["plan"]["summary"]).filter(|x| !x.is_empty()) {
            out.push_str(&format!("  plan: {summary}\n"));
            for part in model["plan"]["parts"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                out.push_str(&format!(
                    "    {} -> {}\n",
                    part["name"].as_str().unwrap_or(""),
                    part["engine"].as_str().unwrap_or("")
                ));
            }
        }
        out.push_str(&format!(
            "  load: {:.1} ms",
            model["load_ms"].as_f64().unwrap_or(0.0)
        ));
        if let Some(rss) = model["load_rss_bytes"].as_u64() {
            out.push_str(&format!(", {:.1} MiB resident", rss as f64 / 1048576.0));
        }
        out.push('\n');
        let verdict = s(&model["verdict"]).unwrap_or_default();
        out.push_str(&format!("  verdict: {verdict}\n"));
        for r in model["reasons"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            out.push_str(&format!("    - {}\n", r["message"].as_str().unwrap_or("")));
            if let Some(advice) = r["advice"].as_str() {
                out.push_str(&format!("      instead: {advice}\n"));
            }
        }
    }
    out.push_str(&format!(
        "verdict: {} (exit {})",
        report["verdict"].as_str().unwrap_or(""),
        report["exit_code"]
    ));
    out
}

/// `name: type (optional)` for a signature column, `name: tensor dtype shape` for a tensor.
fn signature_item(item: &Value) -> String {
    let name = item["name"].as_str().unwrap_or("-");
    let ty = item["type"].as_str().unwrap_or("?");
    if ty == "tensor" {
        let spec = &item["tensor-spec"];
        return format!(
            "{name}: tensor {} {}",
            spec["dtype"].as_str().unwrap_or("?"),
            spec["shape"]
        );
    }
    let optional = if item["required"] == json!(false) {
        " (optional)"
    } else {
        ""
    };
    format!("{name}: {ty}{optional}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_paths_are_found_in_messages() {
        assert_eq!(
            class_in("cannot load: sklearn.svm._classes.NuSVC: kernel 'precomputed'").as_deref(),
            Some("sklearn.svm._classes.NuSVC")
        );
        assert_eq!(class_in("no class here"), None);
    }

    #[test]
    fn verdicts_order_and_exit_codes() {
        assert!(Verdict::Serves < Verdict::Refused && Verdict::Refused < Verdict::Unreadable);
        assert_eq!(Verdict::Unreadable.exit_code(), 2);
    }
}
