//! MissingIndicator (0/1 columns for `features_`, `error_on_new`) and KNNImputer (each missing
//! cell takes the (distance-weighted) mean of its `n_neighbors` nearest fitted rows that have
//! the feature, by `nan_euclidean` distance; rows with no usable distance take the column mean;
//! `add_indicator`, `keep_empty_features`), as `sklearn/impute/_base.py` and `_knn.py`.

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers MissingIndicator and KNNImputer.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.impute._base.MissingIndicator", missing_indicator);
    reg.insert("sklearn.impute._knn.KNNImputer", knn_imputer);
}

/// What counts as missing: NaN, or a number.
#[derive(Debug, Clone, Copy)]
struct Missing(Option<f64>);

impl Missing {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        match inst.attr("missing_values").map(|o| o.as_ref()) {
            None => Ok(Self(None)),
            Some(o) => match o.as_f64() {
                Some(v) if v.is_nan() => Ok(Self(None)),
                Some(v) => Ok(Self(Some(v))),
                None if matches!(o, PyObj::None) => {
                    Err(ctx.invalid("missing_values=None is only supported on numeric data as NaN"))
                }
                None => Err(ctx.invalid("only numeric missing_values are supported")),
            },
        }
    }

    fn is(self, v: f64) -> bool {
        match self.0 {
            None => v.is_nan(),
            Some(m) => v == m,
        }
    }
}

struct Indicator {
    n: usize,
    features: Vec<usize>,
    missing: Missing,
    /// `error_on_new` with `features="missing-only"`.
    error_on_new: bool,
}

fn indicator(inst: &Instance, ctx: &Ctx<'_>) -> Result<Indicator, CompileError> {
    let n = obj::opt_f64(inst, "n_features_in_")
        .or_else(|| obj::opt_f64(inst, "_n_features"))
        .ok_or_else(|| ctx.invalid("missing n_features_in_"))? as usize;
    let mut features = Vec::new();
    for f in obj::f64_vec(inst, "features_", ctx)? {
        if f < 0.0 || f as usize >= n {
            return Err(ctx.invalid("features_ out of range"));
        }
        features.push(f as usize);
    }
    Ok(Indicator {
        n,
        features,
        missing: Missing::read(inst, ctx)?,
        error_on_new: obj::bool_or(inst, "error_on_new", true)
            && obj::opt_str(inst, "features").unwrap_or("missing-only") == "missing-only",
    })
}

fn missing_indicator(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(indicator(inst, ctx)?)))
}

impl Indicator {
    fn columns(&self, x: &Matrix) -> Result<Vec<Vec<f64>>, PredictError> {
        if self.error_on_new {
            let new: Vec<usize> = (0..self.n)
                .filter(|c| !self.features.contains(c))
                .filter(|c| x.row_iter().any(|r| self.missing.is(r[*c])))
                .collect();
            if !new.is_empty() {
                return Err(PredictError::Runtime(format!(
                    "The features {new:?} have missing values in transform but have no missing values in fit."
                )));
            }
        }
        Ok(self
            .features
            .iter()
            .map(|c| {
                x.row_iter()
                    .map(|r| f64::from(u8::from(self.missing.is(r[*c]))))
                    .collect()
            })
            .collect())
    }
}

impl Transformer for Indicator {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.n)?;
        Matrix::from_columns(x.rows(), &self.columns(&x)?)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Weights {
    Uniform,
    Distance,
}

struct KnnImputer {
    fit: Matrix,
    missing: Missing,
    k: usize,
    weights: Weights,
    /// Columns with at least one fitted value.
    valid: Vec<bool>,
    keep_empty: bool,
    indicator: Option<Indicator>,
}

