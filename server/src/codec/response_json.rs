//! The JSON of an [`InferResponse`] written straight into a byte buffer: the bytes
//! `serde_json::to_writer` writes for it (same field order, `itoa` integers, `zmij` floats,
//! non-finite floats as `null`, serde_json's string escapes), without the serializer's
//! per-field calls. Anything it does not write itself (a parameter value that is not a string,
//! an element type the protocol cannot carry) goes through serde_json, so errors stay serde's.

use ironflow_loader::tensor::{f16, Datum, DatumType};
use ironflow_loader::Tensor;
use serde_json::Value;

use super::{InferResponse, OutputData, Parameters, ResponseOutput};

/// Appends the JSON of `response` to `out`, byte for byte as `serde_json::to_writer` would.
pub fn write_response(
    out: &mut Vec<u8>,
    response: &InferResponse,
) -> Result<(), serde_json::Error> {
    let start = out.len();
    if write_fast(out, response).is_none() {
        out.truncate(start);
        serde_json::to_writer(&mut *out, response)?;
    }
    Ok(())
}

/// The hand-written form; `None` when an output's elements need serde (an error to report).
fn write_fast(out: &mut Vec<u8>, response: &InferResponse) -> Option<()> {
    out.extend_from_slice(b"{\"model_name\":");
    string(out, &response.model_name);
    if let Some(version) = &response.model_version {
        out.extend_from_slice(b",\"model_version\":");
        string(out, version);
    }
    out.extend_from_slice(b",\"id\":");
    string(out, &response.id);
    // MLServer's sklearn / xgboost / lightgbm runtimes set no response parameters: omitted.
    if !response.parameters.is_empty() {
        out.extend_from_slice(b",\"parameters\":");
        parameters(out, &response.parameters);
    }
    out.extend_from_slice(b",\"outputs\":[");
    for (i, output) in response.outputs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_output(out, output)?;
    }
    out.extend_from_slice(b"]}");
    Some(())
}

fn write_output(out: &mut Vec<u8>, output: &ResponseOutput) -> Option<()> {
    out.extend_from_slice(b"{\"name\":");
    string(out, &output.name);
    out.extend_from_slice(b",\"shape\":[");
    let mut digits = itoa::Buffer::new();
    for (i, d) in output.shape.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(digits.format(*d).as_bytes());
    }
    out.extend_from_slice(b"],\"datatype\":");
    string(out, output.datatype);
    out.extend_from_slice(b",\"parameters\":");
    parameters(out, &output.parameters);
    if let Some(data) = &output.data {
        out.extend_from_slice(b",\"data\":");
        elements(out, data)?;
    }
    out.push(b'}');
    Some(())
}

/// A parameter map: keys in map order; string values by hand, any other value through serde.
fn parameters(out: &mut Vec<u8>, parameters: &Parameters) {
    out.push(b'{');
    for (i, (key, value)) in parameters.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, key);
        out.push(b':');
        match value {
            Value::String(s) => string(out, s),
            // Writing a `Value` into a `Vec` cannot fail.
            other => {
                let _ = serde_json::to_writer(&mut *out, other);
            }
        }
    }
    out.push(b'}');
}

/// The flat element list of an output, as `OutputData`'s `Serialize` writes it.
fn elements(out: &mut Vec<u8>, data: &OutputData) -> Option<()> {
    let t = &data.0;
    match t.datum_type() {
        DatumType::Bool => list::<bool>(out, t, |out, v| {
            out.extend_from_slice(if *v { b"true" } else { b"false" })
        }),
        DatumType::U8 => ints::<u8>(out, t),
        DatumType::U16 => ints::<u16>(out, t),
        DatumType::U32 => ints::<u32>(out, t),
        DatumType::U64 => ints::<u64>(out, t),
        DatumType::I8 => ints::<i8>(out, t),
        DatumType::I16 => ints::<i16>(out, t),
        DatumType::I32 => ints::<i32>(out, t),
        DatumType::I64 => ints::<i64>(out, t),
        DatumType::F16 => {
            let mut buffer = zmij::Buffer::new();
            list::<f16>(out, t, |out, v| f32_value(out, &mut buffer, v.to_f32()))
        }
        DatumType::F32 => {
            let mut buffer = zmij::Buffer::new();
            list::<f32>(out, t, |out, v| f32_value(out, &mut buffer, *v))
        }
        DatumType::F64 => {
            let mut buffer = zmij::Buffer::new();
            list::<f64>(out, t, |out, v| {
                if v.is_finite() {
                    out.extend_from_slice(buffer.format_finite(*v).as_bytes());
                } else {
                    out.extend_from_slice(b"null");
                }
            })
        }
        DatumType::String => list::<String>(out, t, |out, v| string(out, v)),
        _ => None,
    }
}

