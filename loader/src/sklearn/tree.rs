//! Decision trees (`DecisionTree*`, `ExtraTree*`) and the pieces every sklearn tree ensemble
//! shares: reading a Cython `sklearn.tree._tree.Tree` ([`SkTree`]), compiling node tables into
//! the shared evaluator ([`TreeForest`]) and turning aggregated scores into sklearn's outputs
//! ([`TreeClassifier`], [`TreeRegressor`]).
//!
//! Exactness (docs/formats.md §2e): sklearn casts X to float32 and compares `x_f32 <= threshold_f64`.
//! The forest is compiled in `f64` and fed `x as f32 as f64`, which is that comparison
//! bit for bit (and equal to the f32 port with thresholds rounded *down*), while leaf values
//! accumulate in f64 in tree order, as sklearn does. Both node layouts are read by field name:
//! 56-byte (< 1.3, no `missing_go_to_left`, NaN input rejected as sklearn did) and 64-byte.
//! Classifier leaves are normalised per leaf, so count (< 1.4.1) and fraction values agree.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};
use crate::tree::{
    Aggregate, Branch, Cmp, Forest, ForestBuilder, LeafWeight, Split, TreeNode, TreeSpec,
};

use super::linear::{expit, softmax};
use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers the single-tree estimators.
pub fn register(reg: &mut Registry) {
    for path in [
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.ExtraTreeClassifier",
    ] {
        reg.insert(path, compile_classifier);
    }
    for path in [
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._classes.ExtraTreeRegressor",
    ] {
        reg.insert(path, compile_regressor);
    }
}

/// `_TREE_LEAF`: the child index of a leaf.
const TREE_LEAF: i64 = -1;

/// A fitted `sklearn.tree._tree.Tree`, decoded.
pub(super) struct SkTree {
    /// Columns the tree was fitted on (`Tree.__reduce__` arg 0).
    pub n_features: usize,
    /// Classes per output (all 1 for regression).
    pub n_classes: Vec<usize>,
    left: Vec<i64>,
    right: Vec<i64>,
    feature: Vec<i64>,
    threshold: Vec<f64>,
    /// `None` for the 56-byte (< 1.3) layout.
    missing_left: Option<Vec<u8>>,
    /// Training samples that reached each node.
    n_node_samples: Vec<i64>,
    /// `(node_count, n_outputs, max_n_classes)`, row-major.
    values: Vec<f64>,
    max_classes: usize,
}

impl SkTree {
    /// Reads the `tree_` of a fitted `DecisionTree*` / `ExtraTree*`.
    pub fn from_estimator(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        Self::read(obj::attr(inst, "tree_", ctx)?, ctx, "tree_")
    }

