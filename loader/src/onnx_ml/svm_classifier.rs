//! `SVMClassifier` (ai.onnx.ml 1) with onnxruntime's semantics
//! (`onnxruntime/core/providers/cpu/ml/svmclassifier.cc`, `ml_common.h`, checked against
//! onnxruntime 1.32):
//!
//! - with support vectors (`vectors_per_class`, libsvm): one-vs-one decision values
//!   `d_ij = sum coef * K(x, sv) + rho_ij` for each class pair `i < j` (accumulated in double),
//!   a vote for `i` when `d_ij > 0` and for `j` otherwise, and the label of the most voted class.
//!   With `prob_a`/`prob_b` the scores are libsvm's Platt-scaled pairwise probabilities coupled
//!   into class probabilities (`multiclass_probability`), `[N, classes]`; without them the
//!   scores are the decision values, `[N, pairs]`, except for two classes: `[N, 2]` holding
//!   `[-d, d]` (NONE), `[1 - logistic(d), logistic(d)]` (LOGISTIC), `[1 - d, d]` (SOFTMAX,
//!   SOFTMAX_ZERO) or `[probit(d), 0]` (PROBIT, whose second slot onnxruntime leaves unwritten);
//! - without support vectors (liblinear): `<x, coef_c> + rho[0]` per class, `[N, classes]`, the
//!   label being the first highest score, except for two classes without probabilities where the
//!   second class wins when its score passes 0.5 (all coefficients non-negative) or 0 (otherwise);
//! - `post_transform` then applies to each row of two or more scores.

use super::batch::{as_f32, batch_dim, is_numeric_input, rows_features};
use super::expansion::{classifier_rules, wire_op};
use super::labels::{first_max, ClassLabels};
use super::post_transform::{logistic, probit, PostTransform};
use super::svm::{check_features, dot, Kernel};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// Registers the `SVMClassifier` builder.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("SVMClassifier", svm_classifier);
}

fn svm_classifier(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = ClassLabels::parse(node, "classlabels_ints")?;
    let classes = labels.len();
    let pairs = classes * (classes - 1) / 2;
    let vectors_per_class: Vec<i64> = node
        .get_attr_opt_vec("vectors_per_class")?
        .unwrap_or_default();
    let support_vectors: Vec<f32> = node
        .get_attr_opt_vec("support_vectors")?
        .unwrap_or_default();
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    let rho: Vec<f32> = node.get_attr_opt_vec("rho")?.unwrap_or_default();
    let prob_a: Vec<f32> = node.get_attr_opt_vec("prob_a")?.unwrap_or_default();
    let prob_b: Vec<f32> = node.get_attr_opt_vec("prob_b")?.unwrap_or_default();
    ensure!(
        !coefficients.is_empty(),
        "SVMClassifier has no coefficients"
    );
    ensure!(!rho.is_empty(), "SVMClassifier has no rho");
    ensure!(
        prob_a.len() == prob_b.len(),
        "SVMClassifier has {} prob_a but {} prob_b",
        prob_a.len(),
        prob_b.len()
    );
    let counts = vectors_per_class
        .iter()
        .map(|&c| {
            usize::try_from(c)
                .map_err(|_| format_err!("SVMClassifier: negative vectors_per_class {c}"))
        })
        .collect::<TractResult<Vec<usize>>>()?;
    let vectors: usize = counts.iter().sum();
    let mode = if vectors > 0 {
        ensure!(
            counts.len() == classes,
            "SVMClassifier has {} vectors_per_class for {classes} classes",
            counts.len()
        );
        ensure!(
            !support_vectors.is_empty() && support_vectors.len().is_multiple_of(vectors),
            "SVMClassifier: {} support vector values do not make {vectors} vectors",
            support_vectors.len()
        );
        ensure!(
            coefficients.len() >= (classes - 1) * vectors,
            "SVMClassifier needs {} coefficients, has {}",
            (classes - 1) * vectors,
            coefficients.len()
        );
        ensure!(
            rho.len() >= pairs,
            "SVMClassifier needs {pairs} rho, has {}",
            rho.len()
        );
        if !prob_a.is_empty() {
            ensure!(
                prob_a.len() >= pairs,
                "SVMClassifier needs {pairs} prob_a, has {}",
                prob_a.len()
            );
        }
        let starts = counts
            .iter()
            .scan(0, |start, &c| {
                let s = *start;
                *start += c;
                Some(s)
            })
            .collect();
        Mode::Svc {
            kernel: Kernel::parse(node)?,
            counts,
            starts,
            vectors,
        }
    } else {
        ensure!(
            coefficients.len().is_multiple_of(classes),
            "SVMClassifier: {} coefficients do not split over {classes} classes",
            coefficients.len()
        );
        Mode::Linear
    };
    let features = match &mode {
        Mode::Svc { vectors, .. } => support_vectors.len() / vectors,
        Mode::Linear => coefficients.len() / classes,
    };
    let op = SvmClassifier {
        weights_all_positive: coefficients.iter().all(|&c| c >= 0.0),
        labels,
        mode,
        features,
        support_vectors,
        coefficients,
        rho,
        prob_a,
        prob_b,
        post_transform: PostTransform::parse(
            node.get_attr_opt::<&str>("post_transform")?
                .unwrap_or("NONE"),
        )?,
    };
    Ok((expand(op), vec![]))
}

