//! [`XgbError`]: why an XGBoost model file cannot be read or compiled.

use crate::tree::TreeError;

/// A malformed, truncated or unsupported XGBoost model file. Byte offsets count from the start
/// of the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum XgbError {
    /// The file is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The file is not valid UBJSON.
    #[error("invalid UBJSON at byte {offset}: {message}")]
    Ubjson {
        /// Where the decoder stopped.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The legacy binary format (xgboost <= 2.0 `.xgb`/`.bin`) is truncated or inconsistent.
    #[error("invalid legacy binary model at byte {offset}: {message}")]
    Binary {
        /// Where the reader stopped.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A field of the model document is missing or has the wrong type or size.
    #[error("model field {field}: {message}")]
    Field {
        /// The field's path (`learner.objective.name`, `trees[3].left_children`, ...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The model uses a feature of XGBoost ironflow does not implement.
    #[error("unsupported XGBoost model: {0}")]
    Unsupported(String),
    /// The trees do not form a valid forest.
    #[error("invalid trees: {0}")]
    Tree(#[from] TreeError),
}

impl XgbError {
    /// A [`XgbError::Field`] error.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}
