//! The VM's arena: every object the pickle creates gets an id, so `BUILD` can mutate an object in
//! place while the memo and containers hold references to it (docs/formats.md 2b). After `STOP` the
//! arena is frozen into the immutable [`crate::pyobj`] tree, sharing each object through one `Arc`.

use std::sync::Arc;

use super::error::PickleError;
use super::globals::Global;
use super::limits::MAX_DEPTH;
use crate::pyobj::{ArrayData, DType, Instance, NdArray, Obj, PyObj};

/// Index of an object in the [`Arena`].
pub(crate) type Id = usize;

/// An instance under construction.
#[derive(Debug, Default)]
pub(crate) struct InstanceValue {
    /// Constructor / `__reduce__` arguments.
    pub(crate) args: Vec<Id>,
    /// The `BUILD` state.
    pub(crate) state: Option<Id>,
    /// Items appended to a list subclass.
    pub(crate) list_items: Vec<Id>,
    /// Items set on a dict subclass.
    pub(crate) dict_items: Vec<(Id, Id)>,
}

/// Array elements under construction (object arrays hold arena ids).
#[derive(Debug, Clone)]
pub(crate) enum ArrayValue {
    /// Fixed-size elements in C order.
    Raw(Vec<u8>),
    /// Object elements in C order.
    Objects(Vec<Id>),
}

/// One arena object.
#[derive(Debug)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    /// A resolved whitelisted global.
    Global(Global),
    /// An instance of a whitelisted class (`Global` names the class).
    Instance(crate::pyobj::PyClass, InstanceValue),
    /// `numpy...._reconstruct(...)` before its `BUILD`.
    PendingArray,
    /// A decoded array.
    Array(DType, Vec<usize>, ArrayValue),
    /// A dtype (refined in place by its `BUILD`).
    DType(DType),
    /// Placeholder while the value is being frozen.
    Taken,
}

impl Value {
    /// A short kind name for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::Global(_) => "global",
            Value::Instance(..) => "instance",
            Value::PendingArray => "ndarray without state",
            Value::Array(..) => "ndarray",
            Value::DType(_) => "dtype",
            Value::Taken => "object being frozen",
        }
    }
}

/// All objects of one pickle.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    values: Vec<Value>,
}

impl Arena {
    /// Adds an object, returning its id.
    pub(crate) fn push(&mut self, value: Value) -> Id {
        self.values.push(value);
        self.values.len() - 1
    }

    /// The object with this id. Ids only come from [`Arena::push`], so they are always valid;
    /// a stale id reads as `Taken` rather than panicking.
    pub(crate) fn get(&self, id: Id) -> &Value {
        self.values.get(id).unwrap_or(&Value::Taken)
    }

    /// Mutable access to an object.
    pub(crate) fn get_mut(&mut self, id: Id) -> Option<&mut Value> {
        self.values.get_mut(id)
    }

    /// Freezes the object `root` and everything it references into the [`PyObj`] tree.
    pub(crate) fn freeze(mut self, root: Id) -> Result<Obj, PickleError> {
        let mut state = Freezer {
            done: vec![None; self.values.len()],
            in_progress: vec![false; self.values.len()],
        };
        state.freeze(&mut self, root, 0)
    }
}

struct Freezer {
    done: Vec<Option<Obj>>,
    in_progress: Vec<bool>,
}

impl Freezer {
    fn freeze(&mut self, arena: &mut Arena, id: Id, depth: usize) -> Result<Obj, PickleError> {
        if let Some(Some(obj)) = self.done.get(id) {
            return Ok(obj.clone());
        }
        if depth > MAX_DEPTH {
            return Err(PickleError::Limit {
                limit: "nesting depth",
                max: MAX_DEPTH,
                offset: 0,
            });
        }
        match self.in_progress.get_mut(id) {
            Some(flag) if !*flag => *flag = true,
            _ => return Err(PickleError::Cycle),
        }
        let value = match arena.get_mut(id) {
            Some(slot) => std::mem::replace(slot, Value::Taken),
            None => return Err(PickleError::Cycle),
        };
        let d = depth + 1;
        let obj = match value {
            Value::None => PyObj::None,
            Value::Bool(b) => PyObj::Bool(b),
            Value::Int(i) => PyObj::Int(i),
            Value::BigInt(b) => PyObj::BigInt(b),
            Value::Float(f) => PyObj::Float(f),
            Value::Str(s) => PyObj::Str(s),
            Value::Bytes(b) => PyObj::Bytes(b),
            Value::List(items) => PyObj::List(self.all(arena, &items, d)?),
            Value::Tuple(items) => PyObj::Tuple(self.all(arena, &items, d)?),
            Value::Set(items) => PyObj::Set(self.all(arena, &items, d)?),
            Value::Dict(items) => PyObj::Dict(self.pairs(arena, &items, d)?),
            Value::Global(g) => PyObj::Class(g.class),
            Value::Instance(class, inst) => PyObj::Instance(Instance {
                class,
                args: self.all(arena, &inst.args, d)?,
                state: inst.state.map(|s| self.freeze(arena, s, d)).transpose()?,
                list_items: self.all(arena, &inst.list_items, d)?,
                dict_items: self.pairs(arena, &inst.dict_items, d)?,
            }),
            Value::Array(dtype, shape, data) => PyObj::Array(NdArray {
                dtype,
                shape,
                data: match data {
                    ArrayValue::Raw(bytes) => ArrayData::Raw(bytes),
                    ArrayValue::Objects(ids) => ArrayData::Objects(self.all(arena, &ids, d)?),
                },
            }),
            Value::DType(dtype) => PyObj::DType(dtype),
            Value::PendingArray => {
                return Err(PickleError::Numpy {
                    offset: 0,
                    message: "ndarray reconstructed without a BUILD state".into(),
                })
            }
            Value::Taken => return Err(PickleError::Cycle),
        };
        let obj = Arc::new(obj);
        if let Some(slot) = self.done.get_mut(id) {
            *slot = Some(obj.clone());
        }
        Ok(obj)
    }

    fn all(
        &mut self,
        arena: &mut Arena,
        ids: &[Id],
        depth: usize,
    ) -> Result<Vec<Obj>, PickleError> {
        ids.iter().map(|&i| self.freeze(arena, i, depth)).collect()
    }

    fn pairs(
        &mut self,
        arena: &mut Arena,
        ids: &[(Id, Id)],
        depth: usize,
    ) -> Result<Vec<(Obj, Obj)>, PickleError> {
        ids.iter()
            .map(|&(k, v)| Ok((self.freeze(arena, k, depth)?, self.freeze(arena, v, depth)?)))
            .collect()
    }
}
