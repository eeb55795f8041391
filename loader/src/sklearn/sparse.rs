//! Compressed sparse row matrices: what scikit-learn's text vectorizers produce and what
//! sparse-aware steps (TfidfTransformer, FeatureUnion, a ColumnTransformer whose
//! `sparse_output_` is set, linear models) pass on, so a large vocabulary costs memory in
//! proportion to the non-zeros. Rows keep their column indices sorted and hold no explicit
//! zeros (scipy's `sort_indices` / `sum_duplicates`); products sum over a row's non-zeros in
//! column order, as scipy's `csr_matvecs` does.

use crate::error::PredictError;

use super::table::Matrix;

/// The most cells a sparse matrix may be densified into (a consumer that needs dense input):
/// 200 million float64 values, 1.6 GB.
pub const MAX_DENSE_CELLS: usize = 200_000_000;

/// A CSR float64 matrix (`rows x cols`).
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    cols: usize,
    /// `rows + 1` offsets into `indices` / `data`.
    indptr: Vec<usize>,
    indices: Vec<usize>,
    data: Vec<f64>,
}

impl Csr {
    /// An empty matrix of `cols` columns, to be filled with [`Csr::push_row`].
    pub fn with_cols(cols: usize) -> Self {
        Self {
            cols,
            indptr: vec![0],
            indices: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Appends a row from `(column, value)` pairs in any order: duplicates are summed in the
    /// order given, zeros (given or summed) dropped, columns sorted.
    pub fn push_row(&mut self, mut entries: Vec<(usize, f64)>) -> Result<(), PredictError> {
        entries.sort_by_key(|e| e.0);
        let start = self.indices.len();
        for (j, v) in entries {
            if j >= self.cols {
                return Err(PredictError::Runtime(format!(
                    "sparse column {j} out of range for {} columns",
                    self.cols
                )));
            }
            if self.indices.len() > start && self.indices.last() == Some(&j) {
                if let Some(last) = self.data.last_mut() {
                    *last += v;
                }
            } else {
                self.indices.push(j);
                self.data.push(v);
            }
        }
        self.drop_zeros_from(start);
        self.indptr.push(self.indices.len());
        Ok(())
    }

    /// Appends a row whose entries are already sorted by column and non-zero.
    fn push_sorted(&mut self, indices: &[usize], data: &[f64], offset: usize) {
        self.indices.extend(indices.iter().map(|j| j + offset));
        self.data.extend_from_slice(data);
    }

    fn drop_zeros_from(&mut self, start: usize) {
        let mut w = start;
        for r in start..self.indices.len() {
            if self.data[r] != 0.0 {
                self.indices[w] = self.indices[r];
                self.data[w] = self.data[r];
                w += 1;
            }
        }
        self.indices.truncate(w);
        self.data.truncate(w);
    }

    /// The non-zeros of a dense matrix (`scipy.sparse.csr_array(X)`).
    pub fn from_dense(m: &Matrix) -> Self {
        let mut out = Self::with_cols(m.cols());
        for row in m.row_iter() {
            for (j, v) in row.iter().enumerate() {
                if *v != 0.0 {
                    out.indices.push(j);
                    out.data.push(*v);
                }
            }
            out.indptr.push(out.indices.len());
        }
        out
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The number of stored values.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// Row `r`'s column indices and values.
    pub fn row(&self, r: usize) -> (&[usize], &[f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Iterates over the rows' column indices and values.
    pub fn row_iter(&self) -> impl Iterator<Item = (&[usize], &[f64])> {
        (0..self.rows()).map(|r| self.row(r))
    }

    /// Row `r`'s values, mutably.
    pub fn row_values_mut(&mut self, r: usize) -> &mut [f64] {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        &mut self.data[a..b]
    }

    /// Row `r`'s column indices and mutable values.
    pub fn row_mut(&mut self, r: usize) -> (&[usize], &mut [f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &mut self.data[a..b])
    }

    /// Every stored value, mutably (`X.data`).
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// Fails with a shape error unless the matrix has `cols` columns.
    pub fn expect_cols(&self, cols: usize) -> Result<(), PredictError> {
        if self.cols == cols {
            return Ok(());
        }
        Err(PredictError::Shape {
            name: "X".to_owned(),
            got: vec![self.rows(), self.cols],
            expected: vec![-1, cols as i64],
        })
    }

    /// The dense matrix (`X.toarray()`), refused past [`MAX_DENSE_CELLS`].
    pub fn to_dense(&self) -> Result<Matrix, PredictError> {
        let (rows, cols) = (self.rows(), self.cols);
        if rows.saturating_mul(cols) > MAX_DENSE_CELLS {
            return Err(PredictError::Runtime(format!(
                "a sparse {rows}x{cols} matrix is too large to make dense for this step"
            )));
        }
        let mut out = vec![0.0; rows * cols];
        for (r, (idx, val)) in self.row_iter().enumerate() {
            let row = &mut out[r * cols..(r + 1) * cols];
            for (j, v) in idx.iter().zip(val) {
                row[*j] = *v;
            }
        }
        Matrix::new(rows, cols, out)
    }

    /// The columns at `positions`, in that order (`X[:, positions]`).
    pub fn select(&self, positions: &[usize]) -> Result<Csr, PredictError> {
        if let Some(&p) = positions.iter().find(|p| **p >= self.cols) {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![self.rows(), self.cols],
                expected: vec![-1, p as i64 + 1],
            });
        }
        let mut out = Csr::with_cols(positions.len());
        for (idx, val) in self.row_iter() {
            for (k, p) in positions.iter().enumerate() {
                if let Ok(at) = idx.binary_search(p) {
                    out.indices.push(k);
                    out.data.push(val[at]);
                }
            }
            out.indptr.push(out.indices.len());
        }
        Ok(out)
    }

    /// Blocks side by side (`scipy.sparse.hstack(blocks).tocsr()`), each block sparse or dense.
    pub fn hstack(rows: usize, blocks: &[Block]) -> Result<Csr, PredictError> {
        for b in blocks {
            if b.rows() != rows {
                return Err(PredictError::Runtime(format!(
                    "cannot stack a block of {} rows with {rows} rows",
                    b.rows()
                )));
            }
        }
        let cols = blocks.iter().map(Block::cols).sum();
        let mut out = Csr::with_cols(cols);
        for r in 0..rows {
            let mut offset = 0;
            for b in blocks {
                match b {
                    Block::Sparse(s) => {
                        let (idx, val) = s.row(r);
                        out.push_sorted(idx, val, offset);
                    }
                    Block::Dense(m) => {
                        let row = &m.data()[r * m.cols()..(r + 1) * m.cols()];
                        for (j, v) in row.iter().enumerate() {
                            if *v != 0.0 {
                                out.indices.push(offset + j);
                                out.data.push(*v);
                            }
                        }
                    }
                }
                offset += b.cols();
            }
            out.indptr.push(out.indices.len());
        }
        Ok(out)
    }

    /// `X · wᵀ + b` for `w` of shape `(targets, cols)`: `(rows, targets)`, each value summed
    /// over the row's non-zeros in column order from 0, then `b` added (scipy's
    /// `safe_sparse_dot(X, coef_.T) + intercept_`).
    pub fn dot_t(&self, w: &Matrix, b: &[f64]) -> Result<Matrix, PredictError> {
        self.expect_cols(w.cols())?;
        let t = w.rows();
        let mut out = Vec::with_capacity(self.rows() * t);
        for (idx, val) in self.row_iter() {
            for (k, wk) in w.row_iter().enumerate() {
                let mut acc = 0.0;
                for (j, v) in idx.iter().zip(val) {
                    acc += v * wk[*j];
                }
                out.push(acc + b.get(k).copied().unwrap_or(0.0));
            }
        }
        Matrix::new(self.rows(), t, out)
    }
}

/// One block of a horizontal stack.
pub enum Block {
    /// A sparse block.
    Sparse(Csr),
    /// A dense block (its non-zeros are stored).
    Dense(Matrix),
}

impl Block {
    fn rows(&self) -> usize {
        match self {
            Self::Sparse(s) => s.rows(),
            Self::Dense(m) => m.rows(),
        }
    }

    fn cols(&self) -> usize {
        match self {
            Self::Sparse(s) => s.cols(),
            Self::Dense(m) => m.cols(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_summed_and_zero_free() {
        let mut m = Csr::with_cols(4);
        m.push_row(vec![(3, 1.0), (1, 2.0), (3, -1.0), (0, 5.0)])
            .unwrap();
        m.push_row(vec![]).unwrap();
        assert_eq!(m.row(0), (&[0usize, 1][..], &[5.0, 2.0][..]));
        assert_eq!(m.nnz(), 2);
        assert!(m.push_row(vec![(4, 1.0)]).is_err());
        let d = m.to_dense().unwrap();
        assert_eq!(d.data(), &[5.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(Csr::from_dense(&d), m);
    }

    #[test]
    fn stacks_selects_and_multiplies() {
        let mut s = Csr::with_cols(3);
        s.push_row(vec![(2, 1.5)]).unwrap();
        s.push_row(vec![(0, 1.0), (1, -2.0)]).unwrap();
        let d = Matrix::new(2, 1, vec![0.0, 4.0]).unwrap();
        let h = Csr::hstack(2, &[Block::Dense(d), Block::Sparse(s)]).unwrap();
        assert_eq!(
            h.to_dense().unwrap().data(),
            &[0.0, 0.0, 0.0, 1.5, 4.0, 1.0, -2.0, 0.0]
        );
        let sel = h.select(&[3, 0]).unwrap();
        assert_eq!(sel.to_dense().unwrap().data(), &[1.5, 0.0, 0.0, 4.0]);
        assert!(h.select(&[4]).is_err());
        let w = Matrix::new(2, 4, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0]).unwrap();
        let y = h.dot_t(&w, &[0.5, 0.0]).unwrap();
        assert_eq!(y.data(), &[2.0, 3.0, 3.5, 0.0]);
    }
}
