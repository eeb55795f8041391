//! The inference-time [`TreeEnsembleExpansion`] and the typed [`TreeEnsembleOp`] it wires: one
//! node evaluating the compiled forest, shared (through an `Arc`) by every run of the plan.

use std::sync::Arc;

use tract_onnx::tract_hir::internal::*;

use super::finalize::{self, Output};
use super::Ensemble;
use crate::tree::{Forest, Value};

/// The expansion registered for the three operators.
#[derive(Debug, Clone)]
pub struct TreeEnsembleExpansion {
    ensemble: Arc<Ensemble>,
}

impl TreeEnsembleExpansion {
    /// Wraps a decoded (and validated) ensemble.
    pub fn new(ensemble: Ensemble) -> Self {
        TreeEnsembleExpansion {
            ensemble: Arc::new(ensemble),
        }
    }
}

impl Expansion for TreeEnsembleExpansion {
    fn name(&self) -> StaticName {
        self.ensemble.op.into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let e = &self.ensemble;
        Ok(vec![format!(
            "{} trees, {} features, {} outputs",
            e.trees.len(),
            e.n_features,
            e.n_targets
        )])
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(match self.ensemble.output {
            Output::Classifier { .. } => 2,
            Output::Regressor { .. } => 1,
        })
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        let n_targets = self.ensemble.n_targets.to_dim();
        let scores = match &self.ensemble.output {
            Output::Classifier { labels, .. } => {
                check_output_arity(outputs, 2)?;
                s.equals(&outputs[0].datum_type, labels.datum_type())?;
                s.equals(&outputs[0].rank, 1)?;
                s.equals(&outputs[1].datum_type, DatumType::F32)?;
                &outputs[1]
            }
            Output::Regressor {
                same_type_as_input, ..
            } => {
                check_output_arity(outputs, 1)?;
                if *same_type_as_input {
                    s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
                } else {
                    s.equals(&outputs[0].datum_type, DatumType::F32)?;
                }
                &outputs[0]
            }
        };
        s.equals(&scores.rank, 2)?;
        s.equals(&scores.shape[1], n_targets)?;
        s.given(&inputs[0].rank, move |s, rank| {
            for out in outputs {
                if rank == 1 {
                    s.equals(&out.shape[0], 1.to_dim())?;
                } else {
                    s.equals(&out.shape[0], &inputs[0].shape[0])?;
                }
            }
            Ok(())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let e = &self.ensemble;
        let mut x = inputs[0];
        let fact = model.outlet_fact(x)?.clone();
        let input_dt = fact.datum_type;
        if !matches!(
            input_dt,
            DatumType::F32 | DatumType::F64 | DatumType::I64 | DatumType::I32
        ) {
            bail!(
                "{}: input must be float, double, int64 or int32, got {input_dt:?}",
                e.op
            );
        }
        let features = match fact.rank() {
            1 => {
                x = model.wire_node(format!("{prefix}.as_batch"), AxisOp::Add(0), &[x])?[0];
                &fact.shape[0]
            }
            2 => &fact.shape[1],
            r => bail!("{}: input must have rank 1 or 2, got rank {r}", e.op),
        };
        if let Ok(k) = features.to_usize() {
            if k < e.n_features {
                bail!(
                    "{}: the trees read feature {} but the input has {k} features",
                    e.op,
                    e.n_features - 1
                );
            }
        }
        let output_dt = match &e.output {
            Output::Regressor {
                same_type_as_input: true,
                ..
            } => match input_dt {
                DatumType::F32 | DatumType::F64 => input_dt,
                other => bail!("{}: input must be float or double, got {other:?}", e.op),
            },
            _ => DatumType::F32,
        };
        // onnxruntime compares in the threshold type: double for double inputs (float thresholds
        // widened) and for double attributes; float otherwise, integer inputs cast to float.
        let forest = if e.double || input_dt == DatumType::F64 {
            Compiled::F64(
                e.forest::<f64>()
                    .map_err(|err| format_err!("{}: {err}", e.op))?,
            )
        } else {
            Compiled::F32(
                e.forest::<f32>()
                    .map_err(|err| format_err!("{}: {err}", e.op))?,
            )
        };
        let op = TreeEnsembleOp {
            op: e.op,
            inner: Arc::new(Inner {
                forest,
                aggregate: e.aggregate,
                output: e.output.clone(),
                output_dt,
            }),
        };
        model.wire_node(prefix, op, &[x])
    }
}

/// The forest, compiled in the type comparisons happen in.
#[derive(Debug)]
enum Compiled {
    F32(Forest<f32>),
    F64(Forest<f64>),
}

/// What every run of the plan shares.
#[derive(Debug)]
struct Inner {
    forest: Compiled,
    aggregate: crate::tree::Aggregate,
    output: Output,
    output_dt: DatumType,
}

/// The typed op: `[N, F]` input to `(labels [N], scores [N, C])` or `Y [N, T]`.
#[derive(Debug, Clone)]
pub struct TreeEnsembleOp {
    op: &'static str,
    inner: Arc<Inner>,
}

// tract compares ops for equality (`DynEq`); forests hold floats, so compare identity.
impl PartialEq for TreeEnsembleOp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for TreeEnsembleOp {}

impl TreeEnsembleOp {
    fn eval_t<T: Value + Datum>(
        &self,
        forest: &Forest<T>,
        input: &Tensor,
    ) -> TractResult<TVec<TValue>> {
        let (n_rows, n_cols) = match *input.shape() {
            [n, c] => (n, c),
            ref shape => bail!(
                "{}: expected a [rows, features] input, got shape {shape:?}",
                self.op
            ),
        };
        let x = input.cast_to::<T>()?;
        let view = x.try_as_plain_ram()?;
        let scores = forest
            .aggregate(view.as_slice::<T>()?, n_rows, n_cols, self.inner.aggregate)
            .map_err(|e| format_err!("{}: {e}", self.op))?;
        let nt = scores.n_targets();
        Ok(match &self.inner.output {
            Output::Classifier {
                labels,
                base_values,
                post,
                binary_case,
                all_positive,
            } => {
                let (picked, z) =
                    finalize::classify(&scores, base_values, *post, *binary_case, *all_positive);
                let labels = finalize::label_tensor(labels, &picked)?;
                tvec!(
                    labels.into_tvalue(),
                    Tensor::from_shape(&[n_rows, nt], &z)?.into_tvalue()
                )
            }
            Output::Regressor {
                base_values, post, ..
            } => {
                let y = if self.inner.output_dt == DatumType::F64 {
                    let y: Vec<f64> =
                        finalize::regress(&scores, self.inner.aggregate, base_values, *post);
                    Tensor::from_shape(&[n_rows, nt], &y)?
                } else {
                    let y: Vec<f32> =
                        finalize::regress(&scores, self.inner.aggregate, base_values, *post);
                    Tensor::from_shape(&[n_rows, nt], &y)?
                };
                tvec!(y.into_tvalue())
            }
        })
    }
}

impl Op for TreeEnsembleOp {
    fn name(&self) -> StaticName {
        self.op.into()
    }

    op_as_typed_op!();
}

impl EvalOp for TreeEnsembleOp {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        match &self.inner.forest {
            Compiled::F32(f) => self.eval_t(f, &input),
            Compiled::F64(f) => self.eval_t(f, &input),
        }
    }
}

impl TypedOp for TreeEnsembleOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        let c = match &self.inner.forest {
            Compiled::F32(f) => f.n_targets(),
            Compiled::F64(f) => f.n_targets(),
        };
        Ok(match &self.inner.output {
            Output::Classifier { labels, .. } => {
                tvec!(
                    labels.datum_type().fact([n.clone()]),
                    f32::fact([n, c.to_dim()])
                )
            }
            Output::Regressor { .. } => tvec!(self.inner.output_dt.fact([n, c.to_dim()])),
        })
    }

    as_op!();
}