    /// Reads a `Tree` object; `at` names it in errors.
    pub fn read(tree: &PyObj, ctx: &Ctx<'_>, at: &str) -> Result<Self, CompileError> {
        let bad = |m: String| ctx.invalid(format!("{at}: {m}"));
        let inst = tree
            .as_instance()
            .filter(|i| i.class.name == "Tree")
            .ok_or_else(|| bad("not a sklearn.tree._tree.Tree".to_owned()))?;
        let n_features = inst
            .args
            .first()
            .and_then(|o| o.as_i64())
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("missing n_features".to_owned()))?;
        let n_classes: Vec<usize> = inst
            .args
            .get(1)
            .and_then(|o| obj::numbers(o))
            .ok_or_else(|| bad("missing n_classes".to_owned()))?
            .into_iter()
            .map(|c| c.max(0.0) as usize)
            .collect();
        let nodes = obj::attr(inst, "nodes", ctx)?
            .as_array()
            .ok_or_else(|| bad("nodes is not an array".to_owned()))?;
        // Forests may reference one tree object many times and each reference is read anew:
        // charge the copies (six per-node vectors, then the engine's nodes) to the load budget.
        let values_len = obj::shape(obj::attr(inst, "values", ctx)?)
            .iter()
            .fold(1usize, |n, d| n.saturating_mul(*d));
        ctx.charge(
            nodes
                .len()
                .saturating_mul(96)
                .saturating_add(values_len.saturating_mul(16)),
            "decision tree nodes",
        )?;
        let arr = |e: crate::pyobj::ArrayError| bad(format!("nodes: {e}"));
        let left = nodes.field_i64("left_child").map_err(arr)?;
        let right = nodes.field_i64("right_child").map_err(arr)?;
        let feature = nodes.field_i64("feature").map_err(arr)?;
        let threshold = nodes.field_f64("threshold").map_err(arr)?;
        let missing_left = nodes.field_u8("missing_go_to_left").ok();
        let n_node_samples = nodes.field_i64("n_node_samples").map_err(arr)?;
        let values_obj = obj::attr(inst, "values", ctx)?;
        let values = obj::numbers(values_obj).ok_or_else(|| bad("values is not numeric".into()))?;
        let shape = obj::shape(values_obj);
        let [n_nodes, n_outputs, max_classes] = shape.as_slice() else {
            return Err(bad(format!("values has shape {shape:?}")));
        };
        if *n_nodes != left.len() || *n_outputs != n_classes.len() || *max_classes == 0 {
            return Err(bad(format!(
                "values shape {shape:?} does not fit {} nodes and {} outputs",
                left.len(),
                n_classes.len()
            )));
        }
        if n_classes.iter().any(|c| c > max_classes) {
            return Err(bad("n_classes exceeds the values' class axis".to_owned()));
        }
        Ok(Self {
            n_features,
            n_classes,
            left,
            right,
            feature,
            threshold,
            missing_left,
            n_node_samples,
            max_classes: *max_classes,
            values,
        })
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.n_classes.len()
    }

    /// Whether the nodes carry `missing_go_to_left` (sklearn >= 1.3).
    pub fn knows_missing(&self) -> bool {
        self.missing_left.is_some()
    }

    /// `value[node, output, class]` (0 when out of range).
    pub fn value(&self, node: usize, output: usize, class: usize) -> f64 {
        let at = (node * self.n_outputs() + output) * self.max_classes + class;
        self.values.get(at).copied().unwrap_or(0.0)
    }

    /// Output 0's class values at `node`, normalised to sum to 1 (all-zero stays zero), as
    /// `DecisionTreeClassifier.predict_proba` does.
    pub fn class_fractions(&self, node: usize) -> Vec<LeafWeight<f64>> {
        let k = self.n_classes.first().copied().unwrap_or(0);
        let raw: Vec<f64> = (0..k).map(|c| self.value(node, 0, c)).collect();
        let sum: f64 = raw.iter().sum();
        let norm = if sum == 0.0 { 1.0 } else { sum };
        raw.into_iter()
            .enumerate()
            .map(|(target, v)| LeafWeight {
                target,
                weight: v / norm,
            })
            .collect()
    }

    /// Every output's regression value at `node`, scaled by `scale` (GB learning rate), written
    /// to targets `first_target..`.
    pub fn regression_values(
        &self,
        node: usize,
        scale: f64,
        first_target: usize,
    ) -> Vec<LeafWeight<f64>> {
        (0..self.n_outputs())
            .map(|o| LeafWeight {
                target: first_target + o,
                weight: scale * self.value(node, o, 0),
            })
            .collect()
    }

    /// `n_node_samples[node]` (0 when out of range).
    pub fn n_node_samples(&self, node: usize) -> i64 {
        self.n_node_samples.get(node).copied().unwrap_or(0)
    }

    /// Edges from the root to each node (children always follow their parent in sklearn's
    /// depth-first node order; anything else is caught by the evaluator's validation).
    pub fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0usize; self.left.len()];
        for i in 0..self.left.len() {
            let d = depth.get(i).copied().unwrap_or(0) + 1;
            for child in [self.left.get(i), self.right.get(i)].into_iter().flatten() {
                if let Some(slot) = usize::try_from(*child).ok().and_then(|c| depth.get_mut(c)) {
                    if *child > i as i64 {
                        *slot = d;
                    }
                }
            }
        }
        depth
    }

    /// Maps each split's feature through `map` (bagging's `estimators_features_`).
    pub fn remap_features(&mut self, map: &[i64]) -> Result<(), String> {
        for (f, &l) in self.feature.iter_mut().zip(&self.left) {
            if l == TREE_LEAF {
                continue;
            }
            let to = usize::try_from(*f)
                .ok()
                .and_then(|i| map.get(i))
                .ok_or_else(|| format!("feature {f} is not in estimators_features_"))?;
            *f = *to;
        }
        Ok(())
    }

    /// The node table for the evaluator, with `leaf(node)` giving each leaf's weights.
    pub fn spec(
        &self,
        mut leaf: impl FnMut(usize) -> Vec<LeafWeight<f64>>,
    ) -> Result<TreeSpec<f64>, String> {
        let index = |v: i64, what: &str, node: usize| {
            usize::try_from(v).map_err(|_| format!("node {node} has {what} {v}"))
        };
        let mut nodes = Vec::with_capacity(self.left.len());
        let rows = self
            .left
            .iter()
            .zip(&self.right)
            .zip(&self.feature)
            .zip(&self.threshold);
        for (i, (((&l, &r), &f), &t)) in rows.enumerate() {
            if l == TREE_LEAF {
                nodes.push(TreeNode::Leaf(leaf(i)));
                continue;
            }
            let missing_left = self
                .missing_left
                .as_ref()
                .and_then(|m| m.get(i))
                .is_some_and(|&m| m != 0);
            nodes.push(TreeNode::Branch(Branch {
                feature: index(f, "feature", i)?,
                split: Split::Compare(Cmp::Leq, t),
                missing_goes_true: missing_left,
                if_true: index(l, "left child", i)?,
                if_false: index(r, "right child", i)?,
            }));
        }
        if self.threshold.len() != self.left.len() || self.feature.len() != self.left.len() {
            return Err("node fields differ in length".to_owned());
        }
        Ok(TreeSpec::new(nodes))
    }
}

