//! KMeans (FORMATS.md §2g): `predict` is the index (int32) of the nearest of
//! `cluster_centers_` by squared Euclidean distance.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers KMeans and MiniBatchKMeans.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.cluster._kmeans.KMeans", kmeans);
    reg.insert("sklearn.cluster._kmeans.MiniBatchKMeans", kmeans);
    reg.insert("sklearn.cluster._mean_shift.MeanShift", nearest_center);
    reg.insert(
        "sklearn.cluster._affinity_propagation.AffinityPropagation",
        nearest_center,
    );
}

/// MeanShift and AffinityPropagation: `pairwise_distances_argmin(X, cluster_centers_)` as int64
/// (AffinityPropagation without centers labels every row -1; `affinity="precomputed"` has no
/// usable centers and is refused).
fn nearest_center(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::opt_str(inst, "affinity") == Some("precomputed") {
        return Err(ctx.invalid("affinity=\"precomputed\" cannot predict new rows"));
    }
    let centers = obj::f64_matrix(inst, "cluster_centers_", ctx)?;
    Ok(Compiled::Estimator(Box::new(KMeans {
        centers,
        int64: true,
    })))
}

struct KMeans {
    centers: Matrix,
    /// Labels as int64 (`pairwise_distances_argmin`) rather than KMeans's int32.
    int64: bool,
}

fn kmeans(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Estimator(Box::new(KMeans {
        centers: obj::f64_matrix(inst, "cluster_centers_", ctx)?,
        int64: false,
    })))
}

impl Estimator for KMeans {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: if self.int64 {
                DataType::Int64
            } else {
                DataType::Int32
            },
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        if self.int64 && self.centers.rows() == 0 {
            return Ok(Output::Labels(Labels::Int64(vec![-1; x.rows()])));
        }
        x.expect_cols(self.centers.cols())?;
        let mut labels = Vec::with_capacity(x.rows());
        for row in x.row_iter() {
            let mut best = (0usize, f64::INFINITY);
            for (i, c) in self.centers.row_iter().enumerate() {
                let d: f64 = row.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                if d < best.1 {
                    best = (i, d);
                }
            }
            labels.push(i32::try_from(best.0).unwrap_or(i32::MAX));
        }
        Ok(Output::Labels(if self.int64 {
            Labels::Int64(labels.into_iter().map(i64::from).collect())
        } else {
            Labels::Int32(labels)
        }))
    }
}
