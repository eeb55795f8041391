//! The `.npy` reader for skops array entries (numpy's `format.py`, versions 1.0, 2.0 and 3.0):
//! magic, a Python-literal header (`descr`, `fortran_order`, `shape`), then the raw elements.
//!
//! Object arrays never appear here (skops stores them as node lists and loads `.npy` with
//! `allow_pickle=False`). Sizes are checked against the bytes actually present before anything
//! is allocated, so a header declaring a huge shape costs nothing.

use super::pylit::Lit;
use crate::pyobj::{ArrayData, ByteOrder, DType, DTypeField, NdArray};

/// numpy's file magic.
const MAGIC: &[u8] = b"\x93NUMPY";
/// Largest header accepted (numpy itself refuses more than 10 000 bytes by default).
const MAX_HEADER: usize = 1 << 20;
/// numpy's own dimension limit.
const MAX_DIMS: usize = 64;
/// Deepest nesting of structured dtypes accepted.
const MAX_DTYPE_DEPTH: usize = 8;

/// Decodes one `.npy` file into a C-ordered [`NdArray`], reusing the file's buffer for the
/// elements; errors are plain messages the caller wraps with the entry name.
pub(crate) fn parse_npy(mut bytes: Vec<u8>) -> Result<NdArray, String> {
    let (dtype, shape, fortran, data_start) = parse_header(&bytes)?;
    let raw = if fortran && shape.len() > 1 {
        fortran_to_c(
            bytes.get(data_start..).unwrap_or_default(),
            &shape,
            dtype.itemsize,
        )
    } else {
        bytes.drain(..data_start);
        bytes
    };
    Ok(NdArray {
        dtype,
        shape,
        data: ArrayData::Raw(raw),
    })
}

