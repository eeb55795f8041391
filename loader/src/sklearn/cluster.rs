//! KMeans (docs/formats.md §2g): `predict` is the index (int32) of the nearest of
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
}

struct KMeans {
    centers: Matrix,
}

fn kmeans(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Estimator(Box::new(KMeans {
        centers: obj::f64_matrix(inst, "cluster_centers_", ctx)?,
    })))
}

impl Estimator for KMeans {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Int32,
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
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
        Ok(Output::Labels(Labels::Int32(labels)))
    }
}
