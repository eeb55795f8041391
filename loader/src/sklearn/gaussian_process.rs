//! GaussianProcessRegressor (`gaussian_process/_gpr.py`) `predict`: the posterior mean
//! `k(X, X_train_) · alpha_`, undone from `normalize_y` (`· _y_train_std + _y_train_mean`).
//! `kernel_` is read as sklearn's kernel tree: `Sum`, `Product`, `Exponentiation` over
//! `ConstantKernel`, `WhiteKernel` (zero between distinct sets), `RBF`, `Matern` (ν = 0.5, 1.5,
//! 2.5, ∞), `RationalQuadratic`, `ExpSineSquared`, `DotProduct`, with scalar or per-feature
//! length scales. Other kernels are refused by name.

use std::f64::consts::PI;

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, Obj};

use super::obj;
use super::output::Output;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers GaussianProcessRegressor.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.gaussian_process._gpr.GaussianProcessRegressor",
        compile,
    );
}

/// A fitted sklearn kernel.
pub(super) enum Kernel {
    Sum(Box<Kernel>, Box<Kernel>),
    Product(Box<Kernel>, Box<Kernel>),
    Power(Box<Kernel>, f64),
    Constant(f64),
    /// `noise_level`: on the diagonal only.
    White(f64),
    Rbf(Vec<f64>),
    Matern(Vec<f64>, f64),
    RationalQuadratic {
        alpha: f64,
        length_scale: f64,
    },
    ExpSineSquared {
        length_scale: f64,
        periodicity: f64,
    },
    DotProduct(f64),
}

/// Reads a fitted `kernel_` tree.
pub(super) fn read_kernel(o: &Obj, ctx: &Ctx<'_>, depth: usize) -> Result<Kernel, CompileError> {
    if depth > 32 {
        return Err(ctx.invalid("kernel nests too deeply"));
    }
    let inst = obj::instance(o).ok_or_else(|| ctx.invalid("a kernel is not an object"))?;
    let num = |name: &str| {
        obj::opt_f64(inst, name).ok_or_else(|| ctx.invalid(format!("kernel lacks {name}")))
    };
    let scales = |name: &str| {
        obj::opt_attr(inst, name)
            .and_then(|v| obj::numbers(v))
            .ok_or_else(|| ctx.invalid(format!("kernel lacks {name}")))
    };
    let child = |name: &str| {
        obj::opt_attr(inst, name)
            .ok_or_else(|| ctx.invalid(format!("kernel lacks {name}")))
            .and_then(|c| read_kernel(c, ctx, depth + 1))
    };
    Ok(match inst.class.name.as_str() {
        "Sum" => Kernel::Sum(Box::new(child("k1")?), Box::new(child("k2")?)),
        "Product" => Kernel::Product(Box::new(child("k1")?), Box::new(child("k2")?)),
        "Exponentiation" => Kernel::Power(Box::new(child("kernel")?), num("exponent")?),
        "ConstantKernel" => Kernel::Constant(num("constant_value")?),
        "WhiteKernel" => Kernel::White(num("noise_level")?),
        "RBF" => Kernel::Rbf(scales("length_scale")?),
        "Matern" => {
            let nu = num("nu")?;
            if !(nu == 0.5 || nu == 1.5 || nu == 2.5 || nu.is_infinite()) {
                return Err(ctx.invalid(format!("Matern nu={nu} is not supported")));
            }
            Kernel::Matern(scales("length_scale")?, nu)
        }
        "RationalQuadratic" => Kernel::RationalQuadratic {
            alpha: num("alpha")?,
            length_scale: num("length_scale")?,
        },
        "ExpSineSquared" => Kernel::ExpSineSquared {
            length_scale: num("length_scale")?,
            periodicity: num("periodicity")?,
        },
        "DotProduct" => Kernel::DotProduct(num("sigma_0")?),
        other => return Err(ctx.invalid(format!("kernel {other} is not supported"))),
    })
}

/// `‖x/ℓ − y/ℓ‖²` with a scalar or per-feature ℓ.
fn scaled_sq(x: &[f64], y: &[f64], ls: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .enumerate()
        .map(|(i, (a, b))| {
            let l = if ls.len() == 1 {
                ls[0]
            } else {
                ls.get(i).copied().unwrap_or(1.0)
            };
            let d = a / l - b / l;
            d * d
        })
        .sum()
}

impl Kernel {
    /// `k(x, x)`: `kernel_.diag(X)` for one row (a WhiteKernel adds its noise here).
    pub(super) fn diag(&self, x: &[f64]) -> f64 {
        match self {
            Self::Sum(a, b) => a.diag(x) + b.diag(x),
            Self::Product(a, b) => a.diag(x) * b.diag(x),
            Self::Power(k, e) => k.diag(x).powf(*e),
            Self::White(noise) => *noise,
            other => other.eval(x, x),
        }
    }

