//! Protobuf <-> loader tensors and metadata, as MLServer's `grpc/converters.py` maps them:
//! typed `contents` per datatype (INT8/16/32 -> `int_contents`, UINT8/16/32 -> `uint_contents`,
//! FP16 and BYTES -> `bytes_contents`), or little-endian `raw_input_contents` with BYTES
//! elements as `<u32 LE length><bytes>` (`mlserver/raw.py`). Raw in means raw out.

use std::collections::HashMap;

use ironflow_loader::tensor::{f16, Datum, DatumType};
use ironflow_loader::{DataType, NamedTensor, Tensor};
use ironflow_proto::inference::infer_parameter::ParameterChoice;
use ironflow_proto::inference::model_infer_request::InferInputTensor;
use ironflow_proto::inference::model_infer_response::InferOutputTensor;
use ironflow_proto::inference::model_metadata_response::TensorMetadata;
use ironflow_proto::inference::{InferParameter, InferTensorContents, ModelMetadataResponse};
use serde_json::Value;

use crate::codec::metadata::{MetadataTensor, ModelMetadata};
use crate::codec::raw::{
    data_error, elements, le_elements, raw_bytes, raw_tensor, shaped, unsupported, utf8,
};
use crate::codec::{output_layout, DecodeError, Parameters, TaggedInput};
use crate::error::ServeError;

/// Decodes a request's inputs, from `raw_input_contents` when it is set (then it must cover
/// every input and no `contents` may be set) or else from each input's typed `contents`. Each
/// input keeps its parameters, for the content-type step.
pub fn decode_inputs(
    inputs: Vec<InferInputTensor>,
    raw: Vec<Vec<u8>>,
) -> Result<Vec<TaggedInput>, ServeError> {
    if raw.is_empty() {
        return inputs
            .into_iter()
            .map(|input| {
                let shape = input_shape(&input)?;
                let datatype = input_datatype(&input)?;
                let parameters = tagged_parameters(&input.parameters);
                let contents = input.contents.unwrap_or_default();
                let tensor = typed_tensor(&input.name, &input.shape, datatype, &shape, contents)?;
                Ok(TaggedInput {
                    tensor: NamedTensor::new(input.name, tensor),
                    parameters,
                })
            })
            .collect();
    }
    if raw.len() != inputs.len() {
        return Err(ServeError::MalformedBody(format!(
            "raw_input_contents has {} entries but the request has {} inputs",
            raw.len(),
            inputs.len()
        )));
    }
    inputs
        .into_iter()
        .zip(raw)
        .map(|(input, bytes)| {
            if input.contents.is_some() {
                return Err(ServeError::MalformedBody(format!(
                    "input {:?} sets contents although the request uses raw_input_contents",
                    input.name
                )));
            }
            let shape = input_shape(&input)?;
            let datatype = input_datatype(&input)?;
            let parameters = tagged_parameters(&input.parameters);
            let tensor = raw_tensor(&input.name, &input.shape, datatype, &shape, &bytes)?;
            Ok(TaggedInput {
                tensor: NamedTensor::new(input.name, tensor),
                parameters,
            })
        })
        .collect()
}

fn tagged_parameters(parameters: &HashMap<String, InferParameter>) -> Option<Parameters> {
    (!parameters.is_empty()).then(|| json_parameters(parameters))
}

/// Protobuf parameters as the JSON parameter map REST requests carry.
pub fn json_parameters(parameters: &HashMap<String, InferParameter>) -> Parameters {
    parameters
        .iter()
        .map(|(k, p)| {
            let value = match &p.parameter_choice {
                Some(ParameterChoice::BoolParam(b)) => Value::from(*b),
                Some(ParameterChoice::Int64Param(i)) => Value::from(*i),
                Some(ParameterChoice::StringParam(s)) => Value::from(s.clone()),
                Some(ParameterChoice::DoubleParam(d)) => Value::from(*d),
                Some(ParameterChoice::Uint64Param(u)) => Value::from(*u),
                None => Value::Null,
            };
            (k.clone(), value)
        })
        .collect()
}

fn input_datatype(input: &InferInputTensor) -> Result<DataType, DecodeError> {
    input
        .datatype
        .parse()
        .map_err(|source| DecodeError::Datatype {
            name: input.name.clone(),
            source,
        })
}

fn input_shape(input: &InferInputTensor) -> Result<Vec<usize>, DecodeError> {
    input
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| DecodeError::NegativeDimension {
            name: input.name.clone(),
            shape: input.shape.clone(),
        })
}

