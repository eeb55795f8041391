//! Binds a request's tensors to a gradient-boosting model's feature columns, as MLServer's `pd`
//! content type hands them over: one input per signature column (shape `[N]` or `[N, 1]`),
//! matched by name and reordered to the signature, or one `[N, k]` tensor holding every column.
//!
//! Shared by the XGBoost and LightGBM flavors (the scikit-learn flavor has its own binder; the two
//! may merge later). Numeric inputs only (FP64, FP32, INT64, INT32); NaN marks a missing value.

use std::collections::HashMap;

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::{Signature, TypedSpec};
use crate::model::{NamedTensor, TensorInfo};
use crate::tensor::{Datum, Tensor};

/// One feature column the model reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    /// The column name requests use.
    pub(crate) name: String,
    /// The datatype the signature declares (FP64 when unknown), reported in datatype errors.
    pub(crate) datatype: DataType,
    /// Whether a request must send it (optional columns default to missing, NaN).
    pub(crate) required: bool,
}

/// Request tensors bound into one row-major feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    /// `n_rows * n_cols` values, row-major; NaN marks a missing value.
    pub(crate) values: Vec<f64>,
    /// Number of rows.
    pub(crate) n_rows: usize,
    /// Number of columns.
    pub(crate) n_cols: usize,
}

/// Maps request tensors onto the model's feature columns.
#[derive(Debug, Clone)]
pub(crate) struct ColumnBinder {
    columns: Vec<Column>,
    /// Column position by name (the first of a repeated name), built once at load.
    index: HashMap<String, usize>,
    /// Whether the columns come from the signature, whose types MLflow enforces (docs/compat.md
    /// §4.4); columns read from the model file take any numeric input.
    enforced: bool,
}

