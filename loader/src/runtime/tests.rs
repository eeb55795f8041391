//! The bare model files of `examples/kserve/models` (written by its `generate.py` with the real
//! libraries) load through their MLServer runtime and answer what the libraries answered.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::model::NamedTensor;
use crate::Tensor;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kserve/models");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/kserve/models")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn expected(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("read"))
        .expect("json")
}

fn input(expected: &Value, f32_input: bool) -> NamedTensor {
    let rows = expected["inputs"].as_array().expect("rows");
    let n = rows.len();
    let k = rows[0].as_array().expect("row").len();
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_f64().expect("f64"))
        })
        .collect();
    let tensor = if f32_input {
        let flat: Vec<f32> = flat.iter().map(|&v| v as f32).collect();
        Tensor::from_shape(&[n, k], &flat).expect("tensor")
    } else {
        Tensor::from_shape(&[n, k], &flat).expect("tensor")
    };
    NamedTensor::new("input-0", tensor)
}

/// The tensor's elements as JSON values (strings, integers or floats).
fn values(t: &Tensor) -> Vec<Value> {
    let plain = t.try_as_plain_ram().expect("plain");
    if let Ok(v) = plain.as_slice::<f64>() {
        return v.iter().map(|&x| Value::from(x)).collect();
    }
    if let Ok(v) = plain.as_slice::<f32>() {
        return v.iter().map(|&x| Value::from(f64::from(x))).collect();
    }
    if let Ok(v) = plain.as_slice::<i64>() {
        return v.iter().map(|&x| Value::from(x)).collect();
    }
    if let Ok(v) = plain.as_slice::<i32>() {
        return v.iter().map(|&x| Value::from(x)).collect();
    }
    if let Ok(v) = plain.as_slice::<String>() {
        return v.iter().map(|x| Value::from(x.as_str())).collect();
    }
    panic!("unexpected datatype {:?}", t.datum_type())
}

