//! What onnxruntime does with the aggregated leaf weights: base values, post transforms and, for
//! classifiers, the label and its binary special cases (`tree_ensemble_aggregator.h`,
//! `FinalizeScores`/`FinalizeScores1`, and `write_scores` in `ml_common.h`).
//!
//! onnxruntime keeps a `has_score` flag per output: outputs no leaf wrote are written as 0 (base
//! value dropped) and never win the argmax. Sums happen in the threshold type; post transforms
//! in f32.

use super::super::labels::ClassLabels;
use super::super::PostTransform;
use crate::tree::{Aggregate, Scores, Value};
use tract_onnx::tract_hir::internal::*;

/// How leaf sums become outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `TreeEnsembleClassifier`.
    Classifier {
        labels: ClassLabels,
        base_values: Vec<f64>,
        post: PostTransform,
        /// Two classes and every leaf weight for the same class: one score `s`, expanded to
        /// `[1 - s, s]` (all weights >= 0) or `[-s, s]` (or their logistic) for the output.
        binary_case: bool,
        /// No class weight is negative.
        all_positive: bool,
    },
    /// `TreeEnsembleRegressor` (f32 output) and `TreeEnsemble` (output of the input's type).
    Regressor {
        base_values: Vec<f64>,
        post: PostTransform,
        same_type_as_input: bool,
    },
}

/// The label onnxruntime picks for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// The label of this class index.
    Class(usize),
    /// A literal label value: onnxruntime's two-class rule returns 1 or 0 themselves
    /// (`positive_label_`/`negative_label_`) unless it is in its binary case.
    Literal(i64),
}

/// Regressor outputs `[n_rows, n_targets]` in `O`.
pub fn regress<T: Value, O: Value>(
    scores: &Scores<T>,
    aggregate: Aggregate,
    base: &[f64],
    post: PostTransform,
) -> Vec<O> {
    let nt = scores.n_targets();
    let base: Vec<T> = base.iter().map(|&b| T::from_f64(b)).collect();
    let origin = if base.len() == 1 {
        base[0]
    } else {
        T::default()
    };
    let use_base = base.len() == nt;
    let mut out = Vec::with_capacity(scores.n_rows() * nt);
    let mut row32 = vec![0f32; nt];
    for r in 0..scores.n_rows() {
        let (values, hit) = (scores.row(r), scores.hit(r));
        if nt == 1 {
            // One-output path: only base_values[0] ("origin") and PROBIT apply.
            let s = match aggregate {
                Aggregate::Sum | Aggregate::Average => values[0] + origin,
                Aggregate::Min | Aggregate::Max if hit[0] => values[0] + origin,
                Aggregate::Min | Aggregate::Max => origin,
            };
            out.push(match post {
                PostTransform::Probit => widen(probit(narrow(s))),
                _ => O::from_f64(s.to_f64()),
            });
            continue;
        }
        let value = |j: usize| match (hit[j], use_base) {
            (false, _) => T::default(),
            (true, true) => values[j] + base[j],
            (true, false) => values[j],
        };
        if post == PostTransform::None {
            out.extend((0..nt).map(|j| O::from_f64(value(j).to_f64())));
        } else {
            row32
                .iter_mut()
                .enumerate()
                .for_each(|(j, v)| *v = narrow(value(j)));
            post.apply_row(&mut row32);
            out.extend(row32.iter().map(|&v| widen::<O>(v)));
        }
    }
    out
}

/// Classifier labels and f32 scores `[n_rows, n_classes]`.
pub fn classify<T: Value>(
    scores: &Scores<T>,
    base: &[f64],
    post: PostTransform,
    binary_case: bool,
    all_positive: bool,
) -> (Vec<Label>, Vec<f32>) {
    let nc = scores.n_targets();
    let base: Vec<T> = base.iter().map(|&b| T::from_f64(b)).collect();
    let mut labels = Vec::with_capacity(scores.n_rows());
    let mut out = vec![0f32; scores.n_rows() * nc];
    let mut s = vec![(T::default(), false); nc];
    for r in 0..scores.n_rows() {
        s.iter_mut()
            .zip(scores.row(r).iter().zip(scores.hit(r)))
            .for_each(|(p, (&v, &h))| *p = (v, h));
        let z = &mut out[r * nc..(r + 1) * nc];
        labels.push(match nc {
            0 => Label::Class(0),
            1 => one_class(s[0].0, &base, post, z),
            2 => two_classes(&mut s, &base, post, binary_case, all_positive, z),
            _ => many_classes(&mut s, &base, post, z),
        });
    }
    (labels, out)
}

/// More than two classes: base values added (and marking the class scored), first best wins.
fn many_classes<T: Value>(
    s: &mut [(T, bool)],
    base: &[T],
    post: PostTransform,
    z: &mut [f32],
) -> Label {
    for (p, &b) in s.iter_mut().zip(base) {
        *p = if p.1 { (p.0 + b, true) } else { (b, true) };
    }
    let mut best: Option<(usize, T)> = None;
    for (k, &(v, hit)) in s.iter().enumerate() {
        if hit && best.is_none_or(|(_, m)| v > m) {
            best = Some((k, v));
        }
    }
    write_scores(s, post, z);
    Label::Class(best.map_or(0, |(k, _)| k))
}

