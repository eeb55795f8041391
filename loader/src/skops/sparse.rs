//! `SparseMatrixNode`: a scipy CSR / CSC matrix (a SparseRandomProjection's `components_`),
//! stored by skops as a `scipy.sparse.save_npz` file inside the archive. The `.npz` is itself a
//! zip of `.npy` entries, read with the same size limits as the outer archive; the result is the
//! record the pickle reader builds for such a matrix: an instance of its class whose state holds
//! `data`, `indices`, `indptr` and `_shape`.

use std::sync::Arc;

use super::archive::Archive;
use super::error::SkopsError;
use super::npy::parse_npy;
use crate::pyobj::{Instance, NdArray, Obj, PyClass, PyObj};

/// The sparse classes a `SparseMatrixNode` may name (compressed row / column storage).
const CLASSES: &[(&str, &str)] = &[
    ("scipy.sparse._csr", "csr_matrix"),
    ("scipy.sparse._csr", "csr_array"),
    ("scipy.sparse._csc", "csc_matrix"),
    ("scipy.sparse._csc", "csc_array"),
];

/// True when `module.class` is a sparse class this reader builds.
pub(crate) fn allowed(module: &str, class: &str) -> bool {
    CLASSES.contains(&(module, class))
}

/// Reads the `.npz` entry `file` of `archive` into a sparse-matrix record of `module.class`.
pub(crate) fn read(
    archive: &mut Archive<'_>,
    module: &str,
    class: &str,
    file: &str,
) -> Result<PyObj, SkopsError> {
    let bytes = archive.read(file)?;
    let mut npz = Archive::open(&bytes, archive.limits())?;
    let mut state: Vec<(Obj, Obj)> = Vec::with_capacity(4);
    for name in ["data", "indices", "indptr"] {
        let entry = format!("{name}.npy");
        let array = parse_npy(npz.read(&entry)?).map_err(|reason| SkopsError::Npy {
            entry: format!("{file}/{entry}"),
            reason,
        })?;
        state.push((str_obj(name), Arc::new(PyObj::Array(array))));
    }
    let shape = parse_npy(npz.read("shape.npy")?).map_err(|reason| SkopsError::Npy {
        entry: format!("{file}/shape.npy"),
        reason,
    })?;
    state.push((str_obj("_shape"), shape_tuple(&shape, file)?));
    Ok(PyObj::Instance(Instance {
        class: PyClass::new(module, class),
        args: Vec::new(),
        state: Some(Arc::new(PyObj::Dict(state))),
        list_items: Vec::new(),
        dict_items: Vec::new(),
    }))
}

/// `shape.npy` (two integers) as a `(rows, cols)` tuple.
fn shape_tuple(shape: &NdArray, file: &str) -> Result<Obj, SkopsError> {
    let bad = || SkopsError::Npy {
        entry: format!("{file}/shape.npy"),
        reason: "a sparse matrix's shape must be two integers".to_owned(),
    };
    let dims = shape.to_f64_vec().map_err(|_| bad())?;
    if dims.len() != 2
        || dims
            .iter()
            .any(|d| !(d.fract() == 0.0 && (0.0..1e15).contains(d)))
    {
        return Err(bad());
    }
    Ok(Arc::new(PyObj::Tuple(
        dims.into_iter()
            .map(|d| Arc::new(PyObj::Int(d as i64)))
            .collect(),
    )))
}

fn str_obj(s: &str) -> Obj {
    Arc::new(PyObj::Str(s.to_owned()))
}
