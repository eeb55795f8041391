//! Helpers shared by ironflow's benches: locating fixture models and building request tensors.

use std::path::{Path, PathBuf};

use ironflow_loader::tensor::{ndarray::Array2, Tensor};
use ironflow_loader::NamedTensor;

/// The repository's example model `case` (`examples/models/<case>/model`).
pub fn example_model(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(case)
        .join("model")
}

/// An `[rows, features]` FP32 input named `name`, filled with a deterministic ramp that cycles
/// through the values `sample` holds (real feature values, so trees take realistic paths).
pub fn f32_batch(name: &str, sample: &[f32], features: usize, rows: usize) -> NamedTensor {
    let data = Array2::from_shape_fn((rows, features), |(r, c)| {
        sample[(r * features + c) % sample.len().max(1)]
    });
    NamedTensor::new(name, Tensor::from(data))
}
