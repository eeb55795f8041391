//! Native XGBoost models: the JSON and UBJSON formats of `Booster.save_model` (xgboost >= 1.0;
//! `.xgb` files of xgboost >= 2.1 are UBJSON too) and the legacy binary format xgboost <= 2.0
//! wrote into `.xgb` files, compiled into the shared tree evaluator ([`crate::tree`]).
//!
//! Reading goes bytes -> [`model::Booster`] (format-neutral: trees as XGBoost's parallel arrays,
//! objective, base score, tree groups) -> [`crate::tree::Forest`] in `f32` with strict `<`
//! splits, NaN following `default_left`, categorical splits as category sets. Prediction adds the
//! base margin (`ProbToMargin(base_score)`), applies the objective's transform and shapes the
//! result as `mlflow.pyfunc` returns it for the model's Python class ([`predict::Output`]).

mod error;
mod legacy;
mod model;
mod objective;
mod predict;
mod schema;
mod ubjson;

#[cfg(test)]
pub(crate) mod corpus_tests;
#[cfg(test)]
pub(crate) mod fixture_tests;

pub use error::XgbError;
pub(crate) use predict::{Output, XgbPredictor};

use model::Booster;

pub(crate) use crate::outputs::MAX_FEATURES;

/// The serialisation a model file uses, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Ubjson,
    Legacy,
}

/// JSON text opens with `{` then a quote, a brace or whitespace (possibly after whitespace);
/// UBJSON opens with `{` then a key-length marker (`L`, `i`, `U`...); anything else is the
/// legacy binary format (`binf` magic, or headerless from xgboost < 1.0).
fn sniff(bytes: &[u8]) -> Format {
    let text = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let opens_json = |at: usize| {
        bytes.get(at) == Some(&b'{')
            && bytes
                .get(at + 1)
                .is_some_and(|b| matches!(b, b'"' | b'}') || b.is_ascii_whitespace())
    };
    match text {
        Some(at) if opens_json(at) => Format::Json,
        _ if bytes.first() == Some(&b'{') => Format::Ubjson,
        _ => Format::Legacy,
    }
}

/// Reads a model file in any of the three formats.
fn read_booster(bytes: &[u8]) -> Result<Booster, XgbError> {
    match sniff(bytes) {
        Format::Json => {
            let doc: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| XgbError::Json(e.to_string()))?;
            schema::read(&doc)
        }
        Format::Ubjson => schema::read(&ubjson::decode(bytes)?),
        Format::Legacy => legacy::read(bytes),
    }
}

/// Reads and compiles an XGBoost model file for requests shaped by `signature`; `model_class`
/// (the flavor's `model_class`) decides what `predict` returns.
pub(crate) fn compile(
    bytes: &[u8],
    model_class: Option<&str>,
    signature: Option<&crate::mlmodel::Signature>,
) -> Result<XgbPredictor, XgbError> {
    let booster = read_booster(bytes)?;
    XgbPredictor::new(&booster, Output::of_class(model_class), signature)
}

/// The `_estimator_type` (`classifier`, `regressor`, ...) the scikit-learn API recorded in the
/// file's `learner.attributes.scikit_learn` (`XGBModel.save_model`); `None` for a model saved
/// from a plain `Booster` (or in the legacy binary format).
pub(crate) fn sklearn_estimator_type(bytes: &[u8]) -> Option<String> {
    let doc = match sniff(bytes) {
        Format::Json => serde_json::from_slice::<serde_json::Value>(bytes).ok()?,
        Format::Ubjson => ubjson::decode(bytes).ok()?,
        Format::Legacy => return None,
    };
    let meta = doc
        .get("learner")?
        .get("attributes")?
        .get("scikit_learn")?
        .as_str()?;
    let meta: serde_json::Value = serde_json::from_str(meta).ok()?;
    meta.get("_estimator_type")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_from_content() {
        assert_eq!(sniff(b"{\"learner\": {}}"), Format::Json);
        assert_eq!(sniff(b" \n{ }"), Format::Json);
        assert_eq!(sniff(b"{L\0\0\0\0\0\0\0\x07learner"), Format::Ubjson);
        assert_eq!(sniff(b"{i\x07learner"), Format::Ubjson);
        assert_eq!(sniff(b"binf\0\0\0\0"), Format::Legacy);
        assert_eq!(sniff(b""), Format::Legacy);
        assert!(read_booster(b"").is_err());
    }
}
