//! Composites (docs/formats.md §2g): Pipeline (any depth; the last step decides whether it is an
//! estimator or a transformer), ColumnTransformer (columns by name, int index, slice, boolean
//! mask; `transformers_` order with the remainder last) and FeatureUnion (with weights).

use crate::error::PredictError;
use crate::pyobj::{Instance, Obj, PyObj};

use super::obj::{self, Scalar};
use super::output::Output;
use super::sparse::Block;
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry, Transformer};

/// Registers Pipeline, ColumnTransformer and FeatureUnion.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.pipeline.Pipeline", pipeline);
    reg.insert_transform_view("sklearn.pipeline.Pipeline", pipeline_transform);
    reg.insert("sklearn.pipeline.FeatureUnion", feature_union);
    reg.insert(
        "sklearn.compose._column_transformer.ColumnTransformer",
        column_transformer,
    );
}

/// `(name, value)` pairs of a list of 2- or 3-tuples (steps, transformers_).
fn tuples<'a>(
    inst: &'a Instance,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<&'a [Obj]>, CompileError> {
    let list = obj::attr(inst, name, ctx)?;
    obj::items(list)
        .ok_or_else(|| ctx.invalid(format!("{name} is not a list")))?
        .iter()
        .map(|t| match t.as_ref() {
            PyObj::Tuple(parts) | PyObj::List(parts) if parts.len() >= 2 => Ok(parts.as_slice()),
            _ => Err(ctx.invalid(format!("{name} holds a malformed entry"))),
        })
        .collect()
}

/// `'passthrough'` / `None` steps of a Pipeline, `'drop'` entries of the others.
fn is_str(obj: &PyObj, s: &str) -> bool {
    matches!(obj, PyObj::Str(v) if v == s)
}

struct Pipeline {
    steps: Vec<Box<dyn Transformer>>,
}

impl Transformer for Pipeline {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    fn transform_data(&self, mut x: Data) -> Result<Data, PredictError> {
        for step in &self.steps {
            x = step.transform_data(x)?;
        }
        Ok(x)
    }
}

struct PipelineEstimator {
    steps: Pipeline,
    last: Box<dyn Estimator>,
}

impl Estimator for PipelineEstimator {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        self.last.output_info(method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        self.last.run(method, self.steps.transform_data(x)?)
    }
}

fn pipeline(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let steps = tuples(inst, "steps", ctx)?;
    let mut transformers = Vec::new();
    let count = steps.len();
    for (i, parts) in steps.into_iter().enumerate() {
        let Some(step) = parts.get(1) else { continue };
        if matches!(step.as_ref(), PyObj::None) || is_str(step, "passthrough") {
            continue;
        }
        let segment = format!(".steps[{i}]");
        if i + 1 < count {
            transformers.push(ctx.transformer(&segment, step)?);
            continue;
        }
        match ctx.compile_child(&segment, step)? {
            Compiled::Transformer(t) => transformers.push(t),
            Compiled::Estimator(e) if i + 1 == count => {
                return Ok(Compiled::Estimator(Box::new(PipelineEstimator {
                    steps: Pipeline {
                        steps: transformers,
                    },
                    last: e,
                })))
            }
            Compiled::Estimator(_) => {
                return Err(ctx.invalid(format!("{segment} is an estimator before the last step")))
            }
        }
    }
    Ok(Compiled::Transformer(Box::new(Pipeline {
        steps: transformers,
    })))
}

/// A Pipeline where a transformer is needed: every step as a transformer (a final KMeans
/// gives its distances).
fn pipeline_transform(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mut steps = Vec::new();
    for (i, parts) in tuples(inst, "steps", ctx)?.into_iter().enumerate() {
        let Some(step) = parts.get(1) else { continue };
        if matches!(step.as_ref(), PyObj::None) || is_str(step, "passthrough") {
            continue;
        }
        steps.push(ctx.transformer(&format!(".steps[{i}]"), step)?);
    }
    Ok(Compiled::Transformer(Box::new(Pipeline { steps })))
}

/// FeatureUnion: each transformer on the whole input, outputs side by side, times its weight.
struct FeatureUnion {
    parts: Vec<(Box<dyn Transformer>, Option<f64>)>,
}

