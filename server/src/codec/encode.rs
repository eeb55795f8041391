//! Loader tensor -> response output, as MLServer's NumPy codec writes it: 1-D results get
//! shape `[N, 1]`, text is `BYTES`, non-finite floats are `null`.

use ironflow_loader::tensor::{f16, Datum, DatumType};
use ironflow_loader::{DataType, NamedTensor, Tensor};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde::Serialize as DeriveSerialize;

use super::Parameters;

/// One output tensor of a response.
#[derive(Debug, DeriveSerialize)]
pub struct ResponseOutput {
    /// The output name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its v2 datatype.
    pub datatype: &'static str,
    /// Output parameters (`content_type`, and `binary_data_size` for a binary output).
    pub parameters: Parameters,
    /// The elements, flat, row-major; NaN as `null`. Absent for a binary output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<OutputData>,
}

/// A tensor serialized as the flat, row-major JSON list of its elements.
#[derive(Debug)]
pub struct OutputData(pub(super) Tensor);

/// Encodes one model output (`parameters.content_type` is `np`, as MLServer sets it for arrays).
pub fn encode_output(output: NamedTensor) -> Result<ResponseOutput, String> {
    let (datatype, shape) = output_layout(&output)?;
    let mut parameters = Parameters::new();
    parameters.insert("content_type".into(), "np".into());
    Ok(ResponseOutput {
        name: output.name,
        shape,
        datatype: datatype.as_str(),
        parameters,
        data: Some(OutputData(output.tensor)),
    })
}

/// The v2 datatype and response shape of a model output, shared by the REST and gRPC encoders:
/// scalars become `[1]` and 1-D results `[N, 1]`, as MLServer's NumPy codec writes them.
pub fn output_layout(output: &NamedTensor) -> Result<(DataType, Vec<usize>), String> {
    let datatype = DataType::from_datum_type(output.tensor.datum_type()).ok_or_else(|| {
        format!(
            "output {:?} has element type {:?}, which the v2 protocol cannot carry",
            output.name,
            output.tensor.datum_type()
        )
    })?;
    let shape = match output.tensor.shape() {
        [] => vec![1],
        [n] => vec![*n, 1],
        dims => dims.to_vec(),
    };
    Ok((datatype, shape))
}

impl Serialize for OutputData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.0;
        match t.datum_type() {
            DatumType::Bool => plain::<bool, S>(t, s),
            DatumType::U8 => plain::<u8, S>(t, s),
            DatumType::U16 => plain::<u16, S>(t, s),
            DatumType::U32 => plain::<u32, S>(t, s),
            DatumType::U64 => plain::<u64, S>(t, s),
            DatumType::I8 => plain::<i8, S>(t, s),
            DatumType::I16 => plain::<i16, S>(t, s),
            DatumType::I32 => plain::<i32, S>(t, s),
            DatumType::I64 => plain::<i64, S>(t, s),
            DatumType::F16 => floats::<f16, f32, S>(t, s, f16::to_f32),
            DatumType::F32 => floats::<f32, f32, S>(t, s, |v| v),
            DatumType::F64 => floats::<f64, f64, S>(t, s, |v| v),
            DatumType::String => plain::<String, S>(t, s),
            other => Err(serde::ser::Error::custom(format!(
                "element type {other:?} cannot be encoded"
            ))),
        }
    }
}

fn elements<T: Datum>(t: &Tensor) -> Result<&[T], String> {
    t.try_as_plain_ram()
        .and_then(|view| view.as_slice::<T>())
        .map_err(|e| e.to_string())
}

fn plain<T: Datum + Serialize, S: Serializer>(t: &Tensor, s: S) -> Result<S::Ok, S::Error> {
    let data = elements::<T>(t).map_err(serde::ser::Error::custom)?;
    let mut seq = s.serialize_seq(Some(data.len()))?;
    for v in data {
        seq.serialize_element(v)?;
    }
    seq.end()
}

/// Floats, widened to `W` for JSON, with NaN and infinities as `null` (JSON has neither).
fn floats<T: Datum + Copy, W: Serialize + Into<f64> + Copy, S: Serializer>(
    t: &Tensor,
    s: S,
    widen: impl Fn(T) -> W,
) -> Result<S::Ok, S::Error> {
    let data = elements::<T>(t).map_err(serde::ser::Error::custom)?;
    let mut seq = s.serialize_seq(Some(data.len()))?;
    for &v in data {
        let w = widen(v);
        if w.into().is_finite() {
            seq.serialize_element(&w)?;
        } else {
            seq.serialize_element(&())?;
        }
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironflow_loader::tensor::{tensor1, tensor2};

    #[test]
    fn one_d_outputs_get_a_trailing_unit_dimension() {
        let out = encode_output(NamedTensor::new("label", tensor1(&[1i64, 0, 2]))).expect("encode");
        assert_eq!(out.shape, vec![3, 1]);
        assert_eq!(out.datatype, "INT64");
        assert_eq!(
            serde_json::to_string(&out.data.expect("json data")).expect("json"),
            "[1,0,2]"
        );
    }

    #[test]
    fn nan_and_infinity_become_null() {
        let t = tensor2(&[[1.5f32, f32::NAN], [f32::INFINITY, -2.0]]);
        let out = encode_output(NamedTensor::new("p", t)).expect("encode");
        assert_eq!(out.shape, vec![2, 2]);
        assert_eq!(
            serde_json::to_string(&out.data.expect("json data")).expect("json"),
            "[1.5,null,null,-2.0]"
        );
    }

    #[test]
    fn strings_are_bytes() {
        let t = tensor1(&["a".to_string(), "b".to_string()]);
        let out = encode_output(NamedTensor::new("s", t)).expect("encode");
        assert_eq!(out.datatype, "BYTES");
        assert_eq!(
            serde_json::to_string(&out.data.expect("json data")).expect("json"),
            r#"["a","b"]"#
        );
    }
}
