//! Nearest neighbours by brute force (FORMATS.md §2g): KNeighborsClassifier and
//! KNeighborsRegressor over `_fit_X` / `_y` with `n_neighbors`, `weights` (uniform or distance)
//! and the euclidean / manhattan / chebyshev / minkowski metrics. Neighbours are ordered by
//! distance, then by training index; the fitted KD/ball tree is not needed.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the k-nearest-neighbours classifier and regressor.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.neighbors._classification.KNeighborsClassifier",
        knn_classifier,
    );
    reg.insert(
        "sklearn.neighbors._regression.KNeighborsRegressor",
        knn_regressor,
    );
}

/// A distance.
#[derive(Debug, Clone, Copy)]
enum Metric {
    Euclidean,
    Manhattan,
    Chebyshev,
    Minkowski(f64),
}

impl Metric {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let p = obj::opt_attr(inst, "effective_metric_params_")
            .and_then(|o| match o.as_ref() {
                PyObj::Dict(items) => crate::pyobj::dict_get(items, "p").and_then(|v| v.as_f64()),
                _ => None,
            })
            .or_else(|| obj::opt_f64(inst, "p"))
            .unwrap_or(2.0);
        let name = obj::opt_str(inst, "effective_metric_")
            .or_else(|| obj::opt_str(inst, "metric"))
            .unwrap_or("minkowski");
        Ok(match name {
            "euclidean" | "l2" => Self::Euclidean,
            "manhattan" | "cityblock" | "l1" => Self::Manhattan,
            "chebyshev" | "infinity" => Self::Chebyshev,
            "minkowski" if p == 2.0 => Self::Euclidean,
            "minkowski" if p == 1.0 => Self::Manhattan,
            "minkowski" if p.is_infinite() => Self::Chebyshev,
            "minkowski" if p > 0.0 => Self::Minkowski(p),
            other => return Err(ctx.invalid(format!("metric {other:?} is not supported"))),
        })
    }

    fn distance(self, a: &[f64], b: &[f64]) -> f64 {
        let diffs = a.iter().zip(b).map(|(x, y)| (x - y).abs());
        match self {
            Self::Euclidean => diffs.map(|d| d * d).sum::<f64>().sqrt(),
            Self::Manhattan => diffs.sum(),
            Self::Chebyshev => diffs.fold(0.0, f64::max),
            Self::Minkowski(p) => diffs.map(|d| d.powf(p)).sum::<f64>().powf(1.0 / p),
        }
    }
}

/// The fitted neighbour search.
struct Neighbors {
    fit_x: Matrix,
    k: usize,
    distance_weights: bool,
    metric: Metric,
}

impl Neighbors {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let fit_x = obj::f64_matrix(inst, "_fit_X", ctx)?;
        let k = obj::opt_f64(inst, "n_neighbors").unwrap_or(5.0) as usize;
        if k == 0 || k > fit_x.rows() {
            return Err(ctx.invalid(format!(
                "n_neighbors={k} does not fit {} training samples",
                fit_x.rows()
            )));
        }
        let distance_weights = match inst.attr("weights").map(|o| o.as_ref()) {
            None | Some(PyObj::None) => false,
            Some(PyObj::Str(w)) if w == "uniform" => false,
            Some(PyObj::Str(w)) if w == "distance" => true,
            _ => return Err(ctx.invalid("only weights='uniform' or 'distance' is supported")),
        };
        Ok(Self {
            fit_x,
            k,
            distance_weights,
            metric: Metric::read(inst, ctx)?,
        })
    }

    /// The `k` nearest training rows of each row of `x`, with their weights.
    fn neighbors(&self, x: &Matrix) -> Result<Vec<Vec<(usize, f64)>>, PredictError> {
        x.expect_cols(self.fit_x.cols())?;
        super::svm::expect_finite(x)?;
        let mut out = Vec::with_capacity(x.rows());
        let mut dist: Vec<(f64, usize)> = Vec::with_capacity(self.fit_x.rows());
        for row in x.row_iter() {
            dist.clear();
            dist.extend(
                self.fit_x
                    .row_iter()
                    .enumerate()
                    .map(|(i, t)| (self.metric.distance(row, t), i)),
            );
            dist.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let near = dist.get(..self.k).unwrap_or_default();
            // `_get_weights`: 1/d, and rows with an exact match weigh only the matches.
            let exact = self.distance_weights && near.iter().any(|(d, _)| *d == 0.0);
            out.push(
                near.iter()
                    .map(|&(d, i)| {
                        let w = if !self.distance_weights {
                            1.0
                        } else if exact {
                            f64::from(u8::from(d == 0.0))
                        } else {
                            1.0 / d
                        };
                        (i, w)
                    })
                    .collect(),
            );
        }
        Ok(out)
    }
}

fn knn_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let search = Neighbors::read(inst, ctx)?;
    let classes = obj::labels(inst, "classes_", ctx)?;
    let (shape, y) = obj::f64_array(inst, "_y", ctx)?;
    if shape.len() != 1 || y.len() != search.fit_x.rows() {
        return Err(ctx.invalid("only single-output KNeighborsClassifier is supported"));
    }
    let y = y
        .into_iter()
        .map(|v| {
            let i = v as usize;
            (v >= 0.0 && i < classes.len())
                .then_some(i)
                .ok_or_else(|| ctx.invalid("_y holds an out-of-range class index"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Compiled::Estimator(Box::new(KnnClassifier {
        search,
        y,
        classes,
    })))
}

struct KnnClassifier {
    search: Neighbors,
    /// Encoded class index of each training row.
    y: Vec<usize>,
    classes: Labels,
}

impl KnnClassifier {
    fn proba(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        let k = self.classes.len();
        let mut out = Vec::with_capacity(x.rows() * k);
        for near in self.search.neighbors(&x)? {
            let mut p = vec![0.0; k];
            for (i, w) in near {
                if let Some(c) = self.y.get(i).and_then(|c| p.get_mut(*c)) {
                    *c += w;
                }
            }
            let sum: f64 = p.iter().sum();
            let norm = if sum == 0.0 { 1.0 } else { sum };
            out.extend(p.into_iter().map(|v| v / norm));
        }
        Matrix::new(x.rows(), k, out)
    }
}

impl Estimator for KnnClassifier {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, self.classes.len() as i64],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let p = self.proba(x)?;
        if method == Method::PredictProba {
            return Ok(Output::Matrix(p));
        }
        let idx: Vec<usize> = p.row_iter().map(argmax).collect();
        Ok(Output::Labels(self.classes.take(&idx)?))
    }
}

fn knn_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let search = Neighbors::read(inst, ctx)?;
    let (shape, y) = obj::f64_array(inst, "_y", ctx)?;
    if shape.len() != 1 || y.len() != search.fit_x.rows() {
        return Err(ctx.invalid("only single-output KNeighborsRegressor is supported"));
    }
    Ok(Compiled::Estimator(Box::new(KnnRegressor { search, y })))
}

struct KnnRegressor {
    search: Neighbors,
    y: Vec<f64>,
}

impl Estimator for KnnRegressor {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        let mut out = Vec::with_capacity(x.rows());
        for near in self.search.neighbors(&x)? {
            let (mut num, mut den) = (0.0, 0.0);
            for (i, w) in &near {
                num += self.y.get(*i).copied().unwrap_or(f64::NAN) * w;
                den += w;
            }
            out.push(if self.search.distance_weights {
                num / den
            } else {
                num / near.len() as f64
            });
        }
        Ok(Output::Vector(out))
    }
}