/// libsvm (support vectors, one-vs-one) or liblinear (one linear model per class).
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Svc {
        kernel: Kernel,
        counts: Vec<usize>,
        starts: Vec<usize>,
        vectors: usize,
    },
    Linear,
}

/// The operator, both as the inference-time expansion and as the typed op it wires.
#[derive(Debug, Clone, PartialEq)]
struct SvmClassifier {
    labels: ClassLabels,
    mode: Mode,
    features: usize,
    support_vectors: Vec<f32>,
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    prob_a: Vec<f32>,
    prob_b: Vec<f32>,
    post_transform: PostTransform,
    weights_all_positive: bool,
}

impl Eq for SvmClassifier {}

impl SvmClassifier {
    fn classes(&self) -> usize {
        self.labels.len()
    }

    fn pairs(&self) -> usize {
        self.classes() * (self.classes() - 1) / 2
    }

    fn has_proba(&self) -> bool {
        !self.prob_a.is_empty()
    }

    /// Scores per row.
    fn score_columns(&self) -> usize {
        match self.mode {
            Mode::Svc { .. } if !self.has_proba() && self.classes() > 2 => self.pairs(),
            Mode::Svc { .. } if !self.has_proba() => 2,
            _ => self.classes(),
        }
    }

    /// One row: the winning class and the row's final scores.
    fn classify(&self, x: &[f32], scores: &mut [f32]) -> usize {
        let Mode::Svc {
            kernel,
            counts,
            starts,
            vectors,
        } = &self.mode
        else {
            return self.classify_linear(x, scores);
        };
        let classes = self.classes();
        let kernels: Vec<f32> = if self.features == 0 {
            vec![kernel.eval(&[], &[]); *vectors]
        } else {
            self.support_vectors
                .chunks(self.features)
                .map(|sv| kernel.eval(x, sv))
                .collect()
        };
        let mut votes = vec![0usize; classes];
        let mut decisions = Vec::with_capacity(self.pairs());
        for i in 0..classes {
            for j in i + 1..classes {
                // coefficients are [classes - 1, vectors]: class i's vectors against j sit in
                // row j - 1, class j's vectors against i in row i
                let side = |row: usize, class: usize| -> f64 {
                    let range = starts[class]..starts[class] + counts[class];
                    let coef =
                        &self.coefficients[row * vectors + range.start..row * vectors + range.end];
                    coef.iter()
                        .zip(&kernels[range])
                        .map(|(c, k)| (c * k) as f64)
                        .sum()
                };
                let sum = side(j - 1, i) + side(i, j) + self.rho[decisions.len()] as f64;
                votes[if sum > 0.0 { i } else { j }] += 1;
                decisions.push(sum as f32);
            }
        }
        let winner = first_max(&votes);
        if self.has_proba() {
            let p = self.pairwise_probabilities(&decisions);
            multiclass_probability(classes, &p, scores);
            self.transform(scores);
        } else if classes == 2 {
            let d = decisions[0];
            let (a, b) = match self.post_transform {
                PostTransform::None => (-d, d),
                PostTransform::Logistic => (1.0 - logistic(d), logistic(d)),
                PostTransform::Probit => (probit(d), 0.0),
                PostTransform::Softmax | PostTransform::SoftmaxZero => (1.0 - d, d),
            };
            scores[0] = a;
            scores[1] = b;
        } else if classes > 2 {
            scores.copy_from_slice(&decisions);
            self.transform(scores);
        }
        winner
    }

