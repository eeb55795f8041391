//! The two numeric types a forest compares and accumulates in: `f32` and `f64`.
//!
//! A forest is compiled for one of them; features are compared in that type (ONNX-ML compares the
//! input cast to the threshold type, sklearn and XGBoost in `f32`, LightGBM and HGB in `f64`).

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Neg};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A threshold, feature and leaf-weight type: implemented for `f32` and `f64` only.
pub trait Value:
    sealed::Sealed
    + Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + AddAssign
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Positive infinity.
    const INFINITY: Self;
    /// Negative infinity.
    const NEG_INFINITY: Self;
    /// Not a number: compares false with everything.
    const NAN: Self;

    /// Converts from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Widens (or keeps) to `f64`, exactly.
    fn to_f64(self) -> f64;
    /// `n` as this type (rounding to nearest for huge `n`), for averages.
    fn from_count(n: usize) -> Self;
    /// The largest value strictly below `self` (`-inf` stays `-inf`, NaN stays NaN).
    fn below(self) -> Self;
    /// Whether `self` is NaN.
    fn nan(self) -> bool;
    /// Stores a `u32` index in the bits of a value (the compiled layout reuses the threshold slot).
    fn from_index(i: u32) -> Self;
    /// Reads back an index stored by [`Value::from_index`].
    fn to_index(self) -> u32;
}

impl Value for f32 {
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    const NAN: Self = f32::NAN;

    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_count(n: usize) -> Self {
        n as f32
    }
    fn below(self) -> Self {
        self.next_down()
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
    fn from_index(i: u32) -> Self {
        f32::from_bits(i)
    }
    fn to_index(self) -> u32 {
        self.to_bits()
    }
}

impl Value for f64 {
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    const NAN: Self = f64::NAN;

    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_count(n: usize) -> Self {
        n as f64
    }
    fn below(self) -> Self {
        self.next_down()
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
    fn from_index(i: u32) -> Self {
        f64::from_bits(u64::from(i))
    }
    fn to_index(self) -> u32 {
        // Only ever called on values made by `from_index`, whose high bits are zero.
        self.to_bits() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_the_previous_float() {
        assert!(1.0f32.below() < 1.0);
        assert_eq!(1.0f32.below().next_up(), 1.0);
        assert_eq!(f32::INFINITY.below(), f32::MAX);
        assert_eq!(f64::NEG_INFINITY.below(), f64::NEG_INFINITY);
        assert!(f32::NAN.below().is_nan());
        assert!(0.0f64.below() < 0.0);
    }

    #[test]
    fn indices_round_trip_through_values() {
        for i in [0u32, 1, 7, 0x7fc0_0000, u32::MAX] {
            assert_eq!(f32::from_index(i).to_index(), i);
            assert_eq!(f64::from_index(i).to_index(), i);
        }
    }
}
