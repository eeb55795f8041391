//! Test-only helpers shared by the flavor tests: decoding a v2 `request.json` into tensors,
//! comparing outputs with an `expected.json` written in MLServer's wire form, and running a whole
//! case directory (`model/`, `request.json`, `expected.json`) through [`crate::load`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::datatype::DataType;
use crate::model::NamedTensor;
use crate::tensor::{ndarray, Tensor};

/// The repository's own MLflow corpus (`examples/corpus/<case>`, written by
/// `examples/corpus/generate.py`): every flavor and family of the shared corpus, same case names.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/corpus"))
}

/// The shared corpus beside the repository (`../shared/corpus`, laid out by CI), if present.
/// `IRONFLOW_SHARED_CORPUS` names another place.
pub fn shared_corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IRONFLOW_SHARED_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    dir.join("index.json").is_file().then_some(dir)
}

/// The corpora a sweep runs: the repository's always, then the shared one when present. When
/// it is absent, says so on the terminal (past the test harness's capture) for `test`, or fails
/// when `IRONFLOW_REQUIRE_SHARED_CORPUS` is set (CI, where it must be there).
pub fn corpus_roots(test: &str) -> Vec<PathBuf> {
    let mut roots = vec![corpus_dir()];
    match shared_corpus_dir() {
        Some(shared) => roots.push(shared),
        None => {
            assert!(
                std::env::var_os("IRONFLOW_REQUIRE_SHARED_CORPUS").is_none(),
                "{test}: IRONFLOW_REQUIRE_SHARED_CORPUS is set but ../shared/corpus is absent"
            );
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped ../shared/corpus (not present: a fresh clone); \
                 the repository's examples/corpus ran instead"
            );
        }
    }
    roots
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shape_of(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("shape is a list")
        .iter()
        .map(|d| d.as_u64().expect("dimension") as usize)
        .collect()
}

fn array<T>(shape: &[usize], data: Vec<T>) -> Tensor
where
    T: tract_onnx::prelude::Datum,
{
    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), data)
        .expect("data fits shape")
        .into()
}

/// Decodes one v2 request input (flat `data`; `null` is NaN for floats).
pub fn decode_input(input: &Value) -> NamedTensor {
    let name = input["name"].as_str().expect("name").to_owned();
    let shape = shape_of(&input["shape"]);
    let data = input["data"].as_array().expect("flat data");
    let floats = || data.iter().map(|v| v.as_f64().unwrap_or(f64::NAN));
    let ints = || data.iter().map(|v| v.as_i64().expect("integer"));
    let tensor = match input["datatype"].as_str().expect("datatype") {
        "FP64" => array(&shape, floats().collect()),
        "FP32" => array(&shape, floats().map(|v| v as f32).collect::<Vec<_>>()),
        "INT64" => array(&shape, ints().collect()),
        "INT32" => array(&shape, ints().map(|v| v as i32).collect::<Vec<_>>()),
        "BOOL" => array(
            &shape,
            data.iter()
                .map(|v| v.as_bool().expect("bool"))
                .collect::<Vec<_>>(),
        ),
        "BYTES" => array(
            &shape,
            data.iter()
                .map(|v| v.as_str().expect("string").to_owned())
                .collect::<Vec<_>>(),
        ),
        other => panic!("datatype {other} is not used by the fixtures"),
    };
    NamedTensor::new(name, tensor)
}

