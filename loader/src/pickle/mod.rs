//! The restricted pickle reader: a pickle virtual machine (protocols 0-5) that executes no code,
//! resolves only whitelisted globals, and builds a [`crate::pyobj`] object tree.
//!
//! - [`read_pickle`] runs the VM (`vm.rs`) over an arena of objects with ids, so `BUILD` mutates
//!   in place and memoized objects stay shared; the result is frozen into `Arc`-shared
//!   [`crate::pyobj::PyObj`] nodes (cycles are refused).
//! - Globals go through one whitelist table (`globals.rs`); anything else is
//!   `unsupported pickle global 'module.name'`.
//! - numpy arrays, scalars and dtypes are decoded natively (docs/formats.md 2d) into
//!   [`crate::pyobj::PyObj::Array`] (scalars as 0-d arrays) and [`crate::pyobj::PyObj::DType`].
//! - Everything else a whitelisted global builds is an inert [`crate::pyobj::Instance`]:
//!   `cls.__new__` via `NEWOBJ`, or `REDUCE(f, args)` with `args` kept (Cython
//!   `__pyx_unpickle_<C>` and sklearn `newObj` reconstructors are recorded as their class `C`);
//!   `BUILD` sets its `state`, `APPENDS`/`SETITEMS` on it fill `list_items`/`dict_items`
//!   (`OrderedDict`, `defaultdict`). `NEWOBJ_EX` keyword arguments become one trailing dict
//!   argument. Python 2 `str` opcodes are read as latin-1 text; `_codecs.encode`, `bytes()` and
//!   `bytearray` give [`crate::pyobj::PyObj::Bytes`]; `set`/`frozenset` give `Set`.
//! - Resource use is bounded by [`limits`] and by checking every declared length against the
//!   remaining input before allocating.
//! - joblib dumps (`NumpyArrayWrapper`) are refused with [`PickleError::Joblib`] by
//!   [`read_pickle`]; [`read_joblib_stream`] reads them (the arrays' bytes follow their records in
//!   the stream; see [`crate::joblib`] for the compressed forms).

use std::path::Path;

use crate::pyobj::Obj;

mod error;
mod globals;
pub mod limits;
mod numpy;
mod opcode;
mod reader;
mod text;
mod value;
mod vm;

#[cfg(test)]
mod tests;

pub use error::PickleError;

/// Reads one pickle (protocols 0-5) into an object tree, executing no code.
pub fn read_pickle(bytes: &[u8]) -> Result<Obj, PickleError> {
    vm::run(bytes)
}

/// Reads one uncompressed joblib stream (`joblib.dump` without compression): a pickle whose
/// numpy arrays are `NumpyArrayWrapper` records, each followed by its array's bytes (or, for
/// object arrays, a nested pickle). Executes no code, like [`read_pickle`].
pub fn read_joblib_stream(bytes: &[u8]) -> Result<Obj, PickleError> {
    vm::run_with(bytes, true)
}

/// Reads a pickle file (e.g. an MLflow sklearn flavor's `model.pkl`).
pub fn load_pickle_file(path: &Path) -> Result<Obj, PickleError> {
    let bytes = std::fs::read(path).map_err(|source| PickleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_pickle(&bytes)
}
