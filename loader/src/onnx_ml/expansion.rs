//! What the operators' tract `Expansion`s share: the inference rules of the elementwise
//! operators, the regressors and the classifiers, and wiring an operator that evaluates itself.

use super::batch::wire_int64_inputs;
use tract_onnx::tract_hir::internal::*;

/// One input, one output of the input's shape, typed `datum_type` (`None`: the input's type).
pub fn elementwise_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    datum_type: Option<DatumType>,
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1)?;
    match datum_type {
        Some(dt) => s.equals(&outputs[0].datum_type, dt)?,
        None => s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?,
    }
    s.equals(&inputs[0].shape, &outputs[0].shape)?;
    Ok(())
}

/// One input, one output: f32 scores `[N, targets]`.
pub fn regressor_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    targets: usize,
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1)?;
    s.equals(&outputs[0].datum_type, DatumType::F32)?;
    s.equals(&outputs[0].rank, 2)?;
    s.equals(&outputs[0].shape[1], targets.to_dim())?;
    batch_rule(s, &inputs[0], &outputs[0])
}

/// One input, two outputs: labels `[N]` of type `labels` and f32 scores `[N, score_columns]`.
pub fn classifier_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    labels: DatumType,
    score_columns: usize,
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 2)?;
    s.equals(&outputs[0].datum_type, labels)?;
    s.equals(&outputs[1].datum_type, DatumType::F32)?;
    s.equals(&outputs[0].rank, 1)?;
    s.equals(&outputs[1].rank, 2)?;
    s.equals(&outputs[1].shape[1], score_columns.to_dim())?;
    s.equals(&outputs[0].shape[0], &outputs[1].shape[0])?;
    batch_rule(s, &inputs[0], &outputs[0])
}

/// `output`'s dim 0 is the batch: one row for a rank-1 `input`, else `input`'s dim 0.
fn batch_rule<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    input: &'p TensorProxy,
    output: &'p TensorProxy,
) -> InferenceResult {
    s.given(&input.rank, move |s, rank| {
        if rank == 1 {
            s.equals(&output.shape[0], 1.to_dim())
        } else {
            s.equals(&output.shape[0], &input.shape[0])
        }
    })
}

/// Wires `op` itself on `inputs`, TDim inputs cast to int64 first ([`wire_int64_inputs`]).
pub fn wire_op(
    op: impl Into<Box<dyn TypedOp>>,
    prefix: &str,
    model: &mut TypedModel,
    inputs: &[OutletId],
) -> TractResult<TVec<OutletId>> {
    let inputs = wire_int64_inputs(prefix, model, inputs)?;
    model.wire_node(prefix, op, &inputs)
}
