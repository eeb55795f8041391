//! Request decoding by content type, as MLServer's codecs decode a request before the MLflow
//! runtime hands it to the model (docs/compat.md §1.6, §1.7). Transport-neutral: REST JSON, REST
//! binary and gRPC first turn their wire form into tensors, then call [`apply_content_types`].
//!
//! The request content type is `parameters.content_type`, else the model's default from its
//! signature (`pd` for columns, `dict` for named tensors, `np` for one unnamed tensor; none
//! without a signature). Each input's content type is its own `parameters.content_type`, else the
//! signature's for that input. What each one checks or does:
//!
//! | content type | level | rule |
//! |---|---|---|
//! | `np` | request | exactly one input |
//! | `pd` | request | every input `[N]` or `[N, 1]`, all with the same `N` |
//! | `dict` | request | named tensors (nothing to check) |
//! | `str` | request, input | `BYTES` (UTF-8 text); as a request type, exactly one input |
//! | `base64` | input | each element base64-decoded, or kept as is when it is not base64 |
//! | `datetime` | input | each element an ISO-8601 date or datetime |
//! | `pd_json` | input | each element JSON text |
//!
//! A content type an input inherits from the signature is applied only to `BYTES` inputs (any
//! other datatype goes on to the model's own datatype rules); one the client sets must fit.

use std::fmt;

use base64::Engine as _;
use ironflow_loader::tensor::{ndarray::ArrayD, Tensor};
use ironflow_loader::{DataType, NamedTensor};

use super::metadata::ModelMetadata;

use super::{content_type, Parameters};

/// A content type MLServer's MLflow runtime knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// One array (`NumpyCodec` / `NumpyRequestCodec`).
    Np,
    /// A DataFrame, one column per input (`PandasCodec`).
    Pd,
    /// `{name: array}` (the MLflow runtime's `TensorDictCodec`).
    Dict,
    /// UTF-8 strings (`StringCodec` / `StringRequestCodec`).
    Str,
    /// Base64-encoded bytes (`Base64Codec`).
    Base64,
    /// ISO-8601 datetimes (`DatetimeCodec`).
    Datetime,
    /// One JSON document per element (`PandasJsonContentType`).
    PdJson,
}

impl ContentType {
    /// Parses a content type name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "np" => Self::Np,
            "pd" => Self::Pd,
            "dict" => Self::Dict,
            "str" => Self::Str,
            "base64" => Self::Base64,
            "datetime" => Self::Datetime,
            "pd_json" => Self::PdJson,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Np => "np",
            Self::Pd => "pd",
            Self::Dict => "dict",
            Self::Str => "str",
            Self::Base64 => "base64",
            Self::Datetime => "datetime",
            Self::PdJson => "pd_json",
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request does not fit its content types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    /// A content type no codec handles.
    #[error("unknown content type {name:?}{}; ironflow decodes np, pd, dict, str, base64, datetime and pd_json", at.as_ref().map(|i| format!(" on input {i:?}")).unwrap_or_default())]
    Unknown {
        /// The name sent.
        name: String,
        /// The input that set it, or none for the request.
        at: Option<String>,
    },
    /// `np` or `str` at request level with other than one input.
    #[error("content type {content_type} decodes a request of exactly one input, but the request has {count}")]
    SingleInput {
        /// `np` or `str`.
        content_type: ContentType,
        /// The number of inputs sent.
        count: usize,
    },
    /// A `pd` input that is not one column.
    #[error("content type pd takes one column per input, of shape [N] or [N, 1]: input {name:?} has shape {shape:?}")]
    PdShape {
        /// The input.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// `pd` inputs of different lengths.
    #[error("content type pd needs every column to have the same length: input {name:?} has {got} rows, but {first:?} has {expected}")]
    PdRows {
        /// The input.
        name: String,
        /// Its rows.
        got: usize,
        /// The first input.
        first: String,
        /// Its rows.
        expected: usize,
    },
    /// A request-only content type set on an input.
    #[error("content type {content_type} applies to a whole request, not to input {name:?}")]
    RequestOnly {
        /// `pd` or `dict`.
        content_type: ContentType,
        /// The input.
        name: String,
    },
    /// An input-only content type set on the request.
    #[error("content type {content_type} applies to inputs, not to a whole request")]
    InputOnly {
        /// `base64`, `datetime` or `pd_json`.
        content_type: ContentType,
    },
    /// A text content type on an input that is not `BYTES`.
    #[error("input {name:?} has content type {content_type}, which needs datatype BYTES, not {datatype}")]
    NeedsBytes {
        /// The input.
        name: String,
        /// Its content type.
        content_type: ContentType,
        /// Its datatype.
        datatype: String,
    },
    /// A base64 element whose decoded bytes are not text.
    #[error("input {name:?} (base64): element {index} decodes to bytes that are not UTF-8, which no model ironflow serves can take")]
    NotUtf8 {
        /// The input.
        name: String,
        /// The element.
        index: usize,
    },
    /// A datetime element that does not parse.
    #[error(
        "input {name:?} (datetime): element {index} {value:?} is not an ISO-8601 date or datetime"
    )]
    Datetime {
        /// The input.
        name: String,
        /// The element.
        index: usize,
        /// Its value.
        value: String,
    },
    /// A pd_json element that is not JSON.
    #[error("input {name:?} (pd_json): element {index} is not JSON: {message}")]
    Json {
        /// The input.
        name: String,
        /// The element.
        index: usize,
        /// The parse error.
        message: String,
    },
    /// A content type that is not a string.
    #[error("parameter content_type{} must be a string, got {value}", at.as_ref().map(|i| format!(" of input {i:?}")).unwrap_or_default())]
    NotAString {
        /// The input that set it, or none for the request.
        at: Option<String>,
        /// The value sent.
        value: String,
    },
}

