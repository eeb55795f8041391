//! Request tensors to the [`Data`] a sklearn model gets, as MLServer's `pd` codec and MLflow's
//! schema enforcement build the DataFrame (docs/compat.md §1.6, §4.3, §4.4).
//!
//! - One input per column, each `[N]` or `[N, 1]`; or one 2-D `[N, k]` input whose columns are
//!   taken by position (when the signature has `k` columns, or none).
//! - Named column signature: columns bind by name and are reordered to the signature; a missing
//!   required column is an error, a missing optional one is all-missing (NaN / None); extra
//!   columns are dropped. Datatypes convert only as `_enforce_mlflow_datatype` allows.
//! - Unnamed column signature: columns bind by position; only the count is checked.
//! - Tensor signature: one tensor, whose datatype must match exactly.
//! - No signature: the request's columns in request order, no type rules.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::{Schema, TypedSpec};
use crate::model::NamedTensor;
use crate::tensor::{f16, Datum, Tensor};

use super::table::{Column, Data, Matrix, Table};

/// One expected column.
#[derive(Debug, Clone)]
struct ColumnSpec {
    name: Option<String>,
    /// The MLflow column type (`double`, `string`, ...).
    ty: String,
    required: bool,
}

/// How requests bind.
#[derive(Debug, Clone)]
enum Mode {
    /// Columns, and whether their names are distinct (a bound input's name can then move into
    /// the table rather than be copied: no other column looks for it).
    Columns(Vec<ColumnSpec>, bool),
    Tensor {
        name: Option<String>,
        datatype: DataType,
        shape: Vec<i64>,
    },
    Free,
}

/// Binds request tensors to a sklearn model's input.
#[derive(Debug, Clone)]
pub struct Binder {
    mode: Mode,
}

impl Binder {
    /// Prepares binding for a signature's input schema (or none). Fails on a schema that
    /// cannot feed a sklearn model (several tensors).
    pub fn new(schema: Option<&Schema>) -> Result<Self, String> {
        let Some(schema) = schema.filter(|s| !s.specs.is_empty()) else {
            return Ok(Self { mode: Mode::Free });
        };
        if schema.is_tensor_based() {
            let [TypedSpec::Tensor(t)] = schema.specs.as_slice() else {
                return Err(
                    "a signature of several tensors cannot feed a scikit-learn model".into(),
                );
            };
            return Ok(Self {
                mode: Mode::Tensor {
                    name: t.name.clone(),
                    datatype: t.datatype(),
                    shape: t.shape.clone(),
                },
            });
        }
        let cols: Vec<ColumnSpec> = schema
            .specs
            .iter()
            .map(|s| match s {
                TypedSpec::Column(c) => Ok(ColumnSpec {
                    name: c.name.clone(),
                    ty: match &c.ty {
                        crate::mlmodel::ColType::Scalar(t) => t.clone(),
                        _ => "json".to_owned(),
                    },
                    required: c.required,
                }),
                TypedSpec::Tensor(_) => Err("a signature mixes columns and tensors".to_owned()),
            })
            .collect::<Result<_, _>>()?;
        let distinct = distinct_names(&cols);
        Ok(Self {
            mode: Mode::Columns(cols, distinct),
        })
    }

    /// Binds one request.
    pub fn bind(&self, inputs: Vec<NamedTensor>) -> Result<Data, PredictError> {
        check_duplicates(&inputs)?;
        match &self.mode {
            Mode::Free => bind_free(inputs),
            Mode::Tensor {
                name,
                datatype,
                shape,
            } => bind_tensor(inputs, name.as_deref(), *datatype, shape),
            Mode::Columns(specs, distinct) => bind_columns(specs, *distinct, inputs),
        }
    }
}

/// Whether every column has a non-empty name, and no two the same one.
/// Linear in the number of columns (a signature may list 200,000).
fn distinct_names(specs: &[ColumnSpec]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(specs.len());
    specs.iter().all(|a| {
        a.name
            .as_deref()
            .is_some_and(|n| !n.is_empty() && seen.insert(n))
    })
}

