//! `Scaler` (ai.onnx.ml 1): `(x - offset) * scale`, with one coefficient per feature or a single
//! one for all, output f32, wired as tract `sub` and `mul` nodes
//! (`onnxruntime/core/providers/cpu/ml/scaler.cc`).
//!
//! onnxruntime applies coefficient `i % stride` to flat element `i`, `stride` being dim 1 (dim 0
//! for rank 1). For rank 2 that is one coefficient per column; higher ranks are reshaped to
//! `[-1, stride]` so the same flat-index rule holds. Double inputs are computed in double then
//! cast; integer inputs are cast to float first, as C++ promotes them.

use super::batch::wire_int64_inputs;
use super::expansion::elementwise_rules;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::{cast::cast, math};
use tract_onnx::tract_hir::internal::*;

/// Registers the `Scaler` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Scaler", scaler);
}

fn scaler(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_default();
    let offset: Vec<f32> = node.get_attr_opt_vec("offset")?.unwrap_or_default();
    ensure!(!scale.is_empty(), "Scaler has an empty scale");
    ensure!(
        scale.len() == offset.len(),
        "Scaler scale size ({}) != offset size ({})",
        scale.len(),
        offset.len()
    );
    Ok((expand(Scaler { scale, offset }), vec![]))
}

/// The inference-time expansion: validates shapes and wires the arithmetic.
#[derive(Debug, Clone, PartialEq)]
struct Scaler {
    scale: Vec<f32>,
    offset: Vec<f32>,
}

impl Scaler {
    /// `values` as a constant of type `dt` and rank `rank`, laid along the last axis.
    fn constant(&self, values: &[f32], dt: DatumType, rank: usize) -> TractResult<Tensor> {
        let mut shape = vec![1; rank];
        shape[rank - 1] = values.len();
        tensor1(values)
            .cast_to_dt(dt)?
            .into_owned()
            .into_shape(&shape)
    }
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        elementwise_rules(s, inputs, outputs, Some(DatumType::F32))
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let inputs = wire_int64_inputs(prefix, model, inputs)?;
        let fact = model.outlet_fact(inputs[0])?.clone();
        let rank = fact.rank();
        ensure!(rank >= 1, "Scaler input has empty dimensions");
        let compute_dt = match fact.datum_type {
            DatumType::F32 | DatumType::I64 | DatumType::I32 => DatumType::F32,
            DatumType::F64 => DatumType::F64,
            dt => bail!("Scaler takes float, double, int64 or int32 inputs, got {dt:?}"),
        };
        let stride = if rank == 1 {
            &fact.shape[0]
        } else {
            &fact.shape[1]
        };
        let per_feature = self.scale.len() > 1;
        if per_feature {
            match stride.to_i64() {
                Ok(s) if s as usize == self.scale.len() => (),
                Ok(s) => bail!(
                    "Scaler: scale and offset must have the feature size ({s}) or 1, got {}",
                    self.scale.len()
                ),
                Err(_) => bail!(
                    "Scaler with {} coefficients needs a known feature count, the input has {stride}",
                    self.scale.len()
                ),
            }
        }
        let mut x = inputs[0];
        if fact.datum_type != compute_dt {
            x = model.wire_node(format!("{prefix}.cast"), cast(compute_dt), &[x])?[0];
        }
        // onnxruntime's flat-index rule on rank > 2 is a column rule on [volume / stride, stride]
        let full_shape: TVec<TDim> = fact.shape.iter().cloned().collect();
        let flat_shape: TVec<TDim> = if rank > 2 && per_feature {
            let rows = full_shape
                .iter()
                .enumerate()
                .filter(|(axis, _)| *axis != 1)
                .fold(1.to_dim(), |acc, (_, d)| acc * d.clone());
            tvec!(rows, stride.clone())
        } else {
            full_shape.clone()
        };
        let reshape = flat_shape != full_shape;
        if reshape {
            let op = AxisOp::Reshape(0, full_shape.clone(), flat_shape.clone());
            x = model.wire_node(format!("{prefix}.flatten"), op, &[x])?[0];
        }
        let r = flat_shape.len();
        let offset = model.add_const(
            format!("{prefix}.offset"),
            self.constant(&self.offset, compute_dt, r)?,
        )?;
        let scale = model.add_const(
            format!("{prefix}.scale"),
            self.constant(&self.scale, compute_dt, r)?,
        )?;
        x = model.wire_node(format!("{prefix}.sub"), math::sub(), &[x, offset])?[0];
        x = model.wire_node(format!("{prefix}.mul"), math::mul(), &[x, scale])?[0];
        if reshape {
            let op = AxisOp::Reshape(0, flat_shape, full_shape);
            x = model.wire_node(format!("{prefix}.unflatten"), op, &[x])?[0];
        }
        if compute_dt != DatumType::F32 {
            x = model.wire_node(format!("{prefix}.to_f32"), cast(DatumType::F32), &[x])?[0];
        }
        Ok(tvec!(x))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    fn scaler(offset: &[f32], scale: &[f32]) -> NodeModel {
        NodeModel::new(
            "Scaler",
            vec![floats("offset", offset), floats("scale", scale)],
        )
    }

