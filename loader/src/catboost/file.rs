//! Reads a CatBoost binary model (`.cbm`): the `CBM1` magic, the model core's size (`u32`
//! little-endian) and the `TModelCore` flatbuffer, then one serialized part per `ModelPartIds`
//! entry. The only part CatBoost writes for tabular models is `static_provider_v1` (the CTR
//! tables): a count, then per table its size and a `TCtrValueTable` flatbuffer (sizes are
//! `u32`, or `0xFFFFFFFF` followed by a `u64`, as CatBoost's `SaveSize` writes them).
//!
//! Every flatbuffer is checked by the flatbuffers verifier (offsets in bounds, bounded depth
//! and table count) before any field is read, and every index the model holds is checked
//! against what it indexes, so hostile files get errors, never panics; memory stays bounded by
//! the file size (vectors are views into it until copied) and by the checks on tree depth.

use std::collections::HashMap;

use flatbuffers::{Vector, VerifierOptions};

use super::error::CbError;
use super::generated::ncat_boost_fbs as fb;
use super::model::{
    BinSplit, CatFeature, Ctr, CtrBase, CtrData, CtrFeature, CtrKind, CtrTable, FloatFeature,
    Model, OneHotFeature, StepNode, Trees,
};

/// The magic every `.cbm` file starts with.
pub(crate) const MAGIC: &[u8; 4] = b"CBM1";
/// The model part holding CTR tables.
const STATIC_PROVIDER: &str = "static_provider_v1";
/// Deepest oblivious tree CatBoost trains (`depth` is at most 16).
const MAX_DEPTH: usize = 16;
/// Most input columns a model may declare.
const MAX_COLUMNS: usize = 1 << 20;

fn verifier_options() -> VerifierOptions {
    VerifierOptions {
        max_depth: 32,
        max_tables: 10_000_000,
        max_apparent_size: 1 << 31,
        ignore_missing_null_terminator: false,
    }
}

/// A cursor over the bytes after the model core.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CbError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(CbError::Format(format!(
                "truncated: {what} needs {n} bytes at offset {}, the file has {}",
                self.at,
                self.bytes.len()
            )));
        };
        let out = self.bytes.get(self.at..end).unwrap_or_default();
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, CbError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// CatBoost's `LoadSize`: a `u32`, or `u32::MAX` then a `u64`.
    fn size(&mut self, what: &str) -> Result<usize, CbError> {
        let small = self.u32(what)?;
        if small != u32::MAX {
            return Ok(small as usize);
        }
        let b = self.take(8, what)?;
        let mut raw = [0u8; 8];
        raw.copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(raw))
            .map_err(|_| CbError::Format(format!("{what}: size too large")))
    }
}

/// Reads and validates a `.cbm` file.
pub(crate) fn read(bytes: &[u8]) -> Result<Model, CbError> {
    if !bytes.starts_with(MAGIC) {
        return Err(CbError::Format(
            "no CBM1 magic (is this a CatBoost binary model? json, onnx, cpp and coreml \
             exports are not read)"
                .into(),
        ));
    }
    let mut reader = Reader { bytes, at: 4 };
    let core_size = reader.u32("model core size")? as usize;
    let core = reader.take(core_size, "model core")?;
    let root =
        flatbuffers::root_with_opts::<fb::TModelCore>(&verifier_options(), core).map_err(|e| {
            CbError::Flatbuffer {
                what: "model core".into(),
                message: e.to_string(),
            }
        })?;
    let trees = root
        .ModelTrees()
        .ok_or_else(|| CbError::field("model core", "no ModelTrees"))?;
    // Before the model parts: a text model's part (`text_process_v2`) is refused by naming the
    // text feature.
    refuse_text_and_embeddings(&trees)?;
    let mut tables = HashMap::new();
    for part in root.ModelPartIds().iter().flat_map(|v| v.iter()) {
        if part != STATIC_PROVIDER {
            return Err(CbError::Unsupported(format!("model part {part:?}")));
        }
        read_ctr_tables(&mut reader, &mut tables)?;
    }
    let info = root
        .InfoMap()
        .iter()
        .flat_map(|v| v.iter())
        .map(|kv| (kv.Key().to_owned(), kv.Value().to_owned()))
        .collect();
    build(&trees, tables, info)
}