/// Two classes, with onnxruntime's single-score binary case.
fn two_classes<T: Value>(
    s: &mut [(T, bool)],
    base: &[T],
    post: PostTransform,
    binary_case: bool,
    all_positive: bool,
    z: &mut [f32],
) -> Label {
    // `write`: onnxruntime's `add_second_class`, how a single score becomes two.
    let mut write = None;
    let mut single = false;
    match *base {
        [b0, b1] => {
            if s[1].1 {
                // base_values[0] is ignored; the score is rebuilt from class 0's sum.
                s[1].0 = b1 + s[0].0;
                s[0].0 = -s[1].0;
            } else {
                s[1].0 += b1;
                s[0].0 += b0;
            }
        }
        [b0] => {
            s[0].0 += b0;
            single = !s[1].1;
        }
        [] => {
            write = Some(Expand::Mixed);
            single = !s[1].1;
        }
        _ => {}
    }
    let positive = match (single, s[1].1, s[0].1) {
        (false, true, _) => s[1].0,
        (_, _, true) => s[0].0,
        _ => T::default(),
    };
    let label = if binary_case {
        let (win, w) = if all_positive {
            (positive > T::from_f64(0.5), Expand::Complement)
        } else {
            (positive > T::default(), Expand::Mixed)
        };
        write = Some(w);
        Label::Class(usize::from(win))
    } else {
        Label::Literal(i64::from(positive > T::default()))
    };
    if !single {
        write_scores(s, post, z);
        return label;
    }
    let v = if s[0].1 { s[0].0 } else { T::default() };
    match (post, write) {
        (PostTransform::Probit, _) => z[0] = probit(narrow(v)),
        (_, Some(Expand::Complement)) => {
            z[0] = narrow(T::from_f64(1.0) + -v);
            z[1] = narrow(v);
        }
        (PostTransform::Logistic, Some(Expand::Mixed)) => {
            z[0] = logistic(narrow(-v));
            z[1] = logistic(narrow(v));
        }
        (_, Some(Expand::Mixed)) => {
            z[0] = narrow(-v);
            z[1] = narrow(v);
        }
        (_, None) => z[0] = narrow(v),
    }
    label
}

/// One class (onnxruntime's one-output classifier path).
fn one_class<T: Value>(sum: T, base: &[T], post: PostTransform, z: &mut [f32]) -> Label {
    let s = match *base {
        [b0] => sum + b0,
        [_, b1] => sum + b1,
        _ => sum,
    };
    z[0] = if base.len() == 2 {
        // Scores [-s, s], transformed together; the output has room for the first only.
        let mut row = [narrow(-s), narrow(s)];
        post.apply_row(&mut row);
        row[0]
    } else if post == PostTransform::Probit {
        probit(narrow(s))
    } else {
        narrow(s)
    };
    Label::Literal(i64::from(s > T::default()))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expand {
    /// `[1 - s, s]` whatever the post transform.
    Complement,
    /// `[-s, s]`, or `[logistic(-s), logistic(s)]` under LOGISTIC.
    Mixed,
}

/// Writes scores of at least two classes: unscored classes are 0, then the post transform (f32).
fn write_scores<T: Value>(s: &[(T, bool)], post: PostTransform, z: &mut [f32]) {
    for (o, &(v, hit)) in z.iter_mut().zip(s) {
        *o = if hit { narrow(v) } else { 0.0 };
    }
    post.apply_row(z);
}

fn narrow<T: Value>(v: T) -> f32 {
    v.to_f64() as f32
}

fn widen<O: Value>(v: f32) -> O {
    O::from_f64(f64::from(v))
}

fn logistic(v: f32) -> f32 {
    let mut row = [v];
    PostTransform::Logistic.apply_row(&mut row);
    row[0]
}

fn probit(v: f32) -> f32 {
    let mut row = [v];
    PostTransform::Probit.apply_row(&mut row);
    row[0]
}

/// The label tensor `[n_rows]`: class labels by index, literal labels as themselves (or, for
/// string labels, as an index clamped to the label list, as onnxruntime maps them).
pub fn label_tensor(labels: &ClassLabels, picked: &[Label]) -> TractResult<Tensor> {
    let index = |l: &Label, n: usize| match *l {
        Label::Class(k) => k.min(n.saturating_sub(1)),
        Label::Literal(v) => (v.max(0) as usize).min(n.saturating_sub(1)),
    };
    Ok(match labels {
        ClassLabels::Ints(v) => {
            let out: Vec<i64> = picked
                .iter()
                .map(|l| match *l {
                    Label::Literal(x) => x,
                    Label::Class(_) => v.get(index(l, v.len())).copied().unwrap_or_default(),
                })
                .collect();
            tensor1(&out)
        }
        ClassLabels::Strings(v) => {
            let out: Vec<String> = picked
                .iter()
                .map(|l| v.get(index(l, v.len())).cloned().unwrap_or_default())
                .collect();
            tensor1(&out)
        }
    })
}
