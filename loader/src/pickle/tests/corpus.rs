//! Every corpus `model.pkl` (mlflow protocol 4, pickle and cloudpickle, numpy 1.x and 2.x,
//! sklearn 1.1-1.9, LightGBM) reads into the expected class with its fitted attributes decodable:
//! the repository's `examples/corpus`, and the shared corpus beside the repository when present.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::pickle::load_pickle_file;
use crate::pyobj::{ArrayData, Obj, PyObj};

/// `(case dir, expected root class)` for every case of `root` that ships a `model/model.pkl`.
pub(super) fn corpus_pickles_in(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for entry in entries.flatten() {
        let dir = entry.path();
        let pkl = dir.join("model/model.pkl");
        if !pkl.is_file() {
            continue;
        }
        let case: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("case.json")).expect("case.json"))
                .expect("json");
        let estimator = case["estimator"].as_str().expect("estimator");
        let class = estimator
            .split('(')
            .next()
            .expect("class")
            .trim()
            .to_string();
        out.push((pkl, class));
    }
    out.sort();
    out
}

/// [`corpus_pickles_in`] of every corpus a sweep runs (see `test_support::corpus_roots`).
pub(super) fn corpus_pickles(test: &str) -> Vec<Vec<(PathBuf, String)>> {
    crate::test_support::corpus_roots(test)
        .iter()
        .map(|root| corpus_pickles_in(root))
        .collect()
}

#[derive(Default)]
struct Seen {
    nodes: HashSet<*const PyObj>,
    arrays: usize,
    trees: usize,
    predictors: usize,
}

/// Walks the tree once per shared node, decoding every array by its kind.
fn walk(obj: &Obj, seen: &mut Seen, path: &Path) {
    if !seen.nodes.insert(Obj::as_ptr(obj)) {
        return;
    }
    match obj.as_ref() {
        PyObj::Array(a) => {
            seen.arrays += 1;
            let n = a.len();
            match (&a.data, a.dtype.kind) {
                (ArrayData::Objects(items), _) => {
                    assert_eq!(items.len(), n, "{}", path.display());
                    items.iter().for_each(|o| walk(o, seen, path));
                }
                (_, 'V') => {
                    for f in &a.dtype.fields {
                        if matches!(f.dtype.kind, 'f' | 'i' | 'u' | 'b') {
                            let v = a
                                .field_f64(&f.name)
                                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                            assert_eq!(v.len(), n);
                        }
                    }
                }
                (_, 'U' | 'S') => assert_eq!(a.to_strings().expect("strings").len(), n),
                (_, 'f' | 'i' | 'u' | 'b') => assert_eq!(a.to_f64_vec().expect("numeric").len(), n),
                (_, k) => panic!("{}: unexpected dtype kind {k}", path.display()),
            }
        }
        PyObj::List(items) | PyObj::Tuple(items) | PyObj::Set(items) => {
            items.iter().for_each(|o| walk(o, seen, path));
        }
        PyObj::Dict(items) => items.iter().for_each(|(k, v)| {
            walk(k, seen, path);
            walk(v, seen, path);
        }),
        PyObj::Instance(inst) => {
            match inst.class.path().as_str() {
                "sklearn.tree._tree.Tree" => check_tree(obj, path, seen),
                "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" => {
                    check_predictor(obj, path, seen)
                }
                _ => {}
            }
            inst.args.iter().for_each(|o| walk(o, seen, path));
            if let Some(s) = &inst.state {
                walk(s, seen, path);
            }
            inst.list_items.iter().for_each(|o| walk(o, seen, path));
            inst.dict_items.iter().for_each(|(k, v)| {
                walk(k, seen, path);
                walk(v, seen, path);
            });
        }
        _ => {}
    }
}

fn check_tree(tree: &Obj, path: &Path, seen: &mut Seen) {
    seen.trees += 1;
    let inst = tree.as_instance().expect("instance");
    let [n_features, n_classes, n_outputs] = inst.args.as_slice() else {
        panic!("{}: Tree args {:?}", path.display(), inst.args.len());
    };
    assert!(n_features.as_i64().is_some_and(|n| n > 0));
    let n_outputs = n_outputs.as_i64().expect("n_outputs") as usize;
    let classes = n_classes
        .as_array()
        .expect("n_classes")
        .to_i64_vec()
        .expect("n_classes ints");
    assert_eq!(classes.len(), n_outputs);
    let count = tree
        .attr("node_count")
        .and_then(|o| o.as_i64())
        .expect("node_count") as usize;
    let nodes = tree
        .attr("nodes")
        .and_then(|o| o.as_array())
        .expect("nodes");
    assert_eq!(nodes.shape, vec![count], "{}", path.display());
    let left = nodes.field_i64("left_child").expect("left_child");
    let right = nodes.field_i64("right_child").expect("right_child");
    let feature = nodes.field_i64("feature").expect("feature");
    let threshold = nodes.field_f64("threshold").expect("threshold");
    assert_eq!(
        (left.len(), right.len(), feature.len(), threshold.len()),
        (count, count, count, count)
    );
    assert!(left
        .iter()
        .all(|&c| c == -1 || (c > 0 && (c as usize) < count)));
    if nodes.dtype.itemsize == 64 {
        assert_eq!(
            nodes.field_u8("missing_go_to_left").expect("missing").len(),
            count
        );
    }
    let values = tree
        .attr("values")
        .and_then(|o| o.as_array())
        .expect("values");
    assert_eq!(values.shape.first(), Some(&count));
    assert_eq!(values.to_f64_vec().expect("values").len(), values.len());
}