/// Text and embedding features (and the features estimated from them) are not implemented.
fn refuse_text_and_embeddings(trees: &fb::TModelTrees<'_>) -> Result<(), CbError> {
    if let Some(t) = trees
        .TextFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .find(|t| t.UsedInModel())
    {
        return Err(CbError::Unsupported(format!(
            "text feature {:?} (text features are not implemented)",
            t.FeatureId().unwrap_or_default()
        )));
    }
    if let Some(e) = trees
        .EmbeddingFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .find(|e| e.UsedInModel())
    {
        return Err(CbError::Unsupported(format!(
            "embedding feature {:?} (embedding features are not implemented)",
            e.FeatureId().unwrap_or_default()
        )));
    }
    if trees.EstimatedFeatures().is_some_and(|v| !v.is_empty()) {
        return Err(CbError::Unsupported(
            "estimated (text or embedding) features are not implemented".into(),
        ));
    }
    Ok(())
}

fn read_ctr_tables(
    reader: &mut Reader<'_>,
    tables: &mut HashMap<CtrBase, CtrTable>,
) -> Result<(), CbError> {
    let count = reader.size("CTR table count")?;
    for i in 0..count {
        let what = format!("CTR table {i}");
        let size = reader.size(&what)?;
        let buf = reader.take(size, &what)?;
        let table = flatbuffers::root_with_opts::<fb::TCtrValueTable>(&verifier_options(), buf)
            .map_err(|e| CbError::Flatbuffer {
                what: what.clone(),
                message: e.to_string(),
            })?;
        let base = table
            .ModelCtrBase()
            .ok_or_else(|| CbError::field(&what, "no ModelCtrBase"))?;
        let base = ctr_base(&base, &what)?;
        let parsed = ctr_table(&table, &base, &what)?;
        tables.insert(base, parsed);
    }
    Ok(())
}

fn ctr_table(
    table: &fb::TCtrValueTable<'_>,
    base: &CtrBase,
    at: &str,
) -> Result<CtrTable, CbError> {
    // TBucket { ui64 Hash; ui32 IndexValue; } packed: 12 bytes; Hash u64::MAX marks empty.
    let raw = table.IndexHashRaw().unwrap_or_default();
    if !raw.len().is_multiple_of(12) {
        return Err(CbError::field(
            at,
            "IndexHashRaw is not a whole number of buckets",
        ));
    }
    let mut index = HashMap::with_capacity(raw.len() / 12);
    for bucket in raw.chunks_exact(12) {
        let mut h = [0u8; 8];
        h.copy_from_slice(&bucket[..8]);
        let hash = u64::from_le_bytes(h);
        let value = u32::from_le_bytes([bucket[8], bucket[9], bucket[10], bucket[11]]);
        if hash != u64::MAX {
            index.insert(hash, value);
        }
    }
    let blob = table.CTRBlob().unwrap_or_default();
    if !blob.len().is_multiple_of(4) {
        return Err(CbError::field(
            at,
            "CTRBlob is not a whole number of 4-byte values",
        ));
    }
    let ints: Vec<i32> = blob
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let target_classes = usize::try_from(table.TargetClassesCount()).unwrap_or(0);
    let (data, per_bucket) = match base.kind {
        CtrKind::BinarizedTargetMeanValue | CtrKind::FloatTargetMeanValue => {
            let pairs = ints
                .chunks_exact(2)
                .map(|p| (f32::from_bits(p[0] as u32), p[1]))
                .collect::<Vec<_>>();
            (CtrData::Mean(pairs), 1)
        }
        CtrKind::Counter | CtrKind::FeatureFreq => (CtrData::Ints(ints), 1),
        CtrKind::Borders | CtrKind::Buckets => {
            if target_classes == 0 {
                return Err(CbError::field(at, "TargetClassesCount must be positive"));
            }
            (CtrData::Ints(ints), target_classes)
        }
    };
    let buckets = match &data {
        CtrData::Mean(v) => v.len(),
        CtrData::Ints(v) => v.len() / per_bucket,
    };
    if let Some(bad) = index.values().find(|&&b| b as usize >= buckets) {
        return Err(CbError::field(
            at,
            format!("bucket {bad} out of range ({buckets} buckets)"),
        ));
    }
    if matches!(base.kind, CtrKind::Borders | CtrKind::Buckets) {
        let cap = target_classes.min(64);
        if target_classes != cap {
            return Err(CbError::field(at, "too many target classes"));
        }
    }
    Ok(CtrTable {
        index,
        data,
        counter_denominator: table.CounterDenominator(),
        target_classes,
    })
}

fn index(value: i32, len: usize, at: &str, what: &str) -> Result<usize, CbError> {
    usize::try_from(value)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| CbError::field(at, format!("{what} {value} out of range (0..{len})")))
}

