//! A native evaluator for ONNX graphs that are a chain of dense layers (an MLP): one float input
//! `[N, K]`, then `MatMul`/`Gemm` with constant weights, bias `Add`s and element-wise
//! activations, ending in an optional softmax. [`matcher::match_graph`] decides once at load
//! whether a graph is such a chain; anything else stays on tract.
//!
//! Weights are packed once at load ([`kernel::Packed`]); a request runs the rows through every
//! layer a tile at a time (the tile's activations stay in cache), with the bias and a cheap
//! activation fused into the matmul's store. Buffers are allocated per call, so one chain serves
//! concurrent requests.

mod kernel;
pub mod matcher;
mod math;
#[cfg(test)]
mod tests;

use kernel::Packed;

/// Rows a tile carries through the whole chain: a multiple of the register-block height,
/// small enough that two tiles of 64-wide activations stay in L1.
const TILE_ROWS: usize = 48;

/// An element-wise function applied on its own pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    /// `max(x, 0)`.
    Relu,
    /// `x` if `x >= 0`, else `alpha x`.
    LeakyRelu(f32),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
}

/// One step of the chain.
#[derive(Debug, Clone)]
enum Step {
    /// `X W + b`, with its epilogue.
    Dense(Packed),
    /// `x + b` (a bias `Add` not folded into a layer).
    Bias(Vec<f32>),
    /// An element-wise function.
    Unary(Unary),
    /// Softmax over the last axis.
    Softmax,
    /// The current value is graph output number `.0`.
    Emit(usize),
}

/// A matched dense chain, ready to run.
#[derive(Debug, Clone)]
pub struct DenseChain {
    /// Input features.
    k: usize,
    steps: Vec<Step>,
    /// Width of each graph output, in graph output order.
    output_widths: Vec<usize>,
    /// The widest buffer a step writes.
    max_width: usize,
}

/// Which build of the evaluator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// The baseline target (any CPU).
    Portable,
    /// x86-64 with AVX2 and FMA, checked at runtime.
    Avx2Fma,
    /// x86-64 with AVX-512 F and VL as well: the same kernel, but with 32 vector registers the
    /// 6 x 16 accumulator block and the weight row all stay in registers.
    Avx512,
}

impl Isa {
    /// The best build this CPU runs.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Self::Avx512;
            }
            return Self::Avx2Fma;
        }
        Self::Portable
    }
}

impl DenseChain {
    /// The number of input features.
    pub fn input_width(&self) -> usize {
        self.k
    }

    /// The widths of the graph outputs, in graph output order.
    pub fn output_widths(&self) -> &[usize] {
        &self.output_widths
    }

    /// Runs `rows` rows of `x` (`[rows, k]`, row-major) with the given build, returning each
    /// graph output as a row-major `[rows, width]` buffer. `isa` must be what [`Isa::detect`]
    /// returned on this machine, or [`Isa::Portable`]. Large batches are split over threads
    /// ([`threads_for`]) at tile boundaries, so every row is computed exactly as in one pass.
    pub fn run(&self, x: &[f32], rows: usize, isa: Isa) -> Vec<Vec<f32>> {
        assert_eq!(x.len(), rows * self.k, "input is [rows, k]");
        let threads = threads_for(rows);
        if threads <= 1 {
            return self.run_serial(x, rows, isa);
        }
        // Whole tiles per thread, the last thread taking the remainder.
        let per_thread = rows.div_ceil(threads).div_ceil(TILE_ROWS) * TILE_ROWS;
        let parts: Vec<Vec<Vec<f32>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| (t * per_thread).min(rows)..((t + 1) * per_thread).min(rows))
                .filter(|range| !range.is_empty())
                .map(|range| {
                    let part = &x[range.start * self.k..range.end * self.k];
                    let n = range.len();
                    scope.spawn(move || self.run_serial(part, n, isa))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut outputs: Vec<Vec<f32>> = self
            .output_widths
            .iter()
            .map(|&w| Vec::with_capacity(rows * w))
            .collect();
        for part in parts {
            for (out, chunk) in outputs.iter_mut().zip(part) {
                out.extend_from_slice(&chunk);
            }
        }
        outputs
    }

    /// [`DenseChain::run`] on the calling thread.
    pub(crate) fn run_serial(&self, x: &[f32], rows: usize, isa: Isa) -> Vec<Vec<f32>> {
        let mut outputs: Vec<Vec<f32>> = self
            .output_widths
            .iter()
            .map(|&w| vec![0.0f32; rows * w])
            .collect();
        run_isa(self, x, rows, &mut outputs, isa);
        outputs
    }
}

/// Rows below which a batch runs on one thread: starting threads costs tens of microseconds,
/// about what 1,000 rows of a small MLP take, and the server already runs requests in parallel.
pub(crate) const PARALLEL_ROWS: usize = 2048;

/// Threads worth using for `rows` rows: one below [`PARALLEL_ROWS`] per thread, else up to the
/// cores (`IRONFLOW_TREE_THREADS`, which bounds every batch-splitting evaluator).
fn threads_for(rows: usize) -> usize {
    crate::tree::max_threads().min(rows / PARALLEL_ROWS).max(1)
}

/// Runs [`run_tiles`] in the build `isa` names, if this CPU has it (else the portable one).
#[allow(unsafe_code)]
fn run_isa(chain: &DenseChain, x: &[f32], rows: usize, outputs: &mut [Vec<f32>], isa: Isa) {
    #[cfg(target_arch = "x86_64")]
    {
        let detected = Isa::detect();
        if isa == Isa::Avx512 && detected == Isa::Avx512 {
            // SAFETY: `run_avx512` only needs AVX2, FMA, AVX-512 F and VL, which `Isa::detect`
            // has just checked (`is_x86_feature_detected!`).
            return unsafe { run_avx512(chain, x, rows, outputs) };
        }
        if isa == Isa::Avx2Fma && detected != Isa::Portable {
            // SAFETY: `run_avx2` only needs AVX2 and FMA, which `Isa::detect` has just checked.
            return unsafe { run_avx2(chain, x, rows, outputs) };
        }
    }
    run_tiles(chain, x, rows, outputs);
}

/// [`run_tiles`] compiled with AVX2 and FMA enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2(chain: &DenseChain, x: &[f32], rows: usize, outputs: &mut [Vec<f32>]) {
    run_tiles(chain, x, rows, outputs);
}

