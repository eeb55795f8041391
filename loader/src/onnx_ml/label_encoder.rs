//! `LabelEncoder` (ai.onnx.ml 1 to 4): maps each input element through a key -> value table,
//! elements with no key getting the default value (`onnxruntime/core/providers/cpu/ml/
//! label_encoder.h` and `.cc`).
//!
//! - opset 1: `classes_strings` maps string -> position (int64) or position -> string, the
//!   direction following the input type; defaults `default_int64` (-1), `default_string`
//!   (`"_Unused"`).
//! - opsets 2-3: `keys_strings|int64s|floats` -> `values_strings|int64s|floats`; defaults
//!   `default_string` (`"_Unused"`), `default_int64` (-1), `default_float` (-0.0).
//! - opset 4 adds `keys_tensor`, `values_tensor` and `default_tensor` (which wins over the
//!   typed defaults), double and int16 tables, and NaN keys that match NaN inputs.
//!
//! A repeated key keeps its first value. Float keys 0.0 and -0.0 are the same key.

use super::batch::wire_int64_inputs;
use std::collections::HashMap;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

/// Registers the `LabelEncoder` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("LabelEncoder", label_encoder);
}

/// The version of the ai.onnx.ml opset the model imports (1 when it imports none).
fn ml_opset(ctx: &ParsingContext) -> i64 {
    ctx.model
        .opset_import
        .iter()
        .find(|o| o.domain == "ai.onnx.ml")
        .map(|o| o.version)
        .unwrap_or(1)
}

fn label_encoder(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let tables = if let Some(classes) = node.get_attr_opt_vec::<String>("classes_strings")? {
        let positions: Vec<i64> = (0..classes.len() as i64).collect();
        let default_int = node.get_attr_opt::<i64>("default_int64")?.unwrap_or(-1);
        let default_string = node
            .get_attr_opt::<String>("default_string")?
            .unwrap_or_else(|| "_Unused".into());
        vec![
            Table::new(
                tensor1(&classes),
                tensor1(&positions),
                tensor0(default_int),
                false,
            )?,
            Table::new(
                tensor1(&positions),
                tensor1(&classes),
                tensor0(default_string),
                false,
            )?,
        ]
    } else {
        let keys = read_list(ctx, node, "keys")?;
        let values = read_list(ctx, node, "values")?;
        ensure!(
            keys.len() == values.len(),
            "LabelEncoder has {} keys but {} values",
            keys.len(),
            values.len()
        );
        let default = read_default(ctx, node, values.datum_type())?;
        vec![Table::new(keys, values, default, ml_opset(ctx) >= 4)?]
    };
    Ok((expand(LabelEncoder { tables }), vec![]))
}

/// Reads `{what}_strings`, `{what}_int64s` or `{what}_floats`, else `{what}_tensor`.
fn read_list(ctx: &ParsingContext, node: &NodeProto, what: &str) -> TractResult<Tensor> {
    let strings: Option<Vec<String>> = node.get_attr_opt_vec(&format!("{what}_strings"))?;
    let ints: Option<Vec<i64>> = node.get_attr_opt_vec(&format!("{what}_int64s"))?;
    let floats: Option<Vec<f32>> = node.get_attr_opt_vec(&format!("{what}_floats"))?;
    match (strings, ints, floats) {
        (Some(v), None, None) => Ok(tensor1(&v)),
        (None, Some(v), None) => Ok(tensor1(&v)),
        (None, None, Some(v)) => Ok(tensor1(&v)),
        (None, None, None) => match node.get_attr_opt::<&TensorProto>(&format!("{what}_tensor"))? {
            Some(proto) => {
                let t = load_tensor(ctx, proto, what)?;
                let len = t.len();
                t.into_shape(&[len])
            }
            None => bail!("LabelEncoder has no {what} (expected {what}_strings, {what}_int64s, {what}_floats or {what}_tensor)"),
        },
        _ => bail!("LabelEncoder has more than one kind of {what}"),
    }
}

