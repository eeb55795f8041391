//! Plain Python values from JSON: `JsonNode` texts (Python's `json.dumps` output, which may say
//! `NaN`/`Infinity` and carry ints wider than 64 bits), slice bounds, and `DictNode` keys
//! (JSON object keys are strings; `key_types` says what Python type each was).

use std::sync::Arc;

use super::json::Json;
use crate::pyobj::{Obj, PyClass, PyObj};

/// Python refuses to parse ints longer than this many digits (`sys.int_info.str_digits_check_threshold`).
const MAX_INT_DIGITS: usize = 4300;

/// The value of a `JsonNode`'s `content` text.
pub(crate) fn json_text(text: &str) -> Result<PyObj, String> {
    let t = text.trim();
    match t {
        "NaN" => return Ok(PyObj::Float(f64::NAN)),
        "Infinity" => return Ok(PyObj::Float(f64::INFINITY)),
        "-Infinity" => return Ok(PyObj::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    if let Some(int) = parse_int(t)? {
        return Ok(int);
    }
    let json = Json::parse(t.as_bytes()).map_err(|e| format!("bad JSON content: {e}"))?;
    Ok(plain_json(&json).as_ref().clone())
}

/// A JSON value as plain Python objects (lists, str-keyed dicts).
pub(crate) fn plain_json(json: &Json) -> Obj {
    Arc::new(match json {
        Json::Null => PyObj::None,
        Json::Bool(b) => PyObj::Bool(*b),
        Json::UInt(n) => match i64::try_from(*n) {
            Ok(n) => PyObj::Int(n),
            Err(_) => PyObj::BigInt(bigint_le(&n.to_string(), false)),
        },
        Json::Int(n) => PyObj::Int(*n),
        Json::Float(f) => PyObj::Float(*f),
        Json::Str(s) => PyObj::Str(s.clone()),
        Json::Array(items) => PyObj::List(items.iter().map(plain_json).collect()),
        Json::Object(items) => PyObj::Dict(
            items
                .iter()
                .map(|(k, v)| (Arc::new(PyObj::Str(k.clone())), plain_json(v)))
                .collect(),
        ),
    })
}

/// A dict key from its JSON string and the Python type `key_types` recorded, as skops's
/// `key_type(key)` does. numpy scalar key types give plain ints / floats.
pub(crate) fn dict_key(key: &str, key_type: &PyClass) -> Result<Obj, String> {
    let name = key_type.name.as_str();
    let obj = match (key_type.module.as_str(), name) {
        ("builtins", "str") | ("numpy", "str_") => PyObj::Str(key.to_owned()),
        ("builtins", "int") => int_key(key)?,
        ("numpy", n) if n.starts_with("int") || n.starts_with("uint") => int_key(key)?,
        ("builtins", "float") | ("numpy", "float16" | "float32" | "float64") => PyObj::Float(
            key.trim()
                .parse::<f64>()
                .map_err(|_| format!("dict key {key:?} is not a float"))?,
        ),
        // `bool(s)` is true for every non-empty string, as in Python.
        ("builtins", "bool") | ("numpy", "bool" | "bool_") => PyObj::Bool(!key.is_empty()),
        _ => return Err(format!("unsupported dict key type '{}'", key_type.path())),
    };
    Ok(Arc::new(obj))
}

fn int_key(key: &str) -> Result<PyObj, String> {
    parse_int(key.trim())?.ok_or_else(|| format!("dict key {key:?} is not an int"))
}

/// An optionally signed decimal integer, or `None` if the text is not one.
fn parse_int(t: &str) -> Result<Option<PyObj>, String> {
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(Some(PyObj::Int(n)));
    }
    if digits.len() > MAX_INT_DIGITS {
        return Err(format!("integer of {} digits is too long", digits.len()));
    }
    Ok(Some(PyObj::BigInt(bigint_le(digits, negative))))
}

/// Minimal little-endian two's-complement bytes of a decimal integer (pickle's `LONG1` form).
fn bigint_le(digits: &str, negative: bool) -> Vec<u8> {
    let mut mag: Vec<u8> = Vec::new();
    for b in digits.bytes() {
        let mut carry = u32::from(b.wrapping_sub(b'0'));
        for byte in mag.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    if negative {
        // Two's complement: invert and add one.
        let mut carry = true;
        for byte in mag.iter_mut() {
            *byte = !*byte;
            if carry {
                let (v, overflow) = byte.overflowing_add(1);
                *byte = v;
                carry = overflow;
            }
        }
        if mag.last().is_none_or(|&top| top & 0x80 == 0) {
            mag.push(0xff);
        }
    } else if mag.last().is_some_and(|&top| top & 0x80 != 0) {
        mag.push(0);
    }
    mag
}

/// A short name of an object's kind, for error messages.
pub(crate) fn kind(obj: &PyObj) -> &'static str {
    match obj {
        PyObj::None => "None",
        PyObj::Bool(_) => "a bool",
        PyObj::Int(_) | PyObj::BigInt(_) => "an int",
        PyObj::Float(_) => "a float",
        PyObj::Str(_) => "a str",
        PyObj::Bytes(_) => "bytes",
        PyObj::List(_) => "a list",
        PyObj::Tuple(_) => "a tuple",
        PyObj::Dict(_) => "a dict",
        PyObj::Set(_) => "a set",
        PyObj::Class(_) => "a class",
        PyObj::Instance(_) => "an instance",
        PyObj::Array(_) => "an array",
        PyObj::DType(_) => "a dtype",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_texts() {
        assert_eq!(json_text("\"gini\"").unwrap(), PyObj::Str("gini".into()));
        assert_eq!(json_text("4").unwrap(), PyObj::Int(4));
        assert_eq!(json_text("true").unwrap(), PyObj::Bool(true));
        assert_eq!(json_text("null").unwrap(), PyObj::None);
        assert_eq!(json_text("0.5").unwrap(), PyObj::Float(0.5));
        assert!(matches!(json_text("NaN").unwrap(), PyObj::Float(f) if f.is_nan()));
        assert_eq!(
            json_text("-Infinity").unwrap(),
            PyObj::Float(f64::NEG_INFINITY)
        );
        assert!(json_text("{").is_err());
        assert!(json_text(&"9".repeat(5000)).is_err());
    }

    #[test]
    fn big_ints_match_pickle_long1() {
        // pickle.dumps(2**64)[..] LONG1 payload: 00 00 00 00 00 00 00 00 01
        assert_eq!(
            json_text("18446744073709551616").unwrap(),
            PyObj::BigInt(vec![0, 0, 0, 0, 0, 0, 0, 0, 1])
        );
        // -(2**63) - 1 = 0xff7f_ffff_ffff_ffff_ff (9 bytes, little-endian)
        assert_eq!(
            json_text("-9223372036854775809").unwrap(),
            PyObj::BigInt(vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff])
        );
        assert_eq!(bigint_le("128", false), vec![0x80, 0]);
        assert_eq!(bigint_le("128", true), vec![0x80]);
    }

    #[test]
    fn keys() {
        let int = PyClass::new("builtins", "int");
        assert_eq!(*dict_key("3", &int).unwrap(), PyObj::Int(3));
        assert!(dict_key("x", &int).is_err());
        let b = PyClass::new("builtins", "bool");
        assert_eq!(*dict_key("False", &b).unwrap(), PyObj::Bool(true));
        assert!(dict_key("a", &PyClass::new("os", "system")).is_err());
    }
}
