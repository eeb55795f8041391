//! Membership sets of set-valued splits ([`crate::tree::Split::Member`] and
//! [`crate::tree::Split::Category`]), tested off the hot path of numeric splits.

use std::cmp::Ordering;

use super::value::Value;

/// Members of small non-negative integer sets are kept in a bitset of at most this many bits.
const MAX_BITS: f64 = 65536.0;

/// A compiled membership test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemberSet {
    /// Truncate `x` toward zero before testing (categorical splits) instead of exact equality.
    truncate: bool,
    repr: Repr,
}

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    /// Bit `k` set when the integer `k` is a member.
    Bits(Vec<u64>),
    /// Sorted, deduplicated members (no NaN).
    Sorted(Vec<f64>),
}

impl MemberSet {
    /// `x` is a member when it equals one of `values` (NaN members are dropped: NaN equals nothing).
    pub(crate) fn exact<T: Value>(values: &[T]) -> Self {
        let members: Vec<f64> = values
            .iter()
            .map(|v| v.to_f64())
            .filter(|v| !v.is_nan())
            .collect();
        MemberSet {
            truncate: false,
            repr: Repr::new(members),
        }
    }

    /// `x` is a member when `trunc(x)` is one of the categories.
    pub(crate) fn categories(categories: &[u32]) -> Self {
        let members = categories.iter().map(|&c| f64::from(c)).collect();
        MemberSet {
            truncate: true,
            repr: Repr::new(members),
        }
    }

    /// Whether `x` is a member (never for NaN).
    pub(crate) fn contains(&self, x: f64) -> bool {
        let key = if self.truncate { x.trunc() } else { x };
        match &self.repr {
            Repr::Bits(words) => {
                // `key == key.trunc()` is false for NaN and for fractions; infinities fail the range.
                if key >= 0.0 && key < (words.len() * 64) as f64 && key == key.trunc() {
                    let k = key as usize;
                    words.get(k / 64).is_some_and(|w| (w >> (k % 64)) & 1 == 1)
                } else {
                    false
                }
            }
            Repr::Sorted(members) => members
                .binary_search_by(|m| m.partial_cmp(&key).unwrap_or(Ordering::Less))
                .is_ok(),
        }
    }
}

impl Repr {
    fn new(mut members: Vec<f64>) -> Self {
        let small_ints = members
            .iter()
            .all(|&m| (0.0..MAX_BITS).contains(&m) && m == m.trunc());
        if small_ints {
            let max = members.iter().fold(0.0f64, |a, &b| a.max(b)) as usize;
            let mut words = vec![0u64; max / 64 + 1];
            for m in members {
                let k = m as usize;
                words[k / 64] |= 1 << (k % 64);
            }
            Repr::Bits(words)
        } else {
            members.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
            members.dedup();
            Repr::Sorted(members)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sets_match_equal_values_only() {
        let small = MemberSet::exact(&[1.0f32, 3.0, 64.0]);
        let wide = MemberSet::exact(&[-2.5f64, 1.0, 1e9]);
        for (set, inside, outside) in [
            (
                &small,
                vec![1.0, 3.0, 64.0],
                vec![0.0, 2.0, 1.5, 3.0000002, -1.0, f64::NAN, f64::INFINITY],
            ),
            (
                &wide,
                vec![-2.5, 1.0, 1e9],
                vec![-2.0, 0.0, 1.5, f64::NAN, f64::NEG_INFINITY],
            ),
        ] {
            for x in inside {
                assert!(set.contains(x), "{x} should be in {set:?}");
            }
            for x in outside {
                assert!(!set.contains(x), "{x} should not be in {set:?}");
            }
        }
    }

    #[test]
    fn category_sets_truncate() {
        let set = MemberSet::categories(&[0, 2, 100_000]);
        assert!(set.contains(2.7));
        assert!(set.contains(-0.5)); // trunc(-0.5) = -0 = category 0
        assert!(set.contains(100_000.2));
        assert!(!set.contains(1.0));
        assert!(!set.contains(-1.0));
        assert!(!set.contains(f64::NAN));
        assert!(!set.contains(f64::INFINITY));
    }

    #[test]
    fn empty_sets_hold_nothing() {
        let set = MemberSet::exact::<f32>(&[f32::NAN]);
        assert!(!set.contains(0.0));
        assert!(!MemberSet::categories(&[]).contains(0.0));
    }
}
