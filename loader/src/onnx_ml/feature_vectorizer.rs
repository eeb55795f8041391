//! `FeatureVectorizer` (ai.onnx.ml 1): concatenates its inputs' rows into one f32 row of
//! `sum(inputdimensions)` features, each input taking `inputdimensions[i]` columns: longer rows
//! are cut, shorter ones padded with zeros
//! (`onnxruntime/core/providers/cpu/ml/feature_vectorizer.cc`).

use super::expansion::wire_op;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `FeatureVectorizer` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("FeatureVectorizer", feature_vectorizer);
}

fn feature_vectorizer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let dims: Vec<i64> = node
        .get_attr_opt_vec("inputdimensions")?
        .unwrap_or_default();
    let dims = dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| format_err!("FeatureVectorizer: negative input dimension {d}"))
        })
        .collect::<TractResult<Vec<usize>>>()?;
    ensure!(!dims.is_empty(), "FeatureVectorizer has no inputdimensions");
    let inputs = node.input.iter().filter(|i| !i.is_empty()).count();
    ensure!(
        inputs == dims.len(),
        "FeatureVectorizer has {inputs} inputs but {} inputdimensions",
        dims.len()
    );
    Ok((expand(FeatureVectorizer { dims }), vec![]))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FeatureVectorizer {
    dims: Vec<usize>,
}

impl FeatureVectorizer {
    fn total(&self) -> usize {
        self.dims.iter().sum()
    }
}

/// Rows of an input as onnxruntime counts them: a rank-1 input is one row.
fn rows(shape: &[usize]) -> usize {
    if shape.len() <= 1 {
        1
    } else {
        shape[0]
    }
}

fn batch(fact: &TypedFact) -> TDim {
    if fact.rank() <= 1 {
        1.to_dim()
    } else {
        fact.shape[0].clone()
    }
}

impl Expansion for FeatureVectorizer {
    fn name(&self) -> StaticName {
        "FeatureVectorizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, self.dims.len())?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&outputs[0].shape[1], self.total().to_dim())?;
        s.given(&inputs[0].rank, move |s, rank| {
            if rank <= 1 {
                s.equals(&outputs[0].shape[0], 1.to_dim())
            } else {
                s.equals(&outputs[0].shape[0], &inputs[0].shape[0])
            }
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

impl Op for FeatureVectorizer {
    fn name(&self) -> StaticName {
        "FeatureVectorizer".into()
    }

    op_as_typed_op!();
}

impl EvalOp for FeatureVectorizer {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(
            inputs.len() == self.dims.len(),
            "FeatureVectorizer input count mismatch"
        );
        let n = rows(inputs[0].shape());
        let total = self.total();
        let mut y = vec![0f32; n * total];
        let mut offset = 0;
        for (input, &width) in inputs.iter().zip(&self.dims) {
            ensure!(
                rows(input.shape()) == n,
                "FeatureVectorizer inputs have different batch sizes ({n} and {})",
                rows(input.shape())
            );
            let x = input.cast_to::<f32>()?;
            let x = x.try_as_plain_ram()?.as_slice::<f32>()?;
            let row_len = x.len().checked_div(n).unwrap_or(0);
            let copied = row_len.min(width);
            if row_len > 0 {
                for (row, out) in x.chunks(row_len).zip(y.chunks_mut(total)) {
                    out[offset..offset + copied].copy_from_slice(&row[..copied]);
                }
            }
            offset += width;
        }
        Ok(tvec!(tensor1(&y).into_shape(&[n, total])?.into_tvalue()))
    }
}

impl TypedOp for FeatureVectorizer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        for fact in inputs {
            // the ONNX schema binds every input to the one type T1
            ensure!(
                fact.datum_type == inputs[0].datum_type,
                "FeatureVectorizer inputs must all have one type, got {:?} and {:?}",
                inputs[0].datum_type,
                fact.datum_type
            );
            ensure!(
                matches!(
                    fact.datum_type,
                    DatumType::F32 | DatumType::F64 | DatumType::I64 | DatumType::I32
                ),
                "FeatureVectorizer takes float, double, int64 or int32 inputs, got {:?}",
                fact.datum_type
            );
        }
        Ok(tvec!(f32::fact([batch(inputs[0]), self.total().to_dim()])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    #[test]
    fn concatenates_cuts_and_pads() -> TractResult<()> {
        let out = NodeModel::new(
            "FeatureVectorizer",
            vec![ints("inputdimensions", &[1, 3, 2])],
        )
        .run(vec![
            f32s(&[[1.0], [2.0]]),
            f32s(&[[10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]),
            f32s(&[[5.0, 6.0, 7.0], [8.0, 9.0, 10.0]]),
        ])?;
        let expected = f32s(&[
            [1.0, 10.0, 11.0, 12.0, 5.0, 6.0],
            [2.0, 20.0, 21.0, 22.0, 8.0, 9.0],
        ]);
        assert_close(&out[0], &expected, 0.0);
        let out = NodeModel::new("FeatureVectorizer", vec![ints("inputdimensions", &[3])])
            .run(vec![f32s(&[[1.0, 2.0]])])?;
        assert_close(&out[0], &f32s(&[[1.0, 2.0, 0.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn int64_inputs_give_floats() -> TractResult<()> {
        let out = NodeModel::new("FeatureVectorizer", vec![ints("inputdimensions", &[2, 1])])
            .run(vec![tensor2(&[[1i64, 2]]), tensor2(&[[3i64, 4]])])?;
        assert_close(&out[0], &f32s(&[[1.0, 2.0, 3.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn rejects_a_dimension_count_mismatch_and_mixed_types() {
        let fv = || NodeModel::new("FeatureVectorizer", vec![ints("inputdimensions", &[1, 1])]);
        assert!(fv().run(vec![f32s(&[[1.0]])]).is_err());
        assert!(fv().run(vec![f32s(&[[1.0]]), tensor2(&[[1i64]])]).is_err());
    }
}
