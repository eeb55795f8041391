//! The dense layer kernel: `Y = act(X W + b)` on a tile of rows, with `W` packed once at load
//! into column panels of `NR` floats (`[panel][k][NR]`, zero-padded past `n`), so the inner loop
//! reads one contiguous `NR`-wide row of the panel per `k` and broadcasts one input value per
//! row. An `MR x NR` block of accumulators stays in registers across the whole `k` loop.
//!
//! The code is plain safe Rust over fixed-size arrays; LLVM turns the `NR` loops into vector
//! FMAs. [`super::run`] compiles it once for the baseline target and once more under
//! `#[target_feature]` (AVX2 + FMA, and AVX-512 F/VL), picked after a runtime check. Every
//! output is `fma(x[k-1], w[k-1], ... fma(x[0], w[0], b))` in the same order in both builds, so
//! they give bit-identical results.

/// Width of a panel: two AVX2 registers. (An 8-wide variant for narrow layers measured slower:
/// LLVM left its 8 x 8 block scalar, so a 2-output layer is padded to 16 instead.)
pub const NR: usize = 16;
/// Rows per register block: 6 x 16 = 12 AVX2 accumulators.
const MR: usize = 6;

/// What is applied to `X W + b` before it is stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Epilogue {
    /// Nothing.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` if `x >= 0`, else `alpha x`.
    LeakyRelu(f32),
}

impl Epilogue {
    #[inline(always)]
    fn apply<const NR: usize>(self, v: &mut [f32; NR]) {
        match self {
            Self::Linear => {}
            Self::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            Self::LeakyRelu(alpha) => v
                .iter_mut()
                .for_each(|x| *x = if *x >= 0.0 { *x } else { *x * alpha }),
        }
    }
}

/// A dense layer's weights and bias, packed for the kernel.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Inputs.
    pub k: usize,
    /// Outputs.
    pub n: usize,
    /// `n` rounded up to a whole number of panels: the row stride of the layer's output.
    pub width: usize,
    /// `[width / nr][k][nr]`.
    panels: Vec<f32>,
    /// `[width]`, zero past `n`.
    bias: Vec<f32>,
    /// Applied before storing.
    pub epilogue: Epilogue,
}

impl Packed {
    /// Packs a `k x n` weight matrix given element-wise (`weight(row, col)`) and a bias of `n`.
    pub fn new(k: usize, n: usize, weight: impl Fn(usize, usize) -> f32, bias: &[f32]) -> Self {
        let nr = NR;
        let width = n.div_ceil(nr) * nr;
        let mut panels = vec![0.0f32; width * k];
        for p in 0..width / nr {
            for kk in 0..k {
                for j in 0..nr {
                    let col = p * nr + j;
                    if col < n {
                        panels[(p * k + kk) * nr + j] = weight(kk, col);
                    }
                }
            }
        }
        let mut padded = vec![0.0f32; width];
        padded[..n].copy_from_slice(bias);
        Self {
            k,
            n,
            width,
            panels,
            bias: padded,
            epilogue: Epilogue::Linear,
        }
    }

    /// Adds a row bias of `n` values (a following `Add`) to the layer's own.
    pub fn add_bias(&mut self, bias: &[f32]) {
        self.bias.iter_mut().zip(bias).for_each(|(b, v)| *b += v);
    }

    /// `out[r * width + j] = act(sum_k x[r * xs + k] w[k, j] + b[j])` for `rows` rows. `x`
    /// holds at least `(rows - 1) * xs + k` values and `out` at least `rows * width`.
    #[inline(always)]
    pub fn apply(&self, x: &[f32], xs: usize, rows: usize, out: &mut [f32]) {
        let (panels, _) = self.panels.as_chunks::<NR>();
        let (bias, _) = self.bias.as_chunks::<NR>();
        let k = self.k;
        let os = self.width;
        let mut r0 = 0;
        while r0 + MR <= rows {
            for (p, b) in bias.iter().enumerate() {
                block::<MR, NR>(
                    &x[r0 * xs..],
                    xs,
                    &panels[p * k..(p + 1) * k],
                    b,
                    self.epilogue,
                    &mut out[r0 * os + p * NR..],
                    os,
                );
            }
            r0 += MR;
        }
        let rest = rows - r0;
        if rest == 0 {
            return;
        }
        for (p, b) in bias.iter().enumerate() {
            let x = &x[r0 * xs..];
            let w = &panels[p * k..(p + 1) * k];
            let o = &mut out[r0 * os + p * NR..];
            let e = self.epilogue;
            match rest {
                1 => block::<1, NR>(x, xs, w, b, e, o, os),
                2 => block::<2, NR>(x, xs, w, b, e, o, os),
                3 => block::<3, NR>(x, xs, w, b, e, o, os),
                4 => block::<4, NR>(x, xs, w, b, e, o, os),
                _ => block::<5, NR>(x, xs, w, b, e, o, os),
            }
        }
    }
}

/// One `ROWS x NR` block: `ROWS` rows of `x` (stride `xs`) times one panel (`k` rows of `NR`).
#[inline(always)]
fn block<const ROWS: usize, const NR: usize>(
    x: &[f32],
    xs: usize,
    panel: &[[f32; NR]],
    bias: &[f32; NR],
    epilogue: Epilogue,
    out: &mut [f32],
    os: usize,
) {
    let k = panel.len();
    let rows: [&[f32]; ROWS] = std::array::from_fn(|r| &x[r * xs..r * xs + k]);
    let mut acc = [*bias; ROWS];
    for (kk, w) in panel.iter().enumerate() {
        for r in 0..ROWS {
            let xv = rows[r][kk];
            for j in 0..NR {
                acc[r][j] = xv.mul_add(w[j], acc[r][j]);
            }
        }
    }
    for (r, a) in acc.iter_mut().enumerate() {
        epilogue.apply(a);
        out[r * os..r * os + NR].copy_from_slice(a);
    }
}
