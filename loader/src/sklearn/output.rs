//! What an estimator returns ([`Output`]) and its class labels ([`Labels`]), turned into the
//! tensor mlflow's pyfunc would return: labels keep `classes_`'s dtype (strings as `BYTES`),
//! everything else is float64.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::tensor::{ndarray, Datum, Tensor};

use super::scalar::Scalar;
use super::table::Matrix;

/// Class labels (or cluster ids), in the dtype sklearn returns them.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// int64 (and other integer dtypes that are not int32).
    Int64(Vec<i64>),
    /// int32 (KMeans cluster ids, int32 `classes_`).
    Int32(Vec<i32>),
    /// float64.
    Float(Vec<f64>),
    /// bool.
    Bool(Vec<bool>),
    /// str / object: served as `BYTES`.
    Str(Vec<String>),
}

impl Labels {
    /// The number of labels.
    pub fn len(&self) -> usize {
        match self {
            Self::Int64(v) => v.len(),
            Self::Int32(v) => v.len(),
            Self::Float(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Str(v) => v.len(),
        }
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The v2 datatype the labels travel as.
    pub fn datatype(&self) -> DataType {
        match self {
            Self::Int64(_) => DataType::Int64,
            Self::Int32(_) => DataType::Int32,
            Self::Float(_) => DataType::Fp64,
            Self::Bool(_) => DataType::Bool,
            Self::Str(_) => DataType::Bytes,
        }
    }

    /// Builds labels from decoded `classes_` elements; `int32` keeps int32.
    pub fn from_scalars(values: Vec<Scalar>, int32: bool) -> Option<Self> {
        let all = |f: fn(&Scalar) -> bool| values.iter().all(f);
        if all(|s| matches!(s, Scalar::Int(_))) {
            let ints = values.iter().filter_map(|s| match s {
                Scalar::Int(i) => Some(*i),
                _ => None,
            });
            return Some(if int32 {
                Self::Int32(ints.map(|i| i32::try_from(i).ok()).collect::<Option<_>>()?)
            } else {
                Self::Int64(ints.collect())
            });
        }
        if all(|s| matches!(s, Scalar::Bool(_))) {
            return Some(Self::Bool(
                values
                    .iter()
                    .map(|s| matches!(s, Scalar::Bool(true)))
                    .collect(),
            ));
        }
        if all(|s| matches!(s, Scalar::Float(_) | Scalar::Int(_))) {
            return Some(Self::Float(
                values.iter().filter_map(Scalar::as_f64).collect(),
            ));
        }
        if all(|s| matches!(s, Scalar::Str(_))) {
            return Some(Self::Str(
                values
                    .into_iter()
                    .filter_map(|s| match s {
                        Scalar::Str(s) => Some(s),
                        _ => None,
                    })
                    .collect(),
            ));
        }
        None
    }

    /// `classes_[indices]`.
    pub fn take(&self, indices: &[usize]) -> Result<Self, PredictError> {
        fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Result<Vec<T>, PredictError> {
            idx.iter()
                .map(|&i| {
                    v.get(i).cloned().ok_or_else(|| {
                        PredictError::Runtime(format!("class index {i} is out of range"))
                    })
                })
                .collect()
        }
        Ok(match self {
            Self::Int64(v) => Self::Int64(pick(v, indices)?),
            Self::Int32(v) => Self::Int32(pick(v, indices)?),
            Self::Float(v) => Self::Float(pick(v, indices)?),
            Self::Bool(v) => Self::Bool(pick(v, indices)?),
            Self::Str(v) => Self::Str(pick(v, indices)?),
        })
    }
}

/// An estimator's result for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// One value per row (a single-target regression): `[N]`.
    Vector(Vec<f64>),
    /// Several values per row (probabilities, multi-target regression): `[N, k]`.
    Matrix(Matrix),
    /// One label per row: `[N]`.
    Labels(Labels),
    /// Several labels per row (multi-output classifiers), row-major: `[N, cols]`.
    LabelColumns {
        /// `N × cols` labels, row by row.
        labels: Labels,
        /// Labels per row.
        cols: usize,
    },
}

impl Output {
    /// The output as a tensor.
    pub fn into_tensor(self) -> Result<Tensor, PredictError> {
        match self {
            Self::Vector(v) => plain(&[v.len()], &v),
            Self::Matrix(m) => plain(&[m.rows(), m.cols()], m.data()),
            Self::Labels(Labels::Int64(v)) => plain(&[v.len()], &v),
            Self::Labels(Labels::Int32(v)) => plain(&[v.len()], &v),
            Self::Labels(Labels::Float(v)) => plain(&[v.len()], &v),
            Self::Labels(Labels::Bool(v)) => plain(&[v.len()], &v),
            Self::Labels(Labels::Str(v)) => Ok(Tensor::from(ndarray::Array1::from(v))),
            Self::LabelColumns { labels, cols } => {
                let rows = labels.len().checked_div(cols).unwrap_or(0);
                let shape = [rows, cols];
                match labels {
                    Labels::Int64(v) => plain(&shape, &v),
                    Labels::Int32(v) => plain(&shape, &v),
                    Labels::Float(v) => plain(&shape, &v),
                    Labels::Bool(v) => plain(&shape, &v),
                    Labels::Str(v) => ndarray::Array2::from_shape_vec(shape, v)
                        .map(Tensor::from)
                        .map_err(|e| PredictError::Runtime(e.to_string())),
                }
            }
        }
    }
}

/// A tensor of plain values, copied once into a buffer aligned to the element rather than to
/// tract's SIMD vector size: outputs are only read back element by element, and the allocator
/// serves element-aligned blocks on its fast path (a 64-byte alignment takes its slow,
/// over-allocating one for every small output).
fn plain<T: Datum + Copy>(shape: &[usize], values: &[T]) -> Result<Tensor, PredictError> {
    Tensor::from_shape_align(shape, values, std::mem::align_of::<T>())
        .map_err(|e| PredictError::Runtime(e.to_string()))
}

/// The index of the largest value (the first on ties, as `np.argmax`).
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        // NaN compares false, as numpy's argmax would return the NaN's index; rows with
        // NaN are rejected earlier by sklearn's input validation.
        if v > best_v || (i == 0 && v.is_nan()) {
            best = i;
            best_v = v;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_their_dtype() {
        let l = Labels::from_scalars(
            vec![Scalar::Str("a".into()), Scalar::Str("b".into())],
            false,
        )
        .unwrap();
        assert_eq!(
            l.take(&[1, 0]).unwrap(),
            Labels::Str(vec!["b".into(), "a".into()])
        );
        let t = Output::Labels(l.take(&[1]).unwrap()).into_tensor().unwrap();
        assert_eq!(t.shape(), &[1]);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}
