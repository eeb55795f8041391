//! Model-level tests: skl2onnx exports against the outputs onnxruntime gave for them
//! (`expected.json` beside each fixture), plus hand-written nodes for the rules fixtures do not
//! reach (binary cases, comparison modes, double and integer inputs, opset 5 sets, bad tables).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{bail, dims, format_err};

fn corpus(case: &str) -> PathBuf {
    crate::test_support::corpus_dir().join(case)
}

fn example(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(case)
}

fn read_json(path: &Path) -> TractResult<Json> {
    let text = std::fs::read_to_string(path).map_err(|e| format_err!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn numbers(v: &Json) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

/// A request input as a tensor of its v2 datatype.
fn request_tensor(input: &Json) -> TractResult<Tensor> {
    let shape: Vec<usize> = numbers(&input["shape"])
        .iter()
        .map(|&d| d as usize)
        .collect();
    let data = numbers(&input["data"]);
    Ok(match input["datatype"].as_str() {
        Some("FP32") => {
            Tensor::from_shape(&shape, &data.iter().map(|&v| v as f32).collect::<Vec<_>>())?
        }
        Some("FP64") => Tensor::from_shape(&shape, &data)?,
        Some("INT64") => {
            Tensor::from_shape(&shape, &data.iter().map(|&v| v as i64).collect::<Vec<_>>())?
        }
        other => bail!("unsupported request datatype {other:?}"),
    })
}

/// Loads `dir/model/model.onnx` with a symbolic batch, runs `request.json` and compares the
/// graph tensors named in `outputs` (`(tensor, expected output)`) with `expected.json`.
/// Returns the largest absolute difference on float outputs.
fn check_fixture(dir: &Path, outputs: &[(&str, &str)]) -> TractResult<f64> {
    let request = read_json(&dir.join("request.json"))?;
    let expected = read_json(&dir.join("expected.json"))?;
    let (rtol, atol) = (
        expected["rtol"].as_f64().unwrap_or(1e-4),
        expected["atol"].as_f64().unwrap_or(1e-5),
    );
    let input = request_tensor(&request["inputs"][0])?;

    let mut onnx = tract_onnx::onnx();
    crate::onnx_ml::register(&mut onnx.op_register);
    let mut model = onnx.model_for_path(dir.join("model/model.onnx"))?;
    let n = model.symbols.sym("N");
    model.set_input_fact(
        0,
        input.datum_type().fact(dims!(n, input.shape()[1])).into(),
    )?;
    let outlets = outputs
        .iter()
        .map(|(t, _)| {
            model
                .find_outlet_label(t)
                .ok_or_else(|| format_err!("no tensor {t} in the graph"))
        })
        .collect::<TractResult<Vec<_>>>()?;
    model.select_output_outlets(&outlets)?;
    let plan = model.into_optimized()?.into_runnable()?;
    let found = plan.run(tvec!(input.clone().into_tvalue()))?;

    // The same plan serves an empty batch.
    let mut empty_shape = input.shape().to_vec();
    empty_shape[0] = 0;
    for out in plan.run(tvec!(
        Tensor::zero_dt(input.datum_type(), &empty_shape)?.into_tvalue()
    ))? {
        assert_eq!(out.shape()[0], 0, "{}: empty batch", dir.display());
    }

    let mut max_diff = 0f64;
    for ((_, name), got) in outputs.iter().zip(found) {
        let Some(want) = expected["outputs"]
            .as_array()
            .and_then(|o| o.iter().find(|o| o["name"] == *name))
        else {
            bail!("{}: no expected output {name}", dir.display());
        };
        let count = numbers(&want["shape"]).iter().product::<f64>() as usize;
        assert_eq!(
            got.len(),
            count,
            "{}: {name} has shape {:?}",
            dir.display(),
            got.shape()
        );
        match want["datatype"].as_str() {
            Some("BYTES") => {
                let got = got.to_plain_array_view::<String>()?;
                let want: Vec<&str> = want["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                assert_eq!(
                    got.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    want,
                    "{}: {name}",
                    dir.display()
                );
            }
            Some("INT64") => {
                let got = got
                    .cast_to::<i64>()?
                    .to_plain_array_view::<i64>()?
                    .iter()
                    .copied()
                    .collect::<Vec<_>>();
                let want: Vec<i64> = numbers(&want["data"]).iter().map(|&v| v as i64).collect();
                assert_eq!(got, want, "{}: {name}", dir.display());
            }
            _ => {
                let got = got.cast_to::<f64>()?;
                let got = got.to_plain_array_view::<f64>()?;
                for (i, (g, w)) in got.iter().zip(numbers(&want["data"])).enumerate() {
                    let diff = (g - w).abs();
                    max_diff = max_diff.max(diff);
                    assert!(
                        diff <= atol + rtol * w.abs(),
                        "{}: {name}[{i}] = {g}, expected {w}",
                        dir.display()
                    );
                }
            }
        }
    }
    Ok(max_diff)
}

fn report(case: &str, diff: TractResult<f64>) {
    match diff {
        Ok(d) => eprintln!("{case}: max abs diff {d:e}"),
        Err(e) => panic!("{case}: {e:?}"),
    }
}

#[test]
fn corpus_rf_classifier_without_zipmap() {
    let case = "onnx-skl-rf-nozipmap-new";
    report(
        case,
        check_fixture(
            &corpus(case),
            &[("label", "label"), ("probabilities", "probabilities")],
        ),
    );
}

#[test]
fn corpus_rf_classifier_binary_before_zipmap() {
    // The tree node's own outputs: ZipMap (another operator) only reshapes the probabilities.
    let case = "onnx-skl-rf-zipmap-new";
    let outputs = [
        ("label", "output_label"),
        ("probabilities", "output_probability"),
    ];
    report(case, check_fixture(&corpus(case), &outputs));
}

macro_rules! example_fixture {
    ($test:ident, $case:literal, [$(($tensor:literal, $name:literal)),*]) => {
        #[test]
        fn $test() {
            report($case, check_fixture(&example($case), &[$(($tensor, $name)),*]));
        }
    };
}

example_fixture!(
    example_rf_regressor,
    "rf-regressor-onnx",
    [("variable", "variable")]
);
example_fixture!(
    example_rf_regressor_double,
    "rf-regressor-double-onnx",
    [("variable", "variable")]
);
example_fixture!(
    example_gb_regressor,
    "gb-regressor-onnx",
    [("variable", "variable")]
);
example_fixture!(
    example_hgb_regressor,
    "hgb-regressor-onnx",
    [("variable", "variable")]
);
example_fixture!(
    example_gb_classifier_binary,
    "gb-classifier-binary-onnx",
    [("label", "label"), ("probabilities", "probabilities")]
);
example_fixture!(
    example_gb_classifier_multiclass,
    "gb-classifier-multiclass-onnx",
    [("label", "label"), ("probabilities", "probabilities")]
);
example_fixture!(
    example_extratrees_classifier,
    "extratrees-classifier-onnx",
    [("label", "label"), ("probabilities", "probabilities")]
);
example_fixture!(
    example_rf_classifier_string_labels,
    "rf-classifier-strlabels-onnx",
    [
        ("label", "output_label"),
        ("probabilities", "output_probability")
    ]
);
example_fixture!(
    example_tree_ensemble_variants,
    "tree-ensemble-variants-onnx",
    [
        ("reg_min", "reg_min"),
        ("reg_max", "reg_max"),
        ("reg_avg_2targets", "reg_avg_2targets"),
        ("reg_probit", "reg_probit"),
        ("reg_softmax_zero", "reg_softmax_zero"),
        ("reg_logistic", "reg_logistic"),
        ("clf_label", "clf_label"),
        ("clf_scores", "clf_scores"),
        ("bin_label", "bin_label"),
        ("bin_scores", "bin_scores")
    ]
);
example_fixture!(
    example_tree_ensemble_opset5,
    "tree-ensemble-opset5-onnx",
    [("variable", "variable")]
);

// ---- hand-written nodes -------------------------------------------------------------------

use super::super::test_model::*;
use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;

/// The opset 1-3 `nodes_*` attributes of one tree: `x0 <cmp> t` splitting into leaves 1 and 2.
fn stump_nodes(mode: &str, t: f32, missing_tracks_true: i64) -> Vec<pb::AttributeProto> {
    vec![
        ints("nodes_treeids", &[0, 0, 0]),
        ints("nodes_nodeids", &[0, 1, 2]),
        ints("nodes_featureids", &[0, 0, 0]),
        strings("nodes_modes", &[mode, "LEAF", "LEAF"]),
        floats("nodes_values", &[t, 0.0, 0.0]),
        ints("nodes_truenodeids", &[1, 0, 0]),
        ints("nodes_falsenodeids", &[2, 0, 0]),
        ints(
            "nodes_missing_value_tracks_true",
            &[missing_tracks_true, 0, 0],
        ),
    ]
}

/// A one-target regressor over [`stump_nodes`] with leaves 1.0 (true) and 2.0 (false).
fn stump_regressor(mode: &str, t: f32, mtt: i64) -> NodeModel {
    let mut attrs = stump_nodes(mode, t, mtt);
    attrs.extend([
        int("n_targets", 1),
        ints("target_treeids", &[0, 0]),
        ints("target_nodeids", &[1, 2]),
        ints("target_ids", &[0, 0]),
        floats("target_weights", &[1.0, 2.0]),
    ]);
    NodeModel::new("TreeEnsembleRegressor", attrs)
}

fn column(values: &[f32]) -> Tensor {
    Tensor::from_shape(&[values.len(), 1], values).expect("shape matches")
}

fn values(t: &Tensor) -> Vec<f32> {
    t.cast_to::<f32>()
        .expect("numeric")
        .to_plain_array_view::<f32>()
        .expect("f32")
        .iter()
        .copied()
        .collect()
}

#[test]
fn every_mode_and_missing_value_tracking() -> TractResult<()> {
    let x = [0.0f32, 0.5, 1.0, f32::NAN];
    let cases: [(&str, [f32; 4]); 6] = [
        ("BRANCH_LEQ", [1.0, 1.0, 2.0, 2.0]),
        ("BRANCH_LT", [1.0, 2.0, 2.0, 2.0]),
        ("BRANCH_GTE", [2.0, 1.0, 1.0, 2.0]),
        ("BRANCH_GT", [2.0, 2.0, 1.0, 2.0]),
        ("BRANCH_EQ", [2.0, 1.0, 2.0, 2.0]),
        ("BRANCH_NEQ", [1.0, 2.0, 1.0, 1.0]),
    ];
    for (mode, want) in cases {
        let y = stump_regressor(mode, 0.5, 0).run(vec![column(&x)])?;
        assert_eq!(values(&y[0]), want, "{mode}");
        // Tracking missing values sends NaN to the true leaf.
        let y = stump_regressor(mode, 0.5, 1).run(vec![column(&x)])?;
        assert_eq!(
            values(&y[0])[3],
            1.0,
            "{mode} with nodes_missing_value_tracks_true"
        );
    }
    Ok(())
}

#[test]
fn double_inputs_compare_in_double_and_integers_in_float() -> TractResult<()> {
    // 0.1f32 is 0.10000000149...: a double just above it is > t, though it rounds to t in f32.
    let t = 0.1f32;
    let above = f64::from(t) + 1e-10;
    let y =
        stump_regressor("BRANCH_LEQ", t, 0).run(vec![Tensor::from_shape(&[1, 1], &[above])?])?;
    assert_eq!(values(&y[0]), [2.0]);
    let y = stump_regressor("BRANCH_LEQ", t, 0)
        .run(vec![Tensor::from_shape(&[1, 1], &[above as f32])?])?;
    assert_eq!(values(&y[0]), [1.0]);
    // int64 16777217 becomes 16777216.0 in f32, which is <= 16777216.
    let y = stump_regressor("BRANCH_LEQ", 16_777_216.0, 0).run(vec![Tensor::from_shape(
        &[2, 1],
        &[16_777_217i64, 16_777_218],
    )?])?;
    assert_eq!(values(&y[0]), [1.0, 2.0]);
    Ok(())
}

#[test]
fn a_rank_one_input_is_one_row() -> TractResult<()> {
    let y = stump_regressor("BRANCH_LEQ", 0.5, 0).run(vec![tensor1(&[0.7f32, 0.0])])?;
    assert_eq!(y[0].shape(), &[1, 1]);
    assert_eq!(values(&y[0]), [2.0]);
    Ok(())
}

/// A two-class classifier over [`stump_nodes`] whose leaves give `weights` (per leaf, per class
/// id in `class_ids`).
fn stump_classifier(class_ids: &[i64], weights: &[f32], post: &str, labels: &[i64]) -> NodeModel {
    let per_leaf = class_ids.len();
    let mut attrs = stump_nodes("BRANCH_LEQ", 0.5, 0);
    let nodeids: Vec<i64> = (0..2 * per_leaf)
        .map(|i| 1 + (i / per_leaf) as i64)
        .collect();
    let ids: Vec<i64> = (0..2).flat_map(|_| class_ids.iter().copied()).collect();
    attrs.extend([
        ints("class_treeids", &vec![0; 2 * per_leaf]),
        ints("class_nodeids", &nodeids),
        ints("class_ids", &ids),
        floats("class_weights", weights),
        ints("classlabels_int64s", labels),
        string("post_transform", post),
    ]);
    NodeModel::new("TreeEnsembleClassifier", attrs).outputs(2)
}

fn labels_of(t: &Tensor) -> Vec<i64> {
    t.to_plain_array_view::<i64>()
        .expect("int64 labels")
        .iter()
        .copied()
        .collect()
}

#[test]
fn binary_case_with_positive_weights_writes_complements_and_ignores_logistic() -> TractResult<()> {
    // One class id: onnxruntime's binary case. Scores are [1 - s, s], LOGISTIC is not applied.
    let model = stump_classifier(&[0], &[0.8, 0.3], "LOGISTIC", &[4, 7]);
    let y = model.run(vec![column(&[0.2, 0.9])])?;
    assert_eq!(labels_of(&y[0]), [7, 4]);
    assert_close(&y[1], &tensor2(&[[0.2f32, 0.8], [0.7, 0.3]]), 1e-6);
    Ok(())
}

#[test]
fn binary_case_with_negative_weights_is_a_margin() -> TractResult<()> {
    // Mixed signs: label by s > 0, scores [-s, s] or their logistic.
    let y =
        stump_classifier(&[0], &[-1.0, 2.0], "LOGISTIC", &[0, 1]).run(vec![column(&[0.2, 0.9])])?;
    assert_eq!(labels_of(&y[0]), [0, 1]);
    let l = |v: f32| 1.0 / (1.0 + (-v).exp());
    assert_close(
        &y[1],
        &tensor2(&[[l(1.0), l(-1.0)], [l(-2.0), l(2.0)]]),
        1e-6,
    );
    let y = stump_classifier(&[0], &[-1.0, 2.0], "NONE", &[0, 1]).run(vec![column(&[0.2, 0.9])])?;
    assert_close(&y[1], &tensor2(&[[1.0f32, -1.0], [-2.0, 2.0]]), 0.0);
    Ok(())
}

#[test]
fn two_scored_classes_label_by_the_second_score_sign() -> TractResult<()> {
    // Both classes scored, so not onnxruntime's binary case: its label is 1 when the second
    // class's score is positive, else 0 (literally, whatever classlabels_int64s says).
    let y = stump_classifier(&[0, 1], &[0.9, 0.1, 0.0, 1.0], "NONE", &[0, 1])
        .run(vec![column(&[0.2, 0.9])])?;
    assert_eq!(labels_of(&y[0]), [1, 1]);
    assert_close(&y[1], &tensor2(&[[0.9f32, 0.1], [0.0, 1.0]]), 0.0);
    Ok(())
}

#[test]
fn multiclass_ties_go_to_the_first_class() -> TractResult<()> {
    let mut attrs = stump_nodes("BRANCH_LEQ", 0.5, 0);
    attrs.extend([
        ints("class_treeids", &[0, 0, 0, 0, 0, 0]),
        ints("class_nodeids", &[1, 1, 1, 2, 2, 2]),
        ints("class_ids", &[0, 1, 2, 0, 1, 2]),
        floats("class_weights", &[0.2, 0.4, 0.4, 0.5, 0.5, 0.0]),
        ints("classlabels_int64s", &[10, 20, 30]),
    ]);
    let y = NodeModel::new("TreeEnsembleClassifier", attrs)
        .outputs(2)
        .run(vec![column(&[0.0, 1.0])])?;
    assert_eq!(labels_of(&y[0]), [20, 10]);
    Ok(())
}

fn tensor_attr(name: &str, data_type: DataType, raw: Vec<u8>, len: usize) -> pb::AttributeProto {
    let t = pb::TensorProto {
        dims: vec![len as i64],
        data_type: data_type as i32,
        raw_data: raw,
        ..Default::default()
    };
    tensor(name, t)
}

fn f32_attr(name: &str, v: &[f32]) -> pb::AttributeProto {
    tensor_attr(
        name,
        DataType::Float,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        v.len(),
    )
}

/// Opset 5: tree 0 is `x0 in {1, 3}` (NaN tracked to true) then `x1 < 0`; tree 1 a single leaf.
fn opset5_model(
    splits: pb::AttributeProto,
    weights: pb::AttributeProto,
    members: pb::AttributeProto,
) -> NodeModel {
    let attrs = vec![
        ints("nodes_featureids", &[0, 1, 0]),
        splits,
        tensor_attr("nodes_modes", DataType::Uint8, vec![6, 1, 0], 3),
        ints("nodes_truenodeids", &[0, 1, 2]),
        ints("nodes_trueleafs", &[1, 1, 1]),
        ints("nodes_falsenodeids", &[1, 2, 2]),
        ints("nodes_falseleafs", &[0, 1, 1]),
        ints("nodes_missing_value_tracks_true", &[1, 0, 0]),
        ints("tree_roots", &[0, 2]),
        members,
        ints("leaf_targetids", &[0, 0, 0]),
        weights,
        int("n_targets", 1),
    ];
    NodeModel::new("TreeEnsemble", attrs).ml_opset(5)
}

#[test]
fn opset5_membership_and_single_leaf_trees() -> TractResult<()> {
    let model = opset5_model(
        f32_attr("nodes_splits", &[0.0, 0.0, 0.0]),
        f32_attr("leaf_weights", &[1.0, 10.0, 100.0]),
        f32_attr("membership_values", &[1.0, 3.0, f32::NAN]),
    );
    // x0 in {1, 3} or NaN -> leaf 0 (1), else x1 < 0 -> leaf 1 (10) else leaf 2 (100); tree 1 adds 100.
    let x = tensor2(&[
        [1.0f32, 5.0],
        [3.0, -1.0],
        [f32::NAN, 5.0],
        [2.0, -1.0],
        [2.0, 0.0],
    ]);
    let y = model.run(vec![x])?;
    assert_eq!(y[0].datum_type(), f32::datum_type());
    assert_eq!(values(&y[0]), [101.0, 101.0, 101.0, 110.0, 200.0]);
    Ok(())
}

#[test]
fn opset5_double_attributes_give_double_outputs() -> TractResult<()> {
    let f64_attr = |name: &str, v: &[f64]| tensor(name, tensor_f64(v));
    let model = opset5_model(
        f64_attr("nodes_splits", &[0.0, 0.1, 0.0]),
        f64_attr("leaf_weights", &[0.25, 0.5, 1e-10]),
        f64_attr("membership_values", &[1.0, f64::NAN]),
    );
    let x = tensor2(&[[2.0f64, 0.1 - 1e-12], [2.0, 0.1]]);
    let y = model.run(vec![x])?;
    assert_eq!(y[0].datum_type(), f64::datum_type());
    let got: Vec<f64> = y[0].to_plain_array_view::<f64>()?.iter().copied().collect();
    assert_eq!(got, [0.5 + 1e-10, 2e-10]);
    Ok(())
}

/// Builds `attrs` into a regressor and expects the load to fail with `needle` in the message.
fn expect_load_error(attrs: Vec<pb::AttributeProto>, needle: &str) {
    let mut all = attrs;
    all.push(int("n_targets", 1));
    let result = NodeModel::new("TreeEnsembleRegressor", all).run(vec![column(&[0.0])]);
    match result {
        Ok(_) => panic!("expected an error mentioning {needle:?}"),
        Err(e) => {
            let msg = format!("{e:?}");
            assert!(msg.contains(needle), "{needle:?} not in {msg}");
        }
    }
}

fn leaf_weights(nodeids: &[i64]) -> Vec<pb::AttributeProto> {
    vec![
        ints("target_treeids", &vec![0; nodeids.len()]),
        ints("target_nodeids", nodeids),
        ints("target_ids", &vec![0; nodeids.len()]),
        floats("target_weights", &vec![1.0; nodeids.len()]),
    ]
}

#[test]
fn malformed_node_tables_are_load_errors() {
    let with = |mut nodes: Vec<pb::AttributeProto>, leaves: &[i64]| {
        nodes.extend(leaf_weights(leaves));
        nodes
    };
    // A child that does not exist.
    let mut nodes = stump_nodes("BRANCH_LEQ", 0.5, 0);
    nodes[6] = ints("nodes_falsenodeids", &[7, 0, 0]);
    expect_load_error(with(nodes, &[1, 2]), "false child 7");
    // A loop: node 2 is a branch back to the root.
    let mut nodes = stump_nodes("BRANCH_LEQ", 0.5, 0);
    nodes[3] = strings("nodes_modes", &["BRANCH_LEQ", "LEAF", "BRANCH_LEQ"]);
    nodes[5] = ints("nodes_truenodeids", &[1, 0, 0]);
    nodes[6] = ints("nodes_falsenodeids", &[2, 0, 1]);
    expect_load_error(with(nodes, &[1]), "loops back");
    // A leaf without weight, an unknown mode, mismatched lengths, a duplicate node.
    expect_load_error(
        with(stump_nodes("BRANCH_LEQ", 0.5, 0), &[1]),
        "has no weight",
    );
    expect_load_error(
        with(stump_nodes("BRANCH_MAYBE", 0.5, 0), &[1, 2]),
        "unknown mode",
    );
    let mut nodes = stump_nodes("BRANCH_LEQ", 0.5, 0);
    nodes[4] = floats("nodes_values", &[0.5]);
    expect_load_error(with(nodes, &[1, 2]), "nodes_values has 1 entries");
    let mut nodes = stump_nodes("BRANCH_LEQ", 0.5, 0);
    nodes[1] = ints("nodes_nodeids", &[0, 1, 1]);
    expect_load_error(with(nodes, &[1, 2]), "defined twice");
    // Weights on a node that does not exist; a negative feature.
    expect_load_error(
        with(stump_nodes("BRANCH_LEQ", 0.5, 0), &[1, 2, 9]),
        "does not exist",
    );
    let mut nodes = stump_nodes("BRANCH_LEQ", 0.5, 0);
    nodes[2] = ints("nodes_featureids", &[-1, 0, 0]);
    expect_load_error(with(nodes, &[1, 2]), "negative feature");
}

#[test]
fn inputs_with_too_few_features_are_errors() {
    let mut attrs = stump_nodes("BRANCH_LEQ", 0.5, 0);
    attrs[2] = ints("nodes_featureids", &[3, 0, 0]);
    attrs.extend(leaf_weights(&[1, 2]));
    attrs.push(int("n_targets", 1));
    let result =
        NodeModel::new("TreeEnsembleRegressor", attrs).run(vec![tensor2(&[[0.0f32, 1.0]])]);
    assert!(result.is_err());
}

/// Rough speed of whole plan runs on the corpus random forests:
/// `cargo test --release -p ironflow-loader corpus_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn corpus_speed() -> TractResult<()> {
    for case in ["onnx-skl-rf-nozipmap-new", "onnx-skl-rf-zipmap-new"] {
        let dir = corpus(case);
        let request = read_json(&dir.join("request.json"))?;
        let input = request_tensor(&request["inputs"][0])?;
        let (rows, cols) = (input.shape()[0], input.shape()[1]);
        let data = input
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect::<Vec<_>>();
        let mut onnx = tract_onnx::onnx();
        crate::onnx_ml::register(&mut onnx.op_register);
        let mut model = onnx.model_for_path(dir.join("model/model.onnx"))?;
        let n = model.symbols.sym("N");
        model.set_input_fact(0, f32::fact(dims!(n, cols)).into())?;
        let outlets = ["label", "probabilities"].map(|t| model.find_outlet_label(t));
        model.select_output_outlets(&outlets.into_iter().flatten().collect::<Vec<_>>())?;
        let plan = model.into_optimized()?.into_runnable()?;
        let proto = tract_onnx::onnx().proto_model_for_path(dir.join("model/model.onnx"))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| format_err!("no graph"))?;
        let tree_ids = graph.node[0]
            .attribute
            .iter()
            .find(|a| a.name == "nodes_treeids")
            .map(|a| a.ints.clone());
        let mut tree_ids = tree_ids.unwrap_or_default();
        tree_ids.dedup();
        let n_trees = tree_ids.len();
        for batch in [1usize, 16, 64, 256, 4096] {
            let x: Vec<f32> = (0..batch * cols).map(|i| data[i % (rows * cols)]).collect();
            let x = Tensor::from_shape(&[batch, cols], &x)?;
            let reps = (1_000_000 / (batch * n_trees)).max(5);
            let start = std::time::Instant::now();
            for _ in 0..reps {
                plan.run(tvec!(x.clone().into_tvalue()))?;
            }
            let per_run = start.elapsed().as_nanos() as f64 / reps as f64;
            eprintln!(
                "{case}: {n_trees} trees, batch {batch}: {:.1} µs/run, {:.1} ns/tree/row",
                per_run / 1e3,
                per_run / (batch * n_trees) as f64
            );
        }
    }
    Ok(())
}
