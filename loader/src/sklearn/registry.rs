//! The compile framework every scikit-learn family file uses: the pyfunc [`Method`]s, the
//! [`Transformer`] and [`Estimator`] traits, [`Compiled`], [`CompileError`], the [`Registry`] of
//! class paths and the per-object compile context [`Ctx`]. `mod.rs` re-exports them and fills the
//! registry ([`Registry::with_builtins`]); keeping them here lets family files import them
//! without importing the module that imports every family.

use std::collections::HashMap;

use super::output::{self, Labels, Output};
use super::shared;
use super::table::{Data, Matrix};
use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Obj, PyObj};

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
        let memo = shared::Memo::default();
        Ctx {
            registry: self,
            memo: &memo,
            at: String::new(),
            class: String::new(),
        }
        .compile(root)
    }
}

/// The compile context of one object: the registry and where the object sits in the model.
pub struct Ctx<'a> {
    registry: &'a Registry,
    /// Objects already compiled in this model (shared references compile once).
    memo: &'a shared::Memo,
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
            memo: self.memo,
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
                    memo: self.memo,
                    at,
                    class,
                };
                let compiled = match self.memo.get(obj, shared::Kind::TransformView) {
                    Some((done, expanded)) => {
                        ctx.expanded(self.memo.add(expanded))?;
                        done
                    }
                    None => {
                        let outer = self.memo.enter();
                        let compiled = view(inst, &ctx);
                        let expanded = self.memo.leave(outer);
                        let compiled = compiled?;
                        ctx.expanded(expanded)?;
                        self.memo
                            .put(obj, shared::Kind::TransformView, compiled, expanded)
                    }
                };
                return match compiled {
                    Compiled::Transformer(t) => Ok(t),
                    Compiled::Estimator(_) => Err(ctx.invalid("transform view is an estimator")),
                };
            }
        }
        let ctx = Ctx {
            registry: self.registry,
            memo: self.memo,
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

    /// Charges `bytes` the compiler is about to allocate to the model's load budget
    /// ([`crate::budget`]); past the budget, an error about the current object.
    pub fn charge(&self, bytes: usize, what: &'static str) -> Result<(), CompileError> {
        crate::budget::charge(bytes as u64, what).map_err(|e| self.invalid(e.to_string()))
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
        if let Some((done, expanded)) = self.memo.get(obj, shared::Kind::Itself) {
            self.expanded(self.memo.add(expanded))?;
            return Ok(done);
        }
        let outer = self.memo.enter();
        let compiled = compile(inst, &self);
        let expanded = self.memo.leave(outer);
        let compiled = compiled?;
        self.expanded(expanded)?;
        Ok(self.memo.put(obj, shared::Kind::Itself, compiled, expanded))
    }

    /// Refuses a model whose shared references expand past [`shared::MAX_EXPANDED`] objects.
    fn expanded(&self, count: u64) -> Result<(), CompileError> {
        if count > shared::MAX_EXPANDED {
            return Err(self.invalid(format!(
                "its shared references expand to more than {} estimators run per prediction",
                shared::MAX_EXPANDED
            )));
        }
        Ok(())
    }
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
