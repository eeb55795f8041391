//! Tests over the generated CatBoost fixtures (`examples/models/catboost/cb-*`, written by
//! `examples/models/catboost/generate.py` with catboost 1.2.10 and mlflow 3.17.2): raw values,
//! probabilities, `mlflow.pyfunc` answers and MLServer's answers against what catboost returned,
//! and hostile files failing cleanly.

use std::path::PathBuf;

use serde_json::Value;

use super::{compile, Prediction};
use crate::model::{NamedTensor, Predictor};
use crate::tensor::{tensor1, tensor2, Tensor};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/models/catboost")
}

fn case(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name).join("case.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn model_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name).join("mlflow/model.cb")).unwrap()
}

/// One input tensor per column: numbers (null = NaN) as f64, strings as strings, integers of
/// categorical columns as i64.
fn inputs(case: &Value) -> Vec<NamedTensor> {
    let cats: Vec<&str> = case["cat_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    case["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c.as_str().unwrap();
            let values = case["rows"][name].as_array().unwrap();
            let tensor: Tensor = if values.iter().any(Value::is_string) {
                let v: Vec<String> = values
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect();
                tensor1(&v)
            } else if cats.contains(&name) {
                let v: Vec<i64> = values.iter().map(|v| v.as_i64().unwrap()).collect();
                tensor1(&v)
            } else {
                let v: Vec<f64> = values
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect();
                tensor1(&v)
            };
            NamedTensor::new(name, tensor)
        })
        .collect()
}

/// The rows as one `[N, k]` f64 matrix (float-only models), as MLServer's numpy codec sends.
fn matrix(case: &Value) -> NamedTensor {
    let columns = case["columns"].as_array().unwrap();
    let n = case["n_rows"].as_u64().unwrap() as usize;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    case["rows"][c.as_str().unwrap()][r]
                        .as_f64()
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let flat: Vec<f64> = rows.concat();
    let array = crate::tensor::ndarray::Array2::from_shape_vec((n, columns.len()), flat).unwrap();
    NamedTensor::new("input-0", array.into())
}

fn floats(t: &Tensor) -> Vec<f64> {
    t.as_plain_ram()
        .unwrap()
        .as_slice::<f64>()
        .unwrap()
        .to_vec()
}

/// The exact expected values: `{key}_bits` (f64 bit patterns; serde_json's float parsing may be
/// an ulp off).
fn exact(case: &Value, key: &str) -> Vec<f64> {
    case[format!("{key}_bits")]
        .as_array()
        .unwrap_or_else(|| panic!("no {key}_bits"))
        .iter()
        .map(|b| f64::from_bits(b.as_u64().unwrap()))
        .collect()
}

#[allow(dead_code)]
fn expected_floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x {
            Value::Array(row) => row.iter().map(|y| y.as_f64().unwrap()).collect::<Vec<_>>(),
            other => vec![other.as_f64().unwrap()],
        })
        .collect()
}

/// `got` equals `want` to the last bits CatBoost's own `f64` sums round differently (none, in
/// these fixtures, for raw values: asserted exactly by `raw_values_are_bit_exact`).
fn assert_close(name: &str, what: &str, got: &[f64], want: &[f64], ulps: u64) {
    assert_eq!(got.len(), want.len(), "{name} {what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let diff = (g.to_bits() as i64 - w.to_bits() as i64).unsigned_abs();
        assert!(diff <= ulps, "{name} {what}[{i}]: got {g}, want {w}");
    }
}

const ALL: &[&str] = &[
    "cb-binary",
    "cb-binary-nanmax-strings",
    "cb-multiclass",
    "cb-multiclass-ova",
    "cb-rmse",
    "cb-poisson",
    "cb-tweedie",
    "cb-quantile",
    "cb-multirmse",
    "cb-scale-bias",
    "cb-depthwise",
    "cb-lossguide-multiclass",
    "cb-ranker",
    "cb-onehot-binary",
    "cb-ctr-binary",
    "cb-ctr-multiclass",
    "cb-ctr-rmse",
    "cb-ctr-depthwise",
    "cb-binary-threshold",
    "cb-bench-binary",
    "cb-bench-ctr",
];

