//! Parses LightGBM's text model format (`Booster.save_model`, `model_to_string`): a header of
//! `key=value` lines, then `Tree=<i>` blocks, then `end of trees` (feature importances and
//! parameters after it are not needed for prediction). Field meanings follow
//! `src/io/gbdt_model_text.cpp` and `src/io/tree.cpp` (`Tree::Tree(const char*)`).

use std::collections::HashMap;

use super::error::LgbError;
use super::objective::Objective;

/// One tree as the text format stores it (internal nodes `0..num_leaves - 1`, children `< 0`
/// naming leaf `!child`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tree {
    /// Number of leaves.
    pub(crate) num_leaves: usize,
    /// Feature each internal node tests.
    pub(crate) split_feature: Vec<usize>,
    /// Numerical threshold, or the categorical split's index into `cat_boundaries`.
    pub(crate) threshold: Vec<f64>,
    /// Bit 0 categorical, bit 1 default left, bits 2-3 missing type (none, zero, NaN).
    pub(crate) decision_type: Vec<u8>,
    /// Left children.
    pub(crate) left_child: Vec<i32>,
    /// Right children.
    pub(crate) right_child: Vec<i32>,
    /// Leaf outputs (shrinkage already applied).
    pub(crate) leaf_value: Vec<f64>,
    /// Categorical split `k` owns words `cat_threshold[cat_boundaries[k]..cat_boundaries[k+1]]`.
    pub(crate) cat_boundaries: Vec<usize>,
    /// Bitsets of the categories going left, 32 per word.
    pub(crate) cat_threshold: Vec<u32>,
}

/// A LightGBM booster.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Model {
    /// Number of classes (1 for regression and binary).
    pub(crate) num_class: usize,
    /// Trees per boosting iteration (one per class for multiclass).
    pub(crate) num_tree_per_iteration: usize,
    /// Number of input features (`max_feature_idx + 1`).
    pub(crate) num_features: usize,
    /// The objective and its output transform.
    pub(crate) objective: Objective,
    /// Feature names, in model order.
    pub(crate) feature_names: Vec<String>,
    /// Random-forest mode: the prediction averages the iterations instead of summing them.
    pub(crate) average_output: bool,
    /// The trees.
    pub(crate) trees: Vec<Tree>,
}

/// Parses a text model.
pub(crate) fn parse(text: &str) -> Result<Model, LgbError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    match lines.next() {
        Some((_, "tree")) => {}
        _ => {
            return Err(LgbError::Syntax {
                line: 1,
                message: "not a LightGBM text model (expected \"tree\")".into(),
            })
        }
    }
    let mut header: HashMap<&str, &str> = HashMap::new();
    let mut average_output = false;
    let mut trees = Vec::new();
    let mut block: Option<(usize, HashMap<&str, &str>)> = None;
    let mut ended = false;
    for (line, text) in lines.by_ref() {
        if text == "end of trees" {
            ended = true;
            break;
        }
        if text.is_empty() {
            continue;
        }
        if let Some(index) = text.strip_prefix("Tree=") {
            if let Some((start, fields)) = block.take() {
                trees.push(parse_tree(start, trees.len(), &fields)?);
            }
            let index: usize = index.parse().map_err(|_| LgbError::Syntax {
                line,
                message: format!("bad tree index {index:?}"),
            })?;
            if index != trees.len() {
                return Err(LgbError::Syntax {
                    line,
                    message: format!("tree {index} where tree {} was expected", trees.len()),
                });
            }
            block = Some((line, HashMap::new()));
            continue;
        }
        let (key, value) = text.split_once('=').unwrap_or((text, ""));
        match &mut block {
            Some((_, fields)) => {
                fields.insert(key, value);
            }
            None if key == "average_output" => average_output = true,
            None => {
                header.insert(key, value);
            }
        }
    }
    if let Some((start, fields)) = block.take() {
        trees.push(parse_tree(start, trees.len(), &fields)?);
    }
    // pandas category columns are coded through a mapping stored here; requests would carry
    // the raw categories, which this loader does not map (yet), so refuse rather than mispredict.
    for (_, text) in lines {
        if let Some(value) = text.strip_prefix("pandas_categorical:") {
            if !matches!(value.trim(), "" | "null" | "[]") {
                return Err(LgbError::Unsupported(
                    "pandas categorical features (pandas_categorical mapping)".into(),
                ));
            }
        }
    }
    if !ended {
        return Err(LgbError::Syntax {
            line: text.lines().count(),
            message: "truncated: no \"end of trees\" line".into(),
        });
    }
    let count = |key: &str| -> Result<usize, LgbError> {
        header
            .get(key)
            .ok_or_else(|| LgbError::field("header", format!("missing {key}")))?
            .parse()
            .map_err(|_| LgbError::field("header", format!("{key} is not a count")))
    };
    let num_class = count("num_class")?.max(1);
    let num_tree_per_iteration = count("num_tree_per_iteration")?.max(1);
    let max_feature_idx: i64 = header
        .get("max_feature_idx")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| LgbError::field("header", "missing or bad max_feature_idx"))?;
    let num_features = usize::try_from(max_feature_idx.saturating_add(1))
        .ok()
        .filter(|&n| n <= crate::outputs::MAX_FEATURES)
        .ok_or_else(|| {
            LgbError::field("header", format!("bad max_feature_idx {max_feature_idx}"))
        })?;
    let objective = Objective::parse(header.get("objective").copied().unwrap_or("regression"))?;
    let feature_names = header
        .get("feature_names")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Model {
        num_class,
        num_tree_per_iteration,
        num_features,
        objective,
        feature_names,
        average_output,
        trees,
    })
}