impl Transformer for FeatureUnion {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    /// Sparse (`scipy.sparse.hstack`) when any part's output is sparse, as sklearn's
    /// `_hstack`; else dense.
    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let rows = x.rows();
        let mut outs = Vec::with_capacity(self.parts.len());
        for (t, weight) in &self.parts {
            let mut block = t.transform_data(x.clone())?.into_block()?;
            if let Some(w) = weight {
                match &mut block {
                    Block::Sparse(s) => s.values_mut().iter_mut().for_each(|v| *v *= w),
                    Block::Dense(m) => m
                        .row_iter_mut()
                        .for_each(|r| r.iter_mut().for_each(|v| *v *= w)),
                }
            }
            outs.push(block);
        }
        let sparse = outs.iter().any(|b| matches!(b, Block::Sparse(_)));
        Data::hstack(rows, outs, sparse)
    }
}

fn feature_union(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let weights = obj::opt_attr(inst, "transformer_weights");
    let mut parts = Vec::new();
    for (i, p) in tuples(inst, "transformer_list", ctx)?
        .into_iter()
        .enumerate()
    {
        let (Some(name), Some(t)) = (p.first(), p.get(1)) else {
            continue;
        };
        if is_str(t, "drop") || matches!(t.as_ref(), PyObj::None) {
            continue;
        }
        let weight = match (weights.map(|w| w.as_ref()), name.as_ref()) {
            (Some(PyObj::Dict(items)), PyObj::Str(n)) => crate::pyobj::dict_get(items, n)
                .and_then(|w| obj::numbers(w))
                .and_then(|v| v.first().copied()),
            _ => None,
        };
        let t = if is_str(t, "passthrough") {
            Box::new(Passthrough) as Box<dyn Transformer>
        } else {
            ctx.transformer(&format!(".transformer_list[{i}]"), t)?
        };
        parts.push((t, weight));
    }
    Ok(Compiled::Transformer(Box::new(FeatureUnion { parts })))
}

/// `'passthrough'`: the selected columns, as numbers.
struct Passthrough;

impl Transformer for Passthrough {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        x.into_matrix()
    }

    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        match x {
            Data::Sparse(s) => Ok(Data::Sparse(s)),
            other => other.into_matrix().map(Data::Matrix),
        }
    }
}

/// A ColumnTransformer column selection.
#[derive(Debug, Clone)]
enum Selection {
    /// Positions in the input.
    Indices(Vec<usize>),
    /// Column names, each with its position in `feature_names_in_` when known (used when the
    /// input has no such name).
    Names(Vec<(String, Option<usize>)>),
}

impl Selection {
    fn positions(&self, x: &Data) -> Result<Vec<usize>, PredictError> {
        match self {
            Self::Indices(v) => Ok(v.clone()),
            Self::Names(names) => names
                .iter()
                .map(|(name, fallback)| {
                    let by_name = match x {
                        Data::Table(t) if t.left_out(name) => {
                            return Err(PredictError::MissingInput { name: name.clone() })
                        }
                        Data::Table(t) => t.position(name),
                        _ => None,
                    };
                    by_name
                        .or(*fallback)
                        .ok_or_else(|| PredictError::MissingInput { name: name.clone() })
                })
                .collect(),
        }
    }
}