/// Refuses a request naming one input twice (the first name repeated), in linear time.
fn check_duplicates(inputs: &[NamedTensor]) -> Result<(), PredictError> {
    let mut seen = std::collections::HashSet::with_capacity(inputs.len());
    let repeated: std::collections::HashSet<&str> = inputs
        .iter()
        .filter(|t| !seen.insert(t.name.as_str()))
        .map(|t| t.name.as_str())
        .collect();
    match inputs.iter().find(|t| repeated.contains(t.name.as_str())) {
        Some(a) => Err(PredictError::DuplicateInput {
            name: a.name.clone(),
        }),
        None => Ok(()),
    }
}

/// A single `[N, k]` input (k > 1) to be split into columns.
fn single_matrix(inputs: &[NamedTensor]) -> Option<&NamedTensor> {
    match inputs {
        [one] if one.tensor.rank() == 2 && one.tensor.shape().get(1).is_some_and(|k| *k > 1) => {
            Some(one)
        }
        _ => None,
    }
}

fn bind_free(inputs: Vec<NamedTensor>) -> Result<Data, PredictError> {
    if let Some(one) = single_matrix(&inputs) {
        if datatype_of(one)? != DataType::Bytes {
            let (rows, cols) = dims2(one);
            let values = numeric_values(one)?;
            return Matrix::new(rows, cols, values).map(Data::Matrix);
        }
        return split_matrix(one, None).map(Data::Table);
    }
    let mut table: Option<Table> = None;
    for input in &inputs {
        let column = column_of(input)?;
        let t = table.get_or_insert_with(|| Table::new(column.len()));
        t.push(input.name.clone(), column)?;
    }
    table
        .map(Data::Table)
        .ok_or_else(|| PredictError::MissingInput {
            name: "input-0".to_owned(),
        })
}

fn bind_tensor(
    inputs: Vec<NamedTensor>,
    name: Option<&str>,
    datatype: DataType,
    shape: &[i64],
) -> Result<Data, PredictError> {
    let expected_name = name.unwrap_or("input-0");
    let input = match (name, inputs.as_slice()) {
        (_, [one]) if name.is_none() || name == Some(one.name.as_str()) => one,
        _ => inputs
            .iter()
            .find(|i| i.name == expected_name)
            .ok_or_else(|| PredictError::MissingInput {
                name: expected_name.to_owned(),
            })?,
    };
    let got = datatype_of(input)?;
    if got != datatype {
        return Err(PredictError::Datatype {
            name: input.name.clone(),
            got,
            expected: datatype,
        });
    }
    let dims = input.tensor.shape();
    let fits = dims.len() == shape.len()
        && dims
            .iter()
            .zip(shape)
            .all(|(d, s)| *s < 0 || *d as i64 == *s);
    if !fits {
        return Err(PredictError::Shape {
            name: input.name.clone(),
            got: dims.to_vec(),
            expected: shape.to_vec(),
        });
    }
    let rows = dims.first().copied().unwrap_or(1);
    let cols = dims.iter().skip(1).product::<usize>();
    if got == DataType::Bytes {
        return split_matrix(input, None).map(Data::Table);
    }
    Matrix::new(rows, cols, numeric_values(input)?).map(Data::Matrix)
}

