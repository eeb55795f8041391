//! Native LightGBM models: the text model format (`Booster.save_model`, `model.lgb`), and the
//! scikit-learn wrappers (`LGBMClassifier`/`LGBMRegressor`, pickled or skops'd) whose Booster
//! carries the same text, compiled into the shared tree evaluator ([`crate::tree`]) in `f64`.
//!
//! Reading goes text -> [`text::Model`] -> [`crate::tree::Forest`] ([`compile`]: LightGBM's
//! missing-value and categorical rules expressed as tree nodes). Prediction sums the trees (per
//! class), averages in random-forest mode, applies the objective's transform
//! ([`objective::Objective`]) and shapes the result as `mlflow.pyfunc` returns it.

mod compile;
mod error;
mod objective;
mod predict;
mod sklearn;
mod text;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fixture_tests;

pub use error::LgbError;
pub(crate) use predict::{LgbPredictor, Output};

/// Compiles a LightGBM text model for requests shaped by `signature`.
pub(crate) fn compile_text(
    text: &str,
    output: Output,
    signature: Option<&crate::mlmodel::Signature>,
) -> Result<LgbPredictor, LgbError> {
    LgbPredictor::new(text::parse(text)?, output, signature)
}

/// Compiles a flavor's data file: a text model (a `Booster`), or a skops (zip) or pickled
/// scikit-learn wrapper holding one; the content decides, not the file name.
pub(crate) fn compile_file(
    bytes: &[u8],
    signature: Option<&crate::mlmodel::Signature>,
) -> Result<LgbPredictor, LgbError> {
    if bytes.starts_with(b"tree") {
        let text = std::str::from_utf8(bytes).map_err(|e| LgbError::Syntax {
            line: 0,
            message: format!("not UTF-8 text: {e}"),
        })?;
        return compile_text(text, Output::Values, signature);
    }
    let root = if bytes.starts_with(b"PK") {
        crate::skops::read_skops(bytes).map_err(|e| LgbError::Wrapper(format!("skops: {e}")))?
    } else {
        crate::pickle::read_pickle(bytes).map_err(|e| LgbError::Wrapper(format!("pickle: {e}")))?
    };
    let wrapper = sklearn::read(&root)?;
    compile_text(&wrapper.text, wrapper.output, signature)
}