/// Narrows wire integers (`int_contents` is int32, `uint_contents` uint32) to the datatype's.
fn narrow<W: Copy + std::fmt::Display, T: TryFrom<W>>(
    name: &str,
    datatype: DataType,
    values: Vec<W>,
) -> Result<Vec<T>, DecodeError> {
    values
        .into_iter()
        .map(|v| {
            T::try_from(v).map_err(|_| {
                data_error(
                    name,
                    datatype,
                    format!("{v} is out of range for {datatype}"),
                )
            })
        })
        .collect()
}

fn typed_tensor(
    name: &str,
    wire_shape: &[i64],
    datatype: DataType,
    shape: &[usize],
    c: InferTensorContents,
) -> Result<Tensor, DecodeError> {
    let (n, w, dt, s) = (name, wire_shape, datatype, shape);
    match datatype {
        DataType::Bool => shaped(n, w, dt, s, c.bool_contents),
        DataType::Uint8 => shaped::<u8>(n, w, dt, s, narrow(n, dt, c.uint_contents)?),
        DataType::Uint16 => shaped::<u16>(n, w, dt, s, narrow(n, dt, c.uint_contents)?),
        DataType::Uint32 => shaped(n, w, dt, s, c.uint_contents),
        DataType::Uint64 => shaped(n, w, dt, s, c.uint64_contents),
        DataType::Int8 => shaped::<i8>(n, w, dt, s, narrow(n, dt, c.int_contents)?),
        DataType::Int16 => shaped::<i16>(n, w, dt, s, narrow(n, dt, c.int_contents)?),
        DataType::Int32 => shaped(n, w, dt, s, c.int_contents),
        DataType::Int64 => shaped(n, w, dt, s, c.int64_contents),
        DataType::Fp16 => {
            // MLServer carries FP16 in `bytes_contents`: little-endian halves, concatenated.
            let bytes = c.bytes_contents.concat();
            shaped(n, w, dt, s, le_elements(n, dt, &bytes, f16::from_le_bytes)?)
        }
        DataType::Fp32 => shaped(n, w, dt, s, c.fp32_contents),
        DataType::Fp64 => shaped(n, w, dt, s, c.fp64_contents),
        DataType::Bytes => {
            let strings = c
                .bytes_contents
                .into_iter()
                .map(|b| utf8(n, dt, b))
                .collect::<Result<Vec<_>, _>>()?;
            shaped(n, w, dt, s, strings)
        }
    }
}

/// Encodes model outputs as response tensors: names, datatypes and shapes as the REST encoder
/// writes them, data in typed `contents`, or in the returned raw buffers when `raw` is set.
pub fn encode_outputs(
    outputs: Vec<NamedTensor>,
    raw: bool,
) -> Result<(Vec<InferOutputTensor>, Vec<Vec<u8>>), ServeError> {
    let mut tensors = Vec::with_capacity(outputs.len());
    let mut raw_contents = Vec::new();
    for output in outputs {
        let (datatype, shape) = output_layout(&output).map_err(ServeError::Internal)?;
        let contents = if raw {
            raw_contents.push(raw_bytes(&output).map_err(ServeError::Internal)?);
            None
        } else {
            Some(typed_contents(&output).map_err(ServeError::Internal)?)
        };
        tensors.push(InferOutputTensor {
            name: output.name,
            datatype: datatype.as_str().to_owned(),
            shape: shape.iter().map(|&d| d as i64).collect(),
            parameters: content_type_parameters("np"),
            contents,
        });
    }
    Ok((tensors, raw_contents))
}

fn widened<T: Datum + Copy, W: From<T>>(output: &NamedTensor) -> Result<Vec<W>, String> {
    Ok(elements::<T>(output)?.iter().map(|&v| W::from(v)).collect())
}

fn typed_contents(output: &NamedTensor) -> Result<InferTensorContents, String> {
    let mut c = InferTensorContents::default();
    match output.tensor.datum_type() {
        DatumType::Bool => c.bool_contents = elements::<bool>(output)?.to_vec(),
        DatumType::U8 => c.uint_contents = widened::<u8, u32>(output)?,
        DatumType::U16 => c.uint_contents = widened::<u16, u32>(output)?,
        DatumType::U32 => c.uint_contents = elements::<u32>(output)?.to_vec(),
        DatumType::U64 => c.uint64_contents = elements::<u64>(output)?.to_vec(),
        DatumType::I8 => c.int_contents = widened::<i8, i32>(output)?,
        DatumType::I16 => c.int_contents = widened::<i16, i32>(output)?,
        DatumType::I32 => c.int_contents = elements::<i32>(output)?.to_vec(),
        DatumType::I64 => c.int64_contents = elements::<i64>(output)?.to_vec(),
        DatumType::F16 => c.bytes_contents = vec![raw_bytes(output)?],
        DatumType::F32 => c.fp32_contents = elements::<f32>(output)?.to_vec(),
        DatumType::F64 => c.fp64_contents = elements::<f64>(output)?.to_vec(),
        DatumType::String => {
            c.bytes_contents = elements::<String>(output)?
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect()
        }
        _ => return Err(unsupported(output)),
    }
    Ok(c)
}

