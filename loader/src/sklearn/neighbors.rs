//! Nearest neighbours by brute force (docs/formats.md §2g): KNeighborsClassifier and
//! KNeighborsRegressor over `_fit_X` / `_y` with `n_neighbors`, `weights` (uniform or distance)
//! and the euclidean / manhattan / chebyshev / minkowski metrics. Neighbours are ordered by
//! distance, then by training index; the fitted KD/ball tree is not needed.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{
    proba_classifier_info, proba_classifier_output, CompileError, Compiled, Ctx, Estimator, Method,
    OutputInfo, Registry,
};

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
pub(super) enum Metric {
    Euclidean,
    Manhattan,
    Chebyshev,
    Minkowski(f64),
}

impl Metric {
    /// Reads `effective_metric_` / `metric` and `p`.
    pub(super) fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
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

    /// The distance between two rows.
    pub(super) fn distance(self, a: &[f64], b: &[f64]) -> f64 {
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
pub(super) struct Neighbors {
    fit_x: Matrix,
    /// `_fit_X` column-major (`[feature][training row]`), for the euclidean fast path.
    fit_t: Vec<f64>,
    k: usize,
    distance_weights: bool,
    /// Answer each neighbour's distance instead of its weight (a neighbours graph).
    keep_distance: bool,
    metric: Metric,
}

/// Query rows x training rows x features above which a batch is split across threads.
const PARALLEL_WORK: usize = 4_000_000;

impl Neighbors {
    /// Reads `_fit_X`, `n_neighbors` (plus `extra`, a graph's self-neighbour), `weights`, the metric.
    pub(super) fn read(inst: &Instance, extra: usize, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let fit_x = obj::f64_matrix(inst, "_fit_X", ctx)?;
        let k = obj::opt_f64(inst, "n_neighbors").unwrap_or(5.0) as usize + extra;
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
        let (n, d) = (fit_x.rows(), fit_x.cols());
        let mut fit_t = vec![0.0; n * d];
        for (i, row) in fit_x.row_iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                fit_t[j * n + i] = v;
            }
        }
        Ok(Self {
            fit_x,
            fit_t,
            k,
            distance_weights,
            keep_distance: false,
            metric: Metric::read(inst, ctx)?,
        })
    }

    /// Makes [`Neighbors::neighbors`] answer distances instead of weights.
    pub(super) fn with_distances(mut self) -> Self {
        self.keep_distance = true;
        self
    }

    /// The number of training rows.
    pub(super) fn n_fit(&self) -> usize {
        self.fit_x.rows()
    }

    /// The `k` nearest training rows of each row of `x`, with their weights. Large batches are
    /// split across threads (each query is independent, so the answers do not change).
    pub(super) fn neighbors(&self, x: &Matrix) -> Result<Vec<Vec<(usize, f64)>>, PredictError> {
        x.expect_cols(self.fit_x.cols())?;
        super::svm::expect_finite(x)?;
        let cols = x.cols();
        let work = x
            .rows()
            .saturating_mul(self.fit_x.rows())
            .saturating_mul(cols.max(1));
        let threads = crate::tree::max_threads()
            .min(work / PARALLEL_WORK)
            .min(x.rows() / 64)
            .max(1);
        if threads <= 1 || cols == 0 {
            return Ok(self.search(x.data(), x.rows(), cols));
        }
        let chunk = x.rows().div_ceil(threads);
        let parts: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = x
                .data()
                .chunks(chunk * cols)
                .map(|rows| scope.spawn(move || self.search(rows, rows.len() / cols, cols)))
                .collect();
            handles.into_iter().map(|h| h.join()).collect()
        });
        let mut out = Vec::with_capacity(x.rows());
        for part in parts {
            out.extend(part.map_err(|_| {
                PredictError::Runtime("a neighbour search thread panicked".to_owned())
            })?);
        }
        Ok(out)
    }

    /// [`Neighbors::neighbors`] of the `n_rows` row-major rows `x`, `cols` wide, on this thread.
    fn search(&self, x: &[f64], n_rows: usize, cols: usize) -> Vec<Vec<(usize, f64)>> {
        let n = self.fit_x.rows();
        let mut out = Vec::with_capacity(n_rows);
        let mut dist: Vec<(f64, usize)> = Vec::with_capacity(n);
        let mut sq = vec![0.0f64; n];
        for r in 0..n_rows {
            let row = &x[r * cols..(r + 1) * cols];
            dist.clear();
            let fast = matches!(self.metric, Metric::Euclidean)
                && self.nearest_euclidean(row, &mut sq, &mut dist);
            if !fast {
                dist.clear();
                dist.extend(
                    self.fit_x
                        .row_iter()
                        .enumerate()
                        .map(|(i, t)| (self.metric.distance(row, t), i)),
                );
                if dist.len() > self.k {
                    dist.select_nth_unstable_by(self.k - 1, by_distance_then_index);
                    dist.truncate(self.k);
                }
                dist.sort_by(by_distance_then_index);
            }
            out.push(self.weights(dist.get(..self.k).unwrap_or_default()));
        }
        out
    }

    /// The euclidean `k` nearest of `row` into `near` (sorted by distance, then index), exactly
    /// as a full sort of `(sqrt(sum of squares), index)` orders them: squared distances are
    /// accumulated feature by feature over the column-major training set (the same sums, in
    /// the same order, as [`Metric::distance`]), the `k` smallest squares picked, then every row
    /// whose square is within rounding of the `k`-th one rechecked with its exact distance.
    /// Returns false (leaving the caller to do a full sort) when a square is not finite.
    fn nearest_euclidean(&self, row: &[f64], sq: &mut [f64], near: &mut Vec<(f64, usize)>) -> bool {
        let n = sq.len();
        sq.fill(0.0);
        for (j, &q) in row.iter().enumerate() {
            let column = &self.fit_t[j * n..(j + 1) * n];
            for (s, &t) in sq.iter_mut().zip(column) {
                let d = q - t;
                *s += d * d;
            }
        }
        // The k smallest squares, kept sorted (k is small next to n).
        let k = self.k;
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        for (i, &s) in sq.iter().enumerate() {
            if best.len() == k && best.last().is_some_and(|&(worst, _)| s >= worst) {
                continue;
            }
            if !s.is_finite() {
                return false;
            }
            let at = best.partition_point(|&(b, _)| b <= s);
            best.insert(at, (s, i));
            best.truncate(k);
        }
        let Some(&(kth, _)) = best.last() else {
            return true;
        };
        // sqrt is monotone but not injective: a larger square may share the k-th distance.
        let limit = kth * (1.0 + 1e-12);
        let cut = kth.sqrt();
        near.extend(
            sq.iter()
                .enumerate()
                .filter(|&(_, &s)| s <= limit)
                .map(|(i, &s)| (s.sqrt(), i))
                .filter(|&(d, _)| d <= cut),
        );
        near.sort_by(by_distance_then_index);
        near.truncate(k);
        true
    }

    /// `_get_weights`: 1/d, and rows with an exact match weigh only the matches.
    fn weights(&self, near: &[(f64, usize)]) -> Vec<(usize, f64)> {
        if self.keep_distance {
            return near.iter().map(|&(d, i)| (i, d)).collect();
        }
        let exact = self.distance_weights && near.iter().any(|(d, _)| *d == 0.0);
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
            .collect()
    }
}

