//! `Normalizer` (ai.onnx.ml 1), replacing tract's: onnxruntime divides each row by its maximum
//! (not its largest magnitude) for `MAX`, by the sum of magnitudes for `L1`, by the Euclidean
//! norm for `L2`, and leaves rows whose norm is 0 unchanged
//! (`onnxruntime/core/providers/cpu/ml/normalizer.cc`). Inputs have rank 1 or 2; output is f32.

use super::expansion::{elementwise_rules, wire_op};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `Normalizer` builder, replacing tract's.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Normalizer", normalizer);
}

fn normalizer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let norm = match node.get_attr_opt::<&str>("norm")?.unwrap_or("MAX") {
        "MAX" => Norm::Max,
        "L1" => Norm::L1,
        "L2" => Norm::L2,
        other => bail!("Normalizer: invalid norm {other:?} (expected MAX, L1 or L2)"),
    };
    Ok((expand(Normalizer { norm }), vec![]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Norm {
    Max,
    L1,
    L2,
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Normalizer {
    norm: Norm,
}

/// An input element type, with the arithmetic onnxruntime does on it before going to f32.
trait Element: Datum + Copy {
    fn to_f32(self) -> f32;
    /// `static_cast<float>(std::abs(x))`
    fn abs_f32(self) -> f32;
    /// `static_cast<float>(x * x)`, the square taken in the input type
    fn square_f32(self) -> f32;
    fn is_negative(self) -> bool;
}

macro_rules! element_float {
    ($t:ty) => {
        impl Element for $t {
            fn to_f32(self) -> f32 {
                self as f32
            }
            fn abs_f32(self) -> f32 {
                self.abs() as f32
            }
            fn square_f32(self) -> f32 {
                (self * self) as f32
            }
            fn is_negative(self) -> bool {
                self < 0.0
            }
        }
    };
}

macro_rules! element_int {
    ($t:ty) => {
        impl Element for $t {
            fn to_f32(self) -> f32 {
                self as f32
            }
            fn abs_f32(self) -> f32 {
                self.wrapping_abs() as f32
            }
            fn square_f32(self) -> f32 {
                self.wrapping_mul(self) as f32
            }
            fn is_negative(self) -> bool {
                self < 0
            }
        }
    };
}

element_float!(f32);
element_float!(f64);
element_int!(i64);
element_int!(i32);

impl Normalizer {
    fn normalize_row<T: Element>(&self, x: &[T], y: &mut [f32]) {
        let divide_by = |y: &mut [f32], d: f32| {
            for (o, v) in y.iter_mut().zip(x) {
                *o = if d != 0.0 { v.to_f32() / d } else { v.to_f32() };
            }
        };
        match self.norm {
            Norm::Max => {
                let max = x.iter().fold(f32::MIN, |m, v| m.max(v.to_f32()));
                divide_by(y, max)
            }
            Norm::L1 => divide_by(y, x.iter().map(|v| v.abs_f32()).sum()),
            Norm::L2 => {
                let sum: f32 = x.iter().map(|v| v.square_f32()).sum();
                for (o, v) in y.iter_mut().zip(x) {
                    *o = if sum == 0.0 {
                        v.to_f32()
                    } else if v.is_negative() {
                        -(v.square_f32() / sum).sqrt()
                    } else {
                        (v.square_f32() / sum).sqrt()
                    };
                }
            }
        }
    }

    fn eval_t<T: Element>(&self, input: &Tensor) -> TractResult<Tensor> {
        let x = input.try_as_plain_ram()?.as_slice::<T>()?;
        let mut y = vec![0f32; x.len()];
        let stride = match input.shape() {
            [features] | [_, features] => *features,
            shape => bail!("Normalizer expects an input of rank 1 or 2, got shape {shape:?}"),
        };
        if stride > 0 {
            for (x, y) in x.chunks(stride).zip(y.chunks_mut(stride)) {
                self.normalize_row(x, y);
            }
        }
        tensor1(&y).into_shape(input.shape())
    }
}

fn check_input(fact: &TypedFact) -> TractResult<()> {
    ensure!(
        matches!(
            fact.datum_type,
            DatumType::F32 | DatumType::F64 | DatumType::I64 | DatumType::I32
        ),
        "Normalizer takes float, double, int64 or int32 inputs, got {:?}",
        fact.datum_type
    );
    ensure!(
        matches!(fact.rank(), 1 | 2),
        "Normalizer expects an input of rank 1 or 2, got rank {}",
        fact.rank()
    );
    Ok(())
}

impl Expansion for Normalizer {
    fn name(&self) -> StaticName {
        "Normalizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        elementwise_rules(s, inputs, outputs, Some(DatumType::F32))
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        wire_op(self.clone(), prefix, model, inputs)
    }
}

impl Op for Normalizer {
    fn name(&self) -> StaticName {
        "Normalizer".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Normalizer {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let output = match input.datum_type() {
            DatumType::F32 => self.eval_t::<f32>(&input)?,
            DatumType::F64 => self.eval_t::<f64>(&input)?,
            DatumType::I64 => self.eval_t::<i64>(&input)?,
            DatumType::I32 => self.eval_t::<i32>(&input)?,
            dt => bail!("Normalizer takes float, double, int64 or int32 inputs, got {dt:?}"),
        };
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for Normalizer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        check_input(inputs[0])?;
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::prelude::*;

    fn normalize(norm: &str, x: Tensor) -> TractResult<Tensor> {
        let mut out = NodeModel::new("Normalizer", vec![string("norm", norm)]).run(vec![x])?;
        Ok(out.remove(0))
    }

    #[test]
    fn max_divides_by_the_signed_maximum() -> TractResult<()> {
        // onnxruntime 1.32; tract's own Normalizer divides by max |x| instead
        let x = f32s(&[[-2.0, 1.0], [-2.0, -1.0], [0.0, 0.0], [3.0, -4.0]]);
        let expected = f32s(&[[-2.0, 1.0], [2.0, 1.0], [0.0, 0.0], [1.0, -1.333_333_4]]);
        assert_close(&normalize("MAX", x)?, &expected, 1e-6);
        Ok(())
    }

    #[test]
    fn l1_and_l2() -> TractResult<()> {
        let x = f32s(&[[-2.0, 1.0], [0.0, 0.0], [3.0, -4.0]]);
        let l1 = f32s(&[
            [-0.666_666_7, 0.333_333_34],
            [0.0, 0.0],
            [0.428_571_43, -0.571_428_6],
        ]);
        assert_close(&normalize("L1", x.clone())?, &l1, 1e-6);
        let l2 = f32s(&[[-0.894_427_2, 0.447_213_6], [0.0, 0.0], [0.6, -0.8]]);
        assert_close(&normalize("L2", x)?, &l2, 1e-6);
        Ok(())
    }

    #[test]
    fn integer_input_gives_floats() -> TractResult<()> {
        let out = normalize("L2", tensor2(&[[-2i64, 1], [3, -4]]))?;
        assert_close(
            &out,
            &f32s(&[[-0.894_427_2, 0.447_213_6], [0.6, -0.8]]),
            1e-6,
        );
        Ok(())
    }

    #[test]
    fn default_norm_is_max_and_rank_one_is_one_row() -> TractResult<()> {
        let out = NodeModel::new("Normalizer", vec![]).run(vec![tensor1(&[3.0f32, 4.0])])?;
        assert_close(&out[0], &tensor1(&[0.75f32, 1.0]), 1e-7);
        Ok(())
    }

    #[test]
    fn rejects_rank_three_and_unknown_norms() {
        let x = Tensor::zero::<f32>(&[2, 2, 3]);
        assert!(x.and_then(|x| normalize("L1", x)).is_err());
        assert!(normalize("l1", f32s(&[[1.0]])).is_err());
    }
}
