//! Estimator-level checks against `fixtures/` (made by `fixtures/generate.py` with real
//! scikit-learn): each `<case>.pkl` is read with the pickle reader, compiled, run on the
//! case's input for every method listed, and compared with what sklearn returned.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::output::{Labels, Output};
use super::table::{Column, Data, Matrix, Table};
use super::{Compiled, Method, Registry};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sklearn/fixtures");

/// A JSON float: null is NaN, `"inf"` / `"-inf"` are infinities.
fn float(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap_or(f64::NAN),
    }
}

fn input(case: &Value) -> Data {
    let cols = case["columns"].as_array().unwrap();
    let rows = cols[0]["values"].as_array().unwrap().len();
    let mut table = Table::new(rows);
    for c in cols {
        let values = c["values"].as_array().unwrap();
        let column = if c["kind"] == "str" {
            Column::Str(
                values
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            )
        } else {
            Column::Num(values.iter().map(float).collect())
        };
        table.push(c["name"].as_str().unwrap(), column).unwrap();
    }
    if case["matrix"].as_bool().unwrap() {
        Data::Matrix(table.to_matrix().unwrap())
    } else {
        Data::Table(table)
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 + 1e-9 * b.abs()
}

fn check(got: Output, want: &Value) -> Result<(), String> {
    let shape: Vec<usize> = want["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = want["data"].as_array().unwrap();
    let dtype = want["dtype"].as_str().unwrap();
    let floats = |values: &[f64], got_shape: Vec<usize>| {
        if got_shape != shape {
            return Err(format!("shape {got_shape:?}, expected {shape:?}"));
        }
        for (i, (a, b)) in values.iter().zip(data).enumerate() {
            if !close(*a, float(b)) {
                return Err(format!("value {i}: {a} vs {}", float(b)));
            }
        }
        Ok(())
    };
    match (got, dtype) {
        (Output::Vector(v), "float64") => floats(&v, vec![v.len()]),
        (Output::Matrix(m), "float64") => floats(m.data(), vec![m.rows(), m.cols()]),
        (Output::Labels(Labels::Float(v)), "float64") => floats(&v, vec![v.len()]),
        (Output::Labels(Labels::Int64(v)), "int64") => {
            let w: Vec<i64> = data.iter().map(|x| x.as_i64().unwrap()).collect();
            (v == w).then_some(()).ok_or(format!("{v:?} vs {w:?}"))
        }
        (Output::Labels(Labels::Int32(v)), "int32") => {
            let w: Vec<i32> = data.iter().map(|x| x.as_i64().unwrap() as i32).collect();
            (v == w).then_some(()).ok_or(format!("{v:?} vs {w:?}"))
        }
        (Output::Labels(Labels::Bool(v)), "bool") => {
            let w: Vec<bool> = data.iter().map(|x| x.as_bool().unwrap()).collect();
            (v == w).then_some(()).ok_or(format!("{v:?} vs {w:?}"))
        }
        (Output::Labels(Labels::Str(v)), "str") => {
            let w: Vec<&str> = data.iter().map(|x| x.as_str().unwrap()).collect();
            (v == w).then_some(()).ok_or(format!("{v:?} vs {w:?}"))
        }
        (other, _) => Err(format!("got {other:?}, expected dtype {dtype}")),
    }
}

fn run(json: &Path) -> Result<(), String> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let bytes = std::fs::read(json.with_extension("pkl")).unwrap();
    let root = crate::pickle::read_pickle(&bytes).map_err(|e| format!("pickle: {e}"))?;
    let Compiled::Estimator(est) = Registry::with_builtins()
        .compile(&root)
        .map_err(|e| e.to_string())?
    else {
        return Err("compiled to a transformer".into());
    };
    for (name, want) in case["outputs"].as_object().unwrap() {
        let method = Method::parse(name).unwrap();
        let info = est
            .output_info(method)
            .ok_or_else(|| format!("{name} is not supported"))?;
        let got = est
            .run(method, input(&case))
            .map_err(|e| format!("{name}: {e}"))?;
        if let Output::Labels(l) = &got {
            assert_eq!(l.datatype(), info.datatype);
        }
        check(got, want).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

#[test]
fn estimators_match_sklearn_fixtures() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    let mut failed = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        match run(case) {
            Ok(()) => println!("ok {name}"),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    for f in &failed {
        println!("FAILED {f}");
    }
    assert!(failed.is_empty(), "{} fixtures failed", failed.len());
}

#[test]
fn unsupported_classes_report_their_path() {
    use crate::pyobj::{Instance, PyClass, PyObj};
    use std::sync::Arc;
    let inst = |module: &str, name: &str, state: Vec<(&str, Arc<PyObj>)>| {
        Arc::new(PyObj::Instance(Instance {
            class: PyClass::new(module, name),
            args: Vec::new(),
            state: Some(Arc::new(PyObj::Dict(
                state
                    .into_iter()
                    .map(|(k, v)| (Arc::new(PyObj::Str(k.into())), v))
                    .collect(),
            ))),
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }))
    };
    let step =
        |name: &str, est| Arc::new(PyObj::Tuple(vec![Arc::new(PyObj::Str(name.into())), est]));
    let nu = inst("sklearn.cluster._birch", "Birch", Vec::new());
    let scaler = inst(
        "sklearn.preprocessing._data",
        "Normalizer",
        vec![("norm", Arc::new(PyObj::Str("l2".into())))],
    );
    let pipe = inst(
        "sklearn.pipeline",
        "Pipeline",
        vec![(
            "steps",
            Arc::new(PyObj::List(vec![step("a", scaler), step("b", nu)])),
        )],
    );
    let err = Registry::with_builtins().compile(&pipe).err().unwrap();
    assert_eq!(
        err.to_string(),
        "Pipeline.steps[1] -> sklearn.cluster._birch.Birch is not supported"
    );
    let _ = Matrix::zeros(0, 0);
}
