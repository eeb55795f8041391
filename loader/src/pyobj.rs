//! The plain object tree that both model readers produce — the restricted pickle VM
//! (`crate::pickle`) and the skops reader (`crate::skops`) — so each estimator compiler is
//! written once against one representation.
//!
//! Nothing here is executable: a class is only a `(module, name)` pair, an instance is its class
//! plus the constructor arguments and the state its pickle carried. numpy arrays are decoded into
//! [`NdArray`] (dtype, shape and raw little/big-endian bytes, or Python objects for object
//! arrays). Shared references stay shared (`Arc`), so a structure referenced twice is stored once.

use std::sync::Arc;

/// A reference-counted node of the object tree.
pub type Obj = Arc<PyObj>;

/// A Python class or function, named by module and qualified name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PyClass {
    /// `sklearn.linear_model._logistic`, `numpy`, `builtins`, ...
    pub module: String,
    /// `LogisticRegression`, `float64`, `slice`, ...
    pub name: String,
}

impl PyClass {
    /// Builds a class reference.
    pub fn new(module: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            module: module.into(),
            name: name.into(),
        }
    }

    /// `module.name`, as error messages show it.
    pub fn path(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// One node of the object tree.
#[derive(Debug, Clone, PartialEq)]
pub enum PyObj {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An int that fits in 64 bits.
    Int(i64),
    /// A larger int, as little-endian two's-complement bytes (pickle's LONG1/LONG4 form).
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A str.
    Str(String),
    /// bytes or bytearray.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Obj>),
    /// A tuple.
    Tuple(Vec<Obj>),
    /// A dict, in insertion order (keys are usually `Str`).
    Dict(Vec<(Obj, Obj)>),
    /// A set or frozenset.
    Set(Vec<Obj>),
    /// A reference to a (whitelisted) class or function itself, e.g. `numpy.float64` as a `dtype=` parameter.
    Class(PyClass),
    /// An instance: its class, the constructor arguments, and the state `BUILD`/`__setstate__` gave it.
    Instance(Instance),
    /// A decoded numpy array (or a numpy scalar, as a 0-d array).
    Array(NdArray),
    /// A numpy dtype object.
    DType(DType),
}

/// An instance of a class that is not one of the built-in kinds above.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Its class.
    pub class: PyClass,
    /// Constructor / `__reduce__` arguments (empty for `cls.__new__(cls)`).
    pub args: Vec<Obj>,
    /// The state: usually a `Dict` of attributes (`__dict__` plus `_sklearn_version`), or a tuple.
    pub state: Option<Obj>,
    /// Items appended by `APPENDS` to a list subclass, if any.
    pub list_items: Vec<Obj>,
    /// Items set by `SETITEMS` on a dict subclass (`OrderedDict`, `defaultdict`), if any.
    pub dict_items: Vec<(Obj, Obj)>,
}

impl Instance {
    /// An attribute from the state dict (`self.coef_` ...), when the state is a dict.
    pub fn attr(&self, name: &str) -> Option<&Obj> {
        match self.state.as_deref()? {
            PyObj::Dict(items) => dict_get(items, name),
            // (state, slotstate) tuples: look in the first dict, then the second.
            PyObj::Tuple(parts) => parts.iter().find_map(|p| match p.as_ref() {
                PyObj::Dict(items) => dict_get(items, name),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// Looks a string key up in dict items. A key set twice yields its last value, as in Python.
pub fn dict_get<'a>(items: &'a [(Obj, Obj)], key: &str) -> Option<&'a Obj> {
    items
        .iter()
        .rev()
        .find(|(k, _)| matches!(k.as_ref(), PyObj::Str(s) if s == key))
        .map(|(_, v)| v)
}

/// Byte order of a dtype's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
    /// `|`: not applicable (single bytes, objects, structured).
    NotApplicable,
}

/// A numpy dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct DType {
    /// numpy's kind character: `f` float, `i` int, `u` unsigned, `b` bool, `O` object,
    /// `U` unicode (UCS-4), `S` bytes, `V` void/structured, `M`/`m` datetime/timedelta.
    pub kind: char,
    /// Bytes per element (for `U`, 4 per character).
    pub itemsize: usize,
    /// Byte order.
    pub byteorder: ByteOrder,
    /// Named fields of a structured dtype, in declaration order.
    pub fields: Vec<DTypeField>,
}

/// One field of a structured dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct DTypeField {
    /// The field name (`left_child`, `threshold`, ...).
    pub name: String,
    /// Its dtype.
    pub dtype: DType,
    /// Its byte offset inside one element.
    pub offset: usize,
}