/// Resolves a `transformers_` column spec.
fn selection(
    spec: &PyObj,
    n_features: Option<usize>,
    names_in: &[String],
    ctx: &Ctx<'_>,
) -> Result<Selection, CompileError> {
    let named = |v: Vec<String>| {
        Selection::Names(
            v.into_iter()
                .map(|n| {
                    let p = names_in.iter().position(|m| *m == n);
                    (n, p)
                })
                .collect(),
        )
    };
    if let PyObj::Instance(slice) = spec {
        if slice.class.name == "slice" {
            return slice_selection(slice, n_features, names_in, ctx);
        }
    }
    let values = obj::scalars(spec).ok_or_else(|| ctx.invalid("unsupported column spec"))?;
    if values.iter().all(|v| matches!(v, Scalar::Str(_))) {
        return Ok(named(
            values
                .into_iter()
                .filter_map(|v| match v {
                    Scalar::Str(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ));
    }
    if !values.is_empty() && values.iter().all(|v| matches!(v, Scalar::Bool(_))) {
        return Ok(Selection::Indices(
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| matches!(v, Scalar::Bool(true)))
                .map(|(i, _)| i)
                .collect(),
        ));
    }
    let mut idx = Vec::with_capacity(values.len());
    for v in values {
        let Scalar::Int(i) = v else {
            return Err(ctx.invalid("unsupported column spec"));
        };
        let i = if i < 0 {
            n_features.and_then(|n| usize::try_from(n as i64 + i).ok())
        } else {
            usize::try_from(i).ok()
        };
        idx.push(i.ok_or_else(|| ctx.invalid("negative column index without n_features_in_"))?);
    }
    Ok(Selection::Indices(idx))
}

fn slice_selection(
    slice: &Instance,
    n_features: Option<usize>,
    names_in: &[String],
    ctx: &Ctx<'_>,
) -> Result<Selection, CompileError> {
    let part = |i: usize| slice.args.get(i).map(|o| o.as_ref());
    // Label slices (`slice('a', 'c')`) include their stop, as pandas' `.loc`.
    if let (Some(PyObj::Str(_)), _) | (_, Some(PyObj::Str(_))) = (part(0), part(1)) {
        let find = |p: Option<&PyObj>| match p {
            Some(PyObj::Str(s)) => names_in.iter().position(|n| n == s),
            _ => None,
        };
        let start = find(part(0)).unwrap_or(0);
        let stop = find(part(1)).map_or(names_in.len(), |s| s + 1);
        return Ok(Selection::Indices((start..stop).collect()));
    }
    let n = n_features.ok_or_else(|| ctx.invalid("a slice needs n_features_in_"))? as i64;
    let int = |p: Option<&PyObj>| match p {
        Some(PyObj::Int(v)) => Some(*v),
        _ => None,
    };
    let clampi = |v: i64| if v < 0 { (n + v).max(0) } else { v.min(n) };
    let step = int(part(2)).unwrap_or(1);
    if step <= 0 {
        return Err(ctx.invalid("only positive slice steps are supported"));
    }
    let start = int(part(0)).map_or(0, clampi);
    let stop = int(part(1)).map_or(n, clampi);
    Ok(Selection::Indices(
        (start..stop)
            .step_by(step as usize)
            .filter_map(|i| usize::try_from(i).ok())
            .collect(),
    ))
}

struct ColumnTransformer {
    parts: Vec<(Selection, Box<dyn Transformer>)>,
    /// `sparse_output_`, decided at fit from the outputs' density and `sparse_threshold`.
    sparse: bool,
}

impl Transformer for ColumnTransformer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    /// Sparse when the fitted `sparse_output_` says so (sklearn's `_hstack`), else dense.
    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let rows = x.rows();
        let mut outs = Vec::with_capacity(self.parts.len());
        for (sel, t) in &self.parts {
            let sub = x.select(&sel.positions(&x)?)?;
            outs.push(t.transform_data(sub)?.into_block()?);
        }
        Data::hstack(rows, outs, self.sparse)
    }
}

fn column_transformer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let names_in: Vec<String> = obj::opt_attr(inst, "feature_names_in_")
        .and_then(|o| obj::scalars(o))
        .map(|v| {
            v.into_iter()
                .filter_map(|s| match s {
                    Scalar::Str(s) => Some(s),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let n_features = obj::opt_f64(inst, "n_features_in_")
        .or_else(|| obj::opt_f64(inst, "_n_features"))
        .map(|v| v as usize);
    let mut parts = Vec::new();
    for (i, p) in tuples(inst, "transformers_", ctx)?.into_iter().enumerate() {
        let (Some(t), Some(cols)) = (p.get(1), p.get(2)) else {
            return Err(ctx.invalid("transformers_ entries must be (name, transformer, columns)"));
        };
        if is_str(t, "drop") {
            continue;
        }
        let sel = selection(cols, n_features, &names_in, ctx)?;
        // `_iter(skip_empty_columns=True)`: empty selections produce nothing.
        let empty = match &sel {
            Selection::Indices(v) => v.is_empty(),
            Selection::Names(v) => v.is_empty(),
        };
        if empty {
            continue;
        }
        let t = if is_str(t, "passthrough") {
            Box::new(Passthrough) as Box<dyn Transformer>
        } else {
            ctx.transformer(&format!(".transformers_[{i}]"), t)?
        };
        parts.push((sel, t));
    }
    Ok(Compiled::Transformer(Box::new(ColumnTransformer {
        parts,
        sparse: obj::bool_or(inst, "sparse_output_", false),
    })))
}
