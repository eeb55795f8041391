//! PolynomialFeatures (dense): the bias column, the features, then each higher degree's
//! products, built the way sklearn's `transform` builds them (each new term is an earlier
//! term times one feature), so the products round identically; `interaction_only` and a
//! `(min_degree, max_degree)` range keep sklearn's column selection.

use crate::error::PredictError;
use crate::pyobj::Instance;

use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

struct Polynomial {
    n: usize,
    min_degree: usize,
    max_degree: usize,
    interaction_only: bool,
    include_bias: bool,
    n_out: usize,
}

/// Compiles a fitted `sklearn.preprocessing.PolynomialFeatures`.
pub fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let n = obj::opt_f64(inst, "n_features_in_").ok_or_else(|| ctx.invalid("not fitted"))? as usize;
    let n_out = obj::opt_f64(inst, "n_output_features_")
        .ok_or_else(|| ctx.invalid("missing n_output_features_"))? as usize;
    let (min_degree, max_degree) = match (
        obj::opt_f64(inst, "_min_degree"),
        obj::opt_f64(inst, "_max_degree"),
    ) {
        (Some(lo), Some(hi)) => (lo as usize, hi as usize),
        _ => match obj::opt_attr(inst, "degree")
            .and_then(|d| obj::numbers(d))
            .as_deref()
        {
            Some([d]) => (0, *d as usize),
            Some([lo, hi]) => (*lo as usize, *hi as usize),
            _ => return Err(ctx.invalid("cannot read degree")),
        },
    };
    if max_degree > 16 || n_out > 1_000_000 {
        return Err(ctx.invalid("degree or output size too large"));
    }
    Ok(Compiled::Transformer(Box::new(Polynomial {
        n,
        min_degree,
        max_degree,
        interaction_only: obj::bool_or(inst, "interaction_only", false),
        include_bias: obj::bool_or(inst, "include_bias", true),
        n_out,
    })))
}

impl Polynomial {
    /// All terms of degree 0 (if biased) .. max_degree for one row, sklearn's `XP`.
    fn full_row(&self, x: &[f64], xp: &mut Vec<f64>) {
        xp.clear();
        if self.include_bias {
            xp.push(1.0);
        }
        if self.max_degree == 0 {
            return;
        }
        let first = xp.len();
        xp.extend_from_slice(x);
        let mut index: Vec<usize> = (first..first + self.n).collect();
        index.push(xp.len());
        for _ in 2..=self.max_degree {
            let mut new_index = Vec::with_capacity(self.n + 1);
            let end = *index.last().unwrap_or(&0);
            let mut current = xp.len();
            for f in 0..self.n {
                let mut start = index[f];
                new_index.push(current);
                if self.interaction_only {
                    start += index[f + 1] - index[f];
                }
                let next = current + end.saturating_sub(start);
                if next <= current {
                    break;
                }
                for c in start..end {
                    let v = xp[c] * x[f];
                    xp.push(v);
                }
                current = next;
            }
            new_index.push(current);
            index = new_index;
        }
    }
}

impl Transformer for Polynomial {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.n)?;
        let mut out = Vec::with_capacity(x.rows() * self.n_out);
        let mut xp = Vec::new();
        for row in x.row_iter() {
            self.full_row(row, &mut xp);
            if self.min_degree > 1 {
                let full = xp.len();
                if self.include_bias {
                    out.push(1.0);
                    let skip = (full + 1).saturating_sub(self.n_out);
                    out.extend_from_slice(&xp[skip.min(full)..]);
                } else {
                    out.extend_from_slice(&xp[full.saturating_sub(self.n_out)..]);
                }
            } else {
                out.extend_from_slice(&xp);
            }
        }
        let cols = if x.rows() == 0 {
            self.n_out
        } else {
            out.len() / x.rows()
        };
        Matrix::new(x.rows(), cols, out)
    }
}
