//! `ZipMap` (ai.onnx.ml 1). onnxruntime turns `[N, C]` probabilities into a sequence of
//! `{label: probability}` maps; ironflow answers with the probabilities themselves, one FP32
//! `[N, C]` tensor in class order, so the op hands its input through unchanged.
//!
//! The graph output of a ZipMap is typed `seq(map(...))`, which tract's protobuf reader cannot
//! represent: it decodes that `TypeProto` with no value, so the output fact stays unconstrained
//! and the fact declared here is the one the model ends up with.

use super::expansion::{elementwise_rules, wire_op};
use super::labels::ClassLabels;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `ZipMap` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("ZipMap", zipmap);
}

fn zipmap(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = ClassLabels::parse(node, "classlabels_int64s")?;
    Ok((
        expand(ZipMap {
            classes: labels.len(),
        }),
        vec![],
    ))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ZipMap {
    classes: usize,
}

impl Expansion for ZipMap {
    fn name(&self) -> StaticName {
        "ZipMap".into()
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
        wire_op(self.clone(), prefix, model, inputs)
    }
}

impl Op for ZipMap {
    fn name(&self) -> StaticName {
        "ZipMap".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ZipMap {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        Ok(inputs)
    }
}

impl TypedOp for ZipMap {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(
            fact.datum_type == DatumType::F32,
            "ZipMap takes float probabilities, got {:?}",
            fact.datum_type
        );
        ensure!(
            fact.rank() == 2,
            "ZipMap takes [N, classes] probabilities, got {fact:?}"
        );
        if let Ok(c) = fact.shape[1].to_i64() {
            ensure!(
                c as usize == self.classes,
                "ZipMap has {} class labels but its input has {c} columns",
                self.classes
            );
        }
        Ok(tvec!(f32::fact(fact.shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    #[test]
    fn hands_probabilities_through() -> TractResult<()> {
        let p = f32s(&[[0.25, 0.75], [1.0, 0.0]]);
        let out = NodeModel::new(
            "ZipMap",
            vec![strings("classlabels_strings", &["no", "yes"])],
        )
        .run(vec![p.clone()])?;
        assert_eq!(out[0], p);
        Ok(())
    }

    #[test]
    fn rejects_a_class_count_mismatch() {
        let zipmap = NodeModel::new("ZipMap", vec![ints("classlabels_int64s", &[0, 1, 2])]);
        assert!(zipmap.run(vec![f32s(&[[0.25, 0.75]])]).is_err());
    }
}
