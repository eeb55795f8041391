//! ironflow's column of `benches/anchors.sh`: loads each model of the manifest that
//! `benches/python/anchors.py` wrote (a bare model file served as its MLServer runtime serves it),
//! compares its answers on the manifest's rows with the library's own (stored next to them;
//! `equal` and `max_rel_diff` in the output), then times `LoadedModel::predict` at each batch size on the calling thread and prints one JSON
//! line per model and batch size (ns per tree per row).
//!
//! usage: `IRONFLOW_TREE_THREADS=1 anchors MANIFEST.json` (anchors.sh sets the variable: one
//! thread, like every other column of the table).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ironflow_loader::tensor::ndarray::{Array1, Array2};
use ironflow_loader::{LoadedModel, NamedTensor, Tensor};
use serde_json::{json, Value};

/// Bytes of pre-made request copies one timing round may hold (so the copy `predict` consumes is
/// made outside the timed loop, as a decoded request is).
const COPY_BUDGET: usize = 256 << 20;

/// One model of the manifest.
struct Case {
    name: String,
    path: PathBuf,
    implementation: String,
    output: String,
    trees: usize,
    n_features: usize,
    n_outputs: usize,
    rtol: f64,
    /// One `[rows]` FP64 input per named column (an MLflow signature's columns), else one
    /// `[rows, features]` input.
    columns: Vec<String>,
    x: Vec<f64>,
    expected: Vec<f64>,
}

fn read_f64(path: &Path) -> anyhow::Result<Vec<f64>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() % 8 != 0 {
        bail!("{}: not a whole number of f64", path.display());
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .collect())
}

fn field<'a>(entry: &'a Value, key: &str) -> anyhow::Result<&'a Value> {
    entry
        .get(key)
        .with_context(|| format!("manifest entry lacks {key:?}"))
}

fn text(entry: &Value, key: &str) -> anyhow::Result<String> {
    field(entry, key)?
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{key} is not a string"))
}

fn count(entry: &Value, key: &str) -> anyhow::Result<usize> {
    field(entry, key)?
        .as_u64()
        .map(|n| n as usize)
        .with_context(|| format!("{key} is not a count"))
}

fn parse_case(entry: &Value, base: &Path) -> anyhow::Result<Case> {
    let name = text(entry, "name")?;
    let x = read_f64(&base.join(text(entry, "x")?))?;
    let expected = read_f64(&base.join(text(entry, "expected")?))?;
    Ok(Case {
        path: base.join(text(entry, "path")?),
        implementation: text(entry, "implementation")?,
        output: text(entry, "output")?,
        trees: count(entry, "trees")?,
        n_features: count(entry, "n_features")?,
        n_outputs: count(entry, "n_outputs")?,
        rtol: field(entry, "rtol")?.as_f64().context("rtol")?,
        columns: entry
            .get("columns")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        name,
        x,
        expected,
    })
}

/// The first `rows` rows of the case's matrix as one `[rows, features]` FP64 input (or one
/// `[rows]` input per named column).
fn batch(case: &Case, rows: usize) -> Vec<NamedTensor> {
    let f = case.n_features;
    let total = case.x.len() / f;
    if !case.columns.is_empty() {
        return case
            .columns
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let column: Vec<f64> = (0..rows).map(|r| case.x[(r % total) * f + c]).collect();
                NamedTensor::new(name.as_str(), Tensor::from(Array1::from(column)))
            })
            .collect();
    }
    let data = Array2::from_shape_fn((rows, f), |(r, c)| case.x[(r % total) * f + c]);
    vec![NamedTensor::new("input-0", Tensor::from(data))]
}

