//! Decides whether an ONNX graph is a dense chain [`super::DenseChain`] can run, and builds it.
//!
//! The graph must have one float input `[N, K]` and a strictly linear body: every node reads the
//! value the previous node produced (or the input) plus initializers only, and writes one value.
//! Graph outputs may be any of those values. Accepted nodes (default domain): `MatMul` with a
//! constant 2-D weight, `Gemm` (`transA = 0`, constant `B`, constant `C` broadcast along rows),
//! `Add` of a constant row bias, `Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Softmax` over the last
//! axis, `Identity`, `Cast` to float and `Flatten(axis = 1)`. Anything else is a
//! [`Reject`], and the caller keeps the general (tract) path.

use std::collections::HashMap;

use tract_onnx::pb::{self, type_proto, TensorProto};
use tract_onnx::prelude::{DatumType, Tensor, TractResult};

use super::kernel::{Epilogue, Packed};
use super::{DenseChain, Step, Unary};

/// Why a graph is not a dense chain (for the load log; not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject(pub String);

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn reject<T>(why: impl Into<String>) -> Result<T, Reject> {
    Err(Reject(why.into()))
}

/// ONNX `TensorProto.DataType.FLOAT`.
const ONNX_FLOAT: i32 = 1;

/// Matches `graph` (of a model importing default-domain opset `opset`), loading initializers
/// with `load` (which resolves external data).
pub fn match_graph(
    graph: &pb::GraphProto,
    opset: i64,
    load: &dyn Fn(&TensorProto) -> TractResult<Tensor>,
) -> Result<DenseChain, Reject> {
    if !graph.sparse_initializer.is_empty() {
        return reject("sparse initializers");
    }
    let initializers: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let sources: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains_key(i.name.as_str()))
        .collect();
    let [source] = sources.as_slice() else {
        return reject(format!("{} graph inputs, not one", sources.len()));
    };
    let mut width = input_width(source)?;
    let outputs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    if outputs.is_empty() || outputs.contains(&source.name.as_str()) {
        return reject("the input is a graph output, or there are no outputs");
    }
    let constant = |name: &str| -> Result<Tensor, Reject> {
        let proto = initializers
            .get(name)
            .ok_or_else(|| Reject(format!("{name:?} is not an initializer")))?;
        let tensor = load(proto).map_err(|e| Reject(format!("{name:?}: {e}")))?;
        if tensor.datum_type() != DatumType::F32 {
            return reject(format!("{name:?} is not float"));
        }
        Ok(tensor)
    };

    let mut steps = Vec::new();
    let mut current = source.name.as_str();
    let mut emitted = vec![false; outputs.len()];
    let mut layers = 0;
    for node in &graph.node {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return reject(format!("{} is in domain {:?}", node.op_type, node.domain));
        }
        let ins: Vec<&str> = node
            .input
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let [out] = node.output.as_slice() else {
            return reject(format!(
                "{} has {} outputs",
                node.op_type,
                node.output.len()
            ));
        };
        let Some(data_ix) = ins.iter().position(|&i| i == current) else {
            return reject(format!("{} does not read {current:?}", node.op_type));
        };
        let consts: Vec<&str> = ins
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != data_ix)
            .map(|(_, &name)| name)
            .collect();
        if consts.iter().any(|c| !initializers.contains_key(c)) {
            return reject(format!("{} reads a computed value twice", node.op_type));
        }
        let attr_f32 = |name: &str, default: f32| -> Result<f32, Reject> {
            Ok(node
                .get_attr_opt::<f32>(name)
                .map_err(|e| Reject(e.to_string()))?
                .unwrap_or(default))
        };
        let attr_i64 = |name: &str, default: i64| -> Result<i64, Reject> {
            Ok(node
                .get_attr_opt::<i64>(name)
                .map_err(|e| Reject(e.to_string()))?
                .unwrap_or(default))
        };
        let takes_constants = matches!(node.op_type.as_str(), "MatMul" | "Gemm" | "Add");
        if !takes_constants && !consts.is_empty() {
            return reject(format!("{} with extra inputs", node.op_type));
        }
        match node.op_type.as_str() {
            "MatMul" => {
                let [w] = consts.as_slice() else {
                    return reject("MatMul takes two inputs");
                };
                if data_ix != 0 {
                    return reject("MatMul with a constant left operand");
                }
                let w = constant(w)?;
                let &[k, n] = w.shape() else {
                    return reject("MatMul weight is not 2-D");
                };
                check_width(&mut width, k, "MatMul")?;
                let w = f32_values(&w)?;
                steps.push(Step::Dense(Packed::new(
                    k,
                    n,
                    |r, c| w[r * n + c],
                    &vec![0.0; n],
                )));
                width = Some(n);
                layers += 1;
            }
            "Gemm" => {
                if data_ix != 0 || attr_i64("transA", 0)? != 0 {
                    return reject("Gemm with a constant or transposed A");
                }
                let (b, c) = match consts.as_slice() {
                    [b] => (*b, None),
                    [b, c] => (*b, Some(*c)),
                    _ => return reject("Gemm takes two or three inputs"),
                };
                let alpha = attr_f32("alpha", 1.0)?;
                let beta = attr_f32("beta", 1.0)?;
                let trans_b = attr_i64("transB", 0)? != 0;
                let b = constant(b)?;
                let &[r, s] = b.shape() else {
                    return reject("Gemm B is not 2-D");
                };
                let (k, n) = if trans_b { (s, r) } else { (r, s) };
                check_width(&mut width, k, "Gemm")?;
                let bv = f32_values(&b)?;
                let weight = |kk: usize, col: usize| {
                    let v = if trans_b {
                        bv[col * k + kk]
                    } else {
                        bv[kk * n + col]
                    };
                    if alpha == 1.0 {
                        v
                    } else {
                        alpha * v
                    }
                };
                let bias = match c {
                    Some(c) => row_bias(&constant(c)?, n, "Gemm C")?
                        .into_iter()
                        .map(|v| beta * v)
                        .collect(),
                    None => vec![0.0; n],
                };
                steps.push(Step::Dense(Packed::new(k, n, weight, &bias)));
                width = Some(n);
                layers += 1;
            }
            "Add" => {
                let [b] = consts.as_slice() else {
                    return reject("Add of two computed values");
                };
                let Some(w) = width else {
                    return reject("Add on an input of unknown width");
                };
                steps.push(Step::Bias(row_bias(&constant(b)?, w, "Add")?));
            }
            "Relu" => steps.push(Step::Unary(Unary::Relu)),
            "LeakyRelu" => steps.push(Step::Unary(Unary::LeakyRelu(attr_f32("alpha", 0.01)?))),
            "Sigmoid" => steps.push(Step::Unary(Unary::Sigmoid)),
            "Tanh" => steps.push(Step::Unary(Unary::Tanh)),
            "Softmax" => {
                let axis = attr_i64("axis", if opset < 13 { 1 } else { -1 })?;
                if axis != 1 && axis != -1 {
                    return reject(format!("Softmax over axis {axis}"));
                }
                steps.push(Step::Softmax);
            }
            "Identity" => {}
            "Cast" if attr_i64("to", 0)? == i64::from(ONNX_FLOAT) => {}
            "Flatten" if matches!(attr_i64("axis", 1)?, 1 | -1) => {}
            other => return reject(format!("{other} is not a dense-chain op")),
        }
        current = out.as_str();
        for (slot, name) in outputs.iter().enumerate() {
            if *name == current {
                steps.push(Step::Emit(slot));
                emitted[slot] = true;
            }
        }
    }
    if layers == 0 {
        return reject("no MatMul or Gemm");
    }
    if let Some(slot) = emitted.iter().position(|e| !e) {
        return reject(format!("output {:?} is not on the chain", outputs[slot]));
    }
    build(steps, &outputs)
}

