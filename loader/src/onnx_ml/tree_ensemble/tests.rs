//! Model-level tests: skl2onnx exports against the outputs onnxruntime gave for them
//! (`expected.json` beside each fixture), plus hand-written nodes for the rules fixtures do not
//! reach (binary cases, comparison modes, double and integer inputs, opset 5 sets, bad tables).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{bail, dims, format_err};

fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(case)
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
