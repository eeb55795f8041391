//! The signature binder: MLflow's input enforcement (`mlflow.models.utils._enforce_schema`) between
//! a request's named tensors and what a compiled model reads, for every flavor and MLServer
//! runtime (docs/compat.md §1.6, §4.3, §4.4).
//!
//! One set of rules, in [`enforce`]: which request datatypes a signature column type takes, which
//! missing (`null`) cells a column type takes, and that an optional (`"required": false`) column
//! may be left out. The binders differ only in what they build for their engines:
//!
//! - [`table`]: a scikit-learn [`Data`](crate::sklearn::table::Data) (named columns of numbers or
//!   strings, or one dense matrix), as MLServer's `pd` codec and MLflow build the DataFrame;
//! - [`matrix`]: one row-major `f64` feature matrix for XGBoost and LightGBM boosters;
//! - [`catboost`]: float and hashed categorical feature rows for CatBoost;
//! - [`onnx`]: the ONNX graph's input tensors (stacking columns, lossless casts).
//!
//! Flavors and runtimes import a binder from here; no flavor imports another flavor's binder.

pub mod catboost;
pub mod enforce;
pub mod matrix;
pub mod onnx;
pub mod table;