/// The elements of an array.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    /// Fixed-size elements, `itemsize` bytes each, in C order (readers convert Fortran order).
    Raw(Vec<u8>),
    /// Python objects, for object-dtype arrays (e.g. string class labels, nested estimators).
    Objects(Vec<Obj>),
}

/// A numpy array: dtype, shape and elements in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// The element type.
    pub dtype: DType,
    /// The shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// The elements.
    pub data: ArrayData,
}

impl NdArray {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why an [`NdArray`] could not be read as the requested element type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArrayError {
    /// The dtype cannot be converted to the target type.
    #[error("cannot read a {kind}{itemsize} array as {target}")]
    Kind {
        /// numpy kind character of the array.
        kind: char,
        /// Its itemsize.
        itemsize: usize,
        /// The requested type (`f64`, `i64`, `str` ...).
        target: &'static str,
    },
    /// An element of an object array has the wrong type.
    #[error("element {index} of an object array cannot be read as {target}")]
    Element {
        /// Its flat index.
        index: usize,
        /// The requested type.
        target: &'static str,
    },
    /// An integer does not fit the target type.
    #[error("element {index} overflows {target}")]
    Overflow {
        /// Its flat index.
        index: usize,
        /// The requested type.
        target: &'static str,
    },
    /// The structured dtype has no such field (or the array is not structured).
    #[error("array has no field {0:?}")]
    NoField(String),
    /// The raw data length does not match `shape` and `itemsize`, or the data is of the wrong form.
    #[error("array data does not match its dtype and shape")]
    Malformed,
}

/// Conversions for estimator compilers. They accept either byte order and return a typed
/// [`ArrayError`] when the dtype does not fit, so a compiler reports what it found.
impl NdArray {
    /// The elements' raw bytes in C order, checked against shape and itemsize.
    fn raw(&self) -> Result<&[u8], ArrayError> {
        match &self.data {
            ArrayData::Raw(b) if Some(b.len()) == self.len().checked_mul(self.dtype.itemsize) => {
                Ok(b)
            }
            _ => Err(ArrayError::Malformed),
        }
    }

    fn kind_error(&self, target: &'static str) -> ArrayError {
        ArrayError::Kind {
            kind: self.dtype.kind,
            itemsize: self.dtype.itemsize,
            target,
        }
    }

    /// All elements as f64, from float (`f2`/`f4`/`f8`), int, unsigned, bool, or object arrays
    /// of Python numbers.
    pub fn to_f64_vec(&self) -> Result<Vec<f64>, ArrayError> {
        if let ArrayData::Objects(items) = &self.data {
            return items
                .iter()
                .enumerate()
                .map(|(index, o)| {
                    o.as_f64().ok_or(ArrayError::Element {
                        index,
                        target: "f64",
                    })
                })
                .collect();
        }
        let dt = &self.dtype;
        if !matches!(dt.kind, 'f' | 'i' | 'u' | 'b') || !dt.fields.is_empty() {
            return Err(self.kind_error("f64"));
        }
        self.raw()?
            .chunks_exact(dt.itemsize.max(1))
            .map(|b| scalar_f64(b, dt).ok_or_else(|| self.kind_error("f64")))
            .collect()
    }

