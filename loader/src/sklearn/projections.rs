//! Linear and near-linear projections used as transformers: Gaussian / Sparse random
//! projections (`X · components_ᵀ`; the sparse one's scipy CSR/CSC `components_` read from its
//! state), FastICA (`(X − mean_) · components_ᵀ` when whitened), FactorAnalysis (the posterior
//! mean `(X − mean_) Ψ⁻¹Wᵀ (I + WΨ⁻¹Wᵀ)⁻¹`), KernelPCA (centred kernel against `X_fit_` times
//! the scaled eigenvectors), BernoulliRBM (hidden-unit probabilities), FeatureAgglomeration
//! (mean per cluster), and the transform of KMeans / MiniBatchKMeans / BisectingKMeans
//! (distances to the centres) and LinearDiscriminantAnalysis (`scalings_`).

use crate::error::PredictError;
use crate::pyobj::{Instance, Obj, PyObj};

use super::kernels::{dot, dot_t, euclidean, Kernel};
use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers the projections and the transform views of clusterers and LDA.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.random_projection.GaussianRandomProjection",
        random_projection,
    );
    reg.insert(
        "sklearn.random_projection.SparseRandomProjection",
        random_projection,
    );
    reg.insert("sklearn.decomposition._fastica.FastICA", fast_ica);
    reg.insert(
        "sklearn.decomposition._factor_analysis.FactorAnalysis",
        factor_analysis,
    );
    reg.insert("sklearn.decomposition._kernel_pca.KernelPCA", kernel_pca);
    reg.insert("sklearn.neural_network._rbm.BernoulliRBM", rbm);
    reg.insert("sklearn.decomposition._sparse_pca.SparsePCA", sparse_pca);
    reg.insert(
        "sklearn.decomposition._sparse_pca.MiniBatchSparsePCA",
        sparse_pca,
    );
    reg.insert(
        "sklearn.cluster._agglomerative.FeatureAgglomeration",
        feature_agglomeration,
    );
    for class in [
        "sklearn.cluster._kmeans.KMeans",
        "sklearn.cluster._kmeans.MiniBatchKMeans",
        "sklearn.cluster._bisect_k_means.BisectingKMeans",
    ] {
        reg.insert_transform_view(class, kmeans_distances);
    }
    reg.insert_transform_view(
        "sklearn.discriminant_analysis.LinearDiscriminantAnalysis",
        lda_transform,
    );
}

/// `((X − mean) · Wᵀ) ∘ post`, then `sigmoid` if asked.
struct Linear {
    w: Matrix,
    mean: Option<Vec<f64>>,
    /// Applied after the product: `[k, k]` right factor.
    right: Option<Matrix>,
    intercept: Option<Vec<f64>>,
    sigmoid: bool,
    keep: Option<usize>,
}

impl Linear {
    fn new(w: Matrix) -> Self {
        Self {
            w,
            mean: None,
            right: None,
            intercept: None,
            sigmoid: false,
            keep: None,
        }
    }
}

impl Transformer for Linear {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        x.expect_cols(self.w.cols())?;
        if let Some(m) = &self.mean {
            for row in x.row_iter_mut() {
                row.iter_mut().zip(m).for_each(|(v, m)| *v -= m);
            }
        }
        let mut y = dot_t(&x, &self.w);
        if let Some(r) = &self.right {
            y = dot(&y, r);
        }
        if self.intercept.is_some() || self.sigmoid {
            for row in y.row_iter_mut() {
                for (j, v) in row.iter_mut().enumerate() {
                    if let Some(b) = self.intercept.as_ref().and_then(|b| b.get(j)) {
                        *v += b;
                    }
                    if self.sigmoid {
                        *v = 1.0 / (1.0 + (-*v).exp());
                    }
                }
            }
        }
        if let Some(k) = self.keep.filter(|k| *k < y.cols()) {
            let cols: Vec<Vec<f64>> = (0..k).map(|c| y.column(c)).collect();
            y = Matrix::from_columns(y.rows(), &cols)?;
        }
        Ok(y)
    }
}

