//! Walks the `schema.json` node tree and builds the [`crate::pyobj`] tree, one loader at a time
//! (skops `io/_general.py`, `_numpy.py`, `_sklearn.py`).
//!
//! Shared objects: every node may carry an `__id__`; the first node with a given id is built
//! once and every later node with that id (including `CachedNode`s) gets the same [`Obj`]
//! (`Arc`), as skops's load-context memo does. An id met again while its first node is still
//! being built is a cycle and an error, so the output is always a finite DAG no larger than the
//! schema plus its arrays.

use std::collections::HashMap;
use std::sync::Arc;

use super::allow;
use super::archive::Archive;
use super::error::SkopsError;
use super::json::Json;
use super::npy::parse_npy;
use super::value::{dict_key, json_text, kind, plain_json};
use crate::pyobj::{ArrayData, ByteOrder, DType, Instance, NdArray, Obj, PyClass, PyObj};

/// Deepest node nesting accepted (serde_json's recursion limit already bounds it near 64).
const MAX_DEPTH: usize = 256;

/// State of one shared-object id.
enum Slot {
    /// Its first node is being built (meeting it again is a cycle).
    Building,
    /// Built.
    Done(Obj),
}

/// Builds objects from schema nodes, reading array entries from the archive on demand.
pub(crate) struct Builder<'a, 'b> {
    archive: &'b mut Archive<'a>,
    memo: HashMap<String, Slot>,
    protocol: u64,
}

/// The three names every node carries.
struct Head<'j> {
    loader: &'j str,
    module: &'j str,
    class: &'j str,
}

impl Head<'_> {
    fn path(&self) -> String {
        format!("{}.{}", self.module, self.class)
    }
}

impl<'a, 'b> Builder<'a, 'b> {
    /// A builder for a schema of the given protocol.
    pub(crate) fn new(archive: &'b mut Archive<'a>, protocol: u64) -> Self {
        Self {
            archive,
            memo: HashMap::new(),
            protocol,
        }
    }

    /// Builds the object a node describes.
    pub(crate) fn node(&mut self, node: &Json, at: &str, depth: usize) -> Result<Obj, SkopsError> {
        if depth > MAX_DEPTH {
            return Err(SkopsError::TooDeep {
                limit: MAX_DEPTH,
                at: at.to_owned(),
            });
        }
        if !matches!(node, Json::Object(_)) {
            return Err(malformed(
                at,
                format!("a node must be an object, found {}", node.kind()),
            ));
        }
        let id = node_id(node, at)?;
        if let Some(id) = &id {
            match self.memo.get(id) {
                Some(Slot::Done(obj)) => return Ok(obj.clone()),
                Some(Slot::Building) => {
                    return Err(SkopsError::Cycle {
                        id: id.clone(),
                        at: at.to_owned(),
                    })
                }
                None => {}
            }
        }
        let loader = str_field(node, "__loader__", at)?;
        if loader == "CachedNode" {
            return Err(SkopsError::UnknownId {
                id: id.unwrap_or_else(|| "(none)".into()),
                at: at.to_owned(),
            });
        }
        let head = Head {
            loader,
            module: str_field(node, "__module__", at)?,
            class: str_field(node, "__class__", at)?,
        };
        if let Some(id) = &id {
            self.memo.insert(id.clone(), Slot::Building);
        }
        let obj = self.build(&head, node, at, depth)?;
        if let Some(id) = id {
            self.memo.insert(id, Slot::Done(obj.clone()));
        }
        Ok(obj)
    }