/// One decoded input with the `parameters` it came with.
#[derive(Debug)]
pub struct TaggedInput {
    /// The tensor, decoded with the request's datatype and shape.
    pub tensor: NamedTensor,
    /// The input's `parameters`.
    pub parameters: Option<Parameters>,
}

/// The content type a parameter map sets, if any.
fn explicit(
    parameters: Option<&Parameters>,
    at: Option<&str>,
) -> Result<Option<ContentType>, ContentTypeError> {
    let Some(value) = parameters.and_then(|p| p.get("content_type")) else {
        return Ok(None);
    };
    let Some(name) = value.as_str() else {
        return Err(ContentTypeError::NotAString {
            at: at.map(str::to_owned),
            value: value.to_string(),
        });
    };
    ContentType::parse(name)
        .map(Some)
        .ok_or_else(|| ContentTypeError::Unknown {
            name: name.to_owned(),
            at: at.map(str::to_owned),
        })
}

/// Applies the request's and each input's content type, in MLServer's precedence: the request
/// (or input) `parameters.content_type`, then the model's metadata.
pub fn apply_content_types(
    metadata: &ModelMetadata,
    request_parameters: Option<&Parameters>,
    inputs: Vec<TaggedInput>,
) -> Result<Vec<NamedTensor>, ContentTypeError> {
    let request_type = match explicit(request_parameters, None)? {
        Some(ct) => Some(ct),
        None => content_type(Some(&metadata.parameters)).and_then(ContentType::parse),
    };
    match request_type {
        Some(ct @ (ContentType::Np | ContentType::Str)) if inputs.len() != 1 => {
            return Err(ContentTypeError::SingleInput {
                content_type: ct,
                count: inputs.len(),
            })
        }
        Some(ContentType::Pd) => check_columns(&inputs)?,
        Some(ct @ (ContentType::Base64 | ContentType::Datetime | ContentType::PdJson)) => {
            return Err(ContentTypeError::InputOnly { content_type: ct })
        }
        _ => {}
    }
    // A plain loop into a sized `Vec`: collecting in place would shrink the buffer (a
    // `NamedTensor` is smaller than a `TaggedInput`) with a reallocation per request.
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = &input.tensor.name;
        let own = explicit(input.parameters.as_ref(), Some(name))?;
        let (ct, strict) = match (own, request_type) {
            (Some(ct), _) => (Some(ct), true),
            // A `str` request decodes its one input as strings.
            (None, Some(ContentType::Str)) => (Some(ContentType::Str), true),
            (None, _) => (signature_type(metadata, name), false),
        };
        out.push(match ct {
            Some(ct) => apply_input(input.tensor, ct, strict)?,
            None => input.tensor,
        });
    }
    Ok(out)
}

/// The content type the signature gives an input (through the model metadata).
fn signature_type(metadata: &ModelMetadata, name: &str) -> Option<ContentType> {
    metadata
        .inputs
        .iter()
        .find(|i| i.name == name)
        .and_then(|i| content_type(Some(&i.parameters)))
        .and_then(ContentType::parse)
}

