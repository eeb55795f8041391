//! Test support: wraps one ai.onnx.ml operator in a one-node ONNX model, loads it through
//! tract-onnx with ironflow's operators registered, and runs it with a symbolic batch, so each
//! operator's unit tests can compare with the values onnxruntime gives for the same node.

use tract_onnx::pb;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::bail;

fn attr(name: &str, ty: AttributeType) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.to_string(),
        r#type: ty as i32,
        ..Default::default()
    }
}

/// An INT attribute.
pub fn int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        i: v,
        ..attr(name, AttributeType::Int)
    }
}

/// A FLOAT attribute.
pub fn float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        f: v,
        ..attr(name, AttributeType::Float)
    }
}

/// A STRING attribute.
pub fn string(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        s: v.as_bytes().to_vec(),
        ..attr(name, AttributeType::String)
    }
}

/// An INTS attribute.
pub fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        ints: v.to_vec(),
        ..attr(name, AttributeType::Ints)
    }
}

/// A FLOATS attribute.
pub fn floats(name: &str, v: &[f32]) -> pb::AttributeProto {
    pb::AttributeProto {
        floats: v.to_vec(),
        ..attr(name, AttributeType::Floats)
    }
}

/// A STRINGS attribute.
pub fn strings(name: &str, v: &[&str]) -> pb::AttributeProto {
    let strings = v.iter().map(|s| s.as_bytes().to_vec()).collect();
    pb::AttributeProto {
        strings,
        ..attr(name, AttributeType::Strings)
    }
}

/// A TENSOR attribute.
pub fn tensor(name: &str, t: pb::TensorProto) -> pb::AttributeProto {
    pb::AttributeProto {
        t: Some(t),
        ..attr(name, AttributeType::Tensor)
    }
}

