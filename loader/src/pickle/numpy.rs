//! numpy arrays, scalars and dtypes as pickles encode them (docs/formats.md 2d): `_reconstruct` +
//! `BUILD (version, shape, dtype, is_fortran, data)`, `_frombuffer(buf, dtype, shape, order)`,
//! `scalar(dtype, bytes)`, and `dtype(code, align, copy)` + `BUILD (3|4, byteorder, subarray,
//! names, fields, elsize, alignment, flags[, metadata])`. Fortran-ordered data is converted to C
//! order; byte lengths must equal `prod(shape) * itemsize` exactly.
//!
//! Errors are plain messages; the VM wraps them with the opcode offset.

use super::value::{Arena, ArrayValue, Id, Value};
use crate::pyobj::{ByteOrder, DType, DTypeField};

/// A numpy decoding failure message.
pub(crate) type NpResult<T> = Result<T, String>;

/// Charges `n` against the copy budget (bytes the VM may copy into arrays and dtypes).
pub(crate) fn charge(budget: &mut usize, n: usize) -> NpResult<()> {
    *budget = budget.checked_sub(n).ok_or_else(|| {
        "copy budget exceeded (arrays built from shared buffers too often)".to_string()
    })?;
    Ok(())
}

/// The dtype a `numpy.dtype(code, ...)` call names, before its `BUILD` state refines it.
pub(crate) fn dtype_from_code(code: &str) -> NpResult<DType> {
    let mut chars = code.chars();
    let kind = chars.next().ok_or("empty dtype code")?;
    let digits = chars.as_str();
    let n: usize = if digits.is_empty() {
        0
    } else {
        digits
            .parse()
            .map_err(|_| format!("unsupported dtype code {code:?}"))?
    };
    let itemsize = match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'O' | 'S' | 'V' | 'M' | 'm' => n,
        'U' => n.checked_mul(4).ok_or("dtype too large")?,
        _ => return Err(format!("unsupported dtype code {code:?}")),
    };
    let byteorder = if itemsize <= 1 || matches!(kind, 'O' | 'S' | 'V') {
        ByteOrder::NotApplicable
    } else {
        ByteOrder::Little
    };
    Ok(DType {
        kind,
        itemsize,
        byteorder,
        fields: Vec::new(),
    })
}

/// Applies a dtype's `BUILD` state in place.
pub(crate) fn apply_dtype_state(
    arena: &Arena,
    dtype: &mut DType,
    state: Id,
    budget: &mut usize,
) -> NpResult<()> {
    let items = tuple(arena, state, "dtype state")?;
    if !(7..=9).contains(&items.len()) {
        return Err(format!(
            "dtype state has {} items, expected 8 or 9",
            items.len()
        ));
    }
    let at = |i: usize| items.get(i).copied().ok_or("short dtype state");
    match arena.get(at(1)?) {
        Value::Str(s) => {
            dtype.byteorder = match s.as_str() {
                "<" | "=" => ByteOrder::Little,
                ">" => ByteOrder::Big,
                "|" => ByteOrder::NotApplicable,
                other => return Err(format!("unknown dtype byte order {other:?}")),
            }
        }
        other => return Err(format!("dtype byte order is a {}", other.kind())),
    }
    if !matches!(arena.get(at(2)?), Value::None) {
        return Err("sub-array dtypes are not supported".into());
    }
    let elsize = int(arena, at(5)?, "dtype elsize")?;
    let names = at(3)?;
    if let Value::Tuple(names) = arena.get(names) {
        let fields = match arena.get(at(4)?) {
            Value::Dict(f) => f,
            other => return Err(format!("dtype fields is a {}", other.kind())),
        };
        let mut out = Vec::with_capacity(names.len().min(fields.len()));
        for &name_id in names {
            let name = string(arena, name_id, "dtype field name")?;
            let spec = fields
                .iter()
                .find(|(k, _)| matches!(arena.get(*k), Value::Str(s) if s == name))
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("dtype field {name:?} missing from fields"))?;
            let spec = tuple(arena, spec, "dtype field spec")?;
            let (Some(&dt), Some(&off)) = (spec.first(), spec.get(1)) else {
                return Err(format!("dtype field {name:?} spec is too short"));
            };
            let field_dtype = match arena.get(dt) {
                Value::DType(d) => d.clone(),
                other => return Err(format!("dtype field {name:?} type is a {}", other.kind())),
            };
            charge(budget, 64 + 64 * field_dtype.fields.len())?;
            let offset = usize::try_from(int(arena, off, "dtype field offset")?)
                .map_err(|_| format!("negative offset for dtype field {name:?}"))?;
            out.push(DTypeField {
                name: name.to_string(),
                dtype: field_dtype,
                offset,
            });
        }
        dtype.fields = out;
    } else if !matches!(arena.get(names), Value::None) {
        return Err("dtype names is neither a tuple nor None".into());
    }
    if elsize >= 0 && (matches!(dtype.kind, 'U' | 'S' | 'V') || !dtype.fields.is_empty()) {
        dtype.itemsize = usize::try_from(elsize).map_err(|_| "bad dtype elsize")?;
    }
    for f in &dtype.fields {
        let end = f.offset.checked_add(f.dtype.itemsize);
        if end.is_none_or(|e| e > dtype.itemsize) {
            return Err(format!("dtype field {:?} lies outside the element", f.name));
        }
    }
    Ok(())
}

