//! [`SkopsError`]: everything that can go wrong reading a skops archive, naming the archive
//! entry, schema node or Python class at fault.

use std::path::PathBuf;

/// An error reading a skops file.
#[derive(Debug, thiserror::Error)]
pub enum SkopsError {
    /// The file could not be read from disk.
    #[error("cannot read skops file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a readable zip archive.
    #[error("invalid skops archive: {0}")]
    Zip(String),
    /// An entry the schema needs is not in the archive.
    #[error("skops archive has no entry '{entry}'")]
    MissingEntry {
        /// The entry name.
        entry: String,
    },
    /// An entry could not be decompressed or is corrupt.
    #[error("cannot read skops archive entry '{entry}': {reason}")]
    Entry {
        /// The entry name.
        entry: String,
        /// What went wrong.
        reason: String,
    },
    /// An entry declares (or inflates to) more bytes than allowed.
    #[error("skops archive entry '{entry}' is too large ({size} bytes, limit {limit})")]
    EntryTooLarge {
        /// The entry name.
        entry: String,
        /// Its declared or actual size.
        size: u64,
        /// The limit it broke.
        limit: u64,
    },
    /// An entry inflated to a different size than its header declared.
    #[error("skops archive entry '{entry}' declares {declared} bytes but holds {actual}")]
    SizeMismatch {
        /// The entry name.
        entry: String,
        /// The size its header declared.
        declared: u64,
        /// The size it actually inflated to (or more than declared).
        actual: u64,
    },
    /// Reading all entries together would exceed the total budget.
    #[error("skops archive inflates to more than {limit} bytes in total")]
    TotalTooLarge {
        /// The total limit.
        limit: u64,
    },
    /// `schema.json` is not JSON.
    #[error("skops schema.json is not valid JSON: {0}")]
    Json(String),
    /// The schema's protocol is not one this reader knows.
    #[error("unsupported skops protocol {0} (this reader supports 1 and 2)")]
    Protocol(String),
    /// A schema node is missing a field or has one of the wrong kind.
    #[error("malformed skops node at {at}: {reason}")]
    Malformed {
        /// Where in the schema, e.g. `root.steps[0][1].coef_`.
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// A node names a class or function that is not on the whitelist.
    #[error("unsupported skops type '{name}' at {at}")]
    UnsupportedType {
        /// `module.name` of the type.
        name: String,
        /// Where in the schema.
        at: String,
    },
    /// A node uses a loader this reader does not implement.
    #[error("unsupported skops node loader '{loader}' for '{name}' at {at}")]
    UnsupportedLoader {
        /// The `__loader__` value.
        loader: String,
        /// `module.name` of the node's type.
        name: String,
        /// Where in the schema.
        at: String,
    },
    /// A node refers to an object that contains it.
    #[error("skops node at {at} refers to object id {id}, which contains it (cycle)")]
    Cycle {
        /// The shared-object id.
        id: String,
        /// Where in the schema.
        at: String,
    },
    /// A cached node refers to an object id not seen before.
    #[error("skops node at {at} refers to unknown object id {id}")]
    UnknownId {
        /// The shared-object id.
        id: String,
        /// Where in the schema.
        at: String,
    },
    /// The node tree nests deeper than allowed.
    #[error("skops schema nests deeper than {limit} nodes at {at}")]
    TooDeep {
        /// The depth limit.
        limit: usize,
        /// Where in the schema.
        at: String,
    },
    /// A `.npy` entry is malformed or inconsistent.
    #[error("bad .npy entry '{entry}': {reason}")]
    Npy {
        /// The entry name.
        entry: String,
        /// What is wrong.
        reason: String,
    },
}