impl ColumnBinder {
    /// The signature's named columns when it has some, else `feature_names` (the names the
    /// model file stores), else `n_features` unnamed columns (`input-{i}`).
    pub(crate) fn new(
        signature: Option<&Signature>,
        feature_names: &[String],
        n_features: usize,
    ) -> Self {
        let schema = signature.and_then(|s| s.inputs.as_ref());
        let from_signature = schema.filter(|s| s.has_names() && !s.is_tensor_based());
        let enforced = from_signature.is_some();
        let columns: Vec<Column> = match from_signature {
            Some(schema) => schema
                .specs
                .iter()
                .map(|spec| Column {
                    name: spec.name().unwrap_or_default().to_owned(),
                    datatype: match spec {
                        TypedSpec::Column(c) => c.ty.datatype(),
                        TypedSpec::Tensor(t) => t.datatype(),
                    },
                    required: spec.required(),
                })
                .collect(),
            None if feature_names.len() == n_features && n_features > 0 => feature_names
                .iter()
                .map(|name| Column {
                    name: name.clone(),
                    datatype: DataType::Fp64,
                    required: true,
                })
                .collect(),
            None => (0..n_features)
                .map(|i| Column {
                    name: format!("input-{i}"),
                    datatype: DataType::Fp64,
                    required: true,
                })
                .collect(),
        };
        let mut index = HashMap::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            index.entry(c.name.clone()).or_insert(i);
        }
        Self {
            columns,
            index,
            enforced,
        }
    }

    /// The position of the column named `name`.
    fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The columns, in model order.
    pub(crate) fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The input columns requests send, as model metadata describes them.
    pub(crate) fn input_infos(&self) -> Vec<TensorInfo> {
        self.columns()
            .iter()
            .map(|c| TensorInfo {
                name: c.name.clone(),
                datatype: c.datatype,
                shape: vec![-1, 1],
            })
            .collect()
    }

    /// Binds the request's tensors: a single tensor of shape `[N, k]` (`k` = number of columns,
    /// or `[N]` for a one-column model), or one `[N]` / `[N, 1]` tensor per column, by name.
    pub(crate) fn bind(&self, inputs: Vec<NamedTensor>) -> Result<Matrix, PredictError> {
        inputs.iter().try_for_each(super::enforce::no_nulls)?;
        let n_cols = self.columns.len();
        if let [single] = inputs.as_slice() {
            let shape = single.tensor.shape();
            let known = self.position(&single.name).is_some();
            // A column's own name with one value per row is that column (others optional).
            let whole = shape.get(1).is_some_and(|&k| k == n_cols && n_cols > 1);
            if shape.len() == 2 && (!known || whole) {
                return self.bind_matrix(single);
            }
        }
        self.bind_columns(inputs)
    }

    fn bind_matrix(&self, input: &NamedTensor) -> Result<Matrix, PredictError> {
        let n_cols = self.columns.len();
        let shape = input.tensor.shape();
        let expected = vec![-1, n_cols as i64];
        let (n_rows, width) = match shape {
            [n, k] => (*n, *k),
            _ => (0, usize::MAX),
        };
        if width != n_cols {
            return Err(PredictError::Shape {
                name: input.name.clone(),
                got: shape.to_vec(),
                expected,
            });
        }
        let values = numeric_values(&input.name, &input.tensor, DataType::Fp64)?;
        Ok(Matrix {
            values,
            n_rows,
            n_cols,
        })
    }

    fn bind_columns(&self, inputs: Vec<NamedTensor>) -> Result<Matrix, PredictError> {
        let n_cols = self.columns.len();
        let mut slots: Vec<Option<Vec<f64>>> = vec![None; n_cols];
        let mut first: Option<(String, usize)> = None;
        // Extra columns are dropped, as MLflow drops them (docs/compat.md §4.3), unless nothing the
        // request sends is a column of the model, which is more likely a misnamed request.
        let known = |name: &str| self.position(name).is_some();
        if let Some(first) = inputs
            .first()
            .filter(|_| !inputs.iter().any(|i| known(&i.name)))
        {
            return Err(PredictError::UnknownInput {
                name: first.name.clone(),
                expected: self.columns.iter().map(|c| c.name.clone()).collect(),
            });
        }
        for input in inputs {
            let Some(index) = self.position(&input.name) else {
                tracing::warn!(input = %input.name, "input is not a model column; dropped");
                continue;
            };
            let column = self
                .columns
                .get(index)
                .ok_or_else(|| PredictError::MissingInput {
                    name: input.name.clone(),
                })?;
            let rows = match input.tensor.shape() {
                [n] | [n, 1] => *n,
                other => {
                    return Err(PredictError::Shape {
                        name: input.name.clone(),
                        got: other.to_vec(),
                        expected: vec![-1, 1],
                    })
                }
            };
            match &first {
                Some((first_name, expected)) if *expected != rows => {
                    return Err(PredictError::RowCount {
                        name: input.name,
                        got: rows,
                        first: first_name.clone(),
                        expected: *expected,
                    })
                }
                Some(_) => {}
                None => first = Some((input.name.clone(), rows)),
            }
            let values = numeric_values(&input.name, &input.tensor, column.datatype)?;
            if self.enforced {
                enforce(&input.name, &input.tensor, column.datatype, &values)?;
            }
            match slots.get_mut(index) {
                Some(slot @ None) => *slot = Some(values),
                _ => return Err(PredictError::DuplicateInput { name: input.name }),
            }
        }
        let n_rows = first.map_or(0, |(_, n)| n);
        let mut values = vec![f64::NAN; n_rows * n_cols];
        for (j, (slot, column)) in slots.iter().zip(&self.columns).enumerate() {
            match slot {
                Some(col) => {
                    for (r, &v) in col.iter().enumerate() {
                        if let Some(cell) = values.get_mut(r * n_cols + j) {
                            *cell = v;
                        }
                    }
                }
                None if column.required => {
                    return Err(PredictError::MissingInput {
                        name: column.name.clone(),
                    })
                }
                None => {}
            }
        }
        Ok(Matrix {
            values,
            n_rows,
            n_cols,
        })
    }
}

/// MLflow's datatype rules for a signature column (`_enforce_mlflow_datatype`, docs/compat.md §4.4).
fn enforce(
    name: &str,
    tensor: &Tensor,
    expected: DataType,
    values: &[f64],
) -> Result<(), PredictError> {
    let Some(got) = DataType::from_datum_type(tensor.datum_type()) else {
        return Ok(());
    };
    let ty = match expected {
        DataType::Fp64 => "double",
        DataType::Fp32 => "float",
        DataType::Int64 => "long",
        DataType::Int32 => "integer",
        DataType::Bool => "boolean",
        _ => return Ok(()),
    };
    let zero_one = || values.iter().all(|v| *v == 0.0 || *v == 1.0 || v.is_nan());
    if super::enforce::accepts(ty, got, zero_one) {
        Ok(())
    } else {
        Err(PredictError::Datatype {
            name: name.to_owned(),
            got,
            expected,
        })
    }
}