/// [`run_tiles`] compiled with AVX2, FMA and AVX-512 F/VL enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
fn run_avx512(chain: &DenseChain, x: &[f32], rows: usize, outputs: &mut [Vec<f32>]) {
    run_tiles(chain, x, rows, outputs);
}

/// Where the current value of a tile lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Input,
    A,
    B,
}

/// Runs every tile of rows through the chain.
#[inline(always)]
fn run_tiles(chain: &DenseChain, x: &[f32], rows: usize, outputs: &mut [Vec<f32>]) {
    let tile_cap = TILE_ROWS.min(rows.max(1));
    let mut a = vec![0.0f32; tile_cap * chain.max_width];
    let mut b = vec![0.0f32; tile_cap * chain.max_width];
    let k = chain.k;
    let mut row0 = 0;
    while row0 < rows {
        let n = TILE_ROWS.min(rows - row0);
        let input = &x[row0 * k..(row0 + n) * k];
        let mut at = At::Input;
        // Logical width and row stride of the current value.
        let (mut width, mut stride) = (k, k);
        for step in &chain.steps {
            match step {
                Step::Dense(layer) => {
                    let (src, dst): (&[f32], &mut [f32]) = match at {
                        At::Input => (input, &mut a),
                        At::A => (&a, &mut b),
                        At::B => (&b, &mut a),
                    };
                    layer.apply(src, stride, n, dst);
                    at = if at == At::A { At::B } else { At::A };
                    (width, stride) = (layer.n, layer.width);
                }
                Step::Emit(slot) => {
                    let src: &[f32] = match at {
                        At::Input => input,
                        At::A => &a,
                        At::B => &b,
                    };
                    let out = &mut outputs[*slot][row0 * width..(row0 + n) * width];
                    for (o, s) in out.chunks_exact_mut(width).zip(src.chunks(stride)) {
                        o.copy_from_slice(&s[..width]);
                    }
                }
                elementwise => {
                    if at == At::Input {
                        a[..n * k].copy_from_slice(input);
                        at = At::A;
                    }
                    let buf = if at == At::A { &mut a } else { &mut b };
                    for row in buf.chunks_mut(stride).take(n) {
                        apply_elementwise(elementwise, &mut row[..width]);
                    }
                }
            }
        }
        row0 += n;
    }
}

#[inline(always)]
fn apply_elementwise(step: &Step, row: &mut [f32]) {
    match step {
        Step::Bias(bias) => row.iter_mut().zip(bias).for_each(|(v, b)| *v += b),
        Step::Unary(Unary::Relu) => row.iter_mut().for_each(|v| *v = v.max(0.0)),
        Step::Unary(Unary::LeakyRelu(alpha)) => row
            .iter_mut()
            .for_each(|v| *v = if *v >= 0.0 { *v } else { *v * alpha }),
        Step::Unary(Unary::Sigmoid) => row.iter_mut().for_each(|v| *v = math::sigmoid(*v)),
        Step::Unary(Unary::Tanh) => row.iter_mut().for_each(|v| *v = math::tanh(*v)),
        Step::Softmax => math::softmax(row),
        Step::Dense(_) | Step::Emit(_) => {}
    }
}
