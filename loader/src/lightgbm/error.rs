//! [`LgbError`]: why a LightGBM model cannot be read or compiled.

use crate::tree::TreeError;

/// A malformed, truncated or unsupported LightGBM model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LgbError {
    /// The text model is malformed at a line (1-based).
    #[error("line {line}: {message}")]
    Syntax {
        /// The line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A header or tree field is missing or inconsistent.
    #[error("{at}: {message}")]
    Field {
        /// `header`, `Tree=3`, ...
        at: String,
        /// What is wrong.
        message: String,
    },
    /// The model uses a LightGBM feature ironflow does not implement.
    #[error("unsupported LightGBM model: {0}")]
    Unsupported(String),
    /// The pickled or skops'd scikit-learn wrapper does not hold what prediction needs.
    #[error("invalid scikit-learn wrapper: {0}")]
    Wrapper(String),
    /// The trees do not form a valid forest.
    #[error("invalid trees: {0}")]
    Tree(#[from] TreeError),
}

impl LgbError {
    /// A [`LgbError::Field`] error.
    pub(crate) fn field(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            at: at.into(),
            message: message.into(),
        }
    }
}
