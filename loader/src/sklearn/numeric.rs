//! Numeric kernels shared by the transformers, written to reproduce numpy / scipy results:
//! numpy's pairwise summation, `np.interp`, `np.searchsorted`, and the normal quantile
//! (`scipy.stats.norm.ppf`).

/// `np.sum` of a contiguous float64 slice: numpy's pairwise summation (8 partial sums in
/// blocks of up to 128, split in halves above that), so results match bit for bit.
pub fn np_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_sum(&a[..n2]) + np_sum(&a[n2..])
    }
}

/// A dot product summed left to right (what BLAS-free numpy paths and most loops do).
#[allow(dead_code)]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `np.searchsorted(sorted, x, side="right")`: how many elements are `<= x` (NaN sorts last).
pub fn searchsorted_right(sorted: &[f64], x: f64) -> usize {
    if x.is_nan() {
        return sorted.len();
    }
    sorted.partition_point(|v| *v <= x)
}

/// `np.searchsorted(sorted, x, side="left")`: how many elements are `< x`.
#[allow(dead_code)]
pub fn searchsorted_left(sorted: &[f64], x: f64) -> usize {
    if x.is_nan() {
        return sorted.iter().take_while(|v| !v.is_nan()).count();
    }
    sorted.partition_point(|v| *v < x)
}

/// `np.interp(x, xp, fp)` for one value, following numpy's `arr_interp` (`xp` ascending).
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len().min(fp.len());
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    let (left, right) = (fp[0], fp[n - 1]);
    if n == 1 {
        return if x < xp[0] {
            left
        } else if x > xp[0] {
            right
        } else {
            fp[0]
        };
    }
    if x > xp[n - 1] {
        return right;
    }
    if x < xp[0] {
        return left;
    }
    // The last j with xp[j] <= x.
    let j = xp[..n].partition_point(|v| *v <= x).saturating_sub(1);
    if j >= n - 1 {
        return fp[n - 1];
    }
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut res = slope * (x - xp[j]) + fp[j];
    if res.is_nan() {
        res = slope * (x - xp[j + 1]) + fp[j + 1];
        if res.is_nan() && fp[j] == fp[j + 1] {
            res = fp[j];
        }
    }
    res
}

/// The standard normal quantile (`scipy.stats.norm.ppf`, i.e. `ndtri`): Acklam's rational
/// approximation refined by two Halley steps on `erfc`, accurate to a few ulps.
pub fn norm_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let plow = 0.02425;
    let mut x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley refinement: e = Phi(x) - p, with Phi from erfc (upper tail for x > 0 keeps
    // precision).
    for _ in 0..2 {
        let e = if x < 0.0 {
            0.5 * libm::erfc(-x / std::f64::consts::SQRT_2) - p
        } else {
            (1.0 - p) - 0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
        };
        let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_interp_and_ppf() {
        let v: Vec<f64> = (0..300).map(|i| f64::from(i) * 0.1).collect();
        assert!((np_sum(&v) - 4485.0).abs() < 1e-9);
        assert_eq!(interp(1.5, &[1.0, 2.0], &[10.0, 20.0]), 15.0);
        assert_eq!(interp(0.0, &[1.0, 2.0], &[10.0, 20.0]), 10.0);
        assert_eq!(searchsorted_right(&[1.0, 2.0, 2.0], 2.0), 3);
        assert!((norm_ppf(0.975) - 1.959963984540054).abs() < 1e-14);
        assert!((norm_ppf(1e-7) + 5.1993375821928165).abs() < 1e-12);
    }
}
