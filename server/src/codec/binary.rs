//! The binary tensor data extension's tensor side (Triton `extension_binary_data.md`, docs/compat.md
//! §3.3): inputs whose `parameters.binary_data_size` says their data follows the JSON header, in
//! input order, and outputs sent the same way when the request asks for it
//! (`outputs[i].parameters.binary_data`, or request `parameters.binary_data_output`). The HTTP
//! framing (`Inference-Header-Content-Length`) lives in `rest/binary.rs`.

use ironflow_loader::NamedTensor;
use serde_json::Value;

use super::decode::datatype_and_shape;
use super::error::{BinaryError, CodecError, DecodeError};
use super::raw::{raw_bytes, raw_tensor};
use super::{
    decode_input, encode_output, Parameters, RequestInput, RequestOutput, ResponseOutput,
    TaggedInput,
};

/// The parameter naming the byte size of a binary input or output.
pub const BINARY_DATA_SIZE: &str = "binary_data_size";

/// Decodes a request's inputs: JSON `data`, or a chunk of `binary` for inputs that set
/// `binary_data_size`. Every byte of `binary` must belong to an input.
pub fn decode_inputs(
    inputs: Vec<RequestInput>,
    binary: &[u8],
) -> Result<Vec<TaggedInput>, CodecError> {
    let mut rest = binary;
    let mut out = Vec::with_capacity(inputs.len());
    for mut input in inputs {
        let size = binary_size(&input)?;
        let tensor = match size {
            None => decode_input(&mut input)?,
            Some(size) => {
                if input.data.is_some() {
                    return Err(BinaryError::Both { name: input.name }.into());
                }
                if size > rest.len() {
                    return Err(BinaryError::Truncated {
                        name: input.name,
                        size,
                        left: rest.len(),
                    }
                    .into());
                }
                let (chunk, after) = rest.split_at(size);
                rest = after;
                NamedTensor::new(input.name.clone(), binary_tensor(&input, chunk)?)
            }
        };
        let parameters = input.parameters.map(|mut p| {
            p.remove(BINARY_DATA_SIZE);
            p
        });
        out.push(TaggedInput { tensor, parameters });
    }
    if !rest.is_empty() {
        return Err(BinaryError::Trailing { extra: rest.len() }.into());
    }
    Ok(out)
}

fn binary_size(input: &RequestInput) -> Result<Option<usize>, BinaryError> {
    let Some(value) = input
        .parameters
        .as_ref()
        .and_then(|p| p.get(BINARY_DATA_SIZE))
    else {
        return Ok(None);
    };
    value
        .as_u64()
        .and_then(|v| usize::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| BinaryError::Size {
            name: input.name.clone(),
            value: value.to_string(),
        })
}

fn binary_tensor(
    input: &RequestInput,
    chunk: &[u8],
) -> Result<ironflow_loader::Tensor, DecodeError> {
    let (datatype, shape) = datatype_and_shape(input)?;
    raw_tensor(&input.name, &input.shape, datatype, &shape, chunk)
}

/// Which outputs go back as binary: those whose requested output sets `binary_data`, else all
/// when the request sets `binary_data_output`.
#[derive(Debug, Default)]
pub struct BinaryOutputs {
    all: bool,
    named: Vec<(String, bool)>,
}

impl BinaryOutputs {
    /// Reads the request's choices.
    pub fn new(parameters: Option<&Parameters>, outputs: Option<&[RequestOutput]>) -> Self {
        let flag =
            |p: Option<&Parameters>, key: &str| p.and_then(|p| p.get(key)).and_then(Value::as_bool);
        Self {
            all: flag(parameters, "binary_data_output").unwrap_or(false),
            named: outputs
                .unwrap_or_default()
                .iter()
                .filter_map(|o| {
                    flag(o.parameters.as_ref(), "binary_data").map(|b| (o.name.clone(), b))
                })
                .collect(),
        }
    }

    fn is_binary(&self, name: &str) -> bool {
        self.named
            .iter()
            .find(|(n, _)| n == name)
            .map_or(self.all, |(_, b)| *b)
    }

    /// Whether any output might go back as binary.
    pub fn any(&self) -> bool {
        self.all || self.named.iter().any(|(_, b)| *b)
    }
}

/// Encodes model outputs, the binary ones into the returned buffer (`None` when none is).
pub fn encode_outputs(
    outputs: Vec<NamedTensor>,
    choice: &BinaryOutputs,
) -> Result<(Vec<ResponseOutput>, Option<Vec<u8>>), String> {
    let mut binary: Option<Vec<u8>> = None;
    let mut encoded = Vec::with_capacity(outputs.len());
    for output in outputs {
        if !choice.is_binary(&output.name) {
            encoded.push(encode_output(output)?);
            continue;
        }
        let bytes = raw_bytes(&output)?;
        let mut out = encode_output(output)?;
        out.data = None;
        out.parameters
            .insert(BINARY_DATA_SIZE.into(), Value::from(bytes.len()));
        binary
            .get_or_insert_with(Vec::new)
            .extend_from_slice(&bytes);
        encoded.push(out);
    }
    Ok((encoded, binary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(json: &str) -> Vec<RequestInput> {
        serde_json::from_str(json).expect("inputs json")
    }

    #[test]
    fn binary_and_json_inputs_mix() {
        let body: Vec<u8> = [1.5f32.to_le_bytes(), 2.5f32.to_le_bytes()].concat();
        let decoded = decode_inputs(
            inputs(
                r#"[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},
                    {"name":"b","shape":[1],"datatype":"INT64","data":[3]}]"#,
            ),
            &body,
        )
        .expect("decode");
        let a = decoded[0]
            .tensor
            .tensor
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .expect("f32");
        assert_eq!(a, &[1.5, 2.5]);
        assert!(decoded[0].parameters.as_ref().is_some_and(|p| p.is_empty()));
    }

    #[test]
    fn sizes_must_match_the_body() {
        let one =
            r#"[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]"#;
        let short = decode_inputs(inputs(one), &[0; 4]);
        assert!(matches!(
            short,
            Err(CodecError::Binary(BinaryError::Truncated { .. }))
        ));
        let long = decode_inputs(inputs(one), &[0; 12]);
        assert!(matches!(
            long,
            Err(CodecError::Binary(BinaryError::Trailing { extra: 4 }))
        ));
        let odd =
            r#"[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":6}}]"#;
        assert!(matches!(
            decode_inputs(inputs(odd), &[0; 6]),
            Err(CodecError::Decode(_))
        ));
        let neg =
            r#"[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":-1}}]"#;
        assert!(matches!(
            decode_inputs(inputs(neg), &[]),
            Err(CodecError::Binary(BinaryError::Size { .. }))
        ));
    }
}