/// How the input matrix reaches the comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inputs {
    /// sklearn `Tree`: cast to float32; infinities are rejected, NaN only when allowed.
    Float32 {
        /// The trees route NaN (`missing_go_to_left` exists).
        nan: bool,
    },
    /// HistGradientBoosting: float64 as given (NaN and infinities allowed).
    Float64,
}

/// A compiled ensemble plus the input conventions of its sklearn family.
pub(super) struct TreeForest {
    forest: Forest<f64>,
    n_features: usize,
    inputs: Inputs,
}

impl TreeForest {
    /// Compiles `specs` (validated by the evaluator: errors name the tree and node).
    pub fn build(
        n_features: usize,
        n_targets: usize,
        specs: Vec<TreeSpec<f64>>,
        inputs: Inputs,
        ctx: &Ctx<'_>,
    ) -> Result<Self, CompileError> {
        let mut builder = ForestBuilder::new(n_features, n_targets);
        for spec in specs {
            builder.push(spec);
        }
        let forest = builder.build().map_err(|e| ctx.invalid(e.to_string()))?;
        Ok(Self {
            forest,
            n_features,
            inputs,
        })
    }

    /// [`TreeForest::build`] for tests, panicking on invalid trees.
    #[cfg(test)]
    pub fn build_unchecked(
        n_features: usize,
        n_targets: usize,
        specs: Vec<TreeSpec<f64>>,
        inputs: Inputs,
    ) -> Self {
        let mut builder = ForestBuilder::new(n_features, n_targets);
        for spec in specs {
            builder.push(spec);
        }
        Self {
            forest: builder.build().expect("valid test trees"),
            n_features,
            inputs,
        }
    }

    /// Threads a batch of `rows` rows is split over.
    #[cfg(test)]
    pub fn threads_for(&self, rows: usize) -> usize {
        self.forest.split_rows(rows).0
    }

    /// Number of outputs per row.
    pub fn n_targets(&self) -> usize {
        self.forest.n_targets()
    }

    /// Aggregated leaf values, `(rows, n_targets)`.
    pub fn scores(&self, x: Matrix, aggregate: Aggregate) -> Result<Matrix, PredictError> {
        let (rows, nt) = (x.rows(), self.n_targets());
        let values = self.run(Data::Matrix(x), aggregate, nt, |scores, out: &mut [f64]| {
            out.copy_from_slice(scores)
        })?;
        Matrix::new(rows, nt, values)
    }

