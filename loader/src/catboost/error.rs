//! [`CbError`]: why a CatBoost model cannot be read or compiled.

use crate::tree::TreeError;

/// A malformed, truncated, hostile or unsupported CatBoost model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CbError {
    /// The file's framing (magic, sizes, model parts) is wrong.
    #[error("not a CatBoost binary model: {0}")]
    Format(String),
    /// A flatbuffer failed verification (bad offsets, truncation, too large or too deep).
    #[error("corrupt {what} flatbuffer: {message}")]
    Flatbuffer {
        /// `model core`, `CTR table 3`.
        what: String,
        /// The verifier's complaint.
        message: String,
    },
    /// A field is missing or inconsistent with the rest of the model.
    #[error("{at}: {message}")]
    Field {
        /// Where: `FloatFeatures[2]`, `tree 7`, ...
        at: String,
        /// What is wrong.
        message: String,
    },
    /// The model uses a CatBoost feature ironflow does not implement.
    #[error("unsupported CatBoost model: {0}")]
    Unsupported(String),
    /// The trees do not form a valid forest.
    #[error("invalid trees: {0}")]
    Tree(#[from] TreeError),
}

impl CbError {
    /// A [`CbError::Field`] error.
    pub(crate) fn field(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            at: at.into(),
            message: message.into(),
        }
    }
}
