//! The acceptance test: every `sk-*` case of the shared corpus whose estimators this build
//! supports is loaded with [`crate::load`], fed its `request.json` and compared with the
//! `expected.json` mlflow's pyfunc produced (floats within the file's rtol/atol, labels exactly,
//! `[N]` matching the wire's `[N, 1]`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::LoadError;
use crate::model::NamedTensor;
use crate::tensor::{ndarray, Tensor};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// Decodes one v2 request input (flat `data`, the datatypes the corpus uses).
fn decode_input(input: &Value) -> NamedTensor {
    let name = input["name"].as_str().unwrap().to_owned();
    let shape: Vec<usize> = input["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = input["data"].as_array().unwrap();
    let tensor = match input["datatype"].as_str().unwrap() {
        "FP64" => Tensor::from_shape(&shape, &data.iter().map(f64_of).collect::<Vec<_>>()),
        "FP32" => Tensor::from_shape(
            &shape,
            &data.iter().map(|v| f64_of(v) as f32).collect::<Vec<_>>(),
        ),
        "INT64" => Tensor::from_shape(
            &shape,
            &data.iter().map(|v| v.as_i64().unwrap()).collect::<Vec<_>>(),
        ),
        "INT32" => Tensor::from_shape(
            &shape,
            &data
                .iter()
                .map(|v| v.as_i64().unwrap() as i32)
                .collect::<Vec<_>>(),
        ),
        "BOOL" => Tensor::from_shape(
            &shape,
            &data
                .iter()
                .map(|v| v.as_bool().unwrap())
                .collect::<Vec<_>>(),
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
        other => panic!("datatype {other} is not used by the corpus"),
    };
    NamedTensor::new(name, tensor.unwrap())
}

/// Compares our output with the expected wire output; `Err` says why not.
fn compare(got: &Tensor, expected: &Value, rtol: f64, atol: f64) -> Result<(), String> {
    let want_shape: Vec<usize> = expected["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
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
    match datatype {
        "FP64" => {
            let g = got.try_as_plain_ram().unwrap().as_slice::<f64>().unwrap();
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
            let w: Vec<i64> = data.iter().map(|v| v.as_i64().unwrap()).collect();
            if g != w.as_slice() {
                return Err(format!("labels {g:?}, expected {w:?}"));
            }
        }
        "BYTES" => {
            let g = got
                .try_as_plain_ram()
                .unwrap()
                .as_slice::<String>()
                .unwrap();
            let w: Vec<&str> = data.iter().map(|v| v.as_str().unwrap()).collect();
            if g.iter().map(String::as_str).collect::<Vec<_>>() != w {
                return Err(format!("labels {g:?}, expected {w:?}"));
            }
        }
        "BOOL" => {
            let g = got.try_as_plain_ram().unwrap().as_slice::<bool>().unwrap();
            let w: Vec<bool> = data.iter().map(|v| v.as_bool().unwrap()).collect();
            if g != w.as_slice() {
                return Err(format!("labels {g:?}, expected {w:?}"));
            }
        }
        other => return Err(format!("unexpected datatype {other}")),
    }
    Ok(())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs one case: `Ok(Some(reason))` when skipped (an unsupported estimator), `Ok(None)`
/// when it passes.
fn run_case(dir: &Path) -> Result<Option<String>, String> {
    let model = match crate::load(&dir.join("model")) {
        Ok(m) => m,
        Err(e @ LoadError::Unsupported { .. }) => return Ok(Some(e.to_string())),
        Err(e) => return Err(format!("load: {e}")),
    };
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
    let rtol = expected["rtol"].as_f64().unwrap_or(0.0);
    let atol = expected["atol"].as_f64().unwrap_or(0.0);
    compare(&out.tensor, want, rtol, atol).map(|()| None)
}

#[test]
fn sklearn_corpus_cases_match_mlflow() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sk-"))
        })
        .collect();
    cases.sort();
    let (mut passed, mut skipped, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        match run_case(dir) {
            Ok(None) => passed.push(name),
            Ok(Some(why)) => skipped.push(format!("{name} ({why})")),
            Err(why) => failed.push(format!("{name}: {why}")),
        }
    }
    println!("passed ({}): {}", passed.len(), passed.join(", "));
    println!("skipped ({}):", skipped.len());
    for s in &skipped {
        println!("  {s}");
    }
    for f in &failed {
        println!("FAILED {f}");
    }
    assert!(failed.is_empty(), "{} corpus cases failed", failed.len());
}

/// Copies a corpus model to a scratch directory with `predict_fn` replaced.
fn with_predict_fn(case: &str, predict_fn: &str) -> PathBuf {
    let src = Path::new(CORPUS).join(case).join("model");
    let dst = std::env::temp_dir().join(format!(
        "ironflow-sklearn-{case}-{predict_fn}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dst.join(path.file_name().unwrap())).unwrap();
    }
    let mlmodel = std::fs::read_to_string(src.join("MLmodel")).unwrap();
    let patched = mlmodel.replace("predict_fn: predict", &format!("predict_fn: {predict_fn}"));
    std::fs::write(dst.join("MLmodel"), patched).unwrap();
    dst
}

#[test]
fn predict_fn_selects_the_method_and_is_checked_at_load() {
    let dir = with_predict_fn("sk-linearsvc-old", "predict_proba");
    let err = crate::load(&dir).unwrap_err();
    assert!(err.to_string().contains("no predict_proba"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    let dir = with_predict_fn("sk-logreg-multiclass-new", "predict_proba");
    let model = crate::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(model.flavor, "sklearn");
    assert_eq!(model.outputs[0].shape, vec![-1, 3]);
    let request = read_json(&Path::new(CORPUS).join("sk-logreg-multiclass-new/request.json"));
    let inputs = request["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(decode_input)
        .collect();
    let out = model.predict(inputs).unwrap();
    let p = out[0].tensor.try_as_plain_ram().unwrap();
    let p = p.as_slice::<f64>().unwrap();
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
