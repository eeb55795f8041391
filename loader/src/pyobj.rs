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

/// Looks a string key up in dict items.
pub fn dict_get<'a>(items: &'a [(Obj, Obj)], key: &str) -> Option<&'a Obj> {
    items
        .iter()
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
