//! LightGBM objectives: the output transform `Booster.predict` applies to raw scores
//! (`ObjectiveFunction::ConvertOutput` in `src/objective/*.hpp`), computed in `f64`.

use super::error::LgbError;

/// An objective's output transform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Objective {
    /// Raw scores (`regression`, `l1`, `huber`, `fair`, `quantile`, `mape`, ranking, custom).
    Identity,
    /// `regression` with `sqrt`: `sign(x) * x^2`.
    SignedSquare,
    /// `1 / (1 + exp(-sigmoid * x))` (`binary`, and `multiclassova` per class).
    Sigmoid(f64),
    /// `multiclassova`: a sigmoid per class.
    SigmoidEach(f64),
    /// Softmax over the classes (`multiclass`).
    Softmax,
    /// `exp(x)` (`poisson`, `gamma`, `tweedie`).
    Exp,
    /// `1 / (1 + exp(-x))` (`cross_entropy`).
    CrossEntropy,
    /// `log(1 + exp(x))` (`cross_entropy_lambda`).
    CrossEntropyLambda,
}

impl Objective {
    /// Parses the header's `objective=` value: a name then `key:value` parameters
    /// (`binary sigmoid:1`, `multiclass num_class:3`, `regression sqrt`).
    pub(crate) fn parse(value: &str) -> Result<Self, LgbError> {
        let mut parts = value.split_whitespace();
        let name = parts.next().unwrap_or("regression");
        let params: Vec<&str> = parts.collect();
        let sigmoid = params
            .iter()
            .find_map(|p| p.strip_prefix("sigmoid:"))
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| LgbError::field("header", format!("bad sigmoid parameter {v:?}")))
            })
            .transpose()?
            .unwrap_or(1.0);
        Ok(match name {
            "regression"
            | "regression_l2"
            | "l2"
            | "mean_squared_error"
            | "mse"
            | "l2_root"
            | "root_mean_squared_error"
            | "rmse"
                if params.contains(&"sqrt") =>
            {
                Self::SignedSquare
            }
            "regression"
            | "regression_l2"
            | "l2"
            | "mean_squared_error"
            | "mse"
            | "l2_root"
            | "root_mean_squared_error"
            | "rmse"
            | "regression_l1"
            | "l1"
            | "mean_absolute_error"
            | "mae"
            | "huber"
            | "fair"
            | "quantile"
            | "mape"
            | "mean_absolute_percentage_error"
            | "lambdarank"
            | "rank_xendcg"
            | "xendcg"
            | "xe_ndcg"
            | "xe_ndcg_mart"
            | "xendcg_mart"
            | "custom"
            | "none"
            | "null"
            | "na" => Self::Identity,
            "binary" => Self::Sigmoid(sigmoid),
            "multiclass" | "softmax" => Self::Softmax,
            "multiclassova" | "multiclass_ova" | "ova" | "ovr" => Self::SigmoidEach(sigmoid),
            "poisson" | "gamma" | "tweedie" => Self::Exp,
            "cross_entropy" | "xentropy" => Self::CrossEntropy,
            "cross_entropy_lambda" | "xentlambda" => Self::CrossEntropyLambda,
            other => return Err(LgbError::Unsupported(format!("objective {other:?}"))),
        })
    }

    /// Transforms row-major raw scores of `classes` columns in place.
    pub(crate) fn transform(self, scores: &mut [f64], classes: usize) {
        match self {
            Self::Identity => {}
            Self::SignedSquare => scores.iter_mut().for_each(|x| *x = x.signum() * *x * *x),
            Self::Sigmoid(s) | Self::SigmoidEach(s) => scores
                .iter_mut()
                .for_each(|x| *x = 1.0 / (1.0 + (-s * *x).exp())),
            Self::Softmax => scores.chunks_mut(classes.max(1)).for_each(softmax),
            Self::Exp => scores.iter_mut().for_each(|x| *x = x.exp()),
            Self::CrossEntropy => scores
                .iter_mut()
                .for_each(|x| *x = 1.0 / (1.0 + (-*x).exp())),
            Self::CrossEntropyLambda => scores.iter_mut().for_each(|x| *x = x.exp().ln_1p()),
        }
    }
}

/// LightGBM's `Common::Softmax`: subtract the maximum, exponentiate, normalise.
fn softmax(row: &mut [f64]) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_params() {
        assert_eq!(
            Objective::parse("binary sigmoid:2").unwrap(),
            Objective::Sigmoid(2.0)
        );
        assert_eq!(
            Objective::parse("multiclass num_class:3").unwrap(),
            Objective::Softmax
        );
        assert_eq!(
            Objective::parse("regression sqrt").unwrap(),
            Objective::SignedSquare
        );
        assert_eq!(
            Objective::parse("tweedie tweedie_variance_power:1.5").unwrap(),
            Objective::Exp
        );
        assert!(Objective::parse("mystery").is_err());
        let mut s = vec![0.0, 1.0_f64.ln()];
        Objective::Sigmoid(1.0).transform(&mut s, 1);
        assert_eq!(s[0], 0.5);
        assert!((s[1] - 0.5).abs() < 1e-12);
    }
}
