//! The data that flows through a compiled scikit-learn model: the request's columns as a
//! [`Table`] (what pandas hands sklearn: numeric columns as float64, string columns as text),
//! the dense float64 [`Matrix`] most transformers produce, and the sparse [`Csr`] matrix of
//! text vectorizers and the steps that keep it sparse.

use crate::datatype::DataType;
use crate::error::PredictError;

use super::sparse::{Block, Csr};

/// A dense, row-major float64 matrix (`rows x cols`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major data; `data.len()` must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, PredictError> {
        if data.len() != rows * cols {
            return Err(PredictError::Runtime(format!(
                "matrix data has {} values, expected {rows}x{cols}",
                data.len()
            )));
        }
        Ok(Self { rows, cols, data })
    }

    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// The number of rows (samples).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major values.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The row-major values, owned.
    pub fn into_data(self) -> Vec<f64> {
        self.data
    }

    /// Iterates over the rows.
    pub fn row_iter(&self) -> impl Iterator<Item = &[f64]> {
        // `max(1)`: chunks of 0 are not allowed; a 0-column matrix yields no rows' data.
        self.data.chunks(self.cols.max(1)).take(self.rows)
    }

    /// Iterates mutably over the rows.
    pub fn row_iter_mut(&mut self) -> impl Iterator<Item = &mut [f64]> {
        let rows = self.rows;
        self.data.chunks_mut(self.cols.max(1)).take(rows)
    }

    /// One column, copied out.
    pub fn column(&self, c: usize) -> Vec<f64> {
        self.data
            .iter()
            .skip(c)
            .step_by(self.cols.max(1))
            .take(self.rows)
            .copied()
            .collect()
    }

    /// Fails with a shape error unless the matrix has `cols` columns (sklearn's
    /// `X has k features, but ... is expecting p features`).
    pub fn expect_cols(&self, cols: usize) -> Result<(), PredictError> {
        if self.cols == cols {
            return Ok(());
        }
        Err(PredictError::Shape {
            name: "X".to_owned(),
            got: vec![self.rows, self.cols],
            expected: vec![-1, cols as i64],
        })
    }

    /// Concatenates matrices with the same row count side by side (`np.hstack`).
    pub fn hstack(rows: usize, parts: &[Matrix]) -> Result<Self, PredictError> {
        let cols: usize = parts.iter().map(|p| p.cols).sum();
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for p in parts {
                if p.rows != rows {
                    return Err(PredictError::Runtime(format!(
                        "cannot stack a block of {} rows with {rows} rows",
                        p.rows
                    )));
                }
                let start = r * p.cols;
                data.extend_from_slice(p.data.get(start..start + p.cols).unwrap_or_default());
            }
        }
        Self::new(rows, cols, data)
    }

    /// Builds a matrix from columns of equal length.
    pub fn from_columns(rows: usize, columns: &[Vec<f64>]) -> Result<Self, PredictError> {
        let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        Self::from_column_slices(rows, &columns)
    }

    /// Builds a matrix from borrowed columns of equal length (row by row: each row gathers one
    /// value per column, so the writes stay sequential).
    pub fn from_column_slices(rows: usize, columns: &[&[f64]]) -> Result<Self, PredictError> {
        for (c, column) in columns.iter().enumerate() {
            if column.len() != rows {
                return Err(PredictError::Runtime(format!(
                    "column {c} has {} rows, expected {rows}",
                    column.len()
                )));
            }
        }
        let mut data = Vec::with_capacity(rows * columns.len());
        for r in 0..rows {
            data.extend(columns.iter().map(|column| column[r]));
        }
        Self::new(rows, columns.len(), data)
    }
}

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// A numeric (or boolean, as 0/1) column, as float64; NaN marks a missing value.
    Num(Vec<f64>),
    /// A string column; `None` marks a missing value.
    Str(Vec<Option<String>>),
}

impl Column {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Num(v) => v.len(),
            Self::Str(v) => v.len(),
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Named columns of equal length: the DataFrame MLflow's schema enforcement hands sklearn.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    rows: usize,
    columns: Vec<(String, Column)>,
    /// Optional signature columns the request left out: MLflow hands the model a DataFrame
    /// without them, so a step that selects one by name fails as scikit-learn does.
    left_out: Vec<String>,
}

impl Table {
    /// An empty table of `rows` rows.
    pub fn new(rows: usize) -> Self {
        Self {
            rows,
            columns: Vec::new(),
            left_out: Vec::new(),
        }
    }

    /// An empty table of `rows` rows, with room for `columns` columns.
    pub fn with_capacity(rows: usize, columns: usize) -> Self {
        Self {
            rows,
            columns: Vec::with_capacity(columns),
            left_out: Vec::new(),
        }
    }

    /// Appends a column; its length must be the table's row count.
    pub fn push(&mut self, name: impl Into<String>, column: Column) -> Result<(), PredictError> {
        let name = name.into();
        if column.len() != self.rows {
            return Err(PredictError::RowCount {
                name,
                got: column.len(),
                first: self
                    .columns
                    .first()
                    .map(|c| c.0.clone())
                    .unwrap_or_default(),
                expected: self.rows,
            });
        }
        self.columns.push((name, column));
        Ok(())
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[(String, Column)] {
        &self.columns
    }

    /// Records an optional signature column the request left out (see [`Table::left_out`]).
    pub fn leave_out(&mut self, name: impl Into<String>) {
        self.left_out.push(name.into());
    }

    /// Whether `name` is an optional signature column the request left out.
    pub fn left_out(&self, name: &str) -> bool {
        self.left_out.iter().any(|n| n == name)
    }

    /// The position of a column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(n, _)| n == name)
    }

