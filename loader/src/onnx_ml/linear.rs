//! The affine part shared by `LinearClassifier` and `LinearRegressor`: `scores = X W^T + b`,
//! wired as a tract matmul. onnxruntime casts double and integer inputs to float first and
//! treats a rank-1 input as one row (`onnxruntime/core/providers/cpu/ml/linearclassifier.cc`).

use super::batch::{feature_count, is_numeric_input, wire_int64_inputs};
use std::str::FromStr;
use tract_onnx::tract_core::ops::{cast::cast, einsum::EinSum, math};
use tract_onnx::tract_hir::internal::*;

/// Coefficients of `targets` linear models over the same features.
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    /// `[targets, features]`, row-major, as the ONNX attribute lays them out.
    pub coefficients: Vec<f32>,
    /// One intercept per target, or none.
    pub intercepts: Option<Vec<f32>>,
    /// Number of linear models.
    pub targets: usize,
}

impl Affine {
    /// Wires `input -> [N, targets]` f32 scores.
    pub fn wire(
        &self,
        op: &str,
        prefix: &str,
        model: &mut TypedModel,
        input: OutletId,
    ) -> TractResult<OutletId> {
        let input = wire_int64_inputs(prefix, model, &[input])?[0];
        let fact = model.outlet_fact(input)?.clone();
        ensure!(
            is_numeric_input(fact.datum_type),
            "{op} takes float, double, int64 or int32 inputs, got {:?}",
            fact.datum_type
        );
        let features = feature_count(op, &fact)?;
        ensure!(
            self.coefficients.len() == self.targets * features,
            "{op} has {} coefficients for {} targets but its input has {features} features",
            self.coefficients.len(),
            self.targets
        );
        let mut x = input;
        if fact.datum_type != DatumType::F32 {
            x = model.wire_node(format!("{prefix}.to_f32"), cast(DatumType::F32), &[x])?[0];
        }
        if fact.rank() == 1 {
            x = model.wire_node(format!("{prefix}.add_batch_axis"), AxisOp::Add(0), &[x])?[0];
        }
        let w = tensor1(&self.coefficients)
            .into_shape(&[self.targets, features])?
            .permute_axes(&[1, 0])?;
        let w = model.add_const(format!("{prefix}.coefficients"), w)?;
        let einsum = EinSum::new(AxesMapping::from_str("nk,km->nm")?, DatumType::F32);
        let mut scores = model.wire_node(format!("{prefix}.matmul"), einsum, &[x, w])?[0];
        if let Some(intercepts) = &self.intercepts {
            let b = tensor1(intercepts).into_shape(&[1, self.targets])?;
            let b = model.add_const(format!("{prefix}.intercepts"), b)?;
            scores = model.wire_node(
                format!("{prefix}.add_intercepts"),
                math::add(),
                &[scores, b],
            )?[0];
        }
        Ok(scores)
    }
}
