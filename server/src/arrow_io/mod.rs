//! Arrow record batches <-> the model's tensors, for `ironflow predict` (Parquet and Arrow IPC
//! files) and for REST request bodies of content type `application/vnd.apache.arrow.stream`.
//!
//! In: each column of a batch becomes one input tensor named after the column, as a v2 request
//! with one input per DataFrame column (`pd`) carries it; MLflow's schema enforcement then runs
//! in the model's binder exactly as for such a request. A model whose signature is one tensor
//! of shape `[-1, k]` gets the batch's `k` numeric columns packed into it, as pyfunc turns a
//! DataFrame into the tensor. Nulls in float columns are NaN; elsewhere they are refused.
//!
//! Out: one column per output, named as the server names it (`name` for a `[n]` or `[n, 1]`
//! output, `name_0..name_k` for `[n, k]`).

pub mod read;
pub mod write;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use ironflow_loader::mlmodel::{Schema as MlSchema, TypedSpec};
use ironflow_loader::tensor::ndarray::{ArrayD, IxDyn};
use ironflow_loader::tensor::{Datum, DatumType};
use ironflow_loader::{NamedTensor, Tensor};

/// Why a batch cannot become tensors, or outputs a batch.
#[derive(Debug, thiserror::Error)]
pub enum ArrowError {
    /// A column type with no tensor counterpart.
    #[error("column {column:?}: Arrow type {datatype} is not supported (numbers, booleans and strings are)")]
    ColumnType {
        /// The column.
        column: String,
        /// Its Arrow type.
        datatype: String,
    },
    /// A null where the tensor has no missing value (integers, booleans, strings).
    #[error("column {column:?} holds nulls, which a {datatype} input cannot carry")]
    Nulls {
        /// The column.
        column: String,
        /// Its type.
        datatype: String,
    },
    /// An output the Arrow writer cannot hold.
    #[error("output {name:?}: {message}")]
    Output {
        /// The output.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The Arrow or Parquet library's own error.
    #[error("{0}")]
    Library(String),
}

impl From<arrow_schema::ArrowError> for ArrowError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Self::Library(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for ArrowError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Self::Library(e.to_string())
    }
}

/// The inputs for one batch: one tensor per column, or the columns packed into the signature's
/// single `[-1, k]` tensor.
pub fn batch_to_inputs(
    batch: &RecordBatch,
    schema: Option<&MlSchema>,
) -> Result<Vec<NamedTensor>, ArrowError> {
    let arrow_schema = batch.schema();
    let names: Vec<&str> = arrow_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let matrices = matrices(schema);
    // One `[-1, k]` tensor and `k` columns not named after it: all of them, in order.
    if let [(name, dtype, width)] = matrices.as_slice() {
        if *width == batch.num_columns() && !names.contains(&name.as_str()) {
            let all: Vec<usize> = (0..*width).collect();
            return Ok(vec![pack_matrix(batch, &all, name, *dtype)?]);
        }
    }
    let mut inputs = Vec::new();
    let mut packed = vec![false; names.len()];
    // `name_0..name_{k-1}` columns of a `[-1, k]` tensor input (as predict writes outputs).
    for (name, dtype, width) in &matrices {
        let wanted: Option<Vec<usize>> = (0..*width)
            .map(|j| names.iter().position(|n| *n == format!("{name}_{j}")))
            .collect();
        if let Some(indices) = wanted.filter(|_| !names.contains(&name.as_str())) {
            for &i in &indices {
                packed[i] = true;
            }
            inputs.push(pack_matrix(batch, &indices, name, *dtype)?);
        }
    }
    for (i, (field, column)) in arrow_schema
        .fields()
        .iter()
        .zip(batch.columns())
        .enumerate()
    {
        if !packed[i] {
            inputs.push(NamedTensor::new(
                field.name(),
                column_tensor(field.name(), column)?,
            ));
        }
    }
    Ok(inputs)
}

/// The signature's tensors of shape `[-1, k]`: name (as the binder knows it), dtype and `k`.
fn matrices(schema: Option<&MlSchema>) -> Vec<(String, DatumType, usize)> {
    let Some(schema) = schema else {
        return Vec::new();
    };
    schema
        .specs
        .iter()
        .zip(schema.names("input"))
        .filter_map(|(spec, name)| {
            let TypedSpec::Tensor(spec) = spec else {
                return None;
            };
            let [-1, k] = spec.shape.as_slice() else {
                return None;
            };
            let dtype = match spec.dtype.as_str() {
                "float32" => DatumType::F32,
                "float64" => DatumType::F64,
                "int32" => DatumType::I32,
                "int64" => DatumType::I64,
                _ => return None,
            };
            Some((name, dtype, usize::try_from(*k).ok()?))
        })
        .collect()
}

