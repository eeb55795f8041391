//! The legacy binary model format that xgboost <= 2.0 wrote for `.xgb`/`.bin` files (removed in
//! xgboost 2.1), read from its C++ structs (`src/learner.cc` `LearnerModelParamLegacy`,
//! `src/gbm/gbtree_model.h` `GBTreeModelParam`, `include/xgboost/tree_model.h` `TreeParam`,
//! `RegTree::Node`, `RTreeNodeStat`), all little-endian:
//!
//! ```text
//! ["binf"] LearnerModelParamLegacy (136 B: base_score f32, num_feature u32, num_class i32,
//!          contain_extra_attrs, contain_eval_metrics, major, minor, num_target, boost_from_average,
//!          reserved[25])
//! objective: u64 len + bytes, booster: u64 len + bytes
//! GBTreeModelParam (160 B: num_trees i32, num_parallel_tree, num_feature, pad, num_pbuffer i64,
//!          num_output_group, size_leaf_vector, reserved[32])
//! per tree: TreeParam (148 B: num_roots, num_nodes, num_deleted, max_depth, num_feature,
//!          size_leaf_vector, reserved[31]), num_nodes x Node (20 B: parent i32, cleft i32,
//!          cright i32, sindex u32 with default-left in bit 31, split_cond/leaf_value f32),
//!          num_nodes x RTreeNodeStat (16 B)
//! tree_info: num_trees x i32
//! dart only: weight_drop as u64 count + f32s
//! ```
//!
//! A `gblinear` booster has, after the booster name, `DeprecatedGBLinearModelParam` (136 B:
//! num_feature u32, num_output_group i32, reserved[32]; left zero by xgboost >= 1.0, which keeps
//! both in the learner parameters) and its weights as u64 count + f32s: `(num_feature + 1) x
//! num_groups`, feature-major, the biases last (`src/gbm/gblinear_model.h`).
//! What follows (attributes, eval metrics) is not needed for prediction.

use super::error::XgbError;
use super::model::{Booster, Tree};
use super::objective::Objective;
use super::MAX_FEATURES;

const LEARNER_PARAM: usize = 136;
const GBTREE_PARAM: usize = 160;
const TREE_PARAM: usize = 148;
const NODE: usize = 20;
const NODE_STAT: usize = 16;
const GBLINEAR_PARAM: usize = 136;