/// `pd`: one column per input, all of one length (`PandasCodec` reshapes each to `(N, 1)`).
fn check_columns(inputs: &[TaggedInput]) -> Result<(), ContentTypeError> {
    let mut first: Option<(&str, usize)> = None;
    for input in inputs {
        let shape = input.tensor.tensor.shape();
        let rows = match shape {
            [n] | [n, 1] => *n,
            _ => {
                return Err(ContentTypeError::PdShape {
                    name: input.tensor.name.clone(),
                    shape: shape.to_vec(),
                })
            }
        };
        match first {
            None => first = Some((&input.tensor.name, rows)),
            Some((first_name, expected)) if expected != rows => {
                return Err(ContentTypeError::PdRows {
                    name: input.tensor.name.clone(),
                    got: rows,
                    first: first_name.to_owned(),
                    expected,
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn apply_input(
    input: NamedTensor,
    ct: ContentType,
    strict: bool,
) -> Result<NamedTensor, ContentTypeError> {
    let datatype = DataType::from_datum_type(input.tensor.datum_type());
    match ct {
        ContentType::Np => return Ok(input),
        ContentType::Pd | ContentType::Dict => {
            return Err(ContentTypeError::RequestOnly {
                content_type: ct,
                name: input.name,
            })
        }
        ContentType::Str | ContentType::Base64 | ContentType::Datetime | ContentType::PdJson => {}
    }
    if datatype != Some(DataType::Bytes) {
        if !strict {
            return Ok(input);
        }
        return Err(ContentTypeError::NeedsBytes {
            name: input.name,
            content_type: ct,
            datatype: datatype.map_or_else(
                || format!("{:?}", input.tensor.datum_type()),
                |d| d.as_str().to_owned(),
            ),
        });
    }
    let name = input.name;
    let strings = strings(&input.tensor);
    match ct {
        ContentType::Base64 => {
            let decoded = strings
                .iter()
                .enumerate()
                .map(|(index, s)| decode_base64(s).ok_or(index))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|index| ContentTypeError::NotUtf8 {
                    name: name.clone(),
                    index,
                })?;
            let shape = input.tensor.shape().to_vec();
            let tensor = ArrayD::from_shape_vec(shape, decoded)
                .map(Tensor::from)
                .unwrap_or(input.tensor);
            return Ok(NamedTensor::new(name, tensor));
        }
        ContentType::Datetime => {
            for (index, s) in strings.iter().enumerate() {
                if !is_iso_datetime(s) {
                    return Err(ContentTypeError::Datetime {
                        name,
                        index,
                        value: s.clone(),
                    });
                }
            }
        }
        ContentType::PdJson => {
            for (index, s) in strings.iter().enumerate() {
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(s) {
                    return Err(ContentTypeError::Json {
                        name,
                        index,
                        message: e.to_string(),
                    });
                }
            }
        }
        _ => {}
    }
    Ok(NamedTensor::new(name, input.tensor))
}

fn strings(tensor: &Tensor) -> &[String] {
    tensor
        .try_as_plain_ram()
        .ok()
        .and_then(|v| v.as_slice::<String>().ok())
        .unwrap_or(&[])
}

/// MLServer's `_decode_base64`: the decoded bytes when the element is (canonical, padded,
/// standard-alphabet) base64, else the element as it is. `None` when the decoded bytes are not
/// UTF-8, which a string tensor cannot hold.
fn decode_base64(s: &str) -> Option<String> {
    match base64::engine::general_purpose::STANDARD.decode(s) {
        Ok(bytes) => String::from_utf8(bytes).ok(),
        Err(_) => Some(s.to_owned()),
    }
}

/// Python's `datetime.fromisoformat` forms: `YYYY-MM-DD`, optionally followed by `T` or a space
/// and `HH[:MM[:SS[.ffffff]]]`, optionally followed by `Z` or `±HH:MM[:SS]`.
pub fn is_iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || year == 0 {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    match b.get(10) {
        None => true,
        Some(b'T' | b' ') => is_time(&s[11..]),
        Some(_) => false,
    }
}

/// `HH[:MM[:SS[.f+]]]` then an optional offset.
fn is_time(s: &str) -> bool {
    let (clock, offset) = match s.find(['Z', '+', '-']) {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let (hms, fraction) = match clock.split_once(['.', ',']) {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let limits = [23u32, 59, 59];
    if parts.is_empty() || parts.len() > 3 || (fraction.is_some() && parts.len() < 3) {
        return false;
    }
    let fields_ok = parts.iter().zip(limits).all(|(p, max)| {
        p.len() == 2
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|v| v <= max)
    });
    let fraction_ok =
        fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()));
    let offset_ok = match offset {
        None | Some("Z") => true,
        Some(o) if o.starts_with('Z') => false,
        Some(o) => {
            let rest = &o[1..];
            let parts: Vec<&str> = rest.split(':').collect();
            (1..=3).contains(&parts.len())
                && parts.iter().zip([23u32, 59, 59]).all(|(p, max)| {
                    p.len() == 2
                        && p.bytes().all(|c| c.is_ascii_digit())
                        && p.parse::<u32>().is_ok_and(|v| v <= max)
                })
        }
    };
    fields_ok && fraction_ok && offset_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_datetimes_parse_as_python_does() {
        for ok in [
            "2024-02-29",
            "2021-01-01T10:20",
            "2021-01-01 10:20:30",
            "2021-01-01T10:20:30.123456",
            "2021-01-01T10:20:30Z",
            "2021-01-01T10:20:30+02:00",
            "2021-01-01T10-05:30",
        ] {
            assert!(is_iso_datetime(ok), "{ok}");
        }
        for bad in [
            "",
            "2023-02-29",
            "2021-13-01",
            "2021-1-01",
            "yesterday",
            "2021-01-01T25:00",
            "2021-01-01T10:20:30+2",
            "2021-01-01X10:00",
        ] {
            assert!(!is_iso_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn base64_decodes_or_keeps_the_raw_value() {
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some("hello"));
        assert_eq!(decode_base64("not base64!").as_deref(), Some("not base64!"));
        assert_eq!(decode_base64("/w=="), None);
    }
}
