//! An input's JSON `data`, read in the same pass as the rest of the request body: when the
//! input's `datatype` comes before its `data` (as every client sends it), the elements are parsed
//! straight into a typed buffer and the body is never parsed twice; otherwise the raw JSON text
//! is kept and parsed once the datatype is known.

use std::borrow::Cow;
use std::fmt;

use ironflow_loader::tensor::{f16, TVec};
use ironflow_loader::{DataType, Tensor};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::elements::{Element, Flatten};
use super::error::DecodeError;
use super::raw::{shaped, shaped_plain};
use super::Parameters;

/// One input tensor of a request. Its `Deserialize` (below) parses `data` straight
/// into a typed buffer when the datatype precedes it, and keeps the text otherwise.
#[derive(Debug)]
pub struct RequestInput {
    /// The input name.
    pub name: String,
    /// Its shape (inline up to four dimensions: no allocation for the shapes requests carry).
    pub shape: TVec<i64>,
    /// Its v2 datatype name: borrowed when it is one the protocol defines (no allocation),
    /// owned otherwise (kept for the error message).
    pub datatype: Cow<'static, str>,
    /// Input parameters.
    pub parameters: Option<Parameters>,
    /// The elements, flat or nested, row-major; absent when they travel as binary data
    /// (`parameters.binary_data_size`, docs/compat.md §3.3).
    pub data: Option<InputData>,
}

/// The `data` of a request input.
#[derive(Debug)]
pub enum InputData {
    /// Parsed while reading the body into the elements of the declared datatype, or the message
    /// naming the first element that does not fit it.
    Typed(Result<Elements, String>),
    /// The JSON text, parsed later (`data` came before `datatype`, or is built by another codec).
    Raw(Box<RawValue>),
}

/// A flat, row-major buffer of one v2 datatype's elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Elements {
    /// `BOOL`.
    Bool(Vec<bool>),
    /// `UINT8`.
    Uint8(Vec<u8>),
    /// `UINT16`.
    Uint16(Vec<u16>),
    /// `UINT32`.
    Uint32(Vec<u32>),
    /// `UINT64`.
    Uint64(Vec<u64>),
    /// `INT8`.
    Int8(Vec<i8>),
    /// `INT16`.
    Int16(Vec<i16>),
    /// `INT32`.
    Int32(Vec<i32>),
    /// `INT64`.
    Int64(Vec<i64>),
    /// `FP16`.
    Fp16(Vec<f16>),
    /// `FP32`.
    Fp32(Vec<f32>),
    /// `FP64`.
    Fp64(Vec<f64>),
    /// `BYTES`, as text.
    Bytes(Vec<String>),
}

