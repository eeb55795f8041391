//! The native dense-chain evaluator against tract on real models: every ONNX model of the
//! repository's corpus (and the shared one when present), the repository's examples and the issue-5 baseline MLP. Graphs that are dense chains
//! must run natively and give tract's outputs (names, types, shapes, values); the others must stay
//! on tract. The AVX2 build must give bit-identical results to the portable one.

use std::path::{Path, PathBuf};

use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::prelude::*;

use super::dense::{matcher, Isa};
use super::{load_engine, OnnxFlavor};
use crate::mlmodel::MlModel;
use crate::model::{LoadedModel, NamedTensor};
use crate::test_support::{corpus_roots, decode_request, read_json};

/// Models that are MLPs and must run natively (when present on this machine).
const DENSE: [&str; 3] = ["onnx-mlp-new", "mlp-external-data-onnx", "onnx_mlp"];

/// `(label, model dir, request.json)` for every ONNX model found.
fn onnx_models(test: &str) -> Vec<(String, PathBuf, PathBuf)> {
    let mut found = Vec::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models");
    let mut roots = corpus_roots(test);
    roots.push(examples);
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            let model = dir.join("model");
            let is_onnx = std::fs::read_to_string(model.join("MLmodel"))
                .is_ok_and(|m| m.contains("\n  onnx:"));
            if is_onnx && dir.join("request.json").is_file() {
                let label = entry.file_name().to_string_lossy().into_owned();
                found.push((label, model, dir.join("request.json")));
            }
        }
    }
    let baseline = Path::new("/work/baseline-models");
    if baseline.join("onnx_mlp/MLmodel").is_file() {
        found.push((
            "onnx_mlp".into(),
            baseline.join("onnx_mlp"),
            baseline.join("requests/onnx_mlp-100.json"),
        ));
    }
    found.sort();
    found
}

fn load(dir: &Path, native: bool) -> (LoadedModel, bool) {
    let mlmodel = MlModel::read_dir(dir).expect("MLmodel");
    let signature = mlmodel.signature().expect("signature");
    let flavor: OnnxFlavor = mlmodel
        .flavor("onnx")
        .expect("flavor block")
        .expect("an onnx flavor");
    load_engine(dir, &flavor, mlmodel, signature, native).expect("loads")
}

/// The request's `[r, k]` float input cycled to `rows` rows, each pass scaled a little
/// differently so the rows are not all repeats.
fn tiled(input: &NamedTensor, rows: usize) -> NamedTensor {
    let base = input
        .tensor
        .cast_to::<f32>()
        .expect("float input")
        .into_owned();
    let shape = base.shape().to_vec();
    let [r, k] = shape[..] else {
        panic!("input is not 2-D");
    };
    let values = base
        .try_as_plain_ram()
        .expect("plain")
        .as_slice::<f32>()
        .expect("f32")
        .to_vec();
    let data: Vec<f32> = (0..rows * k)
        .map(|i| {
            let (row, col) = (i / k, i % k);
            values[(row % r) * k + col] * (1.0 + 0.03 * (row / r) as f32)
        })
        .collect();
    let tensor = tract_ndarray::Array2::from_shape_vec((rows, k), data).expect("shape");
    NamedTensor::new(input.name.clone(), Tensor::from(tensor))
}

fn floats(t: &Tensor) -> Vec<f32> {
    t.try_as_plain_ram()
        .expect("plain")
        .as_slice::<f32>()
        .expect("f32")
        .to_vec()
}

#[test]
fn dense_chains_run_natively_and_match_tract() {
    let models = onnx_models("dense_chains_run_natively_and_match_tract");
    assert!(
        models.iter().any(|(l, ..)| l == "onnx-mlp-new"),
        "corpus not found"
    );
    let mut native_seen = Vec::new();
    for (label, dir, request) in &models {
        let (native, is_native) = load(dir, true);
        let expect_native = DENSE.contains(&label.as_str());
        assert_eq!(is_native, expect_native, "{label}: native = {is_native}");
        if !is_native {
            continue;
        }
        native_seen.push(label.clone());
        let (tract, _) = load(dir, false);
        assert_eq!(native.inputs, tract.inputs, "{label}");
        assert_eq!(native.outputs, tract.outputs, "{label}");
        let inputs = decode_request(&read_json(request));
        for rows in [1, 5, 48, 100, 1001] {
            let batch = vec![tiled(&inputs[0], rows)];
            let got = native.predict(batch.clone()).expect("native predict");
            let want = tract.predict(batch).expect("tract predict");
            assert_eq!(got.len(), want.len(), "{label}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.name, w.name, "{label}");
                assert_eq!(g.tensor.datum_type(), w.tensor.datum_type(), "{label}");
                assert_eq!(g.tensor.shape(), w.tensor.shape(), "{label} {}", g.name);
                for (a, b) in floats(&g.tensor).iter().zip(floats(&w.tensor)) {
                    assert!(
                        (a - b).abs() <= 1e-6 + 1e-5 * b.abs(),
                        "{label} {} rows {rows}: {a} vs {b}",
                        g.name
                    );
                }
            }
        }
    }
    assert!(native_seen.len() >= 2, "native models: {native_seen:?}");
}

#[test]
fn avx2_build_is_bit_identical_to_the_portable_build() {
    if Isa::detect() == Isa::Portable {
        return;
    }
    for (label, dir, request) in onnx_models("avx2_build_is_bit_identical_to_the_portable_build") {
        if !DENSE.contains(&label.as_str()) {
            continue;
        }
        let mlmodel = MlModel::read_dir(&dir).expect("MLmodel");
        let flavor: OnnxFlavor = mlmodel.flavor("onnx").expect("block").expect("onnx");
        let path = dir.join(&flavor.data);
        let proto = tract_onnx::onnx()
            .proto_model_for_path(&path)
            .expect("protobuf");
        let graph = proto.graph.as_ref().expect("graph");
        let model_dir = path.parent().and_then(Path::to_str);
        let load = |t: &tract_onnx::pb::TensorProto| {
            tract_onnx::tensor::load_tensor(&FopenDataResolver, t, model_dir)
        };
        let chain = matcher::match_graph(graph, 17, &load).expect("a dense chain");
        let inputs = decode_request(&read_json(&request));
        for rows in [1, 7, 333] {
            let x = floats(&tiled(&inputs[0], rows).tensor);
            let safe = chain.run(&x, rows, Isa::Portable);
            for isa in [Isa::Avx2Fma, Isa::Avx512] {
                let fast = chain.run(&x, rows, isa);
                for (f, s) in fast.iter().zip(&safe) {
                    let fb: Vec<u32> = f.iter().map(|v| v.to_bits()).collect();
                    let sb: Vec<u32> = s.iter().map(|v| v.to_bits()).collect();
                    assert_eq!(fb, sb, "{label} rows {rows} {isa:?}");
                }
            }
        }
        // A batch large enough to be split over threads gives every row exactly as one pass.
        let rows = 3 * super::dense::PARALLEL_ROWS + 17;
        let x = floats(&tiled(&inputs[0], rows).tensor);
        let isa = Isa::detect();
        let split = chain.run(&x, rows, isa);
        let serial = chain.run_serial(&x, rows, isa);
        for (p, s) in split.iter().zip(&serial) {
            let pb: Vec<u32> = p.iter().map(|v| v.to_bits()).collect();
            let sb: Vec<u32> = s.iter().map(|v| v.to_bits()).collect();
            assert_eq!(pb, sb, "{label}: threaded vs one pass");
        }
    }
}