/// Decodes an ndarray's `BUILD` state.
pub(crate) fn array_from_state(arena: &Arena, state: Id, budget: &mut usize) -> NpResult<Value> {
    let items = tuple(arena, state, "ndarray state")?;
    // numpy's own `__setstate__` accepts the 5-tuple and the legacy versionless 4-tuple.
    let items = match items.len() {
        5 => items.get(1..).unwrap_or_default(),
        4 => items,
        n => return Err(format!("ndarray state has {n} items, expected 5")),
    };
    let [shape, dtype, fortran, data] = items else {
        return Err("ndarray state has the wrong length".into());
    };
    let shape = shape_of(arena, *shape)?;
    let dtype = dtype_of(arena, *dtype)?;
    let fortran = match arena.get(*fortran) {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        other => return Err(format!("ndarray is_fortran is a {}", other.kind())),
    };
    let n = element_count(&shape)?;
    if dtype.kind == 'O' {
        // Object arrays pickle their elements as a list in logical (C) order whatever the flag.
        let elems = match arena.get(*data) {
            Value::List(ids) => ids.clone(),
            other => return Err(format!("object ndarray data is a {}", other.kind())),
        };
        if elems.len() != n {
            return Err(format!(
                "object ndarray has {} elements for shape {shape:?}",
                elems.len()
            ));
        }
        charge(budget, elems.len().saturating_mul(8))?;
        return Ok(Value::Array(dtype, shape, ArrayValue::Objects(elems)));
    }
    let raw = raw_bytes(arena, *data, budget)?;
    let order = if fortran { Order::F } else { Order::C };
    raw_array(dtype, shape, raw, order)
}

/// `_frombuffer(buf, dtype, shape, order)`.
pub(crate) fn frombuffer(arena: &Arena, args: &[Id], budget: &mut usize) -> NpResult<Value> {
    let [buf, dtype, shape, order] = args else {
        return Err(format!("_frombuffer takes 4 arguments, got {}", args.len()));
    };
    let dtype = dtype_of(arena, *dtype)?;
    if dtype.kind == 'O' {
        return Err("_frombuffer with an object dtype".into());
    }
    let shape = shape_of(arena, *shape)?;
    let order = match arena.get(*order) {
        Value::Str(s) if s == "C" => Order::C,
        Value::Str(s) if s == "F" => Order::F,
        _ => return Err("_frombuffer order must be 'C' or 'F'".into()),
    };
    let raw = raw_bytes(arena, *buf, budget)?;
    raw_array(dtype, shape, raw, order)
}

/// `scalar(dtype, bytes)`: a 0-d array.
pub(crate) fn scalar(arena: &Arena, args: &[Id], budget: &mut usize) -> NpResult<Value> {
    let (Some(&dtype), Some(&data)) = (args.first(), args.get(1)) else {
        return Err(format!("scalar takes 2 arguments, got {}", args.len()));
    };
    let dtype = dtype_of(arena, dtype)?;
    if dtype.kind == 'O' {
        return Ok(Value::Array(
            dtype,
            Vec::new(),
            ArrayValue::Objects(vec![data]),
        ));
    }
    let raw = raw_bytes(arena, data, budget)?;
    raw_array(dtype, Vec::new(), raw, Order::C)
}

/// An array from raw element bytes in C or Fortran order (joblib's wrapped arrays).
pub(crate) fn raw_array_pub(
    dtype: DType,
    shape: Vec<usize>,
    raw: Vec<u8>,
    fortran: bool,
) -> NpResult<Value> {
    if dtype.itemsize == 0 && element_count(&shape)? != 0 {
        return Err(format!("dtype {} has no size", dtype.kind));
    }
    raw_array(dtype, shape, raw, if fortran { Order::F } else { Order::C })
}