/// A JSON parameter value as an `InferParameter`.
pub fn parameter(value: &Value) -> InferParameter {
    let choice = match value {
        Value::Bool(b) => ParameterChoice::BoolParam(*b),
        Value::String(s) => ParameterChoice::StringParam(s.clone()),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => ParameterChoice::Int64Param(i),
            (None, Some(u)) => ParameterChoice::Uint64Param(u),
            (None, None) => ParameterChoice::DoubleParam(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => ParameterChoice::StringParam(other.to_string()),
    };
    InferParameter {
        parameter_choice: Some(choice),
    }
}

/// A JSON parameter map as protobuf parameters.
pub fn parameters(params: &Parameters) -> HashMap<String, InferParameter> {
    params
        .iter()
        .map(|(k, v)| (k.clone(), parameter(v)))
        .collect()
}

/// `{"content_type": ct}` as protobuf parameters.
pub fn content_type_parameters(content_type: &str) -> HashMap<String, InferParameter> {
    HashMap::from([(
        "content_type".to_owned(),
        InferParameter {
            parameter_choice: Some(ParameterChoice::StringParam(content_type.to_owned())),
        },
    )])
}

fn tensor_metadata(t: &MetadataTensor) -> TensorMetadata {
    TensorMetadata {
        name: t.name.clone(),
        datatype: t.datatype.to_owned(),
        shape: t.shape.clone(),
        parameters: parameters(&t.parameters),
    }
}

/// The gRPC form of a model's metadata (the same content as `GET /v2/models/{name}`).
pub fn model_metadata(m: &ModelMetadata) -> ModelMetadataResponse {
    ModelMetadataResponse {
        name: m.name.clone(),
        versions: m.versions.clone(),
        platform: m.platform.clone(),
        inputs: m.inputs.iter().map(tensor_metadata).collect(),
        outputs: m.outputs.iter().map(tensor_metadata).collect(),
        parameters: parameters(&m.parameters),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironflow_loader::tensor::tensor1;

    fn input(
        name: &str,
        datatype: &str,
        shape: Vec<i64>,
        contents: Option<InferTensorContents>,
    ) -> InferInputTensor {
        InferInputTensor {
            name: name.into(),
            datatype: datatype.into(),
            shape,
            parameters: HashMap::new(),
            contents,
        }
    }

    #[test]
    fn typed_and_raw_inputs_decode_alike() {
        let typed = decode_inputs(
            vec![input(
                "x",
                "INT16",
                vec![2],
                Some(InferTensorContents {
                    int_contents: vec![-3, 7],
                    ..Default::default()
                }),
            )],
            vec![],
        )
        .expect("typed");
        let raw = decode_inputs(
            vec![input("x", "INT16", vec![2], None)],
            vec![[(-3i16).to_le_bytes(), 7i16.to_le_bytes()].concat()],
        )
        .expect("raw");
        assert_eq!(typed[0].tensor.tensor, raw[0].tensor.tensor);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let out_of_range = decode_inputs(
            vec![input(
                "x",
                "INT8",
                vec![1],
                Some(InferTensorContents {
                    int_contents: vec![1000],
                    ..Default::default()
                }),
            )],
            vec![],
        );
        assert!(matches!(out_of_range, Err(ServeError::Decode(_))));
        let truncated = decode_inputs(
            vec![input("s", "BYTES", vec![1], None)],
            vec![vec![9, 0, 0, 0, b'a']],
        );
        assert!(matches!(truncated, Err(ServeError::Decode(_))));
        let odd = decode_inputs(vec![input("f", "FP32", vec![1], None)], vec![vec![0, 0, 0]]);
        assert!(matches!(odd, Err(ServeError::Decode(_))));
        let count = decode_inputs(
            vec![
                input("a", "FP32", vec![1], None),
                input("b", "FP32", vec![1], None),
            ],
            vec![vec![0; 4]],
        );
        assert!(matches!(count, Err(ServeError::MalformedBody(_))));
    }

    #[test]
    fn bytes_round_trip_through_raw() {
        let t = NamedTensor::new("s", tensor1(&["ab".to_string(), String::new()]));
        let (tensors, raw) = encode_outputs(vec![t], true).expect("encode");
        assert_eq!(tensors[0].shape, vec![2, 1]);
        assert_eq!(raw[0], vec![2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
        let back =
            crate::codec::raw::length_prefixed("s", DataType::Bytes, &raw[0]).expect("decode");
        assert_eq!(back, vec!["ab".to_string(), String::new()]);
    }
}
