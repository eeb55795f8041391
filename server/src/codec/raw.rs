//! The little-endian binary form of tensors, shared by gRPC `raw_input_contents` /
//! `raw_output_contents` (`mlserver/raw.py`) and the REST binary tensor data extension
//! (docs/compat.md §3.3): fixed-size elements in their native size, BOOL as one byte, BYTES elements
//! as `<u32 LE length><bytes>`, row-major, no padding.

use ironflow_loader::tensor::{f16, ndarray::ArrayD, Datum, DatumType};
use ironflow_loader::{DataType, NamedTensor, Tensor};

use super::error::DecodeError;

/// A [`DecodeError::Data`] for an input.
pub fn data_error(name: &str, datatype: DataType, message: impl Into<String>) -> DecodeError {
    DecodeError::Data {
        name: name.to_owned(),
        datatype,
        message: message.into(),
    }
}

/// Checks the element count against the shape and builds the tensor.
pub fn shaped<T: Datum>(
    name: &str,
    wire_shape: &[i64],
    datatype: DataType,
    shape: &[usize],
    data: Vec<T>,
) -> Result<Tensor, DecodeError> {
    check_count(name, wire_shape, shape, data.len())?;
    ArrayD::from_shape_vec(shape, data)
        .map(Tensor::from)
        .map_err(|e| data_error(name, datatype, e.to_string()))
}

/// As [`shaped`], for plain elements: copied straight into the tensor's buffer, without the
/// intermediate `ndarray` array. The buffer is aligned to the element, not to tract's SIMD
/// vector size: tract's kernels take inputs of any alignment (they pack or copy what they
/// vectorise), and the allocator serves element-aligned blocks on its fast path, where a
/// 64-byte alignment takes its slow over-allocating one for every small input.
pub fn shaped_plain<T: Datum + Copy>(
    name: &str,
    wire_shape: &[i64],
    datatype: DataType,
    shape: &[usize],
    data: &[T],
) -> Result<Tensor, DecodeError> {
    check_count(name, wire_shape, shape, data.len())?;
    Tensor::from_shape_align(shape, data, std::mem::align_of::<T>())
        .map_err(|e| data_error(name, datatype, e.to_string()))
}

/// The element count must be the shape's product.
fn check_count(
    name: &str,
    wire_shape: &[i64],
    shape: &[usize],
    got: usize,
) -> Result<(), DecodeError> {
    let expected = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or(usize::MAX);
    if expected != got {
        return Err(DecodeError::ElementCount {
            name: name.to_owned(),
            shape: wire_shape.to_vec(),
            expected,
            got,
        });
    }
    Ok(())
}

/// An element as UTF-8 text.
pub fn utf8(name: &str, datatype: DataType, bytes: Vec<u8>) -> Result<String, DecodeError> {
    String::from_utf8(bytes)
        .map_err(|e| data_error(name, datatype, format!("element is not UTF-8: {e}")))
}

/// Splits little-endian bytes into fixed-size elements.
pub fn le_elements<T, const N: usize>(
    name: &str,
    datatype: DataType,
    bytes: &[u8],
    from_le: fn([u8; N]) -> T,
) -> Result<Vec<T>, DecodeError> {
    let chunks = bytes.chunks_exact(N);
    if !chunks.remainder().is_empty() {
        return Err(data_error(
            name,
            datatype,
            format!(
                "{} raw bytes is not a multiple of the element size {N}",
                bytes.len()
            ),
        ));
    }
    Ok(chunks
        .map(|chunk| {
            let mut array = [0u8; N];
            array.copy_from_slice(chunk);
            from_le(array)
        })
        .collect())
}

/// Splits BYTES raw contents: each element is `<u32 LE length><bytes>`.
pub fn length_prefixed(
    name: &str,
    datatype: DataType,
    mut bytes: &[u8],
) -> Result<Vec<String>, DecodeError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(data_error(
                name,
                datatype,
                "truncated element length in raw contents",
            ));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(data_error(
                name,
                datatype,
                format!(
                    "raw element of {len} bytes overruns the {} bytes left",
                    rest.len()
                ),
            ));
        }
        let (element, rest) = rest.split_at(len);
        out.push(utf8(name, datatype, element.to_vec())?);
        bytes = rest;
    }
    Ok(out)
}