fn parse_tree(line: usize, t: usize, fields: &HashMap<&str, &str>) -> Result<Tree, LgbError> {
    let at = format!("Tree={t} (line {line})");
    let get = |key: &str| fields.get(key).copied();
    let num_leaves: usize = get("num_leaves")
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| LgbError::field(&at, "missing or bad num_leaves"))?;
    if get("is_linear").is_some_and(|v| v != "0") {
        return Err(LgbError::Unsupported(format!("{at}: linear trees")));
    }
    let list = |key: &str, n: usize| -> Result<Vec<&str>, LgbError> {
        let items: Vec<&str> = get(key).unwrap_or("").split_whitespace().collect();
        if items.len() != n {
            return Err(LgbError::field(
                &at,
                format!("{key} has {} values, expected {n}", items.len()),
            ));
        }
        Ok(items)
    };
    fn parsed<T: std::str::FromStr>(
        items: Vec<&str>,
        at: &str,
        key: &str,
    ) -> Result<Vec<T>, LgbError> {
        items
            .into_iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| LgbError::field(at, format!("{key}: bad value {s:?}")))
            })
            .collect()
    }
    let n_internal = num_leaves - 1;
    let leaf_value = parsed(list("leaf_value", num_leaves)?, &at, "leaf_value")?;
    if n_internal == 0 {
        return Ok(Tree {
            num_leaves,
            leaf_value,
            ..Tree::default()
        });
    }
    let mut tree = Tree {
        num_leaves,
        split_feature: parsed(list("split_feature", n_internal)?, &at, "split_feature")?,
        threshold: parsed(list("threshold", n_internal)?, &at, "threshold")?,
        decision_type: parsed(list("decision_type", n_internal)?, &at, "decision_type")?,
        left_child: parsed(list("left_child", n_internal)?, &at, "left_child")?,
        right_child: parsed(list("right_child", n_internal)?, &at, "right_child")?,
        leaf_value,
        ..Tree::default()
    };
    let num_cat: usize = get("num_cat").and_then(|v| v.parse().ok()).unwrap_or(0);
    if num_cat > 0 {
        tree.cat_boundaries = parsed(list("cat_boundaries", num_cat + 1)?, &at, "cat_boundaries")?;
        let words = tree.cat_boundaries.last().copied().unwrap_or(0);
        tree.cat_threshold = parsed(list("cat_threshold", words)?, &at, "cat_threshold")?;
    }
    Ok(tree)
}
