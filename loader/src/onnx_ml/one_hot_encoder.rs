//! `OneHotEncoder` (ai.onnx.ml 1): one float column per category in `cats_int64s` or
//! `cats_strings`, appended as a new last axis exactly as onnxruntime shapes it (an `[N, 1]`
//! input gives `[N, 1, C]`). Numeric inputs are truncated to int64 first. An unknown category
//! gives a row of zeros, or an error when `zeros` is 0
//! (`onnxruntime/core/providers/cpu/ml/onehotencoder.cc`).

use super::expansion::wire_op;
use std::collections::HashMap;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `OneHotEncoder` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("OneHotEncoder", one_hot_encoder);
}

fn one_hot_encoder(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let ints: Vec<i64> = node.get_attr_opt_vec("cats_int64s")?.unwrap_or_default();
    let strings: Vec<String> = node.get_attr_opt_vec("cats_strings")?.unwrap_or_default();
    ensure!(
        ints.is_empty() || strings.is_empty(),
        "OneHotEncoder has both cats_int64s and cats_strings"
    );
    let categories = ints.len().max(strings.len());
    ensure!(
        categories > 0,
        "OneHotEncoder needs cats_int64s or cats_strings"
    );
    // a repeated category maps to its last position, as onnxruntime fills its map in order
    let op = OneHotEncoder {
        ints: ints.iter().enumerate().map(|(ix, &c)| (c, ix)).collect(),
        strings: strings
            .into_iter()
            .enumerate()
            .map(|(ix, c)| (c, ix))
            .collect(),
        categories,
        zeros: node.get_attr_opt::<i64>("zeros")?.unwrap_or(1) != 0,
    };
    Ok((expand(op), vec![]))
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OneHotEncoder {
    ints: HashMap<i64, usize>,
    strings: HashMap<String, usize>,
    categories: usize,
    zeros: bool,
}

/// `static_cast<int64_t>(x)` as x86-64 computes it: truncation, and the "integer indefinite"
/// value `i64::MIN` for NaN and out-of-range inputs (Rust's `as` would saturate instead).
fn truncate(x: f64) -> i64 {
    // i64 covers [-2^63, 2^63); NaN is outside every range
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

impl OneHotEncoder {
    fn encode<T>(&self, x: &[T], lookup: impl Fn(&T) -> Option<usize>) -> TractResult<Vec<f32>> {
        let mut y = vec![0f32; x.len() * self.categories];
        for (row, v) in y.chunks_mut(self.categories).zip(x) {
            match lookup(v) {
                Some(ix) => row[ix] = 1.0,
                None if self.zeros => (),
                None => bail!("OneHotEncoder: unknown category and zeros = 0"),
            }
        }
        Ok(y)
    }

    fn eval_numeric<T: Datum + Copy>(
        &self,
        x: &[T],
        to_i64: impl Fn(T) -> i64,
    ) -> TractResult<Vec<f32>> {
        self.encode(x, |v| self.ints.get(&to_i64(*v)).copied())
    }
}

impl Expansion for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let mut shape = shape;
            shape.push(self.categories.to_dim());
            s.equals(&outputs[0].shape, shape)
        })?;
        Ok(())
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

impl Op for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    op_as_typed_op!();
}

impl EvalOp for OneHotEncoder {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let x = input.try_as_plain_ram()?;
        let y = match input.datum_type() {
            DatumType::String => {
                self.encode(x.as_slice::<String>()?, |v| self.strings.get(v).copied())?
            }
            DatumType::I64 => self.eval_numeric(x.as_slice::<i64>()?, |v| v)?,
            DatumType::I32 => self.eval_numeric(x.as_slice::<i32>()?, |v| v as i64)?,
            DatumType::F32 => self.eval_numeric(x.as_slice::<f32>()?, |v| truncate(v as f64))?,
            DatumType::F64 => self.eval_numeric(x.as_slice::<f64>()?, truncate)?,
            dt => bail!("OneHotEncoder does not take {dt:?} inputs"),
        };
        let mut shape = input.shape().to_vec();
        shape.push(self.categories);
        Ok(tvec!(tensor1(&y).into_shape(&shape)?.into_tvalue()))
    }
}

impl TypedOp for OneHotEncoder {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(
            matches!(
                fact.datum_type,
                DatumType::String
                    | DatumType::I64
                    | DatumType::I32
                    | DatumType::F32
                    | DatumType::F64
            ),
            "OneHotEncoder does not take {:?} inputs",
            fact.datum_type
        );
        ensure!(
            fact.rank() <= 2,
            "OneHotEncoder takes inputs of rank 2 at most, got {fact:?}"
        );
        let mut shape: TVec<TDim> = fact.shape.iter().cloned().collect();
        shape.push(self.categories.to_dim());
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use super::truncate;
    use tract_onnx::prelude::*;

    fn encode(attrs: Vec<tract_onnx::pb::AttributeProto>, x: Tensor) -> TractResult<Tensor> {
        Ok(NodeModel::new("OneHotEncoder", attrs)
            .run(vec![x])?
            .remove(0))
    }

    #[test]
    fn appends_a_category_axis() -> TractResult<()> {
        // onnxruntime 1.32: [N, 1] -> [N, 1, C], [N] -> [N, C]
        let cats = || vec![ints("cats_int64s", &[1, 2, 3])];
        let out = encode(cats(), tensor2(&[[1i64], [3], [2]]))?;
        let expected = tensor3(&[[[1f32, 0., 0.]], [[0., 0., 1.]], [[0., 1., 0.]]]);
        assert_close(&out, &expected, 0.0);
        let out = encode(cats(), tensor1(&[1i64, 3, 5]))?;
        assert_close(
            &out,
            &f32s(&[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]),
            0.0,
        );
        Ok(())
    }

    #[test]
    fn strings_and_unknowns() -> TractResult<()> {
        let cats = |zeros| vec![strings("cats_strings", &["a", "b"]), int("zeros", zeros)];
        let out = encode(cats(1), strs(&[2, 1], &["b", "zz"]))?;
        assert_close(&out, &tensor3(&[[[0f32, 1.]], [[0., 0.]]]), 0.0);
        assert!(encode(cats(0), strs(&[2, 1], &["b", "zz"])).is_err());
        assert!(encode(cats(0), strs(&[1, 1], &["a"])).is_ok());
        Ok(())
    }

    #[test]
    fn floats_are_truncated() -> TractResult<()> {
        // onnxruntime 1.32: 1.7 -> 1, 2.2 -> 2, -0.5 -> 0, NaN -> no category
        let out = encode(
            vec![ints("cats_int64s", &[0, 1, 2])],
            f32s(&[[1.7], [2.2], [-0.5], [f32::NAN]]),
        )?;
        let expected = tensor3(&[
            [[0f32, 1., 0.]],
            [[0., 0., 1.]],
            [[1., 0., 0.]],
            [[0., 0., 0.]],
        ]);
        assert_close(&out, &expected, 0.0);
        assert_eq!(truncate(f64::INFINITY), i64::MIN);
        Ok(())
    }

    #[test]
    fn repeated_categories_map_to_the_last() -> TractResult<()> {
        let out = encode(
            vec![strings("cats_strings", &["a", "a"])],
            strs(&[1, 1], &["a"]),
        )?;
        assert_close(&out, &tensor3(&[[[0f32, 1.]]]), 0.0);
        Ok(())
    }
}
