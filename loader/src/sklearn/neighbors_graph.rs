//! KNeighborsTransformer and RadiusNeighborsTransformer (`neighbors/_graph.py`): `transform(X)`
//! is `kneighbors_graph(X, mode, n_neighbors + (mode == "distance"))` or
//! `radius_neighbors_graph(X, mode)`, a sparse `(n_queries, n_samples_fit)` matrix holding, per
//! query row, its neighbouring training rows' distances (`mode="distance"`) or ones
//! (`"connectivity"`). The output stays sparse ([`Csr`]) for the next step.

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::neighbors::{Metric, Neighbors};
use super::obj;
use super::sparse::Csr;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers KNeighborsTransformer and RadiusNeighborsTransformer.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.neighbors._graph.KNeighborsTransformer",
        kneighbors_transformer,
    );
    reg.insert(
        "sklearn.neighbors._graph.RadiusNeighborsTransformer",
        radius_transformer,
    );
}

/// `mode`: true for `"distance"` (the default), false for `"connectivity"`.
fn distance_mode(inst: &Instance, ctx: &Ctx<'_>) -> Result<bool, CompileError> {
    match obj::opt_str(inst, "mode").unwrap_or("distance") {
        "distance" => Ok(true),
        "connectivity" => Ok(false),
        other => Err(ctx.invalid(format!("mode {other:?} is not supported"))),
    }
}

struct KnnGraph {
    search: Neighbors,
    distance: bool,
}

fn kneighbors_transformer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let distance = distance_mode(inst, ctx)?;
    let search = Neighbors::read(inst, usize::from(distance), ctx)?.with_distances();
    Ok(Compiled::Transformer(Box::new(KnnGraph {
        search,
        distance,
    })))
}

impl Transformer for KnnGraph {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let x = x.into_matrix()?;
        let mut out = Csr::with_cols(self.search.n_fit());
        for near in self.search.neighbors(&x)? {
            out.push_row(
                near.into_iter()
                    .map(|(i, d)| (i, if self.distance { d } else { 1.0 }))
                    .collect(),
            )?;
        }
        Ok(Data::Sparse(out))
    }
}

struct RadiusGraph {
    fit_x: Matrix,
    radius: f64,
    metric: Metric,
    distance: bool,
}

fn radius_transformer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let radius = obj::opt_f64(inst, "radius").unwrap_or(1.0);
    if radius.is_nan() || radius < 0.0 {
        return Err(ctx.invalid("radius must be a non-negative number"));
    }
    Ok(Compiled::Transformer(Box::new(RadiusGraph {
        fit_x: obj::f64_matrix(inst, "_fit_X", ctx)?,
        radius,
        metric: Metric::read(inst, ctx)?,
        distance: distance_mode(inst, ctx)?,
    })))
}

impl Transformer for RadiusGraph {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.fit_x.cols())?;
        super::svm::expect_finite(&x)?;
        let mut out = Csr::with_cols(self.fit_x.rows());
        for row in x.row_iter() {
            let near = self
                .fit_x
                .row_iter()
                .enumerate()
                .map(|(i, f)| (i, self.metric.distance(row, f)))
                .filter(|(_, d)| *d <= self.radius)
                .map(|(i, d)| (i, if self.distance { d } else { 1.0 }))
                .collect();
            out.push_row(near)?;
        }
        Ok(Data::Sparse(out))
    }
}