fn bind_columns(
    specs: &[ColumnSpec],
    distinct: bool,
    mut inputs: Vec<NamedTensor>,
) -> Result<Data, PredictError> {
    let named = specs.iter().all(|s| s.name.is_some());
    let spec_name =
        |i: usize, s: &ColumnSpec| s.name.clone().unwrap_or_else(|| format!("input-{i}"));
    // A single 2-D input carrying every column, by position.
    if let Some(one) = single_matrix(&inputs) {
        let k = one.tensor.shape().get(1).copied().unwrap_or(0);
        let matches_name = named && specs.iter().any(|s| s.name.as_deref() == Some(&one.name));
        if k == specs.len() && !matches_name {
            let names: Vec<String> = specs
                .iter()
                .enumerate()
                .map(|(i, s)| spec_name(i, s))
                .collect();
            let table = split_matrix(one, Some(&names))?;
            let dt = datatype_of(one)?;
            let mut out = Table::new(table.rows());
            for ((name, column), spec) in table.columns().iter().zip(specs) {
                out.push(name.clone(), enforce(name, dt, column.clone(), &spec.ty)?)?;
            }
            return Ok(Data::Table(out));
        }
    }
    let mut table: Option<Table> = None;
    if named {
        let mut missing = Vec::new();
        let mut bound: Vec<(String, Option<Column>, &ColumnSpec)> = Vec::with_capacity(specs.len());
        // Input positions by name (the first of a name, as a linear search would find), so
        // binding is linear in the number of columns.
        let mut by_name = std::collections::HashMap::with_capacity(inputs.len());
        for (at, t) in inputs.iter().enumerate() {
            by_name.entry(t.name.clone()).or_insert(at);
        }
        for (i, spec) in specs.iter().enumerate() {
            let wanted = spec.name.as_deref().unwrap_or_default();
            let (name, column) = match by_name.get(wanted).copied() {
                Some(at) => {
                    let input = &mut inputs[at];
                    let column = enforce(wanted, datatype_of(input)?, column_of(input)?, &spec.ty)?;
                    // The input's name is the spec's: move it when no later column wants it.
                    let name = if distinct {
                        std::mem::take(&mut input.name)
                    } else {
                        spec_name(i, spec)
                    };
                    (name, Some(column))
                }
                None if spec.required => {
                    return Err(PredictError::MissingInput {
                        name: spec_name(i, spec),
                    });
                }
                None => (spec_name(i, spec), None),
            };
            if column.is_none() {
                missing.push(i);
            }
            bound.push((name, column, spec));
        }
        let rows = bound
            .iter()
            .find_map(|(_, c, _)| c.as_ref().map(Column::len))
            .ok_or_else(|| PredictError::MissingInput {
                name: specs.first().map(|s| spec_name(0, s)).unwrap_or_default(),
            })?;
        let mut t = Table::with_capacity(rows, bound.len());
        for (name, column, spec) in bound {
            let column = column.unwrap_or_else(|| empty_column(&spec.ty, rows));
            t.push(name, column)?;
        }
        table = Some(t);
    } else {
        // Unnamed: by position; MLflow only checks the count.
        if inputs.len() != specs.len() {
            return Err(if inputs.len() < specs.len() {
                PredictError::MissingInput {
                    name: format!("input-{}", inputs.len()),
                }
            } else {
                PredictError::UnknownInput {
                    name: inputs
                        .get(specs.len())
                        .map(|i| i.name.clone())
                        .unwrap_or_default(),
                    expected: specs
                        .iter()
                        .enumerate()
                        .map(|(i, s)| spec_name(i, s))
                        .collect(),
                }
            });
        }
        for (i, (input, spec)) in inputs.iter().zip(specs).enumerate() {
            let name = spec_name(i, spec);
            let column = enforce(
                &input.name,
                datatype_of(input)?,
                column_of(input)?,
                &spec.ty,
            )?;
            let t = table.get_or_insert_with(|| Table::new(column.len()));
            t.push(name, column)?;
        }
    }
    table
        .map(Data::Table)
        .ok_or_else(|| PredictError::MissingInput {
            name: "input-0".to_owned(),
        })
}

/// An all-missing column for an omitted optional input.
fn empty_column(ty: &str, rows: usize) -> Column {
    if is_text(ty) {
        Column::Str(vec![None; rows])
    } else {
        Column::Num(vec![f64::NAN; rows])
    }
}

fn is_text(ty: &str) -> bool {
    matches!(ty, "string" | "binary" | "datetime" | "json")
}

