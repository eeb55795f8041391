//! Model-level tests: real skl2onnx exports (`examples/corpus` and `examples/models`) loaded with
//! ironflow's operators registered and a symbolic batch, run on each case's `request.json`, and
//! compared with the `expected.json` onnxruntime/mlflow produced (floats within the file's
//! `rtol`/`atol`, labels exactly). A missing fixture directory fails the test.

use serde_json::Value;
use std::path::Path;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{bail, ensure, format_err};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/models");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/corpus");

fn field<'a>(v: &'a Value, key: &str) -> TractResult<&'a Value> {
    v.get(key)
        .ok_or_else(|| format_err!("missing {key:?} in {v}"))
}

fn floats(data: &[Value]) -> Vec<f64> {
    // JSON has no NaN: the fixtures write it as null
    data.iter()
        .map(|d| d.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// A v2 tensor (`name`, `shape`, `datatype`, flat `data`) as a tract tensor.
fn decode(v: &Value) -> TractResult<Tensor> {
    let shape: Vec<usize> = serde_json::from_value(field(v, "shape")?.clone())?;
    let data = field(v, "data")?
        .as_array()
        .ok_or_else(|| format_err!("data is not a list"))?;
    let ints = || -> TractResult<Vec<i64>> {
        data.iter()
            .map(|d| d.as_i64().ok_or_else(|| format_err!("{d} is not an int")))
            .collect()
    };
    let t = match field(v, "datatype")?.as_str() {
        Some("FP32") => tensor1(&floats(data).iter().map(|&x| x as f32).collect::<Vec<_>>()),
        Some("FP64") => tensor1(&floats(data)),
        Some("INT64") => tensor1(&ints()?),
        Some("INT32") => tensor1(&ints()?.iter().map(|&x| x as i32).collect::<Vec<_>>()),
        Some("BOOL") => tensor1(
            &data
                .iter()
                .map(|d| d.as_bool() == Some(true))
                .collect::<Vec<_>>(),
        ),
        Some("BYTES") => tensor1(
            &data
                .iter()
                .map(|d| d.as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>(),
        ),
        other => bail!("unknown datatype {other:?}"),
    };
    t.into_shape(&shape)
}

/// Largest absolute difference between `found` and `expected`, failing past `atol + rtol |e|`
/// or on any difference in non-float outputs. A 1-D output matches an `[N, 1]` expectation.
fn compare(
    name: &str,
    found: &Tensor,
    expected: &Tensor,
    rtol: f64,
    atol: f64,
) -> TractResult<f64> {
    ensure!(
        found.len() == expected.len() && found.shape()[0] == expected.shape()[0],
        "{name}: shape {:?}, expected {:?}",
        found.shape(),
        expected.shape()
    );
    if !expected.datum_type().is_float() {
        let found = found.cast_to_dt(expected.datum_type())?.into_owned();
        let found = found.into_shape(expected.shape())?;
        ensure!(found == *expected, "{name}: {found:?} != {expected:?}");
        return Ok(0.0);
    }
    let f = found.cast_to::<f64>()?;
    let e = expected.cast_to::<f64>()?;
    let mut max = 0f64;
    for (a, b) in f
        .try_as_plain_ram()?
        .as_slice::<f64>()?
        .iter()
        .zip(e.try_as_plain_ram()?.as_slice::<f64>()?)
    {
        if a.is_nan() && b.is_nan() {
            continue;
        }
        let diff = (a - b).abs();
        ensure!(diff <= atol + rtol * b.abs(), "{name}: {a} vs expected {b}");
        max = max.max(diff);
    }
    Ok(max)
}

/// The first `rows` rows of `t` (tract's `slice` refuses empty ranges).
fn head(t: &Tensor, rows: usize) -> TractResult<Tensor> {
    if rows > 0 {
        return t.slice(0, 0, rows);
    }
    let mut shape = t.shape().to_vec();
    shape[0] = 0;
    Tensor::zero_dt(t.datum_type(), &shape)
}

/// A loaded case: the optimized plan, the request's inputs and the expected outputs.
struct Case {
    plan: Arc<TypedRunnableModel>,
    inputs: TVec<Tensor>,
    /// Graph output names, in plan output order.
    names: Vec<String>,
    expected: Vec<(String, Tensor)>,
    rtol: f64,
    atol: f64,
}

impl Case {
    fn load(dir: &str) -> TractResult<Case> {
        let dir = Path::new(dir);
        ensure!(dir.is_dir(), "fixture {dir:?} does not exist");
        let read = |f: &str| -> TractResult<Value> {
            Ok(serde_json::from_str(&std::fs::read_to_string(
                dir.join(f),
            )?)?)
        };
        let (request, expected) = (read("request.json")?, read("expected.json")?);
        let mut onnx = tract_onnx::onnx();
        super::register(&mut onnx.op_register);
        let mut model = onnx.model_for_path(dir.join("model/model.onnx"))?;

        let requested = field(&request, "inputs")?
            .as_array()
            .cloned()
            .unwrap_or_default();
        let n = model.symbols.sym("N");
        let mut inputs = tvec![];
        for (ix, outlet) in model.input_outlets()?.to_vec().iter().enumerate() {
            let name = &model.node(outlet.node).name;
            let Some(v) = requested
                .iter()
                .find(|v| v.get("name").and_then(|n| n.as_str()) == Some(name))
            else {
                bail!("request has no input {name}");
            };
            let t = decode(v)?;
            let mut shape: TVec<TDim> = t.shape().iter().map(|d| d.to_dim()).collect();
            shape[0] = n.clone().into();
            model.set_input_fact(ix, TypedFact::dt_shape(t.datum_type(), shape).into())?;
            inputs.push(t);
        }
        let names = model
            .output_outlets()?
            .iter()
            .map(|o| {
                model
                    .outlet_label(*o)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            })
            .collect();
        let mut outputs = vec![];
        for e in field(&expected, "outputs")?
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let name = field(&e, "name")?.as_str().unwrap_or_default().to_string();
            outputs.push((name, decode(&e)?));
        }
        Ok(Case {
            plan: model.into_optimized()?.into_runnable()?,
            inputs,
            names,
            expected: outputs,
            rtol: field(&expected, "rtol")?.as_f64().unwrap_or(1e-4),
            atol: field(&expected, "atol")?.as_f64().unwrap_or(1e-5),
        })
    }

    /// Runs the first `rows` rows of the request and compares them with the expected rows,
    /// returning the largest absolute difference.
    fn check(&self, rows: usize) -> TractResult<f64> {
        let inputs = self
            .inputs
            .iter()
            .map(|t| Ok(head(t, rows)?.into_tvalue()))
            .collect::<TractResult<TVec<TValue>>>()?;
        let outputs = self.plan.run(inputs)?;
        let mut max = 0f64;
        for (name, expected) in &self.expected {
            let Some(ix) = self.names.iter().position(|n| n == name) else {
                bail!("model has no output {name} (outputs: {:?})", self.names);
            };
            let expected = head(expected, rows)?;
            max = max.max(compare(
                name,
                &outputs[ix],
                &expected,
                self.rtol,
                self.atol,
            )?);
        }
        Ok(max)
    }

    fn rows(&self) -> usize {
        self.inputs.first().map(|t| t.shape()[0]).unwrap_or(0)
    }
}

/// Runs a case on its whole request, then on one row and on none with the same plan, and
/// returns the largest absolute difference.
fn run_case(dir: &str) -> TractResult<f64> {
    let case = Case::load(dir)?;
    let diff = case.check(case.rows())?;
    case.check(1)?;
    case.check(0)?;
    Ok(diff)
}

#[test]
fn one_plan_serves_concurrent_requests() -> TractResult<()> {
    let case = Arc::new(Case::load(&format!("{EXAMPLES}/svc-rbf-onnx"))?);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let case = case.clone();
            std::thread::spawn(move || -> TractResult<()> {
                for i in 0..20 {
                    case.check((t + i) % (case.rows() + 1))?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| format_err!("a request thread panicked"))??;
    }
    Ok(())
}

macro_rules! fixture {
    ($test:ident, $root:expr, $case:literal) => {
        #[test]
        fn $test() -> TractResult<()> {
            let diff = run_case(&format!("{}/{}", $root, $case))?;
            println!("{}: max abs diff {diff:e}", $case);
            Ok(())
        }
    };
}

fixture!(corpus_scaler_linreg, CORPUS, "onnx-skl-scaler-linreg-old");
fixture!(
    corpus_logreg_nozipmap,
    CORPUS,
    "onnx-skl-logreg-nozipmap-old"
);
fixture!(corpus_logreg_zipmap, CORPUS, "onnx-skl-logreg-zipmap-new");
fixture!(iris_logreg, EXAMPLES, "iris-logreg-onnx");
fixture!(logreg_binary, EXAMPLES, "logreg-binary-onnx");
fixture!(linearsvc_multiclass, EXAMPLES, "linearsvc-multiclass-onnx");
fixture!(onehot_linreg, EXAMPLES, "onehot-linreg-onnx");
fixture!(imputer_binarizer, EXAMPLES, "imputer-binarizer-onnx");
fixture!(labelencoder, EXAMPLES, "labelencoder-onnx");
fixture!(labelencoder_opset4, EXAMPLES, "labelencoder-opset4-onnx");
fixture!(svc_rbf, EXAMPLES, "svc-rbf-onnx");
fixture!(svc_linear_binary, EXAMPLES, "svc-linear-binary-onnx");
fixture!(svr_poly, EXAMPLES, "svr-poly-onnx");
fixture!(svr_sigmoid, EXAMPLES, "svr-sigmoid-onnx");
fixture!(oneclass_svm, EXAMPLES, "oneclass-svm-onnx");
fixture!(normalizer_l1, EXAMPLES, "normalizer-l1-onnx");
fixture!(
    normalizer_max_l2_multitarget,
    EXAMPLES,
    "normalizer-max-l2-multitarget-onnx"
);
fixture!(
    array_feature_extractor,
    EXAMPLES,
    "array-feature-extractor-onnx"
);
fixture!(category_mapper, EXAMPLES, "category-mapper-onnx");

// ZipMap behind the tree ensemble operators (tree_ensemble.rs)
fixture!(corpus_rf_zipmap, CORPUS, "onnx-skl-rf-zipmap-new");
fixture!(
    rf_classifier_strlabels,
    EXAMPLES,
    "rf-classifier-strlabels-onnx"
);