    /// All elements as i64, from int, unsigned (checked), bool, or object arrays of Python ints.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>, ArrayError> {
        if let ArrayData::Objects(items) = &self.data {
            return items
                .iter()
                .enumerate()
                .map(|(index, o)| {
                    o.as_i64().ok_or(ArrayError::Element {
                        index,
                        target: "i64",
                    })
                })
                .collect();
        }
        let dt = &self.dtype;
        if !matches!(dt.kind, 'i' | 'u' | 'b') || !dt.fields.is_empty() {
            return Err(self.kind_error("i64"));
        }
        self.raw()?
            .chunks_exact(dt.itemsize.max(1))
            .enumerate()
            .map(|(index, b)| match scalar_i128(b, dt) {
                Some(v) => i64::try_from(v).map_err(|_| ArrayError::Overflow {
                    index,
                    target: "i64",
                }),
                None => Err(self.kind_error("i64")),
            })
            .collect()
    }

    /// All elements as strings: `U` (UCS-4) and `S` arrays (trailing NULs stripped, as numpy
    /// does), and object arrays of `str` (or UTF-8 `bytes`).
    pub fn to_strings(&self) -> Result<Vec<String>, ArrayError> {
        if let ArrayData::Objects(items) = &self.data {
            return items
                .iter()
                .enumerate()
                .map(|(index, o)| match o.as_ref() {
                    PyObj::Str(s) => Ok(s.clone()),
                    PyObj::Bytes(b) => {
                        String::from_utf8(b.clone()).map_err(|_| ArrayError::Element {
                            index,
                            target: "str",
                        })
                    }
                    _ => Err(ArrayError::Element {
                        index,
                        target: "str",
                    }),
                })
                .collect();
        }
        let dt = &self.dtype;
        let raw = self.raw()?;
        if dt.itemsize == 0 && matches!(dt.kind, 'U' | 'S') {
            return Ok(vec![String::new(); self.len()]);
        }
        match dt.kind {
            'U' if dt.itemsize.is_multiple_of(4) => raw
                .chunks_exact(dt.itemsize)
                .enumerate()
                .map(|(index, elem)| {
                    elem.chunks_exact(4)
                        .map(|c| {
                            let w = [c.first(), c.get(1), c.get(2), c.get(3)]
                                .map(|b| b.copied().unwrap_or_default());
                            let code = if dt.byteorder == ByteOrder::Big {
                                u32::from_be_bytes(w)
                            } else {
                                u32::from_le_bytes(w)
                            };
                            char::from_u32(code)
                        })
                        .collect::<Option<String>>()
                        .map(|s| s.trim_end_matches('\0').to_string())
                        .ok_or(ArrayError::Element {
                            index,
                            target: "str",
                        })
                })
                .collect(),
            'S' => raw
                .chunks_exact(dt.itemsize)
                .enumerate()
                .map(|(index, elem)| {
                    let end = elem.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                    String::from_utf8(elem.get(..end).unwrap_or_default().to_vec()).map_err(|_| {
                        ArrayError::Element {
                            index,
                            target: "str",
                        }
                    })
                })
                .collect(),
            _ => Err(self.kind_error("str")),
        }
    }

