//! Tests of the MLmodel and signature readers on files written by MLflow 1.x, 2.x and 3.x.

use super::*;
use crate::datatype::DataType;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/mlmodel/{name}.MLmodel",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn columns(schema: &Schema) -> Vec<&ColSpec> {
    schema
        .specs
        .iter()
        .map(|s| match s {
            TypedSpec::Column(c) => c,
            TypedSpec::Tensor(t) => panic!("expected a column, found {t:?}"),
        })
        .collect()
}

#[test]
fn every_corpus_mlmodel_parses_with_its_signature() {
    let dir = format!("{}/tests/fixtures/mlmodel", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let model = MlModel::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let sig = model
            .signature()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let logged_without = path.to_string_lossy().contains("no-signature");
        match sig {
            Some(sig) => {
                let inputs = sig.inputs.expect("inputs");
                assert!(!inputs.specs.is_empty(), "{}", path.display());
                assert!(sig.outputs.is_some(), "{}", path.display());
            }
            None => assert!(logged_without, "{}: no signature", path.display()),
        }
        assert!(model.flavors.contains_key("python_function"));
        assert!(model.mlflow_version.is_some());
        count += 1;
    }
    assert_eq!(count, 69, "the corpus has 69 models");
}

#[test]
fn mlflow_1_columns_without_required_are_required() {
    let model = MlModel::parse(&fixture("sk-dtree-regressor-legacy")).expect("parse");
    assert_eq!(model.mlflow_version.as_deref(), Some("1.30.1"));
    let sig = model.signature().expect("sig").expect("some");
    let inputs = sig.inputs.expect("inputs");
    let cols = columns(&inputs);
    assert_eq!(cols.len(), 10);
    assert_eq!(cols[0].name.as_deref(), Some("age"));
    assert!(cols.iter().all(|c| c.required));
    assert_eq!(inputs.specs[0].datatype(), DataType::Fp64);
    assert_eq!(inputs.specs[0].shape(), vec![-1, 1]);
    let outputs = sig.outputs.expect("outputs");
    assert!(outputs.is_tensor_based());
    assert_eq!(outputs.names("output"), vec!["output-0"]);
    assert!(model.extra.contains_key("saved_input_example_info"));
}

#[test]
fn mlflow_2_and_3_tensor_signatures() {
    let old = MlModel::parse(&fixture("onnx-conv-pool-gemm-old")).expect("parse");
    assert_eq!(old.mlflow_version.as_deref(), Some("2.12.2"));
    let sig = old.signature().expect("sig").expect("some");
    match &sig.inputs.expect("inputs").specs[0] {
        TypedSpec::Tensor(t) => {
            assert_eq!(t.name.as_deref(), Some("image"));
            assert_eq!(t.dtype, "float32");
            assert_eq!(t.shape, vec![-1, 1, 8, 8]);
            assert_eq!(t.datatype(), DataType::Fp32);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sig.params, None);
    let onnx = old.flavors.get("onnx").expect("onnx flavor");
    assert!(onnx.get("data").is_some());

    let new = MlModel::parse(&fixture("onnx-mlp-new")).expect("parse");
    assert_eq!(new.mlflow_version.as_deref(), Some("3.17.2"));
    assert!(new.extra.contains_key("is_signature_from_type_hint"));
    assert!(new.extra.contains_key("model_id"));
}

const TOLERANT: &str = r#"
artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    predict_fn: predict_proba
    model_path: model.pkl
    a_future_field: {nested: [1, 2]}
  sklearn:
    pickled_model: model.pkl
    serialization_format: skops
    sklearn_version: 1.9.1
mlflow_version: 4.0
some_future_top_level: true
signature:
  inputs: '[{"type": "double", "name": "x", "required": false, "future": 1},
    {"type": "string", "name": "s", "optional": true},
    {"type": "long", "name": "n"},
    {"type": "array", "items": {"type": "double"}, "name": "arr", "required": true},
    {"type": "object", "name": "obj", "properties": {"a": {"type": "string", "required": true},
      "b": {"type": "array", "items": {"type": "long"}, "required": false}}, "required": true},
    {"type": "map", "values": {"type": "double"}, "name": "m", "required": true},
    {"type": "any", "name": "whatever", "required": false},
    {"type": "datetime", "name": "when", "required": true},
    {"type": "a_type_from_the_future", "name": "fut", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}, "extra": "x"}]'
  params: '[{"name": "temperature", "type": "float", "default": 0.5, "shape": null},
    {"name": "ids", "dtype": "long", "default": [1, 2], "shape": [-1]}]'
  a_new_signature_key: yes
