//! Reads XGBoost's JSON model schema (the document `Booster.save_model` writes as `.json`, or as
//! UBJSON decoded by [`super::ubjson`]) into a [`Booster`].
//!
//! Layout (xgboost `doc/model.schema`): `learner.{learner_model_param, objective.name,
//! feature_names, gradient_booster}`; a `gbtree` booster holds `model.{trees, tree_info}`, a
//! `dart` booster holds the same under `gbtree` plus `weight_drop`. Scalars of
//! `learner_model_param` are strings (`"5E-1"`, `"[3.3E-1,...]"` in xgboost >= 3).

use serde_json::Value;

use super::error::XgbError;
use super::model::{Booster, Tree};
use super::objective::Objective;
use super::MAX_FEATURES;

/// Reads a decoded model document.
pub(crate) fn read(doc: &Value) -> Result<Booster, XgbError> {
    let learner = get(doc, "learner", "learner")?;
    let param = get(
        learner,
        "learner_model_param",
        "learner.learner_model_param",
    )?;
    let objective_name = get(learner, "objective", "learner.objective")?
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| XgbError::field("learner.objective.name", "missing"))?;
    let objective = Objective::from_name(objective_name)?;
    let base_score = base_score(param.get("base_score"))?;
    let num_feature = count(param, "num_feature", "learner.learner_model_param")?.unwrap_or(0);
    if num_feature > MAX_FEATURES {
        return Err(XgbError::Unsupported(format!(
            "{num_feature} features (at most {MAX_FEATURES} are served)"
        )));
    }
    let num_class = count(param, "num_class", "learner.learner_model_param")?.unwrap_or(0);
    let num_target = count(param, "num_target", "learner.learner_model_param")?.unwrap_or(1);
    if num_target > 1 {
        return Err(XgbError::Unsupported(format!(
            "{num_target} targets (multi-output models)"
        )));
    }
    let num_groups = num_class.max(1);
    let feature_names = match learner.get("feature_names") {
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| n.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| XgbError::field("learner.feature_names", "not a list of strings"))?,
        _ => Vec::new(),
    };

    let gb = get(learner, "gradient_booster", "learner.gradient_booster")?;
    let gb_name = gb.get("name").and_then(Value::as_str).unwrap_or("gbtree");
    if gb_name == "gblinear" {
        let model = get(gb, "model", "learner.gradient_booster.model")?;
        let weights = floats(
            get(model, "weights", "learner.gradient_booster.model.weights")?,
            "learner.gradient_booster.model.weights",
        )?;
        let expected = num_feature
            .checked_add(1)
            .and_then(|n| n.checked_mul(num_groups));
        if Some(weights.len()) != expected {
            return Err(XgbError::field(
                "learner.gradient_booster.model.weights",
                format!(
                    "{} weights for {num_feature} features and {num_groups} groups",
                    weights.len()
                ),
            ));
        }
        return Ok(Booster {
            objective,
            base_score,
            base_score_is_margin: false,
            num_feature,
            num_groups,
            feature_names,
            trees: Vec::new(),
            tree_info: Vec::new(),
            weight_drop: None,
            linear: Some(weights),
        });
    }
    let (model, weight_drop) = match gb_name {
        "gbtree" => (get(gb, "model", "learner.gradient_booster.model")?, None),
        "dart" => {
            let inner = get(gb, "gbtree", "learner.gradient_booster.gbtree")?;
            let weights = floats(
                get(gb, "weight_drop", "learner.gradient_booster.weight_drop")?,
                "learner.gradient_booster.weight_drop",
            )?;
            (
                get(inner, "model", "learner.gradient_booster.gbtree.model")?,
                Some(weights),
            )
        }
        other => {
            return Err(XgbError::Unsupported(format!(
                "booster {other:?} (gbtree, dart and gblinear are served)"
            )))
        }
    };
    // xgboost >= 3.1 stores the categories of pandas/arrow categorical columns and re-codes
    // inputs through them; requests would carry raw categories, so refuse rather than mispredict.
    let has_encodings = model
        .get("cats")
        .and_then(|c| c.get("enc"))
        .and_then(Value::as_array)
        .is_some_and(|enc| !enc.is_empty());
    if has_encodings {
        return Err(XgbError::Unsupported(
            "categorical features with stored category encodings (model.cats)".into(),
        ));
    }
    let trees = match model.get("trees") {
        Some(Value::Array(trees)) => trees,
        _ => return Err(XgbError::field("trees", "missing or not a list")),
    };
    let trees = trees
        .iter()
        .enumerate()
        .map(|(t, tree)| read_tree(t, tree))
        .collect::<Result<Vec<_>, _>>()?;
    let tree_info = ints(get(model, "tree_info", "tree_info")?, "tree_info")?
        .into_iter()
        .map(|g| usize::try_from(g).map_err(|_| XgbError::field("tree_info", "negative group")))
        .collect::<Result<_, _>>()?;
    Ok(Booster {
        objective,
        base_score,
        base_score_is_margin: false,
        num_feature,
        num_groups,
        feature_names,
        trees,
        tree_info,
        weight_drop,
        linear: None,
    })
}

