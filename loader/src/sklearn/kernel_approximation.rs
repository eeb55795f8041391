//! Kernel approximations: Nystroem (`K(X, components_) · normalization_ᵀ`), RBFSampler and
//! SkewedChi2Sampler (random Fourier features, `cos(X·W + b) · sqrt(2 / n_components)`, the
//! latter on `log(X + skewedness)`), and the stateless AdditiveChi2Sampler.

use crate::error::PredictError;
use crate::pyobj::Instance;

use super::kernels::{dot, dot_t, Kernel};
use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers the kernel approximations.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.kernel_approximation.Nystroem", nystroem);
    reg.insert("sklearn.kernel_approximation.RBFSampler", rbf_sampler);
    reg.insert(
        "sklearn.kernel_approximation.SkewedChi2Sampler",
        skewed_chi2,
    );
    reg.insert(
        "sklearn.kernel_approximation.AdditiveChi2Sampler",
        additive_chi2,
    );
}

struct Nystroem {
    kernel: Kernel,
    components: Matrix,
    normalization: Matrix,
}

fn nystroem(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let components = obj::f64_matrix(inst, "components_", ctx)?;
    let normalization = obj::f64_matrix(inst, "normalization_", ctx)?;
    if normalization.cols() != components.rows() {
        return Err(ctx.invalid("normalization_ and components_ disagree"));
    }
    if obj::opt_attr(inst, "kernel_params").is_some() {
        return Err(ctx.invalid("kernel_params are not supported"));
    }
    let kernel = Kernel::read(inst, components.cols(), ctx)?;
    // Nystroem passes gamma/coef0/degree only when set; sklearn's defaults differ by kernel.
    let kernel = match (
        kernel,
        obj::opt_f64(inst, "coef0"),
        obj::opt_f64(inst, "degree"),
    ) {
        (Kernel::Poly { gamma, .. }, coef0, degree) => Kernel::Poly {
            gamma,
            coef0: coef0.unwrap_or(1.0),
            degree: degree.unwrap_or(3.0),
        },
        (Kernel::Sigmoid { gamma, .. }, coef0, _) => Kernel::Sigmoid {
            gamma,
            coef0: coef0.unwrap_or(1.0),
        },
        (k, _, _) => k,
    };
    Ok(Compiled::Transformer(Box::new(Nystroem {
        kernel,
        components,
        normalization,
    })))
}

impl Transformer for Nystroem {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.components.cols())?;
        let k = self.kernel.matrix(&x, &self.components);
        Ok(dot_t(&k, &self.normalization))
    }
}

struct Fourier {
    weights: Matrix,
    offset: Vec<f64>,
    scale: f64,
    /// SkewedChi2Sampler's `skewedness` (`log(x + s)` first).
    skew: Option<f64>,
}

fn fourier(inst: &Instance, ctx: &Ctx<'_>, skew: Option<f64>) -> Result<Compiled, CompileError> {
    let weights = obj::f64_matrix(inst, "random_weights_", ctx)?;
    let offset = obj::f64_vec(inst, "random_offset_", ctx)?;
    if offset.len() != weights.cols() {
        return Err(ctx.invalid("random_offset_ and random_weights_ disagree"));
    }
    let n = obj::opt_f64(inst, "n_components").unwrap_or(weights.cols() as f64);
    Ok(Compiled::Transformer(Box::new(Fourier {
        weights,
        offset,
        scale: 2.0f64.sqrt() / n.sqrt(),
        skew,
    })))
}

fn rbf_sampler(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    fourier(inst, ctx, None)
}

fn skewed_chi2(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let s = obj::opt_f64(inst, "skewedness").unwrap_or(1.0);
    fourier(inst, ctx, Some(s))
}

impl Transformer for Fourier {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        x.expect_cols(self.weights.rows())?;
        if let Some(s) = self.skew {
            if x.data().iter().any(|v| *v <= -s) {
                return Err(PredictError::Runtime(
                    "X may not contain entries smaller than -skewedness.".to_owned(),
                ));
            }
            for row in x.row_iter_mut() {
                row.iter_mut().for_each(|v| *v = (*v + s).ln());
            }
        }
        let mut p = dot(&x, &self.weights);
        for row in p.row_iter_mut() {
            for (v, b) in row.iter_mut().zip(&self.offset) {
                *v = (*v + b).cos() * self.scale;
            }
        }
        Ok(p)
    }
}

struct AdditiveChi2 {
    steps: usize,
    interval: f64,
}

fn additive_chi2(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let steps = obj::opt_f64(inst, "sample_steps").unwrap_or(2.0) as usize;
    let interval = match obj::opt_f64(inst, "sample_interval") {
        Some(v) => v,
        None => match steps {
            1 => 0.8,
            2 => 0.5,
            3 => 0.4,
            _ => return Err(ctx.invalid("sample_interval is needed for sample_steps > 3")),
        },
    };
    if steps == 0 || steps > 100 {
        return Err(ctx.invalid("sample_steps out of range"));
    }
    Ok(Compiled::Transformer(Box::new(AdditiveChi2 {
        steps,
        interval,
    })))
}

impl Transformer for AdditiveChi2 {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        if x.data().iter().any(|v| *v < 0.0) {
            return Err(PredictError::Runtime(
                "Negative values in data passed to X in AdditiveChi2Sampler.".to_owned(),
            ));
        }
        let p = x.cols();
        let cols = p * (2 * self.steps - 1);
        let mut out = vec![0.0; x.rows() * cols];
        let s = self.interval;
        for (r, row) in x.row_iter().enumerate() {
            let o = &mut out[r * cols..(r + 1) * cols];
            for (f, v) in row.iter().enumerate() {
                if *v == 0.0 {
                    continue;
                }
                o[f] = (v * s).sqrt();
                let log_step = s * v.ln();
                let step = 2.0 * v * s;
                for j in 1..self.steps {
                    let factor = (step / (std::f64::consts::PI * j as f64 * s).cosh()).sqrt();
                    let jf = j as f64;
                    o[(2 * j - 1) * p + f] = factor * (jf * log_step).cos();
                    o[2 * j * p + f] = factor * (jf * log_step).sin();
                }
            }
        }
        Matrix::new(x.rows(), cols, out)
    }
}