    #[test]
    fn per_feature_and_single_coefficients() -> TractResult<()> {
        let out = scaler(&[1.0, 2.0], &[2.0, 3.0]).run(vec![f32s(&[[1.0, 2.0], [3.0, 4.0]])])?;
        assert_close(&out[0], &f32s(&[[0.0, 0.0], [4.0, 6.0]]), 0.0);
        let out = scaler(&[1.0], &[2.0]).run(vec![f32s(&[[1.0, 2.0], [3.0, 4.0]])])?;
        assert_close(&out[0], &f32s(&[[0.0, 2.0], [4.0, 6.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn integer_and_double_inputs_give_floats() -> TractResult<()> {
        // onnxruntime 1.32
        let out = scaler(&[1.0, 2.0], &[2.0, 3.0]).run(vec![tensor2(&[[1i64, 2], [3, 4]])])?;
        assert_close(&out[0], &f32s(&[[0.0, 0.0], [4.0, 6.0]]), 0.0);
        let out = scaler(&[1.0], &[2.0]).run(vec![tensor2(&[[1f64, 2.0], [3.0, 4.0]])])?;
        assert_close(&out[0], &f32s(&[[0.0, 2.0], [4.0, 6.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn rank_three_uses_the_flat_index_rule() -> TractResult<()> {
        // onnxruntime 1.32 on arange(12).reshape(2, 3, 2), offset [1, 0, 0], scale [2, 1, 1]
        let x = tensor1(&(0..12).map(|v| v as f32).collect::<Vec<_>>()).into_shape(&[2, 3, 2])?;
        let out = scaler(&[1.0, 0.0, 0.0], &[2.0, 1.0, 1.0]).run(vec![x])?;
        let expected = tensor1(&[-2f32, 1., 2., 4., 4., 5., 10., 7., 8., 16., 10., 11.])
            .into_shape(&[2, 3, 2])?;
        assert_close(&out[0], &expected, 0.0);
        Ok(())
    }

    #[test]
    fn rank_one_and_bad_sizes() -> TractResult<()> {
        let out = scaler(&[1.0, 0.0, 0.0], &[2.0, 1.0, 1.0]).run(vec![tensor1(&[1f32, 2., 3.])])?;
        assert_close(&out[0], &tensor1(&[0f32, 2., 3.]), 0.0);
        assert!(scaler(&[1.0, 0.0], &[2.0, 1.0])
            .run(vec![f32s(&[[1.0, 2.0, 3.0]])])
            .is_err());
        assert!(NodeModel::new("Scaler", vec![floats("scale", &[2.0])])
            .run(vec![f32s(&[[1.0]])])
            .is_err());
        Ok(())
    }
}
