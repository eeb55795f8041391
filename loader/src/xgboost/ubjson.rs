//! A UBJSON (Universal Binary JSON, draft 12) decoder producing a [`serde_json::Value`], so the
//! XGBoost JSON and UBJSON model files share one schema reader ([`super::schema`]).
//!
//! XGBoost writes big-endian scalars, object keys as a length (an integer with its marker) then
//! the bytes, and strongly typed counted arrays (`[$d#L<count>` for `f32`...). Counts are checked
//! against the bytes left before anything is allocated, and nesting is bounded, so a hostile or
//! truncated file fails with [`XgbError::Ubjson`] and never panics or exhausts memory.

use serde_json::{Map, Number, Value};

use super::error::XgbError;

/// Deepest container nesting accepted (XGBoost models nest about 8 levels).
const MAX_DEPTH: usize = 128;

/// Decodes one UBJSON document. Trailing bytes after the first value are an error.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, XgbError> {
    let mut reader = Reader { bytes, pos: 0 };
    let marker = reader.marker()?;
    let value = reader.value(marker, 0)?;
    if reader.pos != bytes.len() {
        return Err(reader.error("trailing bytes after the document"));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, message: impl Into<String>) -> XgbError {
        XgbError::Ubjson {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], XgbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error(format!("truncated: {n} more bytes expected")))?;
        let slice = self.bytes.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], XgbError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// The next marker byte, skipping no-ops.
    fn marker(&mut self) -> Result<u8, XgbError> {
        loop {
            let [m] = self.array::<1>()?;
            if m != b'N' {
                return Ok(m);
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// An integer of the given marker's type (lengths and counts).
    fn integer(&mut self, marker: u8) -> Result<i64, XgbError> {
        Ok(match marker {
            b'i' => i64::from(i8::from_be_bytes(self.array()?)),
            b'U' => i64::from(self.array::<1>()?[0]),
            b'I' => i64::from(i16::from_be_bytes(self.array()?)),
            b'l' => i64::from(i32::from_be_bytes(self.array()?)),
            b'L' => i64::from_be_bytes(self.array()?),
            other => {
                return Err(self.error(format!(
                    "expected an integer marker, found {:?}",
                    char::from(other)
                )))
            }
        })
    }

    /// A length or count: an integer that must be non-negative and, given each element takes
    /// at least `min_size` bytes, fit in the bytes left.
    fn length(&mut self, min_size: usize) -> Result<usize, XgbError> {
        let marker = self.marker()?;
        let n = self.integer(marker)?;
        let n = usize::try_from(n).map_err(|_| self.error(format!("negative length {n}")))?;
        let left = self.bytes.len() - self.pos;
        if n.saturating_mul(min_size) > left {
            return Err(self.error(format!("length {n} exceeds the {left} bytes left")));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, XgbError> {
        let n = self.length(1)?;
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"))
    }

    fn value(&mut self, marker: u8, depth: usize) -> Result<Value, XgbError> {
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::Number(self.integer(marker)?.into()),
            b'd' => float(f64::from(f32::from_be_bytes(self.array()?))),
            b'D' => float(f64::from_be_bytes(self.array()?)),
            b'C' => Value::String(char::from(self.array::<1>()?[0]).to_string()),
            b'S' => Value::String(self.string()?),
            b'H' => {
                let text = self.string()?;
                match text.parse::<f64>() {
                    Ok(v) => float(v),
                    Err(_) => Value::String(text),
                }
            }
            b'[' => self.container(false, depth + 1)?,
            b'{' => self.container(true, depth + 1)?,
            other => {
                return Err(self.error(format!("unknown marker {:?}", char::from(other))));
            }
        })
    }

    /// An array or object after its opening marker: optional `$type`, optional `#count`, else
    /// elements until the closing marker.
    fn container(&mut self, object: bool, depth: usize) -> Result<Value, XgbError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH}")));
        }
        let mut element_type = None;
        if self.peek() == Some(b'$') {
            self.pos += 1;
            element_type = Some(self.array::<1>()?[0]);
        }
        let count = if self.peek() == Some(b'#') {
            self.pos += 1;
            let min_size = element_type.map_or(1, scalar_size);
            // Object entries hold at least a key length and a value.
            Some(self.length(if object { min_size + 1 } else { min_size })?)
        } else {
            if element_type.is_some() {
                return Err(self.error("a typed container without a count"));
            }
            None
        };
        let mut items = Vec::new();
        let mut map = Map::new();
        let mut i = 0usize;
        loop {
            if let Some(n) = count {
                if i == n {
                    break;
                }
            } else {
                let m = self.marker()?;
                if m == if object { b'}' } else { b']' } {
                    break;
                }
                self.pos -= 1;
            }
            let key = if object { Some(self.string()?) } else { None };
            let marker = match element_type {
                Some(t) => t,
                None => self.marker()?,
            };
            let value = self.value(marker, depth)?;
            match key {
                Some(key) => {
                    map.insert(key, value);
                }
                None => items.push(value),
            }
            i += 1;
        }
        Ok(if object {
            Value::Object(map)
        } else {
            Value::Array(items)
        })
    }
}

/// A JSON number, or null for NaN and infinities (which JSON cannot hold; readers turn null
/// back into NaN where a float is expected).
fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Bytes one element of a typed container takes at least.
fn scalar_size(marker: u8) -> usize {
    match marker {
        b'I' => 2,
        b'l' | b'd' => 4,
        b'L' | b'D' => 8,
        // `T`, `F` and `Z` elements take no bytes; counting them as one keeps every count bounded
        // by the file size (XGBoost never writes such arrays).
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_xgboost_shapes() {
        let mut doc = vec![b'{'];
        doc.extend([b'L', 0, 0, 0, 0, 0, 0, 0, 1, b'a']);
        doc.extend([b'[', b'$', b'd', b'#', b'L', 0, 0, 0, 0, 0, 0, 0, 2]);
        doc.extend(1.5f32.to_be_bytes());
        doc.extend((-2.0f32).to_be_bytes());
        doc.extend([b'i', 1, b'b', b'S', b'i', 2, b'h', b'i']);
        doc.extend([
            b'i', 1, b'c', b'[', b'#', b'L', 0, 0, 0, 0, 0, 0, 0, 2, b'i', 7, b'l',
        ]);
        doc.extend(70000i32.to_be_bytes());
        doc.extend([b'i', 1, b'd', b'[', b'T', b'Z', b']']);
        doc.push(b'}');
        assert_eq!(
            decode(&doc).unwrap(),
            json!({"a": [1.5, -2.0], "b": "hi", "c": [7, 70000], "d": [true, null]})
        );
    }

    #[test]
    fn rejects_huge_counts_and_truncation() {
        let doc = [b'[', b'$', b'd', b'#', b'L', 0x7f, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(decode(&doc), Err(XgbError::Ubjson { .. })));
        assert!(decode(&[b'{', b'i', 1]).is_err());
        assert!(decode(b"[[[").is_err());
        assert!(decode(&[b'L', 1, 2]).is_err());
        let deep = vec![b'['; 10_000];
        assert!(decode(&deep).is_err());
    }
}