fn by_distance_then_index(a: &(f64, usize), b: &(f64, usize)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

fn knn_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let search = Neighbors::read(inst, 0, ctx)?;
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
        proba_classifier_info(&self.classes, method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        proba_classifier_output(&self.classes, method, self.proba(x)?)
    }
}

fn knn_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let search = Neighbors::read(inst, 0, ctx)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: every training row's distance, fully sorted by (distance, index).
    fn reference(search: &Neighbors, row: &[f64]) -> Vec<(usize, f64)> {
        let mut dist: Vec<(f64, usize)> = search
            .fit_x
            .row_iter()
            .enumerate()
            .map(|(i, t)| (search.metric.distance(row, t), i))
            .collect();
        dist.sort_by(by_distance_then_index);
        search.weights(&dist[..search.k])
    }

    #[test]
    fn fast_euclidean_and_partial_selection_match_a_full_sort() {
        let mut seed = 5u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let (n, d) = (300, 4);
        // Small integer grids tie often; the rest are generic values.
        let mut grid = |generic: bool| {
            if generic {
                next() * 10.0 - 5.0
            } else {
                (next() * 4.0).floor()
            }
        };
        for generic in [false, true] {
            let fit: Vec<f64> = (0..n * d).map(|_| grid(generic)).collect();
            let queries: Vec<f64> = (0..700 * d).map(|_| grid(generic)).collect();
            let q = Matrix::new(700, d, queries).expect("matrix");
            for metric in [
                Metric::Euclidean,
                Metric::Manhattan,
                Metric::Chebyshev,
                Metric::Minkowski(3.0),
            ] {
                for (k, distance_weights) in [(1, false), (5, true), (17, false), (n, true)] {
                    let fit_x = Matrix::new(n, d, fit.clone()).expect("matrix");
                    let mut fit_t = vec![0.0; n * d];
                    for (i, row) in fit_x.row_iter().enumerate() {
                        for (j, &v) in row.iter().enumerate() {
                            fit_t[j * n + i] = v;
                        }
                    }
                    let search = Neighbors {
                        fit_x,
                        fit_t,
                        k,
                        distance_weights,
                        keep_distance: false,
                        metric,
                    };
                    let got = search.neighbors(&q).expect("search");
                    for (r, row) in q.row_iter().enumerate() {
                        assert_eq!(got[r], reference(&search, row), "{metric:?} k={k} row {r}");
                    }
                    if k == 5 {
                        // Enough work to be split across threads: same answers, in row order.
                        let big = Matrix::new(7_000, d, q.data().repeat(10)).expect("matrix");
                        let all = search.neighbors(&big).expect("search");
                        assert_eq!(all.len(), 7_000);
                        for (r, near) in all.iter().enumerate() {
                            assert_eq!(near, &got[r % 700], "{metric:?} row {r} of 7000");
                        }
                    }
                }
            }
        }
    }
}
