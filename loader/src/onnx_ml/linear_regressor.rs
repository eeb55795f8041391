//! `LinearRegressor` (ai.onnx.ml 1), replacing tract's: `targets` linear models (default 1),
//! `intercepts` used only when there is one per target, and `post_transform` applied as
//! onnxruntime does, which for a single target is PROBIT only
//! (`onnxruntime/core/providers/cpu/ml/linearregressor.cc`, `ml_common.h`).

use super::expansion::regressor_rules;
use super::linear::Affine;
use super::post_transform::{probit, PostTransform};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `LinearRegressor` builder, replacing tract's.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("LinearRegressor", linear_regressor);
}

fn linear_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let targets = node.get_attr_opt::<i64>("targets")?.unwrap_or(1);
    let targets = usize::try_from(targets)
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| format_err!("LinearRegressor: targets must be positive, got {targets}"))?;
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    ensure!(
        !coefficients.is_empty(),
        "LinearRegressor has no coefficients"
    );
    let intercepts: Option<Vec<f32>> = node.get_attr_opt_vec("intercepts")?;
    let post_transform = PostTransform::parse(
        node.get_attr_opt::<&str>("post_transform")?
            .unwrap_or("NONE"),
    )?;
    let affine = Affine {
        coefficients,
        // onnxruntime ignores intercepts whose count is not the target count
        intercepts: intercepts.filter(|i| i.len() == targets),
        targets,
    };
    Ok((
        expand(LinearRegressor {
            affine,
            post_transform,
        }),
        vec![],
    ))
}

/// The inference-time expansion.
#[derive(Debug, Clone, PartialEq)]
struct LinearRegressor {
    affine: Affine,
    post_transform: PostTransform,
}

impl Expansion for LinearRegressor {
    fn name(&self) -> StaticName {
        "LinearRegressor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        regressor_rules(s, inputs, outputs, self.affine.targets)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let scores = self
            .affine
            .wire("LinearRegressor", prefix, model, inputs[0])?;
        // onnxruntime transforms a single score only with PROBIT, and rows of several otherwise
        let transformed = match (self.affine.targets, self.post_transform) {
            (_, PostTransform::None) => false,
            (1, pt) => pt == PostTransform::Probit,
            _ => true,
        };
        if !transformed {
            return Ok(tvec!(scores));
        }
        let op = RowTransform {
            post_transform: self.post_transform,
        };
        model.wire_node(format!("{prefix}.post_transform"), op, &[scores])
    }
}

/// Applies a post-transform to each row of `[N, targets]` scores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RowTransform {
    post_transform: PostTransform,
}

impl Op for RowTransform {
    fn name(&self) -> StaticName {
        "LinearRegressorPostTransform".into()
    }

    op_as_typed_op!();
}

impl EvalOp for RowTransform {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut scores = args_1!(inputs).into_tensor();
        let targets = scores.shape()[1];
        let mut view = scores.try_as_plain_ram_mut()?;
        let values = view.as_slice_mut::<f32>()?;
        if targets == 1 {
            values.iter_mut().for_each(|v| *v = probit(*v));
        } else if targets > 1 {
            values
                .chunks_mut(targets)
                .for_each(|row| self.post_transform.apply_row(row));
        }
        Ok(tvec!(scores.into_tvalue()))
    }
}

impl TypedOp for RowTransform {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::pb::AttributeProto;
    use tract_onnx::prelude::*;

    fn x() -> Tensor {
        f32s(&[[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]])
    }

    fn regress(attrs: Vec<AttributeProto>, x: Tensor) -> TractResult<Tensor> {
        Ok(NodeModel::new("LinearRegressor", attrs)
            .run(vec![x])?
            .remove(0))
    }

    fn one_target(pt: &str) -> Vec<AttributeProto> {
        vec![
            floats("coefficients", &[0.3, -0.2]),
            floats("intercepts", &[0.05]),
            string("post_transform", pt),
        ]
    }

    fn two_targets(pt: &str) -> Vec<AttributeProto> {
        vec![
            floats("coefficients", &[0.3, -0.2, 0.1, 0.2]),
            floats("intercepts", &[0.05, 0.1]),
            int("targets", 2),
            string("post_transform", pt),
        ]
    }

    #[test]
    fn single_target_ignores_all_but_probit() -> TractResult<()> {
        // onnxruntime 1.32
        let raw = f32s(&[[-0.05], [-0.35], [0.05]]);
        for pt in ["NONE", "LOGISTIC", "SOFTMAX"] {
            assert_close(&regress(one_target(pt), x())?, &raw, 1e-6);
        }
        let probit = f32s(&[[f32::NAN], [f32::NAN], [-1.644_669_7]]);
        assert_close(&regress(one_target("PROBIT"), x())?, &probit, 1e-5);
        Ok(())
    }

    #[test]
    fn several_targets_transform_rows() -> TractResult<()> {
        let raw = f32s(&[[-0.05, 0.6], [-0.35, 0.1], [0.05, 0.1]]);
        assert_close(&regress(two_targets("NONE"), x())?, &raw, 1e-6);
        let logistic = f32s(&[
            [0.487_502_6, 0.645_656_3],
            [0.413_382_4, 0.524_979_2],
            [0.512_497_4, 0.524_979_2],
        ]);
        assert_close(&regress(two_targets("LOGISTIC"), x())?, &logistic, 1e-6);
        let softmax = f32s(&[
            [0.342_989_5, 0.657_010_5],
            [0.389_360_8, 0.610_639_3],
            [0.487_502_6, 0.512_497_4],
        ]);
        assert_close(&regress(two_targets("SOFTMAX"), x())?, &softmax, 1e-6);
        Ok(())
    }

    #[test]
    fn intercepts_of_the_wrong_count_are_ignored() -> TractResult<()> {
        let attrs = vec![
            floats("coefficients", &[0.3, -0.2]),
            floats("intercepts", &[1.0, 2.0]),
        ];
        assert_close(&regress(attrs, x())?, &f32s(&[[-0.1], [-0.4], [0.0]]), 1e-6);
        Ok(())
    }

    #[test]
    fn rank_one_input_and_feature_mismatch() -> TractResult<()> {
        let out = regress(one_target("NONE"), tensor1(&[1f32, 2.0]))?;
        assert_close(&out, &f32s(&[[-0.05]]), 1e-6);
        assert!(regress(one_target("NONE"), f32s(&[[1.0, 2.0, 3.0]])).is_err());
        Ok(())
    }
}