    /// Scores `x` and turns each row's scores (`n_targets` values) into `width` outputs with
    /// `finish`, piece by piece: each piece's rows are gathered row-major, checked and cast as
    /// the family reads them ([`Inputs`]), walked, and finished into their own slice of the
    /// result. Large batches split their rows across the tree threads ([`Forest::split_rows`]),
    /// so every thread does all of this for its rows; the result does not depend on the split.
    pub fn run<O: Copy + Default + Send>(
        &self,
        x: Data,
        aggregate: Aggregate,
        width: usize,
        finish: impl Fn(&[f64], &mut [O]) + Sync,
    ) -> Result<Vec<O>, PredictError> {
        let rows = x.rows();
        let dense;
        let source = match &x {
            Data::Table(t) => Source::Columns(t.numeric_columns()?),
            Data::Matrix(m) => Source::Matrix(m.data()),
            Data::Sparse(s) => {
                dense = s.to_dense()?;
                Source::Matrix(dense.data())
            }
        };
        let cols = x.cols();
        if cols != self.n_features {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![rows, cols],
                expected: vec![-1, self.n_features as i64],
            });
        }
        source.check(rows, cols)?;
        let nt = self.n_targets();
        let mut out = vec![O::default(); rows * width];
        let (threads, chunk) = self.forest.split_rows(rows);
        let mut errors: Vec<Option<PredictError>> = vec![None; threads];
        let parts: Vec<_> = out
            .chunks_mut((chunk * width).max(1))
            .zip(&mut errors)
            .enumerate()
            .map(|(i, (out, error))| (i * chunk, out, error))
            .collect();
        crate::tree::run_parts(parts, |(start, out, error)| {
            let piece = PIECE_ROWS.min(chunk);
            let mut x = Vec::with_capacity(piece * cols);
            let mut scores = vec![0.0; piece * nt];
            for (p, out) in out.chunks_mut(piece * width).enumerate() {
                let first = start + p * piece;
                let n = out.len() / width;
                source.gather(first..first + n, cols, &mut x);
                let scores = &mut scores[..n * nt];
                let done = self.cast(&mut x).and_then(|()| {
                    self.forest
                        .aggregate_into(&x, n, cols, aggregate, scores)
                        .map_err(|e| PredictError::Runtime(e.to_string()))
                });
                if let Err(e) = done {
                    *error = Some(e);
                    return;
                }
                finish(scores, out);
            }
        });
        // The first failing part holds the first failing row, as a serial pass would report.
        match errors.into_iter().flatten().next() {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Checks and casts gathered rows in place as the family reads them: sklearn `Tree`s cast
    /// to float32 and reject what float32 cannot hold (and NaN when the trees do not route it).
    fn cast(&self, data: &mut [f64]) -> Result<(), PredictError> {
        let Inputs::Float32 { nan } = self.inputs else {
            return Ok(());
        };
        // Chunk by chunk (in L1): a branch-free check, then the cast; both vectorise.
        let rejected = |v: f64| {
            let f = v as f32;
            f.is_infinite() | (f.is_nan() & !nan)
        };
        for chunk in data.chunks_mut(1024) {
            if chunk.iter().fold(false, |bad, &v| bad | rejected(v)) {
                let v = chunk
                    .iter()
                    .copied()
                    .find(|&v| rejected(v))
                    .unwrap_or_default();
                return Err(PredictError::InvalidValue {
                    name: "X".to_owned(),
                    message: format!("contains {v}, which this tree model cannot take as float32"),
                });
            }
            for v in chunk {
                *v = f64::from(*v as f32);
            }
        }
        Ok(())
    }
}

/// Rows a thread gathers, casts and walks at a time (a piece stays in L2: 512 rows of 30
/// features are 120 KiB).
const PIECE_ROWS: usize = 512;

/// Where the rows a forest reads come from: a row-major matrix or the request's columns.
enum Source<'a> {
    Matrix(&'a [f64]),
    Columns(Vec<&'a [f64]>),
}

impl Source<'_> {
    /// Fails unless the source holds `rows` rows of `cols` values.
    fn check(&self, rows: usize, cols: usize) -> Result<(), PredictError> {
        match self {
            Self::Matrix(data) if Some(data.len()) != rows.checked_mul(cols) => {
                Err(PredictError::Runtime(format!(
                    "{} values are not {rows} rows of {cols}",
                    data.len()
                )))
            }
            Self::Matrix(_) => Ok(()),
            Self::Columns(columns) => match columns.iter().position(|c| c.len() != rows) {
                Some(c) => Err(PredictError::Runtime(format!(
                    "column {c} has {} rows, expected {rows}",
                    columns[c].len()
                ))),
                None => Ok(()),
            },
        }
    }

    /// Rows `range` (checked in range by [`Source::check`]), row-major, into `x`.
    fn gather(&self, range: std::ops::Range<usize>, cols: usize, x: &mut Vec<f64>) {
        x.clear();
        match self {
            Self::Matrix(data) => {
                x.extend_from_slice(&data[range.start * cols..range.end * cols]);
            }
            Self::Columns(columns) => {
                x.resize(range.len() * cols, 0.0);
                for (c, column) in columns.iter().enumerate() {
                    for (row, &v) in x.chunks_exact_mut(cols).zip(&column[range.clone()]) {
                        row[c] = v;
                    }
                }
            }
        }
    }
}