fn check_predictor(pred: &Obj, path: &Path, seen: &mut Seen) {
    seen.predictors += 1;
    let nodes = pred
        .attr("nodes")
        .and_then(|o| o.as_array())
        .expect("nodes");
    let n = nodes.len();
    assert!(n > 0, "{}", path.display());
    assert_eq!(nodes.field_f64("value").expect("value").len(), n);
    assert_eq!(nodes.field_i64("left").expect("left").len(), n);
    assert_eq!(nodes.field_u8("is_leaf").expect("is_leaf").len(), n);
    assert_eq!(
        nodes
            .field_f64("num_threshold")
            .expect("num_threshold")
            .len(),
        n
    );
}

/// The last step of a pipeline, or the estimator itself.
fn final_estimator(root: &Obj) -> Obj {
    match root
        .attr("steps")
        .and_then(|s| s.as_list())
        .and_then(|s| s.last())
    {
        Some(step) => step
            .as_list()
            .and_then(|t| t.get(1))
            .cloned()
            .expect("step"),
        None => root.clone(),
    }
}

#[test]
fn every_corpus_pickle_reads() {
    for cases in corpus_pickles("every_corpus_pickle_reads") {
        every_pickle_reads(&cases);
    }
}

fn every_pickle_reads(cases: &[(PathBuf, String)]) {
    assert!(cases.len() >= 50, "only {} corpus pickles", cases.len());
    let mut read = 0;
    for (pkl, class) in cases {
        let root = load_pickle_file(pkl).unwrap_or_else(|e| panic!("{}: {e}", pkl.display()));
        assert_eq!(
            root.class_path().as_deref(),
            Some(class.as_str()),
            "{}",
            pkl.display()
        );
        assert!(
            root.attr("_sklearn_version")
                .and_then(|v| v.as_str())
                .is_some()
                || class.starts_with("lightgbm")
        );
        let mut seen = Seen::default();
        walk(&root, &mut seen, pkl);
        assert!(
            seen.arrays > 0 || class.starts_with("lightgbm"),
            "{}",
            pkl.display()
        );

        let est = final_estimator(&root);
        let est_class = est.class_path().expect("final estimator class");
        if let Some(coef) = est.attr("coef_").and_then(|c| c.as_array()) {
            let n_features = est
                .attr("n_features_in_")
                .and_then(|n| n.as_i64())
                .expect("n_features_in_");
            assert_eq!(
                coef.shape.last().copied(),
                Some(n_features as usize),
                "{}",
                pkl.display()
            );
            assert_eq!(coef.to_f64_vec().expect("coef").len(), coef.len());
            let intercept = est.attr("intercept_").expect("intercept_");
            assert!(
                intercept.as_f64().is_some()
                    || intercept.as_array().is_some_and(|a| a.to_f64_vec().is_ok())
            );
        }
        if est_class.contains("Forest") || est_class.contains("ExtraTrees") {
            let trees = est
                .attr("estimators_")
                .and_then(|e| e.as_list())
                .expect("estimators_");
            assert!(
                !trees.is_empty() && seen.trees >= trees.len(),
                "{}",
                pkl.display()
            );
        }
        if est_class.contains("DecisionTree") || est_class.contains("._gb.") {
            assert!(seen.trees > 0, "{}", pkl.display());
        }
        if est_class.contains("HistGradientBoosting") {
            assert!(seen.predictors > 0, "{}", pkl.display());
        }
        if est_class.contains("._gb.") {
            // (n_estimators, K) object array of DecisionTreeRegressor.
            let e = est
                .attr("estimators_")
                .and_then(|e| e.as_array())
                .expect("gb estimators_");
            assert_eq!(e.shape.len(), 2);
            let first = e.element_obj(0).and_then(|t| t.class_path());
            assert_eq!(
                first.as_deref(),
                Some("sklearn.tree._classes.DecisionTreeRegressor")
            );
        }
        if let Some(classes) = est.attr("classes_").and_then(|c| c.as_array()) {
            let ok = classes.to_strings().is_ok() || classes.to_f64_vec().is_ok();
            assert!(ok, "{}: classes_", pkl.display());
        }
        if let Some(tree) = est.attr("_tree").filter(|t| !t.is_none()) {
            // KNN: `newObj(KDTree)` is recorded as the KDTree itself.
            assert_eq!(
                tree.class_path().as_deref(),
                Some("sklearn.neighbors._kd_tree.KDTree")
            );
        }
        if class.starts_with("lightgbm") {
            let model = est
                .attr("_Booster")
                .and_then(|b| b.attr("_handle"))
                .and_then(|h| h.as_str())
                .expect("Booster _handle");
            assert!(model.starts_with("tree\n"), "{}", pkl.display());
        }
        read += 1;
    }
    assert_eq!(read, cases.len());
    eprintln!("read {read} of {} corpus pickles", cases.len());
}

#[test]
fn numpy_one_and_two_paths_both_decode() {
    for cases in corpus_pickles("numpy_one_and_two_paths_both_decode") {
        numpy_paths_both_present(cases);
    }
}

fn numpy_paths_both_present(cases: Vec<(PathBuf, String)>) {
    let mut roots = HashSet::new();
    for (pkl, _) in cases {
        let bytes = std::fs::read(&pkl).expect("read");
        for needle in [&b"numpy.core.multiarray"[..], b"numpy._core.multiarray"] {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                roots.insert(needle);
            }
        }
    }
    assert_eq!(roots.len(), 2, "corpus should hold both numpy module paths");
}