/// Decodes every input of a v2 request.
pub fn decode_request(request: &Value) -> Vec<NamedTensor> {
    request["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(decode_input)
        .collect()
}

/// Compares one output with its expected wire form: same name, datatype and shape (a 1-D result
/// matches the wire's `[N, 1]`), floats within `atol + rtol * |expected|` (NaN equals NaN / null),
/// everything else exactly. `Err` names the first difference.
pub fn compare_output(got: &NamedTensor, want: &Value, rtol: f64, atol: f64) -> Result<(), String> {
    if Some(got.name.as_str()) != want["name"].as_str() {
        return Err(format!(
            "output named {:?}, expected {}",
            got.name, want["name"]
        ));
    }
    let mut shape = got.tensor.shape().to_vec();
    if shape.len() == 1 {
        shape.push(1);
    }
    let want_shape = shape_of(&want["shape"]);
    if shape != want_shape {
        return Err(format!("shape {shape:?}, expected {want_shape:?}"));
    }
    let ours = DataType::from_datum_type(got.tensor.datum_type())
        .ok_or_else(|| format!("element type {:?}", got.tensor.datum_type()))?;
    let datatype = want["datatype"].as_str().unwrap_or_default();
    if ours.as_str() != datatype {
        return Err(format!("datatype {ours}, expected {datatype}"));
    }
    let data = want["data"].as_array().expect("flat data");
    let t = &got.tensor;
    if t.len() != data.len() {
        return Err(format!("{} values, expected {}", t.len(), data.len()));
    }
    if matches!(ours, DataType::Fp16 | DataType::Fp32 | DataType::Fp64) {
        let wide = t.cast_to::<f64>().expect("float cast");
        for (i, (a, b)) in plain::<f64>(&wide).iter().zip(data).enumerate() {
            let b = b.as_f64().unwrap_or(f64::NAN);
            let close = (a.is_nan() && b.is_nan()) || (a - b).abs() <= atol + rtol * b.abs();
            if !close {
                return Err(format!("value {i}: {a} vs {b}"));
            }
        }
        return Ok(());
    }
    let values: Vec<Value> = match ours {
        DataType::Bytes => plain::<String>(t)
            .iter()
            .map(|s| Value::from(s.as_str()))
            .collect(),
        DataType::Bool => plain::<bool>(t).iter().map(|&b| Value::from(b)).collect(),
        _ => {
            let ints = t.cast_to::<i64>().expect("integer cast");
            plain::<i64>(&ints)
                .iter()
                .map(|&v| Value::from(v))
                .collect()
        }
    };
    match values.iter().zip(data).position(|(a, b)| a != b) {
        Some(i) => Err(format!("value {i}: {} vs {}", values[i], data[i])),
        None => Ok(()),
    }
}

fn plain<T: tract_onnx::prelude::Datum>(t: &Tensor) -> &[T] {
    t.try_as_plain_ram()
        .and_then(|p| p.as_slice::<T>())
        .expect("plain tensor of the expected type")
}

/// Runs one case directory end to end; `Err` says what went wrong (load, predict or compare).
pub fn run_case_dir(dir: &Path) -> Result<(), String> {
    run_case_dir_within(dir, None)
}

/// [`run_case_dir`] with the float tolerance `(rtol, atol)` given (`(0.0, 0.0)`: bit-exact)
/// instead of the one `expected.json` names.
pub fn run_case_dir_within(dir: &Path, tolerance: Option<(f64, f64)>) -> Result<(), String> {
    let model = crate::load(&dir.join("model")).map_err(|e| format!("load: {e}"))?;
    let request = read_json(&dir.join("request.json"));
    let expected = read_json(&dir.join("expected.json"));
    let outputs = model
        .predict(decode_request(&request))
        .map_err(|e| format!("predict: {e}"))?;
    let wanted = expected["outputs"].as_array().expect("outputs");
    if outputs.len() != wanted.len() {
        return Err(format!(
            "{} outputs, expected {}",
            outputs.len(),
            wanted.len()
        ));
    }
    let (rtol, atol) = tolerance.unwrap_or((
        expected["rtol"].as_f64().unwrap_or(1e-5),
        expected["atol"].as_f64().unwrap_or(1e-6),
    ));
    for (got, want) in outputs.iter().zip(wanted) {
        compare_output(got, want, rtol, atol)?;
    }
    Ok(())
}

#[test]
fn compare_output_finds_differences() {
    use crate::tensor::{tensor1, tensor2};
    let labels = NamedTensor::new("output-1", tensor1(&[1i64, 2]));
    let want = serde_json::json!({"name": "output-1", "shape": [2, 1], "datatype": "INT64", "data": [1, 2]});
    assert_eq!(compare_output(&labels, &want, 0.0, 0.0), Ok(()));
    let wrong = serde_json::json!({"name": "output-1", "shape": [2, 1], "datatype": "INT64", "data": [1, 3]});
    assert!(compare_output(&labels, &wrong, 0.0, 0.0).is_err());
    let probs = NamedTensor::new("p", tensor2(&[[0.25f64, 0.75]]));
    let near = serde_json::json!({"name": "p", "shape": [1, 2], "datatype": "FP64", "data": [0.25, 0.7500001]});
    assert_eq!(compare_output(&probs, &near, 1e-6, 0.0), Ok(()));
    assert!(compare_output(&probs, &near, 1e-9, 0.0).is_err());
    let renamed =
        serde_json::json!({"name": "q", "shape": [1, 2], "datatype": "FP64", "data": [0.25, 0.75]});
    assert!(compare_output(&probs, &renamed, 0.0, 0.0).is_err());
}