    /// The table as a float64 matrix, failing on a string column as sklearn's
    /// `check_array` does.
    pub fn to_matrix(&self) -> Result<Matrix, PredictError> {
        Matrix::from_column_slices(self.rows, &self.numeric_columns()?)
    }

    /// The columns as float64 slices, failing on a string column as [`Table::to_matrix`] does.
    pub fn numeric_columns(&self) -> Result<Vec<&[f64]>, PredictError> {
        let mut cols = Vec::with_capacity(self.columns.len());
        for (name, column) in &self.columns {
            match column {
                Column::Num(v) => cols.push(v.as_slice()),
                Column::Str(_) => {
                    return Err(PredictError::Datatype {
                        name: name.clone(),
                        got: DataType::Bytes,
                        expected: DataType::Fp64,
                    })
                }
            }
        }
        Ok(cols)
    }

    /// A table of the columns at `positions`, in that order.
    pub fn select(&self, positions: &[usize]) -> Result<Table, PredictError> {
        let mut out = Table::new(self.rows);
        for &p in positions {
            // The model selects a column the request does not have.
            let (name, column) = self.columns.get(p).ok_or_else(|| PredictError::Shape {
                name: "X".to_owned(),
                got: vec![self.rows, self.columns.len()],
                expected: vec![-1, p as i64 + 1],
            })?;
            out.columns.push((name.clone(), column.clone()));
        }
        Ok(out)
    }
}

/// What a transformer or estimator receives: the request table, or the matrix an earlier
/// step produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// Named, typed columns (the first step of a model).
    Table(Table),
    /// A float64 matrix (the output of a transformer, or an unnamed 2-D request).
    Matrix(Matrix),
    /// A sparse float64 matrix (a text vectorizer's output, where sklearn's is sparse).
    Sparse(Csr),
}

impl Data {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        match self {
            Self::Table(t) => t.rows(),
            Self::Matrix(m) => m.rows(),
            Self::Sparse(s) => s.rows(),
        }
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        match self {
            Self::Table(t) => t.columns().len(),
            Self::Matrix(m) => m.cols(),
            Self::Sparse(s) => s.cols(),
        }
    }

    /// The data as a dense float64 matrix (string columns are an error; a sparse matrix is
    /// made dense, refused past [`super::sparse::MAX_DENSE_CELLS`]).
    pub fn into_matrix(self) -> Result<Matrix, PredictError> {
        match self {
            Self::Table(t) => t.to_matrix(),
            Self::Matrix(m) => Ok(m),
            Self::Sparse(s) => s.to_dense(),
        }
    }

    /// The data as a horizontal-stack block: sparse stays sparse, the rest as a dense matrix.
    pub fn into_block(self) -> Result<Block, PredictError> {
        match self {
            Self::Sparse(s) => Ok(Block::Sparse(s)),
            other => other.into_matrix().map(Block::Dense),
        }
    }

    /// Blocks side by side: sparse (`scipy.sparse.hstack`) when `sparse`, else dense
    /// (`np.hstack`, sparse blocks made dense).
    pub fn hstack(rows: usize, blocks: Vec<Block>, sparse: bool) -> Result<Data, PredictError> {
        if sparse {
            return Csr::hstack(rows, &blocks).map(Data::Sparse);
        }
        let dense = blocks
            .into_iter()
            .map(|b| match b {
                Block::Sparse(s) => s.to_dense(),
                Block::Dense(m) => Ok(m),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Matrix::hstack(rows, &dense).map(Data::Matrix)
    }

    /// The data as columns (a matrix's columns become numeric columns named by position).
    pub fn into_columns(self) -> Result<Vec<Column>, PredictError> {
        Ok(match self {
            Self::Table(t) => t.columns.into_iter().map(|(_, c)| c).collect(),
            Self::Matrix(m) => (0..m.cols()).map(|c| Column::Num(m.column(c))).collect(),
            Self::Sparse(s) => {
                let m = s.to_dense()?;
                (0..m.cols()).map(|c| Column::Num(m.column(c))).collect()
            }
        })
    }

    /// The columns at `positions`, in that order.
    pub fn select(&self, positions: &[usize]) -> Result<Data, PredictError> {
        match self {
            Self::Table(t) => t.select(positions).map(Data::Table),
            Self::Matrix(m) => {
                let mut cols = Vec::with_capacity(positions.len());
                for &p in positions {
                    if p >= m.cols() {
                        return Err(PredictError::Shape {
                            name: "X".to_owned(),
                            got: vec![m.rows(), m.cols()],
                            expected: vec![-1, p as i64 + 1],
                        });
                    }
                    cols.push(m.column(p));
                }
                Matrix::from_columns(m.rows(), &cols).map(Data::Matrix)
            }
            Self::Sparse(s) => s.select(positions).map(Data::Sparse),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_and_selects() {
        let a = Matrix::new(2, 1, vec![1.0, 2.0]).unwrap();
        let b = Matrix::new(2, 2, vec![3.0, 4.0, 5.0, 6.0]).unwrap();
        let m = Matrix::hstack(2, &[a, b]).unwrap();
        assert_eq!(m.data(), &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        let d = Data::Matrix(m)
            .select(&[2, 0])
            .unwrap()
            .into_matrix()
            .unwrap();
        assert_eq!(d.data(), &[4.0, 1.0, 6.0, 2.0]);
    }

    #[test]
    fn string_columns_are_not_numbers() {
        let mut t = Table::new(1);
        t.push("s", Column::Str(vec![Some("a".into())])).unwrap();
        assert!(t.to_matrix().is_err());
        assert!(t.push("x", Column::Num(vec![1.0, 2.0])).is_err());
    }
}
