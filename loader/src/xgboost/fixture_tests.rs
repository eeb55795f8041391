//! Tests over the generated GBDT fixtures (`examples/models/gbdt`, made by its `generate.py`):
//! every XGBoost objective and booster kind the corpus lacks must match `Booster.predict`, and
//! truncated or corrupted model files must give errors, never panics. [`run_fixture`] and
//! [`never_panics`] are shared with the LightGBM tests.

use std::path::PathBuf;

use serde_json::Value;

use crate::model::{NamedTensor, Predictor};
use crate::tensor::{ndarray, Tensor};

/// The fixtures directory.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/models/gbdt"
    ))
}

/// The case's rows as one `[N, k]` FP64 tensor (null = NaN).
pub(crate) fn rows(case: &Value) -> (NamedTensor, usize) {
    let x = case["x"].as_array().unwrap();
    let k = x[0].as_array().unwrap().len();
    let flat: Vec<f64> = x
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
        })
        .collect();
    let n = x.len();
    let t: Tensor = ndarray::Array2::from_shape_vec((n, k), flat)
        .unwrap()
        .into();
    (NamedTensor::new("input-0", t), n)
}

fn values(t: &Tensor) -> Vec<f64> {
    let view = t.as_plain_ram().unwrap();
    if let Ok(v) = view.as_slice::<f32>() {
        return v.iter().map(|&x| f64::from(x)).collect();
    }
    if let Ok(v) = view.as_slice::<f64>() {
        return v.to_vec();
    }
    if let Ok(v) = view.as_slice::<i64>() {
        return v.iter().map(|&x| x as f64).collect();
    }
    view.as_slice::<i32>()
        .unwrap()
        .iter()
        .map(|&x| f64::from(x))
        .collect()
}

/// Loads fixture `name` with `compile(model bytes, model_class)`, predicts its rows and checks
/// shape and values against the library's predictions.
pub(crate) fn run_fixture(name: &str, compile: impl Fn(&[u8], &str) -> Box<dyn Predictor>) {
    let dir = fixtures_dir().join(name);
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join(case["model"].as_str().unwrap())).unwrap();
    let predictor = compile(&bytes, case["model_class"].as_str().unwrap());
    let (input, _) = rows(&case);
    let out = predictor
        .predict(vec![input])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let shape: Vec<usize> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(out[0].tensor.shape(), shape.as_slice(), "{name}: shape");
    let want: Vec<f64> = case["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (rtol, atol) = (
        case["rtol"].as_f64().unwrap(),
        case["atol"].as_f64().unwrap(),
    );
    for (i, (g, w)) in values(&out[0].tensor).iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{name}: value {i}: got {g}, want {w}"
        );
    }
}

/// Every prefix of `bytes` and every single-bit flip (at `stride`-spaced bytes; prefixes too
/// past the first 512 bytes) must load or fail cleanly, and whatever loads must predict `input`
/// without panicking.
pub(crate) fn never_panics(
    bytes: &[u8],
    stride: usize,
    input: &NamedTensor,
    load: impl Fn(&[u8]) -> Option<Box<dyn Predictor>>,
) {
    let ends = (0..bytes.len().min(512)).chain((512..bytes.len()).step_by(stride.max(1)));
    for end in ends {
        if let Some(p) = load(&bytes[..end]) {
            let _ = p.predict(vec![input.clone()]);
        }
    }
    let mut copy = bytes.to_vec();
    for at in (0..bytes.len()).step_by(stride.max(1)) {
        for bit in 0..8 {
            copy[at] ^= 1 << bit;
            if let Some(p) = load(&copy) {
                let _ = p.predict(vec![input.clone()]);
            }
            copy[at] ^= 1 << bit;
        }
    }
}

fn xgb(bytes: &[u8], class: &str) -> Box<dyn Predictor> {
    Box::new(super::compile(bytes, Some(class), None).unwrap())
}

macro_rules! fixtures {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            run_fixture($name, xgb);
        }
    )*};
}

fixtures! {
    xgb_tiny_ubj => "xgb-tiny-ubj",
    xgb_tiny_json => "xgb-tiny-json",
    xgb_poisson => "xgb-poisson",
    xgb_gamma => "xgb-gamma",
    xgb_tweedie => "xgb-tweedie",
    xgb_logitraw => "xgb-logitraw",
    xgb_logistic_nan => "xgb-logistic-nan",
    xgb_hinge => "xgb-hinge",
    xgb_softmax => "xgb-softmax",
    xgb_softprob => "xgb-softprob",
    xgb_absoluteerror => "xgb-absoluteerror",
    xgb_dart => "xgb-dart",
    xgb_forest => "xgb-forest",
    xgb_categorical => "xgb-categorical",
}