impl Elements {
    /// Parses `json` (a scalar, or lists nested to any depth) as `datatype`'s elements.
    pub fn parse(datatype: DataType, json: &str) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        let elements = ElementsSeed(datatype)
            .deserialize(&mut de)
            .and_then(|parsed| de.end().map(|()| parsed))
            .map_err(|e| e.to_string())?;
        elements
    }

    /// The tensor of `shape`, once the element count is checked against it.
    pub fn into_tensor(
        self,
        name: &str,
        wire_shape: &[i64],
        datatype: DataType,
        shape: &[usize],
    ) -> Result<Tensor, DecodeError> {
        match self {
            Elements::Bytes(v) => shaped(name, wire_shape, datatype, shape, v),
            Elements::Bool(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Uint8(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Uint16(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Uint32(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Uint64(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Int8(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Int16(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Int32(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Int64(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Fp16(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Fp32(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
            Elements::Fp64(v) => shaped_plain(name, wire_shape, datatype, shape, &v),
        }
    }
}

/// Parses one datatype's elements from a deserializer; a mismatched element does not stop the
/// parse (the rest of the value is consumed), it becomes the inner `Err`.
struct ElementsSeed(DataType);

fn flat<'de, T: Element, D: Deserializer<'de>>(
    deserializer: D,
    wrap: fn(Vec<T>) -> Elements,
) -> Result<Result<Elements, String>, D::Error> {
    let mut out = Vec::new();
    let mut error = None;
    Flatten::new(&mut out, &mut error).deserialize(deserializer)?;
    Ok(match error {
        None => Ok(wrap(out)),
        Some(message) => Err(message),
    })
}

impl<'de> DeserializeSeed<'de> for ElementsSeed {
    type Value = Result<Elements, String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.0 {
            DataType::Bool => flat(d, Elements::Bool),
            DataType::Uint8 => flat(d, Elements::Uint8),
            DataType::Uint16 => flat(d, Elements::Uint16),
            DataType::Uint32 => flat(d, Elements::Uint32),
            DataType::Uint64 => flat(d, Elements::Uint64),
            DataType::Int8 => flat(d, Elements::Int8),
            DataType::Int16 => flat(d, Elements::Int16),
            DataType::Int32 => flat(d, Elements::Int32),
            DataType::Int64 => flat(d, Elements::Int64),
            DataType::Fp16 => flat(d, Elements::Fp16),
            DataType::Fp32 => flat(d, Elements::Fp32),
            DataType::Fp64 => flat(d, Elements::Fp64),
            DataType::Bytes => flat(d, Elements::Bytes),
        }
    }
}

/// `data`, which may be `null` (no data: the input must then travel as binary data).
struct OptionalData(Option<DataType>);

impl<'de> DeserializeSeed<'de> for OptionalData {
    type Value = Option<InputData>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalData {
    type Value = Option<InputData>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tensor data")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Ok(Some(match self.0 {
            Some(datatype) => InputData::Typed(ElementsSeed(datatype).deserialize(d)?),
            None => InputData::Raw(de::Deserialize::deserialize(d)?),
        }))
    }
}

/// The fields of a request input.
enum Field {
    Name,
    Shape,
    Datatype,
    Parameters,
    Data,
    Other,
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "name" => Field::Name,
                    "shape" => Field::Shape,
                    "datatype" => Field::Datatype,
                    "parameters" => Field::Parameters,
                    "data" => Field::Data,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

const FIELDS: &[&str] = &["name", "shape", "datatype", "parameters", "data"];

impl<'de> de::Deserialize<'de> for RequestInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("RequestInput", FIELDS, InputVisitor)
    }
}

struct InputVisitor;

fn once<T, E: de::Error>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for InputVisitor {
    type Value = RequestInput;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct RequestInput")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestInput, A::Error> {
        let mut name: Option<String> = None;
        let mut shape: Option<Vec<i64>> = None;
        let mut datatype: Option<String> = None;
        let mut parameters: Option<Option<Parameters>> = None;
        let mut data: Option<Option<InputData>> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Name => once(&mut name, "name", map.next_value()?)?,
                Field::Shape => once(&mut shape, "shape", map.next_value::<Vec<i64>>()?)?,
                Field::Datatype => once(&mut datatype, "datatype", map.next_value()?)?,
                Field::Parameters => once(&mut parameters, "parameters", map.next_value()?)?,
                Field::Data => {
                    // Typed only when the datatype is known; an unknown one keeps the text, so
                    // the error names the datatype rather than an element.
                    let known = datatype.as_deref().and_then(|d| d.parse::<DataType>().ok());
                    let value = map.next_value_seed(OptionalData(known))?;
                    once(&mut data, "data", value)?;
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RequestInput {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            shape: shape
                .ok_or_else(|| de::Error::missing_field("shape"))?
                .into(),
            datatype: datatype
                .ok_or_else(|| de::Error::missing_field("datatype"))?
                .into(),
            parameters: parameters.flatten(),
            data: data.flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> RequestInput {
        serde_json::from_str(json).expect("valid input json")
    }

    #[test]
    fn data_after_the_datatype_is_parsed_in_the_same_pass() {
        let i = input(r#"{"name":"x","shape":[2],"datatype":"FP32","data":[[1],[2.5]]}"#);
        assert!(
            matches!(i.data, Some(InputData::Typed(Ok(Elements::Fp32(ref v)))) if v == &[1.0, 2.5])
        );
        let i =
            input(r#"{"name":"x","shape":[1],"datatype":"INT64","data":[1],"other":{"a":[1]}}"#);
        assert!(matches!(
            i.data,
            Some(InputData::Typed(Ok(Elements::Int64(_))))
        ));
    }

    #[test]
    fn data_before_the_datatype_stays_raw() {
        let i = input(r#"{"data":[1,2],"name":"x","shape":[2],"datatype":"FP32"}"#);
        assert!(matches!(i.data, Some(InputData::Raw(ref raw)) if raw.get() == "[1,2]"));
        let i = input(r#"{"name":"x","shape":[2],"datatype":"FLOAT","data":[1,2]}"#);
        assert!(matches!(i.data, Some(InputData::Raw(_))));
    }

    #[test]
    fn a_bad_element_is_named_and_the_body_still_parses() {
        let i = input(
            r#"{"name":"x","shape":[3],"datatype":"FP64","data":[1,"abc",{"a":1}],"parameters":{"p":1}}"#,
        );
        let Some(InputData::Typed(Err(message))) = i.data else {
            panic!("expected a typed error, got {:?}", i.data);
        };
        assert!(message.contains("element 1"), "{message}");
        assert!(i.parameters.is_some());
    }

    #[test]
    fn null_data_missing_fields_and_duplicates() {
        assert!(
            input(r#"{"name":"x","shape":[1],"datatype":"FP32","data":null}"#)
                .data
                .is_none()
        );
        assert!(input(r#"{"name":"x","shape":[1],"datatype":"FP32"}"#)
            .data
            .is_none());
        let missing = serde_json::from_str::<RequestInput>(r#"{"name":"x","datatype":"FP32"}"#)
            .expect_err("no shape");
        assert!(
            missing.to_string().contains("missing field `shape`"),
            "{missing}"
        );
        let twice = serde_json::from_str::<RequestInput>(
            r#"{"name":"x","name":"y","shape":[1],"datatype":"FP32"}"#,
        )
        .expect_err("duplicate");
        assert!(
            twice.to_string().contains("duplicate field `name`"),
            "{twice}"
        );
    }

    #[test]
    fn typed_and_raw_parses_agree() {
        for (datatype, data) in [
            (DataType::Fp32, "[[1, 2.5], [null, -3]]"),
            (DataType::Int32, "[1, 2, -3]"),
            (DataType::Bool, "[true, false]"),
            (DataType::Bytes, r#"["a", ["b"]]"#),
            (DataType::Uint8, "[256]"),
        ] {
            let body = format!(
                r#"{{"name":"x","shape":[1],"datatype":"{}","data":{data}}}"#,
                datatype.as_str()
            );
            let Some(InputData::Typed(typed)) = input(&body).data else {
                panic!("not typed: {body}");
            };
            let raw = Elements::parse(datatype, data);
            assert_eq!(format!("{typed:?}"), format!("{raw:?}"), "{body}");
        }
    }
}