/// Reads a legacy binary model.
pub(crate) fn read(bytes: &[u8]) -> Result<Booster, XgbError> {
    let mut r = Reader { bytes, pos: 0 };
    if bytes.starts_with(b"binf") {
        r.pos = 4;
    } else if bytes.starts_with(b"bs64") {
        return Err(XgbError::Unsupported(
            "base64-encoded legacy binary model".into(),
        ));
    }
    let learner = r.take(LEARNER_PARAM, "learner parameters")?;
    let base_score = f32_at(learner, 0);
    let num_feature = u32_at(learner, 4) as usize;
    if num_feature > MAX_FEATURES {
        return Err(XgbError::Unsupported(format!(
            "{num_feature} features (at most {MAX_FEATURES} are served)"
        )));
    }
    let num_class = i32_at(learner, 8);
    let major_version = u32_at(learner, 20);
    let num_target = u32_at(learner, 28);
    if num_target > 1 {
        return Err(XgbError::Unsupported(format!(
            "{num_target} targets (multi-output models)"
        )));
    }
    let objective_name = r.string("objective name")?;
    let booster_name = r.string("booster name")?;
    let objective = Objective::from_name(&objective_name)?;
    let num_groups = usize::try_from(num_class).unwrap_or(0).max(1);
    let base_score_is_margin = major_version < 1 && !objective.is_multiclass();
    if booster_name == "gblinear" {
        r.take(GBLINEAR_PARAM, "gblinear parameters")?;
        let weights = r.floats("gblinear weights")?;
        let expected = num_feature
            .checked_add(1)
            .and_then(|n| n.checked_mul(num_groups));
        if Some(weights.len()) != expected {
            return Err(r.error(format!(
                "{} gblinear weights for {num_feature} features and {num_groups} groups",
                weights.len()
            )));
        }
        return Ok(Booster {
            objective,
            base_score: vec![base_score],
            base_score_is_margin,
            num_feature,
            num_groups,
            feature_names: Vec::new(),
            trees: Vec::new(),
            tree_info: Vec::new(),
            weight_drop: None,
            linear: Some(weights),
        });
    }
    if booster_name != "gbtree" && booster_name != "dart" {
        return Err(XgbError::Unsupported(format!(
            "booster {booster_name:?} (gbtree, dart and gblinear are served)"
        )));
    }
    let gbtree = r.take(GBTREE_PARAM, "gbtree parameters")?;
    let num_trees =
        usize::try_from(i32_at(gbtree, 0)).map_err(|_| r.error("negative number of trees"))?;
    // Each tree takes at least its parameter block and one node.
    if num_trees.saturating_mul(TREE_PARAM + NODE + NODE_STAT) > r.left() {
        return Err(r.error(format!(
            "truncated: {num_trees} trees do not fit in the file"
        )));
    }
    let mut trees = Vec::with_capacity(num_trees);
    for t in 0..num_trees {
        trees.push(r.tree(t)?);
    }
    let info = r.take(num_trees * 4, "tree_info")?;
    let tree_info = info
        .chunks_exact(4)
        .map(|c| usize::try_from(i32_at(c, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| r.error("negative output group in tree_info"))?;
    let weight_drop = if booster_name == "dart" && num_trees > 0 {
        Some(r.floats("weight_drop")?)
    } else {
        None
    };
    Ok(Booster {
        objective,
        base_score: vec![base_score],
        // Before xgboost 1.0 the file held the margin (and no version).
        base_score_is_margin,
        num_feature,
        num_groups,
        feature_names: Vec::new(),
        trees,
        tree_info,
        weight_drop,
        linear: None,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, message: impl Into<String>) -> XgbError {
        XgbError::Binary {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], XgbError> {
        let bytes: &'a [u8] = self.bytes;
        match self
            .pos
            .checked_add(n)
            .and_then(|end| bytes.get(self.pos..end))
        {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(self.error(format!(
                "truncated: {what} needs {n} bytes, {} left",
                self.left()
            ))),
        }
    }

    fn u64(&mut self, what: &str) -> Result<u64, XgbError> {
        let raw = self.take(8, what)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(raw);
        Ok(u64::from_le_bytes(b))
    }

    /// A `std::vector<float>` as dmlc writes it: u64 count, then the values.
    fn floats(&mut self, what: &str) -> Result<Vec<f32>, XgbError> {
        let n = self.u64(what)?;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(4) <= self.left())
            .ok_or_else(|| {
                self.error(format!(
                    "truncated: {what} length {n} does not fit in the file"
                ))
            })?;
        let raw = self.take(n * 4, what)?;
        Ok(raw.chunks_exact(4).map(|c| f32_at(c, 0)).collect())
    }

    fn string(&mut self, what: &str) -> Result<String, XgbError> {
        let n = self.u64(what)?;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.left())
            .ok_or_else(|| {
                self.error(format!(
                    "truncated: {what} length {n} does not fit in the file"
                ))
            })?;
        let raw = self.take(n, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.error(format!("{what} is not UTF-8")))
    }

    fn tree(&mut self, t: usize) -> Result<Tree, XgbError> {
        let param = self.take(TREE_PARAM, "tree parameters")?;
        let num_nodes = usize::try_from(i32_at(param, 4))
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| self.error(format!("tree {t} has no nodes")))?;
        let size_leaf_vector = i32_at(param, 20);
        if size_leaf_vector > 1 {
            return Err(XgbError::Unsupported(format!("tree {t} has vector leaves")));
        }
        let node_bytes = num_nodes
            .checked_mul(NODE)
            .filter(|&n| n <= self.left())
            .ok_or_else(|| {
                self.error(format!(
                    "truncated: tree {t}: {num_nodes} nodes do not fit in the file"
                ))
            })?;
        let raw = self.take(node_bytes, "tree nodes")?;
        let mut tree = Tree::default();
        for node in raw.chunks_exact(NODE) {
            let sindex = u32_at(node, 12);
            tree.left.push(i32_at(node, 4));
            tree.right.push(i32_at(node, 8));
            tree.split_index.push(sindex & 0x7fff_ffff);
            tree.default_left.push(sindex >> 31 != 0);
            tree.split_condition.push(f32_at(node, 16));
        }
        self.take(num_nodes * NODE_STAT, "tree node statistics")?;
        Ok(tree)
    }
}

fn word(bytes: &[u8], at: usize) -> [u8; 4] {
    let mut w = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        w.copy_from_slice(src);
    }
    w
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(word(bytes, at))
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(word(bytes, at))
}

fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(word(bytes, at))
}
