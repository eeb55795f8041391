//! Attribute readers shared by the opset 1-3 and opset 5 builders: integer lists, float lists
//! that opset 3 may give as DOUBLE tensors (`*_as_tensor`), and 1-D tensor attributes.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

/// An INTS attribute, empty when absent (onnxruntime's `GetAttrsOrDefault`).
pub fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

/// An INTS attribute of indices: every entry must be non-negative.
pub fn indices(node: &NodeProto, name: &str) -> TractResult<Vec<usize>> {
    ints(node, name)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| match usize::try_from(v) {
            Ok(v) => Ok(v),
            Err(_) => bail!("{}: {name}[{i}] is negative ({v})", node.op_type),
        })
        .collect()
}

/// Values given either as `name` (FLOATS) or as `name_as_tensor` (a 1-D DOUBLE tensor, opset 3),
/// widened to f64 (exactly), with whether they were doubles. Empty when neither is present.
pub fn floats_or_doubles(
    ctx: &ParsingContext,
    node: &NodeProto,
    name: &str,
) -> TractResult<(Vec<f64>, bool)> {
    let floats = node.get_attr_opt_vec::<f32>(name)?.unwrap_or_default();
    let doubles = tensor(ctx, node, &format!("{name}_as_tensor"), &[DataType::Double])?;
    let doubles = doubles.map(|(d, _)| d).unwrap_or_default();
    match (floats.is_empty(), doubles.is_empty()) {
        (false, false) => bail!("{}: both {name} and {name}_as_tensor are set", node.op_type),
        (true, false) => Ok((doubles, true)),
        _ => Ok((floats.into_iter().map(f64::from).collect(), false)),
    }
}

/// A 1-D (or scalar) tensor attribute of one of `types`, as f64 values plus its element type.
pub fn tensor(
    ctx: &ParsingContext,
    node: &NodeProto,
    name: &str,
    types: &[DataType],
) -> TractResult<Option<(Vec<f64>, DatumType)>> {
    let Some(proto) = tensor_proto(node, name, types)? else {
        return Ok(None);
    };
    let t = ctx.load_tensor(proto)?;
    let dt = t.datum_type();
    let values = t.cast_to::<f64>()?;
    let values = values.try_as_plain_ram()?.as_slice::<f64>()?.to_vec();
    Ok(Some((values, dt)))
}

/// A 1-D UINT8 tensor attribute (opset 5 `nodes_modes`).
pub fn tensor_u8(
    ctx: &ParsingContext,
    node: &NodeProto,
    name: &str,
) -> TractResult<Option<Vec<u8>>> {
    let Some(proto) = tensor_proto(node, name, &[DataType::Uint8])? else {
        return Ok(None);
    };
    let t = ctx.load_tensor(proto)?;
    Ok(Some(t.try_as_plain_ram()?.as_slice::<u8>()?.to_vec()))
}

/// Checks a tensor attribute's element type and rank before tract decodes it (its decoder does
/// not cover every element type).
fn tensor_proto<'a>(
    node: &'a NodeProto,
    name: &str,
    types: &[DataType],
) -> TractResult<Option<&'a TensorProto>> {
    let Some(proto) = node.get_attr_opt::<&TensorProto>(name)? else {
        return Ok(None);
    };
    if !types.iter().any(|t| *t as i32 == proto.data_type) {
        let names: Vec<&str> = types.iter().map(|t| t.as_str_name()).collect();
        bail!(
            "{}: attribute {name} must be a tensor of {}, found element type {}",
            node.op_type,
            names.join(" or "),
            proto.data_type
        );
    }
    if proto.dims.len() > 1 {
        bail!(
            "{}: attribute {name} must be 1-D, found dims {:?}",
            node.op_type,
            proto.dims
        );
    }
    Ok(Some(proto))
}
