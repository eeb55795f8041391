//! `LinearClassifier` (ai.onnx.ml 1), replacing tract's (which rejects PROBIT and SOFTMAX_ZERO),
//! with onnxruntime's semantics (`onnxruntime/core/providers/cpu/ml/linearclassifier.cc`,
//! `ml_common.h`, checked against onnxruntime 1.32):
//!
//! - one linear model per intercept; the label is the first highest raw score's class;
//! - a single model (one intercept) needs two labels: the label is `labels[1]` when the raw
//!   score `s` is positive, and the scores are `[1 - p, p]` with `p = logistic(s)` for LOGISTIC
//!   and `p = s` for NONE, SOFTMAX and SOFTMAX_ZERO. For PROBIT onnxruntime writes `probit(s)`
//!   of the N rows packed at the start of the `[N, 2]` output and leaves the rest of the buffer
//!   unwritten; ironflow reproduces the packed values and writes zeros where onnxruntime leaves
//!   garbage;
//! - several models: the post-transform applies to each row of scores.
//!
//! `multi_class` does not change the computation in onnxruntime and is ignored here too.

use super::expansion::classifier_rules;
use super::labels::{first_max, ClassLabels};
use super::linear::Affine;
use super::post_transform::{logistic, probit, PostTransform};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `LinearClassifier` builder, replacing tract's.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("LinearClassifier", linear_classifier);
}

fn linear_classifier(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = ClassLabels::parse(node, "classlabels_ints")?;
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    ensure!(
        !coefficients.is_empty(),
        "LinearClassifier has no coefficients"
    );
    let intercepts: Vec<f32> = node.get_attr_opt_vec("intercepts")?.unwrap_or_default();
    ensure!(
        !intercepts.is_empty(),
        "LinearClassifier: intercepts must not be empty"
    );
    let targets = intercepts.len();
    if targets == 1 {
        ensure!(
            labels.len() == 2,
            "LinearClassifier with one set of coefficients needs two class labels, got {}",
            labels.len()
        );
    } else {
        ensure!(
            labels.len() >= targets,
            "LinearClassifier has {targets} sets of coefficients but {} class labels",
            labels.len()
        );
    }
    let post_transform = PostTransform::parse(
        node.get_attr_opt::<&str>("post_transform")?
            .unwrap_or("NONE"),
    )?;
    let affine = Affine {
        coefficients,
        intercepts: Some(intercepts),
        targets,
    };
    let head = ClassifierHead {
        labels,
        post_transform,
    };
    Ok((expand(LinearClassifier { affine, head }), vec![]))
}

/// The inference-time expansion: the affine scores, then the head.
#[derive(Debug, Clone, PartialEq)]
struct LinearClassifier {
    affine: Affine,
    head: ClassifierHead,
}

impl LinearClassifier {
    fn score_columns(&self) -> usize {
        self.affine.targets.max(2)
    }
}

impl Expansion for LinearClassifier {
    fn name(&self) -> StaticName {
        "LinearClassifier".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        classifier_rules(
            s,
            inputs,
            outputs,
            self.head.labels.datum_type(),
            self.score_columns(),
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let scores = self
            .affine
            .wire("LinearClassifier", prefix, model, inputs[0])?;
        model.wire_node(format!("{prefix}.head"), self.head.clone(), &[scores])
    }
}

/// Turns `[N, targets]` raw scores into labels `[N]` and final scores `[N, max(targets, 2)]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClassifierHead {
    labels: ClassLabels,
    post_transform: PostTransform,
}

impl ClassifierHead {
    fn eval_binary(&self, raw: &[f32]) -> TractResult<(Vec<usize>, Vec<f32>)> {
        let classes = raw.iter().map(|&s| usize::from(s > 0.0)).collect();
        let mut scores = vec![0f32; raw.len() * 2];
        match self.post_transform {
            PostTransform::Probit => {
                scores
                    .iter_mut()
                    .zip(raw)
                    .for_each(|(o, &s)| *o = probit(s));
            }
            pt => {
                for (row, &s) in scores.chunks_mut(2).zip(raw) {
                    let p = if pt == PostTransform::Logistic {
                        logistic(s)
                    } else {
                        s
                    };
                    row[0] = 1.0 - p;
                    row[1] = p;
                }
            }
        }
        Ok((classes, scores))
    }

    fn eval_multi(&self, raw: &[f32], targets: usize) -> TractResult<(Vec<usize>, Vec<f32>)> {
        let mut scores = raw.to_vec();
        let mut classes = Vec::with_capacity(raw.len() / targets);
        for row in scores.chunks_mut(targets) {
            classes.push(first_max(row));
            self.post_transform.apply_row(row);
        }
        Ok((classes, scores))
    }
}

