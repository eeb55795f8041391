//! How onnxruntime's ai.onnx.ml kernels read their input: as a batch of rows of features, where a
//! rank-1 tensor is a single row (`onnxruntime/core/providers/cpu/ml/linearclassifier.cc` and the
//! SVM kernels count `N` and `F` this way).

use tract_onnx::tract_hir::internal::*;

/// `(rows, features)` of a concrete input shape: rank 1 is one row, rank 2 is `[rows, features]`.
pub fn rows_features(op: &str, shape: &[usize]) -> TractResult<(usize, usize)> {
    match *shape {
        [features] => Ok((1, features)),
        [rows, features] => Ok((rows, features)),
        _ => bail!("{op} expects an input of rank 1 or 2, got shape {shape:?}"),
    }
}

/// The batch dimension of a typed input fact (`1` for a rank-1 input), for output facts.
pub fn batch_dim(op: &str, fact: &TypedFact) -> TractResult<TDim> {
    match fact.rank() {
        1 => Ok(1.to_dim()),
        2 => Ok(fact.shape[0].clone()),
        r => bail!("{op} expects an input of rank 1 or 2, got rank {r} ({fact:?})"),
    }
}

/// The feature count of a typed input fact, which must be known when the model is loaded.
pub fn feature_count(op: &str, fact: &TypedFact) -> TractResult<usize> {
    let dim = match fact.rank() {
        1 => &fact.shape[0],
        2 => &fact.shape[1],
        r => bail!("{op} expects an input of rank 1 or 2, got rank {r} ({fact:?})"),
    };
    match dim.to_i64() {
        Ok(d) => Ok(d as usize),
        Err(_) => bail!("{op} needs a known feature count, the input has {dim} features"),
    }
}

/// The input as f32, the way onnxruntime casts double and integer inputs before scoring.
pub fn as_f32<'a>(op: &str, input: &'a Tensor) -> TractResult<std::borrow::Cow<'a, Tensor>> {
    match input.datum_type() {
        DatumType::F32 | DatumType::F64 | DatumType::I64 | DatumType::I32 => input.cast_to::<f32>(),
        dt => bail!("{op} takes float, double, int64 or int32 inputs, got {dt:?}"),
    }
}

/// Whether an input type is one the scoring kernels accept (and cast to f32).
pub fn is_numeric_input(dt: DatumType) -> bool {
    matches!(
        dt,
        DatumType::F32 | DatumType::F64 | DatumType::I64 | DatumType::I32
    )
}

/// Casts TDim inputs to int64. tract types ONNX int64 tensors that may be shapes (the output of
/// `Cast(to=INT64)` for instance) as TDim, which the ai.onnx.ml kernels read as plain int64.
pub fn wire_int64_inputs(
    prefix: &str,
    model: &mut TypedModel,
    inputs: &[OutletId],
) -> TractResult<TVec<OutletId>> {
    let mut wired = tvec![];
    for (ix, &input) in inputs.iter().enumerate() {
        if model.outlet_fact(input)?.datum_type == DatumType::TDim {
            let cast = tract_onnx::tract_core::ops::cast::cast(DatumType::I64);
            wired.push(model.wire_node(format!("{prefix}.input_{ix}_as_i64"), cast, &[input])?[0]);
        } else {
            wired.push(input);
        }
    }
    Ok(wired)
}
