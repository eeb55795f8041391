//! QuantileTransformer: per feature, `0.5 * (interp(x, quantiles, references) -
//! interp(-x, -quantiles[::-1], -references[::-1]))` (both directions averaged, for repeated
//! quantiles), bounds pinned to 0 / 1 (within `1e-7` for the normal output), then for
//! `output_distribution="normal"` the normal quantile clipped as sklearn clips it. NaN stays NaN.

use crate::error::PredictError;
use crate::pyobj::Instance;

use crate::sklearn::numeric::{interp, norm_ppf};
use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

const BOUNDS_THRESHOLD: f64 = 1e-7;

struct Quantile {
    /// Per feature: quantiles ascending, and negated-reversed for the backward pass.
    columns: Vec<(Vec<f64>, Vec<f64>)>,
    references: Vec<f64>,
    neg_references_rev: Vec<f64>,
    normal: bool,
}

/// Compiles a fitted `sklearn.preprocessing.QuantileTransformer`.
pub fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let q = obj::f64_matrix(inst, "quantiles_", ctx)?;
    let references = obj::f64_vec(inst, "references_", ctx)?;
    if references.len() != q.rows() {
        return Err(ctx.invalid("references_ and quantiles_ disagree"));
    }
    let normal = match obj::opt_str(inst, "output_distribution").unwrap_or("uniform") {
        "uniform" => false,
        "normal" => true,
        other => return Err(ctx.invalid(format!("unknown output_distribution {other:?}"))),
    };
    let columns = (0..q.cols())
        .map(|c| {
            let col = q.column(c);
            let neg_rev = col.iter().rev().map(|v| -v).collect();
            (col, neg_rev)
        })
        .collect();
    Ok(Compiled::Transformer(Box::new(Quantile {
        columns,
        neg_references_rev: references.iter().rev().map(|v| -v).collect(),
        references,
        normal,
    })))
}

impl Quantile {
    fn one(&self, x: f64, quantiles: &[f64], neg_rev: &[f64]) -> f64 {
        let (lo, hi) = (quantiles[0], quantiles[quantiles.len() - 1]);
        let (at_lo, at_hi) = if self.normal {
            (x - BOUNDS_THRESHOLD < lo, x + BOUNDS_THRESHOLD > hi)
        } else {
            (x == lo, x == hi)
        };
        let mut y = if x.is_nan() {
            x
        } else {
            0.5 * (interp(x, quantiles, &self.references)
                - interp(-x, neg_rev, &self.neg_references_rev))
        };
        if at_hi {
            y = 1.0;
        }
        if at_lo {
            y = 0.0;
        }
        if self.normal {
            let clip_min = norm_ppf(BOUNDS_THRESHOLD - f64::EPSILON);
            let clip_max = norm_ppf(1.0 - (BOUNDS_THRESHOLD - f64::EPSILON));
            y = norm_ppf(y);
            if y < clip_min {
                y = clip_min;
            } else if y > clip_max {
                y = clip_max;
            }
        }
        y
    }
}

impl Transformer for Quantile {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        x.expect_cols(self.columns.len())?;
        if self.columns.iter().any(|(q, _)| q.is_empty()) {
            return Err(PredictError::Runtime(
                "QuantileTransformer has no quantiles".into(),
            ));
        }
        for row in x.row_iter_mut() {
            for (v, (q, neg)) in row.iter_mut().zip(&self.columns) {
                *v = self.one(*v, q, neg);
            }
        }
        Ok(x)
    }
}