fn load_any(bytes: &[u8]) -> Option<Box<dyn Predictor>> {
    super::compile(bytes, Some("xgboost.core.Booster"), None)
        .ok()
        .map(|p| Box::new(p) as Box<dyn Predictor>)
}

#[test]
fn corrupted_ubjson_never_panics() {
    let dir = fixtures_dir().join("xgb-tiny-ubj");
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("model.ubj")).unwrap();
    never_panics(&bytes, 1, &rows(&case).0, load_any);
}

#[test]
fn corrupted_json_never_panics() {
    let dir = fixtures_dir().join("xgb-tiny-json");
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("model.json")).unwrap();
    never_panics(&bytes, 3, &rows(&case).0, load_any);
}

#[test]
fn corrupted_legacy_binary_never_panics() {
    let path = super::corpus_tests::corpus_dir().join("xgb-regressor-old/model/model.xgb");
    let bytes = std::fs::read(path).unwrap();
    let x: Tensor = ndarray::Array2::from_shape_vec(
        (2, 5),
        vec![0.5, -1.0, f64::NAN, 2.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    )
    .unwrap()
    .into();
    never_panics(&bytes, 97, &NamedTensor::new("input-0", x), load_any);
}

#[test]
fn truncated_files_name_the_problem() {
    let dir = fixtures_dir().join("xgb-tiny-ubj");
    let bytes = std::fs::read(dir.join("model.ubj")).unwrap();
    let err = super::compile(&bytes[..bytes.len() / 2], None, None).unwrap_err();
    assert!(err.to_string().contains("UBJSON"), "{err}");
    let legacy =
        std::fs::read(super::corpus_tests::corpus_dir().join("xgb-regressor-old/model/model.xgb"))
            .unwrap();
    let err = super::compile(&legacy[..1000], None, None).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn truncated_legacy_gblinear_names_the_problem() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/kserve/models/xgboost-gblinear-softprob-legacy-bst/model.bst");
    let bytes = std::fs::read(path).unwrap();
    assert!(super::compile(&bytes, None, None).is_ok());
    // Every prefix is an answer, never a panic; one ending inside the weights names them.
    for n in 0..bytes.len() {
        let _ = super::compile(&bytes[..n], None, None);
    }
    let err = super::compile(&bytes[..400], None, None).unwrap_err();
    assert!(err.to_string().contains("gblinear weights"), "{err}");
}

/// Prints ns per tree per row for the corpus XGBoost and LightGBM models at several batch
/// sizes (run with `cargo test --release -- --ignored --nocapture throughput`).
#[test]
#[ignore]
fn throughput() {
    use std::time::Instant;
    let corpus = super::corpus_tests::corpus_dir();
    let xgb_bytes =
        std::fs::read(corpus.join("xgb-classifier-binary-new/model/model.ubj")).unwrap();
    let xgb = super::compile(&xgb_bytes, Some("xgboost.core.Booster"), None).unwrap();
    let lgb_bytes =
        std::fs::read(corpus.join("lgb-booster-regressor-old/model/model.lgb")).unwrap();
    let lgb = crate::lightgbm::compile_file(&lgb_bytes, None).unwrap();
    let models: [(&str, &dyn Predictor, usize, usize); 2] = [
        ("xgb binary (ubj)", &xgb, xgb.n_trees(), 30),
        ("lgb regression", &lgb, lgb.n_trees(), 10),
    ];
    for (name, model, trees, k) in models {
        for batch in [1usize, 64, 1024, 16384] {
            let x: Vec<f64> = (0..batch * k)
                .map(|i| ((i * 7919) % 1000) as f64 / 10.0 - 50.0)
                .collect();
            let t: Tensor = ndarray::Array2::from_shape_vec((batch, k), x)
                .unwrap()
                .into();
            let reps = (200_000 / batch).max(3);
            let start = Instant::now();
            for _ in 0..reps {
                let _ = model
                    .predict(vec![NamedTensor::new("input-0", t.clone())])
                    .unwrap();
            }
            let ns = start.elapsed().as_nanos() as f64 / (reps * batch * trees) as f64;
            println!("{name}: {trees} trees, batch {batch}: {ns:.1} ns/tree/row");
        }
    }
}