    /// One field of a structured array as its own array (same shape, the field's dtype).
    pub fn field(&self, name: &str) -> Result<NdArray, ArrayError> {
        let f = self
            .dtype
            .fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| ArrayError::NoField(name.to_string()))?;
        let size = f.dtype.itemsize;
        let end = f.offset.checked_add(size).ok_or(ArrayError::Malformed)?;
        let raw = self.raw()?;
        let mut out = Vec::with_capacity(self.len().saturating_mul(size));
        for elem in raw.chunks_exact(self.dtype.itemsize.max(1)) {
            let bytes = elem.get(f.offset..end).ok_or(ArrayError::Malformed)?;
            out.extend_from_slice(bytes);
        }
        Ok(NdArray {
            dtype: f.dtype.clone(),
            shape: self.shape.clone(),
            data: ArrayData::Raw(out),
        })
    }

    /// A numeric field of a structured array as f64 (e.g. Tree `threshold`).
    pub fn field_f64(&self, name: &str) -> Result<Vec<f64>, ArrayError> {
        self.field(name)?.to_f64_vec()
    }

    /// An integer field of a structured array as i64 (e.g. Tree `left_child`).
    pub fn field_i64(&self, name: &str) -> Result<Vec<i64>, ArrayError> {
        self.field(name)?.to_i64_vec()
    }

    /// A one-byte integer/bool field as u8 (e.g. Tree `missing_go_to_left`).
    pub fn field_u8(&self, name: &str) -> Result<Vec<u8>, ArrayError> {
        let field = self.field(name)?;
        if field.dtype.itemsize != 1 || !matches!(field.dtype.kind, 'u' | 'b' | 'i') {
            return Err(field.kind_error("u8"));
        }
        field.raw().map(<[u8]>::to_vec)
    }

    /// Element `i` (flat, C order) of an object array.
    pub fn element_obj(&self, i: usize) -> Option<&Obj> {
        match &self.data {
            ArrayData::Objects(items) => items.get(i),
            ArrayData::Raw(_) => None,
        }
    }
}

/// The element bytes in little-endian order.
fn le_bytes<const N: usize>(b: &[u8], order: ByteOrder) -> Option<[u8; N]> {
    let mut out: [u8; N] = b.try_into().ok()?;
    if order == ByteOrder::Big {
        out.reverse();
    }
    Some(out)
}

/// One integer or bool element, widened.
fn scalar_i128(b: &[u8], dt: &DType) -> Option<i128> {
    let o = dt.byteorder;
    Some(match (dt.kind, dt.itemsize) {
        ('b', 1) => i128::from(*b.first()? != 0),
        ('i', 1) => i128::from(i8::from_le_bytes(le_bytes(b, o)?)),
        ('i', 2) => i128::from(i16::from_le_bytes(le_bytes(b, o)?)),
        ('i', 4) => i128::from(i32::from_le_bytes(le_bytes(b, o)?)),
        ('i', 8) => i128::from(i64::from_le_bytes(le_bytes(b, o)?)),
        ('u', 1) => i128::from(*b.first()?),
        ('u', 2) => i128::from(u16::from_le_bytes(le_bytes(b, o)?)),
        ('u', 4) => i128::from(u32::from_le_bytes(le_bytes(b, o)?)),
        ('u', 8) => i128::from(u64::from_le_bytes(le_bytes(b, o)?)),
        _ => return None,
    })
}

/// One numeric element as f64.
fn scalar_f64(b: &[u8], dt: &DType) -> Option<f64> {
    let o = dt.byteorder;
    match (dt.kind, dt.itemsize) {
        ('f', 2) => Some(f16_to_f64(u16::from_le_bytes(le_bytes(b, o)?))),
        ('f', 4) => Some(f64::from(f32::from_le_bytes(le_bytes(b, o)?))),
        ('f', 8) => Some(f64::from_le_bytes(le_bytes(b, o)?)),
        // Integers beyond 2^53 round, as numpy's astype(float64) does.
        _ => scalar_i128(b, dt).map(|v| v as f64),
    }
}

/// IEEE half precision to f64.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Typed views of a node, for estimator compilers. Each returns `None` when the node is of
/// another kind, so a compiler can report the attribute it expected.
impl PyObj {
    /// The instance, if this is one.
    pub fn as_instance(&self) -> Option<&Instance> {
        match self {
            PyObj::Instance(i) => Some(i),
            _ => None,
        }
    }

