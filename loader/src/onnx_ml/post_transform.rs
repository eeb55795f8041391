//! The `post_transform` attribute shared by the ai.onnx.ml classifiers and regressors
//! (LinearClassifier, SVMClassifier, TreeEnsembleClassifier, ...), applied in place to score rows
//! exactly as onnxruntime does (`onnxruntime/core/providers/cpu/ml/ml_common.h`).

use tract_onnx::tract_core::internal::{bail, TractResult};

/// How raw scores are turned into the operator's output scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PostTransform {
    /// Scores are returned as computed.
    #[default]
    None,
    /// Softmax over each row.
    Softmax,
    /// Element-wise logistic sigmoid.
    Logistic,
    /// Softmax over each row, where zero scores stay zero and do not take part.
    SoftmaxZero,
    /// Element-wise inverse of the standard normal CDF (`sqrt(2) * erfinv(2p - 1)`).
    Probit,
}

impl PostTransform {
    /// Parses the ONNX attribute value (`NONE`, `SOFTMAX`, `LOGISTIC`, `SOFTMAX_ZERO`, `PROBIT`).
    pub fn parse(attr: &str) -> TractResult<Self> {
        Ok(match attr {
            "NONE" => Self::None,
            "SOFTMAX" => Self::Softmax,
            "LOGISTIC" => Self::Logistic,
            "SOFTMAX_ZERO" => Self::SoftmaxZero,
            "PROBIT" => Self::Probit,
            other => bail!("unknown post_transform {other:?}"),
        })
    }

    /// Applies the transform to one row of scores, in place.
    pub fn apply_row(self, row: &mut [f32]) {
        match self {
            Self::None => {}
            Self::Logistic => row.iter_mut().for_each(|v| *v = logistic(*v)),
            Self::Probit => row.iter_mut().for_each(|v| *v = probit(*v)),
            Self::Softmax => softmax(row),
            Self::SoftmaxZero => softmax_zero(row),
        }
    }
}

/// The logistic sigmoid, computed as onnxruntime's `ComputeLogistic`.
pub fn logistic(v: f32) -> f32 {
    let e = (-v.abs()).exp();
    let s = 1.0 / (1.0 + e);
    if v < 0.0 {
        1.0 - s
    } else {
        s
    }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// onnxruntime's `ComputeSoftmaxZero`: scores within 1e-7 of zero are not exponentiated but
/// scaled by `exp(-max)`, so an exact zero stays zero.
fn softmax_zero(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        if *v > 0.000_000_1 || *v < -0.000_000_1 {
            *v = (*v - max).exp();
            sum += *v;
        } else {
            *v *= exp_neg_max;
        }
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// `sqrt(2) * erfinv(2p - 1)`, with onnxruntime's `ErfInv` approximation (Giles' single-precision form).
pub fn probit(p: f32) -> f32 {
    std::f32::consts::SQRT_2 * erf_inv(2.0 * p - 1.0)
}

fn erf_inv(x: f32) -> f32 {
    let sgn = if x < 0.0 { -1.0f32 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    let log = x.ln();
    let v = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    let v3 = -v + (v * v - v2).sqrt();
    sgn * v3.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut row = [1.0f32, 2.0, 3.0];
        PostTransform::Softmax.apply_row(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((row[2] - 0.665_240_9).abs() < 1e-6);
    }

    #[test]
    fn softmax_zero_keeps_zeros() {
        let mut row = [0.0f32, 2.0, 2.0];
        PostTransform::SoftmaxZero.apply_row(&mut row);
        assert_eq!(row, [0.0, 0.5, 0.5]);
    }

    #[test]
    fn softmax_zero_scales_near_zero_scores_like_onnxruntime() {
        // onnxruntime 1.32, LinearClassifier SOFTMAX_ZERO on scores [0, 5e-8, 1]
        let mut row = [0.0f32, 5e-8, 1.0];
        PostTransform::SoftmaxZero.apply_row(&mut row);
        assert_eq!(row[0], 0.0);
        assert!((row[1] - 1.839_397_3e-8).abs() < 1e-14);
        assert!((row[2] - 1.0).abs() < 1e-7);
    }

    #[test]
    fn logistic_is_symmetric() {
        assert!((logistic(0.0) - 0.5).abs() < 1e-7);
        assert!((logistic(3.0) + logistic(-3.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn probit_inverts_the_normal_cdf() {
        // Phi(1.0) = 0.841344746
        assert!((probit(0.841_344_7) - 1.0).abs() < 5e-3);
        assert!(probit(0.5).abs() < 1e-6);
    }

    #[test]
    fn parse_rejects_unknown() {
        assert!(PostTransform::parse("BOGUS").is_err());
        assert_eq!(
            PostTransform::parse("PROBIT").ok(),
            Some(PostTransform::Probit)
        );
    }
}