    /// `k(x, y)` between a request row and a training row (distinct sets).
    pub(super) fn eval(&self, x: &[f64], y: &[f64]) -> f64 {
        match self {
            Self::Sum(a, b) => a.eval(x, y) + b.eval(x, y),
            Self::Product(a, b) => a.eval(x, y) * b.eval(x, y),
            Self::Power(k, e) => k.eval(x, y).powf(*e),
            Self::Constant(c) => *c,
            Self::White(_) => 0.0,
            Self::Rbf(ls) => (-0.5 * scaled_sq(x, y, ls)).exp(),
            Self::Matern(ls, nu) => {
                let d = scaled_sq(x, y, ls).sqrt();
                if *nu == 0.5 {
                    (-d).exp()
                } else if *nu == 1.5 {
                    let k = d * 3f64.sqrt();
                    (1.0 + k) * (-k).exp()
                } else if *nu == 2.5 {
                    let k = d * 5f64.sqrt();
                    (1.0 + k + k * k / 3.0) * (-k).exp()
                } else {
                    (-d * d / 2.0).exp()
                }
            }
            Self::RationalQuadratic {
                alpha,
                length_scale,
            } => {
                let d = super::kernels::sq_euclidean(x, y);
                (1.0 + d / (2.0 * alpha * length_scale * length_scale)).powf(-alpha)
            }
            Self::ExpSineSquared {
                length_scale,
                periodicity,
            } => {
                let d = super::kernels::sq_euclidean(x, y).sqrt();
                let s = (PI / periodicity * d).sin() / length_scale;
                (-2.0 * s * s).exp()
            }
            Self::DotProduct(s0) => x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() + s0 * s0,
        }
    }
}

struct Gpr {
    kernel: Kernel,
    x_train: Matrix,
    /// `(n_train, targets)`.
    alpha: Matrix,
    std: Vec<f64>,
    mean: Vec<f64>,
    flat: bool,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let kernel = read_kernel(obj::attr(inst, "kernel_", ctx)?, ctx, 0)?;
    let x_train = obj::f64_matrix(inst, "X_train_", ctx)?;
    let (shape, a) = obj::f64_array(inst, "alpha_", ctx)?;
    let (alpha, flat) = match shape.as_slice() {
        [n] => (Matrix::new(*n, 1, a), true),
        [n, 1] => (Matrix::new(*n, 1, a), true),
        [n, t] => (Matrix::new(*n, *t, a), false),
        _ => return Err(ctx.invalid("alpha_ is not 1-D or 2-D")),
    };
    let alpha = alpha.map_err(|e| ctx.invalid(e.to_string()))?;
    if alpha.rows() != x_train.rows() {
        return Err(ctx.invalid("alpha_ and X_train_ disagree"));
    }
    let t = alpha.cols();
    let read = |name: &str, default: f64| match obj::opt_attr(inst, name) {
        Some(o) => obj::numbers(o)
            .map(|v| if v.len() == 1 { vec![v[0]; t] } else { v })
            .ok_or_else(|| ctx.invalid(format!("{name} is not numeric"))),
        None => Ok(vec![default; t]),
    };
    let std = read("_y_train_std", 1.0)?;
    let mean = read("_y_train_mean", 0.0)?;
    if std.len() != t || mean.len() != t {
        return Err(ctx.invalid("_y_train_std / _y_train_mean disagree with alpha_"));
    }
    Ok(Compiled::Estimator(Box::new(Gpr {
        kernel,
        x_train,
        alpha,
        std,
        mean,
        flat,
    })))
}

impl Estimator for Gpr {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.flat {
                vec![-1]
            } else {
                vec![-1, self.alpha.cols() as i64]
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.x_train.cols())?;
        let t = self.alpha.cols();
        let mut out = Vec::with_capacity(x.rows() * t);
        let mut k = vec![0.0; self.x_train.rows()];
        for row in x.row_iter() {
            for (slot, fit) in k.iter_mut().zip(self.x_train.row_iter()) {
                *slot = self.kernel.eval(row, fit);
            }
            for j in 0..t {
                let dot: f64 = k
                    .iter()
                    .zip(self.alpha.row_iter())
                    .map(|(kv, a)| kv * a[j])
                    .sum();
                out.push(self.std[j] * dot + self.mean[j]);
            }
        }
        Ok(if self.flat {
            Output::Vector(out)
        } else {
            Output::Matrix(Matrix::new(x.rows(), t, out)?)
        })
    }
}