/// A scipy sparse matrix (`csr_matrix` / `csc_matrix` / `*_array`) or dense array attribute,
/// densified (random projection components are small: `n_components x n_features`).
fn dense_or_sparse(inst: &Instance, name: &str, ctx: &Ctx<'_>) -> Result<Matrix, CompileError> {
    let o = obj::attr(inst, name, ctx)?;
    let Some(sp) = obj::instance(o).filter(|i| i.class.module.starts_with("scipy.sparse")) else {
        return obj::f64_matrix(inst, name, ctx);
    };
    sparse_to_dense(sp, ctx)
}

fn sparse_to_dense(sp: &Instance, ctx: &Ctx<'_>) -> Result<Matrix, CompileError> {
    let csc = sp.class.name.starts_with("csc");
    let shape = obj::numbers(
        sp.attr("_shape")
            .or_else(|| sp.attr("shape"))
            .ok_or_else(|| ctx.invalid("sparse matrix without a shape"))?,
    )
    .ok_or_else(|| ctx.invalid("bad sparse shape"))?;
    let [rows, cols] = shape.as_slice() else {
        return Err(ctx.invalid("sparse matrix is not 2-D"));
    };
    let (rows, cols) = (*rows as usize, *cols as usize);
    if rows.saturating_mul(cols) > 50_000_000 {
        return Err(ctx.invalid("sparse matrix too large to densify"));
    }
    let data = obj::f64_vec(sp, "data", ctx)?;
    let indices = obj::f64_vec(sp, "indices", ctx)?;
    let indptr = obj::f64_vec(sp, "indptr", ctx)?;
    let mut m = vec![0.0; rows * cols];
    let major = if csc { cols } else { rows };
    if indptr.len() != major + 1 || indices.len() != data.len() {
        return Err(ctx.invalid("inconsistent sparse matrix"));
    }
    for i in 0..major {
        let (a, b) = (indptr[i] as usize, indptr[i + 1] as usize);
        for k in a..b.min(data.len()) {
            let j = indices[k] as usize;
            let (r, c) = if csc { (j, i) } else { (i, j) };
            if r >= rows || c >= cols {
                return Err(ctx.invalid("sparse index out of range"));
            }
            m[r * cols + c] += data[k];
        }
    }
    Matrix::new(rows, cols, m).map_err(|e| ctx.invalid(e.to_string()))
}

fn boxed(l: Linear) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(l)))
}

fn random_projection(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    boxed(Linear::new(dense_or_sparse(inst, "components_", ctx)?))
}

fn opt_vec(inst: &Instance, name: &str, ctx: &Ctx<'_>) -> Result<Option<Vec<f64>>, CompileError> {
    match obj::opt_attr(inst, name) {
        Some(o) => {
            Ok(Some(obj::numbers(o).ok_or_else(|| {
                ctx.invalid(format!("{name} is not numeric"))
            })?))
        }
        None => Ok(None),
    }
}

fn fast_ica(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mut l = Linear::new(obj::f64_matrix(inst, "components_", ctx)?);
    let whiten = !matches!(
        inst.attr("whiten").map(|o| o.as_ref()),
        Some(PyObj::Bool(false))
    );
    if whiten {
        l.mean = opt_vec(inst, "mean_", ctx)?;
    }
    boxed(l)
}

