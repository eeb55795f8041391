//! ironflow's model loader: reads an MLflow model directory (the `MLmodel` file, its signature
//! and the flavor's files) and compiles it once into a [`LoadedModel`] whose synchronous
//! [`LoadedModel::predict`] the server calls from its blocking pool.
//!
//! Nothing here speaks HTTP or gRPC, and nothing here runs Python: every format is read natively.

pub mod binder;
pub mod budget;
pub mod catboost;
pub mod contain;
pub mod datatype;
pub mod error;
pub mod flavor;
pub mod joblib;
pub mod lightgbm;
pub mod mlmodel;
pub mod model;
pub mod onnx_ml;
mod outputs;
pub mod pickle;
pub mod plan;
pub mod pyobj;
pub mod runtime;
pub mod sklearn;
pub mod skops;
pub mod source;
pub mod tree;

#[cfg(test)]
mod test_support;
pub mod xgboost;

pub use datatype::DataType;
pub use error::{LoadError, PredictError};
pub use flavor::load;
pub use mlmodel::{MlModel, Signature};
pub use model::{LoadedModel, NamedTensor, OutputStyle, TensorInfo};
pub use runtime::{OutputChoice, Runtime};
pub use source::{resolve, SourceError, SourceOptions};

pub use tensor::Tensor;

/// The tensor types models consume and produce, re-exported from tract so the server builds
/// tensors without depending on tract itself.
pub mod tensor {
    pub use tract_onnx::prelude::{
        f16, tensor0, tensor1, tensor2, tract_ndarray as ndarray, Datum, DatumType, TVec, Tensor,
    };
}
