//! SplineTransformer (dense output): each feature's `bsplines_[j]` (`scipy.interpolate.BSpline`
//! with knots `t`, coefficients `c`, degree `k`) evaluated by de Boor's recursion as scipy's
//! `evaluate_spline` does, with sklearn's extrapolation modes (`error`, `constant`, `linear`,
//! `continue`, `periodic`), NaN rows as zeros (`handle_missing="zeros"`), and the last spline of
//! each feature dropped without `include_bias`.

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use crate::sklearn::obj;
use crate::sklearn::table::{Data, Matrix};
use crate::sklearn::{CompileError, Compiled, Ctx, Transformer};

/// A B-spline with matrix coefficients (`c` is `n x m`).
struct BSpline {
    t: Vec<f64>,
    c: Vec<f64>,
    m: usize,
    k: usize,
    extrapolate: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Extrapolation {
    Error,
    Constant,
    Linear,
    Continue,
    Periodic,
}

struct Spline {
    splines: Vec<BSpline>,
    n_splines: usize,
    degree: usize,
    mode: Extrapolation,
    include_bias: bool,
}

/// Compiles a fitted `sklearn.preprocessing.SplineTransformer`.
pub fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    if obj::bool_or(inst, "sparse_output", false) {
        return Err(ctx.invalid("sparse_output=True is not supported"));
    }
    let mode = match obj::opt_str(inst, "extrapolation").unwrap_or("constant") {
        "error" => Extrapolation::Error,
        "constant" => Extrapolation::Constant,
        "linear" => Extrapolation::Linear,
        "continue" => Extrapolation::Continue,
        "periodic" => Extrapolation::Periodic,
        other => return Err(ctx.invalid(format!("unknown extrapolation {other:?}"))),
    };
    let degree = obj::opt_f64(inst, "degree").unwrap_or(3.0) as usize;
    let list = obj::attr(inst, "bsplines_", ctx)?;
    let items = obj::items(list).ok_or_else(|| ctx.invalid("bsplines_ is not a list"))?;
    let mut splines = Vec::with_capacity(items.len());
    for item in items {
        let b = obj::instance(item).ok_or_else(|| ctx.invalid("a bspline is not an object"))?;
        // scipy >= 1.15 keeps `_t` / `_c` behind properties.
        let name = |n: &'static str, private: &'static str| {
            if b.attr(private).is_some() {
                private
            } else {
                n
            }
        };
        let t = obj::f64_vec(b, name("t", "_t"), ctx)?;
        let (shape, c) = obj::f64_array(b, name("c", "_c"), ctx)?;
        let k = obj::opt_f64(b, "k").ok_or_else(|| ctx.invalid("a bspline has no k"))? as usize;
        let m = match shape.as_slice() {
            [_, m] => *m,
            _ => return Err(ctx.invalid("bspline coefficients are not 2-D")),
        };
        let n = t.len().saturating_sub(k + 1);
        if k > 10 || n <= k || c.len() < n * m {
            return Err(ctx.invalid("bspline knots and coefficients disagree"));
        }
        let extrapolate = match obj::opt_attr(b, "extrapolate").map(|o| o.as_ref()) {
            Some(PyObj::Str(_)) => false, // "periodic": sklearn wraps x itself.
            _ => obj::bool_or(b, "extrapolate", true),
        };
        splines.push(BSpline {
            t,
            c,
            m,
            k,
            extrapolate,
        });
    }
    let n_splines = splines.first().map_or(0, |s| s.m);
    if splines.iter().any(|s| s.m != n_splines) {
        return Err(ctx.invalid("bsplines_ differ in size"));
    }
    Ok(Compiled::Transformer(Box::new(Spline {
        splines,
        n_splines,
        degree,
        mode,
        include_bias: obj::bool_or(inst, "include_bias", true),
    })))
}

impl BSpline {
    fn n(&self) -> usize {
        self.t.len() - self.k - 1
    }

    /// scipy's `find_interval`; `None` for NaN or (without extrapolation) out of range.
    fn interval(&self, x: f64, extrapolate: bool) -> Option<usize> {
        let (k, n) = (self.k, self.n());
        if x.is_nan() || (!extrapolate && (x < self.t[k] || x > self.t[n])) {
            return None;
        }
        let mut l = k;
        while x < self.t[l] && l != k {
            l -= 1;
        }
        l += 1;
        while x >= self.t[l] && l != n {
            l += 1;
        }
        Some(l - 1)
    }

