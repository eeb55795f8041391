//! The skops reader: `model.skops` (a zip of `schema.json` and `.npy` files) into the same
//! [`crate::pyobj`] object tree the pickle reader builds, with no pickle involved.
//!
//! mlflow ≥ 3.14 saves scikit-learn models with skops by default (docs/formats.md §3). The schema is
//! a tree of typed nodes (`ObjectNode`, `DictNode`, `NdArrayNode`, `TreeNode`, ...) that this
//! module maps one by one onto [`crate::pyobj::PyObj`]: an estimator becomes an
//! [`crate::pyobj::Instance`] whose `state` is its `__getstate__` dict, a Cython `Tree` an
//! instance with the `(n_features, n_classes, n_outputs)` arguments of its `__reduce__`, arrays
//! [`crate::pyobj::NdArray`]s, exactly as the pickle reader gives them (docs/formats.md §2c), so each
//! estimator compiler is written once.
//!
//! Nothing is imported or executed: classes outside the whitelist (`allow.rs`) are load errors,
//! shared `__id__` references become shared `Arc`s (cycles are refused), and the zip is read
//! with size limits against decompression bombs (`archive.rs`).

mod allow;
mod archive;
mod build;
mod error;
mod json;
mod npy;
mod pylit;
mod sparse;
mod value;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::SkopsError;

/// The numpy ufunc names a model may reference (`FunctionTransformer(func=np.log1p)`), shared
/// with the pickle reader's whitelist.
pub const NUMPY_UFUNC_NAMES: &[&str] = allow::NUMPY_UFUNCS;

use crate::pyobj::Obj;
use archive::{Archive, Limits};
use json::Json;

/// The skops protocols this reader understands (skops 0.10+ writes 2; 1 differs only in
/// `RandomGeneratorNode`).
const PROTOCOLS: [u64; 2] = [1, 2];

/// Reads a skops archive from memory into the object tree.
///
/// # Errors
/// A [`SkopsError`] naming the entry, node path or class at fault: a damaged or oversized
/// archive, a missing entry, a malformed schema or `.npy` file, a class outside the whitelist,
/// or a cyclic shared reference.
pub fn read_skops(bytes: &[u8]) -> Result<Obj, SkopsError> {
    read_with_limits(bytes, Limits::default())
}

/// Reads a skops file (`model.skops`, or mlflow 3.9's skops `model.pkl`) into the object tree.
///
/// # Errors
/// [`SkopsError::File`] if the file cannot be read, otherwise as [`read_skops`].
pub fn read_skops_file(path: &Path) -> Result<Obj, SkopsError> {
    let bytes = std::fs::read(path).map_err(|source| SkopsError::File {
        path: path.to_owned(),
        source,
    })?;
    read_skops(&bytes)
}

fn read_with_limits(bytes: &[u8], limits: Limits) -> Result<Obj, SkopsError> {
    // A budget from the archive's size, unless the load that called us opened one from the file's.
    let _budget = crate::budget::Scope::enter(bytes.len() as u64);
    let mut archive = Archive::open(bytes, limits)?;
    let schema = archive.read_schema()?;
    let schema = Json::parse(&schema).map_err(|e| SkopsError::Json(e.to_string()))?;
    let protocol = match schema.get("protocol") {
        Some(Json::UInt(p)) if PROTOCOLS.contains(p) => *p,
        Some(Json::UInt(p)) => return Err(SkopsError::Protocol(p.to_string())),
        Some(other) => return Err(SkopsError::Protocol(format!("of {}", other.kind()))),
        None => return Err(SkopsError::Protocol("(missing)".into())),
    };
    build::Builder::new(&mut archive, protocol).node(&schema, "root", 0)
}
