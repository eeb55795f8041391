//! A hand-written reader for the common shape of a v2 inference request body, tried before the
//! serde path ([`InferRequest`]'s `Deserialize`), which costs several times more per small
//! request. It reads `id`, `parameters` and `inputs` (each with `name`, `shape`, `datatype`,
//! then numeric `data`, flat or nested, and `parameters`) with strings free of escapes, and gives
//! up (`None`) on anything else: other or repeated fields, escapes, `data` before `datatype`,
//! non-numeric or out-of-range elements, malformed JSON. The serde path then reads the body
//! again, so every error keeps its status and message; what this reader accepts it reads into
//! exactly what the serde path would (numbers as `serde_json` classifies them, converted by the
//! same [`Element`] rules).

use std::borrow::Cow;

use ironflow_loader::tensor::TVec;
use ironflow_loader::DataType;
use serde_json::Value;

use super::elements::Element;
use super::input_data::{Elements, InputData};
use super::{InferRequest, Parameters, RequestInput};

/// Reads `text` as an inference request, or `None` when it is not of the common shape.
pub fn scan_request(text: &str) -> Option<InferRequest> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let request = s.request()?;
    s.skip_ws();
    (s.at == s.bytes.len()).then_some(request)
}

/// A JSON number as `serde_json` hands it to a visitor.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// The field names of a request, most frequent first.
const KEYS: [&str; 7] = [
    "name",
    "shape",
    "datatype",
    "data",
    "parameters",
    "content_type",
    "inputs",
];

/// Eight copies of `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The length of a JSON string's content up to its closing `"`, or `None` when an escape or a
/// control character (which the serde path reads or refuses) comes first. Eight bytes a step:
/// the lowest flagged byte of the classic "has zero byte" test is the first match (a borrow
/// only flags bytes above a true match).
fn string_len(bytes: &[u8]) -> Option<usize> {
    const LOW: u64 = splat(0x01);
    const HIGH: u64 = splat(0x80);
    let mut at = 0;
    let mut words = bytes.chunks_exact(8);
    for word in words.by_ref() {
        let mut array = [0u8; 8];
        array.copy_from_slice(word);
        let x = u64::from_le_bytes(array);
        let quote = x ^ splat(b'"');
        let backslash = x ^ splat(b'\\');
        let flags = (quote.wrapping_sub(LOW) & !quote)
            | (backslash.wrapping_sub(LOW) & !backslash)
            | (x.wrapping_sub(splat(0x20)) & !x);
        let flags = flags & HIGH;
        if flags != 0 {
            let first = at + (flags.trailing_zeros() / 8) as usize;
            return (bytes[first] == b'"').then_some(first);
        }
        at += 8;
    }
    let rest = words.remainder();
    let end = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    (rest[end] == b'"').then_some(at + end)
}