fn f32_value(out: &mut Vec<u8>, buffer: &mut zmij::Buffer, v: f32) {
    if v.is_finite() {
        out.extend_from_slice(buffer.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn ints<T: Datum + itoa::Integer + Copy>(out: &mut Vec<u8>, t: &Tensor) -> Option<()> {
    let mut buffer = itoa::Buffer::new();
    list::<T>(out, t, |out, v| {
        out.extend_from_slice(buffer.format(*v).as_bytes())
    })
}

/// `[e0,e1,...]` of the tensor's elements; `None` when its storage is not a plain slice of `T`.
fn list<T: Datum>(
    out: &mut Vec<u8>,
    t: &Tensor,
    mut element: impl FnMut(&mut Vec<u8>, &T),
) -> Option<()> {
    let data = t.try_as_plain_ram().ok()?.as_slice::<T>().ok()?;
    out.push(b'[');
    for (i, v) in data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        element(out, v);
    }
    out.push(b']');
    Some(())
}

/// serde_json's escape table: `b'x'` means byte `i` is written as `\x`, `b'u'` as `\u00XX`,
/// 0 as itself (its `format_escaped_str`).
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// A JSON string, escaped as serde_json escapes it.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most strings (names, ids, datatypes) need no escape: skip them 8 bytes at a time.
    let clean = bytes
        .chunks_exact(8)
        .take_while(|chunk| {
            let word = u64::from_le_bytes([
                chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
            ]);
            !needs_escape(word)
        })
        .count()
        * 8;
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate().skip(clean) {
        let escape = ESCAPE[byte as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xF) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the 8 bytes of `word` is one serde_json escapes: below 0x20, `"` or `\`.
/// (Bit tricks from "Bit Twiddling Hacks": a byte's high bit is set in `x - 0x01..` & `!x`
/// where the byte of `x` is zero; bytes of 0x80 and above never count.)
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_output;
    use ironflow_loader::tensor::{tensor0, tensor1, tensor2};
    use ironflow_loader::NamedTensor;

    fn response(outputs: Vec<NamedTensor>, version: Option<&str>, id: &str) -> InferResponse {
        let mut parameters = Parameters::new();
        parameters.insert("content_type".into(), "np".into());
        InferResponse {
            model_name: "iris \"lr\" é\u{1}\u{7f}\\/".into(),
            model_version: version.map(str::to_owned),
            id: id.into(),
            parameters,
            outputs: outputs
                .into_iter()
                .map(|o| encode_output(o).expect("encode"))
                .collect(),
            binary: None,
        }
    }

    fn assert_same(response: &InferResponse) {
        let mut fast = Vec::new();
        write_response(&mut fast, response).expect("hand-written");
        let serde = serde_json::to_vec(response).expect("serde");
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&serde)
        );
    }

    #[test]
    fn writes_what_serde_writes_for_every_datatype() {
        let all_bytes: String = (0u8..=0x7f).map(char::from).collect();
        let floats32 = [
            0.0f32,
            -0.0,
            1.0,
            0.1,
            1e-7,
            3.4e38,
            f32::MIN_POSITIVE,
            1e21,
            123456.79,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let floats64 = [
            0.0f64,
            -0.0,
            0.1,
            1.0 / 3.0,
            1e300,
            5e-324,
            1e16,
            1e15,
            f64::NAN,
            f64::NEG_INFINITY,
        ];
        let outputs = vec![
            NamedTensor::new("b", tensor1(&[true, false])),
            NamedTensor::new("u8", tensor1(&[0u8, 255])),
            NamedTensor::new("u16", tensor1(&[0u16, 65535])),
            NamedTensor::new("u32", tensor1(&[0u32, u32::MAX])),
            NamedTensor::new("u64", tensor1(&[0u64, u64::MAX])),
            NamedTensor::new("i8", tensor1(&[i8::MIN, -1, 0, i8::MAX])),
            NamedTensor::new("i16", tensor1(&[i16::MIN, i16::MAX])),
            NamedTensor::new("i32", tensor1(&[i32::MIN, i32::MAX])),
            NamedTensor::new("i64", tensor2(&[[i64::MIN, 0], [7, i64::MAX]])),
            NamedTensor::new(
                "f16",
                tensor1(&[
                    f16::from_f32(0.1),
                    f16::from_f32(-2.5),
                    f16::from_f32(f32::NAN),
                ]),
            ),
            NamedTensor::new("f32", tensor1(&floats32)),
            NamedTensor::new("f64", tensor1(&floats64)),
            NamedTensor::new(
                "s ü\t",
                tensor1(&[all_bytes, "日本語 \u{2028}".to_string(), String::new()]),
            ),
            NamedTensor::new("scalar", tensor0(2.5f32)),
            NamedTensor::new("empty", tensor1::<f32>(&[])),
        ];
        assert_same(&response(outputs, Some("v1\n"), "id-\"1\""));
        assert_same(&response(Vec::new(), None, ""));
    }

    #[test]
    fn the_word_test_finds_every_escaped_byte() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut word = *b"abcdefgh";
                word[position] = byte;
                assert_eq!(
                    needs_escape(u64::from_le_bytes(word)),
                    ESCAPE[byte as usize] != 0,
                    "{byte:#x} at {position}"
                );
            }
        }
        let text: String = (0u8..=0x7f)
            .map(char::from)
            .chain("é日本\u{7f}".chars())
            .collect();
        for start in 0..text.len() {
            if let Some(s) = text.get(start..) {
                let mut fast = Vec::new();
                string(&mut fast, s);
                assert_eq!(fast, serde_json::to_vec(s).expect("serde"), "{start}");
            }
        }
    }

    #[test]
    fn writes_what_serde_writes_for_any_parameter_value() {
        let mut r = response(
            vec![NamedTensor::new("p", tensor2(&[[0.25f32, 0.75]]))],
            None,
            "00000000-0000-4000-8000-000000000000",
        );
        r.parameters.insert("n".into(), Value::from(-3));
        r.parameters.insert("f".into(), Value::from(0.5));
        r.parameters.insert("t".into(), Value::Bool(true));
        r.parameters.insert("z".into(), Value::Null);
        r.parameters
            .insert("l".into(), serde_json::json!([1, "a\u{0}", {"k": 1.5}]));
        r.outputs[0]
            .parameters
            .insert("binary_data_size".into(), Value::from(8u64));
        r.outputs[0].data = None;
        assert_same(&r);
    }
}
