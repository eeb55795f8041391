//! Every skops model of the repository's corpus (`examples/corpus`) and, when present, of the
//! shared corpus beside the repository.

use std::path::Path;

use serde_json::Value;

use super::walk;
use crate::pyobj::PyObj;
use crate::skops::read_skops_file;
use crate::test_support::{corpus_dir, corpus_roots};

/// `estimator` of case.json without a `(...)` description of the steps.
fn case_estimator(case: &Path) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(case.join("case.json")).unwrap()).unwrap();
    let e = v["estimator"].as_str().unwrap();
    e.split('(').next().unwrap().to_owned()
}

#[test]
fn every_corpus_skops_model_reads() {
    for dir in corpus_roots("every_corpus_skops_model_reads") {
        every_skops_model_reads(&dir);
    }
}

fn every_skops_model_reads(dir: &Path) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut read = Vec::new();
    for entry in entries {
        let case = entry.unwrap().path();
        let Ok(mlmodel) = std::fs::read_to_string(case.join("model/MLmodel")) else {
            continue;
        };
        if !mlmodel.contains("serialization_format: skops") {
            continue;
        }
        let file = mlmodel
            .lines()
            .find_map(|l| {
                let l = l.trim();
                l.strip_prefix("pickled_model: ")
                    .or_else(|| l.strip_prefix("data: "))
            })
            .unwrap()
            .trim()
            .to_owned();
        let root = read_skops_file(&case.join("model").join(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let PyObj::Instance(est) = root.as_ref() else {
            panic!("{}: root is not an instance", case.display())
        };
        assert_eq!(
            est.class.path(),
            case_estimator(&case),
            "{}",
            case.display()
        );
        assert!(est.attr("_sklearn_version").is_some() || est.class.module.starts_with("lightgbm"));
        read.push(case.file_name().unwrap().to_string_lossy().into_owned());
    }
    eprintln!("read {} corpus skops models: {read:?}", read.len());
    assert!(read.len() >= 3, "{read:?}");
}

#[test]
fn corpus_random_forest_trees() {
    let path = corpus_dir().join("sk-skops-rf-new/model/model.skops");
    let root = read_skops_file(&path).unwrap();
    let estimators = walk(&root, &[Value::from("estimators_")]);
    let PyObj::List(trees) = estimators.as_ref() else {
        panic!("estimators_ is not a list")
    };
    assert!(!trees.is_empty());
    for t in trees {
        let PyObj::Instance(dt) = t.as_ref() else {
            panic!("tree")
        };
        assert_eq!(
            dt.class.path(),
            "sklearn.tree._classes.DecisionTreeClassifier"
        );
        let PyObj::Instance(tree) = dt.attr("tree_").unwrap().as_ref() else {
            panic!("tree_")
        };
        assert_eq!(tree.class.path(), "sklearn.tree._tree.Tree");
        let PyObj::Array(n_classes) = tree.args[1].as_ref() else {
            panic!("n_classes")
        };
        assert_eq!(n_classes.to_f64_vec().unwrap(), vec![3.0]);
        let PyObj::Array(nodes) = tree.attr("nodes").unwrap().as_ref() else {
            panic!("nodes")
        };
        let count = match tree.attr("node_count").unwrap().as_ref() {
            PyObj::Int(n) => *n as usize,
            other => panic!("node_count {other:?}"),
        };
        assert_eq!(nodes.shape, vec![count]);
        let left = nodes.field_i64("left_child").unwrap();
        assert!(left
            .iter()
            .all(|&l| l == -1 || (l > 0 && (l as usize) < count)));
        let PyObj::Array(values) = tree.attr("values").unwrap().as_ref() else {
            panic!("values")
        };
        assert_eq!(values.shape, vec![count, 1, 3]);
    }
}

#[test]
fn corpus_pipeline_steps() {
    let path = corpus_dir().join("sk-skops-pipeline-new/model/model.skops");
    let root = read_skops_file(&path).unwrap();
    let scaler = walk(
        &root,
        &serde_json::from_str::<Vec<Value>>(r#"["steps", 0, 1]"#).unwrap(),
    );
    let PyObj::Instance(scaler) = scaler.as_ref() else {
        panic!("scaler")
    };
    assert_eq!(
        scaler.class.path(),
        "sklearn.preprocessing._data.StandardScaler"
    );
    let PyObj::Array(names) = scaler.attr("feature_names_in_").unwrap().as_ref() else {
        panic!("feature_names_in_")
    };
    assert_eq!(names.shape, vec![30]);
    assert_eq!(names.to_strings().unwrap()[0], "mean_radius");
    let coef = walk(
        &root,
        &serde_json::from_str::<Vec<Value>>(r#"["steps", 1, 1, "coef_"]"#).unwrap(),
    );
    let PyObj::Array(coef) = coef.as_ref() else {
        panic!("coef_")
    };
    assert_eq!(coef.shape, vec![1, 30]);
}