fn ctr_kind(kind: fb::ECtrType, at: &str) -> Result<CtrKind, CbError> {
    Ok(match kind {
        fb::ECtrType::Borders => CtrKind::Borders,
        fb::ECtrType::Buckets => CtrKind::Buckets,
        fb::ECtrType::BinarizedTargetMeanValue => CtrKind::BinarizedTargetMeanValue,
        fb::ECtrType::FloatTargetMeanValue => CtrKind::FloatTargetMeanValue,
        fb::ECtrType::Counter => CtrKind::Counter,
        fb::ECtrType::FeatureFreq => CtrKind::FeatureFreq,
        other => return Err(CbError::field(at, format!("unknown CTR type {}", other.0))),
    })
}

fn ctr_base(base: &fb::TModelCtrBase<'_>, at: &str) -> Result<CtrBase, CbError> {
    let combo = base.FeatureCombination();
    let to_index = |v: i32| usize::try_from(v).map_err(|_| CbError::field(at, "negative index"));
    let cats = combo
        .as_ref()
        .and_then(|c| c.CatFeatures())
        .iter()
        .flat_map(|v| v.iter())
        .map(to_index)
        .collect::<Result<Vec<_>, _>>()?;
    let floats = combo
        .as_ref()
        .and_then(|c| c.FloatSplits())
        .iter()
        .flat_map(|v| v.iter())
        .map(|s| Ok((to_index(s.Index())?, s.Border().to_bits())))
        .collect::<Result<Vec<_>, CbError>>()?;
    let one_hots = combo
        .as_ref()
        .and_then(|c| c.OneHotSplits())
        .iter()
        .flat_map(|v| v.iter())
        .map(|s| Ok((to_index(s.Index())?, s.Value())))
        .collect::<Result<Vec<_>, CbError>>()?;
    Ok(CtrBase {
        cats,
        floats,
        one_hots,
        kind: ctr_kind(base.CtrType(), at)?,
    })
}

fn floats(v: Option<Vector<'_, f32>>) -> Vec<f32> {
    v.map(|v| v.iter().collect()).unwrap_or_default()
}

fn ints(v: Option<Vector<'_, i32>>) -> Vec<i32> {
    v.map(|v| v.iter().collect()).unwrap_or_default()
}

/// Registers input column `flat` named `name`; returns an error on a clash or a huge index.
fn claim(
    names: &mut Vec<Option<String>>,
    flat: i32,
    name: Option<&str>,
    at: &str,
) -> Result<usize, CbError> {
    let flat = index(flat, MAX_COLUMNS, at, "FlatIndex")?;
    if names.len() <= flat {
        names.resize(flat + 1, None);
    }
    match names.get_mut(flat) {
        Some(slot @ None) => {
            *slot = Some(name.unwrap_or_default().to_owned());
            Ok(flat)
        }
        _ => Err(CbError::field(at, format!("column {flat} declared twice"))),
    }
}