    fn classify_linear(&self, x: &[f32], scores: &mut [f32]) -> usize {
        let rho = self.rho[0];
        if self.features == 0 {
            scores.iter_mut().for_each(|s| *s = rho);
        } else {
            for (s, coef) in scores
                .iter_mut()
                .zip(self.coefficients.chunks(self.features))
            {
                *s = dot(x, coef) + rho;
            }
        }
        let best = first_max(scores);
        let max = scores[best];
        let winner = if self.classes() == 2 && !self.has_proba() {
            let positive = if self.weights_all_positive {
                max >= 0.5
            } else {
                max > 0.0
            };
            if positive {
                1
            } else {
                best
            }
        } else {
            best
        };
        self.transform(scores);
        winner
    }

    /// onnxruntime transforms rows of two or more scores, and a single score only by PROBIT.
    fn transform(&self, scores: &mut [f32]) {
        if scores.len() >= 2 {
            self.post_transform.apply_row(scores);
        } else if self.post_transform == PostTransform::Probit {
            scores.iter_mut().for_each(|s| *s = probit(*s));
        }
    }

    /// libsvm's pairwise probabilities `r[i][j]` from the decision values (Platt scaling).
    fn pairwise_probabilities(&self, decisions: &[f32]) -> Vec<f32> {
        let classes = self.classes();
        let mut r = vec![0f32; classes * classes];
        let mut pair = 0;
        for i in 0..classes {
            for j in i + 1..classes {
                let p = 1.0 - logistic(decisions[pair] * self.prob_a[pair] + self.prob_b[pair]);
                let p = p.clamp(1.0e-7, 1.0 - 1.0e-7);
                r[i * classes + j] = p;
                r[j * classes + i] = 1.0 - p;
                pair += 1;
            }
        }
        r
    }
}