/// A shape tuple (non-negative ints).
pub(crate) fn shape(arena: &Arena, id: Id) -> NpResult<Vec<usize>> {
    shape_of(arena, id)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    C,
    F,
}

fn raw_array(dtype: DType, shape: Vec<usize>, raw: Vec<u8>, order: Order) -> NpResult<Value> {
    let n = element_count(&shape)?;
    let expected = n
        .checked_mul(dtype.itemsize)
        .ok_or("ndarray byte size overflows")?;
    if raw.len() != expected {
        return Err(format!(
            "ndarray of shape {shape:?} and itemsize {} needs {expected} bytes, got {}",
            dtype.itemsize,
            raw.len()
        ));
    }
    let raw = if order == Order::F && shape.len() > 1 {
        fortran_to_c(&raw, &shape, dtype.itemsize)
    } else {
        raw
    };
    Ok(Value::Array(dtype, shape, ArrayValue::Raw(raw)))
}

/// Reorders Fortran-ordered elements into C order (lengths already checked).
fn fortran_to_c(src: &[u8], shape: &[usize], itemsize: usize) -> Vec<u8> {
    let mut strides = Vec::with_capacity(shape.len());
    let mut s = 1usize;
    for &d in shape {
        strides.push(s);
        s = s.saturating_mul(d);
    }
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(src.len());
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let off: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        let start = off * itemsize;
        out.extend_from_slice(src.get(start..start + itemsize).unwrap_or_default());
        // Advance the C-order multi-index: last axis fastest.
        for (i, &d) in idx.iter_mut().zip(shape).rev() {
            *i += 1;
            if *i < d {
                break;
            }
            *i = 0;
        }
    }
    out
}

fn element_count(shape: &[usize]) -> NpResult<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("ndarray shape {shape:?} overflows"))
}

/// Array bytes: `bytes`/`bytearray`, or a `str` that Python 3 decoded from a Python 2 pickle as latin-1.
fn raw_bytes(arena: &Arena, id: Id, budget: &mut usize) -> NpResult<Vec<u8>> {
    let out = match arena.get(id) {
        Value::Bytes(b) => {
            charge(budget, b.len())?;
            b.clone()
        }
        Value::Str(s) => {
            charge(budget, s.len())?;
            s.chars()
                .map(|c| {
                    u8::try_from(u32::from(c)).map_err(|_| "non-latin-1 array data".to_string())
                })
                .collect::<NpResult<Vec<u8>>>()?
        }
        other => return Err(format!("ndarray data is a {}", other.kind())),
    };
    Ok(out)
}

fn dtype_of(arena: &Arena, id: Id) -> NpResult<DType> {
    match arena.get(id) {
        Value::DType(d) => Ok(d.clone()),
        other => Err(format!("expected a dtype, got a {}", other.kind())),
    }
}

fn shape_of(arena: &Arena, id: Id) -> NpResult<Vec<usize>> {
    let dims = match arena.get(id) {
        Value::Tuple(d) | Value::List(d) => d,
        Value::Int(_) => std::slice::from_ref(&id),
        other => return Err(format!("ndarray shape is a {}", other.kind())),
    };
    dims.iter()
        .map(|&d| {
            usize::try_from(int(arena, d, "shape dimension")?)
                .map_err(|_| "negative shape dimension".to_string())
        })
        .collect()
}

fn tuple<'a>(arena: &'a Arena, id: Id, what: &str) -> NpResult<&'a [Id]> {
    match arena.get(id) {
        Value::Tuple(items) => Ok(items),
        other => Err(format!("{what} is a {}, expected a tuple", other.kind())),
    }
}

fn int(arena: &Arena, id: Id, what: &str) -> NpResult<i64> {
    match arena.get(id) {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        other => Err(format!("{what} is a {}, expected an int", other.kind())),
    }
}

fn string<'a>(arena: &'a Arena, id: Id, what: &str) -> NpResult<&'a str> {
    match arena.get(id) {
        Value::Str(s) => Ok(s),
        other => Err(format!("{what} is a {}, expected a str", other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_reorders() {
        // [[1,2,3],[4,5,6]] stored column-major: 1 4 2 5 3 6.
        let src = [1u8, 4, 2, 5, 3, 6];
        assert_eq!(fortran_to_c(&src, &[2, 3], 1), vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn codes() {
        let d = dtype_from_code("U3").expect("U3");
        assert_eq!((d.kind, d.itemsize), ('U', 12));
        let d = dtype_from_code("b1").expect("b1");
        assert_eq!(d.byteorder, ByteOrder::NotApplicable);
        assert!(dtype_from_code("x9").is_err());
        assert!(dtype_from_code("f99999999999999999999999").is_err());
    }
}