#[test]
fn raw_values_are_bit_exact() {
    for name in ALL {
        let case = case(name);
        let predictor = compile(&model_bytes(name), Prediction::Raw, None, "raw")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = predictor
            .predict(inputs(&case))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_close(
            name,
            "raw",
            &floats(&out[0].tensor),
            &exact(&case, "raw"),
            0,
        );
    }
}

#[test]
fn probabilities_match_predict_proba() {
    for name in ALL {
        let case = case(name);
        if case.get("proba").is_none() {
            continue;
        }
        let predictor = compile(&model_bytes(name), Prediction::Probability, None, "p").unwrap();
        let out = predictor.predict(inputs(&case)).unwrap();
        // exp/softmax in libm vs CatBoost's own: a few ulps.
        assert_close(
            name,
            "proba",
            &floats(&out[0].tensor),
            &exact(&case, "proba"),
            64,
        );
    }
}

/// Compares a label or value output with what Python returned (`values`, `dtype`, `shape`).
fn assert_answer(
    name: &str,
    tensor: &Tensor,
    values: &Value,
    bits: Option<Vec<f64>>,
    dtype: &str,
    shape: &Value,
) {
    let shape: Vec<usize> = shape
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(tensor.shape(), shape.as_slice(), "{name}: shape");
    let view = tensor.as_plain_ram().unwrap();
    let want = values.as_array().unwrap();
    match dtype {
        "object" => {
            let got = view.as_slice::<String>().unwrap();
            let want: Vec<&str> = want.iter().map(|v| v.as_str().unwrap()).collect();
            assert_eq!(got, want.as_slice(), "{name}");
        }
        "int64" => {
            let got = view.as_slice::<i64>().unwrap();
            let want: Vec<i64> = want.iter().map(|v| v.as_i64().unwrap()).collect();
            assert_eq!(got, want.as_slice(), "{name}");
        }
        "float64" => {
            let want: Vec<f64> = want.iter().map(|v| v.as_f64().unwrap()).collect();
            let want = bits.unwrap_or(want);
            // Exponent: exp() of the exact raw value, libm vs CatBoost's.
            assert_close(name, "pyfunc", view.as_slice::<f64>().unwrap(), &want, 2);
        }
        other => panic!("{name}: dtype {other}"),
    }
}

