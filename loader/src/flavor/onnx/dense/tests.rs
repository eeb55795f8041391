//! The chain matcher on small hand-built graphs: what it must reject (the caller then keeps
//! tract), and what it takes, checked against a plain f64 evaluation of the same graph.

use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::pb::{
    self, attribute_proto::AttributeType, tensor_shape_proto::dimension, type_proto,
    AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, ValueInfoProto,
};
use tract_onnx::prelude::{Tensor, TractResult};

use super::matcher::{match_graph, Reject};
use super::{DenseChain, Isa};

fn value(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| pb::tensor_shape_proto::Dimension {
            value: Some(if d < 0 {
                dimension::Value::DimParam("N".into())
            } else {
                dimension::Value::DimValue(d)
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A float initializer with a deterministic, varied fill.
fn init(name: &str, dims: &[i64], seed: f32) -> TensorProto {
    let len: i64 = dims.iter().product();
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: (0..len)
            .map(|i| ((i as f32 * 0.37 + seed).sin()) * 0.5)
            .collect(),
        ..Default::default()
    }
}

fn node(op: &str, ins: &[&str], out: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: ins.iter().map(|s| (*s).into()).collect(),
        output: vec![out.into()],
        ..Default::default()
    }
}

fn with_int(mut n: NodeProto, name: &str, i: i64) -> NodeProto {
    n.attribute.push(AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    });
    n
}

fn with_float(mut n: NodeProto, name: &str, f: f32) -> NodeProto {
    n.attribute.push(AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f,
        ..Default::default()
    });
    n
}

fn graph(nodes: Vec<NodeProto>, inits: Vec<TensorProto>, outputs: &[&str]) -> GraphProto {
    GraphProto {
        node: nodes,
        initializer: inits,
        input: vec![value("x", 1, &[-1, 3])],
        output: outputs.iter().map(|o| value(o, 1, &[-1, -1])).collect(),
        ..Default::default()
    }
}

fn load(t: &TensorProto) -> TractResult<Tensor> {
    tract_onnx::tensor::load_tensor(&FopenDataResolver, t, None)
}

fn matched(g: &GraphProto) -> Result<DenseChain, Reject> {
    match_graph(g, 17, &load)
}

/// `x [3] -> MatMul W1 [3, 5] -> Add b1 -> Relu -> MatMul W2 [5, 4] -> Add b2 -> Softmax`.
fn mlp() -> GraphProto {
    graph(
        vec![
            node("MatMul", &["x", "W1"], "h"),
            node("Add", &["h", "b1"], "a"),
            node("Relu", &["a"], "r"),
            node("MatMul", &["r", "W2"], "l0"),
            node("Add", &["b2", "l0"], "logits"),
            node("Softmax", &["logits"], "probs"),
        ],
        vec![
            init("W1", &[3, 5], 0.1),
            init("b1", &[5], 0.2),
            init("W2", &[5, 4], 0.3),
            init("b2", &[1, 4], 0.4),
        ],
        &["probs", "logits"],
    )
}

fn assert_rejects(g: &GraphProto, why: &str) {
    match matched(g) {
        Ok(_) => panic!("matched a graph with {why}"),
        Err(Reject(reason)) => assert!(!reason.is_empty(), "{why}"),
    }
}

#[test]
fn rejects_graphs_that_are_not_dense_chains() {
    let mut two_inputs = mlp();
    two_inputs.input.push(value("y", 1, &[-1, 3]));
    assert_rejects(&two_inputs, "two inputs");

    let mut int_input = mlp();
    int_input.input[0] = value("x", 7, &[-1, 3]);
    assert_rejects(&int_input, "an INT64 input");

    let mut rank3 = mlp();
    rank3.input[0] = value("x", 1, &[-1, 2, 3]);
    assert_rejects(&rank3, "a rank-3 input");

    let mut conv = mlp();
    conv.node.insert(0, node("Conv", &["x", "W1"], "c"));
    assert_rejects(&conv, "a Conv");

    let mut skip = mlp();
    skip.node[1] = node("Add", &["h", "x"], "a");
    assert_rejects(&skip, "a skip connection");

    let mut left = mlp();
    left.node[0] = node("MatMul", &["W1", "x"], "h");
    assert_rejects(&left, "a constant left MatMul operand");

    let mut trans_a = mlp();
    trans_a.node[0] = with_int(node("Gemm", &["x", "W1", "b1"], "h"), "transA", 1);
    assert_rejects(&trans_a, "Gemm transA");

    let mut axis0 = mlp();
    axis0.node[5] = with_int(node("Softmax", &["logits"], "probs"), "axis", 0);
    assert_rejects(&axis0, "a softmax over the batch");

    let mut ml = mlp();
    ml.node[2].domain = "ai.onnx.ml".into();
    assert_rejects(&ml, "an ai.onnx.ml node");

    let mut int_cast = mlp();
    int_cast
        .node
        .push(with_int(node("Cast", &["probs"], "label"), "to", 7));
    int_cast.output = vec![value("label", 7, &[-1, 4])];
    assert_rejects(&int_cast, "a Cast to INT64");

    let mut off_chain = mlp();
    off_chain.output.push(value("W2", 1, &[5, 4]));
    assert_rejects(&off_chain, "an output off the chain");

    let mut per_row_bias = mlp();
    per_row_bias.initializer[3] = init("b2", &[2, 4], 0.4);
    assert_rejects(&per_row_bias, "a bias that is not a row");

    let mut wrong_k = mlp();
    wrong_k.input[0] = value("x", 1, &[-1, 4]);
    assert_rejects(&wrong_k, "a weight that does not fit the input");

    let mut no_layer = mlp();
    no_layer.node = vec![node("Relu", &["x"], "probs")];
    no_layer.output = vec![value("probs", 1, &[-1, 3])];
    assert_rejects(&no_layer, "no dense layer");

    let mut fanout = mlp();
    fanout.node.push(node("Relu", &["a"], "other"));
    assert_rejects(&fanout, "a value read twice");
}

