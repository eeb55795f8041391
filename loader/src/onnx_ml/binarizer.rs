//! `Binarizer` (ai.onnx.ml 1): `1` where the input is greater than `threshold` (default 0), `0`
//! elsewhere, failing on NaN inputs as onnxruntime does
//! (`onnxruntime/core/providers/cpu/ml/binarizer.cc`).

use super::expansion::{elementwise_rules, wire_op};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `Binarizer` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Binarizer", binarizer);
}

fn binarizer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let threshold = node.get_attr_opt::<f32>("threshold")?.unwrap_or(0.0);
    Ok((expand(Binarizer { threshold }), vec![]))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq)]
struct Binarizer {
    threshold: f32,
}

impl Eq for Binarizer {}

impl Binarizer {
    fn eval_t<T>(&self, input: &Tensor, threshold: T) -> TractResult<Tensor>
    where
        T: Datum + Copy + PartialOrd + tract_num_traits::Float,
    {
        let x = input.try_as_plain_ram()?.as_slice::<T>()?;
        let mut y = Vec::with_capacity(x.len());
        for (i, v) in x.iter().enumerate() {
            if v.is_nan() {
                bail!("Binarizer: input data with index {i} is NaN");
            }
            y.push(if *v > threshold { T::one() } else { T::zero() });
        }
        tensor1(&y).into_shape(input.shape())
    }
}

impl Expansion for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        elementwise_rules(s, inputs, outputs, None)
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

impl Op for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Binarizer {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let output = match input.datum_type() {
            DatumType::F32 => self.eval_t::<f32>(&input, self.threshold)?,
            // onnxruntime compares a double input with the float threshold promoted to double
            DatumType::F64 => self.eval_t::<f64>(&input, self.threshold as f64)?,
            dt => bail!("Binarizer takes float or double inputs, got {dt:?}"),
        };
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for Binarizer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let dt = inputs[0].datum_type;
        ensure!(
            matches!(dt, DatumType::F32 | DatumType::F64),
            "Binarizer takes float or double inputs, got {dt:?}"
        );
        Ok(tvec!(dt.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    #[test]
    fn default_threshold_is_zero() -> TractResult<()> {
        // onnxruntime 1.32: [[0.5, 1, 1.5, -2]] -> [[1, 1, 1, 0]]
        let out = NodeModel::new("Binarizer", vec![]).run(vec![f32s(&[[0.5, 1.0, 1.5, -2.0]])])?;
        assert_close(&out[0], &f32s(&[[1.0, 1.0, 1.0, 0.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn threshold_is_strict() -> TractResult<()> {
        let out = NodeModel::new("Binarizer", vec![float("threshold", 1.0)])
            .run(vec![f32s(&[[1.0, 1.01], [0.0, 7.0]])])?;
        assert_close(&out[0], &f32s(&[[0.0, 1.0], [0.0, 1.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn nan_is_an_error() {
        let r = NodeModel::new("Binarizer", vec![]).run(vec![f32s(&[[f32::NAN]])]);
        assert!(r.is_err());
    }

    #[test]
    fn double_input_stays_double() -> TractResult<()> {
        let out = NodeModel::new("Binarizer", vec![float("threshold", 0.5)])
            .run(vec![tensor2(&[[0.25f64, 0.75]])])?;
        assert_eq!(out[0], tensor2(&[[0.0f64, 1.0]]));
        Ok(())
    }
}
