//! KNeighborsTransformer (`neighbors/_graph.py`): `transform(X)` is
//! `kneighbors_graph(X, mode, n_neighbors + (mode == "distance"))`, a sparse
//! `(n_queries, n_samples_fit)` matrix holding, per query row, its nearest training rows'
//! distances (`mode="distance"`) or ones (`"connectivity"`). The output stays sparse ([`Csr`]) for
//! the next step.

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::neighbors::Neighbors;
use super::obj;
use super::sparse::Csr;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers KNeighborsTransformer.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.neighbors._graph.KNeighborsTransformer",
        kneighbors_transformer,
    );
}

struct KnnGraph {
    search: Neighbors,
    distance: bool,
}

fn kneighbors_transformer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let distance = match obj::opt_str(inst, "mode").unwrap_or("distance") {
        "distance" => true,
        "connectivity" => false,
        other => return Err(ctx.invalid(format!("mode {other:?} is not supported"))),
    };
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
