//! What a compiled model runs, described for people (`ironflow inspect`): a one-line summary
//! of the compiled steps and the engine each part runs on. Predictors answer through
//! [`crate::model::Predictor::plan`]; scikit-learn models are described from their object tree
//! ([`sklearn_plan`]), which is what the compilers walked.

use crate::pyobj::{Obj, PyObj};

/// A compiled model's plan: `Pipeline > ColumnTransformer[OneHotEncoder(4 cols),
/// StandardScaler(2 cols)] > GradientBoostingClassifier(100 trees)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The compiled steps on one line.
    pub summary: String,
    /// Each part, in the order data flows through them, with its engine.
    pub parts: Vec<PlanPart>,
}

/// One compiled part of a model and the engine it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPart {
    /// The part (`StandardScaler`, `XGBoost gbtree`, ...).
    pub name: String,
    /// The engine: `trees`, `oblivious trees`, `linear`, `dense`, `kernels`, `tract`,
    /// `transform` (element-wise or small per-row code), ...
    pub engine: String,
}

impl Plan {
    /// A plan of one part.
    pub fn single(summary: impl Into<String>, engine: impl Into<String>) -> Self {
        let summary = summary.into();
        Self {
            parts: vec![PlanPart {
                name: summary.clone(),
                engine: engine.into(),
            }],
            summary,
        }
    }
}

/// The deepest nesting described; deeper parts show as `...`.
const MAX_DEPTH: usize = 16;

/// Describes a scikit-learn object tree (a Pipeline, ColumnTransformer, FeatureUnion, ensemble
/// or single estimator) as the compilers see it.
pub fn sklearn_plan(root: &Obj) -> Plan {
    let mut parts = Vec::new();
    let summary = describe(root, &mut parts, 0);
    Plan { summary, parts }
}

/// Every class in a scikit-learn model's structure (the root, Pipeline steps, ColumnTransformer
/// and FeatureUnion members, meta-estimators' `estimator`s) that has no compiler, with where it
/// sits; empty when the model is not a readable scikit-learn flavor. The compilers stop at the
/// first one; this lists them all for `ironflow inspect`.
pub fn sklearn_unsupported(dir: &std::path::Path) -> Vec<(String, String)> {
    let Some(root) = read_sklearn(dir) else {
        return Vec::new();
    };
    let registry = crate::sklearn::Registry::with_builtins();
    let mut found = Vec::new();
    walk_unsupported(&root, "", &registry, &mut found, 0);
    found
}

/// The object tree of a directory's `sklearn` flavor, read as the flavor reads it.
fn read_sklearn(dir: &std::path::Path) -> Option<Obj> {
    let mlmodel = crate::mlmodel::MlModel::read_dir(dir).ok()?;
    let block = mlmodel.flavors.get("sklearn")?;
    let file = block.get("pickled_model")?.as_str()?;
    let bytes = std::fs::read(dir.join(file)).ok()?;
    match block.get("serialization_format").and_then(|f| f.as_str()) {
        Some("skops") => crate::skops::read_skops(&bytes).ok(),
        _ => crate::pickle::read_pickle(&bytes).ok(),
    }
}

fn walk_unsupported(
    obj: &Obj,
    at: &str,
    registry: &crate::sklearn::Registry,
    found: &mut Vec<(String, String)>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(class) = obj.class_path() else {
        return;
    };
    let children: Vec<(String, Obj)> = match short_name(obj).as_str() {
        "Pipeline" => obj
            .attr("steps")
            .and_then(|s| s.as_list())
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, step)| Some((format!("steps[{i}]"), step.as_list()?.get(1)?.clone())))
            .collect(),
        "ColumnTransformer" | "FeatureUnion" => {
            let key = if class.ends_with("FeatureUnion") {
                "transformer_list"
            } else if obj.attr("transformers_").is_some() {
                "transformers_"
            } else {
                "transformers"
            };
            obj.attr(key)
                .and_then(|s| s.as_list())
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((format!("{key}[{i}]"), t.as_list()?.get(1)?.clone())))
                .collect()
        }
        _ => {
            if !registry.contains(&class) {
                found.push((class, at.to_owned()));
            }
            [
                "estimator",
                "base_estimator",
                "final_estimator_",
                "regressor_",
            ]
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), obj.attr(k)?.clone())))
            .filter(|(_, o)| o.as_instance().is_some())
            .collect()
        }
    };
    let name = short_name(obj);
    for (key, child) in children {
        let here = if at.is_empty() {
            format!("{name}.{key}")
        } else {
            format!("{at}.{key}")
        };
        walk_unsupported(&child, &here, registry, found, depth + 1);
    }
}