/// The named output of one predict, as f64.
fn output(model: &LoadedModel, case: &Case, rows: usize) -> anyhow::Result<Vec<f64>> {
    let outputs = model.predict(batch(case, rows))?;
    let names: Vec<String> = outputs.iter().map(|o| o.name.clone()).collect();
    // An empty name takes the one output (an MLflow flavor's).
    let wanted = |o: &NamedTensor| o.name == case.output || case.output.is_empty();
    let Some(out) = outputs.into_iter().find(wanted) else {
        bail!(
            "{}: no output named {} (got {names:?})",
            case.name,
            case.output
        );
    };
    let values = out.tensor.cast_to::<f64>()?;
    Ok(values.try_as_plain_ram()?.as_slice::<f64>()?.to_vec())
}

/// Largest |a - b| / max(1, |b|) over the case's rows, after checking the shapes agree.
fn max_rel_diff(case: &Case, got: &[f64]) -> anyhow::Result<f64> {
    if got.len() != case.expected.len() {
        bail!(
            "{}: {} values, the library gave {} ({} per row)",
            case.name,
            got.len(),
            case.expected.len(),
            case.n_outputs
        );
    }
    Ok(got
        .iter()
        .zip(&case.expected)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max))
}

/// Seconds per `predict` of `rows` rows: the best of five rounds, each of as many calls as fit
/// in `seconds / 5` (copies made before the round starts).
fn time_predict(model: &LoadedModel, case: &Case, rows: usize, seconds: f64) -> f64 {
    let one = batch(case, rows);
    let bytes = rows * case.n_features * 8;
    let per_round = Duration::from_secs_f64(seconds / 5.0);
    // A first call warms caches and tells how many calls fill a round.
    let start = Instant::now();
    let _ = model.predict(one.clone());
    let first = start.elapsed().as_secs_f64().max(1e-9);
    let calls = ((per_round.as_secs_f64() / first) as usize)
        .clamp(1, (COPY_BUDGET / bytes.max(1)).max(1))
        .min(200_000);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let copies: Vec<Vec<NamedTensor>> = (0..calls).map(|_| one.clone()).collect();
        let start = Instant::now();
        for inputs in copies {
            let _ = std::hint::black_box(model.predict(inputs));
        }
        best = best.min(start.elapsed().as_secs_f64() / calls as f64);
    }
    best
}

fn main() -> anyhow::Result<()> {
    let manifest_path = std::env::args()
        .nth(1)
        .context("usage: anchors MANIFEST.json")?;
    let manifest_path = PathBuf::from(manifest_path);
    let base = manifest_path.parent().unwrap_or(Path::new(".")).to_owned();
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path)?)?;
    let rows: Vec<usize> = field(&manifest, "rows")?
        .as_array()
        .context("rows")?
        .iter()
        .filter_map(Value::as_u64)
        .map(|n| n as usize)
        .collect();
    let seconds = manifest
        .get("seconds")
        .and_then(Value::as_f64)
        .unwrap_or(1.5);
    // `IRONFLOW_TREE_LAYOUT` picks an optional tree layout at load: its figures get their own
    // column (`ironflow-quickscorer`, ...).
    let engine = match std::env::var("IRONFLOW_TREE_LAYOUT") {
        Ok(layout) if !layout.trim().is_empty() => format!("ironflow-{}", layout.trim()),
        _ => "ironflow".to_owned(),
    };
    for entry in field(&manifest, "models")?.as_array().context("models")? {
        let case = parse_case(entry, &base)?;
        let model = ironflow_loader::runtime::load(&case.path, Some(&case.implementation))
            .with_context(|| format!("loading {}", case.name))?;
        let n_rows = case.x.len() / case.n_features;
        let diff = max_rel_diff(&case, &output(&model, &case, n_rows)?)?;
        let equal = diff <= case.rtol;
        for &r in &rows {
            // Timed either way: the table's check column names a model whose answers differ.
            let s = time_predict(&model, &case, r, seconds);
            println!(
                "{}",
                json!({
                    "engine": engine, "model": case.name, "rows": r, "trees": case.trees,
                    "seconds": s, "ns_tree_row": s * 1e9 / (r * case.trees) as f64,
                    "max_rel_diff": diff, "equal": equal,
                })
            );
        }
    }
    Ok(())
}
