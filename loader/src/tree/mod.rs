//! ironflow's tree-ensemble evaluator, shared by the ONNX tree operators and (later) the
//! scikit-learn, XGBoost and LightGBM flavors: flat node arrays, many rows per tree walk.
//!
//! A flavor describes each tree as a node table ([`TreeSpec`] of [`TreeNode`]s, children by
//! index, as every format stores them), hands the tables to a [`ForestBuilder`] which validates
//! them (typed [`TreeError`] naming the tree and node) and compiles a [`Forest`] in `f32` or `f64`
//! ([`Value`]). [`Forest::aggregate`] then folds the leaf weights each row reaches ([`Aggregate`])
//! into [`Scores`]; base values, averaging conventions and post transforms stay with the flavor.
//!
//! ```
//! use ironflow_loader::tree::{Aggregate, Cmp, ForestBuilder, Split, TreeNode, TreeSpec};
//!
//! // x0 <= 0.5 ? 1.0 : 2.0
//! let tree = TreeSpec::new(vec![
//!     TreeNode::branch(0, Split::Compare(Cmp::Leq, 0.5f32), 1, 2),
//!     TreeNode::leaf(1.0),
//!     TreeNode::leaf(2.0),
//! ]);
//! let mut builder = ForestBuilder::new(1, 1);
//! builder.push(tree);
//! let forest = builder.build()?;
//! let scores = forest.aggregate(&[0.0, 1.0], 2, 1, Aggregate::Sum)?;
//! assert_eq!(scores.values(), &[1.0, 2.0]);
//! # Ok::<(), ironflow_loader::tree::TreeError>(())
//! ```

mod build;
mod error;
mod eval;
mod forest;
mod oblivious;
mod pool;
mod quick;
mod sets;
mod spec;
mod value;

pub use build::ForestBuilder;
pub use error::TreeError;
pub(crate) use eval::max_threads;
pub use eval::{Aggregate, Scores};
pub use forest::Forest;
pub use oblivious::{ObliviousForest, ObliviousSplit, ObliviousTest, MAX_OBLIVIOUS_DEPTH};
pub(crate) use pool::run_parts;
pub use spec::{Branch, Cmp, LeafWeight, Split, TreeNode, TreeSpec};
pub use value::Value;

#[cfg(test)]
mod tests;