/// The batch's numeric columns as one row-major `[n, k]` tensor of `dtype`.
fn pack_matrix(
    batch: &RecordBatch,
    indices: &[usize],
    name: &str,
    dtype: DatumType,
) -> Result<NamedTensor, ArrowError> {
    let n = batch.num_rows();
    let k = indices.len();
    let schema = batch.schema();
    let columns: Vec<Vec<f64>> = indices
        .iter()
        .map(|&i| floats(schema.field(i).name(), batch.column(i)))
        .collect::<Result<_, _>>()?;
    let mut values = Vec::with_capacity(n * k);
    for row in 0..n {
        for column in &columns {
            values.push(column[row]);
        }
    }
    let tensor = dense(values, vec![n, k])?
        .cast_to_dt(dtype)
        .map_err(|e| ArrowError::Library(e.to_string()))?
        .into_owned();
    Ok(NamedTensor::new(name, tensor))
}

/// A numeric column as f64 (nulls as NaN), for packing.
fn floats(name: &str, column: &ArrayRef) -> Result<Vec<f64>, ArrowError> {
    let tensor = column_tensor(name, column)?;
    let cast = tensor
        .cast_to::<f64>()
        .map_err(|_| ArrowError::ColumnType {
            column: name.to_owned(),
            datatype: column.data_type().to_string(),
        })?;
    Ok(slice::<f64>(&cast).map(<[f64]>::to_vec).unwrap_or_default())
}

fn dense<T: Datum>(values: Vec<T>, shape: Vec<usize>) -> Result<Tensor, ArrowError> {
    ArrayD::from_shape_vec(IxDyn(&shape), values)
        .map(Tensor::from)
        .map_err(|e| ArrowError::Library(e.to_string()))
}

/// One column as a `[n]` tensor of the matching type.
pub fn column_tensor(name: &str, column: &ArrayRef) -> Result<Tensor, ArrowError> {
    let n = column.len();
    let no_nulls = |datatype: &str| {
        if column.null_count() > 0 {
            Err(ArrowError::Nulls {
                column: name.to_owned(),
                datatype: datatype.to_owned(),
            })
        } else {
            Ok(())
        }
    };
    macro_rules! ints {
        ($t:ty, $out:ty) => {{
            no_nulls("integer")?;
            let values: Vec<$out> = column
                .as_primitive::<$t>()
                .values()
                .iter()
                .map(|&v| <$out>::from(v))
                .collect();
            dense(values, vec![n])?
        }};
    }
    Ok(match column.data_type() {
        ArrowType::Float64 => {
            let a = column.as_primitive::<Float64Type>();
            dense(a.iter().map(|v| v.unwrap_or(f64::NAN)).collect(), vec![n])?
        }
        ArrowType::Float32 => {
            let a = column.as_primitive::<Float32Type>();
            dense(a.iter().map(|v| v.unwrap_or(f32::NAN)).collect(), vec![n])?
        }
        ArrowType::Int64 => ints!(Int64Type, i64),
        ArrowType::Int32 => ints!(Int32Type, i32),
        ArrowType::Int16 => ints!(Int16Type, i16),
        ArrowType::Int8 => ints!(Int8Type, i8),
        ArrowType::UInt64 => ints!(UInt64Type, u64),
        ArrowType::UInt32 => ints!(UInt32Type, u32),
        ArrowType::UInt16 => ints!(UInt16Type, u16),
        ArrowType::UInt8 => ints!(UInt8Type, u8),
        ArrowType::Boolean => {
            no_nulls("boolean")?;
            let a = column.as_boolean();
            dense((0..n).map(|i| a.value(i)).collect::<Vec<bool>>(), vec![n])?
        }
        ArrowType::Utf8 => {
            no_nulls("string")?;
            let a = column.as_string::<i32>();
            dense(
                (0..n)
                    .map(|i| a.value(i).to_owned())
                    .collect::<Vec<String>>(),
                vec![n],
            )?
        }
        ArrowType::LargeUtf8 => {
            no_nulls("string")?;
            let a = column.as_string::<i64>();
            dense(
                (0..n)
                    .map(|i| a.value(i).to_owned())
                    .collect::<Vec<String>>(),
                vec![n],
            )?
        }
        other => {
            return Err(ArrowError::ColumnType {
                column: name.to_owned(),
                datatype: other.to_string(),
            })
        }
    })
}