impl Op for ClassifierHead {
    fn name(&self) -> StaticName {
        "LinearClassifierHead".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ClassifierHead {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let raw = args_1!(inputs);
        let (n, targets) = (raw.shape()[0], raw.shape()[1]);
        let values = raw.try_as_plain_ram()?.as_slice::<f32>()?;
        let (classes, scores) = if targets == 1 {
            self.eval_binary(values)?
        } else {
            self.eval_multi(values, targets)?
        };
        let labels = self.labels.pick(&classes)?;
        let scores = tensor1(&scores).into_shape(&[n, targets.max(2)])?;
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}

impl TypedOp for ClassifierHead {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        let targets = inputs[0].shape[1].to_usize()?;
        Ok(tvec!(
            self.labels.datum_type().fact([n.clone()]),
            f32::fact([n, targets.max(2).to_dim()])
        ))
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

    fn classify(attrs: Vec<AttributeProto>, x: Tensor) -> TractResult<TVec<Tensor>> {
        NodeModel::new("LinearClassifier", attrs)
            .outputs(2)
            .run(vec![x])
    }

    fn binary(pt: &str) -> Vec<AttributeProto> {
        vec![
            ints("classlabels_ints", &[3, 7]),
            floats("coefficients", &[0.3, -0.2]),
            floats("intercepts", &[0.05]),
            string("post_transform", pt),
        ]
    }

    fn three_classes(pt: &str) -> Vec<AttributeProto> {
        vec![
            ints("classlabels_ints", &[0, 1, 2]),
            floats("coefficients", &[0.3, -0.2, 0.1, 0.1, -0.5, 0.4]),
            floats("intercepts", &[0.05, 0.0, -0.1]),
            string("post_transform", pt),
        ]
    }

    #[test]
    fn binary_single_model() -> TractResult<()> {
        // onnxruntime 1.32, raw scores [-0.05, -0.35, 0.05]
        for pt in ["NONE", "SOFTMAX", "SOFTMAX_ZERO"] {
            let out = classify(binary(pt), x())?;
            assert_eq!(out[0], tensor1(&[3i64, 3, 7]));
            let expected = f32s(&[[1.05, -0.05], [1.35, -0.35], [0.95, 0.05]]);
            assert_close(&out[1], &expected, 1e-6);
        }
        let out = classify(binary("LOGISTIC"), x())?;
        let expected = f32s(&[
            [0.512_497_4, 0.487_502_6],
            [0.586_617_6, 0.413_382_4],
            [0.487_502_6, 0.512_497_4],
        ]);
        assert_close(&out[1], &expected, 1e-6);
        // PROBIT: onnxruntime packs probit(s) for the 3 rows into the first 3 slots
        let out = classify(binary("PROBIT"), x())?;
        let expected = f32s(&[[f32::NAN, f32::NAN], [-1.644_669_7, 0.0], [0.0, 0.0]]);
        assert_close(&out[1], &expected, 1e-5);
        Ok(())
    }

    #[test]
    fn string_labels() -> TractResult<()> {
        let mut attrs = binary("NONE");
        attrs[0] = strings("classlabels_strings", &["no", "yes"]);
        let out = classify(attrs, x())?;
        assert_eq!(out[0], strs(&[3], &["no", "no", "yes"]));
        Ok(())
    }

    #[test]
    fn multiclass_post_transforms() -> TractResult<()> {
        // onnxruntime 1.32
        let raw = f32s(&[[-0.05, 0.3, 0.2], [-0.35, -0.05, 0.6], [0.05, 0.0, -0.1]]);
        let expected = [
            ("NONE", raw),
            (
                "LOGISTIC",
                f32s(&[
                    [0.487_502_6, 0.574_442_5, 0.549_834],
                    [0.413_382_4, 0.487_502_6, 0.645_656_3],
                    [0.512_497_4, 0.5, 0.475_020_8],
                ]),
            ),
            (
                "SOFTMAX",
                f32s(&[
                    [0.270_044_5, 0.383_211_4, 0.346_744_06],
                    [0.202_610_9, 0.273_496_1, 0.523_893],
                    [0.355_626_7, 0.338_282_6, 0.306_090_7],
                ]),
            ),
            (
                "SOFTMAX_ZERO",
                f32s(&[
                    [0.270_044_5, 0.383_211_4, 0.346_744_06],
                    [0.202_610_9, 0.273_496_1, 0.523_893],
                    [0.537_429_8, 0.0, 0.462_570_2],
                ]),
            ),
            (
                "PROBIT",
                f32s(&[
                    [f32::NAN, -0.524_445_9, -0.841_756_1],
                    [f32::NAN, f32::NAN, 0.253_353_5],
                    [-1.644_669_7, f32::NEG_INFINITY, f32::NAN],
                ]),
            ),
        ];
        for (pt, scores) in expected {
            let out = classify(three_classes(pt), x())?;
            assert_eq!(out[0], tensor1(&[1i64, 2, 0]), "{pt}");
            assert_close(&out[1], &scores, 1e-5);
        }
        Ok(())
    }

    #[test]
    fn ties_pick_the_first_class_and_inputs_are_cast() -> TractResult<()> {
        let mut attrs = three_classes("NONE");
        attrs[1] = floats("coefficients", &[0.0; 6]);
        attrs[2] = floats("intercepts", &[0.0; 3]);
        assert_eq!(classify(attrs, f32s(&[[1.0, 2.0]]))?[0], tensor1(&[0i64]));
        let out = classify(three_classes("NONE"), tensor2(&[[1i64, 2]]))?;
        assert_close(&out[1], &f32s(&[[-0.05, 0.3, 0.2]]), 1e-6);
        let out = classify(three_classes("NONE"), tensor1(&[1f64, 2.0]))?;
        assert_eq!(out[0], tensor1(&[1i64]));
        Ok(())
    }

    #[test]
    fn rejects_inconsistent_attributes() {
        let mut attrs = binary("NONE");
        attrs[0] = ints("classlabels_ints", &[3]);
        assert!(classify(attrs, x()).is_err());
        let mut attrs = three_classes("NONE");
        attrs[2] = floats("intercepts", &[]);
        assert!(classify(attrs, x()).is_err());
    }
}
