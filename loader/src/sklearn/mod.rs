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

pub mod bind;
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
pub mod sparse;
mod stop_words;
mod svm;
pub mod table;
mod target_encoder;
mod text;
#[cfg(test)]
mod transformer_tests;
mod tree;

use std::collections::HashMap;

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Obj, PyObj};

pub use output::{Labels, Output};
pub use sparse::Csr;
pub use table::{Column, Data, Matrix, Table};

/// A pyfunc predict method (`python_function.predict_fn` in `MLmodel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `predict`: labels for classifiers, values for regressors.
    Predict,
    /// `predict_proba`: `[N, n_classes]` probabilities.
    PredictProba,
    /// `predict_log_proba`.
    PredictLogProba,
    /// `predict_joint_log_proba` (naive Bayes).
    PredictJointLogProba,
    /// `decision_function`: `[N]` (binary, regression-like) or `[N, k]` scores.
    DecisionFunction,
}

impl Method {
    /// Parses a `predict_fn` value.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "predict" => Self::Predict,
            "predict_proba" => Self::PredictProba,
            "predict_log_proba" => Self::PredictLogProba,
            "predict_joint_log_proba" => Self::PredictJointLogProba,
            "decision_function" => Self::DecisionFunction,
            _ => return None,
        })
    }

    /// The Python method name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Predict => "predict",
            Self::PredictProba => "predict_proba",
            Self::PredictLogProba => "predict_log_proba",
            Self::PredictJointLogProba => "predict_joint_log_proba",
            Self::DecisionFunction => "decision_function",
        }
    }
}

/// The datatype and shape (`-1` = any) of a method's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputInfo {
    /// The v2 datatype.
    pub datatype: DataType,
    /// The shape, e.g. `[-1]` for labels or `[-1, 3]` for probabilities.
    pub shape: Vec<i64>,
}

/// `output_info` of a classifier whose `predict` is the argmax of its `predict_proba`: labels
/// `[N]` in `classes`' datatype, probabilities `[N, k]` float64.
pub(crate) fn proba_classifier_info(classes: &Labels, method: Method) -> Option<OutputInfo> {
    match method {
        Method::Predict => Some(OutputInfo {
            datatype: classes.datatype(),
            shape: vec![-1],
        }),
        Method::PredictProba => Some(OutputInfo {
            datatype: DataType::Fp64,
            shape: vec![-1, classes.len() as i64],
        }),
        _ => None,
    }
}

/// The answer of such a classifier from its probabilities: `proba` itself for `predict_proba`,
/// else `classes_.take(argmax(proba, axis=1))`, as scikit-learn's `predict` computes it.
pub(crate) fn proba_classifier_output(
    classes: &Labels,
    method: Method,
    proba: Matrix,
) -> Result<Output, PredictError> {
    if method == Method::PredictProba {
        return Ok(Output::Matrix(proba));
    }
    let idx: Vec<usize> = proba.row_iter().map(output::argmax).collect();
    Ok(Output::Labels(classes.take(&idx)?))
}

/// A fitted transformer: `transform(X)`, always producing a dense float64 matrix.
pub trait Transformer: Send + Sync {
    /// Transforms a batch.
    fn transform(&self, x: Data) -> Result<Matrix, PredictError>;

    /// Transforms a batch inside a Pipeline, where the next step may take text columns too
    /// (a string SimpleImputer feeding a OneHotEncoder). Defaults to [`Transformer::transform`].
    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        self.transform(x).map(Data::Matrix)
    }
}

/// A fitted estimator (the final step of a model).
pub trait Estimator: Send + Sync {
    /// What `method` returns, or `None` when the estimator lacks that method (checked at load).
    fn output_info(&self, method: Method) -> Option<OutputInfo>;
    /// Runs `method` on a batch. Only called for methods [`Estimator::output_info`] accepts.
    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError>;
}

/// A compiled sklearn object.
pub enum Compiled {
    /// Something with `transform`.
    Transformer(Box<dyn Transformer>),
    /// Something with `predict` (and maybe `predict_proba` ...).
    Estimator(Box<dyn Estimator>),
}

/// Why a sklearn object tree cannot be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// A class ironflow has no implementation for.
    #[error("{}{class} is not supported", arrow(at))]
    Unsupported {
        /// The full Python class path.
        class: String,
        /// Where in the model (`Pipeline.steps[1]`; empty for the root).
        at: String,
    },
    /// A supported class whose state is missing something or holds an unexpected value.
    #[error("{}{class}: {message}", arrow(at))]
    Invalid {
        /// The full Python class path.
        class: String,
        /// Where in the model.
        at: String,
        /// What is wrong.
        message: String,
    },
}

fn arrow(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at} -> ")
    }
}