    fn build(&mut self, h: &Head, node: &Json, at: &str, depth: usize) -> Result<Obj, SkopsError> {
        let d = depth + 1;
        let obj = match h.loader {
            "JsonNode" => {
                let text = str_field(node, "content", at)?;
                json_text(text).map_err(|e| malformed(at, e))?
            }
            "DictNode" => self.dict(h, node, at, d)?,
            // A masked array (a search's `cv_results_`): its data array, the mask dropped;
            // nothing at predict time reads it.
            "MaskedArrayNode" => {
                expect_class(
                    h,
                    &[
                        ("numpy.ma", "MaskedArray"),
                        ("numpy.ma.core", "MaskedArray"),
                    ],
                    at,
                )?;
                let content = field(node, "content", at)?;
                let data = content
                    .get("data")
                    .ok_or_else(|| malformed(at, "masked array without data"))?;
                return self.node(data, &format!("{at}.data"), d);
            }
            "DefaultDictNode" => {
                expect_class(h, &[("collections", "defaultdict")], at)?;
                let content = field(node, "content", at)?;
                let main = self.node(field(content, "main", at)?, at, d)?;
                let factory = self.node(field(content, "default_factory", at)?, at, d)?;
                let PyObj::Dict(items) = main.as_ref() else {
                    return Err(malformed(at, "defaultdict main is not a dict"));
                };
                PyObj::Instance(Instance {
                    class: PyClass::new(h.module, h.class),
                    args: vec![factory],
                    state: None,
                    list_items: Vec::new(),
                    dict_items: items.clone(),
                })
            }
            "ListNode" => {
                expect_class(h, &[("builtins", "list")], at)?;
                PyObj::List(self.items(node, at, d)?)
            }
            "TupleNode" => {
                expect_class(h, &[("builtins", "tuple")], at)?;
                PyObj::Tuple(self.items(node, at, d)?)
            }
            "SetNode" => {
                expect_class(h, &[("builtins", "set"), ("builtins", "frozenset")], at)?;
                PyObj::Set(self.items(node, at, d)?)
            }
            "BytesNode" | "BytearrayNode" => {
                expect_class(h, &[("builtins", "bytes"), ("builtins", "bytearray")], at)?;
                let file = str_field(node, "file", at)?;
                PyObj::Bytes(self.archive.read(file)?)
            }
            "SliceNode" => {
                expect_class(h, &[("builtins", "slice")], at)?;
                let content = field(node, "content", at)?;
                let part = |k: &str| content.get(k).map_or(Arc::new(PyObj::None), plain_json);
                PyObj::Instance(instance(
                    PyClass::new("builtins", "slice"),
                    vec![part("start"), part("stop"), part("step")],
                    None,
                ))
            }
            "TypeNode" => {
                if !allow::type_object(h.module, h.class) {
                    return Err(unsupported(h.path(), at));
                }
                PyObj::Class(PyClass::new(h.module, h.class))
            }
            "FunctionNode" => {
                if !allow::function(h.module, h.class) {
                    return Err(unsupported(h.path(), at));
                }
                PyObj::Class(PyClass::new(h.module, h.class))
            }
            "ObjectNode" => {
                if !allow::object_class(h.module, h.class) {
                    return Err(unsupported(h.path(), at));
                }
                let state = match node.get("content") {
                    None | Some(Json::Null) => None,
                    Some(content) => Some(self.node(content, at, d)?),
                };
                let state = state.filter(|s| !matches!(s.as_ref(), PyObj::None));
                PyObj::Instance(instance(PyClass::new(h.module, h.class), Vec::new(), state))
            }
            "TreeNode" | "LossNode" => {
                let allowed = if h.loader == "TreeNode" {
                    (h.module, h.class) == ("sklearn.tree._tree", "Tree")
                } else {
                    allow::loss_class(h.module, h.class)
                };
                if !allowed {
                    return Err(unsupported(h.path(), at));
                }
                self.reduce(h, node, at, d)?
            }
            "NdArrayNode" => PyObj::Array(self.array(h, node, at, d)?),
            "SparseMatrixNode" => {
                if !super::sparse::allowed(h.module, h.class)
                    || str_field(node, "type", at)? != "scipy"
                {
                    return Err(unsupported(h.path(), at));
                }
                super::sparse::read(
                    self.archive,
                    h.module,
                    h.class,
                    str_field(node, "file", at)?,
                )?
            }
            "DTypeNode" => {
                expect_class(h, &[("numpy", "dtype")], at)?;
                let content = self.node(field(node, "content", at)?, at, d)?;
                match content.as_ref() {
                    PyObj::Array(a) => PyObj::DType(a.dtype.clone()),
                    other => {
                        return Err(malformed(at, format!("dtype content is {}", kind(other))))
                    }
                }
            }
            "RandomStateNode" => {
                if !h.module.starts_with("numpy.random") || h.class != "RandomState" {
                    return Err(unsupported(h.path(), at));
                }
                let state = self.node(field(node, "content", at)?, at, d)?;
                PyObj::Instance(instance(
                    PyClass::new(h.module, h.class),
                    Vec::new(),
                    Some(state),
                ))
            }
            "RandomGeneratorNode" => self.generator(h, node, at, d)?,
            "MethodNode" => {
                let func = node
                    .get("content")
                    .and_then(|c| c.get("func"))
                    .and_then(Json::as_str)
                    .unwrap_or("?");
                return Err(unsupported(format!("{}.{func}", h.path()), at));
            }
            // `functools.partial`: an inert record of its function (itself a FunctionNode under
            // the usual whitelist), arguments and keywords; nothing calls it.
            "PartialNode" => {
                expect_class(h, &[("functools", "partial")], at)?;
                let content = field(node, "content", at)?;
                let func = self.node(field(content, "func", at)?, &format!("{at}.func"), d)?;
                let mut state = vec![(str_obj("func"), func)];
                for name in ["args", "kwds"] {
                    if let Some(part) = content.get(name) {
                        let value = self.node(part, &format!("{at}.{name}"), d)?;
                        state.push((str_obj(name), value));
                    }
                }
                PyObj::Instance(instance(
                    PyClass::new(h.module, h.class),
                    Vec::new(),
                    Some(Arc::new(PyObj::Dict(state))),
                ))
            }
            "OperatorFuncNode" | "ConstructorFromReduceNode" => {
                return Err(unsupported(h.path(), at))
            }
            other => {
                return Err(SkopsError::UnsupportedLoader {
                    loader: other.to_owned(),
                    name: h.path(),
                    at: at.to_owned(),
                })
            }
        };
        Ok(Arc::new(obj))
    }

