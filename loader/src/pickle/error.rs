//! [`PickleError`]: why a pickle stream was refused. Every variant names what a user needs to find
//! the fault: the opcode, its byte offset, the global, or the limit that was hit.

use std::path::PathBuf;

/// Why a pickle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PickleError {
    /// The file could not be read.
    #[error("cannot read pickle {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The stream ended inside an opcode or before `STOP`.
    #[error("truncated pickle: {what} at offset {offset}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset where the read started.
        offset: usize,
    },
    /// A byte that is not a pickle opcode.
    #[error("unknown pickle opcode 0x{byte:02x} at offset {offset}")]
    UnknownOpcode {
        /// The byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// A legal opcode this reader refuses (persistent ids, extension registry, INST/OBJ, out-of-band buffers).
    #[error("unsupported pickle opcode {name} at offset {offset}")]
    UnsupportedOpcode {
        /// The opcode's pickletools name.
        name: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// A global that is not on the whitelist: nothing outside it is ever resolved.
    #[error("unsupported pickle global '{0}'")]
    UnsupportedGlobal(String),
    /// The stream is a joblib dump (arrays stored outside the pickle opcodes).
    #[error("joblib pickles are not supported (found '{0}'); save the model with mlflow's pickle or cloudpickle format")]
    Joblib(String),
    /// An opcode found operands of the wrong kind or shape.
    #[error("invalid pickle: {opcode} at offset {offset}: {message}")]
    Invalid {
        /// The opcode's name.
        opcode: &'static str,
        /// Its offset.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A numpy array or dtype whose state cannot be decoded.
    #[error("invalid numpy data at offset {offset}: {message}")]
    Numpy {
        /// Offset of the opcode that built it.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// One of the reader's resource limits (see [`crate::pickle::limits`]) was exceeded.
    #[error("pickle exceeds the {limit} limit ({max}) at offset {offset}")]
    Limit {
        /// Which limit.
        limit: &'static str,
        /// Its value.
        max: usize,
        /// Where it was hit (0 when found after execution).
        offset: usize,
    },
    /// The objects the pickle builds need more memory than the model's load budget
    /// ([`crate::budget`]).
    #[error("pickle at offset {offset}: {source}")]
    Budget {
        /// Where the budget ran out.
        offset: usize,
        /// The budget.
        source: crate::budget::BudgetError,
    },
    /// The object graph contains a cycle, which the immutable tree cannot represent.
    #[error("pickle object graph contains a cycle")]
    Cycle,
    /// Bytes after `STOP`, or `STOP` with a stack that does not hold exactly one object.
    #[error("invalid pickle end at offset {offset}: {message}")]
    BadEnd {
        /// Offset of `STOP` or of the trailing bytes.
        offset: usize,
        /// What is wrong.
        message: String,
    },
}
