//! The load budget (issue 17): how much memory reading and compiling one model file may use.
//!
//! The budget is derived from the file's size on disk — [`FACTOR`] times it, at least [`FLOOR`] —
//! and never more than the process-wide cap ([`set_cap`]; the server's `--max-load-bytes` /
//! `IRONFLOW_MAX_LOAD_BYTES`). Readers charge what they allocate for the model's structure (the
//! pickle VM's objects, skops entries, inflated streams, YAML and JSON documents) with
//! [`charge`], and refuse with [`BudgetError`] once the budget is spent, so a small hostile file
//! (a pickle of ten million empty lists, a zip entry claiming a gigabyte) fails after a bounded
//! amount of memory instead of growing until the machine runs out.
//!
//! The budget is per thread and per load: the outermost reader entered on a thread opens a
//! [`Scope`] sized from its input, and nested readers (joblib's pickle, an object array's nested
//! pickle) charge the same scope. Without a scope, [`charge`] never refuses.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The smallest budget, whatever the file size: small real models allocate a few MiB.
pub const FLOOR: u64 = 128 << 20;

/// The budget per byte on disk above the floor. Real pickles of forests and pipelines allocate
/// one to four times their size (arrays are copied once; objects cost ~100 bytes each).
pub const FACTOR: u64 = 16;

/// The environment variable the server reads the cap from (and its flag's name without `--`).
pub const CAP_ENV: &str = "IRONFLOW_MAX_LOAD_BYTES";

static CAP: AtomicU64 = AtomicU64::new(u64::MAX);

/// Sets the most any one model load may use, whatever its size (`u64::MAX`: no cap but the
/// size-derived budget).
pub fn set_cap(bytes: u64) {
    CAP.store(bytes.max(1), Ordering::Relaxed);
}

/// The cap [`set_cap`] set.
pub fn cap() -> u64 {
    CAP.load(Ordering::Relaxed)
}

/// The budget of a file of `disk_bytes` bytes: `max(FLOOR, FACTOR * disk_bytes)`, capped.
pub fn for_size(disk_bytes: u64) -> u64 {
    disk_bytes.saturating_mul(FACTOR).max(FLOOR).min(cap())
}

/// A model's size on disk: the file's, or the total of the regular files in the folder and its
/// subfolders (symlinked folders are not followed; at most a few levels and 100,000 entries).
pub fn size_on_disk(path: &Path) -> u64 {
    fn walk(dir: &Path, depth: usize, entries: &mut usize) -> u64 {
        let Ok(list) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut total = 0u64;
        for entry in list.flatten() {
            *entries += 1;
            if *entries > 100_000 {
                break;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 4 {
                total = total.saturating_add(walk(&entry.path(), depth + 1, entries));
            } else if let Ok(meta) = std::fs::metadata(entry.path()) {
                if meta.is_file() {
                    total = total.saturating_add(meta.len());
                }
            }
        }
        total
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => walk(path, 0, &mut 0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// A model load went past its budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "loading needs more than its budget of {limit} bytes ({what}); the budget is {FACTOR}x the \
     file's size on disk (at least {FLOOR} bytes), capped by {CAP_ENV} / --max-load-bytes"
)]
pub struct BudgetError {
    /// What was being allocated when the budget ran out.
    pub what: &'static str,
    /// The budget.
    pub limit: u64,
}

thread_local! {
    /// `(limit, used)` of the scope open on this thread, if any.
    static CURRENT: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// The budget of one load on this thread; closing it (drop) ends the load.
#[must_use = "the budget applies while the scope lives"]
pub struct Scope {
    owner: bool,
}

impl Scope {
    /// Opens a budget for a file of `disk_bytes` bytes, unless one is already open on this
    /// thread (then the outer one keeps applying).
    pub fn enter(disk_bytes: u64) -> Self {
        Self::with_limit(for_size(disk_bytes))
    }

    /// Opens a budget of exactly `limit` bytes, unless one is already open on this thread.
    pub fn with_limit(limit: u64) -> Self {
        let owner = CURRENT.with(|c| {
            if c.get().is_some() {
                false
            } else {
                c.set(Some((limit, 0)));
                true
            }
        });
        Self { owner }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.owner {
            CURRENT.with(|c| c.set(None));
        }
    }
}

/// Charges `bytes` to the open budget; an error once the total passes it.
pub fn charge(bytes: u64, what: &'static str) -> Result<(), BudgetError> {
    CURRENT.with(|c| match c.get() {
        None => Ok(()),
        Some((limit, used)) => {
            let used = used.saturating_add(bytes);
            c.set(Some((limit, used)));
            if used > limit {
                Err(BudgetError { what, limit })
            } else {
                Ok(())
            }
        }
    })
}

/// What is left of the open budget (`u64::MAX` without one): a reader may refuse a declared
/// size past it before allocating anything.
pub fn remaining() -> u64 {
    CURRENT.with(|c| match c.get() {
        None => u64::MAX,
        Some((limit, used)) => limit.saturating_sub(used),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_refuses_past_its_limit_and_nested_scopes_share_it() {
        assert!(charge(u64::MAX, "free").is_ok(), "no scope, no limit");
        let outer = Scope::with_limit(100);
        assert!(charge(60, "a").is_ok());
        {
            let _inner = Scope::with_limit(1_000_000);
            assert_eq!(remaining(), 40);
            assert_eq!(
                charge(50, "b"),
                Err(BudgetError {
                    what: "b",
                    limit: 100
                })
            );
        }
        assert!(charge(1, "c").is_err(), "the outer scope is still open");
        drop(outer);
        assert_eq!(remaining(), u64::MAX);
    }

    #[test]
    fn the_budget_grows_with_the_file_and_has_a_floor() {
        assert_eq!(for_size(0), FLOOR);
        assert_eq!(for_size(1 << 30), FACTOR << 30);
    }
}
