//! RadiusNeighborsClassifier and RadiusNeighborsRegressor (`neighbors/_classification.py`,
//! `_regression.py`) by brute force: the neighbours of a row are the training rows within
//! `radius` (in training order), weighted uniformly or by `1/d` (only the exact matches when
//! one is at distance 0). Classifier: the weighted class counts, normalised (rows without
//! neighbours get `outlier_label_`, probability 1 on it, or an error when it is unset);
//! `predict` is the argmax (the outlier label where every probability is 0). Regressor: the
//! (weighted) mean of `_y`, NaN without neighbours.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::neighbors::Metric;
use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the radius neighbours estimators.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.neighbors._classification.RadiusNeighborsClassifier",
        compile,
    );
    reg.insert(
        "sklearn.neighbors._regression.RadiusNeighborsRegressor",
        compile,
    );
}

struct Radius {
    fit_x: Matrix,
    radius: f64,
    metric: Metric,
    distance_weights: bool,
    /// `_y`: class codes (classifier) or targets `(n, t)` (regressor).
    y: Matrix,
    /// Classifier: labels and the outlier label's index (`None`: unset, an error).
    classes: Option<(Labels, Option<usize>)>,
    flat: bool,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let fit_x = obj::f64_matrix(inst, "_fit_X", ctx)?;
    let radius = obj::opt_f64(inst, "radius").unwrap_or(1.0);
    let distance_weights = match inst.attr("weights").map(|o| o.as_ref()) {
        None | Some(PyObj::None) => false,
        Some(PyObj::Str(w)) if w == "uniform" => false,
        Some(PyObj::Str(w)) if w == "distance" => true,
        _ => return Err(ctx.invalid("only weights='uniform' or 'distance' is supported")),
    };
    let (shape, y) = obj::f64_array(inst, "_y", ctx)?;
    let n = fit_x.rows();
    let (y, flat) = match shape.as_slice() {
        [m] if *m == n => (Matrix::new(n, 1, y), true),
        [m, t] if *m == n => (Matrix::new(n, *t, y), false),
        _ => return Err(ctx.invalid("_y does not fit _fit_X")),
    };
    let y = y.map_err(|e| ctx.invalid(e.to_string()))?;
    let classes = if inst.class.name == "RadiusNeighborsClassifier" {
        if !flat {
            return Err(ctx.invalid("multi-output RadiusNeighborsClassifier is not supported"));
        }
        let classes = obj::labels(inst, "classes_", ctx)?;
        if y.data()
            .iter()
            .any(|v| *v < 0.0 || *v as usize >= classes.len())
        {
            return Err(ctx.invalid("_y holds an out-of-range class index"));
        }
        let outlier = match obj::opt_attr(inst, "outlier_label_") {
            None => None,
            Some(o) => {
                let values = obj::scalars(o).unwrap_or_default();
                match values.first() {
                    None | Some(obj::Scalar::None) => None,
                    Some(_) => {
                        let label = Labels::from_scalars(values, false)
                            .ok_or_else(|| ctx.invalid("outlier_label_ is not a label"))?;
                        let at = super::meta_positions(&label, &classes);
                        Some(at.ok_or_else(|| {
                            ctx.invalid("an outlier_label_ outside classes_ is not supported")
                        })?)
                    }
                }
            }
        };
        Some((classes, outlier))
    } else {
        None
    };
    Ok(Compiled::Estimator(Box::new(Radius {
        fit_x,
        radius,
        metric: Metric::read(inst, ctx)?,
        distance_weights,
        y,
        classes,
        flat,
    })))
}

impl Radius {
    /// `(training row, weight)` of each neighbour of `row`.
    fn neighbours(&self, row: &[f64]) -> Vec<(usize, f64)> {
        let near: Vec<(usize, f64)> = self
            .fit_x
            .row_iter()
            .enumerate()
            .map(|(i, f)| (i, self.metric.distance(row, f)))
            .filter(|(_, d)| *d <= self.radius)
            .collect();
        if !self.distance_weights {
            return near.into_iter().map(|(i, _)| (i, 1.0)).collect();
        }
        let exact = near.iter().any(|(_, d)| *d == 0.0);
        near.into_iter()
            .map(|(i, d)| {
                let w = if exact {
                    f64::from(u8::from(d == 0.0))
                } else {
                    1.0 / d
                };
                (i, w)
            })
            .collect()
    }

    fn proba(&self, x: &Matrix, k: usize, outlier: Option<usize>) -> Result<Matrix, PredictError> {
        let mut out = Vec::with_capacity(x.rows() * k);
        for row in x.row_iter() {
            let near = self.neighbours(row);
            let mut p = vec![0.0; k];
            if near.is_empty() {
                let o = outlier.ok_or_else(|| {
                    PredictError::Runtime(
                        "no training sample lies within the radius and no outlier_label is set"
                            .into(),
                    )
                })?;
                if let Some(slot) = p.get_mut(o) {
                    *slot = 1.0;
                }
            }
            for (i, w) in near {
                let c = self.y.data().get(i).copied().unwrap_or(0.0) as usize;
                if let Some(slot) = p.get_mut(c) {
                    *slot += w;
                }
            }
            let sum: f64 = p.iter().sum();
            let norm = if sum == 0.0 { 1.0 } else { sum };
            out.extend(p.into_iter().map(|v| v / norm));
        }
        Matrix::new(x.rows(), k, out)
    }
}

impl Estimator for Radius {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match (&self.classes, method) {
            (Some((c, _)), Method::Predict) => Some(OutputInfo {
                datatype: c.datatype(),
                shape: vec![-1],
            }),
            (Some((c, _)), Method::PredictProba) => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, c.len() as i64],
            }),
            (None, Method::Predict) => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: if self.flat {
                    vec![-1]
                } else {
                    vec![-1, self.y.cols() as i64]
                },
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.fit_x.cols())?;
        super::svm::expect_finite(&x)?;
        if let Some((classes, outlier)) = &self.classes {
            let p = self.proba(&x, classes.len(), *outlier)?;
            if method == Method::PredictProba {
                return Ok(Output::Matrix(p));
            }
            let idx: Vec<usize> = p
                .row_iter()
                .map(|r| match outlier {
                    Some(o) if r.iter().all(|v| *v == 0.0) => *o,
                    _ => argmax(r),
                })
                .collect();
            return Ok(Output::Labels(classes.take(&idx)?));
        }
        let t = self.y.cols();
        let mut out = Vec::with_capacity(x.rows() * t);
        for row in x.row_iter() {
            let near = self.neighbours(row);
            if near.is_empty() {
                out.extend(std::iter::repeat_n(f64::NAN, t));
                continue;
            }
            let total: f64 = near.iter().map(|(_, w)| w).sum();
            for j in 0..t {
                let s: f64 = near
                    .iter()
                    .map(|(i, w)| w * self.y.data().get(i * t + j).copied().unwrap_or(0.0))
                    .sum();
                out.push(s / total);
            }
        }
        Ok(if self.flat {
            Output::Vector(out)
        } else {
            Output::Matrix(Matrix::new(x.rows(), t, out)?)
        })
    }
}
