//! The owned form of a CatBoost model, read out of its flatbuffers ([`super::file`]): features,
//! the model's binary splits, trees, CTR tables and the metadata prediction needs.

use std::collections::HashMap;

/// A float feature: its input column, its borders (ascending) and how NaN binarizes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FloatFeature {
    /// Position among all features (the input column).
    pub(crate) flat: usize,
    /// The feature name (`FeatureId`), may be empty.
    pub(crate) name: String,
    /// Borders; a split on border `b` holds when `x > b`.
    pub(crate) borders: Vec<f32>,
    /// `NanValueTreatment::AsTrue` (nan_mode Max): NaN exceeds every border; otherwise NaN
    /// exceeds none (Min, and Forbidden where NaN compares false).
    pub(crate) nan_as_true: bool,
}

/// A categorical feature.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CatFeature {
    /// Position among all features (the input column).
    pub(crate) flat: usize,
    /// The feature name (`FeatureId`), may be empty.
    pub(crate) name: String,
}

/// CatBoost's `ECtrType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CtrKind {
    Borders,
    Buckets,
    BinarizedTargetMeanValue,
    FloatTargetMeanValue,
    Counter,
    FeatureFreq,
}

/// What a CTR's table is keyed by: a combination of categorical features, binarized float
/// splits and one-hot splits, and the CTR type (`TModelCtrBase`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CtrBase {
    /// Categorical feature indices (among categorical features), hashed in this order.
    pub(crate) cats: Vec<usize>,
    /// `(float feature index, border bits)`: `x > border` hashed as 0/1, after the cats.
    pub(crate) floats: Vec<(usize, u32)>,
    /// `(categorical feature index, value hash)`: `hash == value` hashed as 0/1, last.
    pub(crate) one_hots: Vec<(usize, i32)>,
    /// The CTR type.
    pub(crate) kind: CtrKind,
}

/// One CTR as the model uses it (`TModelCtr`): a table plus prior, shift and scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ctr {
    pub(crate) base: CtrBase,
    pub(crate) target_border: i32,
    pub(crate) prior_num: f32,
    pub(crate) prior_denom: f32,
    pub(crate) shift: f32,
    pub(crate) scale: f32,
}

impl Ctr {
    /// `TModelCtr::Calc`, in `f32` as CatBoost computes it.
    pub(crate) fn calc(&self, count_in_class: f32, total: f32) -> f32 {
        let ctr = (count_in_class + self.prior_num) / (total + self.prior_denom);
        (ctr + self.shift) * self.scale
    }
}

/// The learned statistics of one CTR base (`TCtrValueTable`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CtrTable {
    /// Combination hash to bucket.
    pub(crate) index: HashMap<u64, u32>,
    /// The bucket data.
    pub(crate) data: CtrData,
    pub(crate) counter_denominator: i32,
    pub(crate) target_classes: usize,
}

/// A table's per-bucket statistics (`CTRBlob`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CtrData {
    /// `TCtrMeanHistory { float Sum; int Count; }` per bucket (target mean CTRs).
    Mean(Vec<(f32, i32)>),
    /// Integers: one per bucket (counters) or `target_classes` per bucket (borders, buckets).
    Ints(Vec<i32>),
}

/// A CTR feature: a CTR and its borders.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CtrFeature {
    pub(crate) ctr: Ctr,
    pub(crate) borders: Vec<f32>,
}

/// A one-hot encoded categorical feature: the value hashes its splits test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OneHotFeature {
    /// Categorical feature index (among categorical features).
    pub(crate) cat: usize,
    pub(crate) values: Vec<i32>,
}

/// A binary split, as trees reference them (`TreeSplits` index into the list of every float
/// border, then every one-hot value, then every CTR border).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BinSplit {
    /// Float feature `feature` (index among float features) `> border`.
    Float { feature: usize, border: f32 },
    /// Categorical feature `cat`'s hash `== value`.
    OneHot { cat: usize, value: i32 },
    /// CTR feature `ctr`'s value `> border`.
    Ctr { ctr: usize, border: f32 },
}

/// A non-symmetric tree node (`TNonSymmetricTreeStepNode` plus its split and leaf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepNode {
    pub(crate) split: usize,
    pub(crate) left_diff: u16,
    pub(crate) right_diff: u16,
    /// Index of the leaf (in units of leaf values, before multiplying by the dimension) this
    /// node ends in when the step taken is 0; `None` for `u32::MAX`.
    pub(crate) leaf: Option<usize>,
}

/// The trees.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Trees {
    /// Symmetric trees: per tree its splits (level 0 first, bit `l` of the leaf index), leaf
    /// values `dim << depth` per tree, leaf-major.
    Oblivious {
        splits: Vec<Vec<usize>>,
        leaf_values: Vec<f64>,
    },
    /// Non-symmetric trees: per tree its nodes (root first), and all leaf values.
    NonSymmetric {
        trees: Vec<Vec<StepNode>>,
        leaf_values: Vec<f64>,
    },
}

/// A read, validated CatBoost model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Model {
    /// Outputs per row (`ApproxDimension`).
    pub(crate) dim: usize,
    /// Number of input columns (all features, used or not).
    pub(crate) n_flat: usize,
    /// Input column names by flat index (empty where the model has none).
    pub(crate) names: Vec<String>,
    /// Flat indices of categorical columns.
    pub(crate) cat_columns: Vec<bool>,
    pub(crate) floats: Vec<FloatFeature>,
    pub(crate) cats: Vec<CatFeature>,
    pub(crate) one_hots: Vec<OneHotFeature>,
    pub(crate) ctrs: Vec<CtrFeature>,
    pub(crate) tables: HashMap<CtrBase, CtrTable>,
    pub(crate) splits: Vec<BinSplit>,
    pub(crate) trees: Trees,
    pub(crate) scale: f64,
    /// One bias per output (a single `Bias` repeated, or `MultiBias`).
    pub(crate) bias: Vec<f64>,
    /// `InfoMap` (`params`, `class_params`, ...).
    pub(crate) info: HashMap<String, String>,
}
