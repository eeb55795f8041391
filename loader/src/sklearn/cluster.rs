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
    reg.insert("sklearn.cluster._mean_shift.MeanShift", nearest_center);
    reg.insert("sklearn.cluster._bisect_k_means.BisectingKMeans", bisecting);
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

/// A node of BisectingKMeans's `_bisecting_tree`.
enum Bisect {
    /// A final cluster.
    Leaf(i32),
    /// Rows nearer (squared Euclidean, ties to the left) the left center go left.
    Split {
        left_center: Vec<f64>,
        right_center: Vec<f64>,
        left: Box<Bisect>,
        right: Box<Bisect>,
    },
}

/// BisectingKMeans (`cluster/_bisect_k_means.py` `_predict_recursive`): descend
/// `_bisecting_tree`, at each split choosing the nearer of the two child centers (plus
/// `_X_mean` when the data was centred), down to a leaf's `label` (int32).
struct BisectingKMeans {
    root: Bisect,
    cols: usize,
}

fn read_bisect(
    obj: &crate::pyobj::Obj,
    mean: &[f64],
    ctx: &Ctx<'_>,
    depth: usize,
) -> Result<Bisect, CompileError> {
    if depth > 64 {
        return Err(ctx.invalid("_bisecting_tree nests too deeply"));
    }
    let node = obj::instance(obj).ok_or_else(|| ctx.invalid("a tree node is not an object"))?;
    let (Some(left), Some(right)) = (obj::opt_attr(node, "left"), obj::opt_attr(node, "right"))
    else {
        let label =
            obj::opt_f64(node, "label").ok_or_else(|| ctx.invalid("a leaf has no label"))?;
        return Ok(Bisect::Leaf(label as i32));
    };
    let center = |o: &crate::pyobj::Obj| -> Result<Vec<f64>, CompileError> {
        let n = obj::instance(o).ok_or_else(|| ctx.invalid("a tree node is not an object"))?;
        let c = obj::f64_vec(n, "center", ctx)?;
        if !mean.is_empty() && mean.len() != c.len() {
            return Err(ctx.invalid("_X_mean does not fit the centers"));
        }
        Ok(c.iter()
            .enumerate()
            .map(|(i, v)| v + mean.get(i).copied().unwrap_or(0.0))
            .collect())
    };
    Ok(Bisect::Split {
        left_center: center(left)?,
        right_center: center(right)?,
        left: Box::new(read_bisect(left, mean, ctx, depth + 1)?),
        right: Box::new(read_bisect(right, mean, ctx, depth + 1)?),
    })
}

fn bisecting(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mean = match obj::opt_attr(inst, "_X_mean") {
        Some(o) => obj::numbers(o).ok_or_else(|| ctx.invalid("_X_mean is not numeric"))?,
        None => Vec::new(),
    };
    let cols = obj::f64_matrix(inst, "cluster_centers_", ctx)?.cols();
    let root = read_bisect(obj::attr(inst, "_bisecting_tree", ctx)?, &mean, ctx, 0)?;
    Ok(Compiled::Estimator(Box::new(BisectingKMeans {
        root,
        cols,
    })))
}

impl Estimator for BisectingKMeans {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Int32,
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.cols)?;
        let sq =
            |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum() };
        let labels = x
            .row_iter()
            .map(|row| {
                let mut node = &self.root;
                loop {
                    match node {
                        Bisect::Leaf(l) => return *l,
                        Bisect::Split {
                            left_center,
                            right_center,
                            left,
                            right,
                        } => {
                            node = if sq(row, right_center) < sq(row, left_center) {
                                right
                            } else {
                                left
                            };
                        }
                    }
                }
            })
            .collect();
        Ok(Output::Labels(Labels::Int32(labels)))
    }
}
