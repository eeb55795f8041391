//! TargetEncoder (binary, multiclass and continuous targets): each category becomes its fitted
//! `encodings_` value (multiclass: one column per feature and class, feature-major), unknown
//! and unfitted-missing categories the `target_mean_`, as sklearn's `transform` (which, unlike
//! `fit_transform`, uses the encodings learned on all the data).

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::encoders::Categories;
use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers TargetEncoder.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.preprocessing._target_encoder.TargetEncoder",
        target_encoder,
    );
}

struct TargetEncoder {
    categories: Vec<Categories>,
    /// Per output column: (input feature, encoding per category, value for unknowns).
    columns: Vec<(usize, Vec<f64>, f64)>,
}

fn target_encoder(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let cats = obj::attr(inst, "categories_", ctx)?;
    let cats = obj::items(cats).ok_or_else(|| ctx.invalid("categories_ is not a list"))?;
    let categories: Vec<Categories> = cats
        .iter()
        .map(|c| Categories::read(c).ok_or_else(|| ctx.invalid("unreadable categories_")))
        .collect::<Result<_, _>>()?;
    let encodings = obj::attr(inst, "encodings_", ctx)?;
    let encodings = obj::items(encodings).ok_or_else(|| ctx.invalid("encodings_ is not a list"))?;
    let means = obj::f64_vec(inst, "target_mean_", ctx)?;
    let multiclass = obj::opt_str(inst, "target_type_") == Some("multiclass");
    let n_classes = if multiclass { means.len().max(1) } else { 1 };
    if encodings.len() != categories.len() * n_classes {
        return Err(ctx.invalid("encodings_ and categories_ disagree"));
    }
    let mut columns = Vec::with_capacity(encodings.len());
    for (e, enc) in encodings.iter().enumerate() {
        let values = obj::numbers(enc).ok_or_else(|| ctx.invalid("encodings_ is not numeric"))?;
        let (f, c) = (e / n_classes, e % n_classes);
        let mean = if multiclass {
            means[c]
        } else {
            *means
                .first()
                .ok_or_else(|| ctx.invalid("empty target_mean_"))?
        };
        columns.push((f, values, mean));
    }
    Ok(Compiled::Transformer(Box::new(TargetEncoder {
        categories,
        columns,
    })))
}

impl Transformer for TargetEncoder {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let rows = x.rows();
        if x.cols() != self.categories.len() {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![rows, x.cols()],
                expected: vec![-1, self.categories.len() as i64],
            });
        }
        let columns = x.into_columns()?;
        let k = self.columns.len();
        let mut out = vec![0.0; rows * k];
        for (j, (f, enc, mean)) in self.columns.iter().enumerate() {
            let (Some(col), Some(cats)) = (columns.get(*f), self.categories.get(*f)) else {
                continue;
            };
            for r in 0..rows {
                out[r * k + j] = cats
                    .lookup(col, r)
                    .and_then(|i| enc.get(i).copied())
                    .unwrap_or(*mean);
            }
        }
        Matrix::new(rows, k, out)
    }
}