/// The element count a shape declares, for pre-sizing the elements' buffer: 0 without a shape,
/// and at most 64 Ki elements, so a shape that lies costs no more than a small request.
fn capacity_hint(shape: Option<&[i64]>) -> usize {
    const MAX: u64 = 1 << 16;
    let Some(shape) = shape else {
        return 0;
    };
    let mut count: u64 = 1;
    for &d in shape {
        count = count.saturating_mul(u64::try_from(d).unwrap_or(0)).min(MAX);
    }
    count as usize
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Consumes `word` (a literal such as `null`) if it is next.
    fn eat_word(&mut self, word: &[u8]) -> bool {
        self.skip_ws();
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let len = string_len(&self.bytes[start..])?;
        self.at = start + len + 1;
        // `"` is ASCII, so the slice ends on a character boundary of the `str`.
        self.text.get(start..start + len)
    }

    /// An object key: one of the field names of a request compared in place (most keys are),
    /// else any escape-free string.
    fn key(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let rest = &self.bytes[self.at..];
        for known in KEYS {
            let len = known.len();
            if rest.get(len + 1) == Some(&b'"')
                && rest.first() == Some(&b'"')
                && &rest[1..=len] == known.as_bytes()
            {
                self.at += len + 2;
                return Some(known);
            }
        }
        self.string()
    }

    /// The members of an object, `{` already consumed: calls `member` with each key, which
    /// reads the value.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.key()?;
            self.expect(b':')?;
            member(self, key)?;
            if self.eat(b'}') {
                return Some(());
            }
            self.expect(b',')?;
        }
    }

    /// The items of a list, `[` already consumed: calls `item` to read each one.
    fn items(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if self.eat(b']') {
                return Some(());
            }
            self.expect(b',')?;
        }
    }

    /// The text of a JSON number, checked against the JSON grammar, and whether it is an
    /// integer (no fraction, no exponent).
    fn number_text(&mut self) -> Option<(&'a str, bool)> {
        self.skip_ws();
        let start = self.at;
        let digits = |s: &mut Self| {
            let from = s.at;
            while let Some(b'0'..=b'9') = s.peek() {
                s.at += 1;
            }
            s.at > from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return None,
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.at += 1;
            if !digits(self) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        // ASCII only, so whole characters of the `str`.
        Some((self.text.get(start..self.at)?, integer))
    }

    /// A number, classified as `serde_json` does: an integer is `U64` (non-negative) or `I64`
    /// (negative) when it fits, `-0` and every other number `F64`, correctly rounded.
    fn number(&mut self) -> Option<Number> {
        let (text, integer) = self.number_text()?;
        if integer {
            if let Some(negative) = text.strip_prefix('-') {
                if negative != "0" {
                    if let Ok(v) = text.parse::<i64>() {
                        return Some(Number::I64(v));
                    }
                }
            } else if let Ok(v) = text.parse::<u64>() {
                return Some(Number::U64(v));
            }
        }
        // `serde_json` refuses a number too large for an `f64` ("number out of range").
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Number::F64)
    }

    /// A parameter value: a string, number, boolean or null.
    fn parameter_value(&mut self) -> Option<Value> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(|s| Value::String(s.to_owned())),
            b't' => self.eat_word(b"true").then_some(Value::Bool(true)),
            b'f' => self.eat_word(b"false").then_some(Value::Bool(false)),
            b'n' => self.eat_word(b"null").then_some(Value::Null),
            _ => match self.number()? {
                Number::U64(v) => Some(Value::from(v)),
                Number::I64(v) => Some(Value::from(v)),
                // `serde_json::Value` has no NaN or infinity; the number grammar excludes them.
                Number::F64(v) => serde_json::Number::from_f64(v).map(Value::Number),
            },
        }
    }

    /// `parameters`: an object of flat values, or null.
    fn parameters(&mut self) -> Option<Option<Parameters>> {
        if self.eat_word(b"null") {
            return Some(None);
        }
        self.expect(b'{')?;
        let mut map = Parameters::new();
        self.members(|s, key| {
            let value = s.parameter_value()?;
            // As the serde path reads a map: a repeated key keeps its last value.
            map.insert(key.to_owned(), value);
            Some(())
        })?;
        Some(Some(map))
    }

    /// `shape`: a list of integers in the range of `i64`.
    fn shape(&mut self) -> Option<TVec<i64>> {
        self.expect(b'[')?;
        let mut shape = TVec::new();
        self.items(|s| {
            shape.push(match s.number()? {
                Number::U64(v) => i64::try_from(v).ok()?,
                Number::I64(v) => v,
                Number::F64(_) => return None,
            });
            Some(())
        })?;
        Some(shape)
    }

    /// Numeric elements, a scalar or lists nested to any depth, appended to `out`.
    fn elements<T: Element>(&mut self, out: &mut Vec<T>, depth: usize) -> Option<()> {
        if !self.eat(b'[') {
            let element = match self.number()? {
                Number::U64(v) => T::from_u64(v),
                Number::I64(v) => T::from_i64(v),
                Number::F64(v) => T::from_f64(v),
            };
            out.push(element?);
            return Some(());
        }
        // Deeper than any tensor: leave it to the serde path and its recursion limit.
        if depth > 32 {
            return None;
        }
        self.items(|s| s.elements(out, depth + 1))
    }

    fn typed<T: Element>(
        &mut self,
        wrap: fn(Vec<T>) -> Elements,
        capacity: usize,
    ) -> Option<Elements> {
        let mut out = Vec::with_capacity(capacity);
        self.elements(&mut out, 0)?;
        Some(wrap(out))
    }

    /// `data` of a known numeric datatype, or null. `capacity`: the element count the shape
    /// declares, when it came first (a hint only: the count is checked when the tensor is built).
    fn data(&mut self, datatype: DataType, capacity: usize) -> Option<Option<InputData>> {
        if self.eat_word(b"null") {
            return Some(None);
        }
        let c = capacity;
        let elements = match datatype {
            DataType::Uint8 => self.typed(Elements::Uint8, c)?,
            DataType::Uint16 => self.typed(Elements::Uint16, c)?,
            DataType::Uint32 => self.typed(Elements::Uint32, c)?,
            DataType::Uint64 => self.typed(Elements::Uint64, c)?,
            DataType::Int8 => self.typed(Elements::Int8, c)?,
            DataType::Int16 => self.typed(Elements::Int16, c)?,
            DataType::Int32 => self.typed(Elements::Int32, c)?,
            DataType::Int64 => self.typed(Elements::Int64, c)?,
            DataType::Fp16 => self.typed(Elements::Fp16, c)?,
            DataType::Fp32 => self.typed(Elements::Fp32, c)?,
            DataType::Fp64 => self.typed(Elements::Fp64, c)?,
            DataType::Bool | DataType::Bytes => return None,
        };
        Some(Some(InputData::Typed(Ok(elements))))
    }

    fn input(&mut self) -> Option<RequestInput> {
        self.expect(b'{')?;
        let mut name = None;
        let mut shape = None;
        let mut datatype: Option<&str> = None;
        let mut parameters = None;
        let mut data = None;
        self.members(|s, key| {
            match key {
                "name" if name.is_none() => name = Some(s.string()?),
                "shape" if shape.is_none() => shape = Some(s.shape()?),
                "datatype" if datatype.is_none() => datatype = Some(s.string()?),
                "parameters" if parameters.is_none() => parameters = Some(s.parameters()?),
                "data" if data.is_none() => {
                    let known = datatype?.parse::<DataType>().ok()?;
                    data = Some(s.data(known, capacity_hint(shape.as_deref()))?);
                }
                _ => return None,
            }
            Some(())
        })?;
        let datatype = datatype?;
        Some(RequestInput {
            name: name?.to_owned(),
            shape: shape?,
            // A defined datatype's name is static: no copy.
            datatype: match datatype.parse::<DataType>() {
                Ok(known) => Cow::Borrowed(known.as_str()),
                Err(_) => Cow::Owned(datatype.to_owned()),
            },
            parameters: parameters.flatten(),
            data: data.flatten(),
        })
    }

    fn request(&mut self) -> Option<InferRequest> {
        self.expect(b'{')?;
        let mut id = None;
        let mut parameters = None;
        let mut inputs = None;
        self.members(|s, key| {
            match key {
                "id" if id.is_none() => {
                    id = Some(if s.eat_word(b"null") {
                        None
                    } else {
                        Some(s.string()?.to_owned())
                    });
                }
                "parameters" if parameters.is_none() => parameters = Some(s.parameters()?),
                "inputs" if inputs.is_none() => {
                    s.expect(b'[')?;
                    let mut list = Vec::with_capacity(4);
                    s.items(|s| {
                        list.push(s.input()?);
                        Some(())
                    })?;
                    inputs = Some(list);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(InferRequest {
            id: id.flatten(),
            parameters: parameters.flatten(),
            inputs: inputs?,
            outputs: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(body: &str) -> Result<InferRequest, String> {
        serde_json::from_str(body).map_err(|e| e.to_string())
    }

    /// The scanner either declines or reads exactly what the serde path reads.
    fn agrees(body: &str) -> bool {
        let Some(scanned) = scan_request(body) else {
            return false;
        };
        let full =
            serde(body).unwrap_or_else(|e| panic!("scanned a body serde rejects: {e}\n{body}"));
        assert_eq!(format!("{scanned:?}"), format!("{full:?}"), "{body}");
        true
    }

    #[test]
    fn reads_the_common_shape_as_serde_does() {
        for body in [
            r#"{"parameters":{"content_type":"pd"},"inputs":[{"name":"sepal_length","shape":[1,1],"datatype":"FP64","data":[5.1]},{"name":"w","shape":[1,1],"datatype":"FP64","data":[3.5]}]}"#,
            r#" { "id" : "r-1" , "inputs" : [ { "name" : "x" , "shape" : [ 2 , 2 ] , "datatype" : "FP32" , "data" : [ [ 1 , 2.5 ] , [ -3e2 , 4E-1 ] ] , "parameters" : { "a" : 1 , "b" : -2 , "c" : 0.5 , "d" : true , "e" : null } } ] } "#,
            r#"{"id":null,"parameters":null,"inputs":[]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[-9223372036854775808]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[3],"datatype":"UINT64","data":[18446744073709551615,0,3.0]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[4],"datatype":"FP64","data":[-0,0,1e-400,18446744073709551616]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":7}]}"#,
            r#"{"inputs":[{"name":"x","shape":[],"datatype":"FP16","data":[]}]}"#,
            r#"{"inputs":[{"name":"é","shape":[1],"datatype":"INT8","data":[-128]}],"parameters":{"p":"ü"}}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":null}]}"#,
            r#"{"parameters":{"name":"n","names":"m","nam":"o","content_type":"pd","data":1},"inputs":[]}"#,
            r#"{"parameters":{"k":1,"k":2},"inputs":[{"name":"x","shape":[1],"datatype":"FP64"}]}"#,
        ] {
            assert!(agrees(body), "declined: {body}");
        }
    }

    #[test]
    fn declines_what_it_does_not_read_exactly() {
        for body in [
            "",
            "{",
            "[]",
            r#"{"inputs":[]} x"#,
            r#"{"inputs":[],"outputs":[{"name":"y"}]}"#,
            r#"{"inputs":[],"other":1}"#,
            r#"{"inputs":[],"inputsx":1}"#,
            r#"{"inputs":[{"names":"x","shape":[1],"datatype":"FP64"}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatypes":"FP64"}]}"#,
            r#"{"inputs":[],"inputs":[]}"#,
            r#"{"id":"a\"b","inputs":[]}"#,
            r#"{"id":1,"inputs":[]}"#,
            r#"{"parameters":{"a":[1]},"inputs":[]}"#,
            r#"{"inputs":[{"data":[1],"name":"x","shape":[1],"datatype":"FP64"}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FLOAT","data":[1]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[null]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":["1"]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1.5]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[256]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["a"]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1.0],"datatype":"FP64","data":[1]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[-0],"datatype":"FP64","data":[1]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[01]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1.]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[+1]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1,]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1e400]}]}"#,
            r#"{"inputs":[{"name":"x","name":"y","shape":[1],"datatype":"FP64"}]}"#,
            r#"{"inputs":[{"shape":[1],"datatype":"FP64"}]}"#,
            r#"{"inputs":[{"name":"x\ty","shape":[1],"datatype":"FP64"}]}"#,
        ] {
            assert!(scan_request(body).is_none(), "accepted: {body}");
        }
    }

    #[test]
    fn string_len_matches_a_byte_loop() {
        let naive = |b: &[u8]| {
            let end = b
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            (b[end] == b'"').then_some(end)
        };
        let alphabet: &[u8] = &[
            b'a', b'"', b'\\', 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xc3, 0xff, b'0',
        ];
        let mut state: u32 = 12345;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        // Mostly plain letters, so matches fall at every offset.
                        let pick = (state >> 16) as usize % (alphabet.len() * 4);
                        alphabet.get(pick).copied().unwrap_or(b'a')
                    })
                    .collect();
                assert_eq!(string_len(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
    }

    /// Numbers of every form, written as clients write them, read alike by both paths.
    #[test]
    fn numbers_agree_with_serde() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for datatype in ["FP64", "FP32", "FP16", "INT64", "INT32", "UINT64", "UINT8"] {
            let mut data = Vec::new();
            for _ in 0..400 {
                let bits = next();
                let text = match bits % 6 {
                    0 => format!("{}", f64::from_bits(bits >> 2)),
                    1 => format!("{:e}", (bits as f64) / 1e7),
                    2 => format!("{}", bits as i64),
                    3 => format!("{}", bits % 1000),
                    4 => format!("-{}.{:03}", bits % 100, bits % 1000),
                    _ => format!("{}e{}", bits % 10_000, (bits % 40) as i64 - 20),
                };
                if text.contains("inf") || text.contains("NaN") {
                    continue;
                }
                data.push(text);
            }
            for chunk in data.chunks(7) {
                let body = format!(
                    r#"{{"inputs":[{{"name":"x","shape":[{}],"datatype":"{datatype}","data":[{}]}}]}}"#,
                    chunk.len(),
                    chunk.join(",")
                );
                // Out-of-range elements are declined; the rest must agree.
                agrees(&body);
            }
        }
    }
}