/// The tensor's elements as `f64`; NaN stays NaN (missing).
fn numeric_values(
    name: &str,
    tensor: &Tensor,
    expected: DataType,
) -> Result<Vec<f64>, PredictError> {
    fn cast<T: Datum + Copy>(tensor: &Tensor, f: impl Fn(T) -> f64) -> Option<Vec<f64>> {
        let view = tensor.as_plain_ram()?;
        let slice = view.as_slice::<T>().ok()?;
        Some(slice.iter().map(|&v| f(v)).collect())
    }
    let got = DataType::from_datum_type(tensor.datum_type());
    let values = match got {
        Some(DataType::Fp64) => cast::<f64>(tensor, |v| v),
        Some(DataType::Fp32) => cast::<f32>(tensor, f64::from),
        Some(DataType::Int64) => cast::<i64>(tensor, |v| v as f64),
        Some(DataType::Int32) => cast::<i32>(tensor, f64::from),
        _ => None,
    };
    values.ok_or_else(|| PredictError::Datatype {
        name: name.to_owned(),
        got: got.unwrap_or(DataType::Bytes),
        expected: if matches!(expected, DataType::Bytes | DataType::Bool) {
            DataType::Fp64
        } else {
            expected
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{tensor1, tensor2};

    fn binder(names: &[&str]) -> ColumnBinder {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        ColumnBinder::new(None, &names, names.len())
    }

    #[test]
    fn reorders_named_columns() {
        let b = binder(&["a", "b"]);
        let m = b
            .bind(vec![
                NamedTensor::new("b", tensor2(&[[3.0f64], [4.0]])),
                NamedTensor::new("a", tensor1(&[1i64, 2])),
            ])
            .unwrap();
        assert_eq!(m.values, vec![1.0, 3.0, 2.0, 4.0]);
        assert_eq!((m.n_rows, m.n_cols), (2, 2));
    }

    #[test]
    fn takes_one_matrix() {
        let m = binder(&["a", "b"])
            .bind(vec![NamedTensor::new("x", tensor2(&[[1.0f32, 2.0]]))])
            .unwrap();
        assert_eq!(m.values, vec![1.0, 2.0]);
    }

    #[test]
    fn reports_bad_inputs() {
        let b = binder(&["a", "b"]);
        let missing = b.bind(vec![NamedTensor::new("a", tensor1(&[1.0f64]))]);
        assert!(matches!(missing, Err(PredictError::MissingInput { name }) if name == "b"));
        let strings = b.bind(vec![
            NamedTensor::new("a", tensor1(&["x".to_string()])),
            NamedTensor::new("b", tensor1(&[1.0f64])),
        ]);
        assert!(matches!(strings, Err(PredictError::Datatype { .. })));
        let rows = b.bind(vec![
            NamedTensor::new("a", tensor1(&[1.0f64])),
            NamedTensor::new("b", tensor1(&[1.0f64, 2.0])),
        ]);
        assert!(matches!(rows, Err(PredictError::RowCount { .. })));
        let unknown = b.bind(vec![NamedTensor::new("c", tensor1(&[1.0f64]))]);
        assert!(matches!(unknown, Err(PredictError::UnknownInput { .. })));
        let dup = b.bind(vec![
            NamedTensor::new("a", tensor1(&[1.0f64])),
            NamedTensor::new("a", tensor1(&[1.0f64])),
        ]);
        assert!(matches!(dup, Err(PredictError::DuplicateInput { .. })));
        let wide = b.bind(vec![NamedTensor::new("x", tensor2(&[[1.0f64, 2.0, 3.0]]))]);
        assert!(matches!(wide, Err(PredictError::Shape { .. })));
    }

    #[test]
    fn drops_extra_columns_and_enforces_signature_types() {
        let signature = crate::mlmodel::Signature {
            inputs: Some(
                crate::mlmodel::Schema::from_json(
                    &serde_json::json!([
                        {"type": "double", "name": "a", "required": true},
                        {"type": "float", "name": "b", "required": false}
                    ]),
                    "inputs",
                )
                .unwrap(),
            ),
            ..Default::default()
        };
        let b = ColumnBinder::new(Some(&signature), &[], 2);
        let m = b
            .bind(vec![
                NamedTensor::new("extra", tensor1(&[9.0f64])),
                NamedTensor::new("a", tensor1(&[1.0f32])),
            ])
            .unwrap();
        assert_eq!(m.values[0], 1.0);
        assert!(m.values[1].is_nan());
        let long = b.bind(vec![NamedTensor::new("a", tensor1(&[3i64]))]);
        assert!(matches!(long, Err(PredictError::Datatype { .. })));
        assert!(b
            .bind(vec![NamedTensor::new("a", tensor1(&[1i64, 0]))])
            .is_ok());
        let narrowing = b.bind(vec![
            NamedTensor::new("a", tensor1(&[1.0f64])),
            NamedTensor::new("b", tensor1(&[1.5f64])),
        ]);
        assert!(matches!(narrowing, Err(PredictError::Datatype { .. })));
    }
}