fn check_case(dir: &Path, implementation: Option<&str>) {
    let exp = expected(dir);
    let name = dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let model = load(dir, implementation).unwrap_or_else(|e| panic!("{name}: {e}"));
    let onnx = exp["implementation"] == "onnx";
    let mut request = input(&exp, onnx);
    if onnx {
        request.name = model.inputs[0].name.clone();
    }
    let outputs = model
        .predict(vec![request])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = exp["outputs"].as_object().expect("outputs");
    for (out_name, want) in want {
        let got = outputs
            .iter()
            .find(|o| &o.name == out_name)
            .unwrap_or_else(|| panic!("{name}: no output {out_name}"));
        let shape: Vec<usize> = want["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .collect();
        assert_eq!(
            got.tensor.shape(),
            shape.as_slice(),
            "{name} {out_name} shape"
        );
        let datatype = crate::DataType::from_datum_type(got.tensor.datum_type())
            .map(|d| d.to_string())
            .unwrap_or_default();
        assert_eq!(
            datatype,
            want["datatype"].as_str().expect("dt"),
            "{name} {out_name} datatype"
        );
        let want_values = want["data"].as_array().expect("data").clone();
        // Bit-exact, except where the Python side's arithmetic order is not reproduced: numpy's
        // BLAS dot (LinearRegression, LogisticRegression), LightGBM's softmax (the MLflow
        // lightgbm tests allow 1e-9 too), and tract's f32 kernels against onnxruntime's.
        let tolerance = if name.starts_with("onnx") {
            1e-6
        } else if ["lightgbm-multiclass", "sklearn-linear", "sklearn-pipeline"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            1e-12
        } else {
            0.0
        };
        let got_values = values(&got.tensor);
        assert_eq!(got_values.len(), want_values.len(), "{name} {out_name}");
        for (i, (g, w)) in got_values.iter().zip(&want_values).enumerate() {
            match (g.as_f64(), w.as_f64()) {
                (Some(g), Some(w)) if tolerance > 0.0 => {
                    assert!(
                        (g - w).abs() <= tolerance * w.abs().max(1.0),
                        "{name} {out_name}[{i}]: {g} vs {w}"
                    );
                }
                _ => assert_eq!(g, w, "{name} {out_name}[{i}]"),
            }
        }
        let info = model
            .outputs
            .iter()
            .find(|o| &o.name == out_name)
            .unwrap_or_else(|| panic!("{name}: {out_name} not described"));
        assert_eq!(
            info.datatype.to_string(),
            datatype,
            "{name} {out_name} metadata"
        );
    }
    if let Some(choice) = &model.output_choice {
        assert_eq!(
            choice.select(&[]).expect("default"),
            vec!["predict".to_owned()],
            "{name}"
        );
    }
}

#[test]
fn every_fixture_answers_as_the_library_by_implementation() {
    let cases = cases();
    assert!(cases.len() >= 17, "{} cases", cases.len());
    for dir in cases {
        let exp = expected(&dir);
        let implementation = exp["implementation"].as_str().expect("impl");
        let implementation = (implementation != "onnx").then_some(implementation);
        check_case(&dir, implementation);
    }
}

#[test]
fn every_fixture_is_found_by_its_file_name_alone() {
    for dir in cases() {
        check_case(&dir, None);
        let exp = expected(&dir);
        let file = dir.join(exp["file"].as_str().expect("file"));
        // The file itself, as MLSERVER_MODEL_URI may name it.
        let model = load(&file, None).expect("file");
        let want = exp["implementation"].as_str().expect("impl");
        assert_eq!(model.implementation, want, "{}", file.display());
    }
}

#[test]
fn a_model_in_one_sub_folder_is_found() {
    let tmp = std::env::temp_dir().join(format!("ironflow-runtime-sub-{}", std::process::id()));
    let sub = tmp.join("sklearn-model");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let src = cases()
        .into_iter()
        .find(|c| c.ends_with("sklearn-forest-joblib-gzip"))
        .expect("fixture");
    std::fs::copy(src.join("model.joblib"), sub.join("model.joblib")).expect("copy");
    let (file, runtime) = locate(&tmp, None).expect("found");
    assert_eq!(runtime, Runtime::Sklearn);
    assert_eq!(file, sub.join("model.joblib"));
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn outputs_are_chosen_as_mlserver_does() {
    let dir = cases()
        .into_iter()
        .find(|c| c.ends_with("sklearn-linear-joblib-pickle-name"))
        .expect("fixture");
    let model = load(&dir, Some("mlserver_sklearn.SKLearnModel")).expect("load");
    assert_eq!(
        model.select_outputs(&[]).expect("ok"),
        Some(vec!["predict".into()])
    );
    let err = model
        .select_outputs(&["predict_proba"])
        .expect_err("regressor");
    assert_eq!(
        err.to_string(),
        "<class 'sklearn.linear_model._base.LinearRegression'> models do not support 'predict_proba"
    );
    let err = model.select_outputs(&["foo"]).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "SKLearnModel only supports 'predict' and 'predict_proba' as outputs (foo was received)"
    );
}

#[test]
fn unknown_implementations_and_empty_folders_are_refused_with_what_to_do() {
    let dir = cases().into_iter().next().expect("fixture");
    let err = load(&dir, Some("my_models.CustomModel")).expect_err("custom");
    let text = err.to_string();
    assert!(
        text.contains("my_models.CustomModel") && text.contains("kserve-mlserver"),
        "{text}"
    );
    let empty = std::env::temp_dir().join(format!("ironflow-runtime-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("mkdir");
    let err = load(&empty, Some("mlserver_xgboost.XGBoostModel")).expect_err("empty");
    assert!(
        err.to_string().contains("model.bst, model.json, model.ubj"),
        "{err}"
    );
    std::fs::remove_dir_all(&empty).ok();
}

/// A method that counts its runs.
struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl crate::model::Predictor for Counting {
    fn predict(
        &self,
        inputs: Vec<NamedTensor>,
    ) -> Result<Vec<NamedTensor>, crate::error::PredictError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(inputs)
    }
}

#[test]
fn only_the_requested_methods_run() {
    use crate::model::Predictor;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (predict, proba) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let model = outputs::RuntimePredictor {
        methods: vec![
            outputs::Method {
                name: "predict",
                predictor: Box::new(Counting(predict.clone())),
                two_columns: false,
            },
            outputs::Method {
                name: "predict_proba",
                predictor: Box::new(Counting(proba.clone())),
                two_columns: false,
            },
        ],
    };
    let x = || {
        let t: Tensor = crate::tensor::ndarray::Array1::from_vec(vec![1.0f64, 2.0])
            .into_dyn()
            .into();
        vec![NamedTensor::new("input-0", t)]
    };
    let names = |out: Vec<NamedTensor>| out.into_iter().map(|o| o.name).collect::<Vec<_>>();
    let out = model
        .predict_outputs(x(), Some(&["predict".to_owned()]))
        .expect("predict");
    assert_eq!(names(out), ["predict"]);
    assert_eq!(
        (
            predict.load(Ordering::Relaxed),
            proba.load(Ordering::Relaxed)
        ),
        (1, 0)
    );
    let out = model
        .predict_outputs(x(), Some(&["predict_proba".to_owned()]))
        .expect("proba");
    assert_eq!(names(out), ["predict_proba"]);
    assert_eq!(
        (
            predict.load(Ordering::Relaxed),
            proba.load(Ordering::Relaxed)
        ),
        (1, 1)
    );
    // Without a selection (the Predictor trait's `predict`) every method runs.
    assert_eq!(
        names(model.predict(x()).expect("all")),
        ["predict", "predict_proba"]
    );
    assert_eq!(
        (
            predict.load(Ordering::Relaxed),
            proba.load(Ordering::Relaxed)
        ),
        (2, 2)
    );
}
