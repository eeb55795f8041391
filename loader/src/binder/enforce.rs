//! MLflow's type rules for signature columns, shared by every binder: which request datatypes a
//! column type takes (`_enforce_mlflow_datatype`, docs/compat.md §4.4) and which take a missing
//! (`null`) cell.

use crate::datatype::DataType;

/// Whether an MLflow column type holds text (`string`, `binary`, `datetime`, `json`).
pub(crate) fn is_text(ty: &str) -> bool {
    matches!(ty, "string" | "binary" | "datetime" | "json")
}

/// Whether a column of MLflow type `ty` takes values of request datatype `got`, as
/// `_enforce_mlflow_datatype` decides: same kind and no narrower, unsigned into a strictly wider
/// signed integer, (u)int of at most 4 bytes into double, and an INT64 column of only 0/1 (or
/// missing) values into float or double. `zero_one` is asked only in that last case.
pub(crate) fn accepts(ty: &str, got: DataType, zero_one: impl FnOnce() -> bool) -> bool {
    use DataType as D;
    match ty {
        "double" => match got {
            D::Fp64 | D::Fp32 | D::Fp16 => true,
            D::Int8 | D::Int16 | D::Int32 | D::Uint8 | D::Uint16 | D::Uint32 => true,
            D::Int64 => zero_one(),
            _ => false,
        },
        "float" => match got {
            D::Fp32 | D::Fp16 => true,
            D::Int64 => zero_one(),
            _ => false,
        },
        "long" => matches!(
            got,
            D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::Uint8 | D::Uint16 | D::Uint32
        ),
        "integer" => matches!(got, D::Int8 | D::Int16 | D::Int32 | D::Uint8 | D::Uint16),
        "boolean" => got == D::Bool,
        t if is_text(t) => got == D::Bytes,
        _ => false,
    }
}

/// Whether a column of MLflow type `ty` takes missing (`null`) cells, as MLflow 3.17's scoring
/// server decides whatever the column's `required` says (`required: false` only lets a request
/// leave the column out): string, binary, boolean and double columns keep `None` / NaN; long,
/// integer and float columns refuse them (pandas turns such a column to float64, which
/// `_enforce_mlflow_datatype` refuses to narrow). Checked by `examples/enforcement/optional-nulls`.
pub(crate) fn takes_nulls(ty: &str) -> bool {
    matches!(ty, "string" | "binary" | "boolean" | "double" | "json")
}

/// Refuses an input with a missing element, for binders whose engines have no missing value of
/// that element type (CatBoost categories, ONNX tensors, booster matrices of numbers).
pub(crate) fn no_nulls(input: &crate::model::NamedTensor) -> Result<(), crate::PredictError> {
    match input.first_null() {
        None => Ok(()),
        Some(at) => Err(crate::PredictError::InvalidValue {
            name: input.name.clone(),
            message: format!("element {at} is null, and this model takes no missing value there"),
        }),
    }
}