/// Evaluates `x @ w (+ b)` with `w` as `k x n` in f64.
fn dense(x: &[Vec<f64>], w: &[f32], n: usize, b: &[f32]) -> Vec<Vec<f64>> {
    x.iter()
        .map(|row| {
            (0..n)
                .map(|j| {
                    let dot: f64 = row
                        .iter()
                        .enumerate()
                        .map(|(kk, v)| v * f64::from(w[kk * n + j]))
                        .sum();
                    dot + f64::from(b[j % b.len()])
                })
                .collect()
        })
        .collect()
}

fn input(rows: usize, k: usize) -> Vec<f32> {
    (0..rows * k)
        .map(|i| ((i as f32) * 0.71).cos() * 2.0)
        .collect()
}

fn close(got: &[f32], want: &[Vec<f64>]) {
    let flat: Vec<f64> = want.iter().flatten().copied().collect();
    assert_eq!(got.len(), flat.len());
    for (g, w) in got.iter().zip(flat) {
        assert!(
            (f64::from(*g) - w).abs() <= 1e-5 + 1e-5 * w.abs(),
            "{g} vs {w}"
        );
    }
}

/// The values of the graph's `i`-th initializer, as f32.
fn initializer_values(g: &GraphProto, i: usize) -> Vec<f32> {
    load(&g.initializer[i])
        .expect("initializer")
        .into_plain_array::<f32>()
        .expect("f32")
        .into_raw_vec_and_offset()
        .0
}

#[test]
fn runs_a_matched_mlp_like_an_f64_evaluation() {
    let g = mlp();
    let chain = matched(&g).expect("an MLP is a dense chain");
    assert_eq!(chain.input_width(), 3);
    assert_eq!(chain.output_widths(), &[4, 4]);
    let vals = |i: usize| initializer_values(&g, i);
    let (w1, b1, w2, b2) = (vals(0), vals(1), vals(2), vals(3));
    for rows in [1, 5, 48, 103] {
        let x = input(rows, 3);
        let x64: Vec<Vec<f64>> = x
            .chunks(3)
            .map(|r| r.iter().map(|&v| f64::from(v)).collect())
            .collect();
        let h: Vec<Vec<f64>> = dense(&x64, &w1, 5, &b1)
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.max(0.0)).collect())
            .collect();
        let logits = dense(&h, &w2, 4, &b2);
        let probs: Vec<Vec<f64>> = logits
            .iter()
            .map(|r| {
                let m = r.iter().copied().fold(f64::MIN, f64::max);
                let e: Vec<f64> = r.iter().map(|v| (v - m).exp()).collect();
                let s: f64 = e.iter().sum();
                e.into_iter().map(|v| v / s).collect()
            })
            .collect();
        for isa in [Isa::Portable, Isa::detect()] {
            let out = chain.run(&x, rows, isa);
            close(&out[0], &probs);
            close(&out[1], &logits);
        }
    }
}

#[test]
fn takes_gemm_with_trans_b_alpha_beta_and_other_activations() {
    let g = GraphProto {
        node: vec![
            with_float(
                with_float(
                    with_int(node("Gemm", &["x", "B", "C"], "g"), "transB", 1),
                    "alpha",
                    0.5,
                ),
                "beta",
                2.0,
            ),
            node("Tanh", &["g"], "t"),
            node("Identity", &["t"], "i"),
            node("Flatten", &["i"], "f"),
            with_int(node("Cast", &["f"], "c"), "to", 1),
            with_float(node("LeakyRelu", &["c"], "l"), "alpha", 0.2),
            node("MatMul", &["l", "W"], "m"),
            node("Sigmoid", &["m"], "y"),
        ],
        initializer: vec![
            init("B", &[20, 3], 0.5),
            init("C", &[20], 0.6),
            init("W", &[20, 1], 0.7),
        ],
        input: vec![value("x", 1, &[-1, 3])],
        output: vec![value("y", 1, &[-1, 1])],
        ..Default::default()
    };
    let chain = matched(&g).expect("a Gemm chain is a dense chain");
    let vals = |i: usize| initializer_values(&g, i);
    let (b, c, w) = (vals(0), vals(1), vals(2));
    let rows = 29;
    let x = input(rows, 3);
    let want: Vec<Vec<f64>> = x
        .chunks(3)
        .map(|r| {
            let h: Vec<f64> = (0..20)
                .map(|j| {
                    let dot: f64 = (0..3)
                        .map(|kk| f64::from(r[kk]) * f64::from(b[j * 3 + kk]))
                        .sum();
                    let t = (0.5 * dot + 2.0 * f64::from(c[j])).tanh();
                    if t >= 0.0 {
                        t
                    } else {
                        0.2 * t
                    }
                })
                .collect();
            let m: f64 = h.iter().zip(&w).map(|(a, b)| a * f64::from(*b)).sum();
            vec![1.0 / (1.0 + (-m).exp())]
        })
        .collect();
    for isa in [Isa::Portable, Isa::detect()] {
        close(&chain.run(&x, rows, isa)[0], &want);
    }
}