/// What turns a classifier's aggregated scores into probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProbaLink {
    /// The scores are already probabilities (averaged normalised leaves).
    Identity,
    /// One raw score: `p = expit(r)`, `[1-p, p]`.
    Sigmoid,
    /// One raw score, exponential loss: `p = expit(2r)`.
    HalfSigmoid,
    /// One raw score per class: softmax.
    Softmax,
}

/// Turns `x` into the matrix the forest reads (HGB categorical handling, `_preprocessor`).
pub(super) type Front = Box<dyn Fn(Data) -> Result<Matrix, PredictError> + Send + Sync>;

/// A tree-ensemble classifier: scores, then probabilities, then `classes_[argmax]`.
pub(super) struct TreeClassifier {
    pub forest: TreeForest,
    pub aggregate: Aggregate,
    pub link: ProbaLink,
    pub classes: Labels,
    pub front: Option<Front>,
}

impl TreeClassifier {
    /// Scores `x` and finishes every row's probabilities (`k` per row) with `finish`, which
    /// writes `width` outputs per row.
    fn run_proba<O: Copy + Default + Send>(
        &self,
        x: Data,
        width: usize,
        finish: impl Fn(&[f64], &mut [O]) + Sync,
    ) -> Result<Vec<O>, PredictError> {
        let x = match &self.front {
            Some(front) => Data::Matrix(front(x)?),
            None => x,
        };
        let (k, nt) = (self.classes.len(), self.forest.n_targets());
        let fits = match self.link {
            ProbaLink::Identity | ProbaLink::Softmax => nt == k,
            ProbaLink::Sigmoid | ProbaLink::HalfSigmoid => k == 2,
        };
        if !fits {
            return Err(PredictError::Runtime(format!(
                "{nt} scores per row do not give {k} class probabilities"
            )));
        }
        if self.link == ProbaLink::Identity {
            // The scores are the probabilities already.
            return self.forest.run(x, self.aggregate, width, finish);
        }
        self.forest.run(x, self.aggregate, width, |scores, out| {
            let mut p = vec![0.0; scores.len() / nt.max(1) * k];
            self.link_rows(scores, &mut p);
            finish(&p, out);
        })
    }

    /// Probabilities (`k` per row) of raw scores (`n_targets` per row), row by row.
    fn link_rows(&self, scores: &[f64], out: &mut [f64]) {
        let (k, nt) = (self.classes.len(), self.forest.n_targets());
        for (row, out) in scores
            .chunks_exact(nt.max(1))
            .zip(out.chunks_exact_mut(k.max(1)))
        {
            match self.link {
                ProbaLink::Identity => out.copy_from_slice(row),
                ProbaLink::Sigmoid | ProbaLink::HalfSigmoid => {
                    let r = row.first().copied().unwrap_or(0.0);
                    let r = if self.link == ProbaLink::HalfSigmoid {
                        2.0 * r
                    } else {
                        r
                    };
                    let p = expit(r);
                    out.copy_from_slice(&[1.0 - p, p]);
                }
                ProbaLink::Softmax => out.copy_from_slice(&softmax(row)),
            }
        }
    }
}