/// libsvm's pairwise coupling (Wu, Lin and Weng 2004, method 2) in f32, as onnxruntime's
/// `multiclass_probability`: `r` is the `k x k` pairwise probability matrix, `p` receives the
/// class probabilities.
fn multiclass_probability(k: usize, r: &[f32], p: &mut [f32]) {
    let mut q = vec![0f32; k * k];
    let mut qp = vec![0f32; k];
    let eps = 0.005 / k as f32;
    for t in 0..k {
        p[t] = 1.0 / k as f32;
        for j in 0..t {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for j in t + 1..k {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    for _ in 0..100 {
        let mut pqp = 0f32;
        for t in 0..k {
            qp[t] = 0.0;
            for j in 0..k {
                qp[t] += q[t * k + j] * p[j];
            }
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().fold(0f32, |m, v| m.max((v - pqp).abs()));
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}

impl Expansion for SvmClassifier {
    fn name(&self) -> StaticName {
        "SVMClassifier".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        classifier_rules(
            s,
            inputs,
            outputs,
            self.labels.datum_type(),
            self.score_columns(),
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        wire_op(self.clone(), prefix, model, inputs)
    }
}

impl Op for SvmClassifier {
    fn name(&self) -> StaticName {
        "SVMClassifier".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SvmClassifier {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (n, f) = rows_features("SVMClassifier", input.shape())?;
        check_features("SVMClassifier", f, self.features)?;
        let x = as_f32("SVMClassifier", &input)?;
        let x = x.try_as_plain_ram()?.as_slice::<f32>()?;
        let width = self.score_columns();
        let mut scores = vec![0f32; n * width];
        let mut winners = Vec::with_capacity(n);
        for (row, out) in scores.chunks_mut(width).enumerate() {
            winners.push(self.classify(&x[row * f..(row + 1) * f], out));
        }
        let labels = self.labels.pick(&winners)?;
        let scores = tensor1(&scores).into_shape(&[n, width])?;
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}

impl TypedOp for SvmClassifier {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(
            is_numeric_input(fact.datum_type),
            "SVMClassifier takes float, double, int64 or int32 inputs, got {:?}",
            fact.datum_type
        );
        let n = batch_dim("SVMClassifier", fact)?;
        if let Ok(f) = fact.shape[fact.rank() - 1].to_usize() {
            check_features("SVMClassifier", f, self.features)?;
        }
        Ok(tvec!(
            self.labels.datum_type().fact([n.clone()]),
            f32::fact([n, self.score_columns().to_dim()])
        ))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::test_model::*;
    use super::multiclass_probability;
    use tract_onnx::pb::AttributeProto;
    use tract_onnx::prelude::*;

    fn svc(extra: Vec<AttributeProto>) -> NodeModel {
        let mut attrs = vec![
            ints("classlabels_ints", &[10, 11]),
            string("kernel_type", "LINEAR"),
            ints("vectors_per_class", &[1, 1]),
            floats("support_vectors", &[1.0, 0.0, 0.0, 1.0]),
            floats("coefficients", &[1.0, -1.0]),
            floats("rho", &[0.5]),
        ];
        attrs.extend(extra);
        NodeModel::new("SVMClassifier", attrs).outputs(2)
    }

    #[test]
    fn binary_decision_votes_and_scores() -> TractResult<()> {
        // d = x0 - x1 + 0.5: positive votes for the first class, scores [-d, d]
        let out = svc(vec![]).run(vec![f32s(&[[1.0, 0.0], [0.0, 2.0]])])?;
        assert_eq!(out[0], tensor1(&[10i64, 11]));
        assert_close(&out[1], &f32s(&[[-1.5, 1.5], [1.5, -1.5]]), 1e-6);
        let out = svc(vec![string("post_transform", "LOGISTIC")]).run(vec![f32s(&[[1.0, 0.0]])])?;
        let p = 1.0 / (1.0 + (-1.5f32).exp());
        assert_close(&out[1], &f32s(&[[1.0 - p, p]]), 1e-6);
        Ok(())
    }

    #[test]
    fn two_class_coupling_is_the_platt_probability() {
        let mut p = [0f32; 2];
        multiclass_probability(2, &[0.0, 0.8, 0.2, 0.0], &mut p);
        assert!(
            (p[0] - 0.8).abs() < 1e-3 && (p[1] - 0.2).abs() < 1e-3,
            "{p:?}"
        );
    }

    #[test]
    fn rejects_inconsistent_attributes() {
        let bad = svc(vec![]);
        assert!(bad.run(vec![f32s(&[[1.0, 0.0, 3.0]])]).is_err());
        let attrs = vec![
            ints("classlabels_ints", &[10, 11, 12]),
            ints("vectors_per_class", &[1, 1]),
            floats("support_vectors", &[1.0, 0.0, 0.0, 1.0]),
            floats("coefficients", &[1.0, -1.0]),
            floats("rho", &[0.5]),
        ];
        let three = NodeModel::new("SVMClassifier", attrs).outputs(2);
        assert!(three.run(vec![f32s(&[[1.0, 0.0]])]).is_err());
    }
}
