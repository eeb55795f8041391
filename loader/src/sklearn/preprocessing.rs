//! Element-wise preprocessing (docs/formats.md §2g): StandardScaler, MinMaxScaler (with `clip`),
//! MaxAbsScaler, RobustScaler, Normalizer, and FunctionTransformer with `func=None`
//! (the identity) or a numpy / scipy.special ufunc (an inert reference, never imported).
//! NaN passes through every scaler, as in sklearn. The other preprocessing classes have one
//! file each under `preprocessing/`.

mod binarizer;
mod kbins;
mod kernel_centerer;
mod polynomial;
mod power;
mod quantile;
mod spline;

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers the scalers, Normalizer and FunctionTransformer.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.preprocessing._data.StandardScaler",
        standard_scaler,
    );
    reg.insert("sklearn.preprocessing._data.MinMaxScaler", min_max_scaler);
    reg.insert("sklearn.preprocessing._data.MaxAbsScaler", max_abs_scaler);
    reg.insert("sklearn.preprocessing._data.RobustScaler", robust_scaler);
    reg.insert("sklearn.preprocessing._data.Normalizer", normalizer);
    reg.insert(
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
        function_transformer,
    );
    reg.insert("sklearn.preprocessing._data.Binarizer", binarizer::compile);
    reg.insert(
        "sklearn.preprocessing._data.KernelCenterer",
        kernel_centerer::compile,
    );
    reg.insert(
        "sklearn.preprocessing._data.QuantileTransformer",
        quantile::compile,
    );
    reg.insert(
        "sklearn.preprocessing._data.PowerTransformer",
        power::compile,
    );
    reg.insert(
        "sklearn.preprocessing._polynomial.PolynomialFeatures",
        polynomial::compile,
    );
    reg.insert(
        "sklearn.preprocessing._polynomial.SplineTransformer",
        spline::compile,
    );
    reg.insert(
        "sklearn.preprocessing._discretization.KBinsDiscretizer",
        kbins::compile,
    );
}

/// `x = ((x - sub) / div) * mul + add`, per column, then an optional clip; absent parts skip.
#[derive(Default)]
struct Affine {
    n: usize,
    sub: Option<Vec<f64>>,
    div: Option<Vec<f64>>,
    mul: Option<Vec<f64>>,
    add: Option<Vec<f64>>,
    clip: Option<(f64, f64)>,
}

impl Affine {
    fn optional(
        inst: &Instance,
        name: &str,
        ctx: &Ctx<'_>,
        n: &mut Option<usize>,
    ) -> Result<Option<Vec<f64>>, CompileError> {
        let Some(o) = obj::opt_attr(inst, name) else {
            return Ok(None);
        };
        let v = obj::numbers(o).ok_or_else(|| ctx.invalid(format!("{name} is not numeric")))?;
        match n {
            Some(k) if *k != v.len() => {
                return Err(ctx.invalid(format!("{name} has {} values, expected {k}", v.len())))
            }
            _ => *n = Some(v.len()),
        }
        Ok(Some(v))
    }
}

impl Transformer for Affine {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        x.expect_cols(self.n)?;
        for row in x.row_iter_mut() {
            for (c, v) in row.iter_mut().enumerate() {
                let at = |p: &Option<Vec<f64>>| p.as_ref().and_then(|p| p.get(c).copied());
                if let Some(s) = at(&self.sub) {
                    *v -= s;
                }
                if let Some(d) = at(&self.div) {
                    *v /= d;
                }
                if let Some(m) = at(&self.mul) {
                    *v *= m;
                }
                if let Some(a) = at(&self.add) {
                    *v += a;
                }
                if let Some((lo, hi)) = self.clip {
                    // np.clip keeps NaN.
                    *v = if *v < lo {
                        lo
                    } else if *v > hi {
                        hi
                    } else {
                        *v
                    };
                }
            }
        }
        Ok(x)
    }
}

fn n_features(inst: &Instance, n: Option<usize>, ctx: &Ctx<'_>) -> Result<usize, CompileError> {
    n.or_else(|| obj::opt_f64(inst, "n_features_in_").map(|v| v as usize))
        .ok_or_else(|| ctx.invalid("cannot tell the number of features"))
}

fn standard_scaler(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    center_and_scale(inst, ctx, ("with_mean", "mean_"), ("with_std", "scale_"))
}

/// `(x - center) / scale`, each step kept only when its flag (default true) is set; `center` and
/// `scale` name the flag and the fitted attribute (StandardScaler, RobustScaler).
fn center_and_scale(
    inst: &Instance,
    ctx: &Ctx<'_>,
    (center_flag, center): (&str, &str),
    (scale_flag, scale): (&str, &str),
) -> Result<Compiled, CompileError> {
    let mut n = None;
    let sub = if obj::bool_or(inst, center_flag, true) {
        Affine::optional(inst, center, ctx, &mut n)?
    } else {
        None
    };
    let div = if obj::bool_or(inst, scale_flag, true) {
        Affine::optional(inst, scale, ctx, &mut n)?
    } else {
        None
    };
    let n = n_features(inst, n, ctx)?;
    Ok(Compiled::Transformer(Box::new(Affine {
        n,
        sub,
        div,
        ..Affine::default()
    })))
}

