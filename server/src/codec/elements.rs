//! Parsing a tensor's JSON `data` (flat or nested lists, row-major) straight into a typed
//! buffer, with one error naming the offending element.

use std::fmt;

use ironflow_loader::tensor::f16;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

/// An element type the JSON data of a tensor can be parsed into.
pub trait Element: Sized {
    /// What the error message calls the expected element.
    const EXPECTED: &'static str;
    /// From a JSON integer.
    fn from_i64(v: i64) -> Option<Self>;
    /// From a JSON integer above `i64::MAX`.
    fn from_u64(v: u64) -> Option<Self>;
    /// From a JSON number with a fraction or exponent.
    fn from_f64(v: f64) -> Option<Self>;
    /// From a JSON boolean.
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    /// From a JSON string.
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    /// From JSON `null`.
    fn from_null() -> Option<Self> {
        None
    }
}

macro_rules! int_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const EXPECTED: &'static str = concat!("an integer in the range of ", stringify!($t));
            fn from_i64(v: i64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_u64(v: u64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_f64(v: f64) -> Option<Self> {
                // 3.0 is accepted as 3; 3.5 is not an integer.
                (v.fract() == 0.0 && v >= <$t>::MIN as f64 && v <= <$t>::MAX as f64).then(|| v as $t)
            }
        }
    )*};
}
int_element!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const EXPECTED: &'static str = "a number (or null for NaN)";
            fn from_i64(v: i64) -> Option<Self> { Some(v as $t) }
            fn from_u64(v: u64) -> Option<Self> { Some(v as $t) }
            fn from_f64(v: f64) -> Option<Self> { Some(v as $t) }
            fn from_str(s: &str) -> Option<Self> {
                match s {
                    "NaN" | "nan" => Some(<$t>::NAN),
                    "Infinity" | "inf" => Some(<$t>::INFINITY),
                    "-Infinity" | "-inf" => Some(<$t>::NEG_INFINITY),
                    _ => None,
                }
            }
            fn from_null() -> Option<Self> { Some(<$t>::NAN) }
        }
    )*};
}
float_element!(f32, f64);

impl Element for f16 {
    const EXPECTED: &'static str = "a number (or null for NaN)";
    fn from_i64(v: i64) -> Option<Self> {
        Some(f16::from_f64(v as f64))
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(f16::from_f64(v as f64))
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(f16::from_f64(v))
    }
    fn from_str(s: &str) -> Option<Self> {
        f32::from_str(s).map(f16::from_f32)
    }
    fn from_null() -> Option<Self> {
        Some(f16::NAN)
    }
}

impl Element for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

impl Element for String {
    const EXPECTED: &'static str = "a string";
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
}

/// Parses `json` (a scalar, or lists nested to any depth) into a flat `Vec<T>`.
#[cfg(test)]
pub fn parse_flat<T: Element>(json: &str) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    let mut error = None;
    let mut de = serde_json::Deserializer::from_str(json);
    Flatten::new(&mut out, &mut error)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| e.to_string())?;
    match error {
        None => Ok(out),
        Some(message) => Err(message),
    }
}

/// Flattens a scalar or nested lists into `out`. An element that does not fit `T` does not fail
/// the parse: the first one is described in `error`, and the rest of the value is consumed
/// without being kept, so the JSON around it (the rest of a request body) still parses.
pub struct Flatten<'a, T> {
    out: &'a mut Vec<T>,
    error: &'a mut Option<String>,
}

impl<'a, T> Flatten<'a, T> {
    /// Flattens into `out`, reporting the first mismatched element in `error`.
    pub fn new(out: &'a mut Vec<T>, error: &'a mut Option<String>) -> Self {
        Self { out, error }
    }
}

impl<'de, T: Element> DeserializeSeed<'de> for Flatten<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<T: Element> Flatten<'_, T> {
    fn push(self, v: Option<T>, got: fmt::Arguments<'_>) {
        if self.error.is_some() {
            return;
        }
        match v {
            Some(v) => self.out.push(v),
            None => {
                *self.error = Some(format!(
                    "element {} is {got}, expected {}",
                    self.out.len(),
                    T::EXPECTED
                ));
            }
        }
    }
}

impl<'de, T: Element> Visitor<'de> for Flatten<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {}", T::EXPECTED)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(hint) = seq.size_hint() {
            self.out.reserve(hint);
        }
        while seq
            .next_element_seed(Flatten {
                out: &mut *self.out,
                error: &mut *self.error,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push(T::from_i64(v), format_args!("{v}"));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push(T::from_u64(v), format_args!("{v}"));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.push(T::from_f64(v), format_args!("{v}"));
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.push(T::from_bool(v), format_args!("{v}"));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push(T::from_str(v), format_args!("{v:?}"));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(T::from_null(), format_args!("null"));
        Ok(())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.error.is_none() {
            *self.error = Some(format!(
                "element {} is an object, expected {}",
                self.out.len(),
                T::EXPECTED
            ));
        }
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_nested_lists_parse_alike() {
        assert_eq!(parse_flat::<f32>("[1, 2.5, -3]"), Ok(vec![1.0, 2.5, -3.0]));
        assert_eq!(
            parse_flat::<f32>("[[1, 2.5], [-3, 4]]"),
            Ok(vec![1.0, 2.5, -3.0, 4.0])
        );
        assert_eq!(parse_flat::<i64>("[[1], [2]]"), Ok(vec![1, 2]));
        assert_eq!(
            parse_flat::<String>(r#"["a", ["b"]]"#),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(parse_flat::<bool>("[true, false]"), Ok(vec![true, false]));
    }

    #[test]
    fn null_is_nan_for_floats_only() {
        let v = parse_flat::<f64>("[null, 1]").expect("parse");
        assert!(v[0].is_nan());
        assert!(parse_flat::<i64>("[null]").is_err());
    }

    #[test]
    fn bad_elements_are_named() {
        let err = parse_flat::<f64>(r#"[1, "abc"]"#).expect_err("string in floats");
        assert!(err.contains("element 1"), "{err}");
        assert!(parse_flat::<i32>("[3.5]").is_err());
        assert!(parse_flat::<u8>("[256]").is_err());
        assert!(parse_flat::<i64>("[3.0]").is_ok());
        assert!(parse_flat::<bool>("[1]").is_err());
        assert!(parse_flat::<f32>(r#"{"a": 1}"#).is_err());
    }
}
