//! The pickle virtual machine: executes opcodes over an [`Arena`] with a stack, a mark stack and
//! a memo. It never imports or calls anything: `GLOBAL`/`STACK_GLOBAL` go through the whitelist
//! ([`super::globals`]) and `REDUCE`/`NEWOBJ`/`BUILD` only build inert records or decode numpy data.

use std::collections::HashMap;

use super::error::PickleError;
use super::globals::{self, Global, Handler};
use super::limits::{self, MAX_INT_DIGITS, MAX_MARKS, MAX_MEMO, MAX_STACK};
use super::numpy;
use super::opcode as op;
use super::reader::Reader;
use super::text::{self, Integer};
use super::value::{Arena, Id, InstanceValue, Value};
use crate::pyobj::Obj;

/// Runs a whole pickle and freezes its result.
pub(crate) fn run(bytes: &[u8]) -> Result<Obj, PickleError> {
    run_with(bytes, false)
}

/// Runs a whole pickle; with `joblib`, joblib's `NumpyArrayWrapper` records are accepted and
/// each reads its array's bytes from the stream right after its `BUILD` (joblib's
/// `NumpyUnpickler.load_build`).
pub(crate) fn run_with(bytes: &[u8], joblib: bool) -> Result<Obj, PickleError> {
    // A budget from the input's size, unless the load that called us opened one from the file's.
    let _budget = crate::budget::Scope::enter(bytes.len() as u64);
    let mut vm = Vm {
        joblib,
        r: Reader::new(bytes),
        arena: Arena::default(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        budget: limits::copy_budget(bytes.len()),
        offset: 0,
        name: "",
    };
    let root = vm.execute()?;
    vm.arena.freeze(root)
}

/// What one new object costs until the tree is frozen: its arena slot, the freezer's
/// bookkeeping, its `Arc<PyObj>` node, and its id in a container.
const OBJECT_COST: u64 = (std::mem::size_of::<Value>()
    + std::mem::size_of::<crate::pyobj::PyObj>()
    + 16
    + std::mem::size_of::<Option<Obj>>()
    + 1
    + 2 * std::mem::size_of::<Id>()) as u64;

/// What one more reference to an existing object costs: its id on the stack and in a container,
/// and its `Arc` in the frozen container.
const REFERENCE_COST: u64 = (2 * std::mem::size_of::<Id>() + std::mem::size_of::<Obj>()) as u64;

struct Vm<'a> {
    /// Whether joblib's array wrappers are accepted (off inside their nested pickles).
    joblib: bool,
    r: Reader<'a>,
    arena: Arena,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    budget: usize,
    /// Offset and name of the opcode being executed, for errors.
    offset: usize,
    name: &'static str,
}

