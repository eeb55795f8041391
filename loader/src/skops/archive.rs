//! The skops zip container: reads named entries fully into memory, refusing zip bombs.
//!
//! Each entry's central-directory size is checked against a per-entry limit before reading,
//! reading never goes past the declared size, the inflated size must equal the declared size,
//! and all entries read together must stay under a total budget and the model's load budget
//! ([`crate::budget`]). The zip crate verifies each
//! entry's CRC-32 as it reaches the end. We never write files, so entry names are only lookup
//! keys (no path-traversal concerns).

use std::io::{Cursor, Read};

use zip::result::ZipError;
use zip::ZipArchive;

use super::error::SkopsError;

/// Limits on what an archive may inflate to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest `schema.json`.
    pub(crate) schema: u64,
    /// Largest other entry (one array or bytes object).
    pub(crate) entry: u64,
    /// Largest total of everything read.
    pub(crate) total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            schema: 512 << 20,
            entry: 2 << 30,
            total: 4 << 30,
        }
    }
}

/// Initial buffer reservation cap, so a lying header cannot make us reserve gigabytes up front.
const MAX_RESERVE: u64 = 16 << 20;

/// An open skops archive.
pub(crate) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    limits: Limits,
    read_total: u64,
}

impl<'a> Archive<'a> {
    /// Opens the zip directory of `bytes`.
    pub(crate) fn open(bytes: &'a [u8], limits: Limits) -> Result<Self, SkopsError> {
        let zip =
            ZipArchive::new(Cursor::new(bytes)).map_err(|e| SkopsError::Zip(e.to_string()))?;
        Ok(Self {
            zip,
            limits,
            read_total: 0,
        })
    }

    /// The limits this archive reads under (a nested `.npz` entry reuses them).
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// Reads `schema.json`.
    pub(crate) fn read_schema(&mut self) -> Result<Vec<u8>, SkopsError> {
        // A JSON tree costs up to ~16 bytes of nodes per byte of text (`[0,0,0,...]`).
        self.read_limited("schema.json", self.limits.schema, 16)
    }

    /// Reads any other entry (an array or bytes file).
    pub(crate) fn read(&mut self, name: &str) -> Result<Vec<u8>, SkopsError> {
        self.read_limited(name, self.limits.entry, 2)
    }

    /// Reads one entry of at most `limit` bytes, charging `cost` times its size to the budget.
    fn read_limited(&mut self, name: &str, limit: u64, cost: u64) -> Result<Vec<u8>, SkopsError> {
        let entry_err = |reason: String| SkopsError::Entry {
            entry: name.to_owned(),
            reason,
        };
        let file = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(ZipError::FileNotFound) => {
                return Err(SkopsError::MissingEntry {
                    entry: name.to_owned(),
                })
            }
            Err(e) => return Err(entry_err(e.to_string())),
        };
        let declared = file.size();
        if declared > limit {
            return Err(SkopsError::EntryTooLarge {
                entry: name.to_owned(),
                size: declared,
                limit,
            });
        }
        // The load budget (issue 17): the entry's bytes and what decoding them copies (an array,
        // a JSON tree) must fit in what is left of it, checked on the declared size before
        // inflating anything; the inflated bytes are then held to the declared size below.
        let budget = crate::budget::remaining() / cost;
        if declared > budget {
            return Err(SkopsError::EntryTooLarge {
                entry: name.to_owned(),
                size: declared,
                limit: budget,
            });
        }
        let _ = crate::budget::charge(declared.saturating_mul(cost), "skops entries");
        let total = self.read_total.saturating_add(declared);
        if total > self.limits.total {
            return Err(SkopsError::TotalTooLarge {
                limit: self.limits.total,
            });
        }
        let reserve = usize::try_from(declared.min(MAX_RESERVE)).unwrap_or(0);
        let mut buf = Vec::with_capacity(reserve);
        // One byte past the declared size tells a lying header from an honest one.
        file.take(declared.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| entry_err(e.to_string()))?;
        let actual = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if actual != declared {
            return Err(SkopsError::SizeMismatch {
                entry: name.to_owned(),
                declared,
                actual,
            });
        }
        self.read_total = total;
        Ok(buf)
    }
}