"#;

#[test]
fn unknown_fields_and_newer_types_are_accepted() {
    let model = MlModel::parse(TOLERANT).expect("parse");
    assert_eq!(model.mlflow_version.as_deref(), Some("4.0"));
    assert!(model.extra.contains_key("some_future_top_level"));
    assert_eq!(
        model
            .pyfunc()
            .expect("pyfunc")
            .expect("some")
            .predict_fn
            .as_deref(),
        Some("predict_proba")
    );
    let sig = model.signature().expect("sig").expect("some");
    let inputs = sig.inputs.expect("inputs");
    let cols = columns(&inputs);
    assert!(!cols[0].required);
    assert_eq!(cols[0].extra.get("future"), Some(&serde_json::json!(1)));
    assert!(!cols[1].required, "optional: true means not required");
    assert!(cols[2].required, "absent means required");
    assert_eq!(cols[2].ty.datatype(), DataType::Int64);
    assert_eq!(
        cols[3].ty,
        ColType::Array(Box::new(ColType::Scalar("double".into())))
    );
    match &cols[4].ty {
        ColType::Object(props) => {
            assert_eq!(props.len(), 2);
            assert_eq!(props[0].0, "a");
            assert!(props[0].2);
            assert!(!props[1].2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cols[5].ty,
        ColType::Map(Box::new(ColType::Scalar("double".into())))
    );
    assert_eq!(cols[6].ty, ColType::Any);
    assert_eq!(cols[7].ty.datatype(), DataType::Bytes);
    assert_eq!(cols[8].ty, ColType::Scalar("a_type_from_the_future".into()));
    assert_eq!(cols[8].ty.datatype(), DataType::Bytes);
    assert_eq!(cols[3].ty.datatype(), DataType::Bytes);

    let params = sig.params.expect("params").params;
    assert_eq!(params[0].name, "temperature");
    assert_eq!(params[0].ty, "float");
    assert_eq!(params[0].default, serde_json::json!(0.5));
    assert_eq!(params[0].shape, None);
    assert_eq!(params[1].ty, "long");
    assert_eq!(params[1].shape, Some(vec![-1]));
}

#[test]
fn a_model_without_signature_loads() {
    let model = MlModel::parse("flavors:\n  onnx:\n    data: model.onnx\n").expect("parse");
    assert_eq!(model.signature().expect("sig"), None);
    let model = MlModel::parse("flavors: {}\nsignature:\n  inputs: null\n").expect("parse");
    assert_eq!(model.signature().expect("sig").expect("some").inputs, None);
}

#[test]
fn broken_signatures_are_errors_naming_the_field() {
    let bad_json = "signature:\n  inputs: '[{\"type\": '\n";
    let err = MlModel::parse(bad_json)
        .expect("yaml")
        .signature()
        .expect_err("bad json");
    assert!(err.to_string().contains("inputs"), "{err}");
    let no_type = "signature:\n  outputs: '[{\"name\": \"x\"}]'\n";
    let err = MlModel::parse(no_type)
        .expect("yaml")
        .signature()
        .expect_err("no type");
    assert!(err.to_string().contains("outputs[0]"), "{err}");
    assert!(MlModel::parse("flavors: [not, a, map]").is_err());
}