/// Compiles one class's fitted instance.
pub type CompileFn = fn(&crate::pyobj::Instance, &Ctx<'_>) -> Result<Compiled, CompileError>;

/// Compile functions keyed by full Python class path.
#[derive(Default)]
pub struct Registry {
    entries: HashMap<&'static str, CompileFn>,
    /// The `transform` of classes whose own entry is an estimator (KMeans distances,
    /// LinearDiscriminantAnalysis projections), used where a transformer is needed.
    transform_views: HashMap<&'static str, CompileFn>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

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

    /// Registers (or replaces) the compiler for a class path.
    pub fn insert(&mut self, class_path: &'static str, compile: CompileFn) {
        self.entries.insert(class_path, compile);
    }

    /// Registers the `transform` of a class whose [`Registry::insert`] entry is an estimator.
    pub fn insert_transform_view(&mut self, class_path: &'static str, compile: CompileFn) {
        self.transform_views.insert(class_path, compile);
    }

    /// True when the class path has a compiler.
    pub fn contains(&self, class_path: &str) -> bool {
        self.entries.contains_key(class_path)
    }

    /// Compiles a model's root object.
    pub fn compile(&self, root: &Obj) -> Result<Compiled, CompileError> {
        Ctx {
            registry: self,
            at: String::new(),
            class: String::new(),
        }
        .compile(root)
    }
}

/// The compile context of one object: the registry and where the object sits in the model.
pub struct Ctx<'a> {
    registry: &'a Registry,
    /// The path of the object being compiled (`""` for the root).
    at: String,
    /// Its class path.
    class: String,
}

impl Ctx<'_> {
    /// Compiles a child object found at `segment` (e.g. `.steps[1]`) of the current object.
    pub fn compile_child(&self, segment: &str, obj: &Obj) -> Result<Compiled, CompileError> {
        let base = if self.at.is_empty() {
            self.class.rsplit('.').next().unwrap_or_default()
        } else {
            &self.at
        };
        Ctx {
            registry: self.registry,
            at: format!("{base}{segment}"),
            class: String::new(),
        }
        .compile(obj)
    }

    /// Compiles a child that must be a transformer (an estimator's transform view if it has
    /// one, see [`Registry::insert_transform_view`]).
    pub fn transformer(
        &self,
        segment: &str,
        obj: &Obj,
    ) -> Result<Box<dyn Transformer>, CompileError> {
        let base = if self.at.is_empty() {
            self.class.rsplit('.').next().unwrap_or_default()
        } else {
            &self.at
        };
        self.transformer_at(format!("{base}{segment}"), obj)
    }

    fn transformer_at(&self, at: String, obj: &Obj) -> Result<Box<dyn Transformer>, CompileError> {
        if let PyObj::Instance(inst) = obj.as_ref() {
            let class = inst.class.path();
            if let Some(view) = self.registry.transform_views.get(class.as_str()) {
                let ctx = Ctx {
                    registry: self.registry,
                    at,
                    class,
                };
                return match view(inst, &ctx)? {
                    Compiled::Transformer(t) => Ok(t),
                    Compiled::Estimator(_) => Err(ctx.invalid("transform view is an estimator")),
                };
            }
        }
        let ctx = Ctx {
            registry: self.registry,
            at,
            class: String::new(),
        };
        let at = ctx.at.clone();
        match ctx.compile(obj)? {
            Compiled::Transformer(t) => Ok(t),
            Compiled::Estimator(_) => Err(CompileError::Invalid {
                class: obj
                    .as_ref()
                    .class_path()
                    .unwrap_or_else(|| kind_of(obj).to_owned()),
                at,
                message: "is an estimator, not a transformer".to_owned(),
            }),
        }
    }

    /// An error about the current object's state.
    pub fn invalid(&self, message: impl Into<String>) -> CompileError {
        CompileError::Invalid {
            class: self.class.clone(),
            at: self.at.clone(),
            message: message.into(),
        }
    }

    fn compile(mut self, obj: &Obj) -> Result<Compiled, CompileError> {
        let PyObj::Instance(inst) = obj.as_ref() else {
            return Err(CompileError::Invalid {
                class: kind_of(obj).to_owned(),
                at: self.at,
                message: "expected a fitted estimator object".to_owned(),
            });
        };
        let class = inst.class.path();
        let Some(compile) = self.registry.entries.get(class.as_str()) else {
            return Err(CompileError::Unsupported { class, at: self.at });
        };
        self.class = class;
        compile(inst, &self)
    }
}

/// The index in `classes` of the first (only) label of `label`.
fn meta_positions(label: &Labels, classes: &Labels) -> Option<usize> {
    meta::positions(label, classes).first().copied().flatten()
}

fn kind_of(obj: &PyObj) -> &'static str {
    match obj {
        PyObj::None => "None",
        PyObj::Str(_) => "str",
        PyObj::List(_) => "list",
        PyObj::Dict(_) => "dict",
        PyObj::Array(_) => "ndarray",
        _ => "object",
    }
}