/// Inverts a small square matrix (Gauss-Jordan with partial pivoting).
fn inverse(m: &Matrix) -> Option<Matrix> {
    let n = m.rows();
    let mut a = m.data().to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for c in 0..n {
        let p = (c..n).max_by(|x, y| a[x * n + c].abs().total_cmp(&a[y * n + c].abs()))?;
        if a[p * n + c] == 0.0 {
            return None;
        }
        for k in 0..n {
            a.swap(c * n + k, p * n + k);
            inv.swap(c * n + k, p * n + k);
        }
        let d = a[c * n + c];
        for k in 0..n {
            a[c * n + k] /= d;
            inv[c * n + k] /= d;
        }
        for r in 0..n {
            if r != c {
                let f = a[r * n + c];
                if f != 0.0 {
                    for k in 0..n {
                        a[r * n + k] -= f * a[c * n + k];
                        inv[r * n + k] -= f * inv[c * n + k];
                    }
                }
            }
        }
    }
    Matrix::new(n, n, inv).ok()
}

fn factor_analysis(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let w = obj::f64_matrix(inst, "components_", ctx)?;
    let psi = obj::f64_vec(inst, "noise_variance_", ctx)?;
    if psi.len() != w.cols() {
        return Err(ctx.invalid("noise_variance_ and components_ disagree"));
    }
    let k = w.rows();
    let mut wpsi = w.clone();
    for row in wpsi.row_iter_mut() {
        row.iter_mut().zip(&psi).for_each(|(v, p)| *v /= p);
    }
    let mut m = dot_t(&wpsi, &w);
    for (i, row) in m.row_iter_mut().enumerate() {
        row[i] += 1.0;
    }
    let cov_z = inverse(&m).ok_or_else(|| ctx.invalid("singular factor covariance"))?;
    let _ = k;
    let mut l = Linear::new(wpsi);
    l.mean = opt_vec(inst, "mean_", ctx)?;
    l.right = Some(cov_z);
    boxed(l)
}

/// SparsePCA: `ridge_regression(components_ᵀ, (X − mean_)ᵀ, ridge_alpha)`, i.e.
/// `(X − mean_) · Cᵀ · (C Cᵀ + αI)⁻¹` (the normal equations sklearn's Cholesky solver forms).
fn sparse_pca(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let c = obj::f64_matrix(inst, "components_", ctx)?;
    let alpha = obj::opt_f64(inst, "ridge_alpha").unwrap_or(0.01);
    let mut gram = dot_t(&c, &c);
    for (i, row) in gram.row_iter_mut().enumerate() {
        row[i] += alpha;
    }
    let inv = inverse(&gram).ok_or_else(|| ctx.invalid("singular components_ Gram matrix"))?;
    let mut l = Linear::new(c);
    l.mean = opt_vec(inst, "mean_", ctx)?;
    l.right = Some(inv);
    boxed(l)
}

fn rbm(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mut l = Linear::new(obj::f64_matrix(inst, "components_", ctx)?);
    l.intercept = Some(obj::f64_vec(inst, "intercept_hidden_", ctx)?);
    l.sigmoid = true;
    boxed(l)
}

fn lda_transform(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let scalings = obj::f64_matrix(inst, "scalings_", ctx)?;
    let solver = obj::opt_str(inst, "solver").unwrap_or("svd");
    // scalings_ is [features, k]: transpose into the [k, features] of `Linear`.
    let cols: Vec<Vec<f64>> = (0..scalings.cols()).map(|c| scalings.column(c)).collect();
    let w = Matrix::new(
        scalings.cols(),
        scalings.rows(),
        cols.into_iter().flatten().collect(),
    )
    .map_err(|e| ctx.invalid(e.to_string()))?;
    let mut l = Linear::new(w);
    match solver {
        "svd" => l.mean = Some(obj::f64_vec(inst, "xbar_", ctx)?),
        "eigen" => {}
        other => {
            return Err(ctx.invalid(format!(
                "transform is not implemented for solver={other:?} (as in sklearn)"
            )))
        }
    }
    l.keep = obj::opt_f64(inst, "_max_components").map(|k| k as usize);
    boxed(l)
}

struct KernelPca {
    kernel: Kernel,
    fit: Matrix,
    fit_rows: Vec<f64>,
    fit_all: f64,
    /// `[n_fit, k]` eigenvectors divided by sqrt(eigenvalue) (zero columns stay zero).
    alphas: Matrix,
}