impl Estimator for TreeClassifier {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba | Method::PredictLogProba => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, self.classes.len() as i64],
            }),
            Method::PredictJointLogProba | Method::DecisionFunction => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let (rows, k) = (x.rows(), self.classes.len());
        match method {
            Method::Predict => {
                let idx = self.run_proba(x, 1, |p, idx: &mut [usize]| {
                    for (row, i) in p.chunks_exact(k.max(1)).zip(idx) {
                        *i = argmax(row);
                    }
                })?;
                Ok(Output::Labels(self.classes.take(&idx)?))
            }
            Method::PredictProba => {
                let p = self.run_proba(x, k, |p, out: &mut [f64]| out.copy_from_slice(p))?;
                Ok(Output::Matrix(Matrix::new(rows, k, p)?))
            }
            Method::PredictLogProba => {
                let logs = self.run_proba(x, k, |p, out: &mut [f64]| {
                    for (o, &p) in out.iter_mut().zip(p) {
                        *o = p.ln();
                    }
                })?;
                Ok(Output::Matrix(Matrix::new(rows, k, logs)?))
            }
            Method::PredictJointLogProba | Method::DecisionFunction => Err(PredictError::Runtime(
                "tree classifiers have no predict_joint_log_proba".to_owned(),
            )),
        }
    }
}

/// A tree-ensemble regressor: scores, then the inverse link.
pub(super) struct TreeRegressor {
    pub forest: TreeForest,
    pub aggregate: Aggregate,
    /// Apply `exp` (HGB Poisson/Gamma/Tweedie).
    pub exp: bool,
    /// `predict` returns `[N]` (one target).
    pub flat: bool,
    pub front: Option<Front>,
}

impl Estimator for TreeRegressor {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if self.flat {
                vec![-1]
            } else {
                vec![-1, self.forest.n_targets() as i64]
            },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let x = match &self.front {
            Some(front) => Data::Matrix(front(x)?),
            None => x,
        };
        let (rows, nt) = (x.rows(), self.forest.n_targets());
        let values = self
            .forest
            .run(x, self.aggregate, nt, |scores, out: &mut [f64]| {
                out.copy_from_slice(scores);
                if self.exp {
                    out.iter_mut().for_each(|v| *v = v.exp());
                }
            })?;
        Ok(if self.flat {
            Output::Vector(values)
        } else {
            Output::Matrix(Matrix::new(rows, nt, values)?)
        })
    }
}

/// `classes_` of a single-output classifier, checked against the trees' class count.
pub(super) fn single_output_classes(
    inst: &Instance,
    n_classes: &[usize],
    ctx: &Ctx<'_>,
) -> Result<Labels, CompileError> {
    let [k] = n_classes else {
        return Err(ctx.invalid("multi-output classifiers are not supported"));
    };
    let classes = obj::labels(inst, "classes_", ctx)?;
    if classes.len() != *k {
        return Err(ctx.invalid(format!(
            "classes_ has {} labels but the trees have {k} classes",
            classes.len()
        )));
    }
    Ok(classes)
}

/// The input convention of sklearn `Tree`s.
pub(super) fn tree_inputs(trees: &[SkTree]) -> Inputs {
    Inputs::Float32 {
        nan: trees.iter().all(SkTree::knows_missing),
    }
}

fn compile_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let tree = SkTree::from_estimator(inst, ctx)?;
    let classes = single_output_classes(inst, &tree.n_classes, ctx)?;
    let spec = tree
        .spec(|i| tree.class_fractions(i))
        .map_err(|m| ctx.invalid(format!("tree_: {m}")))?;
    let inputs = tree_inputs(std::slice::from_ref(&tree));
    let forest = TreeForest::build(tree.n_features, classes.len(), vec![spec], inputs, ctx)?;
    Ok(Compiled::Estimator(Box::new(TreeClassifier {
        forest,
        aggregate: Aggregate::Sum,
        link: ProbaLink::Identity,
        classes,
        front: None,
    })))
}

fn compile_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let tree = SkTree::from_estimator(inst, ctx)?;
    let n_outputs = tree.n_outputs();
    let spec = tree
        .spec(|i| tree.regression_values(i, 1.0, 0))
        .map_err(|m| ctx.invalid(format!("tree_: {m}")))?;
    let inputs = tree_inputs(std::slice::from_ref(&tree));
    let forest = TreeForest::build(tree.n_features, n_outputs, vec![spec], inputs, ctx)?;
    Ok(Compiled::Estimator(Box::new(TreeRegressor {
        forest,
        aggregate: Aggregate::Sum,
        exp: false,
        flat: n_outputs == 1,
        front: None,
    })))
}

