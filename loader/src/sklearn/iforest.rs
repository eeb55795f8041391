//! `IsolationForest.predict` (`sklearn/ensemble/_iforest.py`): each tree's leaf contributes
//! `path_length + c(n_node_samples) - 1`, where the path length counts the nodes from the root
//! to the leaf and `c(n)` is the average path length of an unsuccessful BST search
//! (`_average_path_length`). With `depth` the sum over trees,
//! `score_samples = -2^(-depth / (n_trees · c(max_samples_)))`,
//! `decision_function = score_samples - offset_` and `predict` is `-1` where it is negative,
//! else `1`. Trees fitted on a feature subset read their columns through
//! `estimators_features_`.

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;
use crate::tree::{Aggregate, LeafWeight};

use super::forest::member_trees;
use super::obj;
use super::output::{Labels, Output};
use super::table::Data;
use super::tree::{tree_inputs, TreeForest};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers IsolationForest.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.ensemble._iforest.IsolationForest", compile);
}

/// Euler–Mascheroni constant (`np.euler_gamma`).
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// `_average_path_length` for one sample count.
fn average_path_length(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else if n == 2.0 {
        1.0
    } else {
        2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
    }
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let mut trees = member_trees(inst, ctx)?;
    let n_features = obj::opt_f64(inst, "n_features_in_")
        .filter(|n| *n >= 0.0)
        .map(|n| n as usize)
        .or_else(|| trees.first().map(|t| t.n_features))
        .unwrap_or(0);
    let max_features = obj::opt_f64(inst, "_max_features").map(|m| m as usize);
    let subsample = max_features.is_some_and(|m| m != n_features);
    if subsample {
        let sets = obj::items(obj::attr(inst, "estimators_features_", ctx)?)
            .ok_or_else(|| ctx.invalid("estimators_features_ is not a list"))?;
        if sets.len() != trees.len() {
            return Err(ctx.invalid("estimators_features_ does not match estimators_"));
        }
        for (i, (tree, set)) in trees.iter_mut().zip(sets).enumerate() {
            let map: Vec<i64> = obj::numbers(set)
                .ok_or_else(|| ctx.invalid(format!("estimators_features_[{i}] is not numeric")))?
                .into_iter()
                .map(|v| v as i64)
                .collect();
            tree.remap_features(&map)
                .map_err(|m| ctx.invalid(format!("estimators_[{i}]: {m}")))?;
        }
    }
    let mut specs = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        let depths = tree.depths();
        let spec = tree
            .spec(|node| {
                let nodes_on_path = depths.get(node).copied().unwrap_or(0) as f64 + 1.0;
                let c = average_path_length(tree.n_node_samples(node) as f64);
                vec![LeafWeight {
                    target: 0,
                    weight: nodes_on_path + c - 1.0,
                }]
            })
            .map_err(|m| ctx.invalid(format!("estimators_[{i}].tree_: {m}")))?;
        specs.push(spec);
    }
    let max_samples =
        obj::opt_f64(inst, "max_samples_").ok_or_else(|| ctx.invalid("missing max_samples_"))?;
    let offset = obj::opt_f64(inst, "offset_").ok_or_else(|| ctx.invalid("missing offset_"))?;
    let denominator = trees.len() as f64 * average_path_length(max_samples);
    let forest = TreeForest::build(n_features, 1, specs, tree_inputs(&trees), ctx)?;
    Ok(Compiled::Estimator(Box::new(IsolationForest {
        forest,
        denominator,
        offset,
    })))
}

struct IsolationForest {
    forest: TreeForest,
    denominator: f64,
    offset: f64,
}

impl IsolationForest {
    /// `score_samples`: the opposite of the anomaly score.
    fn score_samples(&self, x: Data) -> Result<Vec<f64>, PredictError> {
        let depths = self.forest.scores(x.into_matrix()?, Aggregate::Sum)?;
        Ok(depths
            .into_data()
            .into_iter()
            .map(|d| {
                let ratio = if self.denominator != 0.0 {
                    d / self.denominator
                } else {
                    1.0
                };
                -(2f64.powf(-ratio))
            })
            .collect())
    }
}

impl Estimator for IsolationForest {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Int64,
            shape: vec![-1],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let labels = self
            .score_samples(x)?
            .into_iter()
            .map(|s| if s - self.offset < 0.0 { -1 } else { 1 })
            .collect();
        Ok(Output::Labels(Labels::Int64(labels)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_outliers_through_feature_subsets() {
        use super::super::tree::fixture;
        use super::super::Registry;
        use crate::pyobj::PyObj;
        use std::sync::Arc;
        // Root (4 samples) on x <= 0.5: a leaf of 1 (isolated early) and a leaf of 3.
        let nodes = [
            (1, 2, 0, 0.5, 4, 0),
            (-1, -1, -2, -2.0, 1, 0),
            (-1, -1, -2, -2.0, 3, 0),
        ];
        let tree = fixture::tree(1, 1, &nodes, &[0.0; 3], true);
        let est = fixture::instance(
            "sklearn.tree._classes",
            "ExtraTreeRegressor",
            Vec::new(),
            vec![("tree_", tree)],
        );
        let forest = fixture::instance(
            "sklearn.ensemble._iforest",
            "IsolationForest",
            Vec::new(),
            vec![
                ("estimators_", Arc::new(PyObj::List(vec![est]))),
                (
                    "estimators_features_",
                    Arc::new(PyObj::List(vec![fixture::i64_array(&[1])])),
                ),
                ("n_features_in_", Arc::new(PyObj::Int(2))),
                ("_max_features", Arc::new(PyObj::Int(1))),
                ("max_samples_", Arc::new(PyObj::Int(4))),
                ("offset_", Arc::new(PyObj::Float(-0.5))),
            ],
        );
        let Compiled::Estimator(model) = Registry::with_builtins().compile(&forest).unwrap() else {
            panic!("expected an estimator");
        };
        // Column 1 is read: row 0 isolates (score -0.688 < -0.5), row 1 does not (-0.4375).
        let x = super::super::table::Matrix::new(2, 2, vec![9.0, 0.0, -9.0, 1.0]).unwrap();
        let got = model.run(Method::Predict, Data::Matrix(x)).unwrap();
        assert_eq!(got, Output::Labels(Labels::Int64(vec![-1, 1])));
        let c3 = average_path_length(3.0);
        let c4 = average_path_length(4.0);
        assert!((-(2f64.powf(-(1.0 + c3) / c4)) + 0.4375).abs() < 1e-3);
    }

    #[test]
    fn average_path_length_follows_sklearns_formula() {
        assert_eq!(average_path_length(1.0), 0.0);
        assert_eq!(average_path_length(2.0), 1.0);
        // 2 (ln 255 + γ) - 2 · 255 / 256
        assert!((average_path_length(256.0) - 10.244_770_920_119_917).abs() < 1e-12);
    }
}