/// Fuses the steps (bias into the layer before it, then ReLU-like activations into its store)
/// and works out the buffer and output widths.
fn build(steps: Vec<Step>, outputs: &[&str]) -> Result<DenseChain, Reject> {
    let mut fused: Vec<Step> = Vec::with_capacity(steps.len());
    for step in steps {
        match (fused.last_mut(), step) {
            (Some(Step::Dense(layer)), Step::Bias(bias)) if layer.epilogue == Epilogue::Linear => {
                layer.add_bias(&bias);
            }
            (Some(Step::Dense(layer)), Step::Unary(Unary::Relu))
                if layer.epilogue == Epilogue::Linear =>
            {
                layer.epilogue = Epilogue::Relu;
            }
            (Some(Step::Dense(layer)), Step::Unary(Unary::LeakyRelu(alpha)))
                if layer.epilogue == Epilogue::Linear =>
            {
                layer.epilogue = Epilogue::LeakyRelu(alpha);
            }
            (_, step) => fused.push(step),
        }
    }
    let first = fused.iter().find_map(|s| match s {
        Step::Dense(layer) => Some(layer.k),
        _ => None,
    });
    let Some(k) = first else {
        return reject("no MatMul or Gemm");
    };
    let mut output_widths = vec![0; outputs.len()];
    let mut width = k;
    let mut max_width = k;
    for step in &fused {
        match step {
            Step::Dense(layer) => {
                width = layer.n;
                max_width = max_width.max(layer.width);
            }
            Step::Emit(slot) => output_widths[*slot] = width,
            _ => {}
        }
    }
    Ok(DenseChain {
        k,
        steps: fused,
        output_widths,
        max_width,
    })
}

/// The declared feature count of the `[N, K]` input (`None` when the file leaves it open).
fn input_width(input: &pb::ValueInfoProto) -> Result<Option<usize>, Reject> {
    let Some(type_proto::Value::TensorType(t)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return reject("the input is not a tensor");
    };
    if t.elem_type != ONNX_FLOAT {
        return reject("the input is not float");
    }
    let Some(shape) = &t.shape else {
        return Ok(None);
    };
    let [_, k] = shape.dim.as_slice() else {
        return reject(format!("the input has rank {}", shape.dim.len()));
    };
    Ok(match k.value {
        Some(pb::tensor_shape_proto::dimension::Value::DimValue(k)) if k > 0 => Some(k as usize),
        _ => None,
    })
}

fn check_width(width: &mut Option<usize>, k: usize, op: &str) -> Result<(), Reject> {
    match *width {
        Some(w) if w != k => reject(format!("{op} takes {k} features but gets {w}")),
        _ => {
            *width = Some(k);
            Ok(())
        }
    }
}

fn f32_values(t: &Tensor) -> Result<Vec<f32>, Reject> {
    t.try_as_plain_ram()
        .and_then(|p| p.as_slice::<f32>().map(<[f32]>::to_vec))
        .map_err(|e| Reject(e.to_string()))
}

/// A constant that broadcasts along rows onto `[N, n]` (shape `[]`, `[1]`, `[n]`, `[1, 1]` or
/// `[1, n]`), as `n` values.
fn row_bias(t: &Tensor, n: usize, what: &str) -> Result<Vec<f32>, Reject> {
    let values = f32_values(t)?;
    let fits = match t.shape() {
        [] => true,
        [m] | [1, m] => *m == 1 || *m == n,
        _ => false,
    };
    if !fits {
        return reject(format!("{what} of shape {:?} is not a row bias", t.shape()));
    }
    Ok(if values.len() == 1 {
        vec![values[0]; n]
    } else {
        values
    })
}