/// Hand-built sklearn object trees for end-to-end tests (no pickle, no Python).
#[cfg(test)]
pub(super) mod fixture {
    use std::sync::Arc;

    use crate::pyobj::{
        ArrayData, ByteOrder, DType, DTypeField, Instance, NdArray, Obj, PyClass, PyObj,
    };

    /// One node: `(left, right, feature, threshold, n_node_samples, missing_go_to_left)`.
    pub type Node = (i64, i64, i64, f64, i64, u8);

    fn simple(kind: char, itemsize: usize) -> DType {
        DType {
            kind,
            itemsize,
            byteorder: ByteOrder::Little,
            fields: Vec::new(),
        }
    }

    fn f64_array(shape: Vec<usize>, values: &[f64]) -> Obj {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Arc::new(PyObj::Array(NdArray {
            dtype: simple('f', 8),
            shape,
            data: ArrayData::Raw(raw),
        }))
    }

    /// An instance with a dict state.
    pub fn instance(module: &str, name: &str, args: Vec<Obj>, attrs: Vec<(&str, Obj)>) -> Obj {
        let state = attrs
            .into_iter()
            .map(|(k, v)| (Arc::new(PyObj::Str(k.to_owned())), v))
            .collect();
        Arc::new(PyObj::Instance(Instance {
            class: PyClass::new(module, name),
            args,
            state: Some(Arc::new(PyObj::Dict(state))),
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }))
    }

    /// A `sklearn.tree._tree.Tree` with one output: the 64-byte layout when `new_layout`, else
    /// the 56-byte one (no `missing_go_to_left`). `values` has `n_classes` values per node.
    pub fn tree(
        n_features: i64,
        n_classes: usize,
        nodes: &[Node],
        values: &[f64],
        new_layout: bool,
    ) -> Obj {
        let names = [
            ("left_child", 'i', 0),
            ("right_child", 'i', 8),
            ("feature", 'i', 16),
            ("threshold", 'f', 24),
            ("impurity", 'f', 32),
            ("n_node_samples", 'i', 40),
            ("weighted_n_node_samples", 'f', 48),
        ];
        let mut fields: Vec<DTypeField> = names
            .iter()
            .map(|&(name, kind, offset)| DTypeField {
                name: name.to_owned(),
                dtype: simple(kind, 8),
                offset,
            })
            .collect();
        let itemsize = if new_layout {
            fields.push(DTypeField {
                name: "missing_go_to_left".to_owned(),
                dtype: simple('u', 1),
                offset: 56,
            });
            64
        } else {
            56
        };
        let mut raw = Vec::new();
        for &(l, r, f, t, n, m) in nodes {
            raw.extend(l.to_le_bytes());
            raw.extend(r.to_le_bytes());
            raw.extend(f.to_le_bytes());
            raw.extend(t.to_le_bytes());
            raw.extend(0f64.to_le_bytes());
            raw.extend(n.to_le_bytes());
            raw.extend((n as f64).to_le_bytes());
            if new_layout {
                raw.push(m);
                raw.extend([0u8; 7]);
            }
        }
        let nodes_arr = Arc::new(PyObj::Array(NdArray {
            dtype: DType {
                kind: 'V',
                itemsize,
                byteorder: ByteOrder::NotApplicable,
                fields,
            },
            shape: vec![nodes.len()],
            data: ArrayData::Raw(raw),
        }));
        let n_classes_arr = Arc::new(PyObj::Array(NdArray {
            dtype: simple('i', 8),
            shape: vec![1],
            data: ArrayData::Raw((n_classes as i64).to_le_bytes().to_vec()),
        }));
        instance(
            "sklearn.tree._tree",
            "Tree",
            vec![
                Arc::new(PyObj::Int(n_features)),
                n_classes_arr,
                Arc::new(PyObj::Int(1)),
            ],
            vec![
                ("nodes", nodes_arr),
                ("values", f64_array(vec![nodes.len(), 1, n_classes], values)),
            ],
        )
    }