/// The short class name of an instance (`LogisticRegression`), else a short rendering.
fn short_name(obj: &Obj) -> String {
    match obj.as_ref() {
        PyObj::Instance(i) => i.class.name.clone(),
        PyObj::Str(s) => s.clone(),
        PyObj::Class(c) => c.name.clone(),
        _ => "?".to_owned(),
    }
}

fn describe(obj: &Obj, parts: &mut Vec<PlanPart>, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "...".to_owned();
    }
    let name = short_name(obj);
    match name.as_str() {
        "Pipeline" => {
            let steps = obj.attr("steps").and_then(|s| s.as_list()).unwrap_or(&[]);
            let inner: Vec<String> = steps
                .iter()
                .filter_map(|step| step.as_list()?.get(1).cloned())
                .map(|est| describe(&est, parts, depth + 1))
                .collect();
            format!("Pipeline > {}", inner.join(" > "))
        }
        "ColumnTransformer" => {
            let list = obj
                .attr("transformers_")
                .or_else(|| obj.attr("transformers"))
                .and_then(|t| t.as_list())
                .unwrap_or(&[]);
            let inner: Vec<String> = list
                .iter()
                .filter_map(|t| {
                    let t = t.as_list()?;
                    let est = t.get(1)?;
                    let cols = t.get(2).map(column_count);
                    let shown = describe(est, parts, depth + 1);
                    Some(match cols {
                        Some(Some(n)) => format!("{shown}({n} cols)"),
                        _ => shown,
                    })
                })
                .collect();
            format!("ColumnTransformer[{}]", inner.join(", "))
        }
        "FeatureUnion" => {
            let list = obj
                .attr("transformer_list")
                .and_then(|t| t.as_list())
                .unwrap_or(&[]);
            let inner: Vec<String> = list
                .iter()
                .filter_map(|t| t.as_list()?.get(1).cloned())
                .map(|est| describe(&est, parts, depth + 1))
                .collect();
            format!("FeatureUnion[{}]", inner.join(", "))
        }
        "drop" | "passthrough" => name,
        _ => {
            let engine = engine_of(&name);
            let shown = match member_count(obj) {
                Some(n) if engine == "trees" => format!("{name}({n} trees)"),
                Some(n) => format!("{name}({n} estimators)"),
                None => name.clone(),
            };
            parts.push(PlanPart {
                name: shown.clone(),
                engine: engine.to_owned(),
            });
            shown
        }
    }
}

/// How many columns a ColumnTransformer entry selects, when it lists them.
fn column_count(cols: &Obj) -> Option<usize> {
    match cols.as_ref() {
        PyObj::List(items) | PyObj::Tuple(items) => Some(items.len()),
        PyObj::Array(a) => Some(a.len()),
        PyObj::Str(_) | PyObj::Int(_) => Some(1),
        _ => None,
    }
}

/// The number of fitted members of an ensemble (`estimators_`, HistGradientBoosting's
/// `_predictors`), if it has any.
fn member_count(obj: &Obj) -> Option<usize> {
    if let Some(n) = obj.attr("n_estimators_").and_then(|n| n.as_i64()) {
        return usize::try_from(n).ok();
    }
    for attr in ["estimators_", "_predictors"] {
        match obj.attr(attr).map(|a| a.as_ref()) {
            Some(PyObj::List(items)) | Some(PyObj::Tuple(items)) => return Some(items.len()),
            Some(PyObj::Array(a)) => {
                return a.shape.first().copied().or(Some(a.len()));
            }
            _ => {}
        }
    }
    None
}

