//! NearestCentroid (`neighbors/_nearest_centroid.py`) `predict`: with uniform `class_prior_`
//! (or none, before sklearn 1.5) the class of the nearest of `centroids_` (`euclidean` or
//! `manhattan`); otherwise the discriminant rule: divide `X` and the centroids by
//! `within_class_std_dev_` (where non-zero), score `−d² + 2·log prior`, argmax.

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers NearestCentroid.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.neighbors._nearest_centroid.NearestCentroid",
        compile,
    );
}

struct NearestCentroid {
    classes: Labels,
    centroids: Matrix,
    manhattan: bool,
    /// Discriminant rule: per-feature divisors (1 where the deviation is 0) and log priors.
    discriminant: Option<(Vec<f64>, Vec<f64>)>,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let classes = obj::labels(inst, "classes_", ctx)?;
    let centroids = obj::f64_matrix(inst, "centroids_", ctx)?;
    let k = classes.len();
    if centroids.rows() != k {
        return Err(ctx.invalid("centroids_ disagree with classes_"));
    }
    let manhattan = match obj::opt_str(inst, "metric").unwrap_or("euclidean") {
        "euclidean" => false,
        "manhattan" => true,
        other => return Err(ctx.invalid(format!("metric {other:?} is not supported"))),
    };
    let prior = obj::opt_attr(inst, "class_prior_").and_then(|o| obj::numbers(o));
    let uniform = |p: &[f64]| {
        let u = 1.0 / k as f64;
        p.iter().all(|v| (v - u).abs() <= 1e-8 + 1e-5 * u)
    };
    let discriminant = match prior {
        Some(p) if !uniform(&p) => {
            if p.len() != k {
                return Err(ctx.invalid("class_prior_ disagrees with classes_"));
            }
            let std = obj::f64_vec(inst, "within_class_std_dev_", ctx)?;
            if std.len() != centroids.cols() {
                return Err(ctx.invalid("within_class_std_dev_ disagrees with centroids_"));
            }
            let div = std
                .iter()
                .map(|s| if *s != 0.0 { *s } else { 1.0 })
                .collect();
            Some((div, p.iter().map(|v| v.ln()).collect()))
        }
        _ => None,
    };
    Ok(Compiled::Estimator(Box::new(NearestCentroid {
        classes,
        centroids,
        manhattan,
        discriminant,
    })))
}

impl Estimator for NearestCentroid {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: self.classes.datatype(),
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.centroids.cols())?;
        let dist = |a: &[f64], b: &[f64], div: Option<&[f64]>| -> f64 {
            let terms = a.iter().zip(b).enumerate().map(|(j, (u, v))| {
                let s = div.and_then(|d| d.get(j)).copied().unwrap_or(1.0);
                u / s - v / s
            });
            if self.manhattan {
                terms.map(f64::abs).sum()
            } else {
                terms.map(|d| d * d).sum::<f64>().sqrt()
            }
        };
        let mut idx = Vec::with_capacity(x.rows());
        for row in x.row_iter() {
            match &self.discriminant {
                None => {
                    let mut best = (0usize, f64::INFINITY);
                    for (c, centre) in self.centroids.row_iter().enumerate() {
                        let d = dist(row, centre, None);
                        if d < best.1 {
                            best = (c, d);
                        }
                    }
                    idx.push(best.0);
                }
                Some((div, log_prior)) => {
                    let scores: Vec<f64> = self
                        .centroids
                        .row_iter()
                        .zip(log_prior)
                        .map(|(centre, lp)| {
                            let d = dist(row, centre, Some(div));
                            -(d * d) + 2.0 * lp
                        })
                        .collect();
                    idx.push(argmax(&scores));
                }
            }
        }
        Ok(Output::Labels(self.classes.take(&idx)?))
    }
}