/// The dtype, shape, Fortran flag and data offset of a `.npy` file whose data length has been
/// checked against the shape.
fn parse_header(bytes: &[u8]) -> Result<(DType, Vec<usize>, bool, usize), String> {
    let rest = bytes.strip_prefix(MAGIC).ok_or("missing .npy magic")?;
    let (&major, rest) = rest.split_first().ok_or("truncated .npy preamble")?;
    let (_minor, rest) = rest.split_first().ok_or("truncated .npy preamble")?;
    let (header_len, rest) = match major {
        1 => {
            let (len, rest) = rest.split_at_checked(2).ok_or("truncated .npy preamble")?;
            (usize::from(u16::from_le_bytes([len[0], len[1]])), rest)
        }
        2 | 3 => {
            let (len, rest) = rest.split_at_checked(4).ok_or("truncated .npy preamble")?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
            (usize::try_from(len).map_err(|_| "header too long")?, rest)
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    if header_len > MAX_HEADER {
        return Err(format!("header of {header_len} bytes is too long"));
    }
    let (header, data) = rest
        .split_at_checked(header_len)
        .ok_or("truncated .npy header")?;
    // Versions 1 and 2 are latin-1, version 3 is UTF-8.
    let header: String = if major == 3 {
        std::str::from_utf8(header)
            .map_err(|_| "header is not UTF-8")?
            .to_owned()
    } else {
        header.iter().map(|&b| char::from(b)).collect()
    };
    let header = Lit::parse(&header).map_err(|e| format!("bad header: {e}"))?;
    let descr = header.get("descr").ok_or("header has no 'descr'")?;
    let dtype = dtype_from_descr(descr, 0)?;
    let fortran = match header.get("fortran_order") {
        Some(Lit::Bool(b)) => *b,
        _ => return Err("header 'fortran_order' is not a bool".into()),
    };
    let shape = match header.get("shape") {
        Some(Lit::Tuple(dims)) => dims
            .iter()
            .map(|d| match d {
                Lit::Int(n) => usize::try_from(*n).map_err(|_| format!("negative dimension {n}")),
                other => Err(format!("shape entry {other:?} is not an int")),
            })
            .collect::<Result<Vec<usize>, String>>()?,
        _ => return Err("header 'shape' is not a tuple".into()),
    };
    if shape.len() > MAX_DIMS {
        return Err(format!(
            "{} dimensions (numpy allows {MAX_DIMS})",
            shape.len()
        ));
    }
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("shape overflows")?;
    let nbytes = count
        .checked_mul(dtype.itemsize)
        .ok_or("array size overflows")?;
    if nbytes != data.len() {
        return Err(format!(
            "shape {shape:?} of {}-byte elements needs {nbytes} bytes, the file holds {}",
            dtype.itemsize,
            data.len()
        ));
    }
    Ok((dtype, shape, fortran, bytes.len() - data.len()))
}

/// A dtype from a header `descr`: a type string (`'<f8'`) or a structured list of
/// `(name, descr)` tuples, where unnamed `V` entries are padding.
pub(crate) fn dtype_from_descr(descr: &Lit, depth: usize) -> Result<DType, String> {
    if depth > MAX_DTYPE_DEPTH {
        return Err("structured dtype nests too deeply".into());
    }
    let fields = match descr {
        Lit::Str(s) => return dtype_from_str(s),
        Lit::List(fields) => fields,
        other => return Err(format!("descr {other:?} is neither a string nor a list")),
    };
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(fields.len());
    for field in fields {
        let Lit::Tuple(parts) = field else {
            return Err(format!("structured descr entry {field:?} is not a tuple"));
        };
        let (name, sub) = match parts.as_slice() {
            [name, sub] => (name, sub),
            [_, _, _] => return Err("sub-array dtype fields are not supported".into()),
            _ => {
                return Err(format!(
                    "structured descr entry {field:?} has the wrong length"
                ))
            }
        };
        let name = match name {
            Lit::Str(s) => s.clone(),
            // `(title, name)` pairs.
            Lit::Tuple(t) => match t.as_slice() {
                [_, Lit::Str(s)] => s.clone(),
                _ => return Err(format!("bad field name {name:?}")),
            },
            other => return Err(format!("bad field name {other:?}")),
        };
        let dtype = dtype_from_descr(sub, depth + 1)?;
        let size = dtype.itemsize;
        let is_padding = name.is_empty() && dtype.kind == 'V' && dtype.fields.is_empty();
        if !is_padding {
            if out.iter().any(|f: &DTypeField| f.name == name) {
                return Err(format!("duplicate field name {name:?}"));
            }
            out.push(DTypeField {
                name,
                dtype,
                offset,
            });
        }
        offset = offset
            .checked_add(size)
            .ok_or("structured dtype too large")?;
    }
    Ok(DType {
        kind: 'V',
        itemsize: offset,
        byteorder: ByteOrder::NotApplicable,
        fields: out,
    })
}

/// A simple dtype from its type string: optional byte order, kind, size, optional `[unit]`.
fn dtype_from_str(s: &str) -> Result<DType, String> {
    let (order, rest) = match s.as_bytes().first() {
        Some(b'<') => (Some(ByteOrder::Little), s.get(1..).unwrap_or_default()),
        // `=` is native order; numpy writes explicit orders, and every supported host is little.
        Some(b'=') => (Some(ByteOrder::Little), s.get(1..).unwrap_or_default()),
        Some(b'>') => (Some(ByteOrder::Big), s.get(1..).unwrap_or_default()),
        Some(b'|') => (
            Some(ByteOrder::NotApplicable),
            s.get(1..).unwrap_or_default(),
        ),
        _ => (None, s),
    };
    let mut chars = rest.chars();
    let kind = chars.next().ok_or_else(|| format!("empty dtype {s:?}"))?;
    let rest = chars.as_str();
    let digits = match rest.find('[') {
        Some(i) if matches!(kind, 'M' | 'm') && rest.ends_with(']') => rest.get(..i).unwrap_or(""),
        _ => rest,
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("unsupported dtype {s:?}"))?;
    let itemsize = match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'M' | 'm' => n,
        'U' => n.checked_mul(4).ok_or("dtype too large")?,
        'O' => return Err("object arrays cannot be stored in .npy without pickle".into()),
        _ => return Err(format!("unsupported dtype {s:?}")),
    };
    let byteorder = if itemsize <= 1 || matches!(kind, 'S' | 'V') {
        ByteOrder::NotApplicable
    } else {
        order.unwrap_or(ByteOrder::Little)
    };
    Ok(DType {
        kind,
        itemsize,
        byteorder,
        fields: Vec::new(),
    })
}

/// Reorders Fortran-ordered elements into C order. The caller has checked
/// `src.len() == prod(shape) * itemsize`.
fn fortran_to_c(src: &[u8], shape: &[usize], itemsize: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    // Fortran strides, in elements: the first axis varies fastest.
    let mut strides = Vec::with_capacity(shape.len());
    let mut acc = 1usize;
    for &d in shape {
        strides.push(acc);
        acc = acc.saturating_mul(d);
    }
    if shape.contains(&0) {
        return out;
    }
    let mut index = vec![0usize; shape.len()];
    loop {
        let elem: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        let start = elem * itemsize;
        if let Some(chunk) = src.get(start..start + itemsize) {
            out.extend_from_slice(chunk);
        }
        // Advance the C-order index: the last axis varies fastest.
        let mut axis = shape.len();
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_a_fortran_matrix_in_c_order() {
        let data: Vec<u8> = [1u16, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(npy(
            "{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        ))
        .unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        let want: Vec<u8> = [1u16, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(a.data, ArrayData::Raw(want));
        assert_eq!(a.dtype.byteorder, ByteOrder::Little);
    }

    #[test]
    fn structured_padding_and_strings() {
        let d = dtype_from_descr(
            &Lit::parse("[('a', '<i8'), ('b', '|u1'), ('', '|V7'), ('c', '>f4')]").unwrap(),
            0,
        )
        .unwrap();
        assert_eq!(d.itemsize, 20);
        let offsets: Vec<_> = d
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.offset))
            .collect();
        assert_eq!(offsets, vec![("a", 0), ("b", 8), ("c", 16)]);
        assert_eq!(d.fields[2].dtype.byteorder, ByteOrder::Big);
        let u = dtype_from_str("<U5").unwrap();
        assert_eq!((u.kind, u.itemsize), ('U', 20));
        assert_eq!(dtype_from_str("<M8[ns]").unwrap().itemsize, 8);
        assert!(dtype_from_str("|O").is_err());
    }

    #[test]
    fn huge_declared_shapes_fail_before_allocating() {
        for shape in ["(4611686018427387904, 4)", "(1000000000000,)", "(-1,)"] {
            let h = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
            assert!(parse_npy(npy(&h, &[0; 8])).is_err(), "{shape}");
        }
    }

    #[test]
    fn truncations_are_errors() {
        let full = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
            &[0; 16],
        );
        assert!(parse_npy(full.clone()).is_ok());
        for n in 0..full.len() {
            assert!(parse_npy(full[..n].to_vec()).is_err(), "prefix {n}");
        }
    }
}