    /// An attribute of an instance's state (`None` for other kinds or missing attributes).
    pub fn attr(&self, name: &str) -> Option<&Obj> {
        self.as_instance()?.attr(name)
    }

    /// A number as f64: Python float or int, or a numeric numpy scalar (0-d array).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PyObj::Float(f) => Some(*f),
            PyObj::Int(i) => Some(*i as f64),
            PyObj::Array(a) if a.shape.is_empty() => match &a.data {
                ArrayData::Raw(_) => a.to_f64_vec().ok()?.first().copied(),
                ArrayData::Objects(o) => o.first()?.as_f64(),
            },
            _ => None,
        }
    }

    /// An integer as i64: Python int, or an integer/bool numpy scalar (0-d array).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PyObj::Int(i) => Some(*i),
            PyObj::Array(a) if a.shape.is_empty() => match &a.data {
                ArrayData::Raw(_) => a.to_i64_vec().ok()?.first().copied(),
                ArrayData::Objects(o) => o.first()?.as_i64(),
            },
            _ => None,
        }
    }

    /// A bool: Python bool or a numpy `bool_` scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PyObj::Bool(b) => Some(*b),
            PyObj::Array(a) if a.shape.is_empty() && a.dtype.kind == 'b' => {
                a.to_i64_vec().ok()?.first().map(|&v| v != 0)
            }
            _ => None,
        }
    }

    /// A str.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyObj::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a list or tuple.
    pub fn as_list(&self) -> Option<&[Obj]> {
        match self {
            PyObj::List(items) | PyObj::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a dict.
    pub fn as_dict(&self) -> Option<&[(Obj, Obj)]> {
        match self {
            PyObj::Dict(items) => Some(items),
            _ => None,
        }
    }

    /// The numpy array (scalars are 0-d arrays).
    pub fn as_array(&self) -> Option<&NdArray> {
        match self {
            PyObj::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The numpy dtype.
    pub fn as_dtype(&self) -> Option<&DType> {
        match self {
            PyObj::DType(d) => Some(d),
            _ => None,
        }
    }

    /// True for `None`.
    pub fn is_none(&self) -> bool {
        matches!(self, PyObj::None)
    }

    /// `module.name` of an instance's class or of a class reference.
    pub fn class_path(&self) -> Option<String> {
        match self {
            PyObj::Instance(i) => Some(i.class.path()),
            PyObj::Class(c) => Some(c.path()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(kind: char, itemsize: usize, byteorder: ByteOrder) -> DType {
        DType {
            kind,
            itemsize,
            byteorder,
            fields: Vec::new(),
        }
    }

    fn arr(dtype: DType, shape: Vec<usize>, raw: Vec<u8>) -> NdArray {
        NdArray {
            dtype,
            shape,
            data: ArrayData::Raw(raw),
        }
    }

    #[test]
    fn numeric_conversions_honour_byte_order() {
        let be = arr(
            dt('f', 8, ByteOrder::Big),
            vec![1],
            1.5f64.to_be_bytes().to_vec(),
        );
        assert_eq!(be.to_f64_vec(), Ok(vec![1.5]));
        let le = arr(
            dt('i', 2, ByteOrder::Little),
            vec![2],
            vec![0xff, 0xff, 2, 0],
        );
        assert_eq!(le.to_i64_vec(), Ok(vec![-1, 2]));
        assert_eq!(le.to_f64_vec(), Ok(vec![-1.0, 2.0]));
        let u = arr(
            dt('u', 8, ByteOrder::Little),
            vec![1],
            u64::MAX.to_le_bytes().to_vec(),
        );
        assert!(matches!(u.to_i64_vec(), Err(ArrayError::Overflow { .. })));
        let h = arr(
            dt('f', 2, ByteOrder::Little),
            vec![1],
            0x3e00u16.to_le_bytes().to_vec(),
        );
        assert_eq!(h.to_f64_vec(), Ok(vec![1.5]));
        let f = arr(
            dt('f', 8, ByteOrder::Little),
            vec![1],
            1.0f64.to_le_bytes().to_vec(),
        );
        assert!(matches!(f.to_i64_vec(), Err(ArrayError::Kind { .. })));
        let short = arr(dt('f', 8, ByteOrder::Little), vec![2], vec![0; 8]);
        assert_eq!(short.to_f64_vec(), Err(ArrayError::Malformed));
    }

    #[test]
    fn strings_and_fields() {
        let mut raw = Vec::new();
        for s in ["ab", "c\u{e9}"] {
            let mut chars: Vec<u32> = s.chars().map(u32::from).collect();
            chars.resize(3, 0);
            raw.extend(chars.iter().flat_map(|c| c.to_be_bytes()));
        }
        let u = arr(dt('U', 12, ByteOrder::Big), vec![2], raw);
        assert_eq!(u.to_strings(), Ok(vec!["ab".to_string(), "cé".to_string()]));
        let s = arr(
            dt('S', 3, ByteOrder::NotApplicable),
            vec![1],
            b"hi\0".to_vec(),
        );
        assert_eq!(s.to_strings(), Ok(vec!["hi".to_string()]));

        let mut rec = dt('V', 16, ByteOrder::NotApplicable);
        rec.fields = vec![
            DTypeField {
                name: "a".into(),
                dtype: dt('i', 8, ByteOrder::Little),
                offset: 0,
            },
            DTypeField {
                name: "flag".into(),
                dtype: dt('u', 1, ByteOrder::NotApplicable),
                offset: 8,
            },
        ];
        let mut raw = Vec::new();
        for (a, f) in [(-1i64, 1u8), (7, 0)] {
            raw.extend(a.to_le_bytes());
            raw.push(f);
            raw.extend([0u8; 7]);
        }
        let r = arr(rec, vec![2], raw);
        assert_eq!(r.field_i64("a"), Ok(vec![-1, 7]));
        assert_eq!(r.field_f64("a"), Ok(vec![-1.0, 7.0]));
        assert_eq!(r.field_u8("flag"), Ok(vec![1, 0]));
        assert_eq!(r.field_i64("nope"), Err(ArrayError::NoField("nope".into())));
        assert!(r.to_f64_vec().is_err());
    }

    #[test]
    fn obj_accessors() {
        let scalar = PyObj::Array(arr(
            dt('f', 8, ByteOrder::Little),
            vec![],
            2.5f64.to_le_bytes().to_vec(),
        ));
        assert_eq!(scalar.as_f64(), Some(2.5));
        assert_eq!(scalar.as_i64(), None);
        assert_eq!(PyObj::Int(3).as_f64(), Some(3.0));
        assert_eq!(PyObj::Str("x".into()).as_str(), Some("x"));
        let t = PyObj::Tuple(vec![Arc::new(PyObj::None)]);
        assert_eq!(t.as_list().map(<[Obj]>::len), Some(1));
        let objs = NdArray {
            dtype: dt('O', 8, ByteOrder::NotApplicable),
            shape: vec![2],
            data: ArrayData::Objects(vec![
                Arc::new(PyObj::Str("a".into())),
                Arc::new(PyObj::Int(1)),
            ]),
        };
        assert!(objs.to_strings().is_err());
        assert_eq!(objs.element_obj(1).and_then(|o| o.as_i64()), Some(1));
        let inst = PyObj::Instance(Instance {
            class: PyClass::new("m", "C"),
            args: vec![],
            state: Some(Arc::new(PyObj::Dict(vec![(
                Arc::new(PyObj::Str("k".into())),
                Arc::new(PyObj::Bool(true)),
            )]))),
            list_items: vec![],
            dict_items: vec![],
        });
        assert_eq!(inst.class_path().as_deref(), Some("m.C"));
        assert_eq!(inst.attr("k").and_then(|o| o.as_bool()), Some(true));
    }
}