fn knn_imputer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::opt_str(inst, "metric").unwrap_or("nan_euclidean") != "nan_euclidean" {
        return Err(ctx.invalid("only metric='nan_euclidean' is supported"));
    }
    let weights = match obj::opt_str(inst, "weights").unwrap_or("uniform") {
        "uniform" => Weights::Uniform,
        "distance" => Weights::Distance,
        other => return Err(ctx.invalid(format!("weights={other:?} is not supported"))),
    };
    let fit = obj::f64_matrix(inst, "_fit_X", ctx)?;
    let missing = Missing::read(inst, ctx)?;
    let valid = (0..fit.cols())
        .map(|c| fit.row_iter().any(|r| !missing.is(r[c])))
        .collect();
    let indicator = if obj::bool_or(inst, "add_indicator", false) {
        let ind = obj::attr(inst, "indicator_", ctx)?;
        let ind = obj::instance(ind).ok_or_else(|| ctx.invalid("indicator_ is not an object"))?;
        Some(indicator(ind, ctx)?)
    } else {
        None
    };
    Ok(Compiled::Transformer(Box::new(KnnImputer {
        missing,
        k: obj::opt_f64(inst, "n_neighbors").unwrap_or(5.0).max(1.0) as usize,
        weights,
        valid,
        keep_empty: obj::bool_or(inst, "keep_empty_features", false),
        indicator,
        fit,
    })))
}

impl KnnImputer {
    /// sklearn's `nan_euclidean_distances` between one row and a fitted row.
    fn distance(&self, x: &[f64], y: &[f64]) -> f64 {
        let (mut sum, mut present) = (0.0, 0usize);
        for (a, b) in x.iter().zip(y) {
            if self.missing.is(*a) || self.missing.is(*b) {
                continue;
            }
            sum += (a - b) * (a - b);
            present += 1;
        }
        if present == 0 {
            return f64::NAN;
        }
        (sum * x.len() as f64 / present as f64).sqrt()
    }

    fn impute_row(&self, row: &[f64], out: &mut [f64]) {
        let dists: Vec<f64> = self.fit.row_iter().map(|f| self.distance(row, f)).collect();
        for c in 0..row.len() {
            if !self.valid[c] || !self.missing.is(row[c]) {
                continue;
            }
            let donors: Vec<(f64, f64)> = self
                .fit
                .row_iter()
                .zip(&dists)
                .filter(|(f, _)| !self.missing.is(f[c]))
                .map(|(f, d)| (*d, f[c]))
                .collect();
            if donors.iter().all(|(d, _)| d.is_nan()) {
                let vals: Vec<f64> = donors.iter().map(|(_, v)| *v).collect();
                out[c] = vals.iter().sum::<f64>() / vals.len().max(1) as f64;
                continue;
            }
            let mut sorted = donors;
            // NaN distances sort last, as np.argpartition places them.
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let near = &sorted[..self.k.min(sorted.len())];
            let weights: Vec<f64> = match self.weights {
                Weights::Uniform => near
                    .iter()
                    .map(|(d, _)| if d.is_nan() { 0.0 } else { 1.0 })
                    .collect(),
                Weights::Distance => {
                    if near.iter().any(|(d, _)| *d == 0.0) {
                        near.iter()
                            .map(|(d, _)| f64::from(u8::from(*d == 0.0)))
                            .collect()
                    } else {
                        near.iter()
                            .map(|(d, _)| if d.is_nan() { 0.0 } else { 1.0 / d })
                            .collect()
                    }
                }
            };
            let wsum: f64 = weights.iter().sum();
            let num: f64 = near.iter().zip(&weights).map(|((_, v), w)| v * w).sum();
            out[c] = num / wsum;
        }
    }
}

impl Transformer for KnnImputer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.fit.cols())?;
        let ind = match &self.indicator {
            Some(i) => i.columns(&x)?,
            None => Vec::new(),
        };
        let mut cols: Vec<Vec<f64>> = Vec::new();
        let mut imputed = x.clone();
        for (row, out) in x.row_iter().zip(imputed.row_iter_mut()) {
            self.impute_row(row, out);
        }
        for c in 0..x.cols() {
            if self.valid[c] {
                cols.push(imputed.column(c));
            } else if self.keep_empty {
                cols.push(vec![0.0; x.rows()]);
            }
        }
        cols.extend(ind);
        Matrix::from_columns(x.rows(), &cols)
    }
}