/// Loads a tensor attribute of one of the element types LabelEncoder tables hold.
fn load_tensor(ctx: &ParsingContext, proto: &TensorProto, what: &str) -> TractResult<Tensor> {
    let supported = [
        DataType::String,
        DataType::Int64,
        DataType::Float,
        DataType::Double,
        DataType::Int16,
        DataType::Int32,
    ];
    ensure!(
        supported.iter().any(|dt| *dt as i32 == proto.data_type),
        "LabelEncoder {what} tensor has unsupported element type {}",
        proto.data_type
    );
    ensure!(
        proto.data_type != DataType::String as i32 || proto.raw_data.is_empty(),
        "LabelEncoder {what} tensor holds strings as raw data"
    );
    ctx.load_tensor(proto)
}

fn read_default(ctx: &ParsingContext, node: &NodeProto, dt: DatumType) -> TractResult<Tensor> {
    if let Some(proto) = node.get_attr_opt::<&TensorProto>("default_tensor")? {
        let t = load_tensor(ctx, proto, "default")?;
        ensure!(
            t.len() == 1,
            "LabelEncoder default_tensor must hold one value, got {t:?}"
        );
        ensure!(
            t.datum_type() == dt,
            "LabelEncoder default_tensor is {:?} but the values are {dt:?}",
            t.datum_type()
        );
        return t.into_shape(&[]);
    }
    Ok(match dt {
        DatumType::String => tensor0(
            node.get_attr_opt::<String>("default_string")?
                .unwrap_or_else(|| "_Unused".into()),
        ),
        DatumType::I64 => tensor0(node.get_attr_opt::<i64>("default_int64")?.unwrap_or(-1)),
        DatumType::F32 => tensor0(node.get_attr_opt::<f32>("default_float")?.unwrap_or(-0.0)),
        DatumType::F64 => tensor0(
            node.get_attr_opt::<f32>("default_float")?
                .map(f64::from)
                .unwrap_or(-0.0),
        ),
        DatumType::I16 => tensor0(-1i16),
        DatumType::I32 => tensor0(-1i32),
        dt => bail!("LabelEncoder values of type {dt:?} are not supported"),
    })
}

/// A hashable key: floats by their bits, with -0.0 folded into 0.0 and one NaN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Int(i64),
    Float(u64),
}

fn float_key(v: f64, nan_matches: bool) -> Option<Key> {
    if v.is_nan() {
        nan_matches.then_some(Key::Float(f64::NAN.to_bits()))
    } else if v == 0.0 {
        Some(Key::Float(0))
    } else {
        Some(Key::Float(v.to_bits()))
    }
}

/// Keys of a 1-D tensor, `None` for a key no input can match.
fn keys_of(t: &Tensor, nan_matches: bool) -> TractResult<Vec<Option<Key>>> {
    let view = t.try_as_plain_ram()?;
    Ok(match t.datum_type() {
        DatumType::String => view
            .as_slice::<String>()?
            .iter()
            .map(|s| Some(Key::Str(s.clone())))
            .collect(),
        DatumType::I64 => view
            .as_slice::<i64>()?
            .iter()
            .map(|&v| Some(Key::Int(v)))
            .collect(),
        DatumType::I32 => view
            .as_slice::<i32>()?
            .iter()
            .map(|&v| Some(Key::Int(v as i64)))
            .collect(),
        DatumType::I16 => view
            .as_slice::<i16>()?
            .iter()
            .map(|&v| Some(Key::Int(v as i64)))
            .collect(),
        // an f32 key is exactly representable as f64, so both widths share the float key space
        DatumType::F32 => view
            .as_slice::<f32>()?
            .iter()
            .map(|&v| float_key(v as f64, nan_matches))
            .collect(),
        DatumType::F64 => view
            .as_slice::<f64>()?
            .iter()
            .map(|&v| float_key(v, nan_matches))
            .collect(),
        dt => bail!("LabelEncoder keys of type {dt:?} are not supported"),
    })
}

/// One key -> value table: the typed op the expansion wires.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    keys: Arc<Tensor>,
    values: Arc<Tensor>,
    default: Arc<Tensor>,
    nan_matches: bool,
    index: HashMap<Key, usize>,
}

