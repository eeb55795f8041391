//! scikit-learn estimators compiled from their [`crate::pyobj`] object tree into native
//! predictors, reproducing sklearn's `predict` / `predict_proba` / ... exactly.
//!
//! The [`Registry`] maps a full Python class path (`sklearn.linear_model._logistic.LogisticRegression`)
//! to a [`CompileFn`]. Each family file (`linear.rs`, `preprocessing.rs`, ...) has a
//! `pub fn register(reg: &mut Registry)`; [`Registry::with_builtins`] chains them. A compile
//! function reads the fitted state once and returns a [`Compiled`]: a [`Transformer`] (data in,
//! float64 matrix out) or an [`Estimator`] (data in, a [`Method`]'s [`Output`] out).
//! Composites (Pipeline, ColumnTransformer, FeatureUnion) compile their children through
//! [`Ctx::compile_child`], which tracks the path inside the model for error messages
//! (`Pipeline.steps[1] -> sklearn.cluster._birch.Birch is not supported`).
//!
//! Adding a family (e.g. `tree.rs`):
//! 1. `mod tree;` here and `tree::register(&mut reg);` in [`Registry::with_builtins`].
//! 2. In the file: `pub fn register(reg: &mut Registry) { reg.insert("sklearn.tree._classes.DecisionTreeClassifier", compile_dtc); }`
//!    with `fn compile_dtc(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError>`.
//! 3. Read state with the [`obj`] helpers (`obj::attr`, `obj::f64_matrix`, `obj::labels` for
//!    `classes_`, `obj::opt_str`, ...) or the `PyObj`/`NdArray` accessors; report bad state with
//!    `ctx.invalid("...")`. A nested estimator (forest members) can be compiled with
//!    `ctx.compile_child(".estimators_[3]", obj)`.
//! 4. Return `Compiled::Estimator(Box::new(..))` implementing [`Estimator`]: `output_info`
//!    says which [`Method`]s exist (checked at load against `predict_fn`) and their datatype and
//!    shape; `run` takes [`Data`] (`x.into_matrix()?` gives the float64 `[N, p]` input; call
//!    `expect_cols(p)`) and returns [`Output::Labels`] (`classes.take(&indices)`),
//!    [`Output::Vector`] (`[N]`) or [`Output::Matrix`] (`[N, k]`).
//! 5. Add a case to `fixtures/generate.py` (real sklearn, pickle protocol 4) and rerun it; the
//!    corpus test picks up `sk-*` cases as soon as their classes are registered.

mod cluster;
mod compose;
#[cfg(test)]
mod corpus_tests;
mod covariance;
mod cross_decomposition;
mod decomposition;
mod discriminant;
mod dummy;
mod encoders;
#[cfg(test)]
mod example_tests;
mod feature_selection;
#[cfg(test)]
mod fixture_tests;
mod forest;
mod gaussian_process;
mod gpc;
mod gradient_boosting;
mod hist_gradient_boosting;
mod iforest;
mod impute;
mod isotonic;
mod iterative_impute;
mod kernel_approximation;
mod kernel_ridge;
mod kernels;
mod knn_impute;
mod label_propagation;
mod linear;
mod lof;
mod meta;
mod mixture;
mod naive_bayes;
mod nearest_centroid;
mod neighbors;
mod neighbors_graph;
mod neural_network;
mod nmf;
mod numeric;
pub mod obj;
pub mod output;
#[cfg(test)]
mod predictor_tests;
mod preprocessing;
mod projections;
mod radius_neighbors;
mod registry;
mod scalar;
mod shared;
pub mod sparse;
mod stop_words;
mod svm;
pub mod table;
mod target_encoder;
mod text;
#[cfg(test)]
mod transformer_tests;
mod tree;

pub use output::{Labels, Output};
pub use sparse::Csr;
pub use table::{Column, Data, Matrix, Table};

pub(crate) use registry::{proba_classifier_info, proba_classifier_output};
pub use registry::{
    CompileError, CompileFn, Compiled, Ctx, Estimator, Method, OutputInfo, Registry, Transformer,
};

impl Registry {
    /// The registry with every family this build implements.
    pub fn with_builtins() -> Self {
        let mut reg = Self::new();
        linear::register(&mut reg);
        preprocessing::register(&mut reg);
        encoders::register(&mut reg);
        impute::register(&mut reg);
        compose::register(&mut reg);
        naive_bayes::register(&mut reg);
        cluster::register(&mut reg);
        decomposition::register(&mut reg);
        neural_network::register(&mut reg);
        svm::register(&mut reg);
        neighbors::register(&mut reg);
        neighbors_graph::register(&mut reg);
        tree::register(&mut reg);
        forest::register(&mut reg);
        gradient_boosting::register(&mut reg);
        hist_gradient_boosting::register(&mut reg);
        iforest::register(&mut reg);
        // Issue 14 predictors.
        cross_decomposition::register(&mut reg);
        dummy::register(&mut reg);
        kernel_ridge::register(&mut reg);
        isotonic::register(&mut reg);
        meta::register(&mut reg);
        mixture::register(&mut reg);
        discriminant::register(&mut reg);
        covariance::register(&mut reg);
        gaussian_process::register(&mut reg);
        gpc::register(&mut reg);
        radius_neighbors::register(&mut reg);
        label_propagation::register(&mut reg);
        nearest_centroid::register(&mut reg);
        lof::register(&mut reg);
        // Transformers (issue 15).
        feature_selection::register(&mut reg);
        kernel_approximation::register(&mut reg);
        projections::register(&mut reg);
        text::register(&mut reg);
        target_encoder::register(&mut reg);
        knn_impute::register(&mut reg);
        nmf::register(&mut reg);
        iterative_impute::register(&mut reg);
        reg
    }
}

/// The index in `classes` of the first (only) label of `label`.
fn meta_positions(label: &Labels, classes: &Labels) -> Option<usize> {
    meta::positions(label, classes).first().copied().flatten()
}
