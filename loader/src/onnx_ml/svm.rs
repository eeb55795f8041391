//! What `SVMClassifier` and `SVMRegressor` share: the kernel (`kernel_type`, `kernel_params` =
//! `[gamma, coef0, degree]`) evaluated between an input row and a support vector, as
//! onnxruntime's `SVMCommon::batched_kernel_dot` does in f32
//! (`onnxruntime/core/providers/cpu/ml/svmclassifier.h`).

use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// The kernel function of a support vector machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kernel {
    kind: KernelKind,
    gamma: f32,
    coef0: f32,
    degree: f32,
}

/// `kernel_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelKind {
    /// `<x, v>`
    Linear,
    /// `(gamma <x, v> + coef0) ^ degree`
    Poly,
    /// `exp(-gamma |x - v|^2)`
    Rbf,
    /// `tanh(gamma <x, v> + coef0)`
    Sigmoid,
}

impl Kernel {
    /// Reads `kernel_type` (default LINEAR) and `kernel_params` (default all zeros).
    pub fn parse(node: &NodeProto) -> TractResult<Kernel> {
        let kind = match node
            .get_attr_opt::<&str>("kernel_type")?
            .unwrap_or("LINEAR")
        {
            "LINEAR" => KernelKind::Linear,
            "POLY" => KernelKind::Poly,
            "RBF" => KernelKind::Rbf,
            "SIGMOID" => KernelKind::Sigmoid,
            other => bail!("{}: unknown kernel_type {other:?}", node.op_type),
        };
        let params: Vec<f32> = node.get_attr_opt_vec("kernel_params")?.unwrap_or_default();
        let (gamma, coef0, degree) = match *params {
            [] => (0.0, 0.0, 0.0),
            [gamma, coef0, degree, ..] => (gamma, coef0, degree),
            _ => bail!(
                "{}: kernel_params must be [gamma, coef0, degree], got {params:?}",
                node.op_type
            ),
        };
        Ok(Kernel {
            kind,
            gamma,
            coef0,
            degree,
        })
    }

    /// The plain dot product, used when a model has no support vectors (liblinear mode).
    pub fn linear() -> Kernel {
        Kernel {
            kind: KernelKind::Linear,
            gamma: 0.0,
            coef0: 0.0,
            degree: 0.0,
        }
    }

    /// `K(x, v)` for a row and a support vector of the same length.
    pub fn eval(&self, x: &[f32], v: &[f32]) -> f32 {
        match self.kind {
            KernelKind::Linear => dot(x, v),
            KernelKind::Rbf => {
                let sum: f32 = x.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
                (-self.gamma * sum).exp()
            }
            KernelKind::Poly => {
                let base = self.gamma * dot(x, v) + self.coef0;
                // onnxruntime squares and cubes by multiplication, other degrees by pow
                if self.degree == 2.0 {
                    base * base
                } else if self.degree == 3.0 {
                    base * base * base
                } else {
                    base.powf(self.degree)
                }
            }
            KernelKind::Sigmoid => (self.gamma * dot(x, v) + self.coef0).tanh(),
        }
    }
}

/// `<a, b>` in f32.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Checks an input row length against the model's feature count.
pub fn check_features(op: &str, found: usize, expected: usize) -> TractResult<()> {
    ensure!(
        found == expected,
        "{op} expects {expected} features, its input has {found}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels() {
        let k = |kind, degree| Kernel {
            kind,
            gamma: 0.5,
            coef0: 1.0,
            degree,
        };
        let (x, v) = ([1.0f32, 2.0], [3.0f32, -1.0]);
        assert_eq!(k(KernelKind::Linear, 3.0).eval(&x, &v), 1.0);
        assert_eq!(k(KernelKind::Poly, 3.0).eval(&x, &v), 3.375);
        assert!((k(KernelKind::Poly, 1.5).eval(&x, &v) - 1.5f32.powf(1.5)).abs() < 1e-6);
        assert!((k(KernelKind::Rbf, 3.0).eval(&x, &v) - (-0.5f32 * 13.0).exp()).abs() < 1e-9);
        assert!((k(KernelKind::Sigmoid, 3.0).eval(&x, &v) - 1.5f32.tanh()).abs() < 1e-7);
    }
}