/// `_enforce_mlflow_datatype`: which request datatypes a column type accepts (docs/compat.md §4.4).
fn enforce(name: &str, got: DataType, column: Column, ty: &str) -> Result<Column, PredictError> {
    let zero_one = || match &column {
        Column::Num(v) => v.iter().all(|x| *x == 0.0 || *x == 1.0 || x.is_nan()),
        Column::Str(_) => false,
    };
    if accepts(ty, got, zero_one) {
        Ok(column)
    } else {
        Err(PredictError::Datatype {
            name: name.to_owned(),
            got,
            expected: DataType::from_mlflow(ty),
        })
    }
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

fn datatype_of(input: &NamedTensor) -> Result<DataType, PredictError> {
    DataType::from_datum_type(input.tensor.datum_type()).ok_or_else(|| {
        PredictError::Runtime(format!(
            "input {:?} has an unsupported element type {:?}",
            input.name,
            input.tensor.datum_type()
        ))
    })
}

fn dims2(input: &NamedTensor) -> (usize, usize) {
    let s = input.tensor.shape();
    (
        s.first().copied().unwrap_or(0),
        s.get(1).copied().unwrap_or(1),
    )
}

/// One column from an `[N]` or `[N, 1]` input (MLServer's `pd` codec rule).
fn column_of(input: &NamedTensor) -> Result<Column, PredictError> {
    let shape = input.tensor.shape();
    let fits = matches!(shape, [_] | [_, 1]);
    if !fits {
        return Err(PredictError::Shape {
            name: input.name.clone(),
            got: shape.to_vec(),
            expected: vec![-1, 1],
        });
    }
    if datatype_of(input)? == DataType::Bytes {
        return Ok(Column::Str(
            string_values(input)?.into_iter().map(Some).collect(),
        ));
    }
    Ok(Column::Num(numeric_values(input)?))
}

/// Splits a 2-D input into columns, named `names` or `input-{i}`.
fn split_matrix(input: &NamedTensor, names: Option<&[String]>) -> Result<Table, PredictError> {
    let (rows, cols) = dims2(input);
    let name = |c: usize| {
        names
            .and_then(|n| n.get(c).cloned())
            .unwrap_or_else(|| format!("input-{c}"))
    };
    let mut table = Table::new(rows);
    if datatype_of(input)? == DataType::Bytes {
        let values = string_values(input)?;
        for c in 0..cols {
            let column = values
                .iter()
                .skip(c)
                .step_by(cols.max(1))
                .cloned()
                .map(Some)
                .collect();
            table.push(name(c), Column::Str(column))?;
        }
    } else {
        let m = Matrix::new(rows, cols, numeric_values(input)?)?;
        for c in 0..cols {
            table.push(name(c), Column::Num(m.column(c)))?;
        }
    }
    Ok(table)
}

fn runtime(name: &str, e: impl std::fmt::Display) -> PredictError {
    PredictError::Runtime(format!("input {name:?}: {e}"))
}

/// The elements of a tensor of datum type `T`.
fn slice<'a, T: Datum>(t: &'a Tensor, name: &str) -> Result<&'a [T], PredictError> {
    t.try_as_plain_ram()
        .and_then(|v| v.as_slice::<T>())
        .map_err(|e| runtime(name, e))
}

/// A numeric (or bool) input's values as float64, row-major.
fn numeric_values(input: &NamedTensor) -> Result<Vec<f64>, PredictError> {
    let t: &Tensor = &input.tensor;
    let name = &input.name;
    macro_rules! conv {
        ($ty:ty) => {
            slice::<$ty>(t, name)?.iter().map(|v| *v as f64).collect()
        };
    }
    Ok(match datatype_of(input)? {
        DataType::Fp64 => slice::<f64>(t, name)?.to_vec(),
        DataType::Fp32 => conv!(f32),
        DataType::Fp16 => slice::<f16>(t, name)?.iter().map(|v| v.to_f64()).collect(),
        DataType::Int8 => conv!(i8),
        DataType::Int16 => conv!(i16),
        DataType::Int32 => conv!(i32),
        DataType::Int64 => conv!(i64),
        DataType::Uint8 => conv!(u8),
        DataType::Uint16 => conv!(u16),
        DataType::Uint32 => conv!(u32),
        DataType::Uint64 => conv!(u64),
        DataType::Bool => slice::<bool>(t, name)?
            .iter()
            .map(|b| f64::from(u8::from(*b)))
            .collect(),
        DataType::Bytes => {
            return Err(PredictError::Datatype {
                name: name.clone(),
                got: DataType::Bytes,
                expected: DataType::Fp64,
            })
        }
    })
}

