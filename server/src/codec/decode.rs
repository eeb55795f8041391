//! Request input -> loader tensor.

use ironflow_loader::tensor::{f16, ndarray::ArrayD, Datum};
use ironflow_loader::{DataType, NamedTensor, Tensor};

use super::elements::{parse_flat, Element};
use super::RequestInput;

/// Why a request input cannot be decoded into a tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datatype is not one the protocol defines.
    #[error("input {name:?}: {source}")]
    Datatype {
        /// The input.
        name: String,
        /// The parse error.
        source: ironflow_loader::datatype::UnknownDataType,
    },
    /// A negative dimension.
    #[error("input {name:?}: shape {shape:?} has a negative dimension")]
    NegativeDimension {
        /// The input.
        name: String,
        /// The shape sent.
        shape: Vec<i64>,
    },
    /// The data does not parse as the datatype's elements.
    #[error("input {name:?} ({datatype}): {message}")]
    Data {
        /// The input.
        name: String,
        /// The declared datatype.
        datatype: DataType,
        /// What is wrong.
        message: String,
    },
    /// An input with neither `data` nor binary data.
    #[error("input {name:?} has no data (and no parameters.binary_data_size)")]
    NoData {
        /// The input.
        name: String,
    },
    /// The element count differs from the shape's product.
    #[error("input {name:?}: shape {shape:?} needs {expected} elements, but data has {got}")]
    ElementCount {
        /// The input.
        name: String,
        /// The shape sent.
        shape: Vec<i64>,
        /// The shape's product.
        expected: usize,
        /// The element count.
        got: usize,
    },
}

/// An input's declared datatype and shape, checked: a datatype the protocol defines and no
/// negative dimension.
pub(super) fn datatype_and_shape(
    input: &RequestInput,
) -> Result<(DataType, Vec<usize>), DecodeError> {
    let name = &input.name;
    let datatype: DataType = input
        .datatype
        .parse()
        .map_err(|source| DecodeError::Datatype {
            name: name.clone(),
            source,
        })?;
    let shape: Vec<usize> = input
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| DecodeError::NegativeDimension {
            name: name.clone(),
            shape: input.shape.clone(),
        })?;
    Ok((datatype, shape))
}

/// Decodes one request input into a named tensor of its declared datatype and shape.
pub fn decode_input(input: &RequestInput) -> Result<NamedTensor, DecodeError> {
    let name = &input.name;
    let (datatype, shape) = datatype_and_shape(input)?;
    let json = input
        .data
        .as_ref()
        .ok_or_else(|| DecodeError::NoData { name: name.clone() })?
        .get();
    let tensor = match datatype {
        DataType::Bool => build::<bool>(input, datatype, &shape, json),
        DataType::Uint8 => build::<u8>(input, datatype, &shape, json),
        DataType::Uint16 => build::<u16>(input, datatype, &shape, json),
        DataType::Uint32 => build::<u32>(input, datatype, &shape, json),
        DataType::Uint64 => build::<u64>(input, datatype, &shape, json),
        DataType::Int8 => build::<i8>(input, datatype, &shape, json),
        DataType::Int16 => build::<i16>(input, datatype, &shape, json),
        DataType::Int32 => build::<i32>(input, datatype, &shape, json),
        DataType::Int64 => build::<i64>(input, datatype, &shape, json),
        DataType::Fp16 => build::<f16>(input, datatype, &shape, json),
        DataType::Fp32 => build::<f32>(input, datatype, &shape, json),
        DataType::Fp64 => build::<f64>(input, datatype, &shape, json),
        DataType::Bytes => build::<String>(input, datatype, &shape, json),
    }?;
    Ok(NamedTensor::new(name.clone(), tensor))
}

fn build<T: Element + Datum>(
    input: &RequestInput,
    datatype: DataType,
    shape: &[usize],
    json: &str,
) -> Result<Tensor, DecodeError> {
    let data = parse_flat::<T>(json).map_err(|message| DecodeError::Data {
        name: input.name.clone(),
        datatype,
        message,
    })?;
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let count_error = |expected: usize| DecodeError::ElementCount {
        name: input.name.clone(),
        shape: input.shape.clone(),
        expected,
        got: data.len(),
    };
    match expected {
        Some(expected) if expected == data.len() => {}
        Some(expected) => return Err(count_error(expected)),
        None => return Err(count_error(usize::MAX)),
    }
    ArrayD::from_shape_vec(shape, data)
        .map(Tensor::from)
        .map_err(|e| DecodeError::Data {
            name: input.name.clone(),
            datatype,
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> RequestInput {
        serde_json::from_str(json).expect("valid input json")
    }

    #[test]
    fn decodes_shape_and_type() {
        let t = decode_input(&input(
            r#"{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}"#,
        ))
        .expect("decode");
        assert_eq!(t.tensor.shape(), &[2, 2]);
        assert_eq!(t.tensor.datum_type(), f32::datum_type());
    }

    #[test]
    fn rejects_count_mismatch_and_unknown_datatype() {
        let err = decode_input(&input(
            r#"{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3]}"#,
        ))
        .expect_err("count");
        assert!(matches!(
            err,
            DecodeError::ElementCount {
                expected: 4,
                got: 3,
                ..
            }
        ));
        let err = decode_input(&input(
            r#"{"name":"x","shape":[1],"datatype":"FLOAT","data":[1]}"#,
        ))
        .expect_err("datatype");
        assert!(err.to_string().contains("FLOAT"));
        let err = decode_input(&input(
            r#"{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}"#,
        ))
        .expect_err("negative");
        assert!(matches!(err, DecodeError::NegativeDimension { .. }));
    }
}