impl Vm<'_> {
    fn execute(&mut self) -> Result<Id, PickleError> {
        loop {
            self.offset = self.r.pos();
            let byte = self.r.u8("opcode")?;
            self.name = op::name(byte).ok_or(PickleError::UnknownOpcode {
                byte,
                offset: self.offset,
            })?;
            if byte == op::STOP {
                return self.pop().map_err(|_| PickleError::BadEnd {
                    offset: self.offset,
                    message: "STOP with an empty stack".into(),
                });
            }
            self.step(byte)?;
        }
    }

    fn step(&mut self, byte: u8) -> Result<(), PickleError> {
        match byte {
            op::PROTO => {
                let v = self.r.u8("protocol")?;
                if v > 5 {
                    return Err(self.invalid(format!("protocol {v} is newer than 5")));
                }
            }
            op::FRAME => {
                let len = self.r.u64("frame length")?;
                if len > self.r.remaining() as u64 {
                    return Err(PickleError::Truncated {
                        what: "frame",
                        offset: self.offset,
                    });
                }
            }
            // Constants.
            op::NONE => self.push(Value::None)?,
            op::NEWTRUE => self.push(Value::Bool(true))?,
            op::NEWFALSE => self.push(Value::Bool(false))?,
            // Integers.
            op::INT => {
                let line = self.r.line("INT")?;
                let v = match line {
                    b"00" => Value::Bool(false),
                    b"01" => Value::Bool(true),
                    _ => self.decimal(line)?,
                };
                self.push(v)?;
            }
            op::LONG => {
                let line = self.r.line("LONG")?;
                let v = self.decimal(line)?;
                self.push(v)?;
            }
            op::BININT => {
                let v = self.r.i32("BININT")?;
                self.push(Value::Int(i64::from(v)))?;
            }
            op::BININT1 => {
                let v = self.r.u8("BININT1")?;
                self.push(Value::Int(i64::from(v)))?;
            }
            op::BININT2 => {
                let v = self.r.u16("BININT2")?;
                self.push(Value::Int(i64::from(v)))?;
            }
            op::LONG1 => {
                let n = self.r.u8("LONG1 length")?;
                let b = self.r.take(usize::from(n), "LONG1")?;
                self.push(integer(text::long_from_le(b)))?;
            }
            op::LONG4 => {
                let n = self.r.i32("LONG4 length")?;
                let n = u64::try_from(n).map_err(|_| self.invalid("negative LONG4 length"))?;
                let b = self.r.take_len(n, "LONG4")?;
                self.push(integer(text::long_from_le(b)))?;
            }
            // Floats.
            op::FLOAT => {
                let line = self.r.line("FLOAT")?;
                let v = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| self.invalid("unparsable float"))?;
                self.push(Value::Float(v))?;
            }
            op::BINFLOAT => {
                let v = self.r.f64_be("BINFLOAT")?;
                self.push(Value::Float(v))?;
            }
            // Strings: Python 2 `str` (STRING/BINSTRING/SHORT_BINSTRING) is read as latin-1 text.
            op::STRING => {
                let line = self.r.line("STRING")?;
                let b =
                    text::unquote_string(line).ok_or_else(|| self.invalid("bad string literal"))?;
                self.push(Value::Str(text::latin1(&b)))?;
            }
            op::BINSTRING => {
                let n = self.r.i32("BINSTRING length")?;
                let n = u64::try_from(n).map_err(|_| self.invalid("negative BINSTRING length"))?;
                let b = self.r.take_len(n, "BINSTRING")?;
                self.push(Value::Str(text::latin1(b)))?;
            }
            op::SHORT_BINSTRING => {
                let n = self.r.u8("SHORT_BINSTRING length")?;
                let b = self.r.take(usize::from(n), "SHORT_BINSTRING")?;
                self.push(Value::Str(text::latin1(b)))?;
            }
            op::UNICODE => {
                let line = self.r.line("UNICODE")?;
                let s = text::raw_unicode_escape(line).ok_or_else(|| self.invalid("bad escape"))?;
                self.push(Value::Str(s))?;
            }
            op::SHORT_BINUNICODE => {
                let n = u64::from(self.r.u8("SHORT_BINUNICODE length")?);
                self.utf8(n)?;
            }
            op::BINUNICODE => {
                let n = u64::from(self.r.u32("BINUNICODE length")?);
                self.utf8(n)?;
            }
            op::BINUNICODE8 => {
                let n = self.r.u64("BINUNICODE8 length")?;
                self.utf8(n)?;
            }
            // Bytes.
            op::SHORT_BINBYTES => {
                let n = u64::from(self.r.u8("SHORT_BINBYTES length")?);
                self.bytes(n)?;
            }
            op::BINBYTES => {
                let n = u64::from(self.r.u32("BINBYTES length")?);
                self.bytes(n)?;
            }
            op::BINBYTES8 | op::BYTEARRAY8 => {
                let n = self.r.u64("BINBYTES8 length")?;
                self.bytes(n)?;
            }
            // Tuples.
            op::EMPTY_TUPLE => self.push(Value::Tuple(Vec::new()))?,
            op::TUPLE => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items))?;
            }
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(byte - op::TUPLE1 + 1);
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                items.reverse();
                self.push(Value::Tuple(items))?;
            }
            // Lists.
            op::EMPTY_LIST => self.push(Value::List(Vec::new()))?,
            op::LIST => {
                let items = self.pop_mark()?;
                self.push(Value::List(items))?;
            }
            op::APPEND => {
                let item = self.pop()?;
                self.extend_list(vec![item])?;
            }
            op::APPENDS => {
                let items = self.pop_mark()?;
                self.extend_list(items)?;
            }
            // Dicts.
            op::EMPTY_DICT => self.push(Value::Dict(Vec::new()))?,
            op::DICT => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                self.push(Value::Dict(pairs))?;
            }
            op::SETITEM => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.extend_dict(vec![(k, v)])?;
            }
            op::SETITEMS => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                self.extend_dict(pairs)?;
            }
            // Sets.
            op::EMPTY_SET => self.push(Value::Set(Vec::new()))?,
            op::FROZENSET => {
                let items = self.pop_mark()?;
                self.push(Value::Set(items))?;
            }
            op::ADDITEMS => {
                let items = self.pop_mark()?;
                let top = self.top()?;
                match self.arena.get_mut(top) {
                    Some(Value::Set(set)) => set.extend(items),
                    _ => return Err(self.invalid("ADDITEMS target is not a set")),
                }
            }
            // Stack manipulation.
            op::MARK => {
                if self.marks.len() >= MAX_MARKS {
                    return Err(self.limit("open marks", MAX_MARKS));
                }
                self.marks.push(self.stack.len());
            }
            op::POP => {
                if self.stack.len() > self.mark_floor() {
                    self.pop()?;
                } else {
                    self.pop_mark()?;
                }
            }
            op::POP_MARK => {
                self.pop_mark()?;
            }
            op::DUP => {
                let top = self.top()?;
                self.push_id(top)?;
            }
            // Memo.
            op::PUT => {
                let line = self.r.line("PUT")?;
                let key = self.memo_key(line)?;
                self.memoize(key)?;
            }
            op::BINPUT => {
                let key = u64::from(self.r.u8("BINPUT")?);
                self.memoize(key)?;
            }
            op::LONG_BINPUT => {
                let key = u64::from(self.r.u32("LONG_BINPUT")?);
                self.memoize(key)?;
            }
            op::MEMOIZE => {
                let key = self.memo.len() as u64;
                self.memoize(key)?;
            }
            op::GET => {
                let line = self.r.line("GET")?;
                let key = self.memo_key(line)?;
                self.get(key)?;
            }
            op::BINGET => {
                let key = u64::from(self.r.u8("BINGET")?);
                self.get(key)?;
            }
            op::LONG_BINGET => {
                let key = u64::from(self.r.u32("LONG_BINGET")?);
                self.get(key)?;
            }
            // Globals and object construction.
            op::GLOBAL => {
                let module = text::latin1(self.r.line("GLOBAL module")?);
                let name = text::latin1(self.r.line("GLOBAL name")?);
                let g = self.resolve(&module, &name)?;
                self.push(Value::Global(g))?;
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(module), Value::Str(name)) =
                    (self.arena.get(module), self.arena.get(name))
                else {
                    return Err(self.invalid("module and name must be str"));
                };
                let g = self.resolve(&module.clone(), &name.clone())?;
                self.push(Value::Global(g))?;
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let args = self.tuple_items(args, "REDUCE arguments")?;
                let g = self.global(callable)?;
                let v = self.reduce(&g, args)?;
                self.push(v)?;
            }
            op::NEWOBJ => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let args = self.tuple_items(args, "NEWOBJ arguments")?;
                let v = self.newobj(cls, args)?;
                self.push(v)?;
            }
            op::NEWOBJ_EX => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                let mut args = self.tuple_items(args, "NEWOBJ_EX arguments")?;
                match self.arena.get(kwargs) {
                    Value::Dict(kw) if kw.is_empty() => {}
                    // Keyword arguments are kept as one trailing dict argument.
                    Value::Dict(_) => args.push(kwargs),
                    _ => return Err(self.invalid("NEWOBJ_EX keyword arguments are not a dict")),
                }
                let v = self.newobj(cls, args)?;
                self.push(v)?;
            }
            op::BUILD => {
                let state = self.pop()?;
                let target = self.top()?;
                self.build(target, state)?;
            }
            op::PERSID
            | op::BINPERSID
            | op::EXT1
            | op::EXT2
            | op::EXT4
            | op::INST
            | op::OBJ
            | op::NEXT_BUFFER
            | op::READONLY_BUFFER => {
                return Err(PickleError::UnsupportedOpcode {
                    name: self.name,
                    offset: self.offset,
                })
            }
            _ => {
                return Err(PickleError::UnknownOpcode {
                    byte,
                    offset: self.offset,
                })
            }
        }
        Ok(())
    }

    // ---- stack ----

    /// Charges the load budget ([`crate::budget`]) for what the VM is about to allocate.
    fn charge(&self, bytes: u64, what: &'static str) -> Result<(), PickleError> {
        crate::budget::charge(bytes, what).map_err(|source| PickleError::Budget {
            offset: self.offset,
            source,
        })
    }

    fn push(&mut self, value: Value) -> Result<(), PickleError> {
        if self.stack.len() >= MAX_STACK {
            return Err(self.limit("stack size", MAX_STACK));
        }
        self.charge(OBJECT_COST, "pickle objects")?;
        let id = self.arena.push(value);
        self.stack.push(id);
        Ok(())
    }

    fn push_id(&mut self, id: Id) -> Result<(), PickleError> {
        if self.stack.len() >= MAX_STACK {
            return Err(self.limit("stack size", MAX_STACK));
        }
        self.charge(REFERENCE_COST, "pickle references")?;
        self.stack.push(id);
        Ok(())
    }

    fn mark_floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.mark_floor() {
            return Err(self.invalid("stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.invalid("stack underflow"))
    }

    fn top(&self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.mark_floor() {
            return Err(self.invalid("stack underflow"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.invalid("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.invalid("no MARK on the stack"))?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn pairs(&self, items: Vec<Id>) -> Result<Vec<(Id, Id)>, PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.invalid("odd number of dict items"));
        }
        Ok(items
            .chunks_exact(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((*k, *v)),
                _ => None,
            })
            .collect())
    }

    fn extend_list(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        let top = self.top()?;
        match self.arena.get_mut(top) {
            Some(Value::List(list)) => list.extend(items),
            Some(Value::Instance(_, inst)) => inst.list_items.extend(items),
            _ => return Err(self.invalid("append target is not a list")),
        }
        Ok(())
    }

    fn extend_dict(&mut self, pairs: Vec<(Id, Id)>) -> Result<(), PickleError> {
        let top = self.top()?;
        match self.arena.get_mut(top) {
            Some(Value::Dict(dict)) => dict.extend(pairs),
            Some(Value::Instance(_, inst)) => inst.dict_items.extend(pairs),
            _ => return Err(self.invalid("setitem target is not a dict")),
        }
        Ok(())
    }

    // ---- memo ----

    fn memo_key(&self, line: &[u8]) -> Result<u64, PickleError> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| self.invalid("bad memo key"))
    }

    fn memoize(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        if self.memo.len() >= MAX_MEMO && !self.memo.contains_key(&key) {
            return Err(self.limit("memo size", MAX_MEMO));
        }
        self.memo.insert(key, top);
        Ok(())
    }

    fn get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.invalid(format!("memo key {key} was never set")))?;
        self.push_id(id)
    }

    // ---- scalars ----

    fn decimal(&self, line: &[u8]) -> Result<Value, PickleError> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| text::parse_decimal(s, MAX_INT_DIGITS))
            .map(integer)
            .ok_or_else(|| self.invalid("unparsable integer"))
    }

    fn utf8(&mut self, n: u64) -> Result<(), PickleError> {
        let b = self.r.take_len(n, self.name)?;
        let s = std::str::from_utf8(b).map_err(|_| self.invalid("invalid UTF-8"))?;
        self.push(Value::Str(s.to_owned()))
    }

    fn bytes(&mut self, n: u64) -> Result<(), PickleError> {
        let b = self.r.take_len(n, self.name)?;
        self.push(Value::Bytes(b.to_vec()))
    }

    // ---- objects ----

    fn tuple_items(&self, id: Id, what: &str) -> Result<Vec<Id>, PickleError> {
        match self.arena.get(id) {
            Value::Tuple(items) => Ok(items.clone()),
            other => Err(self.invalid(format!("{what} are a {}, expected a tuple", other.kind()))),
        }
    }

    fn global(&self, id: Id) -> Result<Global, PickleError> {
        match self.arena.get(id) {
            Value::Global(g) => Ok(g.clone()),
            other => Err(self.invalid(format!("cannot call a {}", other.kind()))),
        }
    }

    /// `REDUCE`: what calling a whitelisted global builds.
    fn reduce(&mut self, g: &Global, args: Vec<Id>) -> Result<Value, PickleError> {
        let arg = |i: usize| args.get(i).copied();
        match g.handler {
            Handler::Reconstruct => match arg(0).map(|a| self.arena.get(a)) {
                Some(Value::Global(cls))
                    if cls.class.module == "numpy" && cls.class.name == "ndarray" =>
                {
                    Ok(Value::PendingArray)
                }
                _ => Err(self.invalid("_reconstruct of something other than numpy.ndarray")),
            },
            Handler::FromBuffer => {
                numpy::frombuffer(&self.arena, &args, &mut self.budget).map_err(|m| self.numpy(m))
            }
            Handler::Scalar => {
                numpy::scalar(&self.arena, &args, &mut self.budget).map_err(|m| self.numpy(m))
            }
            Handler::DType => match arg(0).map(|a| self.arena.get(a)) {
                Some(Value::Str(code)) => numpy::dtype_from_code(code)
                    .map(Value::DType)
                    .map_err(|m| self.numpy(m)),
                _ => Err(self.numpy("numpy.dtype needs a str code".into())),
            },
            Handler::TypeOnly => {
                Err(self.invalid(format!("calling '{}' is not supported", g.class.path())))
            }
            Handler::CodecsEncode => {
                let (Some(Value::Str(s)), Some(Value::Str(enc))) = (
                    arg(0).map(|a| self.arena.get(a)),
                    arg(1).map(|a| self.arena.get(a)),
                ) else {
                    return Err(self.invalid("_codecs.encode needs (str, encoding)"));
                };
                match enc.to_ascii_lowercase().as_str() {
                    "latin1" | "latin-1" | "iso-8859-1" => s
                        .chars()
                        .map(|c| u8::try_from(u32::from(c)).ok())
                        .collect::<Option<Vec<u8>>>()
                        .map(Value::Bytes)
                        .ok_or_else(|| self.invalid("non-latin-1 text in _codecs.encode")),
                    "utf-8" | "utf8" => Ok(Value::Bytes(s.as_bytes().to_vec())),
                    other => Err(self.invalid(format!("unsupported encoding {other:?}"))),
                }
            }
            Handler::Set => match arg(0).map(|a| self.arena.get(a)) {
                None => Ok(Value::Set(Vec::new())),
                Some(Value::List(items) | Value::Tuple(items) | Value::Set(items)) => {
                    Ok(Value::Set(items.clone()))
                }
                Some(other) => Err(self.invalid(format!("set of a {}", other.kind()))),
            },
            Handler::ByteArray => match arg(0).map(|a| self.arena.get(a)) {
                None => Ok(Value::Bytes(Vec::new())),
                Some(Value::Bytes(b)) => {
                    let b = b.clone();
                    numpy::charge(&mut self.budget, b.len()).map_err(|m| self.invalid(m))?;
                    Ok(Value::Bytes(b))
                }
                Some(other) => Err(self.invalid(format!("bytearray of a {}", other.kind()))),
            },
            Handler::CopyregReconstructor => {
                let cls = arg(0).ok_or_else(|| self.invalid("_reconstructor needs a class"))?;
                let state = arg(2).filter(|&s| !matches!(self.arena.get(s), Value::None));
                self.newobj(cls, state.into_iter().collect())
            }
            Handler::JoblibArray => Err(self.invalid("NumpyArrayWrapper called with REDUCE")),
            Handler::Record => {
                // Cython `__pyx_unpickle_<Class>(type, checksum, state)` and sklearn's
                // `newObj(type)`: record the real class, keeping all arguments.
                let reconstructor =
                    g.class.name.starts_with("__pyx_unpickle_") || g.class.name == "newObj";
                let class = match arg(0).map(|a| self.arena.get(a)) {
                    Some(Value::Global(cls)) if reconstructor => cls.class.clone(),
                    _ => g.class.clone(),
                };
                Ok(Value::Instance(
                    class,
                    InstanceValue {
                        args,
                        ..InstanceValue::default()
                    },
                ))
            }
        }
    }

    /// `NEWOBJ`: `cls.__new__(cls, *args)` for a whitelisted record class.
    fn newobj(&self, cls: Id, args: Vec<Id>) -> Result<Value, PickleError> {
        match self.arena.get(cls) {
            Value::Global(g) if matches!(g.handler, Handler::Record | Handler::JoblibArray) => {
                Ok(Value::Instance(
                    g.class.clone(),
                    InstanceValue {
                        args,
                        ..InstanceValue::default()
                    },
                ))
            }
            Value::Global(g) => {
                Err(self.invalid(format!("cannot instantiate '{}'", g.class.path())))
            }
            other => Err(self.invalid(format!("cannot instantiate a {}", other.kind()))),
        }
    }

    /// `BUILD`: sets an instance's state, or decodes an array's / dtype's state in place.
    fn build(&mut self, target: Id, state: Id) -> Result<(), PickleError> {
        match self.arena.get(target) {
            Value::Instance(class, _) if self.joblib && class.name == JOBLIB_WRAPPER => {
                let array = self.joblib_array(state)?;
                if let Some(slot) = self.arena.get_mut(target) {
                    *slot = array;
                }
                Ok(())
            }
            Value::Instance(..) => {
                if let Some(Value::Instance(_, inst)) = self.arena.get_mut(target) {
                    inst.state = Some(state);
                }
                Ok(())
            }
            Value::PendingArray => {
                let v = numpy::array_from_state(&self.arena, state, &mut self.budget)
                    .map_err(|m| self.numpy(m))?;
                if let Some(slot) = self.arena.get_mut(target) {
                    *slot = v;
                }
                Ok(())
            }
            Value::DType(d) => {
                let mut d = d.clone();
                numpy::charge(&mut self.budget, 64 + 64 * d.fields.len())
                    .map_err(|m| self.numpy(m))?;
                numpy::apply_dtype_state(&self.arena, &mut d, state, &mut self.budget)
                    .map_err(|m| self.numpy(m))?;
                if let Some(slot) = self.arena.get_mut(target) {
                    *slot = Value::DType(d);
                }
                Ok(())
            }
            other => Err(self.invalid(format!("BUILD on a {}", other.kind()))),
        }
    }

    /// Resolves a global; joblib's array wrapper only in a joblib stream.
    fn resolve(&self, module: &str, name: &str) -> Result<Global, PickleError> {
        if self.joblib
            && name == JOBLIB_WRAPPER
            && (module == "joblib.numpy_pickle" || module.ends_with(".joblib.numpy_pickle"))
        {
            return Ok(Global {
                class: crate::pyobj::PyClass::new(module, name),
                handler: Handler::JoblibArray,
            });
        }
        globals::resolve(module, name)
    }

    /// The array a joblib `NumpyArrayWrapper` stands for, read from the stream after its
    /// `BUILD`: a nested pickle for object arrays; otherwise an optional alignment padding
    /// (one length byte, then that many bytes) and `prod(shape) * itemsize` raw bytes in the
    /// wrapper's `order`. Every length is checked against the remaining input first.
    fn joblib_array(&mut self, state: Id) -> Result<Value, PickleError> {
        let Value::Dict(pairs) = self.arena.get(state) else {
            return Err(self.invalid("NumpyArrayWrapper state is not a dict"));
        };
        let field = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| matches!(self.arena.get(*k), Value::Str(s) if s == key))
                .map(|&(_, v)| v)
        };
        let (shape, dtype, order, alignment, subclass) = (
            field("shape"),
            field("dtype"),
            field("order"),
            field("numpy_array_alignment_bytes"),
            field("subclass"),
        );
        let (opcode, offset) = (self.name, self.offset);
        let wrapper = move |m: String| PickleError::Invalid {
            opcode,
            offset,
            message: format!("NumpyArrayWrapper: {m}"),
        };
        if let Some(sub) = subclass {
            match self.arena.get(sub) {
                Value::Global(g) if g.class.module == "numpy" && g.class.name == "ndarray" => {}
                Value::Global(g) => {
                    return Err(wrapper(format!(
                        "array subclass '{}' is not supported",
                        g.class.path()
                    )))
                }
                other => return Err(wrapper(format!("subclass is a {}", other.kind()))),
            }
        }
        let shape = shape.ok_or_else(|| wrapper("no shape".into()))?;
        let shape = numpy::shape(&self.arena, shape).map_err(&wrapper)?;
        let dtype = match dtype.map(|d| self.arena.get(d)) {
            Some(Value::DType(d)) => d.clone(),
            _ => return Err(wrapper("no dtype".into())),
        };
        let fortran = match order.map(|o| self.arena.get(o)) {
            None => false,
            Some(Value::Str(s)) if s == "C" => false,
            Some(Value::Str(s)) if s == "F" => true,
            Some(_) => return Err(wrapper("order must be 'C' or 'F'".into())),
        };
        let aligned = alignment.is_some_and(|a| !matches!(self.arena.get(a), Value::None));
        if dtype.kind == 'O' {
            let id = self.nested_pickle()?;
            return match self.arena.get(id) {
                Value::Array(d, s, data) if d.kind == 'O' && *s == shape => {
                    let value = Value::Array(d.clone(), s.clone(), (*data).clone());
                    let n = shape.iter().product::<usize>().saturating_mul(8);
                    numpy::charge(&mut self.budget, n).map_err(|m| self.numpy(m))?;
                    Ok(value)
                }
                Value::Array(_, s, _) => Err(wrapper(format!(
                    "the object array's shape {s:?} is not the wrapper's {shape:?}"
                ))),
                other => Err(wrapper(format!(
                    "the object array's pickle holds a {}",
                    other.kind()
                ))),
            };
        }
        if aligned {
            let padding = self.r.u8("joblib array padding length")?;
            self.r.take(usize::from(padding), "joblib array padding")?;
        }
        let n = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.itemsize))
            .ok_or_else(|| wrapper(format!("shape {shape:?} overflows")))?;
        let raw = self.r.take(n, "joblib array data")?.to_vec();
        numpy::raw_array_pub(dtype, shape, raw, fortran).map_err(|m| self.numpy(m))
    }

    /// Runs the complete pickle that starts at the current offset (joblib writes object arrays
    /// with `pickle.dump` into the stream) with its own stack and memo, in the same arena.
    fn nested_pickle(&mut self) -> Result<Id, PickleError> {
        let stack = std::mem::take(&mut self.stack);
        let marks = std::mem::take(&mut self.marks);
        let memo = std::mem::take(&mut self.memo);
        self.joblib = false;
        let result = self.execute();
        self.joblib = true;
        self.stack = stack;
        self.marks = marks;
        self.memo = memo;
        result
    }

    // ---- errors ----

    fn invalid(&self, message: impl Into<String>) -> PickleError {
        PickleError::Invalid {
            opcode: self.name,
            offset: self.offset,
            message: message.into(),
        }
    }

    fn numpy(&self, message: String) -> PickleError {
        PickleError::Numpy {
            offset: self.offset,
            message,
        }
    }

    fn limit(&self, limit: &'static str, max: usize) -> PickleError {
        PickleError::Limit {
            limit,
            max,
            offset: self.offset,
        }
    }
}

/// The class name of joblib's array record.
const JOBLIB_WRAPPER: &str = "NumpyArrayWrapper";

fn integer(i: Integer) -> Value {
    match i {
        Integer::Small(v) => Value::Int(v),
        Integer::Big(b) => Value::BigInt(b),
    }
}
