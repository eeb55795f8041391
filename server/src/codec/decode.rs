//! Request input -> loader tensor.

use ironflow_loader::tensor::TVec;
use ironflow_loader::{DataType, NamedTensor};

use super::error::DecodeError;
use super::input_data::{Elements, InputData};
use super::RequestInput;

/// An input's declared datatype and shape, checked: a datatype the protocol defines and no
/// negative dimension.
pub(super) fn datatype_and_shape(
    input: &RequestInput,
) -> Result<(DataType, TVec<usize>), DecodeError> {
    let name = &input.name;
    let datatype: DataType = input
        .datatype
        .parse()
        .map_err(|source| DecodeError::Datatype {
            name: name.clone(),
            source,
        })?;
    // Inline up to four dimensions: no allocation for the shapes requests carry.
    let shape: TVec<usize> = input
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| DecodeError::NegativeDimension {
            name: name.clone(),
            shape: input.shape.to_vec(),
        })?;
    Ok((datatype, shape))
}

/// Decodes one request input into a named tensor of its declared datatype and shape, taking its
/// `data` (parsed already when the body was read, or parsed now from the text kept). The input's
/// `data` and, on success, its `name` are moved out.
pub fn decode_input(input: &mut RequestInput) -> Result<NamedTensor, DecodeError> {
    let (datatype, shape) = datatype_and_shape(input)?;
    let name = &input.name;
    let elements = match input.data.take() {
        None => return Err(DecodeError::NoData { name: name.clone() }),
        Some(InputData::Typed(elements)) => elements,
        Some(InputData::Raw(json)) => Elements::parse(datatype, json.get()),
    };
    let elements = elements.map_err(|message| DecodeError::Data {
        name: name.clone(),
        datatype,
        message,
    })?;
    let tensor = elements.into_tensor(name, &input.shape, datatype, &shape)?;
    // The input is spent: its name moves into the tensor.
    Ok(NamedTensor::new(std::mem::take(&mut input.name), tensor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironflow_loader::tensor::Datum;

    fn input(json: &str) -> RequestInput {
        serde_json::from_str(json).expect("valid input json")
    }

    #[test]
    fn decodes_shape_and_type() {
        let t = decode_input(&mut input(
            r#"{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}"#,
        ))
        .expect("decode");
        assert_eq!(t.tensor.shape(), &[2, 2]);
        assert_eq!(t.tensor.datum_type(), f32::datum_type());
    }

    #[test]
    fn rejects_count_mismatch_and_unknown_datatype() {
        let err = decode_input(&mut input(
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
        let err = decode_input(&mut input(
            r#"{"name":"x","shape":[1],"datatype":"FLOAT","data":[1]}"#,
        ))
        .expect_err("datatype");
        assert!(err.to_string().contains("FLOAT"));
        let err = decode_input(&mut input(
            r#"{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}"#,
        ))
        .expect_err("negative");
        assert!(matches!(err, DecodeError::NegativeDimension { .. }));
    }
}