/// The engine family a scikit-learn class runs on in ironflow.
fn engine_of(class: &str) -> &'static str {
    let has = |words: &[&str]| words.iter().any(|w| class.contains(w));
    if has(&[
        "Tree",
        "Forest",
        "Boosting",
        "LGBM",
        "XGB",
        "CatBoost",
        "IsolationForest",
    ]) {
        "trees"
    } else if has(&["MLP", "BernoulliRBM"]) {
        "dense"
    } else if has(&[
        "SVC",
        "SVR",
        "OneClassSVM",
        "Kernel",
        "GaussianProcess",
        "Neighbors",
        "NearestCentroid",
        "Nystroem",
        "RBFSampler",
        "LabelPropagation",
        "LabelSpreading",
    ]) && !class.starts_with("Linear")
    {
        "kernels"
    } else if has(&[
        "Linear",
        "Logistic",
        "Ridge",
        "Lasso",
        "ElasticNet",
        "SGD",
        "Perceptron",
        "PassiveAggressive",
        "Lars",
        "Huber",
        "Quantile",
        "Poisson",
        "Gamma",
        "Tweedie",
        "ARD",
        "Bayesian",
        "TheilSen",
        "RANSAC",
        "OrthogonalMatchingPursuit",
        "PLS",
        "Discriminant",
    ]) {
        "linear"
    } else if has(&["NB"]) {
        "naive bayes"
    } else if has(&["KMeans", "Birch", "AffinityPropagation", "MeanShift"]) {
        "clustering"
    } else {
        "transform"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyobj::{Instance, PyClass};
    use std::sync::Arc;

    fn inst(name: &str, attrs: Vec<(&str, Obj)>) -> Obj {
        Arc::new(PyObj::Instance(Instance {
            class: PyClass::new("sklearn.x", name),
            args: Vec::new(),
            state: Some(Arc::new(PyObj::Dict(
                attrs
                    .into_iter()
                    .map(|(k, v)| (Arc::new(PyObj::Str(k.to_owned())), v))
                    .collect(),
            ))),
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }))
    }

    fn tuple(items: Vec<Obj>) -> Obj {
        Arc::new(PyObj::Tuple(items))
    }

    fn s(text: &str) -> Obj {
        Arc::new(PyObj::Str(text.to_owned()))
    }

    #[test]
    fn a_pipeline_with_a_column_transformer_and_a_forest() {
        let cols = |n: usize| Arc::new(PyObj::List((0..n).map(|i| s(&format!("c{i}"))).collect()));
        let ct = inst(
            "ColumnTransformer",
            vec![(
                "transformers_",
                Arc::new(PyObj::List(vec![
                    tuple(vec![s("cat"), inst("OneHotEncoder", vec![]), cols(4)]),
                    tuple(vec![s("num"), inst("StandardScaler", vec![]), cols(2)]),
                ])),
            )],
        );
        let trees: Vec<Obj> = (0..3)
            .map(|_| inst("DecisionTreeClassifier", vec![]))
            .collect();
        let rf = inst(
            "RandomForestClassifier",
            vec![("estimators_", Arc::new(PyObj::List(trees)))],
        );
        let pipe = inst(
            "Pipeline",
            vec![(
                "steps",
                Arc::new(PyObj::List(vec![
                    tuple(vec![s("prep"), ct]),
                    tuple(vec![s("model"), rf]),
                ])),
            )],
        );
        let plan = sklearn_plan(&pipe);
        assert_eq!(
            plan.summary,
            "Pipeline > ColumnTransformer[OneHotEncoder(4 cols), StandardScaler(2 cols)] > RandomForestClassifier(3 trees)"
        );
        let engines: Vec<&str> = plan.parts.iter().map(|p| p.engine.as_str()).collect();
        assert_eq!(engines, ["transform", "transform", "trees"]);
    }

    #[test]
    fn engines_by_family() {
        assert_eq!(engine_of("LogisticRegression"), "linear");
        assert_eq!(engine_of("LinearSVC"), "linear");
        assert_eq!(engine_of("SVC"), "kernels");
        assert_eq!(engine_of("MLPClassifier"), "dense");
        assert_eq!(engine_of("HistGradientBoostingRegressor"), "trees");
        assert_eq!(engine_of("GaussianNB"), "naive bayes");
    }
}
