//! Output helpers every predictor shares (XGBoost, LightGBM, CatBoost, the MLServer runtimes):
//! MLServer's name for a single output, a `[n]` / `[n, k]` result tensor, and numpy's `argmax`.
//! A leaf: it imports nothing of the loader but its error type and tract's tensor.

use crate::error::PredictError;
use crate::tensor::{ndarray, Tensor};

/// The name MLServer gives the single output of a `predict` that returns one array.
pub(crate) const OUTPUT: &str = "output-1";

/// Most input features a model may declare: requests bind one column per feature, and a
/// corrupted count must not make the loader allocate billions of column descriptions.
pub(crate) const MAX_FEATURES: usize = 1 << 20;

/// Index of the first largest value (numpy's `argmax`; NaN never wins here).
pub(crate) fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if let Some(b) = row.get(best) {
            if v > b {
                best = i;
            }
        }
    }
    best
}

/// A `[n_rows]` tensor when `width` is 1, else `[n_rows, width]`.
pub(crate) fn tensor<T: crate::tensor::Datum>(
    values: Vec<T>,
    n_rows: usize,
    width: usize,
) -> Result<Tensor, PredictError> {
    let result = if width == 1 {
        ndarray::Array1::from_vec(values)
            .into_dyn()
            .into_shape_with_order(vec![n_rows])
    } else {
        ndarray::Array1::from_vec(values)
            .into_dyn()
            .into_shape_with_order(vec![n_rows, width])
    };
    result
        .map(Tensor::from)
        .map_err(|e| PredictError::Runtime(format!("output shape: {e}")))
}