impl Table {
    fn new(keys: Tensor, values: Tensor, default: Tensor, nan_matches: bool) -> TractResult<Table> {
        let mut index = HashMap::new();
        for (ix, key) in keys_of(&keys, nan_matches)?.into_iter().enumerate() {
            if let Some(key) = key {
                index.entry(key).or_insert(ix);
            }
        }
        Ok(Table {
            keys: keys.into_arc_tensor(),
            values: values.into_arc_tensor(),
            default: default.into_arc_tensor(),
            nan_matches,
            index,
        })
    }

    fn map_t<V: Datum>(&self, found: &[Option<usize>], shape: &[usize]) -> TractResult<Tensor> {
        let values = self.values.try_as_plain_ram()?.as_slice::<V>()?;
        let default = self.default.try_as_plain_ram()?.to_scalar::<V>()?;
        let out: Vec<V> = found
            .iter()
            .map(|ix| ix.and_then(|ix| values.get(ix)).unwrap_or(default).clone())
            .collect();
        tensor1(&out).into_shape(shape)
    }
}

impl Op for Table {
    fn name(&self) -> StaticName {
        "LabelEncoder".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Table {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        ensure!(
            input.datum_type() == self.keys.datum_type(),
            "LabelEncoder input is {:?} but its keys are {:?}",
            input.datum_type(),
            self.keys.datum_type()
        );
        let found: Vec<Option<usize>> = keys_of(&input, self.nan_matches)?
            .into_iter()
            .map(|key| key.and_then(|k| self.index.get(&k).copied()))
            .collect();
        let shape = input.shape();
        let output = match self.values.datum_type() {
            DatumType::String => self.map_t::<String>(&found, shape)?,
            DatumType::I64 => self.map_t::<i64>(&found, shape)?,
            DatumType::I32 => self.map_t::<i32>(&found, shape)?,
            DatumType::I16 => self.map_t::<i16>(&found, shape)?,
            DatumType::F32 => self.map_t::<f32>(&found, shape)?,
            DatumType::F64 => self.map_t::<f64>(&found, shape)?,
            dt => bail!("LabelEncoder values of type {dt:?} are not supported"),
        };
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for Table {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs[0].datum_type == self.keys.datum_type(),
            "LabelEncoder input is {:?} but its keys are {:?}",
            inputs[0].datum_type,
            self.keys.datum_type()
        );
        Ok(tvec!(self
            .values
            .datum_type()
            .fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// The inference-time expansion: picks the table whose keys have the input's type (opset 1
/// has one table per direction).
#[derive(Debug, Clone)]
struct LabelEncoder {
    tables: Vec<Table>,
}

impl LabelEncoder {
    fn table_for(&self, input: DatumType) -> TractResult<&Table> {
        match self.tables.iter().find(|t| t.keys.datum_type() == input) {
            Some(t) => Ok(t),
            None => bail!(
                "LabelEncoder has no table for {input:?} inputs (its keys are {:?})",
                self.tables
                    .iter()
                    .map(|t| t.keys.datum_type())
                    .collect::<Vec<_>>()
            ),
        }
    }
}

impl Expansion for LabelEncoder {
    fn name(&self) -> StaticName {
        "LabelEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        if let [table] = &*self.tables {
            s.equals(&outputs[0].datum_type, table.values.datum_type())?;
        } else {
            s.given(&inputs[0].datum_type, move |s, dt| {
                let dt = if dt == DatumType::TDim {
                    DatumType::I64
                } else {
                    dt
                };
                s.equals(
                    &outputs[0].datum_type,
                    self.table_for(dt)?.values.datum_type(),
                )
            })?;
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let inputs = wire_int64_inputs(prefix, model, inputs)?;
        let input = model.outlet_fact(inputs[0])?.datum_type;
        model.wire_node(prefix, self.table_for(input)?.clone(), &inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use tract_onnx::pb::AttributeProto;
    use tract_onnx::prelude::*;

    fn encode(ml_opset: i64, attrs: Vec<AttributeProto>, x: Tensor) -> TractResult<Tensor> {
        Ok(NodeModel::new("LabelEncoder", attrs)
            .ml_opset(ml_opset)
            .run(vec![x])?
            .remove(0))
    }

    #[test]
    fn opset1_classes_both_directions() -> TractResult<()> {
        // onnxruntime 1.32
        let classes = || vec![strings("classes_strings", &["a", "b"])];
        let out = encode(1, classes(), strs(&[1, 3], &["a", "b", "zz"]))?;
        assert_eq!(out, tensor2(&[[0i64, 1, -1]]));
        let out = encode(1, classes(), tensor2(&[[0i64, 1, 7]]))?;
        assert_eq!(out, strs(&[1, 3], &["a", "b", "_Unused"]));
        let mut attrs = classes();
        attrs.push(string("default_string", "??"));
        assert_eq!(encode(1, attrs, tensor1(&[7i64]))?, strs(&[1], &["??"]));
        Ok(())
    }

    #[test]
    fn opset2_typed_lists_and_defaults() -> TractResult<()> {
        let attrs = vec![
            strings("keys_strings", &["a", "b"]),
            ints("values_int64s", &[5, 6]),
        ];
        assert_eq!(
            encode(2, attrs, strs(&[1, 3], &["a", "b", "zz"]))?,
            tensor2(&[[5i64, 6, -1]])
        );
        let attrs = vec![
            strings("keys_strings", &["a"]),
            floats("values_floats", &[1.5]),
        ];
        let out = encode(2, attrs, strs(&[2], &["a", "q"]))?;
        assert_eq!(out, tensor1(&[1.5f32, -0.0]));
        let attrs = vec![ints("keys_int64s", &[1, 1]), ints("values_int64s", &[5, 6])];
        assert_eq!(encode(2, attrs, tensor1(&[1i64, 2]))?, tensor1(&[5i64, -1]));
        Ok(())
    }

    #[test]
    fn nan_keys_match_from_opset4_only() -> TractResult<()> {
        // onnxruntime 1.32 on [1.0, -0.0, NaN, 2.5] with keys [1.0, 0.0, NaN]
        let attrs = || {
            vec![
                floats("keys_floats", &[1.0, 0.0, f32::NAN]),
                strings("values_strings", &["one", "zero", "nan"]),
            ]
        };
        let x = || tensor1(&[1.0f32, -0.0, f32::NAN, 2.5]);
        assert_eq!(
            encode(2, attrs(), x())?,
            strs(&[4], &["one", "zero", "_Unused", "_Unused"])
        );
        assert_eq!(
            encode(4, attrs(), x())?,
            strs(&[4], &["one", "zero", "nan", "_Unused"])
        );
        Ok(())
    }

    #[test]
    fn opset4_tensors() -> TractResult<()> {
        let attrs = vec![
            tensor("keys_tensor", tensor_i64(&[1, 2])),
            tensor("values_tensor", tensor_str(&["x", "y"])),
            tensor("default_tensor", tensor_str(&["DEF"])),
        ];
        assert_eq!(
            encode(4, attrs, tensor1(&[1i64, 2, 3]))?,
            strs(&[3], &["x", "y", "DEF"])
        );
        let attrs = vec![
            tensor("keys_tensor", tensor_f64(&[1.0, f64::NAN])),
            tensor("values_tensor", tensor_f64(&[10.0, 20.0])),
        ];
        let out = encode(4, attrs, tensor1(&[1.0f64, f64::NAN, 3.0]))?;
        assert_eq!(out, tensor1(&[10.0f64, 20.0, -0.0]));
        let attrs = vec![
            strings("keys_strings", &["a"]),
            tensor("values_tensor", tensor_i16(&[7])),
        ];
        assert_eq!(
            encode(4, attrs, strs(&[2], &["a", "b"]))?,
            tensor1(&[7i16, -1])
        );
        Ok(())
    }

    #[test]
    fn rejects_mismatched_tables_and_inputs() {
        let attrs = vec![
            strings("keys_strings", &["a"]),
            ints("values_int64s", &[1, 2]),
        ];
        assert!(encode(2, attrs, strs(&[1], &["a"])).is_err());
        let attrs = vec![strings("keys_strings", &["a"]), ints("values_int64s", &[1])];
        assert!(encode(2, attrs, tensor1(&[1i64])).is_err());
    }
}
