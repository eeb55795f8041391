//! Reading fitted estimator state out of the [`crate::pyobj`] tree: numbers, arrays, strings
//! and class labels, whatever container (numpy array, numpy scalar, list, Python scalar) the
//! sklearn version stored them in. Every failure names the attribute and the estimator path.

use crate::pyobj::{ArrayData, ByteOrder, Instance, NdArray, Obj, PyObj};

use super::output::Labels;
use super::table::Matrix;
use super::{CompileError, Ctx};

pub use super::scalar::Scalar;

/// The instance inside an object, if it is one.
pub fn instance(obj: &PyObj) -> Option<&Instance> {
    match obj {
        PyObj::Instance(i) => Some(i),
        _ => None,
    }
}

/// An attribute that must be present.
pub fn attr<'a>(inst: &'a Instance, name: &str, ctx: &Ctx<'_>) -> Result<&'a Obj, CompileError> {
    inst.attr(name)
        .ok_or_else(|| ctx.invalid(format!("missing attribute {name}")))
}

/// An attribute that may be absent or `None`.
pub fn opt_attr<'a>(inst: &'a Instance, name: &str) -> Option<&'a Obj> {
    inst.attr(name)
        .filter(|o| !matches!(o.as_ref(), PyObj::None))
}

/// A string attribute (absent or `None` gives `None`).
pub fn opt_str<'a>(inst: &'a Instance, name: &str) -> Option<&'a str> {
    match opt_attr(inst, name)?.as_ref() {
        PyObj::Str(s) => Some(s),
        _ => None,
    }
}

/// A bool attribute, with a default when absent (numpy bools and ints count).
pub fn bool_or(inst: &Instance, name: &str, default: bool) -> bool {
    match opt_attr(inst, name).and_then(|o| scalars(o)) {
        Some(v) => match v.first() {
            Some(Scalar::Bool(b)) => *b,
            Some(Scalar::Int(i)) => *i != 0,
            _ => default,
        },
        None => default,
    }
}

/// A number attribute (Python or numpy scalar, or a 1-element array).
pub fn opt_f64(inst: &Instance, name: &str) -> Option<f64> {
    let values = scalars(opt_attr(inst, name)?)?;
    match values.as_slice() {
        [one] => one.as_f64(),
        _ => None,
    }
}

/// The shape of an array-like object (`[]` for a scalar, `[n]` for a list).
pub fn shape(obj: &PyObj) -> Vec<usize> {
    match obj {
        PyObj::Array(a) => a.shape.clone(),
        PyObj::List(v) | PyObj::Tuple(v) => vec![v.len()],
        _ => Vec::new(),
    }
}

/// A numeric attribute as flat float64 values plus its shape.
pub fn f64_array(
    inst: &Instance,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<(Vec<usize>, Vec<f64>), CompileError> {
    let obj = attr(inst, name, ctx)?;
    let values = numbers(obj).ok_or_else(|| ctx.invalid(format!("{name} is not numeric")))?;
    Ok((shape(obj), values))
}

/// A numeric attribute as flat float64 values.
pub fn f64_vec(inst: &Instance, name: &str, ctx: &Ctx<'_>) -> Result<Vec<f64>, CompileError> {
    f64_array(inst, name, ctx).map(|(_, v)| v)
}

/// An object's values as float64, if all are numbers.
pub fn numbers(obj: &PyObj) -> Option<Vec<f64>> {
    scalars(obj)?.iter().map(Scalar::as_f64).collect()
}

/// The elements of an array, list, tuple or scalar, flattened in C order.
pub fn scalars(obj: &PyObj) -> Option<Vec<Scalar>> {
    Some(match obj {
        PyObj::None => vec![Scalar::None],
        PyObj::Bool(b) => vec![Scalar::Bool(*b)],
        PyObj::Int(i) => vec![Scalar::Int(*i)],
        PyObj::Float(f) => vec![Scalar::Float(*f)],
        PyObj::Str(s) => vec![Scalar::Str(s.clone())],
        PyObj::Bytes(b) => vec![Scalar::Str(String::from_utf8_lossy(b).into_owned())],
        PyObj::List(items) | PyObj::Tuple(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(scalars(item)?);
            }
            out
        }
        PyObj::Array(a) => array_scalars(a)?,
        _ => return None,
    })
}

/// The elements of a numpy array.
pub fn array_scalars(a: &NdArray) -> Option<Vec<Scalar>> {
    let raw = match &a.data {
        ArrayData::Objects(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let mut v = scalars(item)?;
                if v.len() != 1 {
                    return None;
                }
                out.append(&mut v);
            }
            return Some(out);
        }
        ArrayData::Raw(raw) => raw,
    };
    let size = a.dtype.itemsize;
    if size == 0 {
        return Some(Vec::new());
    }
    let big = a.dtype.byteorder == ByteOrder::Big;
    let mut out = Vec::with_capacity(raw.len() / size);
    for chunk in raw.chunks_exact(size) {
        let mut bytes = chunk.to_vec();
        if big && !matches!(a.dtype.kind, 'U' | 'S') {
            bytes.reverse();
        }
        out.push(decode_element(a.dtype.kind, &bytes, big)?);
    }
    Some(out)
}

