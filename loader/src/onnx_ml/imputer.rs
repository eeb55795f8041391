//! `Imputer` (ai.onnx.ml 1): replaces every input value equal to `replaced_value_float` /
//! `replaced_value_int64` (NaN matches NaN) with `imputed_value_floats` / `imputed_value_int64s`,
//! one value per feature or a single value for all, as onnxruntime does
//! (`onnxruntime/core/providers/cpu/ml/imputer.cc`).

use super::expansion::{elementwise_rules, wire_op};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `Imputer` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Imputer", imputer);
}

fn imputer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let floats: Vec<f32> = node
        .get_attr_opt_vec("imputed_value_floats")?
        .unwrap_or_default();
    let ints: Vec<i64> = node
        .get_attr_opt_vec("imputed_value_int64s")?
        .unwrap_or_default();
    ensure!(
        floats.is_empty() != ints.is_empty(),
        "Imputer needs exactly one of imputed_value_floats and imputed_value_int64s"
    );
    let op = Imputer {
        floats,
        ints,
        replaced_float: node.get_attr_opt("replaced_value_float")?.unwrap_or(0.0),
        replaced_int: node.get_attr_opt("replaced_value_int64")?.unwrap_or(0),
    };
    Ok((expand(op), vec![]))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq)]
struct Imputer {
    floats: Vec<f32>,
    ints: Vec<i64>,
    replaced_float: f32,
    replaced_int: i64,
}

impl Eq for Imputer {}

/// Replaces the values `matches` selects. onnxruntime takes the per-feature value at flat index
/// `i % stride`, `stride` being dim 1 (dim 0 for rank 1), when there are `stride` values, and
/// the first value otherwise.
fn impute<T: Copy>(x: &[T], stride: usize, imputed: &[T], matches: impl Fn(T) -> bool) -> Vec<T> {
    let per_feature = imputed.len() == stride && stride > 0;
    x.iter()
        .enumerate()
        .map(|(i, &v)| match matches(v) {
            true if per_feature => imputed[i % stride],
            true => imputed[0],
            false => v,
        })
        .collect()
}

impl Imputer {
    fn check_type(&self, dt: DatumType) -> TractResult<()> {
        match dt {
            DatumType::F32 => ensure!(
                !self.floats.is_empty(),
                "Imputer has a float input but no imputed_value_floats"
            ),
            DatumType::I64 => ensure!(
                !self.ints.is_empty(),
                "Imputer has an int64 input but no imputed_value_int64s"
            ),
            dt => bail!("Imputer takes float or int64 inputs, got {dt:?}"),
        }
        Ok(())
    }
}

impl Expansion for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
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

impl Op for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Imputer {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        self.check_type(input.datum_type())?;
        let shape = input.shape();
        let stride = match shape.len() {
            0 => bail!("Imputer input has empty dimensions"),
            1 => shape[0],
            _ => shape[1],
        };
        let x = input.try_as_plain_ram()?;
        let output = if input.datum_type() == DatumType::F32 {
            let replaced = self.replaced_float;
            let y = impute(x.as_slice::<f32>()?, stride, &self.floats, |v| {
                (v.is_nan() && replaced.is_nan()) || v == replaced
            });
            tensor1(&y)
        } else {
            let y = impute(x.as_slice::<i64>()?, stride, &self.ints, |v| {
                v == self.replaced_int
            });
            tensor1(&y)
        };
        Ok(tvec!(output.into_shape(shape)?.into_tvalue()))
    }
}

impl TypedOp for Imputer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.check_type(inputs[0].datum_type)?;
        ensure!(inputs[0].rank() >= 1, "Imputer input has empty dimensions");
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    const NAN: f32 = f32::NAN;

    #[test]
    fn nan_matches_nan_per_feature() -> TractResult<()> {
        // onnxruntime 1.32
        let out = NodeModel::new(
            "Imputer",
            vec![
                floats("imputed_value_floats", &[9.0, 8.0, 7.0]),
                float("replaced_value_float", NAN),
            ],
        )
        .run(vec![f32s(&[[NAN, 1.0, 2.0], [3.0, NAN, 0.0]])])?;
        assert_close(&out[0], &f32s(&[[9.0, 1.0, 2.0], [3.0, 8.0, 0.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn single_value_and_default_replaced_value() -> TractResult<()> {
        // no replaced_value_float: 0.0 is replaced, NaN is kept (onnxruntime 1.32)
        let out = NodeModel::new("Imputer", vec![floats("imputed_value_floats", &[9.0])])
            .run(vec![f32s(&[[NAN, 1.0, 0.0]])])?;
        assert_close(&out[0], &f32s(&[[NAN, 1.0, 9.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn value_count_other_than_features_uses_the_first() -> TractResult<()> {
        let out = NodeModel::new(
            "Imputer",
            vec![
                floats("imputed_value_floats", &[9.0, 8.0]),
                float("replaced_value_float", NAN),
            ],
        )
        .run(vec![f32s(&[[NAN, 1.0, NAN]])])?;
        assert_close(&out[0], &f32s(&[[9.0, 1.0, 9.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn int64_values() -> TractResult<()> {
        let out = NodeModel::new(
            "Imputer",
            vec![
                ints("imputed_value_int64s", &[7, 8, 9]),
                int("replaced_value_int64", 0),
            ],
        )
        .run(vec![tensor2(&[[1i64, 0, 2], [0, 5, 0]])])?;
        assert_eq!(out[0], tensor2(&[[1i64, 8, 2], [7, 5, 9]]));
        Ok(())
    }

    #[test]
    fn rank_one_input_is_one_row() -> TractResult<()> {
        let out = NodeModel::new(
            "Imputer",
            vec![
                floats("imputed_value_floats", &[9.0, 8.0, 7.0]),
                float("replaced_value_float", NAN),
            ],
        )
        .run(vec![tensor1(&[1.0f32, NAN, NAN])])?;
        assert_close(&out[0], &tensor1(&[1.0f32, 8.0, 7.0]), 0.0);
        Ok(())
    }

    #[test]
    fn rejects_both_value_kinds_and_wrong_input_types() {
        let both = vec![
            floats("imputed_value_floats", &[1.0]),
            ints("imputed_value_int64s", &[1]),
        ];
        assert!(NodeModel::new("Imputer", both)
            .run(vec![f32s(&[[1.0]])])
            .is_err());
        let floats_only = vec![floats("imputed_value_floats", &[1.0])];
        assert!(NodeModel::new("Imputer", floats_only)
            .run(vec![tensor2(&[[1i64]])])
            .is_err());
    }
}