    /// scipy's `_deBoor_D`: the k+1 non-zero basis values (or their `nu`-th derivatives).
    fn de_boor(&self, x: f64, ell: usize, nu: usize, h: &mut [f64], hh: &mut [f64]) {
        let (t, k) = (&self.t, self.k);
        h[0] = 1.0;
        for j in 1..=k.saturating_sub(nu) {
            hh[..j].copy_from_slice(&h[..j]);
            h[0] = 0.0;
            for n in 1..=j {
                let (xb, xa) = (t[ell + n], t[ell + n - j]);
                if xb == xa {
                    h[n] = 0.0;
                    continue;
                }
                let w = hh[n - 1] / (xb - xa);
                h[n - 1] += w * (xb - x);
                h[n] = w * (x - xa);
            }
        }
        for j in (k - nu.min(k) + 1)..=k {
            hh[..j].copy_from_slice(&h[..j]);
            h[0] = 0.0;
            for n in 1..=j {
                let (xb, xa) = (t[ell + n], t[ell + n - j]);
                if xb == xa {
                    h[nu] = 0.0;
                    continue;
                }
                let w = j as f64 * hh[n - 1] / (xb - xa);
                h[n - 1] -= w;
                h[n] = w;
            }
        }
    }

    /// `spl(x, nu)` into `out` (`m` values), as scipy's `evaluate_spline`.
    fn eval(&self, x: f64, nu: usize, extrapolate: bool, out: &mut [f64]) {
        let Some(ell) = self.interval(x, extrapolate) else {
            out.iter_mut().for_each(|v| *v = f64::NAN);
            return;
        };
        let mut h = vec![0.0; 2 * self.k + 2];
        let mut hh = vec![0.0; 2 * self.k + 2];
        self.de_boor(x, ell, nu, &mut h, &mut hh);
        for (jp, o) in out.iter_mut().enumerate().take(self.m) {
            let mut s = 0.0;
            for (a, w) in h.iter().enumerate().take(self.k + 1) {
                s += self.c[(ell + a - self.k) * self.m + jp] * w;
            }
            *o = s;
        }
    }
}

impl Spline {
    fn feature(&self, spl: &BSpline, x: f64, out: &mut [f64]) -> Result<(), PredictError> {
        let (k, n) = (spl.k, spl.n());
        let degree = self.degree;
        match self.mode {
            Extrapolation::Continue | Extrapolation::Error | Extrapolation::Periodic => {
                if x.is_nan() {
                    out.iter_mut().for_each(|v| *v = 0.0);
                    return Ok(());
                }
                let mut x = x;
                if self.mode == Extrapolation::Periodic {
                    let period = spl.t[n] - spl.t[k];
                    x = if period > 0.0 {
                        spl.t[k] + (x - spl.t[k]).rem_euclid(period)
                    } else {
                        0.0
                    };
                }
                spl.eval(x, 0, spl.extrapolate, out);
                if self.mode == Extrapolation::Error && out.iter().any(|v| v.is_nan()) {
                    return Err(PredictError::Runtime(
                        "`X` contains values beyond the limits of the knots.".to_owned(),
                    ));
                }
            }
            Extrapolation::Constant | Extrapolation::Linear => {
                out.iter_mut().for_each(|v| *v = 0.0);
                let (xmin, xmax) = (spl.t[degree], spl.t[spl.t.len() - degree - 1]);
                if xmin <= x && x <= xmax {
                    spl.eval(x, 0, spl.extrapolate, out);
                    return Ok(());
                }
                let m = self.n_splines;
                let mut f_min = vec![0.0; m];
                let mut f_max = vec![0.0; m];
                spl.eval(xmin, 0, spl.extrapolate, &mut f_min);
                spl.eval(xmax, 0, spl.extrapolate, &mut f_max);
                if self.mode == Extrapolation::Constant {
                    if x < xmin {
                        out[..degree.min(m)].copy_from_slice(&f_min[..degree.min(m)]);
                    }
                    if x > xmax {
                        let from = m.saturating_sub(degree);
                        out[from..].copy_from_slice(&f_max[from..]);
                    }
                } else {
                    let mut fp_min = vec![0.0; m];
                    let mut fp_max = vec![0.0; m];
                    spl.eval(xmin, 1, spl.extrapolate, &mut fp_min);
                    spl.eval(xmax, 1, spl.extrapolate, &mut fp_max);
                    for j in 0..degree.max(2).min(m) {
                        if x < xmin {
                            out[j] = f_min[j] + (x - xmin) * fp_min[j];
                        }
                        if x > xmax {
                            let kk = m - 1 - j;
                            out[kk] = f_max[kk] + (x - xmax) * fp_max[kk];
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Transformer for Spline {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.splines.len())?;
        let m = self.n_splines;
        let per = if self.include_bias {
            m
        } else {
            m.saturating_sub(1)
        };
        let cols = per * self.splines.len();
        let mut out = Vec::with_capacity(x.rows() * cols);
        let mut buf = vec![0.0; m];
        for row in x.row_iter() {
            for (v, spl) in row.iter().zip(&self.splines) {
                self.feature(spl, *v, &mut buf)?;
                out.extend_from_slice(&buf[..per]);
            }
        }
        Matrix::new(x.rows(), cols, out)
    }
}