fn min_max_scaler(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mut n = None;
    let mul = Affine::optional(inst, "scale_", ctx, &mut n)?;
    let add = Affine::optional(inst, "min_", ctx, &mut n)?;
    let clip = if obj::bool_or(inst, "clip", false) {
        let range = obj::attr(inst, "feature_range", ctx).and_then(|o| {
            obj::numbers(o).ok_or_else(|| ctx.invalid("feature_range is not numeric"))
        })?;
        match range.as_slice() {
            [lo, hi] => Some((*lo, *hi)),
            _ => return Err(ctx.invalid("feature_range is not a pair")),
        }
    } else {
        None
    };
    let n = n_features(inst, n, ctx)?;
    Ok(Compiled::Transformer(Box::new(Affine {
        n,
        mul,
        add,
        clip,
        ..Affine::default()
    })))
}

fn max_abs_scaler(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mut n = None;
    let div = Affine::optional(inst, "scale_", ctx, &mut n)?;
    let n = n_features(inst, n, ctx)?;
    Ok(Compiled::Transformer(Box::new(Affine {
        n,
        div,
        ..Affine::default()
    })))
}

fn robust_scaler(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    center_and_scale(
        inst,
        ctx,
        ("with_centering", "center_"),
        ("with_scaling", "scale_"),
    )
}

/// Row norms.
#[derive(Debug, Clone, Copy)]
enum Norm {
    L1,
    L2,
    Max,
}

struct Normalizer {
    norm: Norm,
}

fn normalizer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let norm = match obj::opt_str(inst, "norm").unwrap_or("l2") {
        "l1" => Norm::L1,
        "l2" => Norm::L2,
        "max" => Norm::Max,
        other => return Err(ctx.invalid(format!("unknown norm {other:?}"))),
    };
    Ok(Compiled::Transformer(Box::new(Normalizer { norm })))
}

impl Transformer for Normalizer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        for row in x.row_iter_mut() {
            let norm = match self.norm {
                Norm::L1 => row.iter().map(|v| v.abs()).sum::<f64>(),
                Norm::L2 => row.iter().map(|v| v * v).sum::<f64>().sqrt(),
                Norm::Max => row
                    .iter()
                    .map(|v| v.abs())
                    .fold(f64::NEG_INFINITY, f64::max),
            };
            // `_handle_zeros_in_scale`: a zero norm leaves the row as is.
            if norm != 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Ok(x)
    }
}

/// `FunctionTransformer(func=None)`: the identity (on numeric data).
struct Identity;

impl Transformer for Identity {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        x.into_matrix()
    }
}

/// `FunctionTransformer(func=<ufunc>)`: the ufunc on every value.
struct Ufunc {
    f: fn(f64) -> f64,
}

impl Transformer for Ufunc {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut x = x.into_matrix()?;
        for row in x.row_iter_mut() {
            row.iter_mut().for_each(|v| *v = (self.f)(*v));
        }
        Ok(x)
    }
}

/// The one-argument numpy / scipy.special ufuncs a FunctionTransformer may reference.
fn ufunc(module: &str, name: &str) -> Option<fn(f64) -> f64> {
    if module.starts_with("scipy.special") {
        return Some(match name {
            "expit" => |v: f64| 1.0 / (1.0 + (-v).exp()),
            "logit" => |v: f64| (v / (1.0 - v)).ln(),
            _ => return None,
        });
    }
    if module != "numpy" {
        return None;
    }
    Some(match name {
        "log1p" => f64::ln_1p,
        "log" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "exp" => f64::exp,
        "exp2" => f64::exp2,
        "expm1" => f64::exp_m1,
        "sqrt" => f64::sqrt,
        "cbrt" => f64::cbrt,
        "square" => |v: f64| v * v,
        "absolute" | "abs" | "fabs" => f64::abs,
        "negative" => |v: f64| -v,
        "positive" => |v: f64| v,
        "reciprocal" => |v: f64| 1.0 / v,
        "sign" => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
        "floor" => f64::floor,
        "ceil" => f64::ceil,
        "trunc" => f64::trunc,
        "rint" => f64::round_ties_even,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "arcsin" => f64::asin,
        "arccos" => f64::acos,
        "arctan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "arcsinh" => f64::asinh,
        "arccosh" => f64::acosh,
        "arctanh" => f64::atanh,
        "deg2rad" | "radians" => f64::to_radians,
        "rad2deg" | "degrees" => f64::to_degrees,
        _ => return None,
    })
}

fn function_transformer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::opt_attr(inst, "kw_args")
        .is_some_and(|k| !matches!(k.as_ref(), PyObj::Dict(d) if d.is_empty()))
    {
        return Err(ctx.invalid("kw_args are not supported"));
    }
    match inst.attr("func").map(|o| o.as_ref()) {
        None | Some(PyObj::None) => Ok(Compiled::Transformer(Box::new(Identity))),
        Some(PyObj::Class(c)) => match ufunc(&c.module, &c.name) {
            Some(f) => Ok(Compiled::Transformer(Box::new(Ufunc { f }))),
            None => Err(ctx.invalid(format!(
                "func={}.{} is not a supported numpy ufunc",
                c.module, c.name
            ))),
        },
        Some(_) => Err(ctx.invalid(
            "func must be None or a numpy ufunc (arbitrary Python functions are not run)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_scales_and_clips() {
        let a = Affine {
            n: 2,
            sub: Some(vec![1.0, 0.0]),
            div: Some(vec![2.0, 1.0]),
            clip: Some((-1.0, 1.0)),
            ..Affine::default()
        };
        let x = Matrix::new(1, 2, vec![5.0, f64::NAN]).unwrap();
        let y = a.transform(Data::Matrix(x)).unwrap();
        assert_eq!(y.data()[0], 1.0);
        assert!(y.data()[1].is_nan());
    }
}
