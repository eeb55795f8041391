//! Linear projections (docs/formats.md §2g): PCA (`(X − mean_) · components_ᵀ`, divided by
//! `sqrt(explained_variance_)` when `whiten`) and TruncatedSVD (`X · components_ᵀ`).

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers PCA and TruncatedSVD.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.decomposition._pca.PCA", pca);
    // Same `_BasePCA.transform`.
    reg.insert("sklearn.decomposition._incremental_pca.IncrementalPCA", pca);
    reg.insert(
        "sklearn.decomposition._truncated_svd.TruncatedSVD",
        truncated_svd,
    );
}

struct Projection {
    /// `(components, features)`.
    components: Matrix,
    mean: Option<Vec<f64>>,
    /// Divisors per component (whitening).
    scale: Option<Vec<f64>>,
}

fn pca(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let components = obj::f64_matrix(inst, "components_", ctx)?;
    let mean = match obj::opt_attr(inst, "mean_") {
        Some(o) => Some(obj::numbers(o).ok_or_else(|| ctx.invalid("mean_ is not numeric"))?),
        None => None,
    };
    if mean.as_ref().is_some_and(|m| m.len() != components.cols()) {
        return Err(ctx.invalid("mean_ and components_ disagree in shape"));
    }
    let scale = if obj::bool_or(inst, "whiten", false) {
        let var = obj::f64_vec(inst, "explained_variance_", ctx)?;
        if var.len() != components.rows() {
            return Err(ctx.invalid("explained_variance_ and components_ disagree in shape"));
        }
        // sklearn >= 1.4 floors the scale at machine epsilon.
        Some(var.iter().map(|v| v.sqrt().max(f64::EPSILON)).collect())
    } else {
        None
    };
    Ok(Compiled::Transformer(Box::new(Projection {
        components,
        mean,
        scale,
    })))
}

fn truncated_svd(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(Projection {
        components: obj::f64_matrix(inst, "components_", ctx)?,
        mean: None,
        scale: None,
    })))
}

impl Transformer for Projection {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.components.cols())?;
        let k = self.components.rows();
        let mut out = Vec::with_capacity(x.rows() * k);
        let mut centered = vec![0.0; x.cols()];
        for row in x.row_iter() {
            for ((c, v), m) in centered.iter_mut().zip(row).zip(
                self.mean
                    .iter()
                    .flatten()
                    .copied()
                    .chain(std::iter::repeat(0.0)),
            ) {
                *c = v - m;
            }
            for (i, comp) in self.components.row_iter().enumerate() {
                let mut dot: f64 = centered.iter().zip(comp).map(|(a, b)| a * b).sum();
                if let Some(s) = self.scale.as_ref().and_then(|s| s.get(i)) {
                    dot /= s;
                }
                out.push(dot);
            }
        }
        Matrix::new(x.rows(), k, out)
    }
}
