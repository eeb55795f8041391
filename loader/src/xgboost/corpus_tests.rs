//! Corpus acceptance tests for the XGBoost flavor (`shared/corpus/xgb-*`): load each model with
//! [`crate::load`], decode `request.json` as MLServer would, compare with `expected.json`
//! (within its `rtol`/`atol`; labels exactly). [`run_case`] is shared with the LightGBM tests.

use std::path::PathBuf;

use serde_json::Value;

use crate::datatype::DataType;
use crate::model::NamedTensor;
use crate::tensor::{ndarray, Tensor};

/// The shared corpus directory.
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
}

/// Decodes one v2 JSON input (`null` is NaN for floats).
pub(crate) fn decode_input(input: &Value) -> NamedTensor {
    let name = input["name"].as_str().unwrap().to_owned();
    let shape: Vec<usize> = input["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = input["data"].as_array().unwrap();
    let floats = || data.iter().map(|v| v.as_f64().unwrap_or(f64::NAN));
    let dyn_shape = ndarray::IxDyn(&shape);
    let tensor: Tensor = match input["datatype"].as_str().unwrap() {
        "FP64" => ndarray::ArrayD::from_shape_vec(dyn_shape, floats().collect())
            .unwrap()
            .into(),
        "FP32" => ndarray::ArrayD::from_shape_vec(dyn_shape, floats().map(|v| v as f32).collect())
            .unwrap()
            .into(),
        "INT64" => ndarray::ArrayD::from_shape_vec(
            dyn_shape,
            data.iter().map(|v| v.as_i64().unwrap()).collect(),
        )
        .unwrap()
        .into(),
        "INT32" => ndarray::ArrayD::from_shape_vec(
            dyn_shape,
            data.iter().map(|v| v.as_i64().unwrap() as i32).collect(),
        )
        .unwrap()
        .into(),
        "BYTES" => ndarray::ArrayD::from_shape_vec(
            dyn_shape,
            data.iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
        )
        .unwrap()
        .into(),
        other => panic!("unsupported datatype {other}"),
    };
    NamedTensor::new(name, tensor)
}

/// The tensor's elements as `f64`, whatever its numeric type.
fn as_f64(tensor: &Tensor) -> Vec<f64> {
    match DataType::from_datum_type(tensor.datum_type()).unwrap() {
        DataType::Fp64 => tensor
            .as_plain_ram()
            .unwrap()
            .as_slice::<f64>()
            .unwrap()
            .to_vec(),
        DataType::Fp32 => tensor
            .as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        DataType::Int64 => tensor
            .as_plain_ram()
            .unwrap()
            .as_slice::<i64>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DataType::Int32 => tensor
            .as_plain_ram()
            .unwrap()
            .as_slice::<i32>()
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        other => panic!("unexpected output datatype {other}"),
    }
}

/// Loads corpus case `name`, runs its request and checks the response against `expected.json`.
pub(crate) fn run_case(name: &str) {
    let dir = corpus_dir().join(name);
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let request = read("request.json");
    let expected = read("expected.json");
    let model = crate::load(&dir.join("model")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs = request["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(decode_input)
        .collect();
    let outputs = model
        .predict(inputs)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = &expected["outputs"][0];
    assert_eq!(outputs.len(), 1, "{name}: one output");
    let got = &outputs[0];
    assert_eq!(
        got.name,
        want["name"].as_str().unwrap(),
        "{name}: output name"
    );
    let want_type: DataType = want["datatype"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        DataType::from_datum_type(got.tensor.datum_type()),
        Some(want_type),
        "{name}: datatype"
    );
    // MLServer reshapes a 1-D prediction to [N, 1]; we return [N].
    let want_shape: Vec<usize> = want["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let got_shape = got.tensor.shape().to_vec();
    let ok_shape = got_shape == want_shape
        || (want_shape.len() == 2 && want_shape[1] == 1 && got_shape == want_shape[..1]);
    assert!(ok_shape, "{name}: shape {got_shape:?} vs {want_shape:?}");
    let rtol = expected["rtol"].as_f64().unwrap_or(0.0);
    let atol = expected["atol"].as_f64().unwrap_or(0.0);
    let got_values = as_f64(&got.tensor);
    let want_values: Vec<f64> = want["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got_values.len(), want_values.len(), "{name}: value count");
    for (i, (g, w)) in got_values.iter().zip(&want_values).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{name}: value {i}: got {g}, want {w} (rtol {rtol}, atol {atol})"
        );
    }
}

#[test]
fn xgb_classifier_binary_new() {
    run_case("xgb-classifier-binary-new");
}

#[test]
fn xgb_classifier_json_old() {
    run_case("xgb-classifier-json-old");
}

#[test]
fn xgb_classifier_multiclass_new() {
    run_case("xgb-classifier-multiclass-new");
}

#[test]
fn xgb_regressor_json_new() {
    run_case("xgb-regressor-json-new");
}

#[test]
fn xgb_regressor_old() {
    run_case("xgb-regressor-old");
}
