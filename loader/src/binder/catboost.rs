//! Binds request tensors to a CatBoost model's features: one tensor per feature column (by
//! name, `[N]` or `[N, 1]`), or one `[N, k]` tensor holding every column in model order (as
//! MLServer's numpy codec hands a matrix over). Float features take numbers (NaN is missing);
//! categorical features take strings, or integers hashed as their decimal text, as CatBoost's
//! Python package does; real numbers are refused for them, as CatBoost refuses them. Float
//! features sent as text (a string matrix) are parsed as numbers.

use crate::catboost::hash::{cat_hash, cat_hash_int};
use crate::catboost::model::Model;
use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::Signature;
use crate::model::{NamedTensor, TensorInfo};
use crate::tensor::Tensor;

/// The kind of a model column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Float feature `i` (index among float features).
    Float(usize),
    /// Categorical feature `i`.
    Cat(usize),
    /// A column the model does not read (unused text or embedding feature).
    Ignored,
}

/// A model column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) kind: Kind,
}

/// Request rows split by feature kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Rows {
    pub(crate) n_rows: usize,
    /// `n_rows * n_floats` raw float feature values, row-major.
    pub(crate) floats: Vec<f64>,
    /// `n_rows * n_cats` categorical value hashes, row-major.
    pub(crate) cats: Vec<i32>,
}

/// Maps request tensors onto the model's columns.
#[derive(Debug, Clone)]
pub(crate) struct Binder {
    columns: Vec<Column>,
    n_floats: usize,
    n_cats: usize,
}

impl Binder {
    /// Column names: the signature's when it names one column per model feature, else the
    /// model's feature names, else `input-{i}`.
    pub(crate) fn new(model: &Model, signature: Option<&Signature>) -> Self {
        let mut kinds = vec![Kind::Ignored; model.n_flat];
        for (i, f) in model.floats.iter().enumerate() {
            if let Some(k) = kinds.get_mut(f.flat) {
                *k = Kind::Float(i);
            }
        }
        for (i, c) in model.cats.iter().enumerate() {
            if let Some(k) = kinds.get_mut(c.flat) {
                *k = Kind::Cat(i);
            }
        }
        let from_signature: Option<Vec<String>> = signature
            .and_then(|s| s.inputs.as_ref())
            .filter(|s| s.has_names() && !s.is_tensor_based() && s.specs.len() == model.n_flat)
            .map(|s| {
                s.specs
                    .iter()
                    .map(|spec| spec.name().unwrap_or_default().to_owned())
                    .collect()
            });
        let model_names = model.names.iter().all(|n| !n.is_empty());
        let columns = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Column {
                name: match &from_signature {
                    Some(names) => names[i].clone(),
                    None if model_names => model.names[i].clone(),
                    None => format!("input-{i}"),
                },
                kind,
            })
            .collect();
        Self {
            columns,
            n_floats: model.floats.len(),
            n_cats: model.cats.len(),
        }
    }

    /// The input columns requests send.
    pub(crate) fn input_infos(&self) -> Vec<TensorInfo> {
        self.columns
            .iter()
            .map(|c| TensorInfo {
                name: c.name.clone(),
                datatype: match c.kind {
                    Kind::Cat(_) => DataType::Bytes,
                    _ => DataType::Fp64,
                },
                shape: vec![-1, 1],
            })
            .collect()
    }

    /// Binds the request's tensors.
    pub(crate) fn bind(&self, inputs: Vec<NamedTensor>) -> Result<Rows, PredictError> {
        inputs.iter().try_for_each(super::enforce::no_nulls)?;
        let n_cols = self.columns.len();
        if let [single] = inputs.as_slice() {
            let shape = single.tensor.shape();
            let known = self.columns.iter().any(|c| c.name == single.name);
            let whole = shape.get(1).is_some_and(|&k| k == n_cols && n_cols > 1);
            if shape.len() == 2 && (!known || whole) {
                return self.bind_matrix(single);
            }
        }
        self.bind_columns(inputs)
    }

    fn empty_rows(&self, n_rows: usize) -> Rows {
        Rows {
            n_rows,
            floats: vec![f64::NAN; n_rows * self.n_floats],
            cats: vec![0; n_rows * self.n_cats],
        }
    }

    fn bind_matrix(&self, input: &NamedTensor) -> Result<Rows, PredictError> {
        let n_cols = self.columns.len();
        let shape = input.tensor.shape();
        let (n_rows, width) = match shape {
            [n, k] => (*n, *k),
            _ => (0, usize::MAX),
        };
        if width != n_cols {
            return Err(PredictError::Shape {
                name: input.name.clone(),
                got: shape.to_vec(),
                expected: vec![-1, n_cols as i64],
            });
        }
        let cells = Cells::of(&input.name, &input.tensor)?;
        let mut rows = self.empty_rows(n_rows);
        for (j, column) in self.columns.iter().enumerate() {
            self.fill(&mut rows, column, &input.name, &cells, j, n_cols)?;
        }
        Ok(rows)
    }

    fn bind_columns(&self, inputs: Vec<NamedTensor>) -> Result<Rows, PredictError> {
        let known = |name: &str| self.columns.iter().any(|c| c.name == name);
        if let Some(first) = inputs
            .first()
            .filter(|_| !inputs.iter().any(|i| known(&i.name)))
        {
            return Err(PredictError::UnknownInput {
                name: first.name.clone(),
                expected: self.columns.iter().map(|c| c.name.clone()).collect(),
            });
        }
        let mut n_rows: Option<(String, usize)> = None;
        let mut seen = vec![false; self.columns.len()];
        let mut bound: Vec<(usize, NamedTensor)> = Vec::new();
        for input in inputs {
            let Some(index) = self.columns.iter().position(|c| c.name == input.name) else {
                tracing::warn!(input = %input.name, "input is not a model column; dropped");
                continue;
            };
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
            match &n_rows {
                Some((first, expected)) if *expected != rows => {
                    return Err(PredictError::RowCount {
                        name: input.name,
                        got: rows,
                        first: first.clone(),
                        expected: *expected,
                    })
                }
                Some(_) => {}
                None => n_rows = Some((input.name.clone(), rows)),
            }
            if std::mem::replace(&mut seen[index], true) {
                return Err(PredictError::DuplicateInput { name: input.name });
            }
            bound.push((index, input));
        }
        if let Some(missing) = self
            .columns
            .iter()
            .zip(&seen)
            .find(|(c, seen)| !**seen && c.kind != Kind::Ignored)
        {
            return Err(PredictError::MissingInput {
                name: missing.0.name.clone(),
            });
        }
        let mut rows = self.empty_rows(n_rows.map_or(0, |(_, n)| n));
        for (index, input) in &bound {
            let cells = Cells::of(&input.name, &input.tensor)?;
            self.fill(&mut rows, &self.columns[*index], &input.name, &cells, 0, 1)?;
        }
        Ok(rows)
    }

    /// Copies column `j` of `cells` (`stride` values per row) into `rows`.
    fn fill(
        &self,
        rows: &mut Rows,
        column: &Column,
        name: &str,
        cells: &Cells<'_>,
        j: usize,
        stride: usize,
    ) -> Result<(), PredictError> {
        let bad = |expected| PredictError::Datatype {
            name: name.to_owned(),
            got: cells.datatype(),
            expected,
        };
        for r in 0..rows.n_rows {
            let at = r * stride + j;
            match column.kind {
                Kind::Float(f) => {
                    let v = cells.number(at).ok_or_else(|| bad(DataType::Fp64))?;
                    rows.floats[r * self.n_floats + f] = v;
                }
                Kind::Cat(c) => {
                    let h = cells.cat(at).ok_or_else(|| bad(DataType::Bytes))?;
                    rows.cats[r * self.n_cats + c] = h;
                }
                Kind::Ignored => {}
            }
        }
        Ok(())
    }
}

