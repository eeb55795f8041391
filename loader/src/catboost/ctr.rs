//! CTR features at prediction time (CatBoost's `TStaticCtrProvider::CalcCtrs`): a row's key
//! for a CTR base folds, in order, the hashes of its categorical features, then `x > border`
//! of its float splits, then `hash == value` of its one-hot splits ([`combine`]); the key picks
//! a bucket of the base's table, whose counts give the CTR value through the CTR's prior, shift
//! and scale (`TModelCtr::Calc`, in `f32`). Keys not in the table count as empty buckets.

use super::compile::prepare;
use super::hash::{combine, widen};
use super::model::{Ctr, CtrBase, CtrData, CtrKind, CtrTable, Model};

/// The CTR features of a model, with their tables.
#[derive(Debug, Default)]
pub(crate) struct CtrPlan {
    /// Distinct bases with their tables.
    bases: Vec<(CtrBase, CtrTable)>,
    /// Per CTR feature: its base and its CTR.
    ctrs: Vec<(usize, Ctr)>,
}

impl CtrPlan {
    /// The plan for `model`'s CTR features (their tables were checked when the file was read).
    pub(crate) fn new(model: &Model) -> Self {
        let mut plan = Self::default();
        for feature in &model.ctrs {
            let base = &feature.ctr.base;
            let id = match plan.bases.iter().position(|(b, _)| b == base) {
                Some(id) => id,
                None => {
                    let Some(table) = model.tables.get(base) else {
                        continue;
                    };
                    plan.bases.push((base.clone(), table.clone()));
                    plan.bases.len() - 1
                }
            };
            plan.ctrs.push((id, feature.ctr.clone()));
        }
        plan
    }

    /// Number of CTR features.
    pub(crate) fn len(&self) -> usize {
        self.ctrs.len()
    }

    /// Writes one row's CTR values (widened from `f32`) into `out`.
    pub(crate) fn compute(
        &self,
        floats: &[f64],
        cats: &[i32],
        nan_as_true: &[bool],
        out: &mut [f64],
    ) {
        if self.ctrs.is_empty() {
            return;
        }
        let mut keys: Vec<Option<u32>> = Vec::with_capacity(self.bases.len());
        for (base, table) in &self.bases {
            let mut key = 0u64;
            for &c in &base.cats {
                key = combine(key, widen(cats.get(c).copied().unwrap_or_default()));
            }
            for &(f, border) in &base.floats {
                let x = floats.get(f).copied().unwrap_or(f64::NAN);
                let nan_true = nan_as_true.get(f).copied().unwrap_or(false);
                let bit = prepare(x, nan_true) > f64::from(f32::from_bits(border));
                key = combine(key, u64::from(bit));
            }
            for &(c, value) in &base.one_hots {
                let bit = cats.get(c).copied() == Some(value);
                key = combine(key, u64::from(bit));
            }
            keys.push(table.index.get(&key).copied());
        }
        for ((base_id, ctr), o) in self.ctrs.iter().zip(out.iter_mut()) {
            let (_, table) = &self.bases[*base_id];
            let bucket = keys[*base_id];
            *o = f64::from(value(ctr, table, bucket));
        }
    }
}

/// A CTR's value for a bucket (`None`: the key was never seen in training).
fn value(ctr: &Ctr, table: &CtrTable, bucket: Option<u32>) -> f32 {
    let bucket = bucket.map(|b| b as usize);
    match (&table.data, ctr.base.kind) {
        (CtrData::Mean(history), _) => match bucket.and_then(|b| history.get(b)) {
            Some(&(sum, count)) => ctr.calc(sum, count as f32),
            None => ctr.calc(0.0, 0.0),
        },
        (CtrData::Ints(totals), CtrKind::Counter | CtrKind::FeatureFreq) => {
            let denominator = table.counter_denominator as f32;
            match bucket.and_then(|b| totals.get(b)) {
                Some(&n) => ctr.calc(n as f32, denominator),
                None => ctr.calc(0.0, denominator),
            }
        }
        (CtrData::Ints(counts), kind) => {
            let k = table.target_classes;
            let Some(history) = bucket.and_then(|b| counts.get(b * k..(b + 1) * k)) else {
                return ctr.calc(0.0, 0.0);
            };
            let border = usize::try_from(ctr.target_border).unwrap_or(0);
            if kind == CtrKind::Buckets {
                let good = history.get(border).copied().unwrap_or(0);
                let total: i32 = history.iter().fold(0i32, |a, &b| a.wrapping_add(b));
                ctr.calc(good as f32, total as f32)
            } else if k > 2 {
                let below: i32 = history[..=border.min(k - 1)]
                    .iter()
                    .fold(0i32, |a, &b| a.wrapping_add(b));
                let good: i32 = history[(border + 1).min(k)..]
                    .iter()
                    .fold(0i32, |a, &b| a.wrapping_add(b));
                ctr.calc(good as f32, below.wrapping_add(good) as f32)
            } else {
                let (h0, h1) = (history[0], history.get(1).copied().unwrap_or(0));
                ctr.calc(h1 as f32, h0.wrapping_add(h1) as f32)
            }
        }
    }
}
