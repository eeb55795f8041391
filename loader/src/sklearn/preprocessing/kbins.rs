//! KBinsDiscretizer: each value's bin is `np.searchsorted(bin_edges_[j][1:-1], x, side="right")`;
//! `encode="ordinal"` returns the bin numbers, `"onehot"` / `"onehot-dense"` their one-hot
//! columns per feature (`n_bins_[j]` each, sklearn's internal OneHotEncoder without `drop`).

use crate::error::PredictError;
use crate::pyobj::Instance;

use crate::sklearn::numeric::searchsorted_right;
use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

struct KBins {
    /// Inner edges per feature.
    edges: Vec<Vec<f64>>,
    /// `None` for ordinal, else the number of bins per feature.
    onehot: Option<Vec<usize>>,
}

/// Compiles a fitted `sklearn.preprocessing.KBinsDiscretizer`.
pub fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let edges_obj = obj::attr(inst, "bin_edges_", ctx)?;
    let items = obj::items(edges_obj).ok_or_else(|| ctx.invalid("bin_edges_ is not a list"))?;
    let mut edges = Vec::with_capacity(items.len());
    for e in items {
        let v = obj::numbers(e).ok_or_else(|| ctx.invalid("bin_edges_ is not numeric"))?;
        let inner = if v.len() >= 2 {
            v[1..v.len() - 1].to_vec()
        } else {
            Vec::new()
        };
        edges.push(inner);
    }
    let onehot = match obj::opt_str(inst, "encode").unwrap_or("onehot") {
        "ordinal" => None,
        "onehot" | "onehot-dense" => {
            let n_bins = obj::f64_vec(inst, "n_bins_", ctx)?;
            if n_bins.len() != edges.len() {
                return Err(ctx.invalid("n_bins_ and bin_edges_ disagree"));
            }
            Some(n_bins.iter().map(|b| *b as usize).collect())
        }
        other => return Err(ctx.invalid(format!("unknown encode {other:?}"))),
    };
    Ok(Compiled::Transformer(Box::new(KBins { edges, onehot })))
}

impl Transformer for KBins {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.edges.len())?;
        if x.data().iter().any(|v| !v.is_finite()) {
            return Err(PredictError::Runtime(
                "KBinsDiscretizer: input contains NaN or infinity".to_owned(),
            ));
        }
        match &self.onehot {
            None => {
                let mut x = x;
                for row in x.row_iter_mut() {
                    for (v, e) in row.iter_mut().zip(&self.edges) {
                        *v = searchsorted_right(e, *v) as f64;
                    }
                }
                Ok(x)
            }
            Some(n_bins) => {
                let cols: usize = n_bins.iter().sum();
                let mut out = vec![0.0; x.rows() * cols];
                for (r, row) in x.row_iter().enumerate() {
                    let mut offset = r * cols;
                    for ((v, e), nb) in row.iter().zip(&self.edges).zip(n_bins) {
                        let b = searchsorted_right(e, *v);
                        if b < *nb {
                            out[offset + b] = 1.0;
                        }
                        offset += nb;
                    }
                }
                Matrix::new(x.rows(), cols, out)
            }
        }
    }
}