/// The outputs as one record batch: a column per `[n]` output, `name_0..name_k` per `[n, k]`.
pub fn outputs_to_batch(outputs: &[NamedTensor]) -> Result<RecordBatch, ArrowError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for output in outputs {
        let shape = output.tensor.shape();
        let (n, k, split) = match shape {
            [n] => (*n, 1, false),
            [n, k] => (*n, *k, *k != 1),
            [] => (1, 1, false),
            other => {
                return Err(ArrowError::Output {
                    name: output.name.clone(),
                    message: format!("shape {other:?} has more than two dimensions"),
                })
            }
        };
        for j in 0..k {
            let name = if split {
                format!("{}_{j}", output.name)
            } else {
                output.name.clone()
            };
            let column =
                output_column(&output.tensor, n, k, j).ok_or_else(|| ArrowError::Output {
                    name: output.name.clone(),
                    message: format!(
                        "datatype {:?} has no Arrow column type here",
                        output.tensor.datum_type()
                    ),
                })?;
            fields.push(Field::new(name, column.data_type().clone(), false));
            columns.push(column);
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A tensor's elements, when it holds `T`s in plain memory.
fn slice<T: Datum>(t: &Tensor) -> Option<&[T]> {
    t.try_as_plain_ram().ok()?.as_slice::<T>().ok()
}

/// Column `j` of a row-major `[n, k]` tensor.
fn output_column(tensor: &Tensor, n: usize, k: usize, j: usize) -> Option<ArrayRef> {
    fn pick<T: Datum + Copy>(t: &Tensor, n: usize, k: usize, j: usize) -> Option<Vec<T>> {
        let values = slice::<T>(t)?;
        Some((0..n).map(|i| values[i * k + j]).collect())
    }
    Some(match tensor.datum_type() {
        DatumType::F64 => Arc::new(Float64Array::from(pick::<f64>(tensor, n, k, j)?)),
        DatumType::F32 => Arc::new(Float32Array::from(pick::<f32>(tensor, n, k, j)?)),
        DatumType::I64 => Arc::new(Int64Array::from(pick::<i64>(tensor, n, k, j)?)),
        DatumType::I32 => Arc::new(Int32Array::from(pick::<i32>(tensor, n, k, j)?)),
        DatumType::Bool => Arc::new(BooleanArray::from(pick::<bool>(tensor, n, k, j)?)),
        DatumType::String => {
            let values = slice::<String>(tensor)?;
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| values[i * k + j].as_str()),
            ))
        }
        _ => {
            let cast = tensor.cast_to::<f64>().ok()?;
            Arc::new(Float64Array::from(pick::<f64>(&cast, n, k, j)?))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironflow_loader::tensor::tensor2;

    #[test]
    fn columns_become_named_tensors_and_outputs_split_by_column() {
        let batch = RecordBatch::try_from_iter([
            (
                "a",
                Arc::new(Float64Array::from(vec![Some(1.5), None])) as ArrayRef,
            ),
            ("b", Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef),
            ("c", Arc::new(Int32Array::from(vec![3, 4])) as ArrayRef),
        ])
        .expect("batch");
        let inputs = batch_to_inputs(&batch, None).expect("inputs");
        let names: Vec<&str> = inputs.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let a = slice::<f64>(&inputs[0].tensor).expect("f64");
        assert_eq!(a[0], 1.5);
        assert!(a[1].is_nan());
        assert_eq!(slice::<String>(&inputs[1].tensor).expect("str"), ["x", "y"]);

        let out = outputs_to_batch(&[NamedTensor::new(
            "p",
            tensor2(&[[0.25f64, 0.75], [1.0, 0.0]]),
        )])
        .expect("batch");
        let schema = out.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["p_0", "p_1"]);
        assert_eq!(
            out.column(1)
                .as_primitive::<Float64Type>()
                .values()
                .to_vec(),
            [0.75, 0.0]
        );
    }

    #[test]
    fn nulls_in_an_integer_column_are_refused() {
        let batch = RecordBatch::try_from_iter([(
            "i",
            Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
        )])
        .expect("batch");
        let err = batch_to_inputs(&batch, None).expect_err("nulls");
        assert!(err.to_string().contains("nulls"), "{err}");
    }
}