fn kernel_pca(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let fit = obj::f64_matrix(inst, "X_fit_", ctx)?;
    let vecs = obj::f64_matrix(inst, "eigenvectors_", ctx)?;
    let vals = obj::f64_vec(inst, "eigenvalues_", ctx)?;
    if vecs.rows() != fit.rows() || vals.len() != vecs.cols() {
        return Err(ctx.invalid("eigenvectors_, eigenvalues_ and X_fit_ disagree"));
    }
    let centerer = obj::attr(inst, "_centerer", ctx)?;
    let centerer =
        obj::instance(centerer).ok_or_else(|| ctx.invalid("_centerer is not an object"))?;
    let fit_rows = obj::f64_vec(centerer, "K_fit_rows_", ctx)?;
    let fit_all =
        obj::opt_f64(centerer, "K_fit_all_").ok_or_else(|| ctx.invalid("missing K_fit_all_"))?;
    if obj::opt_attr(inst, "kernel_params").is_some() {
        return Err(ctx.invalid("kernel_params are not supported"));
    }
    let mut alphas = vecs;
    let k = vals.len();
    for row in alphas.row_iter_mut() {
        for (j, v) in row.iter_mut().enumerate().take(k) {
            *v = if vals[j] != 0.0 {
                *v / vals[j].sqrt()
            } else {
                0.0
            };
        }
    }
    Ok(Compiled::Transformer(Box::new(KernelPca {
        kernel: Kernel::read(inst, fit.cols(), ctx)?,
        fit,
        fit_rows,
        fit_all,
        alphas,
    })))
}

impl Transformer for KernelPca {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.fit.cols())?;
        let mut k = self.kernel.matrix(&x, &self.fit);
        let n = self.fit_rows.len() as f64;
        for row in k.row_iter_mut() {
            let pred = super::numeric::np_sum(row) / n;
            for (v, f) in row.iter_mut().zip(&self.fit_rows) {
                *v -= f;
                *v -= pred;
                *v += self.fit_all;
            }
        }
        Ok(dot(&k, &self.alphas))
    }
}

struct Distances {
    centers: Matrix,
}

impl Transformer for Distances {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.centers.cols())?;
        Ok(euclidean(&x, &self.centers))
    }
}

fn kmeans_distances(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(Distances {
        centers: obj::f64_matrix(inst, "cluster_centers_", ctx)?,
    })))
}

struct Agglomeration {
    labels: Vec<usize>,
    sizes: Vec<f64>,
}

fn feature_agglomeration(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let pooling = inst.attr("pooling_func").map(Obj::as_ref);
    let is_mean = match pooling {
        None => true,
        Some(PyObj::Class(c)) => c.module == "numpy" && c.name == "mean",
        _ => false,
    };
    if !is_mean {
        return Err(ctx.invalid("only pooling_func=np.mean is supported"));
    }
    let labels: Vec<usize> = obj::f64_vec(inst, "labels_", ctx)?
        .iter()
        .map(|l| *l as usize)
        .collect();
    let n = labels.iter().max().map_or(0, |m| m + 1);
    let mut sizes = vec![0.0; n];
    labels.iter().for_each(|l| sizes[*l] += 1.0);
    Ok(Compiled::Transformer(Box::new(Agglomeration {
        labels,
        sizes,
    })))
}

impl Transformer for Agglomeration {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.labels.len())?;
        let k = self.sizes.len();
        let mut out = vec![0.0; x.rows() * k];
        for (r, row) in x.row_iter().enumerate() {
            let o = &mut out[r * k..(r + 1) * k];
            for (v, l) in row.iter().zip(&self.labels) {
                o[*l] += v;
            }
            o.iter_mut().zip(&self.sizes).for_each(|(v, s)| *v /= s);
        }
        Matrix::new(x.rows(), k, out)
    }
}
