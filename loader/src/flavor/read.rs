//! Reading a flavor's data file, for every flavor loader.

use std::path::Path;

use crate::error::LoadError;

/// Reads a model's data file; a failure names the file.
pub(crate) fn read_data(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })
}