fn build(
    trees: &fb::TModelTrees<'_>,
    tables: HashMap<CtrBase, CtrTable>,
    info: HashMap<String, String>,
) -> Result<Model, CbError> {
    let dim = usize::try_from(trees.ApproxDimension())
        .ok()
        .filter(|&d| (1..=4096).contains(&d))
        .ok_or_else(|| {
            CbError::field(
                "ModelTrees",
                format!("ApproxDimension {} out of range", trees.ApproxDimension()),
            )
        })?;
    let mut names: Vec<Option<String>> = Vec::new();
    let mut cat_flags = Vec::new();

    let mut float_features = Vec::new();
    for (i, f) in trees
        .FloatFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .enumerate()
    {
        let at = format!("FloatFeatures[{i}]");
        if f.Index() != i as i32 {
            return Err(CbError::field(
                &at,
                format!("Index {} is not {i}", f.Index()),
            ));
        }
        let flat = claim(&mut names, f.FlatIndex(), f.FeatureId(), &at)?;
        let borders = floats(f.Borders());
        if borders
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return Err(CbError::field(&at, "borders are not ascending"));
        }
        float_features.push(FloatFeature {
            flat,
            name: f.FeatureId().unwrap_or_default().to_owned(),
            borders,
            nan_as_true: f.NanValueTreatment() == fb::ENanValueTreatment::AsTrue,
        });
    }
    let mut cat_features = Vec::new();
    for (i, c) in trees
        .CatFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .enumerate()
    {
        let at = format!("CatFeatures[{i}]");
        if c.Index() != i as i32 {
            return Err(CbError::field(
                &at,
                format!("Index {} is not {i}", c.Index()),
            ));
        }
        let flat = claim(&mut names, c.FlatIndex(), c.FeatureId(), &at)?;
        cat_flags.push(flat);
        cat_features.push(CatFeature {
            flat,
            name: c.FeatureId().unwrap_or_default().to_owned(),
        });
    }
    for (i, t) in trees
        .TextFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .enumerate()
    {
        if t.UsedInModel() {
            return Err(CbError::Unsupported(format!(
                "text feature {:?} (text features are not implemented)",
                t.FeatureId().unwrap_or_default()
            )));
        }
        claim(
            &mut names,
            t.FlatIndex(),
            t.FeatureId(),
            &format!("TextFeatures[{i}]"),
        )?;
    }
    for (i, e) in trees
        .EmbeddingFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .enumerate()
    {
        if e.UsedInModel() {
            return Err(CbError::Unsupported(format!(
                "embedding feature {:?} (embedding features are not implemented)",
                e.FeatureId().unwrap_or_default()
            )));
        }
        claim(
            &mut names,
            e.FlatIndex(),
            e.FeatureId(),
            &format!("EmbeddingFeatures[{i}]"),
        )?;
    }
    if trees.EstimatedFeatures().is_some_and(|v| !v.is_empty()) {
        return Err(CbError::Unsupported(
            "estimated (text or embedding) features are not implemented".into(),
        ));
    }
    if let Some(gap) = names.iter().position(Option::is_none) {
        return Err(CbError::field(
            "features",
            format!("no feature has FlatIndex {gap}"),
        ));
    }
    let n_flat = names.len();
    let mut cat_columns = vec![false; n_flat];
    for flat in cat_flags {
        if let Some(c) = cat_columns.get_mut(flat) {
            *c = true;
        }
    }

    let n_cats = cat_features.len();
    let mut one_hots = Vec::new();
    for (i, o) in trees
        .OneHotFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .enumerate()
    {
        let at = format!("OneHotFeatures[{i}]");
        one_hots.push(OneHotFeature {
            cat: index(o.Index(), n_cats, &at, "categorical feature")?,
            values: ints(o.Values()),
        });
    }
    let mut ctrs = Vec::new();
    for (i, c) in trees
        .CtrFeatures()
        .iter()
        .flat_map(|v| v.iter())
        .enumerate()
    {
        let at = format!("CtrFeatures[{i}]");
        let ctr = c.Ctr().ok_or_else(|| CbError::field(&at, "no Ctr"))?;
        let base = ctr
            .Base()
            .ok_or_else(|| CbError::field(&at, "no Ctr.Base"))?;
        let base = ctr_base(&base, &at)?;
        check_base(&base, &float_features, n_cats, &at)?;
        let Some(table) = tables.get(&base) else {
            return Err(CbError::field(
                &at,
                "its CTR table is missing from the file",
            ));
        };
        let target_border = ctr.TargetBorderIdx();
        if matches!(base.kind, CtrKind::Borders | CtrKind::Buckets)
            && usize::try_from(target_border)
                .ok()
                .is_none_or(|t| t >= table.target_classes)
        {
            return Err(CbError::field(
                &at,
                format!("TargetBorderIdx {target_border} out of range"),
            ));
        }
        ctrs.push(CtrFeature {
            ctr: Ctr {
                base,
                target_border,
                prior_num: ctr.PriorNum(),
                prior_denom: ctr.PriorDenom(),
                shift: ctr.Shift(),
                scale: ctr.Scale(),
            },
            borders: floats(c.Borders()),
        });
    }

    let mut splits = Vec::new();
    for (feature, f) in float_features.iter().enumerate() {
        splits.extend(
            f.borders
                .iter()
                .map(|&border| BinSplit::Float { feature, border }),
        );
    }
    for o in &one_hots {
        splits.extend(
            o.values
                .iter()
                .map(|&value| BinSplit::OneHot { cat: o.cat, value }),
        );
    }
    for (ctr, c) in ctrs.iter().enumerate() {
        splits.extend(
            c.borders
                .iter()
                .map(|&border| BinSplit::Ctr { ctr, border }),
        );
    }

    let tree_splits = ints(trees.TreeSplits());
    let check_split = |s: i32, at: &str| index(s, splits.len(), at, "split");
    let tree_sizes = ints(trees.TreeSizes());
    let leaf_values: Vec<f64> = trees
        .LeafValues()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let step_nodes = trees.NonSymmetricStepNodes();
    let trees_out = if step_nodes.is_none_or(|v| v.is_empty()) {
        let mut at_split = 0usize;
        let mut n_leaves = 0usize;
        let mut per_tree = Vec::with_capacity(tree_sizes.len());
        for (t, &size) in tree_sizes.iter().enumerate() {
            let at = format!("tree {t}");
            let depth = index(size, MAX_DEPTH + 1, &at, "depth")?;
            let own = tree_splits
                .get(at_split..at_split + depth)
                .ok_or_else(|| CbError::field(&at, "TreeSplits too short"))?;
            per_tree.push(
                own.iter()
                    .map(|&s| check_split(s, &at))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            at_split += depth;
            n_leaves += dim << depth;
        }
        if n_leaves != leaf_values.len() {
            return Err(CbError::field(
                "LeafValues",
                format!("{} values for trees needing {n_leaves}", leaf_values.len()),
            ));
        }
        Trees::Oblivious {
            splits: per_tree,
            leaf_values,
        }
    } else {
        let steps: Vec<(u16, u16)> = step_nodes
            .iter()
            .flat_map(|v| v.iter())
            .map(|s| (s.LeftSubtreeDiff(), s.RightSubtreeDiff()))
            .collect();
        let leaf_ids: Vec<u32> = trees
            .NonSymmetricNodeIdToLeafId()
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        if steps.len() != tree_splits.len() || leaf_ids.len() != steps.len() {
            return Err(CbError::field(
                "NonSymmetricStepNodes",
                "node arrays have different lengths",
            ));
        }
        let offsets = ints(trees.TreeStartOffsets());
        let mut out = Vec::with_capacity(tree_sizes.len());
        for (t, &size) in tree_sizes.iter().enumerate() {
            let at = format!("tree {t}");
            let start = index(
                offsets.get(t).copied().unwrap_or(-1),
                steps.len(),
                &at,
                "start",
            )?;
            let size = usize::try_from(size).unwrap_or(0);
            let end = start
                .checked_add(size)
                .filter(|&e| e <= steps.len() && size > 0)
                .ok_or_else(|| CbError::field(&at, "node range out of bounds"))?;
            let mut nodes = Vec::with_capacity(size);
            for n in start..end {
                let (left_diff, right_diff) = steps[n];
                let leaf = match leaf_ids[n] {
                    u32::MAX => None,
                    l => {
                        let l = l as usize;
                        if l.checked_add(dim).is_none_or(|e| e > leaf_values.len()) {
                            return Err(CbError::field(&at, format!("leaf {l} out of range")));
                        }
                        Some(l)
                    }
                };
                let split = if left_diff == 0 && right_diff == 0 {
                    0
                } else {
                    check_split(tree_splits[n], &at)?
                };
                for diff in [left_diff, right_diff] {
                    if diff == 0 && leaf.is_none() {
                        return Err(CbError::field(&at, format!("node {n} ends in no leaf")));
                    }
                    if n + diff as usize >= end {
                        return Err(CbError::field(
                            &at,
                            format!("node {n} steps outside its tree"),
                        ));
                    }
                }
                nodes.push(StepNode {
                    split,
                    left_diff,
                    right_diff,
                    leaf,
                });
            }
            out.push(nodes);
        }
        Trees::NonSymmetric {
            trees: out,
            leaf_values,
        }
    };

    let multi: Vec<f64> = trees
        .MultiBias()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let bias = if multi.is_empty() {
        vec![trees.Bias(); dim]
    } else if multi.len() == dim {
        multi
    } else {
        return Err(CbError::field(
            "MultiBias",
            format!("{} biases for {dim} outputs", multi.len()),
        ));
    };
    Ok(Model {
        dim,
        n_flat,
        names: names.into_iter().map(Option::unwrap_or_default).collect(),
        cat_columns,
        floats: float_features,
        cats: cat_features,
        one_hots,
        ctrs,
        tables,
        splits,
        trees: trees_out,
        scale: trees.Scale(),
        bias,
        info,
    })
}

fn check_base(
    base: &CtrBase,
    floats: &[FloatFeature],
    n_cats: usize,
    at: &str,
) -> Result<(), CbError> {
    let bad_cat = base
        .cats
        .iter()
        .chain(base.one_hots.iter().map(|(c, _)| c))
        .any(|&c| c >= n_cats);
    let bad_float = base.floats.iter().any(|&(f, _)| f >= floats.len());
    if bad_cat || bad_float {
        return Err(CbError::field(
            at,
            "CTR combination names a feature out of range",
        ));
    }
    Ok(())
}