#[test]
fn mlflow_flavor_answers_as_pyfunc() {
    for name in ALL {
        let case = case(name);
        let model = crate::flavor::load(&fixtures().join(name).join("mlflow"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(model.flavor, "catboost");
        let out = model
            .predict(inputs(&case))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out[0].name, "output-1");
        assert_answer(
            name,
            &out[0].tensor,
            &case["pyfunc"],
            case.get("pyfunc_bits").map(|_| exact(&case, "pyfunc")),
            case["pyfunc_dtype"].as_str().unwrap(),
            &case["pyfunc_shape"],
        );
    }
}

#[test]
fn mlserver_runtime_answers_as_catboost_classifier() {
    let mut seen = 0;
    for name in ALL {
        let case = case(name);
        if case.get("mlserver").is_none() {
            continue;
        }
        seen += 1;
        let path = fixtures().join(name).join("mlflow/model.cb");
        let predictor = super::load_mlserver_cbm(&path).unwrap();
        let out = predictor.predict(vec![matrix(&case)]).unwrap();
        assert_eq!(out[0].name, "predict");
        assert_answer(
            name,
            &out[0].tensor,
            &case["mlserver"],
            None,
            case["mlserver_dtype"].as_str().unwrap(),
            &case["mlserver_shape"],
        );
    }
    assert_eq!(seen, 4);
}

/// A bare `model.cbm` (KServe's storage layout) started as `mlserver_catboost.CatboostModel`,
/// by implementation name and by its well-known file name, answers `predict` as MLServer does.
#[test]
fn bare_cbm_is_served_as_mlserver_catboost() {
    let mut seen = 0;
    for name in ALL {
        let case = case(name);
        if case.get("mlserver").is_none() {
            continue;
        }
        seen += 1;
        let dir = std::env::temp_dir().join(format!("ironflow-cbm-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            fixtures().join(name).join("mlflow/model.cb"),
            dir.join("model.cbm"),
        )
        .unwrap();
        for implementation in [Some("mlserver_catboost.CatboostModel"), None] {
            let model = crate::runtime::load(&dir, implementation).unwrap();
            assert_eq!(model.implementation, "mlserver_catboost.CatboostModel");
            assert_eq!(
                model.select_outputs(&[]).unwrap(),
                Some(vec!["predict".to_owned()])
            );
            let out = model.predict(vec![matrix(&case)]).unwrap();
            assert_eq!(out[0].name, "predict");
            let n = case["n_rows"].as_u64().unwrap() as usize;
            assert_eq!(out[0].tensor.shape(), &[n, 1]);
            // MLServer's NumpyCodec reports CatBoost's 1-D labels as `[n, 1]`; the recorded
            // `predict` is compared at its own shape.
            let want: Vec<usize> = case["mlserver_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let flat = out[0].tensor.clone().into_shape(&want).unwrap();
            assert_answer(
                name,
                &flat,
                &case["mlserver"],
                None,
                case["mlserver_dtype"].as_str().unwrap(),
                &case["mlserver_shape"],
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(seen, 4);
}

#[test]
fn categorical_inputs_are_checked() {
    let name = "cb-ctr-binary";
    let case = case(name);
    let predictor = compile(&model_bytes(name), Prediction::Raw, None, "raw").unwrap();
    let mut bad = inputs(&case);
    let n = case["n_rows"].as_u64().unwrap() as usize;
    let at = bad.iter().position(|t| t.name == "i_store").unwrap();
    bad[at] = NamedTensor::new("i_store", tensor1(&vec![1.5f64; n]));
    let err = predictor.predict(bad).unwrap_err();
    assert!(err.to_string().contains("i_store"), "{err}");
    let mut missing = inputs(&case);
    missing.retain(|t| t.name != "c_city");
    assert!(predictor.predict(missing).is_err());
    let wide = predictor.predict(vec![NamedTensor::new("x", tensor2(&[[1.0f64, 2.0]]))]);
    assert!(wide.is_err());
}

/// Truncated, corrupted and hostile files: errors, never panics.
#[test]
fn hostile_files_fail_cleanly() {
    for name in ["cb-ctr-multiclass", "cb-lossguide-multiclass"] {
        let bytes = model_bytes(name);
        // Every truncation.
        for len in (0..bytes.len()).step_by(13) {
            assert!(
                compile(&bytes[..len], Prediction::Raw, None, "x").is_err(),
                "{name} {len}"
            );
        }
        // Byte flips all over: may load (a changed value) or fail, but never panic.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..1000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut copy = bytes.clone();
            let at = (state as usize) % copy.len();
            copy[at] ^= (state >> 32) as u8 | 1;
            if let Ok(p) = compile(&copy, Prediction::Raw, None, "x") {
                let _ = p.predict(inputs(&case(name)));
            }
        }
    }
    let mut huge = b"CBM1".to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(compile(&huge, Prediction::Raw, None, "x").is_err());
    assert!(compile(b"{\"json\": 1}", Prediction::Raw, None, "x").is_err());
}

/// Text features: a clear refusal, naming the feature.
#[test]
fn text_features_are_refused() {
    let err = compile(&model_bytes("cb-text-refused"), Prediction::Raw, None, "x").unwrap_err();
    assert!(err.to_string().contains("text feature \"t_text\""), "{err}");
    let err = crate::flavor::load(&fixtures().join("cb-text-refused/mlflow")).unwrap_err();
    assert!(err.to_string().contains("not implemented"), "{err}");
}