    /// `np.array([...])` of int64.
    pub fn i64_array(values: &[i64]) -> Obj {
        Arc::new(PyObj::Array(NdArray {
            dtype: simple('i', 8),
            shape: vec![values.len()],
            data: ArrayData::Raw(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x0 <= t ? 1 : 2` for a threshold `t` that `as f32` rounds *up*.
    fn stump(t: f64) -> TreeForest {
        let spec = TreeSpec::new(vec![
            TreeNode::branch(0, Split::Compare(Cmp::Leq, t), 1, 2),
            TreeNode::leaf(1.0),
            TreeNode::leaf(2.0),
        ]);
        TreeForest::build_unchecked(1, 1, vec![spec], Inputs::Float32 { nan: false })
    }

    #[test]
    fn a_row_on_a_rounded_up_threshold_goes_right() {
        // sklearn stores thresholds as midpoints in f64; 0.1 as f32 is 0.100000001490116...
        let t = 0.1f64;
        let x32 = t as f32;
        assert!(
            f64::from(x32) > t,
            "the test needs a threshold f32 rounds up"
        );
        // Nearest rounding would give `x32 <= x32` and go left; sklearn compares in f64 and
        // goes right, which is `x32 <= largest f32 below t` (the round-down rule).
        let round_down = if f64::from(x32) > t {
            x32.next_down()
        } else {
            x32
        };
        assert!(x32 > round_down);
        let f = stump(t);
        let x = Matrix::new(3, 1, vec![f64::from(x32), 0.1, f64::from(x32.next_down())]).unwrap();
        let s = f.scores(x, Aggregate::Sum).unwrap();
        // The f32 row and the f64 row 0.1 (cast to the same f32) go right; the f32 below goes left.
        assert_eq!(s.data(), &[2.0, 2.0, 1.0]);
    }

    #[test]
    fn decision_tree_classifiers_compile_from_both_node_layouts() {
        use super::super::table::Data;
        use super::super::Registry;
        use std::sync::Arc;
        // x0 <= 0.1 ? [3 counts, 1 count] : [0, 2]; the row 0.1 (as f32, above 0.1) goes right.
        let nodes = [
            (1, 2, 0, 0.1, 6, 1),
            (-1, -1, -2, -2.0, 4, 0),
            (-1, -1, -2, -2.0, 2, 0),
        ];
        let values = [3.0, 3.0, 3.0, 1.0, 0.0, 2.0];
        for new_layout in [false, true] {
            let t = fixture::tree(1, 2, &nodes, &values, new_layout);
            let clf = fixture::instance(
                "sklearn.tree._classes",
                "DecisionTreeClassifier",
                Vec::new(),
                vec![
                    ("tree_", t),
                    ("classes_", fixture::i64_array(&[10, 20])),
                    ("n_outputs_", Arc::new(PyObj::Int(1))),
                ],
            );
            let Compiled::Estimator(est) = Registry::with_builtins().compile(&clf).unwrap() else {
                panic!("expected an estimator");
            };
            // Old trees reject NaN, so only new ones get the third row.
            let rows = if new_layout { 3 } else { 2 };
            let x = Matrix::new(rows, 1, [0.0, 0.1, f64::NAN][..rows].to_vec()).unwrap();
            let p = est
                .run(Method::PredictProba, Data::Matrix(x.clone()))
                .unwrap();
            let Output::Matrix(p) = p else { panic!() };
            assert_eq!(&p.data()[..4], &[0.75, 0.25, 0.0, 1.0]);
            if new_layout {
                // NaN follows missing_go_to_left.
                assert_eq!(&p.data()[4..], &[0.75, 0.25]);
            } else {
                let nan = Matrix::new(1, 1, vec![f64::NAN]).unwrap();
                assert!(est.run(Method::Predict, Data::Matrix(nan)).is_err());
            }
            let labels = est.run(Method::Predict, Data::Matrix(x)).unwrap();
            let want = if new_layout {
                vec![10, 20, 10]
            } else {
                vec![10, 20]
            };
            assert_eq!(labels, Output::Labels(Labels::Int64(want)));
        }
    }

    #[test]
    fn old_trees_reject_nan_and_everyone_rejects_infinity() {
        let f = stump(0.5);
        let nan = Matrix::new(1, 1, vec![f64::NAN]).unwrap();
        assert!(f.scores(nan, Aggregate::Sum).is_err());
        let big = Matrix::new(1, 1, vec![1e300]).unwrap();
        assert!(f.scores(big, Aggregate::Sum).is_err());
    }
}