/// Decodes one fixed-size element given as little-endian bytes (`U` keeps its own order).
fn decode_element(kind: char, b: &[u8], big: bool) -> Option<Scalar> {
    let mut le8 = [0u8; 8];
    Some(match (kind, b.len()) {
        ('f', 8) => {
            le8.copy_from_slice(b);
            Scalar::Float(f64::from_le_bytes(le8))
        }
        ('f', 4) => {
            let mut le4 = [0u8; 4];
            le4.copy_from_slice(b);
            Scalar::Float(f64::from(f32::from_le_bytes(le4)))
        }
        ('i', n @ (1 | 2 | 4 | 8)) => {
            // Sign-extend from the top byte.
            let fill = if b.get(n - 1).is_some_and(|x| x & 0x80 != 0) {
                0xff
            } else {
                0
            };
            le8 = [fill; 8];
            le8.get_mut(..n)?.copy_from_slice(b);
            Scalar::Int(i64::from_le_bytes(le8))
        }
        ('u', n @ (1 | 2 | 4 | 8)) => {
            le8.get_mut(..n)?.copy_from_slice(b);
            let v = u64::from_le_bytes(le8);
            Scalar::Int(i64::try_from(v).ok()?)
        }
        ('b', 1) => Scalar::Bool(b.first().is_some_and(|x| *x != 0)),
        ('U', _) => {
            let mut s = String::new();
            for c in b.chunks_exact(4) {
                let mut w = [0u8; 4];
                w.copy_from_slice(c);
                let code = if big {
                    u32::from_be_bytes(w)
                } else {
                    u32::from_le_bytes(w)
                };
                if code == 0 {
                    break;
                }
                s.push(char::from_u32(code)?);
            }
            Scalar::Str(s)
        }
        ('S', _) => {
            let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
            Scalar::Str(String::from_utf8_lossy(b.get(..end)?).into_owned())
        }
        _ => return None,
    })
}

/// A list or tuple attribute's items.
pub fn items(obj: &PyObj) -> Option<&[Obj]> {
    match obj {
        PyObj::List(v) | PyObj::Tuple(v) => Some(v),
        PyObj::Array(NdArray {
            data: ArrayData::Objects(v),
            ..
        }) => Some(v),
        _ => None,
    }
}

/// A numeric attribute as a matrix: 2-D as is, 1-D as one row.
pub fn f64_matrix(inst: &Instance, name: &str, ctx: &Ctx<'_>) -> Result<Matrix, CompileError> {
    let (shape, values) = f64_array(inst, name, ctx)?;
    let (rows, cols) = match shape.as_slice() {
        [n] => (1, *n),
        [r, c] => (*r, *c),
        _ => return Err(ctx.invalid(format!("{name} has shape {shape:?}, expected 1-D or 2-D"))),
    };
    Matrix::new(rows, cols, values).map_err(|e| ctx.invalid(format!("{name}: {e}")))
}

/// A `classes_`-like attribute as labels, keeping int32 and string dtypes.
pub fn labels(inst: &Instance, name: &str, ctx: &Ctx<'_>) -> Result<Labels, CompileError> {
    let obj = attr(inst, name, ctx)?;
    let int32 =
        matches!(obj.as_ref(), PyObj::Array(a) if a.dtype.kind == 'i' && a.dtype.itemsize == 4);
    scalars(obj)
        .and_then(|v| Labels::from_scalars(v, int32))
        .ok_or_else(|| ctx.invalid(format!("{name} holds no usable labels")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyobj::DType;

    fn array(kind: char, itemsize: usize, raw: Vec<u8>) -> NdArray {
        NdArray {
            dtype: DType {
                kind,
                itemsize,
                byteorder: ByteOrder::Little,
                fields: Vec::new(),
            },
            shape: vec![raw.len() / itemsize],
            data: ArrayData::Raw(raw),
        }
    }

    #[test]
    fn decodes_numeric_and_text_arrays() {
        let ints = array(
            'i',
            4,
            [-2i32, 7].iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        assert_eq!(
            array_scalars(&ints).unwrap(),
            vec![Scalar::Int(-2), Scalar::Int(7)]
        );
        let ucs4: Vec<u8> = ["a\0", "bc"]
            .iter()
            .flat_map(|s| s.chars().flat_map(|c| (c as u32).to_le_bytes()))
            .collect();
        let text = array('U', 8, ucs4);
        let got = array_scalars(&text).unwrap();
        assert_eq!(got, vec![Scalar::Str("a".into()), Scalar::Str("bc".into())]);
    }
}
