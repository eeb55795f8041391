//! `ArrayFeatureExtractor` (ai.onnx.ml 1), replacing tract's (a Gather whose output rank follows
//! the index tensor's): onnxruntime selects the flattened indices `Y` along the last axis of `X`,
//! giving `X`'s shape with the last dim replaced by the number of indices (`[1, n]` for a rank-1
//! `X`), for any element type including strings, and rejects indices outside `[0, last dim)`
//! (`onnxruntime/core/providers/cpu/ml/array_feature_extractor.cc`).
//!
//! One deliberate difference: onnxruntime fails on an empty `Y`, which happens when the indices
//! are computed from an empty batch (ArgMax over 0 rows feeding this op); ironflow selects
//! nothing and answers an empty tensor, so a 0-row request gets a 0-row answer.

use super::expansion::wire_op;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `ArrayFeatureExtractor` builder, replacing tract's.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("ArrayFeatureExtractor", array_feature_extractor);
}

fn array_feature_extractor(
    _ctx: &ParsingContext,
    _node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(ArrayFeatureExtractor), vec![]))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ArrayFeatureExtractor;

fn output_shape<D: DimLike>(x: &[D], indices: D) -> TVec<D> {
    let mut shape: TVec<D> = x.iter().cloned().collect();
    if shape.len() == 1 {
        shape.insert(0, D::one());
    }
    if let Some(last) = shape.last_mut() {
        *last = indices;
    }
    shape
}

fn extract<T: Datum>(x: &Tensor, indices: &[usize], shape: &[usize]) -> TractResult<Tensor> {
    let data = x.try_as_plain_ram()?.as_slice::<T>()?;
    let stride = x.shape().last().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(shape.iter().product());
    if stride > 0 {
        for row in data.chunks(stride) {
            out.extend(indices.iter().map(|&i| row[i].clone()));
        }
    }
    tensor1(&out).into_shape(shape)
}

impl Expansion for ArrayFeatureExtractor {
    fn name(&self) -> StaticName {
        "ArrayFeatureExtractor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, x, y| {
            let n = y.iter().fold(1.to_dim(), |acc, d| acc * d.clone());
            s.equals(&outputs[0].shape, output_shape(&x, n))
        })?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        wire_op(self.clone(), prefix, model, inputs)
    }
}

impl Op for ArrayFeatureExtractor {
    fn name(&self) -> StaticName {
        "ArrayFeatureExtractor".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ArrayFeatureExtractor {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, y) = args_2!(inputs);
        ensure!(
            x.rank() > 0,
            "ArrayFeatureExtractor: X input has empty dimensions"
        );
        let stride = x.shape()[x.rank() - 1];
        let y = y.cast_to::<i64>()?;
        let raw = y.try_as_plain_ram()?.as_slice::<i64>()?;
        let indices = raw
            .iter()
            .enumerate()
            .map(|(i, &ix)| match usize::try_from(ix) {
                Ok(ix) if ix < stride => Ok(ix),
                _ => bail!("ArrayFeatureExtractor: index Y[{i}] = {ix} is not in [0, {stride})"),
            })
            .collect::<TractResult<Vec<usize>>>()?;
        let shape = output_shape(x.shape(), indices.len());
        let output = match x.datum_type() {
            DatumType::F32 => extract::<f32>(&x, &indices, &shape)?,
            DatumType::F64 => extract::<f64>(&x, &indices, &shape)?,
            DatumType::I64 => extract::<i64>(&x, &indices, &shape)?,
            DatumType::I32 => extract::<i32>(&x, &indices, &shape)?,
            DatumType::String => extract::<String>(&x, &indices, &shape)?,
            dt => bail!("ArrayFeatureExtractor does not take {dt:?} inputs"),
        };
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for ArrayFeatureExtractor {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (x, y) = (inputs[0], inputs[1]);
        ensure!(
            x.rank() > 0,
            "ArrayFeatureExtractor: X input has empty dimensions"
        );
        ensure!(
            matches!(
                x.datum_type,
                DatumType::F32
                    | DatumType::F64
                    | DatumType::I64
                    | DatumType::I32
                    | DatumType::String
            ),
            "ArrayFeatureExtractor does not take {:?} inputs",
            x.datum_type
        );
        ensure!(
            y.datum_type == DatumType::I64,
            "ArrayFeatureExtractor indices must be int64"
        );
        let x_shape: TVec<TDim> = x.shape.iter().cloned().collect();
        Ok(tvec!(x
            .datum_type
            .fact(output_shape(&x_shape, y.shape.volume()))))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    fn extract(x: Tensor, y: Tensor) -> TractResult<Tensor> {
        Ok(NodeModel::new("ArrayFeatureExtractor", vec![])
            .batched(1)
            .run(vec![x, y])?
            .remove(0))
    }

    fn x() -> Tensor {
        f32s(&[
            [0.0, 1.0, 2.0, 3.0],
            [4.0, 5.0, 6.0, 7.0],
            [8.0, 9.0, 10.0, 11.0],
        ])
    }

    #[test]
    fn selects_columns_like_onnxruntime() -> TractResult<()> {
        // onnxruntime 1.32: 1-D, 2-D and scalar index tensors all flatten
        let expected = f32s(&[[2.0, 0.0], [6.0, 4.0], [10.0, 8.0]]);
        assert_close(&extract(x(), tensor1(&[2i64, 0]))?, &expected, 0.0);
        assert_close(&extract(x(), tensor2(&[[2i64, 0]]))?, &expected, 0.0);
        assert_close(
            &extract(x(), tensor0(1i64))?,
            &f32s(&[[1.0], [5.0], [9.0]]),
            0.0,
        );
        Ok(())
    }

    #[test]
    fn rank_one_input_gives_one_row() -> TractResult<()> {
        let out = extract(tensor1(&[0f32, 1., 2., 3.]), tensor1(&[2i64, 0]))?;
        assert_close(&out, &f32s(&[[2.0, 0.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn strings_and_int64s() -> TractResult<()> {
        let s = strs(&[2, 3], &["a", "b", "c", "d", "e", "f"]);
        assert_eq!(
            extract(s, tensor1(&[2i64, 0]))?,
            strs(&[2, 2], &["c", "a", "f", "d"])
        );
        assert_eq!(
            extract(tensor2(&[[1i64, 2, 3]]), tensor1(&[2i64, 0]))?,
            tensor2(&[[3i64, 1]])
        );
        Ok(())
    }

    #[test]
    fn empty_indices_select_nothing() -> TractResult<()> {
        let out = extract(x(), tensor1::<i64>(&[]))?;
        assert_eq!(out.shape(), &[3, 0]);
        Ok(())
    }

    #[test]
    fn rejects_out_of_range_indices() {
        assert!(extract(x(), tensor1(&[-1i64])).is_err());
        assert!(extract(x(), tensor1(&[4i64])).is_err());
    }
}