/// A 1-D INT64 tensor proto.
pub fn tensor_i64(v: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        dims: vec![v.len() as i64],
        data_type: DataType::Int64 as i32,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

/// A 1-D STRING tensor proto.
pub fn tensor_str(v: &[&str]) -> pb::TensorProto {
    pb::TensorProto {
        dims: vec![v.len() as i64],
        data_type: DataType::String as i32,
        string_data: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

/// A 1-D DOUBLE tensor proto.
pub fn tensor_f64(v: &[f64]) -> pb::TensorProto {
    pb::TensorProto {
        dims: vec![v.len() as i64],
        data_type: DataType::Double as i32,
        double_data: v.to_vec(),
        ..Default::default()
    }
}

/// A 1-D INT16 tensor proto.
pub fn tensor_i16(v: &[i16]) -> pb::TensorProto {
    pb::TensorProto {
        dims: vec![v.len() as i64],
        data_type: DataType::Int16 as i32,
        int32_data: v.iter().map(|&x| x as i32).collect(),
        ..Default::default()
    }
}

fn elem_type(dt: DatumType) -> TractResult<i32> {
    Ok(match dt {
        DatumType::F32 => DataType::Float,
        DatumType::F64 => DataType::Double,
        DatumType::I64 => DataType::Int64,
        DatumType::I32 => DataType::Int32,
        DatumType::I16 => DataType::Int16,
        DatumType::String => DataType::String,
        other => bail!("no ONNX element type for {other:?} in tests"),
    } as i32)
}

/// A one-node model: `op_type` in the ai.onnx.ml domain (opset `ml_opset`).
pub struct NodeModel {
    op_type: &'static str,
    attrs: Vec<pb::AttributeProto>,
    outputs: usize,
    ml_opset: i64,
    batched: usize,
}

impl NodeModel {
    /// A node with one output, ai.onnx.ml opset 3.
    pub fn new(op_type: &'static str, attrs: Vec<pb::AttributeProto>) -> Self {
        NodeModel {
            op_type,
            attrs,
            outputs: 1,
            ml_opset: 3,
            batched: usize::MAX,
        }
    }

    /// Sets the number of node outputs.
    pub fn outputs(self, outputs: usize) -> Self {
        NodeModel { outputs, ..self }
    }

    /// Only the first `batched` inputs get a symbolic batch axis (default: all of rank >= 2).
    pub fn batched(self, batched: usize) -> Self {
        NodeModel { batched, ..self }
    }

    /// Sets the ai.onnx.ml opset version.
    pub fn ml_opset(self, ml_opset: i64) -> Self {
        NodeModel { ml_opset, ..self }
    }

    fn is_batched(&self, ix: usize, t: &Tensor) -> bool {
        ix < self.batched && t.rank() >= 2
    }

    fn proto(&self, inputs: &[Tensor]) -> TractResult<pb::ModelProto> {
        let mut graph_inputs = vec![];
        for (ix, t) in inputs.iter().enumerate() {
            // rank >= 2 inputs get a symbolic batch, like skl2onnx exports
            let dim = t.shape().iter().enumerate().map(|(axis, &d)| Dimension {
                value: Some(if axis == 0 && self.is_batched(ix, t) {
                    dimension::Value::DimParam("N".into())
                } else {
                    dimension::Value::DimValue(d as i64)
                }),
                ..Default::default()
            });
            let tensor = pb::type_proto::Tensor {
                elem_type: elem_type(t.datum_type())?,
                shape: Some(pb::TensorShapeProto { dim: dim.collect() }),
            };
            graph_inputs.push(pb::ValueInfoProto {
                name: format!("x{ix}"),
                r#type: Some(pb::TypeProto {
                    value: Some(pb::type_proto::Value::TensorType(tensor)),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        let outputs: Vec<String> = (0..self.outputs).map(|ix| format!("y{ix}")).collect();
        let node = pb::NodeProto {
            name: "node".into(),
            op_type: self.op_type.into(),
            domain: "ai.onnx.ml".into(),
            input: (0..inputs.len()).map(|ix| format!("x{ix}")).collect(),
            output: outputs.clone(),
            attribute: self.attrs.clone(),
            ..Default::default()
        };
        let graph = pb::GraphProto {
            name: "g".into(),
            node: vec![node],
            input: graph_inputs,
            output: outputs
                .into_iter()
                .map(|name| pb::ValueInfoProto {
                    name,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        Ok(pb::ModelProto {
            ir_version: 9,
            opset_import: vec![
                pb::OperatorSetIdProto {
                    domain: String::new(),
                    version: 19,
                },
                pb::OperatorSetIdProto {
                    domain: "ai.onnx.ml".into(),
                    version: self.ml_opset,
                },
            ],
            graph: Some(graph),
            ..Default::default()
        })
    }

    /// Loads, optimizes and runs the model on `inputs`. When some inputs have a batch axis, the
    /// same plan first runs an empty batch, which must give empty outputs.
    pub fn run(&self, inputs: Vec<Tensor>) -> TractResult<TVec<Tensor>> {
        let mut onnx = tract_onnx::onnx();
        super::register(&mut onnx.op_register);
        let parsed = onnx.parse(&self.proto(&inputs)?, None)?;
        let plan = parsed.model.into_optimized()?.into_runnable()?;
        if inputs
            .iter()
            .enumerate()
            .any(|(ix, t)| self.is_batched(ix, t))
        {
            let empty: TVec<TValue> = inputs
                .iter()
                .enumerate()
                .map(|(ix, t)| {
                    let mut shape = t.shape().to_vec();
                    if self.is_batched(ix, t) {
                        shape[0] = 0;
                    }
                    Ok(Tensor::zero_dt(t.datum_type(), &shape)?.into_tvalue())
                })
                .collect::<TractResult<_>>()?;
            for out in plan.run(empty)? {
                if out.rank() > 0 && out.shape()[0] != 0 {
                    bail!("empty batch gave an output of shape {:?}", out.shape());
                }
            }
        }
        let inputs: TVec<TValue> = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        Ok(plan
            .run(inputs)?
            .into_iter()
            .map(|v| v.into_tensor())
            .collect())
    }
}

/// Asserts two f32 tensors have the same shape and values within `tol` (NaN matches NaN).
pub fn assert_close(found: &Tensor, expected: &Tensor, tol: f32) {
    assert_eq!(
        found.shape(),
        expected.shape(),
        "shapes differ: {found:?} vs {expected:?}"
    );
    let (Ok(f), Ok(e)) = (
        found.to_plain_array_view::<f32>(),
        expected.to_plain_array_view::<f32>(),
    ) else {
        panic!("not f32 tensors: {found:?} vs {expected:?}");
    };
    for (a, b) in f.iter().zip(e.iter()) {
        let same = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * (1.0 + b.abs());
        assert!(same, "{found:?} differs from {expected:?} ({a} vs {b})");
    }
}

/// Shorthand for a 2-D f32 tensor.
pub fn f32s<const N: usize>(rows: &[[f32; N]]) -> Tensor {
    tensor2(rows)
}

/// Shorthand for a tensor of strings with the given shape.
pub fn strs(shape: &[usize], v: &[&str]) -> Tensor {
    let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    match tract_ndarray::ArrayD::from_shape_vec(shape, v) {
        Ok(a) => a.into_tensor(),
        Err(e) => panic!("bad test tensor: {e}"),
    }
}

#[test]
fn builds_a_model_around_a_registered_op() -> TractResult<()> {
    let out = NodeModel::new("Binarizer", vec![float("threshold", 0.5)])
        .run(vec![f32s(&[[0.2, 0.7]])])?;
    assert_close(&out[0], &f32s(&[[0.0, 1.0]]), 0.0);
    Ok(())
}
