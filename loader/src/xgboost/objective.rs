//! XGBoost objectives: how `base_score` becomes a margin (`ProbToMargin`) and how margins
//! become predictions (`PredTransform`), in `f32` as XGBoost computes them
//! (`src/objective/regression_loss.h`, `multiclass_obj.cu`).

use super::error::XgbError;
pub(crate) use crate::outputs::argmax;

/// The output transform an objective applies to the summed margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Objective {
    /// Margins are predictions (`reg:squarederror`, `reg:absoluteerror`, `rank:*` ...).
    Identity,
    /// `1 / (1 + exp(-m))` with a logit base score (`binary:logistic`, `reg:logistic`).
    Logistic,
    /// Margins as-is (`binary:logitraw`); xgboost 3.2 adds `base_score` untransformed
    /// (verified against `Booster.predict`).
    LogitRaw,
    /// `m > 0 ? 1 : 0` (`binary:hinge`).
    Hinge,
    /// `exp(m)` with a log base score (`count:poisson`, `reg:gamma`, `reg:tweedie`,
    /// `survival:cox`, `survival:aft`).
    Exp,
    /// Softmax over the groups (`multi:softprob`).
    Softprob,
    /// The index of the largest margin (`multi:softmax`).
    Softmax,
}

impl Objective {
    /// The objective of an XGBoost objective name.
    pub(crate) fn from_name(name: &str) -> Result<Self, XgbError> {
        Ok(match name {
            "reg:squarederror"
            | "reg:linear"
            | "reg:squaredlogerror"
            | "reg:pseudohubererror"
            | "reg:absoluteerror"
            | "reg:quantileerror"
            | "rank:pairwise"
            | "rank:ndcg"
            | "rank:map" => Self::Identity,
            "binary:logistic" | "reg:logistic" => Self::Logistic,
            "binary:logitraw" => Self::LogitRaw,
            "binary:hinge" => Self::Hinge,
            "count:poisson" | "reg:gamma" | "reg:tweedie" | "survival:cox" | "survival:aft" => {
                Self::Exp
            }
            "multi:softprob" => Self::Softprob,
            "multi:softmax" => Self::Softmax,
            other => return Err(XgbError::Unsupported(format!("objective {other:?}"))),
        })
    }

    /// Whether the objective is a multiclass one (one output group per class).
    pub(crate) fn is_multiclass(self) -> bool {
        matches!(self, Self::Softprob | Self::Softmax)
    }

    /// `ProbToMargin`: the margin a `base_score` stands for.
    pub(crate) fn prob_to_margin(self, base_score: f32) -> f32 {
        match self {
            Self::Logistic => -(1.0f32 / base_score - 1.0).ln(),
            Self::Exp => base_score.ln(),
            Self::Identity | Self::LogitRaw | Self::Hinge | Self::Softprob | Self::Softmax => {
                base_score
            }
        }
    }

    /// Applies the transform to row-major margins of `groups` columns, in place. Softmax
    /// (`multi:softmax`) leaves one column: the winning class index, as a float.
    pub(crate) fn transform(self, margins: &mut Vec<f32>, groups: usize) {
        match self {
            Self::Identity | Self::LogitRaw => {}
            Self::Logistic => margins.iter_mut().for_each(|m| *m = sigmoid(*m)),
            Self::Hinge => margins
                .iter_mut()
                .for_each(|m| *m = if *m > 0.0 { 1.0 } else { 0.0 }),
            Self::Exp => margins.iter_mut().for_each(|m| *m = m.exp()),
            Self::Softprob => margins.chunks_mut(groups.max(1)).for_each(softmax),
            Self::Softmax => {
                *margins = margins
                    .chunks(groups.max(1))
                    .map(|row| argmax(row) as f32)
                    .collect();
            }
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// XGBoost's `Softmax` (`src/common/math.h`): subtract the maximum, exponentiate in `f32`,
/// sum in `f64` (its `wsum` is a double), then divide by that sum cast to `f32`.
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += f64::from(*v);
    }
    let sum = sum as f32;
    row.iter_mut().for_each(|v| *v /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_match_xgboost() {
        let logistic = Objective::from_name("binary:logistic").unwrap();
        assert!((logistic.prob_to_margin(0.5)).abs() < 1e-7);
        let mut m = vec![0.0f32, 2.0];
        logistic.transform(&mut m, 1);
        assert_eq!(m[0], 0.5);
        let exp = Objective::from_name("count:poisson").unwrap();
        assert!((exp.prob_to_margin(1.0)).abs() < 1e-7);
        let mut m = vec![1.0f32, 3.0, 2.0, 5.0, 0.0, 1.0];
        Objective::Softmax.transform(&mut m, 3);
        assert_eq!(m, vec![1.0, 0.0]);
        let mut p = vec![0.0f32, 0.0];
        Objective::Softprob.transform(&mut p, 2);
        assert_eq!(p, vec![0.5, 0.5]);
        assert!(Objective::from_name("rank:unknown").is_err());
    }
}