/// A tensor's elements, typed.
enum Cells<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
    I64(&'a [i64]),
    I32(&'a [i32]),
    Str(&'a [String]),
}

impl<'a> Cells<'a> {
    fn of(name: &str, tensor: &'a Tensor) -> Result<Self, PredictError> {
        let got = DataType::from_datum_type(tensor.datum_type());
        let view = tensor.as_plain_ram();
        let cells = view.and_then(|v| match got {
            Some(DataType::Fp64) => v.as_slice::<f64>().ok().map(Cells::F64),
            Some(DataType::Fp32) => v.as_slice::<f32>().ok().map(Cells::F32),
            Some(DataType::Int64) => v.as_slice::<i64>().ok().map(Cells::I64),
            Some(DataType::Int32) => v.as_slice::<i32>().ok().map(Cells::I32),
            _ => v.as_slice::<String>().ok().map(Cells::Str),
        });
        cells.ok_or_else(|| PredictError::Datatype {
            name: name.to_owned(),
            got: got.unwrap_or(DataType::Bytes),
            expected: DataType::Fp64,
        })
    }

    fn datatype(&self) -> DataType {
        match self {
            Self::F64(_) => DataType::Fp64,
            Self::F32(_) => DataType::Fp32,
            Self::I64(_) => DataType::Int64,
            Self::I32(_) => DataType::Int32,
            Self::Str(_) => DataType::Bytes,
        }
    }

    fn number(&self, at: usize) -> Option<f64> {
        match self {
            Self::F64(v) => v.get(at).copied(),
            Self::F32(v) => v.get(at).map(|&x| f64::from(x)),
            Self::I64(v) => v.get(at).map(|&x| x as f64),
            Self::I32(v) => v.get(at).map(|&x| f64::from(x)),
            // A string matrix (MLServer's numpy codec over mixed columns): numbers as text.
            Self::Str(v) => v.get(at).and_then(|s| s.trim().parse::<f64>().ok()),
        }
    }

    fn cat(&self, at: usize) -> Option<i32> {
        match self {
            Self::Str(v) => v.get(at).map(|s| cat_hash(s.as_bytes())),
            Self::I64(v) => v.get(at).map(|&x| cat_hash_int(x)),
            Self::I32(v) => v.get(at).map(|&x| cat_hash_int(i64::from(x))),
            Self::F64(_) | Self::F32(_) => None,
        }
    }
}