    /// `content` as a list of nodes.
    fn items(&mut self, node: &Json, at: &str, d: usize) -> Result<Vec<Obj>, SkopsError> {
        let Json::Array(items) = field(node, "content", at)? else {
            return Err(malformed(at, "'content' is not a list"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.node(item, &format!("{at}[{i}]"), d))
            .collect()
    }

    /// `DictNode`: `key_types` (a list of types, paired by position) and `content` {key: node}.
    fn dict(&mut self, h: &Head, node: &Json, at: &str, d: usize) -> Result<PyObj, SkopsError> {
        expect_class(
            h,
            &[
                ("builtins", "dict"),
                ("collections", "OrderedDict"),
                // A dict subclass (Stacking/Voting `named_estimators_`), read as a dict.
                ("sklearn.utils._bunch", "Bunch"),
            ],
            at,
        )?;
        let key_types = self.node(field(node, "key_types", at)?, &format!("{at}.key_types"), d)?;
        let PyObj::List(key_types) = key_types.as_ref() else {
            return Err(malformed(at, "'key_types' is not a list"));
        };
        let Json::Object(content) = field(node, "content", at)? else {
            return Err(malformed(at, "'content' is not an object"));
        };
        if key_types.len() != content.len() {
            return Err(malformed(
                at,
                format!("{} key types for {} keys", key_types.len(), content.len()),
            ));
        }
        let mut items = Vec::with_capacity(content.len());
        for (key_type, (key, value)) in key_types.iter().zip(content) {
            let PyObj::Class(key_type) = key_type.as_ref() else {
                return Err(malformed(at, format!("key type of '{key}' is not a type")));
            };
            let key = dict_key(key, key_type).map_err(|e| malformed(at, e))?;
            let child_at = match key.as_ref() {
                PyObj::Str(s) => format!("{at}.{s}"),
                PyObj::Int(n) => format!("{at}[{n}]"),
                other => format!("{at}[{}]", kind(other)),
            };
            items.push((key, self.node(value, &child_at, d)?));
        }
        Ok(if h.class == "dict" {
            PyObj::Dict(items)
        } else {
            PyObj::Instance(Instance {
                class: PyClass::new(h.module, h.class),
                args: Vec::new(),
                state: None,
                list_items: Vec::new(),
                dict_items: items,
            })
        })
    }

    /// `TreeNode` / `LossNode`: `content` (the state, built first as skops does) and
    /// `__reduce__.args` (the constructor arguments), like pickle's `REDUCE` + `BUILD`.
    fn reduce(&mut self, h: &Head, node: &Json, at: &str, d: usize) -> Result<PyObj, SkopsError> {
        let state = self.node(field(node, "content", at)?, at, d)?;
        let args_node = field(field(node, "__reduce__", at)?, "args", at)?;
        let args = self.node(args_node, &format!("{at}.__reduce__.args"), d)?;
        let PyObj::Tuple(args) = args.as_ref() else {
            return Err(malformed(at, "'__reduce__.args' is not a tuple"));
        };
        // An empty state dict means no `BUILD` in pickle terms.
        let state = match state.as_ref() {
            PyObj::Dict(items) if items.is_empty() => None,
            PyObj::None => None,
            _ => Some(state),
        };
        Ok(PyObj::Instance(instance(
            PyClass::new(h.module, h.class),
            args.clone(),
            state,
        )))
    }

    /// `NdArrayNode`: a `.npy` entry, or (`type: json`) an object array stored as nodes.
    fn array(&mut self, h: &Head, node: &Json, at: &str, d: usize) -> Result<NdArray, SkopsError> {
        if !((h.module, h.class) == ("numpy", "ndarray") || allow::numpy_type(h.module, h.class)) {
            return Err(unsupported(h.path(), at));
        }
        match str_field(node, "type", at)? {
            "numpy" => {
                let file = str_field(node, "file", at)?;
                let bytes = self.archive.read(file)?;
                parse_npy(bytes).map_err(|reason| SkopsError::Npy {
                    entry: file.to_owned(),
                    reason,
                })
            }
            "json" => {
                let items = self.items(node, at, d)?;
                let shape = self.node(field(node, "shape", at)?, &format!("{at}.shape"), d)?;
                let shape = shape_of(&shape).map_err(|e| malformed(at, e))?;
                object_array(items, shape).map_err(|e| malformed(at, e))
            }
            other => Err(malformed(at, format!("unknown array type '{other}'"))),
        }
    }

    /// `RandomGeneratorNode`: an opaque `numpy.random.Generator` record whose bit generator
    /// must be one numpy ships.
    fn generator(
        &mut self,
        h: &Head,
        node: &Json,
        at: &str,
        d: usize,
    ) -> Result<PyObj, SkopsError> {
        if !h.module.starts_with("numpy.random") || h.class != "Generator" {
            return Err(unsupported(h.path(), at));
        }
        let content = field(node, "content", at)?;
        let bit_generator = self.node(field(content, "bit_generator", at)?, at, d)?;
        let name = match bit_generator.as_ref() {
            PyObj::Dict(items) => match crate::pyobj::dict_get(items, "bit_generator") {
                Some(n) => match n.as_ref() {
                    PyObj::Str(s) => s.clone(),
                    _ => String::new(),
                },
                None => String::new(),
            },
            _ => String::new(),
        };
        if !allow::BIT_GENERATORS.contains(&name.as_str()) {
            return Err(unsupported(format!("numpy.random.{name}"), at));
        }
        let mut state = vec![(str_obj("bit_generator"), bit_generator)];
        // Protocol 1 files have no seed sequence.
        match content.get("seed_seq") {
            Some(seed) => state.push((str_obj("seed_seq"), self.node(seed, at, d)?)),
            None if self.protocol < 2 => {}
            None => return Err(malformed(at, "missing field 'seed_seq'")),
        }
        Ok(PyObj::Instance(instance(
            PyClass::new(h.module, h.class),
            Vec::new(),
            Some(Arc::new(PyObj::Dict(state))),
        )))
    }
}

/// An object array from its (nested-list) items and declared shape. skops writes
/// `obj.tolist()`, so an n-d array arrives as n levels of lists; 1-d arrays take their length
/// from the items, as skops's loader does.
fn object_array(items: Vec<Obj>, shape: Vec<usize>) -> Result<NdArray, String> {
    let dtype = DType {
        kind: 'O',
        itemsize: 8,
        byteorder: ByteOrder::NotApplicable,
        fields: Vec::new(),
    };
    let (shape, flat) = match shape.as_slice() {
        [] => return Err("0-d object arrays are not supported".into()),
        [_] => (vec![items.len()], items),
        dims => {
            let count = dims
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or("object array shape overflows")?;
            let mut flat = Vec::with_capacity(count.min(items.len().saturating_mul(64)));
            if count > 0 {
                flatten(&items, dims, &mut flat)?;
            } else if !items.is_empty() {
                return Err(format!("{} items for an empty shape {dims:?}", items.len()));
            }
            (shape, flat)
        }
    };
    Ok(NdArray {
        dtype,
        shape,
        data: ArrayData::Objects(flat),
    })
}

/// Appends the leaves of nested lists matching `dims` exactly.
fn flatten(items: &[Obj], dims: &[usize], out: &mut Vec<Obj>) -> Result<(), String> {
    let (&first, rest) = dims.split_first().ok_or("object array nesting mismatch")?;
    if items.len() != first {
        return Err(format!(
            "object array row has {} items, shape says {first}",
            items.len()
        ));
    }
    if rest.is_empty() {
        out.extend(items.iter().cloned());
        return Ok(());
    }
    for item in items {
        match item.as_ref() {
            PyObj::List(inner) | PyObj::Tuple(inner) => flatten(inner, rest, out)?,
            other => {
                return Err(format!(
                    "object array row is {}, expected a list",
                    kind(other)
                ))
            }
        }
    }
    Ok(())
}

/// A shape tuple of non-negative ints.
fn shape_of(shape: &PyObj) -> Result<Vec<usize>, String> {
    let PyObj::Tuple(dims) = shape else {
        return Err("object array shape is not a tuple".into());
    };
    if dims.len() > 64 {
        return Err("object array has more than 64 dimensions".into());
    }
    dims.iter()
        .map(|d| match d.as_ref() {
            PyObj::Int(n) => usize::try_from(*n).map_err(|_| format!("negative dimension {n}")),
            other => Err(format!("dimension is {}, not an int", kind(other))),
        })
        .collect()
}

fn instance(class: PyClass, args: Vec<Obj>, state: Option<Obj>) -> Instance {
    Instance {
        class,
        args,
        state,
        list_items: Vec::new(),
        dict_items: Vec::new(),
    }
}

fn str_obj(s: &str) -> Obj {
    Arc::new(PyObj::Str(s.to_owned()))
}

/// The memo key of a node's `__id__`; skops ignores falsy ids (absent, null, 0).
fn node_id(node: &Json, at: &str) -> Result<Option<String>, SkopsError> {
    match node.get("__id__") {
        None | Some(Json::Null) | Some(Json::UInt(0)) => Ok(None),
        Some(Json::UInt(n)) => Ok(Some(n.to_string())),
        Some(Json::Int(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(malformed(at, format!("'__id__' is {}", other.kind()))),
    }
}

fn field<'j>(node: &'j Json, key: &str, at: &str) -> Result<&'j Json, SkopsError> {
    node.get(key)
        .ok_or_else(|| malformed(at, format!("missing field '{key}'")))
}

fn str_field<'j>(node: &'j Json, key: &str, at: &str) -> Result<&'j str, SkopsError> {
    field(node, key, at)?
        .as_str()
        .ok_or_else(|| malformed(at, format!("field '{key}' is not a string")))
}

fn expect_class(h: &Head, allowed: &[(&str, &str)], at: &str) -> Result<(), SkopsError> {
    if allowed.contains(&(h.module, h.class)) {
        Ok(())
    } else {
        Err(unsupported(h.path(), at))
    }
}

fn malformed(at: &str, reason: impl Into<String>) -> SkopsError {
    SkopsError::Malformed {
        at: at.to_owned(),
        reason: reason.into(),
    }
}

fn unsupported(name: String, at: &str) -> SkopsError {
    SkopsError::UnsupportedType {
        name,
        at: at.to_owned(),
    }
}