fn read_tree(t: usize, tree: &Value) -> Result<Tree, XgbError> {
    let at = |name: &str| format!("trees[{t}].{name}");
    let array = |name: &str| get(tree, name, &at(name));
    if let Some(param) = tree.get("tree_param") {
        let leaf_vector = count(param, "size_leaf_vector", &at("tree_param"))?.unwrap_or(0);
        if leaf_vector > 1 {
            return Err(XgbError::Unsupported(format!(
                "tree {t} has vector leaves (multi_strategy=multi_output_tree)"
            )));
        }
    }
    let to_i32 = |name: &str| -> Result<Vec<i32>, XgbError> {
        ints(array(name)?, &at(name))?
            .into_iter()
            .map(|v| i32::try_from(v).map_err(|_| XgbError::field(at(name), "value out of range")))
            .collect()
    };
    let left = to_i32("left_children")?;
    let right = to_i32("right_children")?;
    let split_index = ints(array("split_indices")?, &at("split_indices"))?
        .into_iter()
        .map(|v| {
            u32::try_from(v).map_err(|_| XgbError::field(at("split_indices"), "value out of range"))
        })
        .collect::<Result<_, _>>()?;
    let split_condition = floats(array("split_conditions")?, &at("split_conditions"))?;
    let default_left = match array("default_left")? {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Bool(b) => Some(*b),
                other => other.as_i64().map(|i| i != 0),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| XgbError::field(at("default_left"), "not a list of flags"))?,
        _ => return Err(XgbError::field(at("default_left"), "not a list")),
    };
    let split_type = match tree.get("split_type") {
        Some(v) => ints(v, &at("split_type"))?,
        None => Vec::new(),
    };
    let categories = if split_type.contains(&1) {
        read_categories(tree, &at)?
    } else {
        Vec::new()
    };
    Ok(Tree {
        left,
        right,
        split_index,
        split_condition,
        default_left,
        categories,
    })
}

/// `categories_nodes[k]`'s categories are `categories[segments[k]..][..sizes[k]]`.
fn read_categories(
    tree: &Value,
    at: &dyn Fn(&str) -> String,
) -> Result<Vec<(usize, Vec<u32>)>, XgbError> {
    let list =
        |name: &str| -> Result<Vec<i64>, XgbError> { ints(get(tree, name, &at(name))?, &at(name)) };
    let cats = list("categories")?;
    let nodes = list("categories_nodes")?;
    let segments = list("categories_segments")?;
    let sizes = list("categories_sizes")?;
    if nodes.len() != segments.len() || nodes.len() != sizes.len() {
        return Err(XgbError::field(
            at("categories_nodes"),
            "categories_nodes, categories_segments and categories_sizes differ in length",
        ));
    }
    nodes
        .iter()
        .zip(segments.iter().zip(&sizes))
        .map(|(&node, (&start, &size))| {
            let range = usize::try_from(start)
                .ok()
                .zip(usize::try_from(size).ok())
                .and_then(|(s, n)| cats.get(s..s.checked_add(n)?));
            let set = range
                .ok_or_else(|| XgbError::field(at("categories_segments"), "segment out of range"))?
                .iter()
                .map(|&c| {
                    u32::try_from(c)
                        .map_err(|_| XgbError::field(at("categories"), "negative category"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let node = usize::try_from(node)
                .map_err(|_| XgbError::field(at("categories_nodes"), "negative node"))?;
            Ok((node, set))
        })
        .collect()
}

fn get<'a>(value: &'a Value, key: &str, at: &str) -> Result<&'a Value, XgbError> {
    value.get(key).ok_or_else(|| XgbError::field(at, "missing"))
}

/// A non-negative count stored as a string (`"30"`) or a number; `None` when absent.
fn count(obj: &Value, key: &str, at: &str) -> Result<Option<usize>, XgbError> {
    let Some(v) = obj.get(key) else {
        return Ok(None);
    };
    let parsed = match v {
        Value::String(s) => s.trim().parse::<f64>().ok(),
        other => other.as_f64(),
    };
    match parsed {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 1e12 => Ok(Some(n as usize)),
        _ => Err(XgbError::field(
            format!("{at}.{key}"),
            format!("not a count: {v}"),
        )),
    }
}

/// `base_score`: `"5E-1"`, `"[3.3333334E-1]"`, `"[1E0,2E0]"` or a number.
fn base_score(value: Option<&Value>) -> Result<Vec<f32>, XgbError> {
    let field = "learner.learner_model_param.base_score";
    let bad = |v: &str| XgbError::field(field, format!("not a number or vector: {v:?}"));
    match value {
        None => Ok(vec![0.5]),
        Some(Value::Number(n)) => Ok(vec![n.as_f64().unwrap_or(f64::NAN) as f32]),
        Some(Value::String(s)) => {
            let inner = s.trim();
            let inner = inner
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(inner);
            let values = inner
                .split(',')
                .map(|p| p.trim().parse::<f32>().map_err(|_| bad(s)))
                .collect::<Result<Vec<_>, _>>()?;
            if values.is_empty() {
                return Err(bad(s));
            }
            Ok(values)
        }
        Some(other) => Err(bad(&other.to_string())),
    }
}

fn ints(value: &Value, at: &str) -> Result<Vec<i64>, XgbError> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| XgbError::field(at, "not a list of integers")),
        _ => Err(XgbError::field(at, "not a list")),
    }
}

/// Floats; `null` (how UBJSON NaN/inf decode) reads as NaN.
fn floats(value: &Value, at: &str) -> Result<Vec<f32>, XgbError> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Null => Some(f32::NAN),
                other => other.as_f64().map(|f| f as f32),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| XgbError::field(at, "not a list of numbers")),
        _ => Err(XgbError::field(at, "not a list")),
    }
}