fn string_values(input: &NamedTensor) -> Result<Vec<String>, PredictError> {
    Ok(slice::<String>(&input.tensor, &input.name)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{tensor1, tensor2};

    fn spec(name: &str, ty: &str, required: bool) -> ColumnSpec {
        ColumnSpec {
            name: Some(name.into()),
            ty: ty.into(),
            required,
        }
    }

    fn binder(specs: Vec<ColumnSpec>) -> Binder {
        let distinct = distinct_names(&specs);
        Binder {
            mode: Mode::Columns(specs, distinct),
        }
    }

    #[test]
    fn reorders_drops_and_fills_optional() {
        let b = binder(vec![
            spec("a", "double", true),
            spec("b", "double", false),
            spec("c", "long", true),
        ]);
        let data = b
            .bind(vec![
                NamedTensor::new("c", tensor1(&[7i64, 8])),
                NamedTensor::new("extra", tensor1(&[1.0f64, 2.0])),
                NamedTensor::new("a", tensor2(&[[1.0f32], [2.0]])),
            ])
            .unwrap();
        let Data::Table(t) = data else { panic!() };
        let names: Vec<&str> = t.columns().iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(matches!(&t.columns()[1].1, Column::Num(v) if v[0].is_nan()));
    }

    #[test]
    fn enforces_mlflow_conversions() {
        let b = binder(vec![spec("a", "double", true)]);
        let err = b
            .bind(vec![NamedTensor::new("a", tensor1(&[3i64]))])
            .unwrap_err();
        assert!(matches!(err, PredictError::Datatype { .. }));
        assert!(b
            .bind(vec![NamedTensor::new("a", tensor1(&[1i64, 0]))])
            .is_ok());
        assert!(b
            .bind(vec![NamedTensor::new("a", tensor1(&[3i32]))])
            .is_ok());
        let f = binder(vec![spec("a", "float", true)]);
        assert!(f
            .bind(vec![NamedTensor::new("a", tensor1(&[3.0f64]))])
            .is_err());
        let err = b.bind(vec![]).unwrap_err();
        assert_eq!(err, PredictError::MissingInput { name: "a".into() });
    }

    #[test]
    fn splits_one_matrix_input() {
        let b = binder(vec![spec("a", "double", true), spec("b", "double", true)]);
        let data = b
            .bind(vec![NamedTensor::new(
                "x",
                tensor2(&[[1.0f64, 2.0], [3.0, 4.0]]),
            )])
            .unwrap();
        assert_eq!(data.into_matrix().unwrap().data(), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn tensor_signatures_need_the_exact_dtype() {
        let b = Binder {
            mode: Mode::Tensor {
                name: None,
                datatype: DataType::Fp64,
                shape: vec![-1, 2],
            },
        };
        let x = tensor2(&[[1.0f64, 2.0], [3.0, 4.0]]);
        let m = b.bind(vec![NamedTensor::new("any", x)]).unwrap();
        assert_eq!(m.into_matrix().unwrap().data(), &[1.0, 2.0, 3.0, 4.0]);
        let err = b
            .bind(vec![NamedTensor::new("x", tensor2(&[[1.0f32, 2.0]]))])
            .unwrap_err();
        assert!(matches!(err, PredictError::Datatype { .. }));
        let err = b
            .bind(vec![NamedTensor::new("x", tensor2(&[[1.0f64, 2.0, 3.0]]))])
            .unwrap_err();
        assert!(matches!(err, PredictError::Shape { .. }));
    }

    #[test]
    fn free_binding_keeps_request_order_and_text() {
        let b = Binder::new(None).unwrap();
        let data = b
            .bind(vec![
                NamedTensor::new("z", tensor1(&[1.0f64])),
                NamedTensor::new("s", tensor1(&["a".to_owned()])),
            ])
            .unwrap();
        let Data::Table(t) = data else { panic!() };
        assert_eq!(t.columns()[0].0, "z");
        assert_eq!(t.columns()[1].1, Column::Str(vec![Some("a".into())]));
    }
}