/// Decodes one tensor of `datatype` and `shape` from its binary form.
pub fn raw_tensor(
    name: &str,
    wire_shape: &[i64],
    datatype: DataType,
    shape: &[usize],
    bytes: &[u8],
) -> Result<Tensor, DecodeError> {
    let (n, w, dt, s) = (name, wire_shape, datatype, shape);
    match datatype {
        DataType::Bool => shaped(
            n,
            w,
            dt,
            s,
            le_elements(n, dt, bytes, |[b]: [u8; 1]| b != 0)?,
        ),
        DataType::Uint8 => shaped(n, w, dt, s, le_elements(n, dt, bytes, u8::from_le_bytes)?),
        DataType::Uint16 => shaped(n, w, dt, s, le_elements(n, dt, bytes, u16::from_le_bytes)?),
        DataType::Uint32 => shaped(n, w, dt, s, le_elements(n, dt, bytes, u32::from_le_bytes)?),
        DataType::Uint64 => shaped(n, w, dt, s, le_elements(n, dt, bytes, u64::from_le_bytes)?),
        DataType::Int8 => shaped(n, w, dt, s, le_elements(n, dt, bytes, i8::from_le_bytes)?),
        DataType::Int16 => shaped(n, w, dt, s, le_elements(n, dt, bytes, i16::from_le_bytes)?),
        DataType::Int32 => shaped(n, w, dt, s, le_elements(n, dt, bytes, i32::from_le_bytes)?),
        DataType::Int64 => shaped(n, w, dt, s, le_elements(n, dt, bytes, i64::from_le_bytes)?),
        DataType::Fp16 => shaped(n, w, dt, s, le_elements(n, dt, bytes, f16::from_le_bytes)?),
        DataType::Fp32 => shaped(n, w, dt, s, le_elements(n, dt, bytes, f32::from_le_bytes)?),
        DataType::Fp64 => shaped(n, w, dt, s, le_elements(n, dt, bytes, f64::from_le_bytes)?),
        DataType::Bytes => shaped(n, w, dt, s, length_prefixed(n, dt, bytes)?),
    }
}

/// The elements of an output tensor.
pub fn elements<T: Datum>(output: &NamedTensor) -> Result<&[T], String> {
    output
        .tensor
        .try_as_plain_ram()
        .and_then(|view| view.as_slice::<T>())
        .map_err(|e| format!("output {:?}: {e}", output.name))
}

/// The error for an output element type the protocol cannot carry.
pub fn unsupported(output: &NamedTensor) -> String {
    format!(
        "output {:?} has element type {:?}, which the v2 protocol cannot carry",
        output.name,
        output.tensor.datum_type()
    )
}

/// Fixed-size elements as little-endian bytes.
pub fn le_bytes<T: Datum + Copy, const N: usize>(
    output: &NamedTensor,
    to_le: fn(T) -> [u8; N],
) -> Result<Vec<u8>, String> {
    Ok(elements::<T>(output)?
        .iter()
        .flat_map(|&v| to_le(v))
        .collect())
}

/// An output tensor in its binary form.
pub fn raw_bytes(output: &NamedTensor) -> Result<Vec<u8>, String> {
    match output.tensor.datum_type() {
        DatumType::Bool => le_bytes::<bool, 1>(output, |b| [u8::from(b)]),
        DatumType::U8 => le_bytes(output, u8::to_le_bytes),
        DatumType::U16 => le_bytes(output, u16::to_le_bytes),
        DatumType::U32 => le_bytes(output, u32::to_le_bytes),
        DatumType::U64 => le_bytes(output, u64::to_le_bytes),
        DatumType::I8 => le_bytes(output, i8::to_le_bytes),
        DatumType::I16 => le_bytes(output, i16::to_le_bytes),
        DatumType::I32 => le_bytes(output, i32::to_le_bytes),
        DatumType::I64 => le_bytes(output, i64::to_le_bytes),
        DatumType::F16 => le_bytes(output, f16::to_le_bytes),
        DatumType::F32 => le_bytes(output, f32::to_le_bytes),
        DatumType::F64 => le_bytes(output, f64::to_le_bytes),
        DatumType::String => {
            let mut out = Vec::new();
            for s in elements::<String>(output)? {
                let len = u32::try_from(s.len())
                    .map_err(|_| format!("output {:?}: element longer than 4 GiB", output.name))?;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Ok(out)
        }
        _ => Err(unsupported(output)),
    }
}
