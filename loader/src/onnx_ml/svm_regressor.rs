//! `SVMRegressor` (ai.onnx.ml 1): `sum_v coefficients[v] K(x, sv_v) + rho[0]` over `n_supports`
//! support vectors, or `<x, coefficients> + rho[0]` when there are none, then `+1`/`-1` by sign
//! when `one_class` is set; one output column `[N, 1]`
//! (`onnxruntime/core/providers/cpu/ml/svmregressor.cc`).
//!
//! onnxruntime reads `post_transform` but never applies it to the regressor's output; neither
//! does ironflow.

use super::batch::{as_f32, batch_dim, is_numeric_input, rows_features};
use super::expansion::{regressor_rules, wire_op};
use super::svm::{check_features, dot, Kernel};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `SVMRegressor` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("SVMRegressor", svm_regressor);
}

fn svm_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let supports = node.get_attr_opt::<i64>("n_supports")?.unwrap_or(0);
    let supports = usize::try_from(supports)
        .map_err(|_| format_err!("SVMRegressor: negative n_supports {supports}"))?;
    let support_vectors: Vec<f32> = node
        .get_attr_opt_vec("support_vectors")?
        .unwrap_or_default();
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    let rho: Vec<f32> = node.get_attr_opt_vec("rho")?.unwrap_or_default();
    ensure!(!coefficients.is_empty(), "SVMRegressor has no coefficients");
    ensure!(!rho.is_empty(), "SVMRegressor has no rho");
    let (kernel, features) = if supports > 0 {
        ensure!(
            support_vectors.len().is_multiple_of(supports) && !support_vectors.is_empty(),
            "SVMRegressor: {} support vector values do not make {supports} vectors",
            support_vectors.len()
        );
        ensure!(
            coefficients.len() >= supports,
            "SVMRegressor has {} coefficients for {supports} support vectors",
            coefficients.len()
        );
        (Kernel::parse(node)?, support_vectors.len() / supports)
    } else {
        (Kernel::linear(), coefficients.len())
    };
    let op = SvmRegressor {
        kernel,
        supports,
        features,
        support_vectors,
        coefficients,
        rho: rho[0],
        one_class: node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0,
    };
    Ok((expand(op), vec![]))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq)]
struct SvmRegressor {
    kernel: Kernel,
    /// Number of support vectors, 0 for a linear model.
    supports: usize,
    features: usize,
    support_vectors: Vec<f32>,
    coefficients: Vec<f32>,
    rho: f32,
    one_class: bool,
}

impl Eq for SvmRegressor {}

impl SvmRegressor {
    fn predict(&self, x: &[f32]) -> f32 {
        let y = if self.supports > 0 {
            let kernels = self
                .support_vectors
                .chunks(self.features)
                .map(|sv| self.kernel.eval(x, sv));
            kernels
                .zip(&self.coefficients)
                .map(|(k, c)| k * c)
                .sum::<f32>()
                + self.rho
        } else {
            dot(x, &self.coefficients) + self.rho
        };
        match self.one_class {
            true if y > 0.0 => 1.0,
            true => -1.0,
            false => y,
        }
    }
}

impl Expansion for SvmRegressor {
    fn name(&self) -> StaticName {
        "SVMRegressor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        regressor_rules(s, inputs, outputs, 1)
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

impl Op for SvmRegressor {
    fn name(&self) -> StaticName {
        "SVMRegressor".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SvmRegressor {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (n, f) = rows_features("SVMRegressor", input.shape())?;
        check_features("SVMRegressor", f, self.features)?;
        let x = as_f32("SVMRegressor", &input)?;
        let x = x.try_as_plain_ram()?.as_slice::<f32>()?;
        let y: Vec<f32> = if f == 0 {
            vec![self.predict(&[]); n]
        } else {
            x.chunks(f).map(|row| self.predict(row)).collect()
        };
        Ok(tvec!(tensor1(&y).into_shape(&[n, 1])?.into_tvalue()))
    }
}

impl TypedOp for SvmRegressor {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(
            is_numeric_input(fact.datum_type),
            "SVMRegressor takes float, double, int64 or int32 inputs, got {:?}",
            fact.datum_type
        );
        let n = batch_dim("SVMRegressor", fact)?;
        if let Ok(f) = fact.shape[fact.rank() - 1].to_usize() {
            check_features("SVMRegressor", f, self.features)?;
        }
        Ok(tvec!(f32::fact([n, 1.to_dim()])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    fn rbf(one_class: i64) -> NodeModel {
        NodeModel::new(
            "SVMRegressor",
            vec![
                string("kernel_type", "RBF"),
                floats("kernel_params", &[0.3, 0.1, 3.0]),
                int("n_supports", 2),
                floats("support_vectors", &[1.0, 2.0, 3.0, 0.0, 0.0, 1.0]),
                floats("coefficients", &[0.5, -1.0]),
                floats("rho", &[0.25]),
                int("one_class", one_class),
            ],
        )
    }

    #[test]
    fn kernel_expansion_and_one_class() -> TractResult<()> {
        let x = f32s(&[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]);
        // 0.5 * exp(-0.3 * d1) - exp(-0.3 * d2) + 0.25
        let y = |d1: f32, d2: f32| 0.5 * (-0.3 * d1).exp() - (-0.3 * d2).exp() + 0.25;
        let expected = f32s(&[[y(0.0, 9.0)], [y(14.0, 1.0)]]);
        assert_close(&rbf(0).run(vec![x.clone()])?[0], &expected, 1e-6);
        assert_close(&rbf(1).run(vec![x])?[0], &f32s(&[[1.0], [-1.0]]), 0.0);
        Ok(())
    }

    #[test]
    fn linear_mode_and_rank_one() -> TractResult<()> {
        let lin = NodeModel::new(
            "SVMRegressor",
            vec![
                floats("coefficients", &[0.5, -1.0, 2.0]),
                floats("rho", &[0.25]),
            ],
        );
        let out = lin.run(vec![f32s(&[[1.0, 1.0, 1.0]])])?;
        assert_close(&out[0], &f32s(&[[1.75]]), 1e-6);
        let out = rbf(0).run(vec![tensor1(&[1f32, 2.0, 3.0])])?;
        assert_eq!(out[0].shape(), &[1, 1]);
        Ok(())
    }

    #[test]
    fn rejects_wrong_feature_counts() {
        assert!(rbf(0).run(vec![f32s(&[[1.0, 2.0]])]).is_err());
    }
}
