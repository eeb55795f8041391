//! Every estimator family against the MLflow models `examples/sklearn/generate.py` saved with
//! several scikit-learn/mlflow versions (`examples/sklearn/<env>/<case>/`): each case is loaded
//! with [`crate::load`], fed its `request.json` and compared with the `expected.json` mlflow's
//! pyfunc produced (floats within the file's rtol/atol, labels exactly, `[N]` matching the
//! wire's `[N, 1]`). Unlike the shared corpus, an unsupported estimator here is a failure.
//!
//! The request decoder and the comparison mirror `corpus_tests.rs`, whose helpers are private
//! to that module.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::NamedTensor;
use crate::tensor::{ndarray, Tensor};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sklearn");

/// Cases (`<env>/<case>`) ironflow is known to mispredict, each with the reason; they still
/// run, and the test fails if one of them starts passing so the entry gets removed.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn shape_of(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// Decodes one v2 request input (flat `data`; null is a missing float).
fn decode_input(input: &Value) -> NamedTensor {
    let name = input["name"].as_str().unwrap().to_owned();
    let shape = shape_of(&input["shape"]);
    let data = input["data"].as_array().unwrap();
    let tensor = match input["datatype"].as_str().unwrap() {
        "FP64" => Tensor::from_shape(&shape, &data.iter().map(f64_of).collect::<Vec<_>>()),
        "INT64" => Tensor::from_shape(
            &shape,
            &data.iter().map(|v| v.as_i64().unwrap()).collect::<Vec<_>>(),
        ),
        "BYTES" => {
            let strings: Vec<String> = data
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            Ok(Tensor::from(
                ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), strings).unwrap(),
            ))
        }
        other => panic!("datatype {other} is not written by generate.py"),
    };
    NamedTensor::new(name, tensor.unwrap())
}

/// Compares our output with the expected wire output; `Err` names the first difference.
fn compare(got: &Tensor, expected: &Value, rtol: f64, atol: f64) -> Result<(), String> {
    let want_shape = shape_of(&expected["shape"]);
    let mut shape = got.shape().to_vec();
    if shape.len() == 1 {
        shape.push(1);
    }
    if shape != want_shape {
        return Err(format!("shape {shape:?}, expected {want_shape:?}"));
    }
    let data = expected["data"].as_array().unwrap();
    let datatype = expected["datatype"].as_str().unwrap();
    let ours = crate::DataType::from_datum_type(got.datum_type()).unwrap();
    if ours.as_str() != datatype {
        return Err(format!("datatype {ours}, expected {datatype}"));
    }
    let plain = got.try_as_plain_ram().unwrap();
    match datatype {
        "FP64" => {
            let g = plain.as_slice::<f64>().unwrap();
            for (i, (a, b)) in g.iter().zip(data).enumerate() {
                let b = f64_of(b);
                let close = (a.is_nan() && b.is_nan()) || (a - b).abs() <= atol + rtol * b.abs();
                if !close {
                    return Err(format!("value {i}: {a} vs {b}"));
                }
            }
        }
        "INT64" | "INT32" => {
            let g = got.cast_to::<i64>().unwrap();
            let g = g.try_as_plain_ram().unwrap().as_slice::<i64>().unwrap();
            for (i, (a, b)) in g.iter().zip(data).enumerate() {
                if Some(*a) != b.as_i64() {
                    return Err(format!("label {i}: {a} vs {b}"));
                }
            }
        }
        "BYTES" => {
            let g = plain.as_slice::<String>().unwrap();
            for (i, (a, b)) in g.iter().zip(data).enumerate() {
                if Some(a.as_str()) != b.as_str() {
                    return Err(format!("label {i}: {a:?} vs {b}"));
                }
            }
        }
        other => return Err(format!("unexpected datatype {other}")),
    }
    Ok(())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run_case(dir: &Path) -> Result<(), String> {
    let model = crate::load(&dir.join("model")).map_err(|e| format!("load: {e}"))?;
    let request = read_json(&dir.join("request.json"));
    let expected = read_json(&dir.join("expected.json"));
    let inputs = request["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(decode_input)
        .collect();
    let outputs = model.predict(inputs).map_err(|e| format!("predict: {e}"))?;
    let [out] = outputs.as_slice() else {
        return Err(format!("{} outputs", outputs.len()));
    };
    let want = &expected["outputs"][0];
    if out.name != want["name"].as_str().unwrap() {
        return Err(format!("output named {}", out.name));
    }
    let rtol = expected["rtol"].as_f64().unwrap();
    let atol = expected["atol"].as_f64().unwrap();
    compare(&out.tensor, want, rtol, atol)
}

/// `examples/sklearn/<env>/<case>/` directories, sorted.
fn cases() -> Vec<PathBuf> {
    let mut cases = Vec::new();
    for env in std::fs::read_dir(EXAMPLES).unwrap() {
        let env = env.unwrap().path();
        if !env.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&env).unwrap() {
            let case = case.unwrap().path();
            if case.join("model").is_dir() {
                cases.push(case);
            }
        }
    }
    cases.sort();
    cases
}

#[test]
fn sklearn_examples_match_mlflow_in_every_env() {
    let cases = cases();
    assert!(
        cases.len() > 100,
        "only {} example cases found",
        cases.len()
    );
    let (mut passed, mut known, mut failed) = (0, Vec::new(), Vec::new());
    for dir in &cases {
        let env = dir.parent().unwrap().file_name().unwrap().to_string_lossy();
        let name = format!("{env}/{}", dir.file_name().unwrap().to_string_lossy());
        let known_failure = KNOWN_FAILURES.iter().find(|(case, _)| *case == name);
        match (run_case(dir), known_failure) {
            (Ok(()), None) => passed += 1,
            (Ok(()), Some(_)) => {
                failed.push(format!("{name}: passes, drop it from KNOWN_FAILURES"))
            }
            (Err(why), Some((_, reason))) => known.push(format!("{name}: {why} ({reason})")),
            (Err(why), None) => failed.push(format!("{name}: {why}")),
        }
    }
    println!("passed {passed} of {} example cases", cases.len());
    for k in &known {
        println!("KNOWN FAILURE {k}");
    }
    for f in &failed {
        println!("FAILED {f}");
    }
    assert!(failed.is_empty(), "{} example cases failed", failed.len());
}
